//! `atlas_private_link`: the Atlas side of a private endpoint connection (the endpoint service)
//! on AWS, Azure or Google Cloud: on AWS its `endpoint_service_name` is what
//! `aws_vpc_endpoint.service_name` must be; on Azure its `private_link_service_resource_id` is
//! what an `azurerm_private_endpoint` connects to; on Google Cloud its `service_attachment_names`
//! are what the forwarding rules target.

use serde::{Deserialize, Serialize};

use super::clouds::{self, cloud_of, point_not_found};
use super::status_wait::{self, HasStatus, StatusRules, WaitConfig};
use super::{DataSource, PRIVATE_LINK_ID, PROJECT_ID, ReadContext};
use crate::atlas::{AtlasId, CloudProvider, PrivateLink, PrivateLinkId};
use crate::provider::atlas_errors::{ReadTarget, diagnostic_for};
use crate::provider::diagnostics::Diagnostics;
use crate::provider::schema::{Attribute, AttributeType, Schema};
use crate::provider::validators;

/// The argument that holds each Atlas id an answer may name.
pub(super) const ATLAS_IDS: &[(AtlasId, &str)] = &[
    (AtlasId::Project, PROJECT_ID),
    (AtlasId::EndpointService, PRIVATE_LINK_ID),
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
    cloud_provider: Option<String>,
    #[serde(flatten)]
    wait: WaitConfig,
}

/// Every cloud's attributes; those of the clouds not asked for are null.
#[derive(Debug, Default, Serialize)]
pub struct State {
    status: String,
    error_message: Option<String>,
    region: Option<String>,
    aws_region: Option<String>,
    id: String,
    endpoint_service_name: Option<String>,
    interface_endpoint_ids: Option<Vec<String>>,
    private_link_service_name: Option<String>,
    private_link_service_resource_id: Option<String>,
    private_endpoint_ids: Option<Vec<String>>,
    endpoint_group_names: Option<Vec<String>>,
    service_attachment_names: Option<Vec<String>>,
    port_mapping_enabled: Option<bool>,
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
            "The id of the project's private endpoint connection (the Atlas private endpoint service, on \
             any cloud): 24 hexadecimal characters.",
        )
        .validated(validators::is_object_id("an Atlas private endpoint service")),
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
        attributes: ATLAS_IDS,
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
        attributes.push(clouds::cloud_provider_attribute(false));
        attributes.extend([
            Attribute::computed(
                "status",
                AttributeType::String,
                "The endpoint service's status in Atlas, on every cloud: `INITIATING` (Atlas is creating it), \
                 `WAITING_FOR_USER` (ready: create the endpoint in your cloud), `AVAILABLE`, `FAILED`, or \
                 `DELETING`. A status Atlas adds later is passed through unchanged.",
            ),
            Attribute::computed(
                "endpoint_service_name",
                AttributeType::String,
                "AWS: the VPC endpoint service name, such as \
                 `com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0`: set \
                 `aws_vpc_endpoint.service_name` to it. Null while Atlas creates the endpoint service, and \
                 on other clouds.",
            ),
            Attribute::computed(
                "error_message",
                AttributeType::String,
                "The error Atlas reports on the private link; null when there is none.",
            ),
            Attribute::computed(
                "interface_endpoint_ids",
                AttributeType::ListOfString,
                "AWS: the ids of the VPC interface endpoints attached to the private link, in Atlas's order; \
                 empty when there are none. Null on other clouds.",
            ),
            Attribute::computed(
                "region",
                AttributeType::String,
                "The region of the endpoint service as Atlas names it, such as `US_EAST_1` (the form of \
                 Atlas's `regionName`) or, on Azure, `ASIA_SOUTH_EAST`; on AWS `aws_region` holds the same \
                 region as AWS names it. The v2 route returns it; the AWS v1.0 route (which `api_version = \
                 \"auto\"` reads while Atlas still serves it) does not, so there it is taken from \
                 `endpoint_service_name`, and is null only while that is (while Atlas creates the endpoint \
                 service).",
            ),
            Attribute::computed(
                "aws_region",
                AttributeType::String,
                "AWS: the same region as AWS names it, such as `us-east-1`: what an AWS provider block or \
                 `aws_vpc_endpoint` in that region expects. Null when `region` is, and on other clouds.",
            ),
            Attribute::computed(
                "private_link_service_name",
                AttributeType::String,
                "AZURE: the Private Link Service's name, `pls_` and 24 hexadecimal characters. Null while \
                 Atlas creates it, and on other clouds.",
            ),
            Attribute::computed(
                "private_link_service_resource_id",
                AttributeType::String,
                "AZURE: the Private Link Service's resource id: set \
                 `azurerm_private_endpoint.private_service_connection.private_connection_resource_id` to it. \
                 Null while Atlas creates it, and on other clouds.",
            ),
            Attribute::computed(
                "private_endpoint_ids",
                AttributeType::ListOfString,
                "AZURE: the resource ids of the private endpoints attached, in Atlas's order; empty when there \
                 are none. Null on other clouds.",
            ),
            Attribute::computed(
                "endpoint_group_names",
                AttributeType::ListOfString,
                "GCP: the names of the endpoint groups attached, in Atlas's order; empty when there are none. \
                 Null on other clouds.",
            ),
            Attribute::computed(
                "service_attachment_names",
                AttributeType::ListOfString,
                "GCP: the service attachments, as Atlas sends them (`projects/<p>/regions/<r>/serviceAttachments/<name>`): \
                 set each `google_compute_forwarding_rule.target` to one. Empty while Atlas creates them; \
                 null on other clouds.",
            ),
            Attribute::computed(
                "port_mapping_enabled",
                AttributeType::Bool,
                "GCP: whether the endpoint service uses port mapping (one forwarding rule for every node). \
                 Null on other clouds.",
            ),
            Attribute::computed(
                "id",
                AttributeType::String,
                "`<project_id>/<private_link_id>`.",
            ),
        ]);
        attributes.extend(status_wait::attributes(&LINK_STATUSES));
        Schema {
            description: "Reads the Atlas side of a private endpoint connection (the endpoint service Atlas creates \
                          for a project and region) on AWS, Azure or Google Cloud: its `status`, what your \
                          cloud's endpoint must connect to (AWS `endpoint_service_name`, Azure \
                          `private_link_service_resource_id`, Google Cloud `service_attachment_names`), and the \
                          ids of the endpoints attached to it. Use it to assert at plan time that Atlas is ready, \
                          or to wait until it is.",
            attributes,
        }
    }

    async fn read(&self, config: Config, context: &ReadContext<'_>) -> Result<State, Diagnostics> {
        let id = PrivateLinkId {
            project_id: config.project_id,
            private_link_id: config.private_link_id,
        };
        let cloud = cloud_of(config.cloud_provider.as_deref());
        let target = target(&id);
        let link = status_wait::read_or_wait(
            &LINK_STATUSES,
            &config.wait,
            || context.client.read_endpoint_service(&id, cloud),
            |error| {
                let diagnostic = diagnostic_for(&error, &target, context.key);
                point_not_found(&error, diagnostic, cloud, PRIVATE_LINK_ID)
            },
        )
        .await?;
        Ok(state(&id, cloud, link))
    }
}

