//! `FakeAtlas`, what a test holds: it starts the server and sets what the fake stores, how it
//! authenticates, and which faults it applies next.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::clouds::Cloud;
use crate::fixtures::{Endpoint, PrivateLink};
use crate::hostile::Fault;
use crate::server::{self, RecordedRequest, Shared, State, lock};
use crate::tls;
use crate::tokens::TokenEndpoint;
use crate::{PRIVATE_KEY, PRIVATE_LINK_ID, PROJECT_ID, PUBLIC_KEY};

/// A running fake Atlas. Stops when dropped.
pub struct FakeAtlas {
    address: SocketAddr,
    state: Shared,
    stop: watch::Sender<bool>,
}

impl FakeAtlas {
    /// Starts on 127.0.0.1 with a free port, the default key pair and service account, and the
    /// default project and private link (AVAILABLE, with no endpoints yet).
    pub async fn start() -> FakeAtlas {
        Self::start_on(0).await.expect("binding 127.0.0.1:0 works")
    }

    /// Starts on 127.0.0.1:`port` (0 for any free port).
    pub async fn start_on(port: u16) -> std::io::Result<FakeAtlas> {
        Self::start_with(port, None).await
    }

    /// Starts on 127.0.0.1 serving HTTPS with `identity`'s certificate.
    pub async fn start_tls(identity: &tls::ServerIdentity) -> FakeAtlas {
        Self::start_with(0, Some(identity.acceptor()))
            .await
            .expect("binding 127.0.0.1:0 works")
    }

