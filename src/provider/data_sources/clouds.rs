//! What the data sources that read any cloud share: the `cloud_provider` argument, the form of
//! each cloud's endpoint id, each cloud's endpoint statuses, and one endpoint's attributes as its
//! cloud's answer fills them (every other cloud's attributes null).
//!
//! Shapes from Atlas's v2 specification (mongodb/openapi `openapi/v2/openapi-2023-01-01.yaml`:
//! `AWSInterfaceEndpoint`, `AzurePrivateEndpoint`, `PrivateGCPEndpointGroup` with
//! `GCPConsumerForwardingRule`); the attribute names follow the official provider's
//! `mongodbatlas_privatelink_endpoint_service` data source (mongodb/terraform-provider-mongodbatlas,
//! `internal/service/privatelinkendpointservice`), which reads the same bodies.

use serde::Serialize;

use super::interface_endpoint::ENDPOINT_STATUSES as AWS_ENDPOINT_STATUSES;
use super::listed_endpoints::cut_error_message;
use super::status_wait::{HasStatus, StatusRules};
use crate::atlas::{AtlasError, CloudProvider, ErrorKind, PrivateEndpoint};
use crate::provider::atlas_errors::CLOUD_PROVIDER;
use crate::provider::diagnostics::{Diagnostic, show_value, title_case};
use crate::provider::schema::{Attribute, AttributeType};
use crate::provider::validators::{Validator, vpc_endpoint_id};
use crate::provider::value::Value;

pub const ENDPOINT_ID: &str = "endpoint_id";

/// The `cloud_provider` argument: required, or optional with AWS as the default (the private
/// link data source, so that every configuration written before it existed reads as before).
pub fn cloud_provider_attribute(required: bool) -> Attribute {
    let description = if required {
        "The cloud of the private endpoint service, exactly as Atlas spells it: `\"AWS\"`, `\"AZURE\"` or \
         `\"GCP\"`."
    } else {
        "The cloud of the private endpoint service, exactly as Atlas spells it: `\"AWS\"` (the default), \
         `\"AZURE\"` or `\"GCP\"`. Azure and Google Cloud are read on Atlas's v2 routes whatever \
         `api_version` says, and `api_version = \"v1.0\"` with them is an error."
    };
    let attribute = if required {
        Attribute::required(CLOUD_PROVIDER, AttributeType::String, description)
    } else {
        Attribute::optional(CLOUD_PROVIDER, AttributeType::String, description)
    };
    attribute.validated(Validator::string(cloud_provider_problem))
}

fn cloud_provider_problem(attribute: &str, value: &str) -> Option<Diagnostic> {
    if CloudProvider::parse(value).is_some() {
        return None;
    }
    let hint = match CloudProvider::parse(&value.trim().to_ascii_uppercase()) {
        Some(cloud) => format!(" Write {}.", show_value(cloud.as_str())),
        None => String::new(),
    };
    Some(
        Diagnostic::error(
            format!("Invalid {}", title_case(attribute)),
            format!(
                "`{attribute}` must be \"AWS\", \"AZURE\" or \"GCP\", in capitals as Atlas spells them. Got {}.{hint}",
                show_value(value)
            ),
        )
        .on(attribute),
    )
}

/// The cloud a configuration names: its `cloud_provider` when known and valid, AWS when null
/// (the default), `None` when not known yet or misspelt (its own validator reports that).
pub fn cloud_in(config: &Value) -> Option<CloudProvider> {
    match config.attribute(CLOUD_PROVIDER) {
        Value::Null => Some(CloudProvider::Aws),
        value => value.as_str().and_then(CloudProvider::parse),
    }
}

/// The cloud of a validated configuration's `cloud_provider` (null is AWS).
pub fn cloud_of(cloud_provider: Option<&str>) -> CloudProvider {
    cloud_provider
        .and_then(CloudProvider::parse)
        .unwrap_or_default()
}

/// The `endpoint_id` argument, whose form depends on the cloud.
pub fn endpoint_id_attribute() -> Attribute {
    Attribute::required(
        ENDPOINT_ID,
        AttributeType::String,
        "The endpoint's id, as the cloud names it. AWS: the VPC interface endpoint id, `vpce-` followed by 17 \
         hexadecimal characters (`aws_vpc_endpoint.<name>.id`). AZURE: the private endpoint's resource id, \
         `/subscriptions/<uuid>/resourceGroups/<group>/providers/Microsoft.Network/privateEndpoints/<name>` \
         (`azurerm_private_endpoint.<name>.id`), raw: the provider encodes it for the URL. GCP: the endpoint \
         group name (the forwarding rule's name when port mapping is on).",
    )
    .validated(Validator::new(|attribute, value, config| {
        match (value.as_str(), cloud_in(config)) {
            (Some(id), Some(cloud)) => endpoint_id_problem(cloud, attribute, id).into_iter().collect(),
            _ => Default::default(),
        }
    }))
}

