//! The server: accepts connections on loopback, authenticates each request the way Atlas does
//! (digest, or a bearer token from the token endpoint), applies queued faults, then answers
//! from the routes; every request is recorded.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, WWW_AUTHENTICATE};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::digest::{self, Challenge, NonceBook, Verdict};
use crate::fixtures::Fixtures;
use crate::hostile::{self, Fault, Outcome, StallableIo};
use crate::responses::{FakeBody, error_response};
use crate::routes::{self, RouteSettings};
use crate::tokens::{self, BearerVerdict, TOKEN_PATH, TokenBook};

/// One request as the fake saw it.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    pub method: String,
    /// The path and query.
    pub path: String,
    pub user_agent: Option<String>,
    pub accept: Option<String>,
    /// Whether it carried an `Authorization` header.
    pub had_authorization: bool,
    /// The scheme of its `Authorization` header as sent ("Digest", "Bearer", "Basic", ...).
    pub authorization_scheme: Option<String>,
    /// The status answered; 0 when no complete answer was sent (hang, reset, stalled headers).
    pub status: u16,
    pub at: Instant,
}

/// Everything the fake knows, behind one lock.
pub(crate) struct State {
    pub keys: HashMap<String, String>,
    pub realm: String,
    pub nonces: NonceBook,
    pub tokens: TokenBook,
    pub fixtures: Fixtures,
    pub faults: VecDeque<Fault>,
    pub requests: Vec<RecordedRequest>,
    pub deny_access_list: bool,
    pub v1_gone: bool,
    pub retired_versions: HashSet<String>,
    /// How long an authenticated request to the data routes waits for its answer.
    pub answer_delay: Duration,
    /// How long a digest challenge (a 401 with a nonce) waits.
    pub challenge_delay: Duration,
}

impl State {
    pub fn new() -> Self {
        Self {
            keys: HashMap::new(),
            realm: digest::REALM.to_owned(),
            nonces: NonceBook::default(),
            tokens: TokenBook::default(),
            fixtures: Fixtures::default(),
            faults: VecDeque::new(),
            requests: Vec::new(),
            deny_access_list: false,
            v1_gone: false,
            retired_versions: HashSet::new(),
            answer_delay: Duration::ZERO,
            challenge_delay: Duration::ZERO,
        }
    }
}

pub(crate) type Shared = Arc<Mutex<State>>;

/// The state, even if a panicking test thread poisoned the lock: the fake must keep answering.
pub(crate) fn lock(state: &Shared) -> MutexGuard<'_, State> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The most a token request body may hold; the real one is a few dozen bytes.
const TOKEN_BODY_LIMIT: usize = 64 * 1024;

