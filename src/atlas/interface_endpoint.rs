//! One AWS PrivateLink interface endpoint:
//! `GET /api/atlas/v1.0/groups/{project}/privateEndpoint/{privateLinkId}/interfaceEndpoints/{id}`.

use serde::Deserialize;

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

/// What Atlas says about the endpoint. Fields Atlas adds later are ignored.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InterfaceEndpoint {
    /// The endpoint's id as Atlas knows it.
    #[serde(default)]
    pub interface_endpoint_id: Option<String>,
    /// `NONE`, `PENDING_ACCEPTANCE`, `PENDING`, `AVAILABLE`, `REJECTED`, `DELETING`, or a value
    /// Atlas adds later, passed through unchanged.
    pub connection_status: String,
    /// The error on this endpoint; `None` when Atlas says null.
    #[serde(default)]
    pub error_message: Option<String>,
    /// Whether Atlas has been asked to remove the endpoint.
    pub delete_requested: bool,
}

impl AtlasClient {
    /// Reads one interface endpoint.
    pub async fn read_interface_endpoint(
        &self,
        id: &InterfaceEndpointId,
    ) -> Result<InterfaceEndpoint, AtlasError> {
        let url = self.api_url(&[
            "groups",
            &id.project_id,
            "privateEndpoint",
            &id.private_link_id,
            "interfaceEndpoints",
            &id.interface_endpoint_id,
        ]);
        self.get_json(url).await
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
        assert!(!endpoint.delete_requested);
    }

    #[test]
    fn unlisted_status_and_unknown_fields_pass() {
        let body = r#"{"connectionStatus":"DEGRADED","errorMessage":"AWS says no","deleteRequested":true,"newField":{"a":1}}"#;
        let endpoint: InterfaceEndpoint = serde_json::from_str(body).unwrap();
        assert_eq!(endpoint.connection_status, "DEGRADED");
        assert_eq!(endpoint.error_message.as_deref(), Some("AWS says no"));
        assert!(endpoint.delete_requested);
    }

    #[test]
    fn missing_status_is_an_error() {
        assert!(serde_json::from_str::<InterfaceEndpoint>(r#"{"deleteRequested":false}"#).is_err());
    }
}