/// Why `id` is not an endpoint id of `cloud`, as a diagnostic on `attribute`.
pub fn endpoint_id_problem(cloud: CloudProvider, attribute: &str, id: &str) -> Option<Diagnostic> {
    let detail = match cloud {
        CloudProvider::Aws => return vpc_endpoint_id(attribute, id),
        CloudProvider::Azure if id.contains('%') => format!(
            "`{attribute}` holds a `%`, so it looks URL-encoded. Give the raw resource id, such as \
             \"{AZURE_EXAMPLE}\": the provider encodes it once for the URL. Got {}.",
            show_value(id)
        ),
        CloudProvider::Azure if !is_azure_private_endpoint_id(id) => format!(
            "`{attribute}` must be the resource id of an Azure private endpoint, \
             /subscriptions/<subscription uuid>/resourceGroups/<group>/providers/Microsoft.Network/privateEndpoints/<name>, \
             such as \"{AZURE_EXAMPLE}\" (`azurerm_private_endpoint.<name>.id` gives it). Got {} ({} characters).",
            show_value(id),
            id.chars().count()
        ),
        CloudProvider::Gcp if id.is_empty() => format!(
            "`{attribute}` is empty. Give the name of the Google Cloud endpoint group, such as \"atlas-endpoint-group\" \
             (with port mapping, the forwarding rule's name)."
        ),
        CloudProvider::Azure | CloudProvider::Gcp => return None,
    };
    Some(Diagnostic::error(format!("Invalid {}", title_case(attribute)), detail).on(attribute))
}

/// Whether `id` may be read for `cloud`: the same check as an id in a configuration, for the
/// ids Atlas lists.
pub fn has_endpoint_id_shape(cloud: CloudProvider, id: &str) -> bool {
    endpoint_id_problem(cloud, ENDPOINT_ID, id).is_none()
}

const AZURE_EXAMPLE: &str = "/subscriptions/0b8b3b9e-1111-4c1b-9d3e-2f6a0c1d2e3f/resourceGroups/rg-app/providers/Microsoft.Network/privateEndpoints/pe-atlas";

/// `/subscriptions/<uuid>/resourceGroups/<name>/providers/Microsoft.Network/privateEndpoints/<name>`.
/// Azure matches the fixed words without regard to case; the names may hold letters, digits,
/// `-`, `_`, `.` and `(` `)` (Azure's naming rules for resource groups and private endpoints).
fn is_azure_private_endpoint_id(id: &str) -> bool {
    let parts: Vec<&str> = id.split('/').collect();
    let [
        "",
        subscriptions,
        subscription,
        resource_groups,
        group,
        providers,
        namespace,
        private_endpoints,
        name,
    ] = parts.as_slice()
    else {
        return false;
    };
    let word = |actual: &str, expected: &str| actual.eq_ignore_ascii_case(expected);
    word(subscriptions, "subscriptions")
        && is_uuid(subscription)
        && word(resource_groups, "resourceGroups")
        && is_azure_name(group)
        && word(providers, "providers")
        && word(namespace, "Microsoft.Network")
        && word(private_endpoints, "privateEndpoints")
        && is_azure_name(name)
}

fn is_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(group, length)| {
            group.len() == length && group.bytes().all(|byte| byte.is_ascii_hexdigit())
        })
}

fn is_azure_name(text: &str) -> bool {
    (1..=90).contains(&text.chars().count())
        && text
            .chars()
            .all(|character| character.is_alphanumeric() || "-_.()".contains(character))
}

/// Azure private endpoint statuses (`AzurePrivateEndpoint.status`).
static AZURE_ENDPOINT_STATUSES: StatusRules = StatusRules {
    what: "Azure private endpoint",
    short: "endpoint",
    known: &["INITIATING", "AVAILABLE", "FAILED", "DELETING"],
    terminal: &[
        (
            "FAILED",
            "Check the private endpoint in Azure (its connection to the Private Link Service \
             `private_link_service_resource_id` names, and its IP address), then recreate it.",
        ),
        (
            "DELETING",
            "Atlas is removing it from the private endpoint service.",
        ),
    ],
    timeout_advice: "Azure needs longer, or check the private endpoint's connection in Azure.",
    wait_for_status_description: "",
};

