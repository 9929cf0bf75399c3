//! Azure and Google Cloud private endpoint services and their endpoints, as Atlas's v2 routes
//! serve them: `/privateEndpoint/{AZURE|GCP}/endpointService/{id}[/endpoint/{endpointId}]`.
//!
//! The bodies are those of Atlas's v2 specification (mongodb/openapi
//! `openapi/v2/openapi-2023-01-01.yaml`: `AzurePrivateLinkConnection`, `GCPEndpointService`,
//! `AzurePrivateEndpoint`, `PrivateGCPEndpointGroup`) and of the answers MongoDB's CLI recorded
//! (explicit nulls while INITIATING, service attachments without an `https://` scheme). A
//! service lists its endpoints (`privateEndpoints`, `endpointGroupNames`) in the order they
//! were added; each body is scripted like the AWS fixtures: one state per read, then the last.
//!
//! The Azure endpoint id arrives as ONE path segment, percent-encoded once; the fake decodes it
//! once and answers 400 when it still holds a `%` (it was encoded twice), so a client that
//! encodes twice fails where Atlas would not find the endpoint.

use std::collections::{HashMap, VecDeque};

use serde_json::{Value, json};

use crate::fixtures::Missing;

/// An Azure subscription, resource group and private endpoint, in resource-id form.
pub const AZURE_ENDPOINT_ID: &str = "/subscriptions/0b8b3b9e-1111-4c1b-9d3e-2f6a0c1d2e3f/resourceGroups/rg-app/providers/Microsoft.Network/privateEndpoints/pe-atlas";
/// A second Azure private endpoint of the same service, still connecting.
pub const AZURE_INITIATING_ENDPOINT_ID: &str = "/subscriptions/0b8b3b9e-1111-4c1b-9d3e-2f6a0c1d2e3f/resourceGroups/rg-app/providers/Microsoft.Network/privateEndpoints/pe-atlas-2";
/// The ids of the seeded services (those of recorded answers).
pub const AZURE_PRIVATE_LINK_ID: &str = "6a794010c0eb9e7a17719674";
pub const GCP_PRIVATE_LINK_ID: &str = "6a7940612c88faeba59bf3c4";
/// Services Atlas is still creating: their names and attachments are null or empty.
pub const AZURE_INITIATING_LINK_ID: &str = "6a7940aa00000000000000a1";
pub const GCP_INITIATING_LINK_ID: &str = "6a7940bb00000000000000b1";
/// A Google Cloud endpoint group that is AVAILABLE.
pub const GCP_ENDPOINT_GROUP: &str = "atlas-endpoint-group";
/// A Google Cloud endpoint group that is INITIATING for [`GCP_READS_UNTIL_AVAILABLE`] reads,
/// then AVAILABLE.
pub const GCP_SLOW_ENDPOINT_GROUP: &str = "atlas-endpoint-group-slow";
pub const GCP_READS_UNTIL_AVAILABLE: usize = 2;

/// A cloud the legacy routes never served.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cloud {
    Azure,
    Gcp,
}

impl Cloud {
    pub fn parse(text: &str) -> Option<Cloud> {
        match text {
            "AZURE" => Some(Cloud::Azure),
            "GCP" => Some(Cloud::Gcp),
            _ => None,
        }
    }

    fn listing_key(self) -> &'static str {
        match self {
            Cloud::Azure => "privateEndpoints",
            Cloud::Gcp => "endpointGroupNames",
        }
    }
}

/// An Azure private endpoint service; while INITIATING its name and resource id are null.
pub fn azure_link(private_link_id: &str, status: &str) -> Value {
    let name = format!("pls_{private_link_id}");
    let initiating = status == "INITIATING";
    json!({
        "cloudProvider": "AZURE",
        "errorMessage": null,
        "id": private_link_id,
        "privateEndpoints": [],
        "privateLinkServiceName": if initiating { Value::Null } else { json!(name) },
        "privateLinkServiceResourceId": if initiating { Value::Null } else {
            json!(format!("/subscriptions/7a1c4e2b-0c2d-4e5f-8a9b-0c1d2e3f4a5b/resourceGroups/rg_{private_link_id}_asia-southeast1/providers/Microsoft.Network/privateLinkServices/{name}"))
        },
        "regionName": "ASIA_SOUTH_EAST",
        "status": status,
    })
}

