//! `atlas_interface_endpoints`: every AWS interface endpoint of a private link, in Atlas's order,
//! so that one assertion can cover all of them.
//!
//! One read of the private link gives the endpoint ids; then each endpoint is read, at most
//! [`MAX_IN_FLIGHT`](super::listed_endpoints::MAX_IN_FLIGHT) at a time, so a plan costs 1 + N requests for N endpoints (2 + N the first
//! time, for the digest challenge). An endpoint removed between the two reads is left out and
//! logged: the list is what Atlas holds now. The listed ids are checked, and the list bounded,
//! by [`ListedEndpoints`](super::listed_endpoints), which the other list data sources share.

use serde::{Deserialize, Serialize};

use super::listed_endpoints::{
    CUT_MARKER, ListedEndpoint, ListedEndpoints, MAX_ERROR_MESSAGE_BYTES, MAX_LIST_BYTES,
    cut_error_message,
};
use super::private_link as link;
use super::{DataSource, INTERFACE_ENDPOINT_ID, PRIVATE_LINK_ID, PROJECT_ID, ReadContext};
use crate::atlas::{AtlasError, AtlasId, ErrorKind, InterfaceEndpointId, PrivateLinkId};
use crate::logging;
use crate::provider::atlas_errors::{ReadTarget, diagnostic_for};
use crate::provider::diagnostics::Diagnostics;
use crate::provider::schema::{Attribute, AttributeType, Schema};
use crate::provider::validators;

pub struct InterfaceEndpointsDataSource;

#[derive(Deserialize)]
pub struct Config {
    project_id: String,
    private_link_id: String,
}

#[derive(Debug, Serialize)]
pub struct State {
    endpoints: Vec<EndpointState>,
    id: String,
}

#[derive(Debug, Serialize)]
struct EndpointState {
    interface_endpoint_id: String,
    connection_status: String,
    error_message: Option<String>,
    delete_requested: Option<bool>,
}

#[async_trait::async_trait]
impl DataSource for InterfaceEndpointsDataSource {
    type Config = Config;
    type State = State;
    const NAME: &'static str = "interface_endpoints";
    const WHAT: &'static str = "interface endpoints";

