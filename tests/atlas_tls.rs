//! TLS towards Atlas: certificates are verified, extra CAs are trusted, and each way a
//! certificate can be wrong is an error that says so.

use std::time::Duration;

use fake_atlas::tls::TestAuthority;
use fake_atlas::{Endpoint, FakeAtlas, PRIVATE_KEY, PRIVATE_LINK_ID, PROJECT_ID, PUBLIC_KEY};
use rustls::pki_types::CertificateDer;
use terraform_provider_atlas::atlas::{
    ApiVersion, AtlasClient, AtlasError, ClientSettings, Credentials, InterfaceEndpointId,
    RetryPolicy,
};
use url::Url;

const ENDPOINT_ID: &str = "vpce-08fb7e9319909ec7b";

fn client(base_url: &str, extra_roots: Vec<CertificateDer<'static>>) -> AtlasClient {
    AtlasClient::new(ClientSettings {
        base_url: Url::parse(base_url).unwrap(),
        credentials: Credentials::ApiKey {
            public_key: PUBLIC_KEY.into(),
            private_key: PRIVATE_KEY.into(),
        },
        api_version: ApiVersion::Legacy,
        user_agent: "test".into(),
        request_timeout: Duration::from_secs(10),
        connect_timeout: Duration::from_secs(10),
        retry: RetryPolicy::with_max_retries(0),
        extra_roots,
    })
    .unwrap()
}

fn id() -> InterfaceEndpointId {
    InterfaceEndpointId {
        project_id: PROJECT_ID.into(),
        private_link_id: PRIVATE_LINK_ID.into(),
        interface_endpoint_id: ENDPOINT_ID.into(),
    }
}

async fn https_atlas(authority: &TestAuthority, host: &str, expired: bool) -> FakeAtlas {
    let atlas = FakeAtlas::start_tls(&authority.server(host, expired)).await;
    atlas.put(ENDPOINT_ID, Endpoint::with_status("AVAILABLE"));
    atlas
}

/// The cause of a failed TLS connection, lower-cased.
fn tls_cause(error: AtlasError) -> String {
    match error {
        AtlasError::Transport { cause, .. } => cause.to_lowercase(),
        other => panic!("expected a transport error, got {other:?}"),
    }
}

#[tokio::test]
async fn certificate_from_an_extra_ca_is_trusted() {
    let authority = TestAuthority::new();
    let atlas = https_atlas(&authority, "localhost", false).await;
    let endpoint = client(&atlas.https_url(), vec![authority.der()])
        .read_interface_endpoint(&id())
        .await
        .unwrap();
    assert_eq!(endpoint.connection_status, "AVAILABLE");
}

#[tokio::test]
async fn untrusted_certificate_is_refused_and_says_so() {
    let authority = TestAuthority::new();
    let atlas = https_atlas(&authority, "localhost", false).await;
    let cause = tls_cause(
        client(&atlas.https_url(), vec![])
            .read_interface_endpoint(&id())
            .await
            .unwrap_err(),
    );
    assert!(
        cause.contains("certificate") && cause.contains("unknown"),
        "{cause}"
    );
    assert_eq!(
        atlas.request_count(),
        0,
        "nothing is sent over an unverified connection"
    );
}

#[tokio::test]
async fn expired_certificate_is_refused_and_says_so() {
    let authority = TestAuthority::new();
    let atlas = https_atlas(&authority, "localhost", true).await;
    let cause = tls_cause(
        client(&atlas.https_url(), vec![authority.der()])
            .read_interface_endpoint(&id())
            .await
            .unwrap_err(),
    );
    assert!(cause.contains("expired"), "{cause}");
}

#[tokio::test]
async fn certificate_for_another_host_is_refused_and_says_so() {
    let authority = TestAuthority::new();
    let atlas = https_atlas(&authority, "atlas.example", false).await;
    let cause = tls_cause(
        client(&atlas.https_url(), vec![authority.der()])
            .read_interface_endpoint(&id())
            .await
            .unwrap_err(),
    );
    assert!(
        cause.contains("not valid for name") || cause.contains("notvalidforname"),
        "{cause}"
    );
}
