//! One AWS PrivateLink interface endpoint, on either route family:
//! v1.0 `GET /api/atlas/v1.0/groups/{project}/privateEndpoint/{privateLinkId}/interfaceEndpoints/{id}`,
//! v2 `GET /api/atlas/v2/groups/{project}/privateEndpoint/AWS/endpointService/{privateLinkId}/endpoint/{id}`
//! (`getPrivateEndpoint` in Atlas's OpenAPI specification; the AWS body is `AWSInterfaceEndpoint`:
//! `cloudProvider`, `connectionStatus`, `deleteRequested`, `errorMessage`, `interfaceEndpointId`).

use serde::Deserialize;

use super::routes::Resource;
use super::{AtlasClient, AtlasError};

/// Which endpoint to read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterfaceEndpointId {
    /// The Atlas project ("group") id.
    pub project_id: String,
    /// The id of the project's AWS PrivateLink connection.
    pub private_link_id: String,
    /// The AWS VPC endpoint id, `vpce-…`.
    pub interface_endpoint_id: String,
}

/// What Atlas says about the endpoint; the v1.0 and v2 bodies both decode into it. Fields Atlas
/// adds later are ignored. The v2 specification marks only `cloudProvider` required, so a body
/// without `deleteRequested` or `errorMessage` is read as "not said" (null in Terraform); one
/// without `connectionStatus` or `interfaceEndpointId` cannot be used, and the error names the
/// missing field.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InterfaceEndpoint {
    /// The endpoint's id as Atlas knows it.
    pub interface_endpoint_id: String,
    /// `NONE`, `PENDING_ACCEPTANCE`, `PENDING`, `AVAILABLE`, `REJECTED`, `DELETING`, or a value
    /// Atlas adds later, passed through unchanged.
    pub connection_status: String,
    /// The error on this endpoint; `None` when Atlas says null or leaves it out.
    #[serde(default)]
    pub error_message: Option<String>,
    /// Whether Atlas has been asked to remove the endpoint; `None` when Atlas leaves it out.
    #[serde(default)]
    pub delete_requested: Option<bool>,
}

impl AtlasClient {
    /// Reads one interface endpoint.
    pub async fn read_interface_endpoint(
        &self,
        id: &InterfaceEndpointId,
    ) -> Result<InterfaceEndpoint, AtlasError> {
        self.get_resource(&Resource {
            legacy: vec![
                "groups",
                &id.project_id,
                "privateEndpoint",
                &id.private_link_id,
                "interfaceEndpoints",
                &id.interface_endpoint_id,
            ],
            versioned: vec![
                "groups",
                &id.project_id,
                "privateEndpoint",
                "AWS",
                "endpointService",
                &id.private_link_id,
                "endpoint",
                &id.interface_endpoint_id,
            ],
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_example_decodes() {
        let body = r#"{"interfaceEndpointId":"vpce-08fb7e9319909ec7b","connectionStatus":"PENDING","errorMessage":null,"deleteRequested":false}"#;
        let endpoint: InterfaceEndpoint = serde_json::from_str(body).unwrap();
        assert_eq!(endpoint.connection_status, "PENDING");
        assert_eq!(endpoint.error_message, None);
        assert_eq!(endpoint.delete_requested, Some(false));
    }

    #[test]
    fn v2_body_with_cloud_provider_decodes() {
        let body = r#"{"cloudProvider":"AWS","interfaceEndpointId":"vpce-08fb7e9319909ec7b","connectionStatus":"AVAILABLE","deleteRequested":false}"#;
        let endpoint: InterfaceEndpoint = serde_json::from_str(body).unwrap();
        assert_eq!(endpoint.connection_status, "AVAILABLE");
        assert_eq!(endpoint.error_message, None);
    }

    #[test]
    fn unlisted_status_and_unknown_fields_pass() {
        let body = r#"{"interfaceEndpointId":"vpce-1","connectionStatus":"DEGRADED","errorMessage":"AWS says no","deleteRequested":true,"newField":{"a":1}}"#;
        let endpoint: InterfaceEndpoint = serde_json::from_str(body).unwrap();
        assert_eq!(endpoint.connection_status, "DEGRADED");
        assert_eq!(endpoint.error_message.as_deref(), Some("AWS says no"));
        assert_eq!(endpoint.delete_requested, Some(true));
    }

    #[test]
    fn missing_delete_requested_and_error_message_are_not_said() {
        let body = r#"{"interfaceEndpointId":"vpce-1","connectionStatus":"PENDING"}"#;
        let endpoint: InterfaceEndpoint = serde_json::from_str(body).unwrap();
        assert_eq!(endpoint.delete_requested, None);
        assert_eq!(endpoint.error_message, None);
    }

    #[test]
    fn missing_status_or_id_is_an_error_naming_the_field() {
        let error = serde_json::from_str::<InterfaceEndpoint>(
            r#"{"interfaceEndpointId":"vpce-1","deleteRequested":false}"#,
        )
        .unwrap_err();
        assert!(error.to_string().contains("connectionStatus"), "{error}");
        let error = serde_json::from_str::<InterfaceEndpoint>(r#"{"connectionStatus":"PENDING"}"#)
            .unwrap_err();
        assert!(error.to_string().contains("interfaceEndpointId"), "{error}");
    }
}