    async fn start_with(
        port: u16,
        tls: Option<tokio_rustls::TlsAcceptor>,
    ) -> std::io::Result<FakeAtlas> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let address = listener.local_addr()?;
        let mut state = State::new();
        state
            .keys
            .insert(PUBLIC_KEY.to_owned(), PRIVATE_KEY.to_owned());
        state.fixtures.ensure_link(PROJECT_ID, PRIVATE_LINK_ID);
        let state = Arc::new(Mutex::new(state));
        let (stop, stopped) = watch::channel(false);
        tokio::spawn(server::serve(listener, tls, Arc::clone(&state), stopped));
        Ok(FakeAtlas {
            address,
            state,
            stop,
        })
    }

    /// `http://127.0.0.1:<port>`, the provider's `base_url`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// `https://localhost:<port>`, for a fake started with [`FakeAtlas::start_tls`].
    pub fn https_url(&self) -> String {
        format!("https://localhost:{}", self.address.port())
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    // ---- What Atlas stores -------------------------------------------------------------

    /// Adds or replaces an endpoint (creating its project and private link). A new endpoint is
    /// listed last by its private link.
    pub fn put_endpoint(
        &self,
        project_id: &str,
        private_link_id: &str,
        endpoint_id: &str,
        endpoint: Endpoint,
    ) {
        lock(&self.state)
            .fixtures
            .put_endpoint(project_id, private_link_id, endpoint_id, endpoint);
    }

    /// Adds an endpoint to the default project and private link.
    pub fn put(&self, endpoint_id: &str, endpoint: Endpoint) {
        self.put_endpoint(PROJECT_ID, PRIVATE_LINK_ID, endpoint_id, endpoint);
    }

    /// Makes the endpoint (in the default project and private link) take on these states, one
    /// per read, then keep the last.
    pub fn script(&self, endpoint_id: &str, states: Vec<Endpoint>) {
        self.script_endpoint(PROJECT_ID, PRIVATE_LINK_ID, endpoint_id, states);
    }

    /// [`FakeAtlas::script`] for any project and private link (created if needed).
    pub fn script_endpoint(
        &self,
        project_id: &str,
        private_link_id: &str,
        endpoint_id: &str,
        states: Vec<Endpoint>,
    ) {
        lock(&self.state).fixtures.script_endpoint(
            project_id,
            private_link_id,
            endpoint_id,
            states,
        );
    }

    /// Removes the endpoint from under its private link: its own route answers 404 (v1.0
    /// PRIVATELINK_INTERFACE_ENDPOINT_NOT_FOUND, v2 [`crate::V2_ENDPOINT_NOT_FOUND`]) while the
    /// link still lists its id, as when it is deleted between the two reads.
    pub fn vanish_endpoint(&self, project_id: &str, private_link_id: &str, endpoint_id: &str) {
        lock(&self.state)
            .fixtures
            .vanish_endpoint(project_id, private_link_id, endpoint_id);
    }

    /// Sets a private link's state (creating its project and the link).
    pub fn put_private_link(&self, project_id: &str, private_link_id: &str, link: PrivateLink) {
        lock(&self.state)
            .fixtures
            .put_private_link(project_id, private_link_id, link);
    }

    /// Makes a private link take on these states, one per read, then keep the last.
    pub fn script_private_link(
        &self,
        project_id: &str,
        private_link_id: &str,
        states: Vec<PrivateLink>,
    ) {
        lock(&self.state)
            .fixtures
            .script_private_link(project_id, private_link_id, states);
    }

    /// Makes an Azure or Google Cloud service take on these bodies (see
    /// [`crate::azure_link`], [`crate::gcp_link`]), one per read, then keep the last. Its
    /// endpoint list is filled in from the endpoints added under it.
    pub fn script_cloud_link(
        &self,
        cloud: Cloud,
        project_id: &str,
        private_link_id: &str,
        states: Vec<serde_json::Value>,
    ) {
        lock(&self.state)
            .fixtures
            .clouds
            .script_link(cloud, project_id, private_link_id, states);
    }

    /// Adds (or rescripts) an Azure or Google Cloud endpoint, by its raw id, with these bodies
    /// (see [`crate::azure_endpoint`], [`crate::gcp_endpoint_group`]), one per read, then the
    /// last. A missing service is created AVAILABLE.
    pub fn script_cloud_endpoint(
        &self,
        cloud: Cloud,
        project_id: &str,
        private_link_id: &str,
        endpoint_id: &str,
        states: Vec<serde_json::Value>,
    ) {
        lock(&self.state).fixtures.clouds.script_endpoint(
            cloud,
            project_id,
            private_link_id,
            endpoint_id,
            states,
        );
    }

    /// Removes an Azure or Google Cloud endpoint from under its service, which still lists it.
    pub fn vanish_cloud_endpoint(
        &self,
        cloud: Cloud,
        project_id: &str,
        private_link_id: &str,
        endpoint_id: &str,
    ) {
        lock(&self.state).fixtures.clouds.vanish_endpoint(
            cloud,
            project_id,
            private_link_id,
            endpoint_id,
        );
    }

    /// Seeds the default project with the Azure and Google Cloud services and endpoints that
    /// `fake-atlas` prints: an AVAILABLE Azure service with one AVAILABLE and one INITIATING
    /// endpoint, an AVAILABLE Google Cloud service with an AVAILABLE endpoint group and one that
    /// becomes AVAILABLE after [`crate::GCP_READS_UNTIL_AVAILABLE`] reads, and an INITIATING
    /// service of each cloud.
    pub fn seed_clouds(&self) {
        use crate::clouds::*;
        self.script_cloud_link(
            Cloud::Azure,
            PROJECT_ID,
            AZURE_PRIVATE_LINK_ID,
            vec![azure_link(AZURE_PRIVATE_LINK_ID, "AVAILABLE")],
        );
        for (endpoint, status) in [
            (AZURE_ENDPOINT_ID, "AVAILABLE"),
            (AZURE_INITIATING_ENDPOINT_ID, "INITIATING"),
        ] {
            self.script_cloud_endpoint(
                Cloud::Azure,
                PROJECT_ID,
                AZURE_PRIVATE_LINK_ID,
                endpoint,
                vec![azure_endpoint(endpoint, status)],
            );
        }
        self.script_cloud_link(
            Cloud::Gcp,
            PROJECT_ID,
            GCP_PRIVATE_LINK_ID,
            vec![gcp_link(GCP_PRIVATE_LINK_ID, "AVAILABLE")],
        );
        self.script_cloud_endpoint(
            Cloud::Gcp,
            PROJECT_ID,
            GCP_PRIVATE_LINK_ID,
            GCP_ENDPOINT_GROUP,
            vec![gcp_endpoint_group(GCP_ENDPOINT_GROUP, "AVAILABLE")],
        );
        let mut slow = vec![
            gcp_endpoint_group(GCP_SLOW_ENDPOINT_GROUP, "INITIATING");
            GCP_READS_UNTIL_AVAILABLE
        ];
        slow.push(gcp_endpoint_group(GCP_SLOW_ENDPOINT_GROUP, "AVAILABLE"));
        self.script_cloud_endpoint(
            Cloud::Gcp,
            PROJECT_ID,
            GCP_PRIVATE_LINK_ID,
            GCP_SLOW_ENDPOINT_GROUP,
            slow,
        );
        self.script_cloud_link(
            Cloud::Azure,
            PROJECT_ID,
            AZURE_INITIATING_LINK_ID,
            vec![azure_link(AZURE_INITIATING_LINK_ID, "INITIATING")],
        );
        self.script_cloud_link(
            Cloud::Gcp,
            PROJECT_ID,
            GCP_INITIATING_LINK_ID,
            vec![gcp_link(GCP_INITIATING_LINK_ID, "INITIATING")],
        );
    }

    // ---- How Atlas answers -------------------------------------------------------------

    /// Every v1.0 route answers 404 RESOURCE_NOT_FOUND, as where Atlas no longer serves them.
    pub fn set_v1_gone(&self, gone: bool) {
        lock(&self.state).v1_gone = gone;
    }

    /// Retires a version date: a v2 request that asks for it gets 410 VERSION_GONE.
    pub fn retire_version(&self, date: &str) {
        lock(&self.state).retired_versions.insert(date.to_owned());
    }

    /// Queues a fault for the next authenticated request (not the token endpoint).
    pub fn push_fault(&self, fault: Fault) {
        lock(&self.state).faults.push_back(fault);
    }

    /// Holds the answer to every authenticated request on the data routes for `delay` (a hung
    /// Atlas, for a delay longer than the client's timeout). `Duration::ZERO` answers at once.
    /// Digest challenges and the token endpoint are not delayed.
    pub fn delay_answers(&self, delay: Duration) {
        lock(&self.state).answer_delay = delay;
    }

    /// Holds every digest challenge (the 401 that carries a nonce) for `delay`.
    pub fn delay_challenges(&self, delay: Duration) {
        lock(&self.state).challenge_delay = delay;
    }

    /// Answers every authenticated request with 403 IP_ADDRESS_NOT_ON_ACCESS_LIST.
    pub fn deny_by_access_list(&self, deny: bool) {
        lock(&self.state).deny_access_list = deny;
    }

    // ---- Digest ------------------------------------------------------------------------

    /// Forgets every nonce, as Atlas does when they expire: the next answer gets `stale=true`.
    pub fn expire_nonces(&self) {
        lock(&self.state).nonces.forget_all();
    }

    /// Challenges with this realm (sent as an escaped quoted-string) and verifies with it.
    ///
    /// # Panics
    /// If the realm holds characters an HTTP header cannot (control characters, non-ASCII).
    pub fn set_challenge_realm(&self, realm: &str) {
        assert!(
            realm.chars().all(|c| c == ' ' || c.is_ascii_graphic()),
            "a digest realm must be visible ASCII: {realm:?}"
        );
        lock(&self.state).realm = realm.to_owned();
    }

    /// Hands out nonces that hold `"` and `\`, so a client must unescape and re-escape them.
    pub fn set_nonce_with_escapes(&self, with_escapes: bool) {
        lock(&self.state).nonces.set_with_escapes(with_escapes);
    }

    /// How many challenges (401 with a fresh nonce) were issued.
    pub fn challenges_issued(&self) -> usize {
        lock(&self.state).nonces.issued()
    }

    // ---- Service accounts --------------------------------------------------------------

    /// Adds a service account the token endpoint accepts.
    pub fn add_service_account(&self, client_id: &str, client_secret: &str) {
        lock(&self.state)
            .tokens
            .add_account(client_id, client_secret);
    }

    /// How long the tokens the endpoint issues from now on are valid (default one hour).
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        lock(&self.state).tokens.lifetime = lifetime;
    }

    /// Makes the token endpoint answer Atlas's 429 RATE_LIMITED (with its one-minute window),
    /// or stop doing so.
    pub fn rate_limit_tokens(&self, limited: bool) {
        lock(&self.state).tokens.endpoint = if limited {
            TokenEndpoint::RateLimited {
                window: crate::tokens::TOKEN_RATE_LIMIT_WINDOW,
            }
        } else {
            TokenEndpoint::Issue
        };
    }

    /// Makes the token endpoint answer 429 RATE_LIMITED with a window of `window`, so that a
    /// test of the wait need not wait out Atlas's minute.
    pub fn rate_limit_tokens_for(&self, window: Duration) {
        lock(&self.state).tokens.endpoint = TokenEndpoint::RateLimited { window };
    }

    /// How the token endpoint answers from now on: issuing tokens, throttling, hanging, or a
    /// body of the test's choosing.
    pub fn set_token_endpoint(&self, endpoint: TokenEndpoint) {
        lock(&self.state).tokens.endpoint = endpoint;
    }

    /// Refuses every bearer token on the data routes with Atlas's 401, as if each were revoked
    /// the moment it was issued (the token endpoint goes on issuing them).
    pub fn refuse_bearer_tokens(&self, refuse: bool) {
        lock(&self.state).tokens.refuse_all = refuse;
    }

    /// How many requests reached the token endpoint, whatever their answer.
    pub fn token_requests(&self) -> usize {
        lock(&self.state).tokens.requests
    }

    /// A valid token for the default service account, made without a request: what a user
    /// would pass as `access_token`. `Duration::ZERO` makes one that is already expired.
    pub fn issue_token(&self, lifetime: Duration) -> String {
        lock(&self.state).tokens.issue(crate::CLIENT_ID, lifetime)
    }

    // ---- What happened -----------------------------------------------------------------

    /// Every request so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.state).requests.clone()
    }

    /// How many requests so far.
    pub fn request_count(&self) -> usize {
        lock(&self.state).requests.len()
    }
}

impl Drop for FakeAtlas {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}
