//! One AWS PrivateLink connection (Atlas's "endpoint service" for a project and region), on
//! either route family:
//! v1.0 `GET /api/atlas/v1.0/groups/{project}/privateEndpoint/{privateLinkId}`,
//! v2 `GET /api/atlas/v2/groups/{project}/privateEndpoint/AWS/endpointService/{privateLinkId}`
//! (`getPrivateEndpointService` in Atlas's OpenAPI specification, mongodb/openapi
//! `openapi/v2/openapi-2023-01-01.yaml`; the AWS body is `AWSPrivateLinkConnection`).

use serde::Deserialize;

use super::{AtlasClient, AtlasError, Resource};

/// Which private link to read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrivateLinkId {
    /// The Atlas project ("group") id.
    pub project_id: String,
    /// The id of the project's AWS PrivateLink connection (the endpoint service).
    pub private_link_id: String,
}

/// What Atlas says about the private link; the v1.0 body (`id`, `endpointServiceName`,
/// `errorMessage`, `interfaceEndpoints`, `status`) and the v2 body (the same and `cloudProvider`,
/// `regionName`) both decode into it. Fields Atlas adds later are ignored; an optional field
/// that is missing or null is `None`. Only `status` is needed: without it the body cannot be
/// used, and the decoding error names it.
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
    /// The AWS region (v2 only), such as `US_EAST_1`.
    #[serde(default)]
    pub region_name: Option<String>,
}

impl AtlasClient {
    /// Reads one private link.
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