/// The state for `cloud`: its own attributes set (lists empty rather than null when Atlas sends
/// none), every other cloud's null.
fn state(id: &PrivateLinkId, cloud: CloudProvider, link: PrivateLink) -> State {
    let common = State {
        status: link.status,
        error_message: link.error_message,
        region: link.region_name,
        id: format!("{}/{}", id.project_id, id.private_link_id),
        ..State::default()
    };
    match cloud {
        CloudProvider::Aws => {
            let aws_region = match &common.region {
                Some(atlas_form) => Some(aws_form(atlas_form)),
                None => link
                    .endpoint_service_name
                    .as_deref()
                    .and_then(region_of_service_name),
            };
            State {
                region: common
                    .region
                    .clone()
                    .or_else(|| aws_region.as_deref().map(atlas_form)),
                aws_region,
                endpoint_service_name: link.endpoint_service_name,
                interface_endpoint_ids: Some(link.interface_endpoints.unwrap_or_default()),
                ..common
            }
        }
        CloudProvider::Azure => State {
            private_link_service_name: link.private_link_service_name,
            private_link_service_resource_id: link.private_link_service_resource_id,
            private_endpoint_ids: Some(link.private_endpoints.unwrap_or_default()),
            ..common
        },
        CloudProvider::Gcp => State {
            endpoint_group_names: Some(link.endpoint_group_names.unwrap_or_default()),
            service_attachment_names: Some(link.service_attachment_names.unwrap_or_default()),
            port_mapping_enabled: link.port_mapping_enabled,
            ..common
        },
    }
}

// Atlas names an AWS region as AWS does, upper-cased with `_` for `-`: `US_EAST_1` is
// `us-east-1`, `AP_SOUTHEAST_2` is `ap-southeast-2`, `US_GOV_WEST_1` is `us-gov-west-1`
// (Atlas's "Amazon Web Services (AWS)" cloud provider reference lists both columns).

/// `US_EAST_1` → `us-east-1`.
fn aws_form(atlas_form: &str) -> String {
    atlas_form.to_ascii_lowercase().replace('_', "-")
}

/// `us-east-1` → `US_EAST_1`.
fn atlas_form(aws_form: &str) -> String {
    aws_form.to_ascii_uppercase().replace('-', "_")
}

