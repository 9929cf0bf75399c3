//! The data sources this provider serves. Adding one is one new file and one line in
//! [`registry`].

pub mod interface_endpoint;
pub mod status_wait;

use tokio_util::sync::CancellationToken;

use super::atlas_errors::KeyInUse;
use super::diagnostics::Diagnostic;
use super::schema::Schema;
use super::value::Value;
use crate::atlas::AtlasClient;

/// What a read may use: the configured client and, for messages, the credentials in use.
pub struct ReadContext<'a> {
    pub client: &'a AtlasClient,
    pub key: KeyInUse<'a>,
    /// Cancelled when Terraform calls StopProvider.
    pub stop: &'a CancellationToken,
}

/// One Terraform data source.
#[async_trait::async_trait]
pub trait DataSource: Send + Sync {
    /// The full type name, such as `atlas_interface_endpoint`.
    fn type_name(&self) -> &'static str;

    fn schema(&self) -> Schema;

    /// Checks a configuration without the network; unknown values are skipped.
    fn validate(&self, config: &Value) -> Vec<Diagnostic>;

    /// Reads the data and returns the whole, fully known state.
    async fn read(
        &self,
        config: &Value,
        context: &ReadContext<'_>,
    ) -> Result<Value, Vec<Diagnostic>>;
}

/// Every data source, in the order the docs list them.
pub fn registry() -> Vec<Box<dyn DataSource>> {
    vec![Box::new(interface_endpoint::InterfaceEndpointDataSource)]
}
