//! One private endpoint of a private endpoint service, on any cloud:
//! `GET /api/atlas/v2/groups/{project}/privateEndpoint/{cloudProvider}/endpointService/{privateLinkId}/endpoint/{endpointId}`
//! (`getPrivateEndpoint` in Atlas's OpenAPI specification, mongodb/openapi
//! `openapi/v2/openapi-2023-01-01.yaml`; the body is `PrivateLinkEndpoint`, one of
//! `AWSInterfaceEndpoint`, `AzurePrivateEndpoint`, `PrivateGCPEndpointGroup` by
//! `cloudProvider`). AWS is also read on the v1.0 route; Azure and GCP never were.
//!
//! The endpoint id goes into the path as ONE segment, percent-encoded once by the URL builder:
//! an Azure id `/subscriptions/…/privateEndpoints/pe-1` is sent as `%2Fsubscriptions%2F…`. The
//! specification says "You must URL encode the endpointId for Azure"; MongoDB's Go SDK does it
//! with `url.PathEscape`, and the official provider's `privatelink_endpoint_service` data source
//! (mongodb/terraform-provider-mongodbatlas) passes the raw resource id to it. An id that
//! already holds a `%` would arrive encoded twice, so it is refused here, before any request.

use std::fmt;

use serde::Deserialize;

use super::routes::Resource;
use super::{AtlasClient, AtlasError, CloudProvider, InterfaceEndpoint};

/// Which endpoint to read; built only through [`PrivateEndpointId::new`], which refuses an id
/// that cannot be sent as it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrivateEndpointId {
    project_id: String,
    private_link_id: String,
    cloud: CloudProvider,
    endpoint_id: String,
}

/// Why an endpoint id cannot be sent.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EndpointIdError {
    #[error("the endpoint id is empty")]
    Empty,
    /// Atlas decodes the segment once; a `%` in the raw id would make it decode to another id.
    #[error(
        "the Azure endpoint id holds a `%`: give the raw resource id (`/subscriptions/…`); the provider encodes it"
    )]
    AlreadyEncoded,
}

impl PrivateEndpointId {
    pub fn new(
        project_id: impl Into<String>,
        private_link_id: impl Into<String>,
        cloud: CloudProvider,
        endpoint_id: impl Into<String>,
    ) -> Result<Self, EndpointIdError> {
        let endpoint_id = endpoint_id.into();
        if endpoint_id.is_empty() {
            return Err(EndpointIdError::Empty);
        }
        if cloud == CloudProvider::Azure && endpoint_id.contains('%') {
            return Err(EndpointIdError::AlreadyEncoded);
        }
        Ok(Self {
            project_id: project_id.into(),
            private_link_id: private_link_id.into(),
            cloud,
            endpoint_id,
        })
    }

    pub fn project_id(&self) -> &str {
        &self.project_id
    }

    pub fn private_link_id(&self) -> &str {
        &self.private_link_id
    }

    pub fn cloud(&self) -> CloudProvider {
        self.cloud
    }

    /// The id as given: raw, not encoded.
    pub fn endpoint_id(&self) -> &str {
        &self.endpoint_id
    }

    fn resource(&self) -> Resource<'_> {
        let versioned = vec![
            "groups",
            self.project_id.as_str(),
            "privateEndpoint",
            self.cloud.as_str(),
            "endpointService",
            self.private_link_id.as_str(),
            "endpoint",
            self.endpoint_id.as_str(),
        ];
        let legacy = match self.cloud {
            CloudProvider::Aws => vec![
                "groups",
                self.project_id.as_str(),
                "privateEndpoint",
                self.private_link_id.as_str(),
                "interfaceEndpoints",
                self.endpoint_id.as_str(),
            ],
            CloudProvider::Azure | CloudProvider::Gcp => Vec::new(),
        };
        Resource { legacy, versioned }
    }
}

impl fmt::Display for PrivateEndpointId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "{}/{}/{}",
            self.project_id, self.private_link_id, self.endpoint_id
        )
    }
}

