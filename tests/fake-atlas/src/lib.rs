//! A fake MongoDB Atlas Admin API on 127.0.0.1 for tests and the quick start.
//!
//! It serves the interface endpoint route with Atlas's error bodies and codes, and it really
//! checks HTTP Digest auth the way Atlas does: an unauthenticated request gets Atlas's exact
//! challenge, an answer is verified against the key pair (MD5, `qop=auth`), a nonce may be reused
//! with an increasing `nc`, and a forgotten nonce gets `stale=true`. Faults can be queued for the
//! next requests, and every request is recorded so that tests can count round trips.

mod digest;
mod proxy;
pub mod terraform;
pub mod tls;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER, WWW_AUTHENTICATE};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;

pub use digest::{Challenge, REALM};
pub use proxy::FakeProxy;

/// The key pair the fake accepts unless told otherwise.
pub const PUBLIC_KEY: &str = "abcdefgh";
pub const PRIVATE_KEY: &str = "3f1d5a0e-6c1b-4a57-9e0c-8f2b7d6a4c11";
/// A project and private link that exist in a fresh fake.
pub const PROJECT_ID: &str = "5f1a2b3c4d5e6f7a8b9c0d1e";
pub const PRIVATE_LINK_ID: &str = "6a1a2b3c4d5e6f7a8b9c0d1e";

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

/// A fault the fake applies to one request that passed digest auth, in queue order.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Answer with this status and Atlas error body, and `Retry-After` seconds if given.
    Status {
        status: u16,
        error_code: Option<String>,
        retry_after: Option<String>,
    },
    /// Answer 200 with this raw body and content type.
    Body { content_type: String, body: Vec<u8> },
    /// Never answer (until the fake stops).
    Hang,
    /// Close the connection without answering.
    Reset,
}

/// One request as the fake saw it.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    pub user_agent: Option<String>,
    pub accept: Option<String>,
    /// Whether it carried an `Authorization` header.
    pub had_authorization: bool,
    pub status: u16,
    pub at: Instant,
}

#[derive(Default)]
struct State {
    keys: HashMap<String, String>,
    endpoints: HashMap<(String, String, String), Endpoint>,
    /// Projects and private links that exist, even with no endpoints.
    projects: HashMap<String, Vec<String>>,
    faults: VecDeque<Fault>,
    /// Statuses an endpoint takes on, one per read, before it settles.
    scripts: HashMap<(String, String, String), VecDeque<Endpoint>>,
    requests: Vec<RecordedRequest>,
    deny_access_list: bool,
    nonces: digest::NonceBook,
}

/// A running fake Atlas. Stops when dropped.
pub struct FakeAtlas {
    address: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: watch::Sender<bool>,
}

impl FakeAtlas {
    /// Starts on 127.0.0.1 with a free port, the default key pair, and the default project and
    /// private link (with no endpoints yet).
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
        let mut state = State::default();
        state
            .keys
            .insert(PUBLIC_KEY.to_owned(), PRIVATE_KEY.to_owned());
        state
            .projects
            .insert(PROJECT_ID.to_owned(), vec![PRIVATE_LINK_ID.to_owned()]);
        let state = Arc::new(Mutex::new(state));
        let (stop, stopped) = watch::channel(false);
        tokio::spawn(serve(listener, tls, Arc::clone(&state), stopped));
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

    /// Adds or replaces an endpoint (creating its project and private link).
    pub fn put_endpoint(
        &self,
        project_id: &str,
        private_link_id: &str,
        endpoint_id: &str,
        endpoint: Endpoint,
    ) {
        let mut state = self.state.lock().unwrap();
        let links = state.projects.entry(project_id.to_owned()).or_default();
        if !links.iter().any(|link| link == private_link_id) {
            links.push(private_link_id.to_owned());
        }
        state.endpoints.insert(
            (
                project_id.to_owned(),
                private_link_id.to_owned(),
                endpoint_id.to_owned(),
            ),
            endpoint,
        );
    }

    /// Adds an endpoint to the default project and private link.
    pub fn put(&self, endpoint_id: &str, endpoint: Endpoint) {
        self.put_endpoint(PROJECT_ID, PRIVATE_LINK_ID, endpoint_id, endpoint);
    }

