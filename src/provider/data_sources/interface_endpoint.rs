//! `atlas_interface_endpoint`: one AWS PrivateLink interface endpoint of an Atlas project.

use std::collections::BTreeMap;

use super::status_wait::{self, WAIT_FOR_STATUS, WAIT_TIMEOUT, WaitFailure};
use super::{DataSource, ReadContext};
use crate::atlas::{AtlasError, InterfaceEndpoint, InterfaceEndpointId};
use crate::provider::atlas_errors::{ReadTarget, diagnostic_for};
use crate::provider::diagnostics::Diagnostic;
use crate::provider::schema::{Attribute, AttributeType, Presence, Schema};
use crate::provider::validators;
use crate::provider::value::Value;

pub const TYPE_NAME: &str = "atlas_interface_endpoint";

const PROJECT_ID: &str = "project_id";
const PRIVATE_LINK_ID: &str = "private_link_id";
const INTERFACE_ENDPOINT_ID: &str = "interface_endpoint_id";
const CONNECTION_STATUS: &str = "connection_status";
const ERROR_MESSAGE: &str = "error_message";
const DELETE_REQUESTED: &str = "delete_requested";
const ID: &str = "id";

/// Atlas's 404 error codes that name one of our ids. v1.0's come from Atlas's error code list;
/// on v2, MongoDB's own SDK code treats `PRIVATE_ENDPOINT_SERVICE_NOT_FOUND` as "the endpoint
/// service is absent", and a missing endpoint may also answer the generic `RESOURCE_NOT_FOUND`
/// (the specification's 404 example), which names no id.
const NOT_FOUND_CODES: &[(&str, &str)] = &[
    ("PRIVATE_ENDPOINT_SERVICE_NOT_FOUND", PRIVATE_LINK_ID),
    ("PRIVATE_ENDPOINT_NOT_FOUND", INTERFACE_ENDPOINT_ID),
    ("GROUP_NOT_FOUND", PROJECT_ID),
    ("INVALID_GROUP_ID", PROJECT_ID),
    ("PRIVATELINK_NOT_FOUND", PRIVATE_LINK_ID),
    (
        "PRIVATELINK_INTERFACE_ENDPOINT_NOT_FOUND",
        INTERFACE_ENDPOINT_ID,
    ),
    (
        "PRIVATELINK_INTERFACE_ENDPOINT_ID_MALFORMED",
        INTERFACE_ENDPOINT_ID,
    ),
];

pub struct InterfaceEndpointDataSource;