/// Google Cloud endpoint group statuses (`PrivateGCPEndpointGroup.status`).
static GCP_ENDPOINT_STATUSES: StatusRules = StatusRules {
    what: "Google Cloud endpoint group",
    short: "endpoint group",
    known: &[
        "INITIATING",
        "VERIFIED",
        "AVAILABLE",
        "FAILED",
        "DELETING",
        "DELETED",
    ],
    terminal: &[
        (
            "FAILED",
            "Check the forwarding rules in Google Cloud (each must target one of the service attachments \
             `service_attachment_names` lists), then recreate them.",
        ),
        (
            "DELETED",
            "The endpoint group was removed: create it again in Google Cloud and Atlas.",
        ),
        (
            "DELETING",
            "Atlas is removing it from the private endpoint service.",
        ),
    ],
    timeout_advice: "Google Cloud needs longer, or check the forwarding rules in Google Cloud.",
    wait_for_status_description: "",
};

/// The statuses of one endpoint of `cloud`.
pub fn endpoint_rules(cloud: CloudProvider) -> &'static StatusRules {
    match cloud {
        CloudProvider::Aws => &AWS_ENDPOINT_STATUSES,
        CloudProvider::Azure => &AZURE_ENDPOINT_STATUSES,
        CloudProvider::Gcp => &GCP_ENDPOINT_STATUSES,
    }
}

/// The endpoint rules of the cloud a configuration names, once known.
pub fn endpoint_rules_in(config: &Value) -> Option<&'static StatusRules> {
    cloud_in(config).map(endpoint_rules)
}

pub const WAIT_FOR_STATUS_DESCRIPTION: &str = "Statuses to wait for, such as `[\"AVAILABLE\"]`, from the \
    endpoint's cloud: AWS `PENDING_ACCEPTANCE`, `PENDING`, `AVAILABLE`, `REJECTED`, `DELETING` (and v1.0's \
    `NONE`); AZURE `INITIATING`, `AVAILABLE`, `FAILED`, `DELETING`; GCP `INITIATING`, `VERIFIED`, \
    `AVAILABLE`, `FAILED`, `DELETING`, `DELETED`. When set, the read polls Atlas (after 2 s, then doubling up \
    to every 30 s) until `status` is one of them. It fails at once when the endpoint reaches a status it does \
    not leave (AWS `REJECTED`; AZURE `FAILED`; GCP `FAILED` or `DELETED`; `DELETING` on every cloud unless \
    listed), with Atlas's error message, and when `wait_timeout` runs out (with the last status seen). Leave \
    it out to read once without waiting.";

impl HasStatus for PrivateEndpoint {
    fn status(&self) -> &str {
        PrivateEndpoint::status(self)
    }
    fn error_message(&self) -> Option<&str> {
        PrivateEndpoint::error_message(self)
    }
}

/// One endpoint's computed attributes, every cloud's; those of other clouds are null.
#[derive(Debug, Default, Serialize)]
pub struct EndpointAttributes {
    status: String,
    error_message: Option<String>,
    delete_requested: Option<bool>,
    interface_endpoint_id: Option<String>,
    private_endpoint_resource_id: Option<String>,
    private_endpoint_ip_address: Option<String>,
    private_endpoint_connection_name: Option<String>,
    endpoint_group_name: Option<String>,
    gcp_project_id: Option<String>,
    port_mapping_enabled: Option<bool>,
    endpoints: Option<Vec<ForwardingRule>>,
}

/// One forwarding rule of a Google Cloud endpoint group.
#[derive(Debug, Serialize)]
struct ForwardingRule {
    endpoint_name: Option<String>,
    ip_address: Option<String>,
    status: Option<String>,
}

