//! One private endpoint service (Atlas's side of a private connection for a project and region):
//! AWS on either route family,
//! v1.0 `GET /api/atlas/v1.0/groups/{project}/privateEndpoint/{privateLinkId}`,
//! v2 `GET /api/atlas/v2/groups/{project}/privateEndpoint/{cloudProvider}/endpointService/{privateLinkId}`;
//! Azure and GCP on v2 only (`getPrivateEndpointService` in Atlas's OpenAPI specification,
//! mongodb/openapi `openapi/v2/openapi-2023-01-01.yaml`: the body is `EndpointService`, one of
//! `AWSPrivateLinkConnection`, `AzurePrivateLinkConnection`, `GCPEndpointService` by
//! `cloudProvider`).

use serde::Deserialize;

use super::{AtlasClient, AtlasError, CloudProvider, Resource};

/// Which private link to read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrivateLinkId {
    /// The Atlas project ("group") id.
    pub project_id: String,
    /// The id of the project's AWS PrivateLink connection (the endpoint service).
    pub private_link_id: String,
}

/// What Atlas says about the private link; the v1.0 body (`id`, `endpointServiceName`,
/// `errorMessage`, `interfaceEndpoints`, `status`) and the v2 body of every cloud (the same and
/// `cloudProvider`, `regionName`, and each cloud's own fields) all decode into it. Fields Atlas
/// adds later are ignored; an optional field that is missing or null is `None`. Only `status` is
/// needed: without it the body cannot be used, and the decoding error names it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrivateLink {
    /// The private link's id as Atlas knows it.
    #[serde(default)]
    pub id: Option<String>,
    /// `INITIATING`, `WAITING_FOR_USER`, `AVAILABLE`, `FAILED`, `DELETING`, or a value Atlas
    /// adds later, passed through unchanged.
    pub status: String,
    /// The AWS VPC endpoint service name, `com.amazonaws.vpce.<region>.vpce-svc-<17 hex>`: what
    /// an AWS VPC interface endpoint's `service_name` must be. The specification says it is
    /// null while Atlas creates the endpoint service.
    #[serde(default)]
    pub endpoint_service_name: Option<String>,
    /// The error on the private link; `None` when Atlas says null or leaves it out.
    #[serde(default)]
    pub error_message: Option<String>,
    /// The ids of the interface endpoints attached to it, in Atlas's order (AWS `vpce-` ids,
    /// though the specification's item pattern says 24 hex: not checked here).
    #[serde(default)]
    pub interface_endpoints: Option<Vec<String>>,
    /// The cloud provider (v2 only): `AWS`.
    #[serde(default)]
    pub cloud_provider: Option<String>,
    /// The region (v2 only) as Atlas names it, such as `US_EAST_1` or `ASIA_SOUTH_EAST`.
    #[serde(default)]
    pub region_name: Option<String>,
    /// Azure: the Private Link Service's name, `pls_<24 hex>`; null while INITIATING.
    #[serde(default)]
    pub private_link_service_name: Option<String>,
    /// Azure: the Private Link Service's resource id, what an `azurerm_private_endpoint`
    /// connects to; null while INITIATING.
    #[serde(default)]
    pub private_link_service_resource_id: Option<String>,
    /// Azure: the resource ids of the private endpoints attached, in Atlas's order.
    #[serde(default)]
    pub private_endpoints: Option<Vec<String>>,
    /// GCP: the endpoint groups attached, in Atlas's order.
    #[serde(default)]
    pub endpoint_group_names: Option<Vec<String>>,
    /// GCP: the service attachments a forwarding rule targets. Recorded answers have no
    /// `https://` scheme, unlike the specification's pattern; passed through as sent.
    #[serde(default)]
    pub service_attachment_names: Option<Vec<String>>,
    /// GCP: whether the service uses port mapping (one forwarding rule for every node).
    #[serde(default)]
    pub port_mapping_enabled: Option<bool>,
}

impl PrivateLink {
    /// The ids of the endpoints attached, for `cloud`: AWS `interfaceEndpoints`, Azure
    /// `privateEndpoints`, GCP `endpointGroupNames`; empty when Atlas sends none.
    pub fn endpoint_ids(&self, cloud: CloudProvider) -> &[String] {
        let listed = match cloud {
            CloudProvider::Aws => &self.interface_endpoints,
            CloudProvider::Azure => &self.private_endpoints,
            CloudProvider::Gcp => &self.endpoint_group_names,
        };
        listed.as_deref().unwrap_or_default()
    }
}

impl AtlasClient {
    /// Reads one private endpoint service of `cloud`: AWS on the routes `api_version` selects,
    /// Azure and GCP on v2 (the v1.0 routes never served them).
    pub async fn read_endpoint_service(
        &self,
        id: &PrivateLinkId,
        cloud: CloudProvider,
    ) -> Result<PrivateLink, AtlasError> {
        match cloud {
            CloudProvider::Aws => self.read_private_link(id).await,
            CloudProvider::Azure | CloudProvider::Gcp => {
                let resource = Resource {
                    legacy: Vec::new(),
                    versioned: vec![
                        "groups",
                        &id.project_id,
                        "privateEndpoint",
                        cloud.as_str(),
                        "endpointService",
                        &id.private_link_id,
                    ],
                };
                self.get_versioned_resource(&resource, cloud.private_endpoints_name())
                    .await
            }
        }
    }

