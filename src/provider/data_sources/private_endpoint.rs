//! `atlas_private_endpoint`: one private endpoint of a private endpoint service on AWS, Azure or
//! Google Cloud, with the one `status` an assertion reads on every cloud.

use serde::{Deserialize, Serialize};

use super::clouds::{self, ENDPOINT_ID, EndpointAttributes, cloud_of, point_not_found};
use super::private_link as link;
use super::status_wait::{self, WaitConfig};
use super::{DataSource, ReadContext};
use super::{PRIVATE_LINK_ID, PROJECT_ID};
use crate::atlas::{AtlasId, PrivateEndpointId};
use crate::provider::atlas_errors::{ReadTarget, diagnostic_for};
use crate::provider::diagnostics::{Diagnostic, Diagnostics};
use crate::provider::schema::{Attribute, AttributeType, Schema};

/// The attribute of each id a "not found" may name. Atlas's codes for Azure and Google Cloud
/// are undocumented, so a 404 that names none points at `endpoint_id` ([`point_not_found`]).
const NOT_FOUND: &[(AtlasId, &str)] = &[
    (AtlasId::Project, PROJECT_ID),
    (AtlasId::EndpointService, PRIVATE_LINK_ID),
    (AtlasId::Endpoint, ENDPOINT_ID),
];

pub struct PrivateEndpointDataSource;

#[derive(Deserialize)]
pub struct Config {
    project_id: String,
    private_link_id: String,
    cloud_provider: String,
    endpoint_id: String,
    #[serde(flatten)]
    wait: WaitConfig,
}

#[derive(Debug, Serialize)]
pub struct State {
    #[serde(flatten)]
    endpoint: EndpointAttributes,
    id: String,
}

#[async_trait::async_trait]
impl DataSource for PrivateEndpointDataSource {
    type Config = Config;
    type State = State;
    const NAME: &'static str = "private_endpoint";
    const WHAT: &'static str = "private endpoint";

    fn schema(&self) -> Schema {
        let mut attributes = Vec::from(link::id_attributes());
        attributes.push(clouds::cloud_provider_attribute(true));
        attributes.push(clouds::endpoint_id_attribute());
        attributes.extend(clouds::endpoint_attributes());
        attributes.push(Attribute::computed(
            "id",
            AttributeType::String,
            "`<project_id>/<private_link_id>/<endpoint_id>`.",
        ));
        attributes.extend(status_wait::attributes_chosen_by(
            clouds::WAIT_FOR_STATUS_DESCRIPTION,
            clouds::endpoint_rules_in,
        ));
        Schema {
            description: "Reads one private endpoint of an Atlas private endpoint service on AWS, Azure or Google \
                          Cloud: its `status` (the one attribute an assertion reads on every cloud), the error \
                          Atlas reports on it, and what its cloud tells about it (Azure's IP address and \
                          connection, Google Cloud's forwarding rules). Use it in `check` blocks and \
                          `postcondition`s to assert at plan time that the endpoint is `AVAILABLE`, or wait \
                          until it is.",
            attributes,
        }
    }

