//! `atlas_private_link`: the Atlas side of an AWS PrivateLink connection (the endpoint service),
//! whose `endpoint_service_name` is what `aws_vpc_endpoint.service_name` must be set to.

use serde::{Deserialize, Serialize};

use super::status_wait::{self, HasStatus, StatusRules, WaitConfig};
use super::{DataSource, ReadContext};
use crate::atlas::{PrivateLink, PrivateLinkId};
use crate::provider::atlas_errors::{ReadTarget, diagnostic_for};
use crate::provider::diagnostics::Diagnostics;
use crate::provider::schema::{Attribute, AttributeType, Schema};
use crate::provider::validators;

pub(super) const PROJECT_ID: &str = "project_id";
pub(super) const PRIVATE_LINK_ID: &str = "private_link_id";

/// Atlas's 404 error codes that name one of our ids, on v1.0 and on v2.
pub(super) const NOT_FOUND_CODES: &[(&str, &str)] = &[
    ("GROUP_NOT_FOUND", PROJECT_ID),
    ("INVALID_GROUP_ID", PROJECT_ID),
    ("PRIVATELINK_NOT_FOUND", PRIVATE_LINK_ID),
    ("PRIVATE_ENDPOINT_SERVICE_NOT_FOUND", PRIVATE_LINK_ID),
];

/// The statuses of an endpoint service (`AWSPrivateLinkConnection.status` in Atlas's
/// specification).
static LINK_STATUSES: StatusRules = StatusRules {
    what: "private link",
    short: "private link",
    known: &[
        "INITIATING",
        "WAITING_FOR_USER",
        "AVAILABLE",
        "FAILED",
        "DELETING",
    ],
    terminal: &[
        (
            "FAILED",
            "Atlas could not create the endpoint service: delete the private endpoint connection in Atlas \
             and create it again.",
        ),
        (
            "DELETING",
            "Atlas is removing the private endpoint connection.",
        ),
    ],
    timeout_advice: "Atlas needs longer to create the endpoint service.",
    wait_for_status_description: "Statuses to wait for, such as `[\"AVAILABLE\"]` or `[\"WAITING_FOR_USER\", \
        \"AVAILABLE\"]` (Atlas is ready for the AWS side). When set, the read polls Atlas (after 2 s, then \
        doubling up to every 30 s) until `status` is one of them. It fails at once when the private link \
        reaches `FAILED`, or `DELETING` when that is not listed (with Atlas's error message), and when \
        `wait_timeout` runs out (with the last status seen). Leave it out to read once without waiting.",
};

pub struct PrivateLinkDataSource;

#[derive(Deserialize)]
pub struct Config {
    project_id: String,
    private_link_id: String,
    #[serde(flatten)]
    wait: WaitConfig,
}

#[derive(Debug, Serialize)]
pub struct State {
    status: String,
    endpoint_service_name: Option<String>,
    error_message: Option<String>,
    interface_endpoint_ids: Vec<String>,
    region: Option<String>,
    id: String,
}

impl HasStatus for PrivateLink {
    fn status(&self) -> &str {
        &self.status
    }
    fn error_message(&self) -> Option<&str> {
        self.error_message.as_deref()
    }
}

/// The schema's id arguments, shared with `atlas_interface_endpoints`.
pub(super) fn id_attributes() -> [Attribute; 2] {
    [
        Attribute::required(
            PROJECT_ID,
            AttributeType::String,
            "The id of the Atlas project (\"group\") that holds the private endpoint connection: 24 \
             hexadecimal characters.",
        )
        .validated(validators::is_object_id("an Atlas project")),
        Attribute::required(
            PRIVATE_LINK_ID,
            AttributeType::String,
            "The id of the project's AWS PrivateLink connection (the Atlas private endpoint service): 24 \
             hexadecimal characters.",
        )
        .validated(validators::is_object_id("an Atlas AWS PrivateLink connection")),
    ]
}

/// The read target for errors on the private link.
pub(super) fn target(id: &PrivateLinkId) -> ReadTarget<'_> {
    ReadTarget {
        what: "private link",
        ids: vec![
            (PROJECT_ID, &id.project_id),
            (PRIVATE_LINK_ID, &id.private_link_id),
        ],
        not_found_codes: NOT_FOUND_CODES,
    }
}

#[async_trait::async_trait]
impl DataSource for PrivateLinkDataSource {
    type Config = Config;
    type State = State;
    const NAME: &'static str = "private_link";
    const WHAT: &'static str = "private link";

