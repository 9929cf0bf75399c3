//! `atlas_private_endpoints`: every private endpoint of a private endpoint service on AWS, Azure
//! or Google Cloud, in Atlas's order, so that one assertion can cover all of them.
//!
//! Read as `atlas_interface_endpoints` reads AWS's, through the same
//! [`ListedEndpoints`](super::listed_endpoints): one read of the service gives the endpoint ids
//! (AWS `interfaceEndpoints`, Azure `privateEndpoints`, Google Cloud `endpointGroupNames`), each
//! checked as an `endpoint_id` argument is and read once, at most four at a time, the list
//! bounded in total. An endpoint removed between the two reads (a 404 whatever its code, unless
//! the code names the project or the service) is left out and logged.

use serde::{Deserialize, Serialize};

use super::clouds::{self, ENDPOINT_ID, EndpointAttributes, cloud_of, point_not_found};
use super::listed_endpoints::{ListedEndpoint, ListedEndpoints, MAX_LIST_BYTES};
use super::private_link as link;
use super::{DataSource, ReadContext};
use super::{PRIVATE_LINK_ID, PROJECT_ID};
use crate::atlas::{
    AtlasError, AtlasId, CloudProvider, ErrorKind, PrivateEndpoint, PrivateEndpointId,
    PrivateLinkId,
};
use crate::logging;
use crate::provider::atlas_errors::{ReadTarget, diagnostic_for};
use crate::provider::diagnostics::{Diagnostic, Diagnostics};
use crate::provider::schema::{Attribute, AttributeType, Schema};

pub struct PrivateEndpointsDataSource;

#[derive(Deserialize)]
pub struct Config {
    project_id: String,
    private_link_id: String,
    cloud_provider: String,
}

#[derive(Debug, Serialize)]
pub struct State {
    endpoints: Vec<ListedPrivateEndpoint>,
    id: String,
}

#[derive(Debug, Serialize)]
struct ListedPrivateEndpoint {
    endpoint_id: String,
    #[serde(flatten)]
    attributes: EndpointAttributes,
    /// The id the answer gives, when it is another endpoint's.
    #[serde(skip)]
    answered_for: Option<String>,
}

impl ListedEndpoint for ListedPrivateEndpoint {
    fn answered_id(&self) -> &str {
        self.answered_for.as_deref().unwrap_or(&self.endpoint_id)
    }
    fn held_bytes(&self) -> usize {
        self.endpoint_id.len() + self.attributes.held_bytes()
    }
}

#[async_trait::async_trait]
impl DataSource for PrivateEndpointsDataSource {
    type Config = Config;
    type State = State;
    const NAME: &'static str = "private_endpoints";
    const WHAT: &'static str = "private endpoints";

    fn schema(&self) -> Schema {
        let mut attributes = Vec::from(link::id_attributes());
        attributes.push(clouds::cloud_provider_attribute(true));
        let mut item = vec![Attribute::computed(
            ENDPOINT_ID,
            AttributeType::String,
            "The endpoint's id as the service lists it: AWS `vpce-…`, Azure the private endpoint's resource \
             id, Google Cloud the endpoint group name.",
        )];
        item.extend(clouds::endpoint_attributes());
        attributes.extend([
            Attribute::computed(
                "endpoints",
                AttributeType::ListOfObject(item),
                format!(
                    "Every endpoint of the private endpoint service, in Atlas's order; empty when there are \
                     none. An endpoint removed while the list was read is left out. Each holds every cloud's \
                     attributes, those of other clouds null. The ids Atlas lists are checked as an \
                     `endpoint_id` argument is: a list holding one of the wrong form fails the read and the \
                     error names it; an id listed twice is read once; an answer about another endpoint than \
                     the one asked for is an error. A list holds at most {} MiB.",
                    MAX_LIST_BYTES / (1024 * 1024)
                ),
            ),
            Attribute::computed(
                "id",
                AttributeType::String,
                "`<project_id>/<private_link_id>`.",
            ),
        ]);
        Schema {
            description: "Reads every private endpoint of an Atlas private endpoint service on AWS, Azure or Google \
                          Cloud at once, in Atlas's order, so that one assertion covers them all: \
                          `alltrue([for e in data.atlas_private_endpoints.this.endpoints : e.status == \
                          \"AVAILABLE\"])`. Reads the service's list of endpoints, then each endpoint, at most 4 \
                          at a time.",
            attributes,
        }
    }

