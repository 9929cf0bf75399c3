//! `atlas_interface_endpoint`: one AWS PrivateLink interface endpoint of an Atlas project.

use serde::{Deserialize, Serialize};

use super::listed_endpoints::answered_for_another;
use super::private_link as link;
use super::status_wait::{self, HasStatus, StatusRules, WaitConfig};
use super::{DataSource, INTERFACE_ENDPOINT_ID, PRIVATE_LINK_ID, PROJECT_ID, ReadContext};
use crate::atlas::{AtlasId, InterfaceEndpoint, InterfaceEndpointId};
use crate::provider::atlas_errors::{ReadTarget, diagnostic_for};
use crate::provider::diagnostics::Diagnostics;
use crate::provider::schema::{Attribute, AttributeType, Schema};
use crate::provider::validators;

/// The argument that holds each Atlas id an answer may name.
const ATLAS_IDS: &[(AtlasId, &str)] = &[
    (AtlasId::Project, PROJECT_ID),
    (AtlasId::EndpointService, PRIVATE_LINK_ID),
    (AtlasId::Endpoint, INTERFACE_ENDPOINT_ID),
];

/// The statuses of an interface endpoint, from Atlas's reference.
pub(super) static ENDPOINT_STATUSES: StatusRules = StatusRules {
    what: "interface endpoint",
    short: "endpoint",
    known: &[
        "NONE",
        "PENDING_ACCEPTANCE",
        "PENDING",
        "AVAILABLE",
        "REJECTED",
        "DELETING",
    ],
    terminal: &[
        (
            "REJECTED",
            "Check the VPC endpoint in AWS (its service name, subnets and security groups), then recreate it.",
        ),
        (
            "DELETING",
            "Atlas is removing it from the private endpoint connection.",
        ),
    ],
    timeout_advice: "AWS needs longer, or check the VPC endpoint in AWS.",
    wait_for_status_description: "Statuses to wait for, such as `[\"AVAILABLE\"]`. When set, the read polls Atlas \
        (after 2 s, then doubling up to every 30 s) until `connection_status` is one of them. It fails at once \
        when the endpoint reaches `REJECTED`, or `DELETING` when that is not listed (with Atlas's error \
        message), and when `wait_timeout` runs out (with the last status seen). Leave it out to read once \
        without waiting.",
};

pub struct InterfaceEndpointDataSource;

#[derive(Deserialize)]
pub struct Config {
    project_id: String,
    private_link_id: String,
    interface_endpoint_id: String,
    #[serde(flatten)]
    wait: WaitConfig,
}

#[derive(Debug, Serialize)]
pub struct State {
    connection_status: String,
    error_message: Option<String>,
    delete_requested: Option<bool>,
    id: String,
}

impl HasStatus for InterfaceEndpoint {
    fn status(&self) -> &str {
        &self.connection_status
    }
    fn error_message(&self) -> Option<&str> {
        self.error_message.as_deref()
    }
}

#[async_trait::async_trait]
impl DataSource for InterfaceEndpointDataSource {
    type Config = Config;
    type State = State;
    const NAME: &'static str = "interface_endpoint";
    const WHAT: &'static str = "interface endpoint";

    fn schema(&self) -> Schema {
        let mut attributes = Vec::from(link::id_attributes());
        attributes.extend([
            Attribute::required(
                INTERFACE_ENDPOINT_ID,
                AttributeType::String,
                "The id of the AWS VPC interface endpoint: `vpce-` followed by 17 hexadecimal characters, \
                 as in `aws_vpc_endpoint.<name>.id`.",
            )
            .validated(validators::is_vpc_endpoint_id()),
            Attribute::computed(
                "connection_status",
                AttributeType::String,
                "The endpoint's status in Atlas: `NONE` (AWS has not made the VPC endpoint yet), \
                 `PENDING_ACCEPTANCE`, `PENDING`, `AVAILABLE` (connected: clusters in the region are \
                 reachable through PrivateLink), `REJECTED`, or `DELETING`. A status Atlas adds later is \
                 passed through unchanged.",
            ),
            Attribute::computed(
                "error_message",
                AttributeType::String,
                "The error Atlas reports on the endpoint; null when there is none (or Atlas's answer \
                 leaves it out).",
            ),
            Attribute::computed(
                "delete_requested",
                AttributeType::Bool,
                "Whether Atlas has received a request to remove the endpoint from the private endpoint \
                 connection; null when Atlas's answer leaves it out (the v2 specification does not \
                 require it).",
            ),
            Attribute::computed(
                "id",
                AttributeType::String,
                "`<project_id>/<private_link_id>/<interface_endpoint_id>`.",
            ),
        ]);
        attributes.extend(status_wait::attributes(&ENDPOINT_STATUSES));
        Schema {
            description: "Reads one AWS PrivateLink interface endpoint of an Atlas project: whether AWS and Atlas \
                          have connected it (`connection_status`), the error Atlas reports on it, and whether its \
                          removal was requested. Use it in `check` blocks and `postcondition`s to assert at plan \
                          time that the endpoint is `AVAILABLE`.",
            attributes,
        }
    }