    fn schema(&self) -> Schema {
        let mut attributes = Vec::from(id_attributes());
        attributes.extend([
            Attribute::computed(
                "status",
                AttributeType::String,
                "The endpoint service's status in Atlas: `INITIATING` (Atlas is creating it), \
                 `WAITING_FOR_USER` (ready: create the AWS VPC interface endpoint), `AVAILABLE`, `FAILED`, or \
                 `DELETING`. A status Atlas adds later is passed through unchanged.",
            ),
            Attribute::computed(
                "endpoint_service_name",
                AttributeType::String,
                "The AWS VPC endpoint service name, such as \
                 `com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0`: set \
                 `aws_vpc_endpoint.service_name` to it. Null while Atlas creates the endpoint service.",
            ),
            Attribute::computed(
                "error_message",
                AttributeType::String,
                "The error Atlas reports on the private link; null when there is none.",
            ),
            Attribute::computed(
                "interface_endpoint_ids",
                AttributeType::ListOfString,
                "The ids of the AWS VPC interface endpoints attached to the private link, in Atlas's order; \
                 empty when there are none.",
            ),
            Attribute::computed(
                "region",
                AttributeType::String,
                "The AWS region of the endpoint service as Atlas names it, such as `US_EAST_1`. Null when \
                 the route read does not give it (the v1.0 route never does).",
            ),
            Attribute::computed(
                "id",
                AttributeType::String,
                "`<project_id>/<private_link_id>`.",
            ),
        ]);
        attributes.extend(status_wait::attributes(&LINK_STATUSES));
        Schema {
            description: "Reads the Atlas side of an AWS PrivateLink connection (the endpoint service Atlas creates \
                          for a project and region): its `status`, the `endpoint_service_name` an AWS VPC \
                          interface endpoint must use, and the ids of the endpoints attached to it. Use it to \
                          assert at plan time that Atlas is ready, or to wait until it is.",
            attributes,
        }
    }

    async fn read(&self, config: Config, context: &ReadContext<'_>) -> Result<State, Diagnostics> {
        let id = PrivateLinkId {
            project_id: config.project_id,
            private_link_id: config.private_link_id,
        };
        let target = target(&id);
        let link = status_wait::read_or_wait(
            &LINK_STATUSES,
            &config.wait,
            || context.client.read_private_link(&id),
            |error| diagnostic_for(&error, &target, context.key),
        )
        .await?;
        Ok(State {
            status: link.status,
            endpoint_service_name: link.endpoint_service_name,
            error_message: link.error_message,
            interface_endpoint_ids: link.interface_endpoints.unwrap_or_default(),
            region: link.region_name,
            id: format!("{}/{}", id.project_id, id.private_link_id),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::data_sources::RegisteredDataSource;
    use crate::provider::value::Value;

    fn config(entries: &[(&str, Value)]) -> Value {
        Value::Object(
            entries
                .iter()
                .map(|(name, value)| ((*name).to_owned(), value.clone()))
                .collect(),
        )
    }

    #[test]
    fn ids_and_statuses_are_validated() {
        let registered = RegisteredDataSource::new(PrivateLinkDataSource);
        let diagnostics = registered.validate(&config(&[
            (PROJECT_ID, Value::String("nope".into())),
            (
                PRIVATE_LINK_ID,
                Value::String("6a1a2b3c4d5e6f7a8b9c0d1e".into()),
            ),
            (
                "wait_for_status",
                Value::List(vec![Value::String("PENDING".into())]),
            ),
        ]));
        let summaries: Vec<_> = diagnostics.iter().map(|d| d.summary.as_str()).collect();
        assert_eq!(
            summaries,
            ["Invalid Project ID", "Unknown Status in Wait For Status"]
        );
    }

    #[test]
    fn v1_state_has_null_region_and_the_two_part_id() {
        let link: PrivateLink = serde_json::from_str(
            r#"{"id":"6a1a2b3c4d5e6f7a8b9c0d1e","endpointServiceName":"com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0","errorMessage":null,"interfaceEndpoints":null,"status":"WAITING_FOR_USER"}"#,
        )
        .unwrap();
        assert_eq!(link.region_name, None);
        assert_eq!(link.interface_endpoints, None);
        let schema = PrivateLinkDataSource.schema();
        let computed = Value::from_json(
            serde_json::to_value(State {
                status: link.status,
                endpoint_service_name: link.endpoint_service_name,
                error_message: None,
                interface_endpoint_ids: Vec::new(),
                region: None,
                id: "p/l".into(),
            })
            .unwrap(),
        );
        let state = schema.state(&config(&[]), &computed).unwrap();
        assert_eq!(state.attribute("region"), &Value::Null);
        assert_eq!(
            state.attribute("interface_endpoint_ids"),
            &Value::List(vec![])
        );
    }
}