/// `AzurePrivateEndpoint`: every field but `status` optional, as the specification marks them
/// (and `privateEndpointConnectionName` is null until Azure names the connection).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AzurePrivateEndpoint {
    /// INITIATING, AVAILABLE, FAILED, DELETING, or a value Atlas adds later.
    pub status: String,
    #[serde(default)]
    pub private_endpoint_resource_id: Option<String>,
    /// The key is spelled `privateEndpointIPAddress` (capital IP), not camel case.
    #[serde(default, rename = "privateEndpointIPAddress")]
    pub private_endpoint_ip_address: Option<String>,
    #[serde(default)]
    pub private_endpoint_connection_name: Option<String>,
    #[serde(default)]
    pub error_message: Option<String>,
    #[serde(default)]
    pub delete_requested: Option<bool>,
}

/// `PrivateGCPEndpointGroup`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GcpEndpointGroup {
    /// INITIATING, VERIFIED, AVAILABLE, FAILED, DELETING, DELETED, or a value Atlas adds later.
    pub status: String,
    #[serde(default)]
    pub endpoint_group_name: Option<String>,
    #[serde(default)]
    pub gcp_project_id: Option<String>,
    #[serde(default)]
    pub port_mapping_enabled: Option<bool>,
    /// The group's forwarding rules, in Atlas's order.
    #[serde(default)]
    pub endpoints: Option<Vec<GcpForwardingRule>>,
    #[serde(default)]
    pub error_message: Option<String>,
    #[serde(default)]
    pub delete_requested: Option<bool>,
}

/// `GCPConsumerForwardingRule`: one forwarding rule of a GCP endpoint group.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GcpForwardingRule {
    #[serde(default)]
    pub endpoint_name: Option<String>,
    #[serde(default)]
    pub ip_address: Option<String>,
    /// INITIATING, AVAILABLE, FAILED, DELETING, or a value Atlas adds later.
    #[serde(default)]
    pub status: Option<String>,
}

/// One endpoint as its cloud's body describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PrivateEndpoint {
    Aws(InterfaceEndpoint),
    Azure(AzurePrivateEndpoint),
    Gcp(GcpEndpointGroup),
}

impl PrivateEndpoint {
    /// The one status an assertion reads: AWS `connectionStatus`, else `status`.
    pub fn status(&self) -> &str {
        match self {
            PrivateEndpoint::Aws(endpoint) => &endpoint.connection_status,
            PrivateEndpoint::Azure(endpoint) => &endpoint.status,
            PrivateEndpoint::Gcp(group) => &group.status,
        }
    }

    pub fn error_message(&self) -> Option<&str> {
        match self {
            PrivateEndpoint::Aws(endpoint) => endpoint.error_message.as_deref(),
            PrivateEndpoint::Azure(endpoint) => endpoint.error_message.as_deref(),
            PrivateEndpoint::Gcp(group) => group.error_message.as_deref(),
        }
    }

    pub fn delete_requested(&self) -> Option<bool> {
        match self {
            PrivateEndpoint::Aws(endpoint) => endpoint.delete_requested,
            PrivateEndpoint::Azure(endpoint) => endpoint.delete_requested,
            PrivateEndpoint::Gcp(group) => group.delete_requested,
        }
    }
}