    /// Makes the endpoint (in the default project and private link) take on these states, one
    /// per read, then keep the last.
    pub fn script(&self, endpoint_id: &str, states: Vec<Endpoint>) {
        let key = (
            PROJECT_ID.to_owned(),
            PRIVATE_LINK_ID.to_owned(),
            endpoint_id.to_owned(),
        );
        let mut state = self.state.lock().unwrap();
        if let Some(first) = states.first() {
            state.endpoints.insert(key.clone(), first.clone());
        }
        state.scripts.insert(key, states.into_iter().collect());
    }

    /// Queues a fault for the next authenticated request.
    pub fn push_fault(&self, fault: Fault) {
        self.state.lock().unwrap().faults.push_back(fault);
    }

    /// Answers every authenticated request with 403 IP_ADDRESS_NOT_ON_ACCESS_LIST.
    pub fn deny_by_access_list(&self, deny: bool) {
        self.state.lock().unwrap().deny_access_list = deny;
    }

    /// Forgets every nonce, as Atlas does when they expire: the next answer gets `stale=true`.
    pub fn expire_nonces(&self) {
        self.state.lock().unwrap().nonces.forget_all();
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.lock().unwrap().requests.clone()
    }

    /// How many requests so far.
    pub fn request_count(&self) -> usize {
        self.state.lock().unwrap().requests.len()
    }

    /// How many challenges (401 with a fresh nonce) were issued.
    pub fn challenges_issued(&self) -> usize {
        self.state.lock().unwrap().nonces.issued()
    }
}

impl Drop for FakeAtlas {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

async fn serve(
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    state: Arc<Mutex<State>>,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        let stream = tokio::select! {
            _ = stopped.changed() => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => continue,
            },
        };
        let _ = stream.set_nodelay(true);
        let state = Arc::clone(&state);
        let mut stopped = stopped.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let state = Arc::clone(&state);
                async move { handle(request, state).await }
            });
            let builder = hyper::server::conn::http1::Builder::new();
            let served = async {
                match tls {
                    None => {
                        let _ = builder
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    }
                    // A client that refuses our certificate ends the handshake here.
                    Some(acceptor) => {
                        if let Ok(stream) = acceptor.accept(stream).await {
                            let _ = builder
                                .serve_connection(TokioIo::new(stream), service)
                                .await;
                        }
                    }
                }
            };
            tokio::select! {
                _ = served => {}
                _ = stopped.changed() => {}
            }
        });
    }
}

/// Why the fake drops a connection instead of answering.
#[derive(Debug)]
struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("fault: connection reset")
    }
}

impl std::error::Error for DropConnection {}

async fn handle(
    request: Request<Incoming>,
    state: Arc<Mutex<State>>,
) -> Result<Response<Full<Bytes>>, DropConnection> {
    let method = request.method().as_str().to_owned();
    let uri = request
        .uri()
        .path_and_query()
        .map(|path| path.as_str().to_owned())
        .unwrap_or_default();
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    };
    let authorization = header("authorization");
    let mut record = RecordedRequest {
        method: method.clone(),
        path: uri.clone(),
        user_agent: header("user-agent"),
        accept: header("accept"),
        had_authorization: authorization.is_some(),
        status: 0,
        at: Instant::now(),
    };

    let outcome = {
        let mut state = state.lock().unwrap();
        let state = &mut *state;
        let verdict = digest::check(
            authorization.as_deref(),
            &method,
            &uri,
            &state.keys,
            &mut state.nonces,
        );
        match verdict {
            digest::Verdict::Challenge { stale } => {
                Outcome::Answer(challenge(&mut state.nonces, stale))
            }
            digest::Verdict::Rejected => Outcome::Answer(challenge(&mut state.nonces, false)),
            digest::Verdict::Accepted => match state.faults.pop_front() {
                Some(Fault::Hang) => Outcome::Hang,
                Some(Fault::Reset) => Outcome::Reset,
                Some(Fault::Status {
                    status,
                    error_code,
                    retry_after,
                }) => {
                    let mut response =
                        error_response(status, error_code.as_deref(), "Injected fault.");
                    if let Some(seconds) = retry_after {
                        response
                            .headers_mut()
                            .insert(RETRY_AFTER, HeaderValue::from_str(&seconds).unwrap());
                    }
                    Outcome::Answer(response)
                }
                Some(Fault::Body { content_type, body }) => {
                    let mut response = Response::new(Full::new(Bytes::from(body)));
                    response
                        .headers_mut()
                        .insert(CONTENT_TYPE, HeaderValue::from_str(&content_type).unwrap());
                    Outcome::Answer(response)
                }
                None if state.deny_access_list => Outcome::Answer(error_response(
                    403,
                    Some("IP_ADDRESS_NOT_ON_ACCESS_LIST"),
                    "IP address 127.0.0.1 is not allowed to access this resource.",
                )),
                None => Outcome::Answer(route(&method, &uri, state)),
            },
        }
    };
    match outcome {
        Outcome::Answer(response) => {
            record.status = response.status().as_u16();
            state.lock().unwrap().requests.push(record);
            Ok(response)
        }
        Outcome::Hang => {
            state.lock().unwrap().requests.push(record);
            std::future::pending::<()>().await;
            Err(DropConnection)
        }
        Outcome::Reset => {
            state.lock().unwrap().requests.push(record);
            Err(DropConnection)
        }
    }
}

