//! `atlas_private_endpoints`: every private endpoint of a private endpoint service on AWS, Azure
//! or Google Cloud, in Atlas's order, so that one assertion can cover all of them.
//!
//! Read as `atlas_interface_endpoints` reads AWS's: one read of the service gives the endpoint
//! ids (AWS `interfaceEndpoints`, Azure `privateEndpoints`, Google Cloud `endpointGroupNames`),
//! each checked as an id in a configuration is and read once, at most [`MAX_IN_FLIGHT`] at a
//! time. An endpoint removed between the two reads (a 404 whatever its code, unless the code
//! names the project or the service) is left out and logged: the list is what Atlas holds now.

use std::collections::HashSet;

use futures_util::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};

use super::clouds::{self, ENDPOINT_ID, EndpointAttributes, cloud_of, point_not_found};
use super::listed_endpoints::MAX_IN_FLIGHT;
use super::private_link::{self as link, PRIVATE_LINK_ID, PROJECT_ID};
use super::{DataSource, ReadContext};
use crate::atlas::{
    AtlasError, CloudProvider, PrivateEndpointId, PrivateLinkId, RouteFamily, route_is_gone,
};
use crate::logging;
use crate::provider::atlas_errors::{ReadTarget, diagnostic_for};
use crate::provider::diagnostics::{Diagnostic, Diagnostics, show_value};
use crate::provider::schema::{Attribute, AttributeType, Schema};

/// The most a list holds, counted as the bytes of its strings: a real list is a few kilobytes,
/// and the bound keeps a broken or hostile answer from making Terraform hold gigabytes.
const MAX_LIST_BYTES: usize = 16 * 1024 * 1024;

pub struct PrivateEndpointsDataSource;

#[derive(Deserialize)]
pub struct Config {
    project_id: String,
    private_link_id: String,
    cloud_provider: String,
}

#[derive(Debug, Serialize)]
pub struct State {
    endpoints: Vec<ListedEndpoint>,
    id: String,
}