impl AtlasClient {
    /// Reads one private endpoint: AWS on the routes `api_version` selects, Azure and GCP on v2.
    pub async fn read_private_endpoint(
        &self,
        id: &PrivateEndpointId,
    ) -> Result<PrivateEndpoint, AtlasError> {
        let resource = id.resource();
        match id.cloud {
            CloudProvider::Aws => self.get_resource(&resource).await.map(PrivateEndpoint::Aws),
            CloudProvider::Azure => self
                .get_versioned_resource(&resource, id.cloud.private_endpoints_name())
                .await
                .map(PrivateEndpoint::Azure),
            CloudProvider::Gcp => self
                .get_versioned_resource(&resource, id.cloud.private_endpoints_name())
                .await
                .map(PrivateEndpoint::Gcp),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AZURE_ID: &str = "/subscriptions/0b8b3b9e-1111-4c1b-9d3e-2f6a0c1d2e3f/resourceGroups/rg-app/providers/Microsoft.Network/privateEndpoints/pe-atlas";

    #[test]
    fn azure_body_decodes_with_the_capital_ip_key_and_a_null_connection_name() {
        let body = format!(
            r#"{{"cloudProvider":"AZURE","deleteRequested":false,"errorMessage":null,"privateEndpointConnectionName":null,"privateEndpointIPAddress":"10.0.0.4","privateEndpointResourceId":"{AZURE_ID}","status":"INITIATING","newKey":true}}"#
        );
        let endpoint: AzurePrivateEndpoint = serde_json::from_str(&body).unwrap();
        assert_eq!(endpoint.status, "INITIATING");
        assert_eq!(
            endpoint.private_endpoint_ip_address.as_deref(),
            Some("10.0.0.4")
        );
        assert_eq!(endpoint.private_endpoint_connection_name, None);
        assert_eq!(
            endpoint.private_endpoint_resource_id.as_deref(),
            Some(AZURE_ID)
        );
        assert_eq!(endpoint.delete_requested, Some(false));
    }

    #[test]
    fn gcp_body_decodes_its_forwarding_rules_and_passes_unknown_statuses() {
        let body = r#"{"cloudProvider":"GCP","deleteRequested":false,"endpointGroupName":"atlas-group-1","endpoints":[{"endpointName":"atlas-group-1-0","ipAddress":"10.142.0.2","status":"AVAILABLE"},{"endpointName":"atlas-group-1-1","ipAddress":null,"status":"QUARANTINED"}],"errorMessage":null,"gcpProjectId":"customer-project-1","portMappingEnabled":false,"status":"VERIFIED"}"#;
        let group: GcpEndpointGroup = serde_json::from_str(body).unwrap();
        assert_eq!(group.status, "VERIFIED");
        assert_eq!(group.gcp_project_id.as_deref(), Some("customer-project-1"));
        let rules = group.endpoints.unwrap();
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[1].status.as_deref(), Some("QUARANTINED"));
        assert_eq!(rules[1].ip_address, None);
    }

    #[test]
    fn bodies_without_a_status_are_refused_naming_it() {
        for body in [
            r#"{"cloudProvider":"AZURE"}"#,
            r#"{"endpointGroupName":"g"}"#,
        ] {
            let azure = serde_json::from_str::<AzurePrivateEndpoint>(body).unwrap_err();
            let gcp = serde_json::from_str::<GcpEndpointGroup>(body).unwrap_err();
            assert!(azure.to_string().contains("status"), "{azure}");
            assert!(gcp.to_string().contains("status"), "{gcp}");
        }
    }

    #[test]
    fn the_status_an_assertion_reads_is_connection_status_on_aws_only() {
        let aws: InterfaceEndpoint = serde_json::from_str(
            r#"{"interfaceEndpointId":"vpce-08fb7e9319909ec7b","connectionStatus":"PENDING_ACCEPTANCE"}"#,
        )
        .unwrap();
        assert_eq!(PrivateEndpoint::Aws(aws).status(), "PENDING_ACCEPTANCE");
        let gcp: GcpEndpointGroup = serde_json::from_str(r#"{"status":"DELETED"}"#).unwrap();
        assert_eq!(PrivateEndpoint::Gcp(gcp).status(), "DELETED");
    }

    #[test]
    fn an_azure_id_that_is_already_encoded_or_empty_is_refused() {
        let encoded = AZURE_ID.replace('/', "%2F");
        assert_eq!(
            PrivateEndpointId::new("p", "l", CloudProvider::Azure, encoded),
            Err(EndpointIdError::AlreadyEncoded)
        );
        assert_eq!(
            PrivateEndpointId::new("p", "l", CloudProvider::Gcp, ""),
            Err(EndpointIdError::Empty)
        );
        assert!(PrivateEndpointId::new("p", "l", CloudProvider::Gcp, "group%1").is_ok());
    }

    fn client(api_version: crate::atlas::ApiVersion) -> AtlasClient {
        // Nothing listens on port 9 of this host: a request would fail as a transport error.
        AtlasClient::new(crate::atlas::ClientSettings {
            base_url: url::Url::parse("http://127.0.0.1:9").unwrap(),
            credentials: crate::atlas::Credentials::ApiKey {
                public_key: "abcdefgh".into(),
                private_key: "secret".into(),
            },
            api_version,
            user_agent: "test".into(),
            request_timeout: std::time::Duration::from_secs(5),
            connect_timeout: std::time::Duration::from_secs(5),
            retry: crate::atlas::RetryPolicy::with_max_retries(0),
            extra_roots: Vec::new(),
        })
        .unwrap()
    }

    #[test]
    fn the_azure_id_is_one_path_segment_encoded_once() {
        let id = PrivateEndpointId::new(
            "5f1a2b3c4d5e6f7a8b9c0d1e",
            "6a794010c0eb9e7a17719674",
            CloudProvider::Azure,
            AZURE_ID,
        )
        .unwrap();
        let url = client(crate::atlas::ApiVersion::Auto).url(
            super::super::RouteFamily::Versioned,
            &id.resource().versioned,
        );
        assert_eq!(
            url.path(),
            "/api/atlas/v2/groups/5f1a2b3c4d5e6f7a8b9c0d1e/privateEndpoint/AZURE/endpointService/\
             6a794010c0eb9e7a17719674/endpoint/%2Fsubscriptions%2F0b8b3b9e-1111-4c1b-9d3e-2f6a0c1d2e3f%2F\
             resourceGroups%2Frg-app%2Fproviders%2FMicrosoft.Network%2FprivateEndpoints%2Fpe-atlas"
        );
        let last = url.path_segments().unwrap().next_back().unwrap();
        let decoded = percent_encoding::percent_decode_str(last)
            .decode_utf8()
            .unwrap();
        assert_eq!(decoded, AZURE_ID, "one decoding gives the raw id back");
    }

    #[tokio::test]
    async fn azure_and_gcp_with_api_version_v1_send_nothing() {
        let client = client(crate::atlas::ApiVersion::Legacy);
        for (cloud, endpoint) in [
            (CloudProvider::Azure, AZURE_ID),
            (CloudProvider::Gcp, "group-1"),
        ] {
            let id = PrivateEndpointId::new("p", "l", cloud, endpoint).unwrap();
            let error = client.read_private_endpoint(&id).await.unwrap_err();
            assert!(matches!(error, AtlasError::OnlyOnV2 { .. }), "{error:?}");
            let link = crate::atlas::PrivateLinkId {
                project_id: "p".into(),
                private_link_id: "l".into(),
            };
            let error = client
                .read_endpoint_service(&link, cloud)
                .await
                .unwrap_err();
            assert!(matches!(error, AtlasError::OnlyOnV2 { .. }), "{error:?}");
        }
    }

    #[test]
    fn aws_keeps_both_routes_and_the_others_have_v2_only() {
        let aws =
            PrivateEndpointId::new("p", "l", CloudProvider::Aws, "vpce-08fb7e9319909ec7b").unwrap();
        assert_eq!(
            aws.resource().legacy,
            [
                "groups",
                "p",
                "privateEndpoint",
                "l",
                "interfaceEndpoints",
                "vpce-08fb7e9319909ec7b"
            ]
        );
        let gcp = PrivateEndpointId::new("p", "l", CloudProvider::Gcp, "group-1").unwrap();
        assert!(gcp.resource().legacy.is_empty());
        assert_eq!(gcp.resource().versioned[3], "GCP");
    }
}