    fn schema(&self) -> Schema {
        let mut attributes = Vec::from(link::id_attributes());
        attributes.extend([
            Attribute::computed(
                "endpoints",
                AttributeType::ListOfObject(vec![
                    Attribute::computed(
                        "interface_endpoint_id",
                        AttributeType::String,
                        "The AWS VPC interface endpoint's id, `vpce-…`.",
                    ),
                    Attribute::computed(
                        "connection_status",
                        AttributeType::String,
                        "The endpoint's status in Atlas: `NONE`, `PENDING_ACCEPTANCE`, `PENDING`, `AVAILABLE`, \
                         `REJECTED`, `DELETING`, or a status Atlas adds later, passed through unchanged.",
                    ),
                    Attribute::computed(
                        "error_message",
                        AttributeType::String,
                        format!(
                            "The error Atlas reports on the endpoint; null when there is none. A message \
                             over {MAX_ERROR_MESSAGE_BYTES} bytes is cut there and ends with \
                             `{CUT_MARKER}<n> bytes]`."
                        ),
                    ),
                    Attribute::computed(
                        "delete_requested",
                        AttributeType::Bool,
                        "Whether Atlas has received a request to remove the endpoint; null when Atlas does \
                         not say.",
                    ),
                ]),
                format!(
                    "Every interface endpoint of the private link, in Atlas's order; empty when there are \
                     none. An endpoint removed while the list was read is left out. The ids Atlas lists are \
                     checked as an `interface_endpoint_id` argument is: a list holding one that is not a \
                     `vpce-` id fails the read and the error names it (it is not left out, so that an \
                     assertion over the list never passes on part of it); an id listed twice is read once; \
                     an answer about another endpoint than the one asked for is an error naming both ids. \
                     A list holds at most {} MiB (its ids, statuses and cut messages); a larger one fails \
                     the read.",
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
            description: "Reads every AWS PrivateLink interface endpoint of a private link at once, in Atlas's order, \
                          so that one assertion covers them all: \
                          `alltrue([for e in data.atlas_interface_endpoints.this.endpoints : e.connection_status == \
                          \"AVAILABLE\"])`. Reads the private link's list of endpoints, then each endpoint, at most \
                          4 at a time.",
            attributes,
        }
    }

    async fn read(&self, config: Config, context: &ReadContext<'_>) -> Result<State, Diagnostics> {
        let id = PrivateLinkId {
            project_id: config.project_id,
            private_link_id: config.private_link_id,
        };
        let private_link = context
            .client
            .read_private_link(&id)
            .await
            .map_err(|error| diagnostic_for(&error, &link::target(&id), context.key))?;
        let list = ListedEndpoints {
            what: "interface endpoint",
            private_link_id: &id.private_link_id,
            expected_shape: "\"vpce-\" followed by 17 hexadecimal characters (0-9, a-f)",
            has_shape: |listed| {
                validators::vpc_endpoint_id(INTERFACE_ENDPOINT_ID, listed).is_none()
            },
            single_data_source: "atlas_interface_endpoint",
        };
        let ids = list.checked_ids(private_link.interface_endpoints.unwrap_or_default())?;
        let endpoints = list
            .read_each(ids, |endpoint_id| {
                let endpoint = InterfaceEndpointId {
                    project_id: id.project_id.clone(),
                    private_link_id: id.private_link_id.clone(),
                    interface_endpoint_id: endpoint_id,
                };
                async move { read_endpoint(&endpoint, context).await }
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
    endpoint: &InterfaceEndpointId,
    context: &ReadContext<'_>,
) -> Result<Option<EndpointState>, Diagnostics> {
    match context.client.read_interface_endpoint(endpoint).await {
        Ok(found) => Ok(Some(endpoint_state(found))),
        Err(error) if vanished(&error) => {
            logging::warn(
                "interface endpoint listed by the private link is gone; left out",
                &[
                    ("private_link_id", endpoint.private_link_id.clone().into()),
                    (
                        "interface_endpoint_id",
                        endpoint.interface_endpoint_id.clone().into(),
                    ),
                ],
            );
            Ok(None)
        }
        Err(error) => {
            let target = ReadTarget {
                what: "interface endpoint",
                ids: vec![
                    (PROJECT_ID, &endpoint.project_id),
                    (PRIVATE_LINK_ID, &endpoint.private_link_id),
                    (INTERFACE_ENDPOINT_ID, &endpoint.interface_endpoint_id),
                ],
                // Only the ids that are arguments of this data source.
                attributes: link::ATLAS_IDS,
            };
            Err(diagnostic_for(&error, &target, context.key).into())
        }
    }
}

/// A "not found" that names the endpoint: it was removed after the list was read.
fn vanished(error: &AtlasError) -> bool {
    matches!(error, AtlasError::Api(api)
        if api.kind() == ErrorKind::NotFound { id: Some(AtlasId::Endpoint) })
}

impl ListedEndpoint for EndpointState {
    fn answered_id(&self) -> &str {
        &self.interface_endpoint_id
    }

    fn held_bytes(&self) -> usize {
        self.interface_endpoint_id.len()
            + self.connection_status.len()
            + self.error_message.as_ref().map_or(0, String::len)
    }
}

// Whether Atlas's body makes `deleteRequested` optional or not, the state says what it said.
#[allow(clippy::useless_conversion)]
fn endpoint_state(endpoint: crate::atlas::InterfaceEndpoint) -> EndpointState {
    EndpointState {
        interface_endpoint_id: endpoint.interface_endpoint_id,
        connection_status: endpoint.connection_status,
        error_message: cut_error_message(endpoint.error_message),
        delete_requested: endpoint.delete_requested.into(),
    }
}