/// A Google Cloud private endpoint service; while INITIATING it has no service attachments.
pub fn gcp_link(private_link_id: &str, status: &str) -> Value {
    let attachments: Vec<String> = if status == "INITIATING" {
        Vec::new()
    } else {
        (0..2)
            .map(|index| {
                format!(
                    "projects/p-v5pc0a1b2c3d4e5f6a7b8c9d0e/regions/us-east4/serviceAttachments/sa-us-east4-{private_link_id}-{index}"
                )
            })
            .collect()
    };
    json!({
        "cloudProvider": "GCP",
        "endpointGroupNames": [],
        "errorMessage": null,
        "id": private_link_id,
        "portMappingEnabled": false,
        "regionName": "US_EAST_4",
        "serviceAttachmentNames": attachments,
        "status": status,
    })
}

/// An Azure private endpoint; while INITIATING its connection name is null.
pub fn azure_endpoint(resource_id: &str, status: &str) -> Value {
    let name = resource_id.rsplit('/').next().unwrap_or_default();
    json!({
        "cloudProvider": "AZURE",
        "deleteRequested": false,
        "errorMessage": if status == "FAILED" { json!("Azure could not connect the private endpoint.") } else { Value::Null },
        "privateEndpointConnectionName": if status == "INITIATING" { Value::Null } else { json!(format!("{name}.0b8b3b9e")) },
        "privateEndpointIPAddress": "10.0.0.4",
        "privateEndpointResourceId": resource_id,
        "status": status,
    })
}

/// A Google Cloud endpoint group with two forwarding rules of the group's status.
pub fn gcp_endpoint_group(name: &str, status: &str) -> Value {
    let rule_status = match status {
        "VERIFIED" | "DELETED" => "AVAILABLE",
        other => other,
    };
    json!({
        "cloudProvider": "GCP",
        "deleteRequested": false,
        "endpointGroupName": name,
        "endpoints": (0..2).map(|index| json!({
            "endpointName": format!("{name}-{index}"),
            "ipAddress": format!("10.142.0.{}", index + 2),
            "status": rule_status,
        })).collect::<Vec<_>>(),
        "errorMessage": if status == "FAILED" { json!("The forwarding rules do not target the service attachments.") } else { Value::Null },
        "gcpProjectId": "customer-project-1",
        "portMappingEnabled": false,
        "status": status,
    })
}

/// Bodies served one per read, then the last kept.
#[derive(Debug)]
struct Scripted {
    current: Value,
    upcoming: VecDeque<Value>,
}

impl Scripted {
    fn new(states: Vec<Value>) -> Option<Self> {
        let upcoming: VecDeque<Value> = states.into();
        Some(Self {
            current: upcoming.front()?.clone(),
            upcoming,
        })
    }

    fn read(&mut self) -> Value {
        if let Some(next) = self.upcoming.pop_front() {
            self.current = next;
        }
        self.current.clone()
    }
}

#[derive(Debug)]
struct Service {
    state: Scripted,
    /// In the order they were added; a vanished one is listed but not served.
    endpoints: Vec<(String, Scripted, bool)>,
}

/// Every Azure and Google Cloud service, by project, cloud and id.
#[derive(Debug, Default)]
pub(crate) struct CloudFixtures {
    services: HashMap<(String, Cloud, String), Service>,
}

impl CloudFixtures {
    pub fn script_link(&mut self, cloud: Cloud, project: &str, link: &str, states: Vec<Value>) {
        let Some(state) = Scripted::new(states) else {
            return;
        };
        let key = (project.to_owned(), cloud, link.to_owned());
        match self.services.get_mut(&key) {
            Some(service) => service.state = state,
            None => {
                self.services.insert(
                    key,
                    Service {
                        state,
                        endpoints: Vec::new(),
                    },
                );
            }
        }
    }

    pub fn script_endpoint(
        &mut self,
        cloud: Cloud,
        project: &str,
        link: &str,
        endpoint: &str,
        states: Vec<Value>,
    ) {
        let Some(state) = Scripted::new(states) else {
            return;
        };
        let key = (project.to_owned(), cloud, link.to_owned());
        if !self.services.contains_key(&key) {
            let body = match cloud {
                Cloud::Azure => azure_link(link, "AVAILABLE"),
                Cloud::Gcp => gcp_link(link, "AVAILABLE"),
            };
            self.script_link(cloud, project, link, vec![body]);
        }
        let Some(service) = self.services.get_mut(&key) else {
            return;
        };
        match service
            .endpoints
            .iter_mut()
            .find(|(id, _, _)| id == endpoint)
        {
            Some(entry) => {
                entry.1 = state;
                entry.2 = false;
            }
            None => service.endpoints.push((endpoint.to_owned(), state, false)),
        }
    }

