//! The data sources this provider serves, and the framework they are written on.
//!
//! A data source is one file here: its schema (each attribute's description and validators), a
//! typed configuration it decodes into, a typed state it returns, and its read, which calls one
//! function of [`crate::atlas`]. It is served once it has a line in [`registry`]. The framework
//! ([`RegisteredDataSource`]) does the rest for every data source alike: the schema Terraform
//! and the docs see, validation at `terraform validate` and again before each read, decoding the
//! configuration, refusing values not yet known, and echoing arguments into the state.

mod clouds;
mod interface_endpoint;
mod interface_endpoints;
mod listed_endpoints;
mod private_endpoint;
mod private_endpoints;
mod private_link;
mod registered;
pub mod status_wait;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio_util::sync::CancellationToken;

use super::atlas_errors::KeyInUse;
use super::diagnostics::Diagnostics;
use super::schema::Schema;
use crate::atlas::AtlasClient;

pub use registered::RegisteredDataSource;

/// The prefix of every type name, the provider's local name: `atlas_<name>`.
pub const PROVIDER_PREFIX: &str = "atlas";

/// The id arguments the data sources share.
const PROJECT_ID: &str = "project_id";
const PRIVATE_LINK_ID: &str = "private_link_id";
const INTERFACE_ENDPOINT_ID: &str = "interface_endpoint_id";

/// What a read may use: the configured client and, for messages, the key in use.
pub struct ReadContext<'a> {
    pub client: &'a AtlasClient,
    pub key: KeyInUse<'a>,
    /// Cancelled when Terraform calls StopProvider.
    pub stop: &'a CancellationToken,
}

/// One Terraform data source, written against typed values.
#[async_trait::async_trait]
pub trait DataSource: Send + Sync + 'static {
    /// The arguments, decoded from the configuration by attribute name (serde field names are
    /// the attribute names). Only validated, wholly known configurations are decoded.
    type Config: DeserializeOwned + Send + Sync;
    /// The computed attributes, encoded by attribute name; the framework adds the arguments.
    type State: Serialize + Send;

    /// The type name without the provider's prefix: `interface_endpoint`.
    const NAME: &'static str;
    /// What is read, for messages: "interface endpoint".
    const WHAT: &'static str;

    fn schema(&self) -> Schema;

    /// Reads from Atlas. Diagnostics for Atlas errors come from `atlas_errors::diagnostic_for`.
    async fn read(
        &self,
        config: Self::Config,
        context: &ReadContext<'_>,
    ) -> Result<Self::State, Diagnostics>;
}

/// Every data source, in the order the docs list them.
pub fn registry() -> Vec<RegisteredDataSource> {
    vec![
        RegisteredDataSource::new(interface_endpoint::InterfaceEndpointDataSource),
        RegisteredDataSource::new(interface_endpoints::InterfaceEndpointsDataSource),
        RegisteredDataSource::new(private_endpoint::PrivateEndpointDataSource),
        RegisteredDataSource::new(private_endpoints::PrivateEndpointsDataSource),
        RegisteredDataSource::new(private_link::PrivateLinkDataSource),
    ]
}
