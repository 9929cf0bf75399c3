//! The Atlas client against the fake Atlas on 127.0.0.1, whole answers through the client:
//! `faults` (retries, timeouts, digest sessions, body limits), `hung_and_throttled` (one probe,
//! challenge or token request shared by parallel reads, failure included), `today` (the v1.0 and
//! v2 routes, Atlas's real rate-limit and error answers, hostile answers, service-account tokens),
//! `token_answers` (what the token endpoint answers, checked) and `tls` (certificates towards
//! Atlas).

mod faults;
mod hung_and_throttled;
mod tls;
mod today;
mod token_answers;

use std::sync::Arc;
use std::time::Duration;

use fake_atlas::{
    CLIENT_ID, Endpoint, FakeAtlas, PRIVATE_KEY, PRIVATE_LINK_ID, PROJECT_ID, PUBLIC_KEY,
};
use terraform_provider_atlas::atlas::{
    ApiVersion, AtlasClient, AtlasError, ClientSettings, Credentials, InterfaceEndpoint,
    InterfaceEndpointId, RetryPolicy,
};
use url::Url;

/// The endpoint `atlas_with_endpoint` serves.
const ENDPOINT: &str = "vpce-0a0000000000000a1";

fn id() -> InterfaceEndpointId {
    InterfaceEndpointId {
        project_id: PROJECT_ID.into(),
        private_link_id: PRIVATE_LINK_ID.into(),
        interface_endpoint_id: ENDPOINT.into(),
    }
}

fn api_key() -> Credentials {
    Credentials::ApiKey {
        public_key: PUBLIC_KEY.into(),
        private_key: PRIVATE_KEY.into(),
    }
}

fn service_account(secret: &str) -> Credentials {
    Credentials::ServiceAccount {
        client_id: CLIENT_ID.into(),
        client_secret: secret.into(),
    }
}

/// A client of `base_url` with no extra CA.
fn settings(
    base_url: &str,
    credentials: Credentials,
    api_version: ApiVersion,
    max_retries: u32,
    request_timeout: Duration,
) -> ClientSettings {
    ClientSettings {
        base_url: Url::parse(base_url).unwrap(),
        credentials,
        api_version,
        user_agent: "terraform-provider-atlas/test terraform/test".into(),
        request_timeout,
        connect_timeout: request_timeout,
        retry: RetryPolicy::with_max_retries(max_retries),
        extra_roots: Vec::new(),
    }
}

fn client(
    atlas: &FakeAtlas,
    credentials: Credentials,
    api_version: ApiVersion,
    max_retries: u32,
) -> AtlasClient {
    client_with_timeout(
        atlas,
        credentials,
        api_version,
        max_retries,
        Duration::from_secs(10),
    )
}

fn client_with_timeout(
    atlas: &FakeAtlas,
    credentials: Credentials,
    api_version: ApiVersion,
    max_retries: u32,
    request_timeout: Duration,
) -> AtlasClient {
    AtlasClient::new(settings(
        &atlas.url(),
        credentials,
        api_version,
        max_retries,
        request_timeout,
    ))
    .unwrap()
}

async fn atlas_with_endpoint() -> FakeAtlas {
    let atlas = FakeAtlas::start().await;
    atlas.put(ENDPOINT, Endpoint::with_status("AVAILABLE"));
    atlas
}

/// Reads the endpoint `count` times at once; every read must find it AVAILABLE.
async fn read_at_once(client: &Arc<AtlasClient>, count: usize) {
    for outcome in parallel_reads(client, count).await.0 {
        assert_eq!(outcome.unwrap().connection_status, "AVAILABLE");
    }
}

/// `count` reads of the endpoint started together, as Terraform starts its reads: each one's
/// outcome, and how long they took together.
async fn parallel_reads(
    client: &Arc<AtlasClient>,
    count: usize,
) -> (Vec<Result<InterfaceEndpoint, AtlasError>>, Duration) {
    let started = std::time::Instant::now();
    let reads: Vec<_> = (0..count)
        .map(|_| {
            let client = Arc::clone(client);
            tokio::spawn(async move { client.read_interface_endpoint(&id()).await })
        })
        .collect();
    let mut outcomes = Vec::new();
    for read in reads {
        outcomes.push(read.await.unwrap());
    }
    (outcomes, started.elapsed())
}

/// How many requests went to the v1.0 routes.
fn v1_requests(atlas: &FakeAtlas) -> usize {
    atlas
        .requests()
        .iter()
        .filter(|request| request.path.starts_with("/api/atlas/v1.0/"))
        .count()
}