    pub fn vanish_endpoint(&mut self, cloud: Cloud, project: &str, link: &str, endpoint: &str) {
        if let Some(service) = self
            .services
            .get_mut(&(project.to_owned(), cloud, link.to_owned()))
            && let Some(entry) = service
                .endpoints
                .iter_mut()
                .find(|(id, _, _)| id == endpoint)
        {
            entry.2 = true;
        }
    }

    /// One read of a service: its body with the ids of its endpoints listed.
    pub fn read_link(&mut self, cloud: Cloud, project: &str, link: &str) -> Result<Value, Missing> {
        let service = self.service(cloud, project, link)?;
        let mut body = service.state.read();
        let ids: Vec<&str> = service
            .endpoints
            .iter()
            .map(|(id, _, _)| id.as_str())
            .collect();
        body[cloud.listing_key()] = json!(ids);
        Ok(body)
    }

    /// One read of an endpoint, by its id as it arrived in the path (still encoded).
    pub fn read_endpoint(
        &mut self,
        cloud: Cloud,
        project: &str,
        link: &str,
        encoded_endpoint: &str,
    ) -> Result<Value, Missing> {
        let endpoint = percent_decode(encoded_endpoint);
        let service = self.service(cloud, project, link)?;
        match service
            .endpoints
            .iter_mut()
            .find(|(id, _, _)| *id == endpoint)
        {
            Some((_, state, false)) => Ok(state.read()),
            _ => Err(Missing::Endpoint),
        }
    }

    fn service(
        &mut self,
        cloud: Cloud,
        project: &str,
        link: &str,
    ) -> Result<&mut Service, Missing> {
        if !self.services.keys().any(|(known, _, _)| known == project) {
            return Err(Missing::Project);
        }
        self.services
            .get_mut(&(project.to_owned(), cloud, link.to_owned()))
            .ok_or(Missing::PrivateLink)
    }
}

/// Why an endpoint id in a path cannot be one Atlas would look up.
pub(crate) fn encoding_problem(cloud: Cloud, encoded_endpoint: &str) -> Option<String> {
    let decoded = percent_decode(encoded_endpoint);
    match cloud {
        Cloud::Azure if decoded.contains('%') => Some(format!(
            "The endpoint id {decoded} still holds a percent sign after decoding: it was encoded more than once."
        )),
        Cloud::Azure if !decoded.starts_with("/subscriptions/") => Some(format!(
            "The endpoint id {decoded} is not an Azure private endpoint resource id."
        )),
        _ => None,
    }
}

/// Decodes `%XX` once; anything else is kept as it is.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let hex = |offset: usize| {
            bytes
                .get(index + offset)
                .and_then(|byte| (*byte as char).to_digit(16))
        };
        match (bytes[index], hex(1), hex(2)) {
            (b'%', Some(high), Some(low)) => {
                decoded.push((high * 16 + low) as u8);
                index += 3;
            }
            (byte, _, _) => {
                decoded.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_azure_id_encoded_once_is_found_and_one_encoded_twice_is_refused() {
        let mut fixtures = CloudFixtures::default();
        fixtures.script_endpoint(
            Cloud::Azure,
            "p",
            "l",
            AZURE_ENDPOINT_ID,
            vec![azure_endpoint(AZURE_ENDPOINT_ID, "AVAILABLE")],
        );
        let once = AZURE_ENDPOINT_ID.replace('/', "%2F");
        assert!(
            fixtures
                .read_endpoint(Cloud::Azure, "p", "l", &once)
                .is_ok()
        );
        assert_eq!(encoding_problem(Cloud::Azure, &once), None);
        let twice = once.replace('%', "%25");
        assert!(encoding_problem(Cloud::Azure, &twice).is_some());
        let listed = fixtures.read_link(Cloud::Azure, "p", "l").unwrap();
        assert_eq!(listed["privateEndpoints"], json!([AZURE_ENDPOINT_ID]));
    }

    #[test]
    fn initiating_services_have_null_names_and_no_attachments() {
        let azure = azure_link("l", "INITIATING");
        assert!(azure["privateLinkServiceResourceId"].is_null());
        assert!(azure["privateLinkServiceName"].is_null());
        let gcp = gcp_link("l", "INITIATING");
        assert_eq!(gcp["serviceAttachmentNames"], json!([]));
    }
}