enum Outcome {
    Answer(Response<Full<Bytes>>),
    Hang,
    Reset,
}

/// Atlas's 401: the same body for a first challenge and for a wrong answer, with a new nonce.
fn challenge(nonces: &mut digest::NonceBook, stale: bool) -> Response<Full<Bytes>> {
    let nonce = nonces.issue();
    let mut response = error_response(401, None, "You are not authorized for this resource.");
    response.headers_mut().insert(
        WWW_AUTHENTICATE,
        HeaderValue::from_str(&Challenge { nonce, stale }.header()).unwrap(),
    );
    response
}

fn route(method: &str, uri: &str, state: &mut State) -> Response<Full<Bytes>> {
    let path = uri.split('?').next().unwrap_or_default();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let [
        "api",
        "atlas",
        "v1.0",
        "groups",
        project,
        "privateEndpoint",
        link,
        "interfaceEndpoints",
        endpoint,
    ] = segments.as_slice()
    else {
        return error_response(
            404,
            Some("RESOURCE_NOT_FOUND"),
            &format!("Cannot find resource {path}."),
        );
    };
    if method != "GET" {
        return error_response(405, None, "Method not allowed.");
    }
    let Some(links) = state.projects.get(*project) else {
        return error_response(
            404,
            Some("GROUP_NOT_FOUND"),
            &format!("No group with ID {project} exists."),
        );
    };
    if !links.iter().any(|known| known == link) {
        return error_response(
            404,
            Some("PRIVATELINK_NOT_FOUND"),
            &format!("PrivateLink connection {link} not found in group {project}."),
        );
    }
    let key = (
        (*project).to_owned(),
        (*link).to_owned(),
        (*endpoint).to_owned(),
    );
    if let Some(next) = state.scripts.get_mut(&key).and_then(VecDeque::pop_front) {
        state.endpoints.insert(key.clone(), next);
    }
    let Some(found) = state.endpoints.get(&key) else {
        return error_response(
            404,
            Some("PRIVATELINK_INTERFACE_ENDPOINT_NOT_FOUND"),
            &format!("Interface endpoint {endpoint} not found in PrivateLink connection {link}."),
        );
    };
    let body = serde_json::json!({
        "interfaceEndpointId": endpoint,
        "connectionStatus": found.connection_status,
        "errorMessage": found.error_message,
        "deleteRequested": found.delete_requested,
    });
    json_response(200, body.to_string())
}

fn error_response(status: u16, error_code: Option<&str>, detail: &str) -> Response<Full<Bytes>> {
    let status_code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut body = serde_json::json!({
        "detail": detail,
        "error": status,
        "parameters": [],
        "reason": status_code.canonical_reason().unwrap_or("Error"),
    });
    if let Some(code) = error_code {
        body["errorCode"] = serde_json::Value::from(code);
    }
    json_response(status, body.to_string())
}

fn json_response(status: u16, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
