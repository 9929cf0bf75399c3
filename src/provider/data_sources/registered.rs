//! The framework's side of a data source: what the provider holds for each registered one, and
//! the steps every read goes through whatever the data source.

use super::{DataSource, PROVIDER_PREFIX, ReadContext};
use crate::provider::diagnostics::{Diagnostic, Diagnostics};
use crate::provider::schema::Schema;
use crate::provider::value::Value;

/// A data source as the provider serves it: its full type name, its schema (built once), and
/// its typed read behind a value-to-value interface.
pub struct RegisteredDataSource {
    type_name: String,
    what: &'static str,
    schema: Schema,
    reader: Box<dyn ReadValues>,
}

impl RegisteredDataSource {
    pub fn new<D: DataSource>(data_source: D) -> Self {
        Self {
            type_name: format!("{PROVIDER_PREFIX}_{}", D::NAME),
            what: D::WHAT,
            schema: data_source.schema(),
            reader: Box::new(data_source),
        }
    }

    /// The full type name, such as `atlas_interface_endpoint`.
    pub fn type_name(&self) -> &str {
        &self.type_name
    }

    pub fn schema(&self) -> Schema {
        self.schema.clone()
    }

    /// ValidateDataResourceConfig: every attribute's validators, without the network; unknown
    /// values are skipped.
    pub fn validate(&self, config: &Value) -> Diagnostics {
        self.schema.validate(config)
    }

    /// ReadDataSource: validates again (a value unknown at validate time is known now), refuses
    /// values still unknown, decodes the configuration, reads, and builds the whole state.
    pub async fn read(
        &self,
        config: &Value,
        context: &ReadContext<'_>,
    ) -> Result<Value, Diagnostics> {
        let errors: Diagnostics = self
            .schema
            .validate(config)
            .into_iter()
            .filter(Diagnostic::is_error)
            .collect();
        if !errors.is_empty() {
            return Err(errors);
        }
        let unknown = self.schema.check_known(config, self.what);
        if !unknown.is_empty() {
            return Err(unknown);
        }
        let computed = self
            .reader
            .read_values(&self.type_name, config, context)
            .await?;
        self.schema
            .state(config, &computed)
            .map_err(|problem| bug(&self.type_name, &problem))
    }
}

/// A diagnostic for our own mistake: the configuration or state of `type_name` does not fit
/// its schema or its types.
fn bug(type_name: &str, problem: &str) -> Diagnostics {
    Diagnostic::error(
        "Provider Bug",
        format!(
            "Reading {type_name} failed inside the provider: {problem}. Please report this issue."
        ),
    )
    .into()
}

/// A typed data source seen through values: the configuration decoded with serde (in place,
/// [`Value::deserialize_into`]), the state encoded with serde.
#[async_trait::async_trait]
trait ReadValues: Send + Sync {
    async fn read_values(
        &self,
        type_name: &str,
        config: &Value,
        context: &ReadContext<'_>,
    ) -> Result<Value, Diagnostics>;
}

#[async_trait::async_trait]
impl<D: DataSource> ReadValues for D {
    async fn read_values(
        &self,
        type_name: &str,
        config: &Value,
        context: &ReadContext<'_>,
    ) -> Result<Value, Diagnostics> {
        let config: D::Config = config.deserialize_into().map_err(|error| {
            bug(
                type_name,
                &format!("the configuration does not decode: {error}"),
            )
        })?;
        let state = self.read(config, context).await?;
        let json = serde_json::to_value(state)
            .map_err(|error| bug(type_name, &format!("the state does not encode: {error}")))?;
        Ok(Value::from_json(json))
    }
}