#[async_trait::async_trait]
impl DataSource for InterfaceEndpointDataSource {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        Schema {
            description: "Reads one AWS PrivateLink interface endpoint of an Atlas project: whether AWS and Atlas \
                          have connected it (`connection_status`), the error Atlas reports on it, and whether its \
                          removal was requested. Use it in `check` blocks and `postcondition`s to assert at plan \
                          time that the endpoint is `AVAILABLE`.",
            attributes: vec![
                Attribute::new(
                    PROJECT_ID,
                    AttributeType::String,
                    Presence::Required,
                    "The id of the Atlas project (\"group\") that holds the private endpoint connection: 24 \
                     hexadecimal characters.",
                ),
                Attribute::new(
                    PRIVATE_LINK_ID,
                    AttributeType::String,
                    Presence::Required,
                    "The id of the project's AWS PrivateLink connection (the Atlas private endpoint service): \
                     24 hexadecimal characters.",
                ),
                Attribute::new(
                    INTERFACE_ENDPOINT_ID,
                    AttributeType::String,
                    Presence::Required,
                    "The id of the AWS VPC interface endpoint: `vpce-` followed by 17 hexadecimal characters, \
                     as in `aws_vpc_endpoint.<name>.id`.",
                ),
                Attribute::new(
                    CONNECTION_STATUS,
                    AttributeType::String,
                    Presence::Computed,
                    "The endpoint's status in Atlas: `NONE` (AWS has not made the VPC endpoint yet), \
                     `PENDING_ACCEPTANCE`, `PENDING`, `AVAILABLE` (connected: clusters in the region are \
                     reachable through PrivateLink), `REJECTED`, or `DELETING`. A status Atlas adds later is \
                     passed through unchanged.",
                ),
                Attribute::new(
                    ERROR_MESSAGE,
                    AttributeType::String,
                    Presence::Computed,
                    "The error Atlas reports on the endpoint; null when there is none (or Atlas's answer \
                     leaves it out).",
                ),
                Attribute::new(
                    DELETE_REQUESTED,
                    AttributeType::Bool,
                    Presence::Computed,
                    "Whether Atlas has received a request to remove the endpoint from the private endpoint \
                     connection; null when Atlas's answer leaves it out (the v2 specification does not \
                     require it).",
                ),
                Attribute::new(
                    ID,
                    AttributeType::String,
                    Presence::Computed,
                    "`<project_id>/<private_link_id>/<interface_endpoint_id>`.",
                ),
                Attribute::new(
                    WAIT_FOR_STATUS,
                    AttributeType::ListOfString,
                    Presence::Optional,
                    "Statuses to wait for, such as `[\"AVAILABLE\"]`. When set, the read polls Atlas (after 2 s, \
                     then doubling up to every 30 s) until `connection_status` is one of them. It fails at once \
                     when the endpoint reaches `REJECTED`, or `DELETING` when that is not listed (with Atlas's \
                     error message), and when `wait_timeout` runs out (with the last status seen). Leave it \
                     out to read once without waiting.",
                ),
                Attribute::new(
                    WAIT_TIMEOUT,
                    AttributeType::String,
                    Presence::Optional,
                    "How long to wait for `wait_for_status`, as a duration such as `\"10m\"` or `\"90s\"`. \
                     Default `\"10m\"`.",
                ),
            ],
        }
    }

    fn validate(&self, config: &Value) -> Vec<Diagnostic> {
        let mut diagnostics = Vec::new();
        if let Some(value) = config.attribute(PROJECT_ID).as_str() {
            diagnostics.extend(validators::object_id(PROJECT_ID, value, "an Atlas project"));
        }
        if let Some(value) = config.attribute(PRIVATE_LINK_ID).as_str() {
            diagnostics.extend(validators::object_id(
                PRIVATE_LINK_ID,
                value,
                "an Atlas AWS PrivateLink connection",
            ));
        }
        if let Some(value) = config.attribute(INTERFACE_ENDPOINT_ID).as_str() {
            diagnostics.extend(validators::vpc_endpoint_id(INTERFACE_ENDPOINT_ID, value));
        }
        diagnostics.extend(status_wait::validate(config));
        diagnostics
    }

    async fn read(
        &self,
        config: &Value,
        context: &ReadContext<'_>,
    ) -> Result<Value, Vec<Diagnostic>> {
        let id = endpoint_id(config)?;
        let diagnostics: Vec<Diagnostic> = self
            .validate(config)
            .into_iter()
            .filter(Diagnostic::is_error)
            .collect();
        if !diagnostics.is_empty() {
            return Err(diagnostics);
        }
        let atlas_error = |error: AtlasError| {
            let target = ReadTarget {
                what: "interface endpoint",
                ids: vec![
                    (PROJECT_ID, &id.project_id),
                    (PRIVATE_LINK_ID, &id.private_link_id),
                    (INTERFACE_ENDPOINT_ID, &id.interface_endpoint_id),
                ],
                not_found_codes: NOT_FOUND_CODES,
            };
            vec![diagnostic_for(&error, &target, context.key)]
        };
        let endpoint = match status_wait::spec(config)? {
            None => context
                .client
                .read_interface_endpoint(&id)
                .await
                .map_err(atlas_error)?,
            Some(spec) => {
                status_wait::wait_for_status(&spec, || context.client.read_interface_endpoint(&id))
                    .await
                    .map_err(|failure| match failure {
                        WaitFailure::Atlas(error) => atlas_error(error),
                        WaitFailure::Terminal(last) => {
                            vec![status_wait::failure_diagnostic(&spec, &last, None)]
                        }
                        WaitFailure::TimedOut {
                            last,
                            waited,
                            polls,
                        } => {
                            vec![status_wait::failure_diagnostic(
                                &spec,
                                &last,
                                Some((waited, polls)),
                            )]
                        }
                    })?
            }
        };
        Ok(state(config, &id, &endpoint))
    }
}

/// The three ids, which must be known strings by the time Terraform asks for a read.
fn endpoint_id(config: &Value) -> Result<InterfaceEndpointId, Vec<Diagnostic>> {
    let text = |attribute: &str| {
        match config.attribute(attribute) {
        Value::String(text) => Ok(text.clone()),
        Value::Unknown => Err(Diagnostic::error(
            "Value Not Yet Known",
            format!("`{attribute}` is not known yet, so the endpoint cannot be read now. Terraform reads it once the value is known."),
        )
        .on(attribute)),
        _ => Err(Diagnostic::error("Missing Required Argument", format!("`{attribute}` must be set.")).on(attribute)),
    }
    };
    let (project_id, private_link_id, interface_endpoint_id) = (
        text(PROJECT_ID),
        text(PRIVATE_LINK_ID),
        text(INTERFACE_ENDPOINT_ID),
    );
    match (project_id, private_link_id, interface_endpoint_id) {
        (Ok(project_id), Ok(private_link_id), Ok(interface_endpoint_id)) => {
            Ok(InterfaceEndpointId {
                project_id,
                private_link_id,
                interface_endpoint_id,
            })
        }
        (project_id, private_link_id, interface_endpoint_id) => {
            Err([project_id, private_link_id, interface_endpoint_id]
                .into_iter()
                .filter_map(Result::err)
                .collect())
        }
    }
}

