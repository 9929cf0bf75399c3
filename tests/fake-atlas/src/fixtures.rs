//! The one table of fixtures every route reads: projects, their private links (endpoint
//! services), and each link's interface endpoints in the order they were added.

use std::collections::{HashMap, VecDeque};

/// What Atlas stores for one interface endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub connection_status: String,
    pub error_message: Option<String>,
    pub delete_requested: bool,
}

impl Endpoint {
    pub fn with_status(status: &str) -> Self {
        Self {
            connection_status: status.to_owned(),
            error_message: None,
            delete_requested: false,
        }
    }
}

/// What Atlas stores for one private link (an AWS private endpoint service).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrivateLink {
    /// INITIATING, WAITING_FOR_USER, AVAILABLE, FAILED or DELETING (Atlas's
    /// `AWSPrivateLinkConnection.status`), or anything else a test wants to pass through.
    pub status: String,
    /// The AWS endpoint service name; Atlas sends null while it creates the service.
    pub endpoint_service_name: Option<String>,
    pub error_message: Option<String>,
    /// Atlas's region name such as `US_EAST_1`; only the v2 route sends it.
    pub region_name: Option<String>,
}

/// A realistic endpoint service name: it matches the pattern Atlas's specification gives for
/// `endpointServiceName`, `^com\.amazonaws\.vpce\.[a-z-0-9]+\.vpce-svc-[0-9a-f]{17}`.
pub const ENDPOINT_SERVICE_NAME: &str = "com.amazonaws.vpce.us-east-1.vpce-svc-0a1b2c3d4e5f60718";

impl PrivateLink {
    /// A link Atlas has finished: AVAILABLE, with its service name, in US_EAST_1.
    pub fn available() -> Self {
        Self {
            status: "AVAILABLE".to_owned(),
            endpoint_service_name: Some(ENDPOINT_SERVICE_NAME.to_owned()),
            error_message: None,
            region_name: Some("US_EAST_1".to_owned()),
        }
    }

    /// Like [`PrivateLink::available`] with another status. While INITIATING the service name
    /// is null, as Atlas documents ("returns null while it creates the endpoint service").
    pub fn with_status(status: &str) -> Self {
        let mut link = Self::available();
        link.status = status.to_owned();
        if status == "INITIATING" {
            link.endpoint_service_name = None;
        }
        link
    }
}

/// A value that takes on scripted states, one per read, then keeps the last.
#[derive(Clone, Debug)]
struct Scripted<T> {
    current: T,
    upcoming: VecDeque<T>,
}

impl<T: Clone> Scripted<T> {
    fn fixed(value: T) -> Self {
        Self {
            current: value,
            upcoming: VecDeque::new(),
        }
    }

    /// `None` for an empty script, which leaves nothing to serve.
    fn script(states: Vec<T>) -> Option<Self> {
        // The first read serves the first state, so it stays in the queue.
        let upcoming: VecDeque<T> = states.into();
        let current = upcoming.front()?.clone();
        Some(Self { current, upcoming })
    }

    fn read(&mut self) -> T {
        if let Some(next) = self.upcoming.pop_front() {
            self.current = next;
        }
        self.current.clone()
    }
}

#[derive(Debug)]
struct EndpointEntry {
    id: String,
    state: Scripted<Endpoint>,
    /// Removed from Atlas since the link listed it: the link still names it, its own route
    /// answers not found.
    vanished: bool,
}

#[derive(Debug)]
struct LinkEntry {
    state: Scripted<PrivateLink>,
    endpoints: Vec<EndpointEntry>,
}

impl LinkEntry {
    fn new() -> Self {
        Self {
            state: Scripted::fixed(PrivateLink::available()),
            endpoints: Vec::new(),
        }
    }

    fn endpoint_mut(&mut self, endpoint_id: &str) -> &mut EndpointEntry {
        let position = match self
            .endpoints
            .iter()
            .position(|entry| entry.id == endpoint_id)
        {
            Some(position) => position,
            None => {
                self.endpoints.push(EndpointEntry {
                    id: endpoint_id.to_owned(),
                    state: Scripted::fixed(Endpoint::with_status("AVAILABLE")),
                    vanished: false,
                });
                self.endpoints.len() - 1
            }
        };
        &mut self.endpoints[position]
    }
}

/// Why a lookup found nothing, so that each route can answer with its own error code.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Missing {
    Project,
    PrivateLink,
    Endpoint,
}

/// A private link as one read sees it: its state and the ids of its endpoints, in order.
pub(crate) struct LinkRead {
    pub link: PrivateLink,
    pub endpoint_ids: Vec<String>,
}

#[derive(Debug, Default)]
pub(crate) struct Fixtures {
    projects: HashMap<String, HashMap<String, LinkEntry>>,
    /// The Azure and Google Cloud services, which only the v2 routes serve.
    pub clouds: crate::clouds::CloudFixtures,
}

impl Fixtures {
    /// Creates the project and the link (AVAILABLE) if they do not exist yet.
    pub fn ensure_link(&mut self, project_id: &str, private_link_id: &str) {
        self.link_mut(project_id, private_link_id);
    }