impl From<PrivateEndpoint> for EndpointAttributes {
    fn from(endpoint: PrivateEndpoint) -> Self {
        match endpoint {
            PrivateEndpoint::Aws(aws) => Self {
                status: aws.connection_status,
                error_message: aws.error_message,
                delete_requested: aws.delete_requested,
                interface_endpoint_id: Some(aws.interface_endpoint_id),
                ..Self::default()
            },
            PrivateEndpoint::Azure(azure) => Self {
                status: azure.status,
                error_message: azure.error_message,
                delete_requested: azure.delete_requested,
                private_endpoint_resource_id: azure.private_endpoint_resource_id,
                private_endpoint_ip_address: azure.private_endpoint_ip_address,
                private_endpoint_connection_name: azure.private_endpoint_connection_name,
                ..Self::default()
            },
            PrivateEndpoint::Gcp(gcp) => Self {
                status: gcp.status,
                error_message: gcp.error_message,
                delete_requested: gcp.delete_requested,
                endpoint_group_name: gcp.endpoint_group_name,
                gcp_project_id: gcp.gcp_project_id,
                port_mapping_enabled: gcp.port_mapping_enabled,
                endpoints: Some(
                    gcp.endpoints
                        .unwrap_or_default()
                        .into_iter()
                        .map(|rule| ForwardingRule {
                            endpoint_name: rule.endpoint_name,
                            ip_address: rule.ip_address,
                            status: rule.status,
                        })
                        .collect(),
                ),
                ..Self::default()
            },
        }
    }
}

impl EndpointAttributes {
    /// With `error_message` cut as a list cuts it ([`cut_error_message`]).
    pub fn with_cut_error_message(mut self) -> Self {
        self.error_message = cut_error_message(self.error_message.take());
        self
    }

    /// The bytes of its strings, for a list's bound.
    pub fn held_bytes(&self) -> usize {
        let text = |value: &Option<String>| value.as_deref().map_or(0, str::len);
        self.status.len()
            + text(&self.error_message)
            + text(&self.interface_endpoint_id)
            + text(&self.private_endpoint_resource_id)
            + text(&self.private_endpoint_ip_address)
            + text(&self.private_endpoint_connection_name)
            + text(&self.endpoint_group_name)
            + text(&self.gcp_project_id)
            + self.endpoints.as_ref().map_or(0, |rules| {
                rules
                    .iter()
                    .map(|rule| {
                        text(&rule.endpoint_name) + text(&rule.ip_address) + text(&rule.status) + 64
                    })
                    .sum()
            })
    }
}

/// The schema of [`EndpointAttributes`], all computed.
pub fn endpoint_attributes() -> Vec<Attribute> {
    let computed = Attribute::computed;
    vec![
        computed(
            "status",
            AttributeType::String,
            "The endpoint's status, the one attribute an assertion reads on every cloud: AWS's \
             `connectionStatus` (`PENDING_ACCEPTANCE`, `PENDING`, `AVAILABLE`, `REJECTED`, `DELETING`), \
             Azure's `status` (`INITIATING`, `AVAILABLE`, `FAILED`, `DELETING`), Google Cloud's `status` \
             (`INITIATING`, `VERIFIED`, `AVAILABLE`, `FAILED`, `DELETING`, `DELETED`). A status Atlas adds \
             later is passed through unchanged.",
        ),
        computed(
            "error_message",
            AttributeType::String,
            "The error Atlas reports on the endpoint; null when there is none.",
        ),
        computed(
            "delete_requested",
            AttributeType::Bool,
            "Whether Atlas has received a request to remove the endpoint; null when Atlas does not say.",
        ),
        computed(
            "interface_endpoint_id",
            AttributeType::String,
            "AWS: the VPC interface endpoint's id, `vpce-…`. Null on other clouds.",
        ),
        computed(
            "private_endpoint_resource_id",
            AttributeType::String,
            "AZURE: the private endpoint's resource id as Atlas reports it. Null on other clouds.",
        ),
        computed(
            "private_endpoint_ip_address",
            AttributeType::String,
            "AZURE: the private endpoint's IP address in your virtual network. Null on other clouds.",
        ),
        computed(
            "private_endpoint_connection_name",
            AttributeType::String,
            "AZURE: the name of the private endpoint connection; null until Azure names it, and on other \
             clouds.",
        ),
        computed(
            "endpoint_group_name",
            AttributeType::String,
            "GCP: the endpoint group's name. Null on other clouds.",
        ),
        computed(
            "gcp_project_id",
            AttributeType::String,
            "GCP: the Google Cloud project that holds the forwarding rules. Null on other clouds.",
        ),
        computed(
            "port_mapping_enabled",
            AttributeType::Bool,
            "GCP: whether the endpoint uses port mapping (one forwarding rule for every node). Null on \
             other clouds.",
        ),
        computed(
            "endpoints",
            AttributeType::ListOfObject(vec![
                computed(
                    "endpoint_name",
                    AttributeType::String,
                    "The forwarding rule's name.",
                ),
                computed(
                    "ip_address",
                    AttributeType::String,
                    "The forwarding rule's IP address.",
                ),
                computed(
                    "status",
                    AttributeType::String,
                    "The forwarding rule's status: `INITIATING`, `AVAILABLE`, `FAILED`, `DELETING`, or a \
                     status Atlas adds later.",
                ),
            ]),
            "GCP: the endpoint group's forwarding rules, in Atlas's order. Null on other clouds.",
        ),
    ]
}

