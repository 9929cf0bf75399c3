//! A fake MongoDB Atlas Admin API on 127.0.0.1 for tests and the quick start.
//!
//! It serves the PrivateLink routes of both API versions from one fixture table, with Atlas's
//! error bodies and codes, and authenticates the way Atlas does: HTTP Digest with Atlas's exact
//! challenge (MD5, `qop=auth`, nonce reuse with an increasing `nc`, `stale=true` for a
//! forgotten nonce), or a bearer token from its service-account token endpoint. Faults can be
//! queued for the next requests, and every request is recorded so that tests can count round
//! trips.
//!
//! # Layout
//! - `fake`: [`FakeAtlas`], the handle a test holds: start, fixtures, settings, records.
//! - `fixtures`: the one table of projects, private links and interface endpoints.
//! - `clouds`: Azure and Google Cloud services and endpoints, their bodies and the Azure id's
//!   encoding check.
//! - `routes`: the table of routes (v1.0 and v2) over it, and v2 version negotiation.
//! - `digest`: the server side of digest auth, with RFC 7230 quoting.
//! - `tokens`: service accounts, the token endpoint, bearer tokens.
//! - `hostile`: [`Fault`]s, from Atlas's real errors to endless bodies and stalled headers.
//! - `server`: the accept loop and the order in which a request is handled.
//! - `responses`: response bodies and Atlas's error body.
//! - [`tls`], [`terraform`], and [`FakeProxy`]: HTTPS identities, running terraform in tests,
//!   a forward proxy.

mod clouds;
mod digest;
mod fake;
mod fixtures;
mod hostile;
mod proxy;
mod responses;
mod routes;
mod server;
pub mod terraform;
pub mod tls;
mod tokens;

pub use clouds::{
    AZURE_ENDPOINT_ID, AZURE_INITIATING_ENDPOINT_ID, AZURE_INITIATING_LINK_ID,
    AZURE_PRIVATE_LINK_ID, Cloud, GCP_ENDPOINT_GROUP, GCP_INITIATING_LINK_ID, GCP_PRIVATE_LINK_ID,
    GCP_READS_UNTIL_AVAILABLE, GCP_SLOW_ENDPOINT_GROUP, azure_endpoint, azure_link,
    gcp_endpoint_group, gcp_link,
};
pub use digest::{Challenge, REALM};
pub use fake::FakeAtlas;
pub use fixtures::{ENDPOINT_SERVICE_NAME, Endpoint, PrivateLink};
pub use hostile::Fault;
pub use proxy::FakeProxy;
pub use routes::{API_VERSION, V2_ENDPOINT_NOT_FOUND, V2_SERVICE_NOT_FOUND};
pub use server::RecordedRequest;
pub use tokens::{CLIENT_ID, CLIENT_SECRET, TOKEN_PATH, TokenEndpoint};

/// The key pair the fake accepts unless told otherwise.
pub const PUBLIC_KEY: &str = "abcdefgh";
pub const PRIVATE_KEY: &str = "3f1d5a0e-6c1b-4a57-9e0c-8f2b7d6a4c11";
/// A project and private link that exist in a fresh fake.
pub const PROJECT_ID: &str = "5f1a2b3c4d5e6f7a8b9c0d1e";
pub const PRIVATE_LINK_ID: &str = "6a1a2b3c4d5e6f7a8b9c0d1e";