    async fn read(&self, config: Config, context: &ReadContext<'_>) -> Result<State, Diagnostics> {
        let cloud = cloud_of(Some(&config.cloud_provider));
        let id = PrivateLinkId {
            project_id: config.project_id,
            private_link_id: config.private_link_id,
        };
        let service = context
            .client
            .read_endpoint_service(&id, cloud)
            .await
            .map_err(|error| {
                let diagnostic = diagnostic_for(&error, &link::target(&id), context.key);
                point_not_found(&error, diagnostic, cloud, PRIVATE_LINK_ID)
            })?;
        let list = ListedEndpoints {
            what: "private endpoint",
            private_link_id: &id.private_link_id,
            expected_shape: expected_shape(cloud),
            has_shape: has_shape(cloud),
            single_data_source: "atlas_private_endpoint",
        };
        let ids = list.checked_ids(service.endpoint_ids(cloud).to_vec())?;
        let endpoints = list
            .read_each(ids, |endpoint_id| {
                let id = &id;
                async move { read_endpoint(id, cloud, endpoint_id, context).await }
            })
            .await?;
        Ok(State {
            endpoints,
            id: format!("{}/{}", id.project_id, id.private_link_id),
        })
    }
}

/// One listed endpoint; `None` when it was removed after the list was read.
async fn read_endpoint(
    link_id: &PrivateLinkId,
    cloud: CloudProvider,
    endpoint_id: String,
    context: &ReadContext<'_>,
) -> Result<Option<ListedPrivateEndpoint>, Diagnostics> {
    // The listed ids passed the same check as an `endpoint_id` argument, which PrivateEndpointId
    // also makes; a refusal here would be our bug.
    let endpoint = PrivateEndpointId::new(
        &link_id.project_id,
        &link_id.private_link_id,
        cloud,
        &endpoint_id,
    )
    .map_err(|problem| {
        Diagnostic::error(
            "Provider Bug",
            format!(
                "The listed endpoint id {endpoint_id:?} passed the shape check but cannot be sent: {problem}. \
                 Please report this issue."
            ),
        )
    })?;
    match context.client.read_private_endpoint(&endpoint).await {
        Ok(found) => Ok(Some(ListedPrivateEndpoint {
            answered_for: answered_for(cloud, &endpoint_id, &found),
            endpoint_id,
            attributes: EndpointAttributes::from(found).with_cut_error_message(),
        })),
        Err(error) if vanished(&error) => {
            logging::warn(
                "private endpoint listed by the private endpoint service is gone; left out",
                &[
                    ("cloud_provider", cloud.as_str().into()),
                    ("private_link_id", link_id.private_link_id.clone().into()),
                    ("endpoint_id", endpoint_id.into()),
                ],
            );
            Ok(None)
        }
        Err(error) => {
            let target = ReadTarget {
                what: "private endpoint",
                ids: vec![
                    (PROJECT_ID, &link_id.project_id),
                    (PRIVATE_LINK_ID, &link_id.private_link_id),
                    (ENDPOINT_ID, &endpoint_id),
                ],
                // Only the codes that name an argument of this data source.
                attributes: link::ATLAS_IDS,
            };
            Err(diagnostic_for(&error, &target, context.key).into())
        }
    }
}

/// The id an answer gives when it is not the one asked for: AWS `interfaceEndpointId`, Azure
/// `privateEndpointResourceId` (compared without regard to ASCII case, as Azure compares
/// resource ids), Google Cloud `endpointGroupName`. An answer that leaves it out says nothing.
fn answered_for(cloud: CloudProvider, asked: &str, found: &PrivateEndpoint) -> Option<String> {
    let answered = match found {
        PrivateEndpoint::Aws(aws) => Some(aws.interface_endpoint_id.as_str()),
        PrivateEndpoint::Azure(azure) => azure.private_endpoint_resource_id.as_deref(),
        PrivateEndpoint::Gcp(gcp) => gcp.endpoint_group_name.as_deref(),
    }?;
    let same = match cloud {
        CloudProvider::Azure => answered.eq_ignore_ascii_case(asked),
        CloudProvider::Aws | CloudProvider::Gcp => answered == asked,
    };
    (!same).then(|| answered.to_owned())
}