/// A 404 names no attribute when its code is one Atlas does not document (Azure's and Google
/// Cloud's are not): it then points at `likely_wrong`, the id most likely wrong, and, off AWS,
/// adds that the cloud must be the service's own.
pub fn point_not_found(
    error: &AtlasError,
    mut diagnostic: Diagnostic,
    cloud: CloudProvider,
    likely_wrong: &str,
) -> Diagnostic {
    // A v1.0 route Atlas no longer serves is about the route, not an id (ErrorKind::RouteGone).
    let about_an_id = error
        .api()
        .is_some_and(|api| matches!(api.kind(), ErrorKind::NotFound { .. }));
    if !about_an_id || diagnostic.attribute.is_some() {
        return diagnostic;
    }
    if cloud != CloudProvider::Aws {
        diagnostic.detail.push_str(&format!(
            " Check also that `{CLOUD_PROVIDER}` = {} is the cloud of this private endpoint service: \
             Atlas looks for it under that cloud only.",
            show_value(cloud.as_str())
        ));
    }
    diagnostic.on(likely_wrong)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloud_provider_is_refused_unless_spelt_as_atlas_does() {
        for good in ["AWS", "AZURE", "GCP"] {
            assert_eq!(cloud_provider_problem(CLOUD_PROVIDER, good), None);
        }
        let diagnostic = cloud_provider_problem(CLOUD_PROVIDER, "azure").unwrap();
        assert_eq!(diagnostic.summary, "Invalid Cloud Provider");
        assert!(
            diagnostic.detail.contains("\"AWS\", \"AZURE\" or \"GCP\""),
            "{}",
            diagnostic.detail
        );
        assert!(
            diagnostic.detail.contains("Write \"AZURE\""),
            "{}",
            diagnostic.detail
        );
        assert!(cloud_provider_problem(CLOUD_PROVIDER, "GOOGLE").is_some());
    }

    #[test]
    fn endpoint_ids_are_checked_by_cloud() {
        assert!(has_endpoint_id_shape(
            CloudProvider::Aws,
            "vpce-08fb7e9319909ec7b"
        ));
        assert!(!has_endpoint_id_shape(CloudProvider::Aws, "group-1"));
        assert!(has_endpoint_id_shape(CloudProvider::Azure, AZURE_EXAMPLE));
        assert!(has_endpoint_id_shape(
            CloudProvider::Azure,
            &AZURE_EXAMPLE.replace("resourceGroups", "resourcegroups")
        ));
        for bad in [
            "",
            "pe-atlas",
            &AZURE_EXAMPLE.replace('/', "%2F"),
            &AZURE_EXAMPLE.replace("privateEndpoints", "privateLinkServices"),
            &AZURE_EXAMPLE.replace("0b8b3b9e-1111", "0b8b3b9e1111"),
            &format!("{AZURE_EXAMPLE}/extra"),
            &AZURE_EXAMPLE.replace("pe-atlas", "pe atlas"),
        ] {
            assert!(!has_endpoint_id_shape(CloudProvider::Azure, bad), "{bad}");
        }
        assert!(has_endpoint_id_shape(
            CloudProvider::Gcp,
            "atlas-endpoint-group"
        ));
        assert!(!has_endpoint_id_shape(CloudProvider::Gcp, ""));
    }

    #[test]
    fn an_encoded_azure_id_is_told_to_be_given_raw() {
        let encoded = AZURE_EXAMPLE.replace('/', "%2F");
        let diagnostic = endpoint_id_problem(CloudProvider::Azure, ENDPOINT_ID, &encoded).unwrap();
        assert_eq!(diagnostic.attribute.as_deref(), Some(ENDPOINT_ID));
        assert!(
            diagnostic.detail.contains("raw resource id"),
            "{}",
            diagnostic.detail
        );
    }
}