#[derive(Debug, Serialize)]
struct ListedEndpoint {
    endpoint_id: String,
    #[serde(flatten)]
    attributes: EndpointAttributes,
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
                "Every endpoint of the private endpoint service, in Atlas's order; empty when there are none. \
                 An endpoint removed while the list was read is left out. Each holds every cloud's \
                 attributes, those of other clouds null.",
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
        let ids = checked_ids(&id, cloud, service.endpoint_ids(cloud))?
            .into_iter()
            .map(|endpoint_id| {
                PrivateEndpointId::new(&id.project_id, &id.private_link_id, cloud, &endpoint_id)
                    .map_err(|problem| unusable(&id, cloud, &endpoint_id, &problem.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut reads = stream::iter(ids)
            .map(|endpoint| async move {
                let read = context.client.read_private_endpoint(&endpoint).await;
                (endpoint.endpoint_id().to_owned(), read)
            })
            .buffered(MAX_IN_FLIGHT);
        let mut endpoints = Vec::new();
        let mut held = 0usize;
        while let Some((endpoint_id, read)) = reads.next().await {
            match read {
                Ok(found) => {
                    let attributes = EndpointAttributes::from(found);
                    held = held.saturating_add(endpoint_id.len() + attributes.held_bytes() + 64);
                    if held > MAX_LIST_BYTES {
                        return Err(too_large(&id, endpoints.len() + 1).into());
                    }
                    endpoints.push(ListedEndpoint {
                        endpoint_id,
                        attributes,
                    });
                }
                Err(error) if vanished(&error) => logging::warn(
                    "private endpoint listed by the private endpoint service is gone; left out",
                    &[
                        ("cloud_provider", cloud.as_str().into()),
                        ("private_link_id", id.private_link_id.clone().into()),
                        ("endpoint_id", endpoint_id.into()),
                    ],
                ),
                Err(error) => {
                    let target = ReadTarget {
                        what: "private endpoint",
                        ids: vec![
                            (PROJECT_ID, &id.project_id),
                            (PRIVATE_LINK_ID, &id.private_link_id),
                            (ENDPOINT_ID, &endpoint_id),
                        ],
                        // Only the codes that name an argument of this data source.
                        not_found_codes: link::NOT_FOUND_CODES,
                    };
                    return Err(diagnostic_for(&error, &target, context.key).into());
                }
            }
        }
        Ok(State {
            endpoints,
            id: format!("{}/{}", id.project_id, id.private_link_id),
        })
    }
}

/// The listed ids as they may be read: each of its cloud's form, each once, in Atlas's order.
/// The ids come from Atlas's answer and go into URLs, so they pass the check an id in a
/// configuration passes; one that fails it fails the read, as leaving it out would let an
/// assertion over the list pass on part of it.
fn checked_ids(
    id: &PrivateLinkId,
    cloud: CloudProvider,
    listed: &[String],
) -> Result<Vec<String>, Diagnostic> {
    if let Some(bad) = listed
        .iter()
        .find(|endpoint| !clouds::has_endpoint_id_shape(cloud, endpoint))
    {
        return Err(unusable(
            id,
            cloud,
            bad,
            &format!("it is not of the form a {cloud} endpoint id has"),
        ));
    }
    let mut seen = HashSet::new();
    Ok(listed
        .iter()
        .filter(|endpoint| seen.insert(endpoint.as_str()))
        .cloned()
        .collect())
}

fn unusable(id: &PrivateLinkId, cloud: CloudProvider, bad: &str, why: &str) -> Diagnostic {
    Diagnostic::error(
        "Atlas Listed an Unusable Id",
        format!(
            "Private endpoint service {} ({cloud}) lists the endpoint id {}: {why}. The provider reads no \
             endpoint of a list that holds an id it cannot use, so that an assertion over the list never \
             passes on part of it. Look at the service in the Atlas UI or API; if the ids there are right, \
             Atlas has changed their form and this provider needs an update: please report this issue.",
            show_value(&id.private_link_id),
            show_value(bad)
        ),
    )
}

/// A 404 about the endpoint, whatever its code (Azure's and Google Cloud's are undocumented):
/// it was removed after the list was read. A code that names the project or the service, or a
/// v1.0 route Atlas no longer serves, is not that.
fn vanished(error: &AtlasError) -> bool {
    matches!(error, AtlasError::Api(api)
    if api.status == 404
        && !(api.route == RouteFamily::Legacy && route_is_gone(api))
        && !api.error_code.as_deref().is_some_and(|code| {
            link::NOT_FOUND_CODES.iter().any(|(known, _)| *known == code)
        }))
}

fn too_large(id: &PrivateLinkId, read: usize) -> Diagnostic {
    Diagnostic::error(
        "Private Endpoint List Too Large",
        format!(
            "The endpoints of private endpoint service {} came to more than {MAX_LIST_BYTES} bytes after {read} \
             of them; a real list is a few kilobytes. Check that `base_url` points at the Atlas Admin API.",
            show_value(&id.private_link_id)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::atlas::ApiError;

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
    fn listed_ids_are_checked_and_read_once() {
        let id = PrivateLinkId {
            project_id: "5f1a2b3c4d5e6f7a8b9c0d1e".into(),
            private_link_id: "6a1a2b3c4d5e6f7a8b9c0d1e".into(),
        };
        let listed = ["g-1".to_owned(), "g-2".to_owned(), "g-1".to_owned()];
        assert_eq!(
            checked_ids(&id, CloudProvider::Gcp, &listed).unwrap(),
            ["g-1", "g-2"]
        );
        let error = checked_ids(&id, CloudProvider::Azure, &listed).unwrap_err();
        assert!(error.detail.contains("\"g-1\""), "{}", error.detail);
    }
}