fn has_shape(cloud: CloudProvider) -> fn(&str) -> bool {
    match cloud {
        CloudProvider::Aws => |id| clouds::has_endpoint_id_shape(CloudProvider::Aws, id),
        CloudProvider::Azure => |id| clouds::has_endpoint_id_shape(CloudProvider::Azure, id),
        CloudProvider::Gcp => |id| clouds::has_endpoint_id_shape(CloudProvider::Gcp, id),
    }
}

fn expected_shape(cloud: CloudProvider) -> &'static str {
    match cloud {
        CloudProvider::Aws => "\"vpce-\" followed by 17 hexadecimal characters (0-9, a-f)",
        CloudProvider::Azure => {
            "an Azure private endpoint resource id, /subscriptions/<uuid>/resourceGroups/<group>/providers/\
             Microsoft.Network/privateEndpoints/<name>, without `%`"
        }
        CloudProvider::Gcp => "a non-empty Google Cloud endpoint group name",
    }
}

/// A 404 about the endpoint, whatever its code (Azure's and Google Cloud's are undocumented):
/// it was removed after the list was read. A code that names the project or the service, or a
/// v1.0 route Atlas no longer serves, is not that.
fn vanished(error: &AtlasError) -> bool {
    matches!(error, AtlasError::Api(api)
        if matches!(api.kind(), ErrorKind::NotFound { id: None | Some(AtlasId::Endpoint) }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::atlas::{ApiError, RouteFamily};

    #[test]
    fn a_404_with_any_code_but_the_service_s_is_a_vanished_endpoint() {
        let not_found =
            |code: Option<&str>| AtlasError::Api(ApiError::new(404, code, RouteFamily::Versioned));
        assert!(vanished(&not_found(None)));
        assert!(vanished(&not_found(Some("SOME_UNDOCUMENTED_AZURE_CODE"))));
        assert!(vanished(&not_found(Some("PRIVATE_ENDPOINT_NOT_FOUND"))));
        assert!(!vanished(&not_found(Some(
            "PRIVATE_ENDPOINT_SERVICE_NOT_FOUND"
        ))));
        assert!(!vanished(&not_found(Some("GROUP_NOT_FOUND"))));
        assert!(vanished(&not_found(Some("RESOURCE_NOT_FOUND"))));
        assert!(!vanished(&AtlasError::Api(ApiError::new(
            404,
            Some("RESOURCE_NOT_FOUND"),
            RouteFamily::Legacy
        ))));
        assert!(!vanished(&AtlasError::Api(ApiError::new(
            500,
            None,
            RouteFamily::Versioned
        ))));
    }

    #[test]
    fn an_azure_answer_in_another_case_is_the_same_endpoint_and_another_id_is_not() {
        let asked = "/subscriptions/0b8b3b9e-1111-4c1b-9d3e-2f6a0c1d2e3f/resourceGroups/rg/providers/Microsoft.Network/privateEndpoints/pe-1";
        let answer = |id: &str| {
            PrivateEndpoint::Azure(
                serde_json::from_value(
                    serde_json::json!({"status": "AVAILABLE", "privateEndpointResourceId": id}),
                )
                .unwrap(),
            )
        };
        assert_eq!(
            answered_for(CloudProvider::Azure, asked, &answer(&asked.to_lowercase())),
            None
        );
        let other = asked.replace("pe-1", "pe-2");
        assert_eq!(
            answered_for(CloudProvider::Azure, asked, &answer(&other)),
            Some(other)
        );
        assert!(has_shape(CloudProvider::Azure)(asked));
        assert!(!has_shape(CloudProvider::Gcp)(""));
    }
}