    async fn read(&self, config: Config, context: &ReadContext<'_>) -> Result<State, Diagnostics> {
        let id = InterfaceEndpointId {
            project_id: config.project_id,
            private_link_id: config.private_link_id,
            interface_endpoint_id: config.interface_endpoint_id,
        };
        let target = ReadTarget {
            what: Self::WHAT,
            ids: vec![
                (PROJECT_ID, &id.project_id),
                (PRIVATE_LINK_ID, &id.private_link_id),
                (INTERFACE_ENDPOINT_ID, &id.interface_endpoint_id),
            ],
            attributes: ATLAS_IDS,
        };
        let endpoint = status_wait::read_or_wait(
            &ENDPOINT_STATUSES,
            &config.wait,
            || context.client.read_interface_endpoint(&id),
            |error| diagnostic_for(&error, &target, context.key),
        )
        .await?;
        if endpoint.interface_endpoint_id != id.interface_endpoint_id {
            return Err(answered_for_another(
                Self::WHAT,
                &id.private_link_id,
                &id.interface_endpoint_id,
                &endpoint.interface_endpoint_id,
            ));
        }
        Ok(state(&id, endpoint))
    }
}

// Whether Atlas's body makes `deleteRequested` optional or not, the state says what it said.
#[allow(clippy::useless_conversion)]
fn state(id: &InterfaceEndpointId, endpoint: InterfaceEndpoint) -> State {
    State {
        connection_status: endpoint.connection_status,
        error_message: endpoint.error_message,
        delete_requested: endpoint.delete_requested.into(),
        id: format!(
            "{}/{}/{}",
            id.project_id, id.private_link_id, id.interface_endpoint_id
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::data_sources::RegisteredDataSource;
    use crate::provider::value::Value;

    fn config(project: Value, link: Value, endpoint: Value) -> Value {
        Value::Object(
            [
                (PROJECT_ID, project),
                (PRIVATE_LINK_ID, link),
                (INTERFACE_ENDPOINT_ID, endpoint),
                ("connection_status", Value::Null),
                ("error_message", Value::Null),
                ("delete_requested", Value::Null),
                ("id", Value::Null),
            ]
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value))
            .collect(),
        )
    }

    fn text(value: &str) -> Value {
        Value::String(value.to_owned())
    }

    fn registered() -> RegisteredDataSource {
        RegisteredDataSource::new(InterfaceEndpointDataSource)
    }

    #[test]
    fn valid_config_has_no_diagnostics() {
        let config = config(
            text("5f1a2b3c4d5e6f7a8b9c0d1e"),
            text("6a1a2b3c4d5e6f7a8b9c0d1e"),
            text("vpce-08fb7e9319909ec7b"),
        );
        assert!(registered().validate(&config).is_empty());
    }

    #[test]
    fn each_malformed_id_gets_its_own_diagnostic() {
        let config = config(text("nope"), text("NOPE"), text("vpce-1"));
        let attributes: Vec<_> = registered()
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
    fn unknown_ids_are_not_validated_but_stop_a_read() {
        let config = config(Value::Unknown, Value::Unknown, Value::Unknown);
        assert!(registered().validate(&config).is_empty());
        let errors = InterfaceEndpointDataSource
            .schema()
            .check_known(&config, "interface endpoint");
        assert_eq!(errors.len(), 3);
    }

    #[test]
    fn state_keeps_null_error_message_and_builds_the_id() {
        let id = InterfaceEndpointId {
            project_id: "5f1a2b3c4d5e6f7a8b9c0d1e".into(),
            private_link_id: "6a1a2b3c4d5e6f7a8b9c0d1e".into(),
            interface_endpoint_id: "vpce-08fb7e9319909ec7b".into(),
        };
        let endpoint: InterfaceEndpoint = serde_json::from_str(
            r#"{"interfaceEndpointId":"vpce-08fb7e9319909ec7b","connectionStatus":"AVAILABLE","errorMessage":null,"deleteRequested":false}"#,
        )
        .unwrap();
        let computed = Value::from_json(serde_json::to_value(state(&id, endpoint)).unwrap());
        let config = config(
            text(&id.project_id),
            text(&id.private_link_id),
            text(&id.interface_endpoint_id),
        );
        let state = InterfaceEndpointDataSource
            .schema()
            .state(&config, &computed)
            .unwrap();
        assert_eq!(state.attribute("error_message"), &Value::Null);
        assert_eq!(state.attribute("delete_requested"), &Value::Bool(false));
        assert_eq!(
            state.attribute("id").as_str(),
            Some("5f1a2b3c4d5e6f7a8b9c0d1e/6a1a2b3c4d5e6f7a8b9c0d1e/vpce-08fb7e9319909ec7b")
        );
    }
}