/// The region in an AWS endpoint service name, `com.amazonaws.vpce.<region>.vpce-svc-<id>`
/// (the form AWS gives every VPC endpoint service); None for any other shape.
fn region_of_service_name(name: &str) -> Option<String> {
    let region = name
        .strip_prefix("com.amazonaws.vpce.")?
        .split_once(".vpce-svc-")?
        .0;
    let plausible = !region.is_empty()
        && region
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-');
    plausible.then(|| region.to_owned())
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

    /// Issue 23 item 7: `region` was null under the default `api_version = "auto"` against an
    /// Atlas that still serves v1.0, and only in Atlas's form (`US_EAST_1`) on v2.
    #[test]
    fn region_is_given_in_both_forms_on_either_route() {
        let v1: PrivateLink = serde_json::from_str(
            r#"{"id":"6a1a2b3c4d5e6f7a8b9c0d1e","endpointServiceName":"com.amazonaws.vpce.ap-southeast-2.vpce-svc-0123456789abcdef0","errorMessage":null,"interfaceEndpoints":null,"status":"WAITING_FOR_USER"}"#,
        )
        .unwrap();
        assert_eq!(v1.region_name, None);
        assert_eq!(v1.interface_endpoints, None);
        let v2: PrivateLink = serde_json::from_str(
            r#"{"cloudProvider":"AWS","id":"6a1a2b3c4d5e6f7a8b9c0d1e","endpointServiceName":null,"errorMessage":null,"interfaceEndpoints":[],"regionName":"US_GOV_WEST_1","status":"INITIATING"}"#,
        )
        .unwrap();
        let initiating_v1: PrivateLink = serde_json::from_str(
            r#"{"id":"6a1a2b3c4d5e6f7a8b9c0d1e","endpointServiceName":null,"interfaceEndpoints":[],"status":"INITIATING"}"#,
        )
        .unwrap();
        for (link, region, aws_region) in [
            (
                v1,
                Value::String("AP_SOUTHEAST_2".into()),
                Value::String("ap-southeast-2".into()),
            ),
            (
                v2,
                Value::String("US_GOV_WEST_1".into()),
                Value::String("us-gov-west-1".into()),
            ),
            (initiating_v1, Value::Null, Value::Null),
        ] {
            let state = state_of(link);
            assert_eq!(state.attribute("region"), &region);
            assert_eq!(state.attribute("aws_region"), &aws_region);
        }
    }

    #[test]
    fn only_an_aws_endpoint_service_name_gives_a_region() {
        for (name, region) in [
            (
                "com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0",
                Some("us-east-1"),
            ),
            ("com.amazonaws.vpce..vpce-svc-0123456789abcdef0", None),
            (
                "com.amazonaws.vpce.US_EAST_1.vpce-svc-0123456789abcdef0",
                None,
            ),
            ("com.amazonaws.us-east-1.s3", None),
            ("", None),
        ] {
            assert_eq!(region_of_service_name(name).as_deref(), region, "{name}");
        }
    }

    /// The state the data source writes for `link`, as Terraform receives it.
    fn state_of(link: PrivateLink) -> Value {
        let id = PrivateLinkId {
            project_id: "5f1a2b3c4d5e6f7a8b9c0d1e".into(),
            private_link_id: "6a1a2b3c4d5e6f7a8b9c0d1e".into(),
        };
        let computed =
            Value::from_json(serde_json::to_value(state(&id, CloudProvider::Aws, link)).unwrap());
        PrivateLinkDataSource
            .schema()
            .state(&config(&[]), &computed)
            .unwrap()
    }

    #[test]
    fn an_initiating_azure_link_keeps_its_nulls_and_nulls_the_aws_attributes() {
        let link: PrivateLink = serde_json::from_str(
            r#"{"cloudProvider":"AZURE","errorMessage":null,"id":"6a794010c0eb9e7a17719674","privateEndpoints":[],"privateLinkServiceName":null,"privateLinkServiceResourceId":null,"regionName":"ASIA_SOUTH_EAST","status":"INITIATING"}"#,
        )
        .unwrap();
        let id = PrivateLinkId {
            project_id: "p".into(),
            private_link_id: "l".into(),
        };
        let computed =
            Value::from_json(serde_json::to_value(state(&id, CloudProvider::Azure, link)).unwrap());
        let state = PrivateLinkDataSource
            .schema()
            .state(&config(&[]), &computed)
            .unwrap();
        assert_eq!(state.attribute("status").as_str(), Some("INITIATING"));
        assert_eq!(
            state.attribute("private_link_service_resource_id"),
            &Value::Null
        );
        assert_eq!(
            state.attribute("private_endpoint_ids"),
            &Value::List(vec![])
        );
        assert_eq!(state.attribute("endpoint_service_name"), &Value::Null);
        assert_eq!(state.attribute("interface_endpoint_ids"), &Value::Null);
        assert_eq!(state.attribute("service_attachment_names"), &Value::Null);
        assert_eq!(state.attribute("aws_region"), &Value::Null);
        assert_eq!(state.attribute("region").as_str(), Some("ASIA_SOUTH_EAST"));
    }
}