pub(crate) async fn serve(
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    state: Shared,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        let stream = tokio::select! {
            _ = stopped.changed() => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                // Out of descriptors and the like: back off instead of spinning.
                Err(_) => {
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let state = Arc::clone(&state);
        let mut stopped = stopped.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let stall = Arc::new(AtomicBool::new(false));
            let service_stall = Arc::clone(&stall);
            let service = hyper::service::service_fn(move |request| {
                let state = Arc::clone(&state);
                let stall = Arc::clone(&service_stall);
                async move { handle(request, state, stall).await }
            });
            let builder = hyper::server::conn::http1::Builder::new();
            let served = async {
                match tls {
                    None => {
                        let io = TokioIo::new(StallableIo::new(stream, stall));
                        let _ = builder.serve_connection(io, service).await;
                    }
                    // A client that refuses our certificate ends the handshake here.
                    Some(acceptor) => {
                        if let Ok(stream) = acceptor.accept(stream).await {
                            let io = TokioIo::new(StallableIo::new(stream, stall));
                            let _ = builder.serve_connection(io, service).await;
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
    state: Shared,
    stall: Arc<AtomicBool>,
) -> Result<Response<FakeBody>, DropConnection> {
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
    let accept = header("accept");
    let mut record = RecordedRequest {
        method: method.clone(),
        path: uri.clone(),
        user_agent: header("user-agent"),
        accept: accept.clone(),
        had_authorization: request.headers().contains_key("authorization"),
        authorization_scheme: authorization
            .as_deref()
            .and_then(|value| value.split_whitespace().next())
            .map(str::to_owned),
        status: 0,
        at: Instant::now(),
    };

    let path = uri.split('?').next().unwrap_or_default();
    let outcome = if path == TOKEN_PATH {
        let body = Limited::new(request.into_body(), TOKEN_BODY_LIMIT)
            .collect()
            .await
            .ok()
            .map(|collected| collected.to_bytes());
        lock(&state)
            .tokens
            .answer(&method, authorization.as_deref(), body.as_deref())
    } else {
        let mut state = lock(&state);
        authenticate_and_answer(
            &mut state,
            &method,
            &uri,
            authorization.as_deref(),
            accept.as_deref(),
        )
    };

    match outcome {
        Outcome::Answer(response) => {
            record.status = response.status().as_u16();
            lock(&state).requests.push(record);
            Ok(response)
        }
        Outcome::AnswerAfter(delay, response) => {
            record.status = response.status().as_u16();
            lock(&state).requests.push(record);
            tokio::time::sleep(delay).await;
            Ok(response)
        }
        Outcome::Hang => {
            lock(&state).requests.push(record);
            std::future::pending::<()>().await;
            Err(DropConnection)
        }
        Outcome::Reset => {
            lock(&state).requests.push(record);
            Err(DropConnection)
        }
        Outcome::StallHeaders => {
            lock(&state).requests.push(record);
            stall.store(true, std::sync::atomic::Ordering::SeqCst);
            Ok(error_response(200, None, "Headers never complete."))
        }
    }
}

fn authenticate_and_answer(
    state: &mut State,
    method: &str,
    uri: &str,
    authorization: Option<&str>,
    accept: Option<&str>,
) -> Outcome {
    let bearer = authorization.and_then(|value| value.trim().strip_prefix("Bearer "));
    if let Some(token) = bearer {
        let verdict = state.tokens.check_bearer(token.trim());
        if verdict != BearerVerdict::Valid {
            return Outcome::Answer(tokens::bearer_rejected(&verdict));
        }
    } else {
        let verdict = digest::check(
            authorization,
            method,
            uri,
            &state.realm,
            &state.keys,
            &mut state.nonces,
        );
        match verdict {
            Verdict::Accepted => {}
            Verdict::Challenge { stale } => {
                return after(state.challenge_delay, challenge(state, stale));
            }
            Verdict::Rejected => return after(state.challenge_delay, challenge(state, false)),
        }
    }
    if let Some(fault) = state.faults.pop_front() {
        return hostile::apply(fault);
    }
    if state.deny_access_list {
        return Outcome::Answer(error_response(
            403,
            Some("IP_ADDRESS_NOT_ON_ACCESS_LIST"),
            "IP address 127.0.0.1 is not allowed to access this resource.",
        ));
    }
    let settings = RouteSettings {
        v1_gone: state.v1_gone,
        retired_versions: &state.retired_versions,
    };
    let answer = routes::answer(method, uri, accept, &settings, &mut state.fixtures);
    after(state.answer_delay, answer)
}

/// `response`, sent once `delay` has passed (at once for zero).
fn after(delay: Duration, response: Response<FakeBody>) -> Outcome {
    if delay.is_zero() {
        Outcome::Answer(response)
    } else {
        Outcome::AnswerAfter(delay, response)
    }
}

/// Atlas's 401: the same body for a first challenge and for a wrong answer, with a new nonce.
fn challenge(state: &mut State, stale: bool) -> Response<FakeBody> {
    let nonce = state.nonces.issue();
    let mut response = error_response(401, None, "You are not authorized for this resource.");
    let challenge = Challenge { nonce, stale };
    // `set_challenge_realm` refuses realms a header cannot hold; Atlas's own is the fallback.
    let value = HeaderValue::from_str(&challenge.header_with_realm(&state.realm))
        .or_else(|_| HeaderValue::from_str(&challenge.header()));
    if let Ok(value) = value {
        response.headers_mut().insert(WWW_AUTHENTICATE, value);
    }
    response
}