/// The whole state: the configuration echoed, and what Atlas said.
fn state(config: &Value, id: &InterfaceEndpointId, endpoint: &InterfaceEndpoint) -> Value {
    let attributes: BTreeMap<String, Value> = [
        (PROJECT_ID, Value::String(id.project_id.clone())),
        (PRIVATE_LINK_ID, Value::String(id.private_link_id.clone())),
        (
            INTERFACE_ENDPOINT_ID,
            Value::String(id.interface_endpoint_id.clone()),
        ),
        (
            CONNECTION_STATUS,
            Value::String(endpoint.connection_status.clone()),
        ),
        (
            ERROR_MESSAGE,
            Value::optional_string(endpoint.error_message.as_deref()),
        ),
        (
            DELETE_REQUESTED,
            endpoint.delete_requested.map_or(Value::Null, Value::Bool),
        ),
        (WAIT_FOR_STATUS, config.attribute(WAIT_FOR_STATUS).clone()),
        (WAIT_TIMEOUT, config.attribute(WAIT_TIMEOUT).clone()),
        (
            ID,
            Value::String(format!(
                "{}/{}/{}",
                id.project_id, id.private_link_id, id.interface_endpoint_id
            )),
        ),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .collect();
    Value::Object(attributes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(project: Value, link: Value, endpoint: Value) -> Value {
        Value::Object(
            [
                (PROJECT_ID, project),
                (PRIVATE_LINK_ID, link),
                (INTERFACE_ENDPOINT_ID, endpoint),
                (CONNECTION_STATUS, Value::Null),
                (ERROR_MESSAGE, Value::Null),
                (DELETE_REQUESTED, Value::Null),
                (ID, Value::Null),
            ]
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value))
            .collect(),
        )
    }

    fn text(value: &str) -> Value {
        Value::String(value.to_owned())
    }

    #[test]
    fn valid_config_has_no_diagnostics() {
        let config = config(
            text("5f1a2b3c4d5e6f7a8b9c0d1e"),
            text("6a1a2b3c4d5e6f7a8b9c0d1e"),
            text("vpce-08fb7e9319909ec7b"),
        );
        assert!(InterfaceEndpointDataSource.validate(&config).is_empty());
    }

    #[test]
    fn each_malformed_id_gets_its_own_diagnostic() {
        let config = config(text("nope"), text("NOPE"), text("vpce-1"));
        let attributes: Vec<_> = InterfaceEndpointDataSource
            .validate(&config)
            .into_iter()
            .map(|diagnostic| diagnostic.attribute.unwrap())
            .collect();
        assert_eq!(
            attributes,
            [PROJECT_ID, PRIVATE_LINK_ID, INTERFACE_ENDPOINT_ID]
        );
    }

    #[test]
    fn unknown_ids_are_not_validated() {
        let config = config(Value::Unknown, Value::Unknown, Value::Unknown);
        assert!(InterfaceEndpointDataSource.validate(&config).is_empty());
        let errors = endpoint_id(&config).unwrap_err();
        assert_eq!(errors.len(), 3);
    }

    #[test]
    fn state_keeps_null_error_message_and_builds_the_id() {
        let id = InterfaceEndpointId {
            project_id: "5f1a2b3c4d5e6f7a8b9c0d1e".into(),
            private_link_id: "6a1a2b3c4d5e6f7a8b9c0d1e".into(),
            interface_endpoint_id: "vpce-08fb7e9319909ec7b".into(),
        };
        let endpoint = InterfaceEndpoint {
            interface_endpoint_id: "vpce-08fb7e9319909ec7b".into(),
            connection_status: "AVAILABLE".into(),
            error_message: None,
            delete_requested: None,
        };
        let state = state(&Value::Null, &id, &endpoint);
        assert_eq!(state.attribute(ERROR_MESSAGE), &Value::Null);
        assert_eq!(state.attribute(DELETE_REQUESTED), &Value::Null);
        assert_eq!(
            state.attribute(ID).as_str(),
            Some("5f1a2b3c4d5e6f7a8b9c0d1e/6a1a2b3c4d5e6f7a8b9c0d1e/vpce-08fb7e9319909ec7b")
        );
        let schema = InterfaceEndpointDataSource.schema();
        for attribute in &schema.attributes {
            assert!(
                matches!(state, Value::Object(ref map) if map.contains_key(attribute.name)),
                "{}",
                attribute.name
            );
        }
    }
}
