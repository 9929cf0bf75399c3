//! TLS towards Atlas: certificates are verified, extra CAs are trusted, and each way a
//! certificate can be wrong is an error that says so.

use std::time::Duration;

use fake_atlas::tls::TestAuthority;
use fake_atlas::{Endpoint, FakeAtlas};
use rustls::pki_types::CertificateDer;
use terraform_provider_atlas::atlas::{ApiVersion, AtlasClient, AtlasError, ClientSettings};

use crate::{ENDPOINT, api_key, id, settings};

fn client(base_url: &str, extra_roots: Vec<CertificateDer<'static>>) -> AtlasClient {
    AtlasClient::new(ClientSettings {
        extra_roots,
        ..settings(
            base_url,
            api_key(),
            ApiVersion::Legacy,
            0,
            Duration::from_secs(10),
        )
    })
    .unwrap()
}

async fn https_atlas(authority: &TestAuthority, host: &str, expired: bool) -> FakeAtlas {
    let atlas = FakeAtlas::start_tls(&authority.server(host, expired)).await;
    atlas.put(ENDPOINT, Endpoint::with_status("AVAILABLE"));
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