    async fn read(&self, config: Config, context: &ReadContext<'_>) -> Result<State, Diagnostics> {
        let cloud = cloud_of(Some(&config.cloud_provider));
        let id = PrivateEndpointId::new(
            &config.project_id,
            &config.private_link_id,
            cloud,
            &config.endpoint_id,
        )
        .map_err(|problem| {
            Diagnostic::error(
                "Invalid Endpoint ID",
                format!("`{ENDPOINT_ID}` cannot be sent to Atlas: {problem}."),
            )
            .on(ENDPOINT_ID)
        })?;
        let target = ReadTarget {
            what: Self::WHAT,
            ids: vec![
                (PROJECT_ID, id.project_id()),
                (PRIVATE_LINK_ID, id.private_link_id()),
                (ENDPOINT_ID, id.endpoint_id()),
            ],
            attributes: NOT_FOUND,
        };
        let endpoint = status_wait::read_or_wait(
            clouds::endpoint_rules(cloud),
            &config.wait,
            || context.client.read_private_endpoint(&id),
            |error| {
                let diagnostic = diagnostic_for(&error, &target, context.key);
                point_not_found(&error, diagnostic, cloud, ENDPOINT_ID)
            },
        )
        .await?;
        Ok(State {
            endpoint: endpoint.into(),
            id: id.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::atlas::{CloudProvider, PrivateEndpoint};
    use crate::provider::data_sources::RegisteredDataSource;
    use crate::provider::value::Value;

    const AZURE_ID: &str = "/subscriptions/0b8b3b9e-1111-4c1b-9d3e-2f6a0c1d2e3f/resourceGroups/rg-app/providers/Microsoft.Network/privateEndpoints/pe-atlas";

    fn config(cloud: &str, endpoint: &str, wait: Option<&str>) -> Value {
        Value::Object(
            [
                (PROJECT_ID, Value::String("5f1a2b3c4d5e6f7a8b9c0d1e".into())),
                (
                    PRIVATE_LINK_ID,
                    Value::String("6a1a2b3c4d5e6f7a8b9c0d1e".into()),
                ),
                ("cloud_provider", Value::String(cloud.into())),
                (ENDPOINT_ID, Value::String(endpoint.into())),
                (
                    "wait_for_status",
                    wait.map_or(Value::Null, |status| {
                        Value::List(vec![Value::String(status.into())])
                    }),
                ),
            ]
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value))
            .collect(),
        )
    }

    fn problems(config: &Value) -> Vec<(String, String)> {
        RegisteredDataSource::new(PrivateEndpointDataSource)
            .validate(config)
            .into_iter()
            .map(|d| (d.attribute.unwrap_or_default(), d.summary))
            .collect()
    }

    #[test]
    fn each_cloud_checks_its_own_endpoint_id_and_statuses() {
        assert!(problems(&config("AZURE", AZURE_ID, Some("FAILED"))).is_empty());
        assert!(problems(&config("GCP", "atlas-group-1", Some("VERIFIED"))).is_empty());
        assert!(problems(&config("AWS", "vpce-08fb7e9319909ec7b", Some("PENDING"))).is_empty());
        assert_eq!(
            problems(&config("AZURE", "vpce-08fb7e9319909ec7b", Some("PENDING"))),
            [
                (ENDPOINT_ID.to_owned(), "Invalid Endpoint ID".to_owned()),
                (
                    "wait_for_status".to_owned(),
                    "Unknown Status in Wait For Status".to_owned()
                )
            ]
        );
        assert_eq!(
            problems(&config("GCP", "", None)),
            [(ENDPOINT_ID.to_owned(), "Invalid Endpoint ID".to_owned())]
        );
        assert_eq!(
            problems(&config("azure", AZURE_ID, None)),
            [(
                "cloud_provider".to_owned(),
                "Invalid Cloud Provider".to_owned()
            )]
        );
    }

    #[test]
    fn a_gcp_state_has_its_forwarding_rules_and_null_azure_and_aws_attributes() {
        let group = serde_json::from_str(
            r#"{"cloudProvider":"GCP","deleteRequested":false,"endpointGroupName":"atlas-group-1","endpoints":[{"endpointName":"atlas-group-1-0","ipAddress":"10.142.0.2","status":"AVAILABLE"}],"errorMessage":null,"gcpProjectId":"customer-project-1","portMappingEnabled":false,"status":"AVAILABLE"}"#,
        )
        .unwrap();
        let id = PrivateEndpointId::new("p", "l", CloudProvider::Gcp, "atlas-group-1").unwrap();
        let state = State {
            endpoint: PrivateEndpoint::Gcp(group).into(),
            id: id.to_string(),
        };
        let computed = Value::from_json(serde_json::to_value(state).unwrap());
        let state = PrivateEndpointDataSource
            .schema()
            .state(&config("GCP", "atlas-group-1", None), &computed)
            .unwrap();
        assert_eq!(state.attribute("status").as_str(), Some("AVAILABLE"));
        assert_eq!(
            state.attribute("gcp_project_id").as_str(),
            Some("customer-project-1")
        );
        let Value::List(rules) = state.attribute("endpoints") else {
            panic!("{state:?}")
        };
        assert_eq!(
            rules[0].attribute("ip_address").as_str(),
            Some("10.142.0.2")
        );
        assert_eq!(state.attribute("private_endpoint_ip_address"), &Value::Null);
        assert_eq!(state.attribute("interface_endpoint_id"), &Value::Null);
        assert_eq!(state.attribute("id").as_str(), Some("p/l/atlas-group-1"));
    }
}
