//! `atlas_interface_endpoints`: every AWS interface endpoint of a private link, in Atlas's order,
//! so that one assertion can cover all of them.
//!
//! One read of the private link gives the endpoint ids; then each endpoint is read, at most
//! [`MAX_IN_FLIGHT`] at a time, so a plan costs 1 + N requests for N endpoints (2 + N the first
//! time, for the digest challenge). An endpoint removed between the two reads is left out and
//! logged: the list is what Atlas holds now.

use futures_util::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};

use super::private_link::{self as link, PRIVATE_LINK_ID, PROJECT_ID};
use super::{DataSource, ReadContext};
use crate::atlas::{AtlasError, InterfaceEndpointId, PrivateLinkId};
use crate::logging;
use crate::provider::atlas_errors::{ReadTarget, diagnostic_for};
use crate::provider::diagnostics::Diagnostics;
use crate::provider::schema::{Attribute, AttributeType, Schema};

/// Endpoint reads in flight at once for one data source: enough to read a few dozen endpoints
/// in a few round trips, few enough to stay clear of Atlas's per-key rate limits when Terraform
/// reads ten data sources in parallel.
pub const MAX_IN_FLIGHT: usize = 4;

/// The 404 codes that mean "this endpoint is not there (any more)", on v1.0 and v2.
const ENDPOINT_GONE_CODES: &[&str] = &[
    "PRIVATELINK_INTERFACE_ENDPOINT_NOT_FOUND",
    "PRIVATE_ENDPOINT_NOT_FOUND",
];

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
                AttributeType::ListNested(vec![
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
                        "The error Atlas reports on the endpoint; null when there is none.",
                    ),
                    Attribute::computed(
                        "delete_requested",
                        AttributeType::Bool,
                        "Whether Atlas has received a request to remove the endpoint; null when Atlas does \
                         not say.",
                    ),
                ]),
                "Every interface endpoint of the private link, in Atlas's order; empty when there are none. An \
                 endpoint removed while the list was read is left out.",
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
        let ids = private_link.interface_endpoints.unwrap_or_default();
        let mut reads = stream::iter(ids)
            .map(|endpoint_id| {
                let endpoint = InterfaceEndpointId {
                    project_id: id.project_id.clone(),
                    private_link_id: id.private_link_id.clone(),
                    interface_endpoint_id: endpoint_id,
                };
                async move {
                    let read = context.client.read_interface_endpoint(&endpoint).await;
                    (endpoint, read)
                }
            })
            .buffered(MAX_IN_FLIGHT);
        let mut endpoints = Vec::new();
        while let Some((endpoint, read)) = reads.next().await {
            match read {
                Ok(found) => endpoints.push(endpoint_state(endpoint.interface_endpoint_id, found)),
                Err(error) if vanished(&error) => logging::warn(
                    "interface endpoint listed by the private link is gone; left out",
                    &[
                        ("private_link_id", id.private_link_id.clone().into()),
                        (
                            "interface_endpoint_id",
                            endpoint.interface_endpoint_id.clone().into(),
                        ),
                    ],
                ),
                Err(error) => {
                    let target = ReadTarget {
                        what: "interface endpoint",
                        ids: vec![
                            (PROJECT_ID, &endpoint.project_id),
                            (PRIVATE_LINK_ID, &endpoint.private_link_id),
                            ("interface_endpoint_id", &endpoint.interface_endpoint_id),
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

/// A 404 that says the endpoint is not there: it was removed after the list was read.
fn vanished(error: &AtlasError) -> bool {
    matches!(error, AtlasError::Api(api)
        if api.status == 404
            && api.error_code.as_deref().is_some_and(|code| ENDPOINT_GONE_CODES.contains(&code)))
}

// Whether Atlas's body makes `deleteRequested` optional or not, the state says what it said.
#[allow(clippy::useless_conversion)]
fn endpoint_state(
    interface_endpoint_id: String,
    endpoint: crate::atlas::InterfaceEndpoint,
) -> EndpointState {
    EndpointState {
        interface_endpoint_id,
        connection_status: endpoint.connection_status,
        error_message: endpoint.error_message,
        delete_requested: endpoint.delete_requested.into(),
    }
}