    pub fn put_endpoint(
        &mut self,
        project_id: &str,
        private_link_id: &str,
        endpoint_id: &str,
        endpoint: Endpoint,
    ) {
        let entry = self
            .link_mut(project_id, private_link_id)
            .endpoint_mut(endpoint_id);
        entry.state = Scripted::fixed(endpoint);
        entry.vanished = false;
    }

    pub fn script_endpoint(
        &mut self,
        project_id: &str,
        private_link_id: &str,
        endpoint_id: &str,
        states: Vec<Endpoint>,
    ) {
        let entry = self
            .link_mut(project_id, private_link_id)
            .endpoint_mut(endpoint_id);
        if let Some(scripted) = Scripted::script(states) {
            entry.state = scripted;
        }
        entry.vanished = false;
    }

    pub fn vanish_endpoint(&mut self, project_id: &str, private_link_id: &str, endpoint_id: &str) {
        self.link_mut(project_id, private_link_id)
            .endpoint_mut(endpoint_id)
            .vanished = true;
    }

    pub fn put_private_link(&mut self, project_id: &str, private_link_id: &str, link: PrivateLink) {
        self.link_mut(project_id, private_link_id).state = Scripted::fixed(link);
    }

    pub fn script_private_link(
        &mut self,
        project_id: &str,
        private_link_id: &str,
        states: Vec<PrivateLink>,
    ) {
        let entry = self.link_mut(project_id, private_link_id);
        if let Some(scripted) = Scripted::script(states) {
            entry.state = scripted;
        }
    }

    /// Whether the project holds any AWS private link.
    pub fn has_project(&self, project_id: &str) -> bool {
        self.projects.contains_key(project_id)
    }

    /// One read of an endpoint: advances its script.
    pub fn read_endpoint(
        &mut self,
        project_id: &str,
        private_link_id: &str,
        endpoint_id: &str,
    ) -> Result<Endpoint, Missing> {
        let link = self.existing_link(project_id, private_link_id)?;
        match link
            .endpoints
            .iter_mut()
            .find(|entry| entry.id == endpoint_id)
        {
            Some(entry) if !entry.vanished => Ok(entry.state.read()),
            _ => Err(Missing::Endpoint),
        }
    }

    /// One read of a private link: advances its script.
    pub fn read_private_link(
        &mut self,
        project_id: &str,
        private_link_id: &str,
    ) -> Result<LinkRead, Missing> {
        let link = self.existing_link(project_id, private_link_id)?;
        Ok(LinkRead {
            link: link.state.read(),
            endpoint_ids: link
                .endpoints
                .iter()
                .map(|entry| entry.id.clone())
                .collect(),
        })
    }

    fn existing_link(
        &mut self,
        project_id: &str,
        private_link_id: &str,
    ) -> Result<&mut LinkEntry, Missing> {
        self.projects
            .get_mut(project_id)
            .ok_or(Missing::Project)?
            .get_mut(private_link_id)
            .ok_or(Missing::PrivateLink)
    }

    fn link_mut(&mut self, project_id: &str, private_link_id: &str) -> &mut LinkEntry {
        self.projects
            .entry(project_id.to_owned())
            .or_default()
            .entry(private_link_id.to_owned())
            .or_insert_with(LinkEntry::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_script_serves_each_state_once_then_keeps_the_last() {
        let mut fixtures = Fixtures::default();
        fixtures.script_endpoint(
            "p",
            "l",
            "e",
            vec![
                Endpoint::with_status("PENDING"),
                Endpoint::with_status("AVAILABLE"),
            ],
        );
        let statuses: Vec<String> = (0..3)
            .map(|_| {
                fixtures
                    .read_endpoint("p", "l", "e")
                    .unwrap()
                    .connection_status
            })
            .collect();
        assert_eq!(statuses, ["PENDING", "AVAILABLE", "AVAILABLE"]);
    }

    #[test]
    fn a_link_lists_its_endpoints_in_the_order_they_were_added_and_keeps_vanished_ones() {
        let mut fixtures = Fixtures::default();
        fixtures.put_endpoint("p", "l", "vpce-b", Endpoint::with_status("AVAILABLE"));
        fixtures.script_endpoint("p", "l", "vpce-a", vec![Endpoint::with_status("PENDING")]);
        fixtures.put_endpoint("p", "l", "vpce-b", Endpoint::with_status("PENDING"));
        fixtures.vanish_endpoint("p", "l", "vpce-a");
        let read = fixtures.read_private_link("p", "l").unwrap();
        assert_eq!(read.endpoint_ids, ["vpce-b", "vpce-a"]);
        assert_eq!(
            fixtures.read_endpoint("p", "l", "vpce-a"),
            Err(Missing::Endpoint)
        );
    }

    #[test]
    fn lookups_say_which_level_is_missing() {
        let mut fixtures = Fixtures::default();
        fixtures.ensure_link("p", "l");
        assert_eq!(
            fixtures.read_endpoint("q", "l", "e").err(),
            Some(Missing::Project)
        );
        assert_eq!(
            fixtures.read_endpoint("p", "m", "e").err(),
            Some(Missing::PrivateLink)
        );
        assert_eq!(
            fixtures.read_endpoint("p", "l", "e").err(),
            Some(Missing::Endpoint)
        );
        assert_eq!(
            fixtures.read_private_link("p", "l").unwrap().link,
            PrivateLink::available()
        );
    }
}