    /// Reads one AWS private link.
    pub async fn read_private_link(&self, id: &PrivateLinkId) -> Result<PrivateLink, AtlasError> {
        self.get_resource(&Resource {
            legacy: vec![
                "groups",
                &id.project_id,
                "privateEndpoint",
                &id.private_link_id,
            ],
            versioned: vec![
                "groups",
                &id.project_id,
                "privateEndpoint",
                "AWS",
                "endpointService",
                &id.private_link_id,
            ],
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Recorded by MongoDB's CLI e2e tests (docs/atlas-api.md, shared note): an AVAILABLE Azure
    /// service, and the INITIATING shape whose service name and resource id are null.
    #[test]
    fn azure_bodies_decode_with_nulls_while_initiating() {
        let body = r#"{"cloudProvider":"AZURE","errorMessage":null,"id":"6a794010c0eb9e7a17719674","privateEndpoints":["/subscriptions/0b8b3b9e-1111-4c1b-9d3e-2f6a0c1d2e3f/resourceGroups/rg/providers/Microsoft.Network/privateEndpoints/pe-1"],"privateLinkServiceName":"pls_6a794010c0eb9e7a17719674","privateLinkServiceResourceId":"/subscriptions/0b8b3b9e-1111-4c1b-9d3e-2f6a0c1d2e3f/resourceGroups/rg_atlas/providers/Microsoft.Network/privateLinkServices/pls_6a794010c0eb9e7a17719674","regionName":"ASIA_SOUTH_EAST","status":"AVAILABLE"}"#;
        let link: PrivateLink = serde_json::from_str(body).unwrap();
        assert_eq!(
            link.private_link_service_name.as_deref(),
            Some("pls_6a794010c0eb9e7a17719674")
        );
        assert!(
            link.private_link_service_resource_id
                .as_deref()
                .is_some_and(|id| id.ends_with("/privateLinkServices/pls_6a794010c0eb9e7a17719674"))
        );
        assert_eq!(link.endpoint_ids(CloudProvider::Azure).len(), 1);
        assert!(link.endpoint_ids(CloudProvider::Aws).is_empty());
        assert_eq!(link.region_name.as_deref(), Some("ASIA_SOUTH_EAST"));

        let initiating = r#"{"cloudProvider":"AZURE","errorMessage":null,"id":"6a794010c0eb9e7a17719674","privateEndpoints":[],"privateLinkServiceName":null,"privateLinkServiceResourceId":null,"regionName":"ASIA_SOUTH_EAST","status":"INITIATING"}"#;
        let link: PrivateLink = serde_json::from_str(initiating).unwrap();
        assert_eq!(link.status, "INITIATING");
        assert_eq!(link.private_link_service_name, None);
        assert_eq!(link.private_link_service_resource_id, None);
        assert_eq!(link.endpoint_ids(CloudProvider::Azure), &[] as &[String]);
    }

    #[test]
    fn gcp_body_decodes_service_attachments_without_scheme_and_unknown_status() {
        let body = r#"{"cloudProvider":"GCP","endpointGroupNames":["atlas-group-1"],"errorMessage":null,"id":"6a7940612c88faeba59bf3c4","portMappingEnabled":false,"regionName":"US_EAST_4","serviceAttachmentNames":["projects/p-v5pc0a1b2c3d4e5f6a7b8c9d0e/regions/us-east4/serviceAttachments/sa-us-east4-6a7940612c88faeba59bf3c4-0"],"status":"PAUSED_BY_GOOGLE","anotherNewKey":[1,2]}"#;
        let link: PrivateLink = serde_json::from_str(body).unwrap();
        assert_eq!(link.status, "PAUSED_BY_GOOGLE");
        assert_eq!(link.port_mapping_enabled, Some(false));
        assert_eq!(link.endpoint_ids(CloudProvider::Gcp), ["atlas-group-1"]);
        assert!(link.service_attachment_names.as_ref().unwrap()[0].starts_with("projects/"));
        assert_eq!(link.endpoint_service_name, None);
    }

    #[test]
    fn v1_body_decodes_without_region() {
        let body = r#"{"id":"6a1a2b3c4d5e6f7a8b9c0d1e","endpointServiceName":"com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0","errorMessage":null,"interfaceEndpoints":["vpce-0a0000000000000a1","vpce-0b0000000000000b2"],"status":"AVAILABLE"}"#;
        let link: PrivateLink = serde_json::from_str(body).unwrap();
        assert_eq!(link.status, "AVAILABLE");
        assert_eq!(
            link.interface_endpoints.as_deref(),
            Some(
                &[
                    "vpce-0a0000000000000a1".to_owned(),
                    "vpce-0b0000000000000b2".to_owned()
                ][..]
            )
        );
        assert_eq!(link.region_name, None);
        assert_eq!(link.error_message, None);
    }

    #[test]
    fn v2_body_adds_provider_and_region() {
        let body = r#"{"cloudProvider":"AWS","id":"6a1a2b3c4d5e6f7a8b9c0d1e","endpointServiceName":null,"errorMessage":"quota","interfaceEndpoints":[],"regionName":"US_EAST_1","status":"FAILED","newField":1}"#;
        let link: PrivateLink = serde_json::from_str(body).unwrap();
        assert_eq!(link.region_name.as_deref(), Some("US_EAST_1"));
        assert_eq!(link.cloud_provider.as_deref(), Some("AWS"));
        assert_eq!(link.endpoint_service_name, None);
        assert_eq!(link.error_message.as_deref(), Some("quota"));
    }

    #[test]
    fn missing_optional_fields_are_none_and_missing_status_is_named() {
        let link: PrivateLink = serde_json::from_str(r#"{"status":"INITIATING"}"#).unwrap();
        assert_eq!(link.interface_endpoints, None);
        assert_eq!(link.id, None);
        let error = serde_json::from_str::<PrivateLink>(r#"{"id":"x"}"#).unwrap_err();
        assert!(error.to_string().contains("status"), "{error}");
    }
}
