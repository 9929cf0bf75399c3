//! One configured connection to the Atlas Admin API: a shared HTTP client (connection reuse,
//! HTTP/2 where Atlas offers it), retries, and a digest session whose nonce is reused across
//! requests, so a steady-state read costs one round trip.
//!
//! Digest sessions: diqwest caches the server's nonce per host and answers later requests with
//! it and an increasing `nc`. When a reused nonce is refused (expired: `stale=true`, or any 401)
//! it fetches one fresh challenge before reporting the 401. Until a nonce is cached, requests
//! take turns, so that reads started together share one challenge instead of each fetching its
//! own.

use std::fmt;
use std::time::{Duration, Instant};

use diqwest::{DigestAuthCredentials, DigestAuthSession, WithDigestAuth};
use reqwest::header::{ACCEPT, CONTENT_TYPE, RETRY_AFTER};
use serde::de::DeserializeOwned;
use tokio::sync::{Mutex, MutexGuard};
use url::Url;

use super::error::{ApiError, AtlasError, TimeoutPhase, excerpt};
use super::retry::RetryPolicy;
use crate::logging;

/// A response body larger than this is refused, not buffered.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// What a client needs; everything comes from the provider configuration.
#[derive(Clone)]
pub struct ClientSettings {
    /// The API's origin, such as `https://cloud.mongodb.com`.
    pub base_url: Url,
    pub public_key: String,
    pub private_key: String,
    pub user_agent: String,
    /// How long one HTTP request may take, from connecting to the end of the body.
    pub request_timeout: Duration,
    /// How long connecting may take.
    pub connect_timeout: Duration,
    pub retry: RetryPolicy,
    /// Certificate authorities (DER) trusted in addition to the system roots.
    pub extra_roots: Vec<rustls_pki_types::CertificateDer<'static>>,
}

impl fmt::Debug for ClientSettings {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("ClientSettings")
            .field("base_url", &self.base_url.as_str())
            .field("public_key", &self.public_key)
            .field("private_key", &"(redacted)")
            .field("user_agent", &self.user_agent)
            .field("request_timeout", &self.request_timeout)
            .field("retry", &self.retry)
            .field("extra_roots", &self.extra_roots.len())
            .finish()
    }
}

/// A client for one Atlas base URL and API key.
pub struct AtlasClient {
    http: reqwest::Client,
    base_url: Url,
    session: DigestAuthSession,
    retry: RetryPolicy,
    request_timeout: Duration,
    connect_timeout: Duration,
    /// Held by the one request that fetches a challenge while no nonce is cached.
    challenge_turn: Mutex<()>,
}

impl fmt::Debug for AtlasClient {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("AtlasClient")
            .field("base_url", &self.base_url.as_str())
            .finish_non_exhaustive()
    }
}

impl AtlasClient {
    pub fn new(settings: ClientSettings) -> Result<Self, AtlasError> {
        let tls = super::trust::client_config(settings.extra_roots.clone()).map_err(|error| {
            AtlasError::Transport {
                host: host_of(&settings.base_url),
                cause: format!("TLS cannot be set up: {error}"),
            }
        })?;
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .user_agent(settings.user_agent)
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.request_timeout)
            .tcp_nodelay(true)
            .build()
            .map_err(|error| AtlasError::Transport {
                host: host_of(&settings.base_url),
                cause: error_chain(&error),
            })?;
        Ok(Self {
            http,
            base_url: settings.base_url,
            session: DigestAuthSession::new(settings.public_key, settings.private_key),
            retry: settings.retry,
            request_timeout: settings.request_timeout,
            connect_timeout: settings.connect_timeout,
            challenge_turn: Mutex::new(()),
        })
    }

    /// The host (and port, if any) requests go to, for messages.
    pub fn host(&self) -> String {
        host_of(&self.base_url)
    }

    /// The URL of an API path below `/api/atlas/v1.0`; each segment is percent-encoded, so an
    /// id can never change the path's shape.
    pub(crate) fn api_url(&self, segments: &[&str]) -> Url {
        let mut url = self.base_url.clone();
        url.set_query(None);
        url.set_fragment(None);
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty()
                .extend(["api", "atlas", "v1.0"])
                .extend(segments);
        }
        url
    }

    /// GETs `url` with digest auth and decodes a 200 body as `T`, retrying what the retry
    /// policy allows.
    pub(crate) async fn get_json<T: DeserializeOwned>(&self, url: Url) -> Result<T, AtlasError> {
        let started = Instant::now();
        let mut attempt = 1;
        loop {
            let error = match self.get_json_once(&url, attempt).await {
                Ok(value) => return Ok(value),
                Err(error) => error,
            };
            let Some(delay) = self.retry.delay_before_retry(&error, attempt) else {
                return Err(if attempt > 1 {
                    AtlasError::GaveUp {
                        attempts: attempt,
                        elapsed: round_to_millis(started.elapsed()),
                        last: Box::new(error),
                    }
                } else {
                    error
                });
            };
            logging::debug(
                "retrying Atlas request",
                &[
                    ("path", url.path().into()),
                    ("attempt", attempt.into()),
                    ("error", error.to_string().into()),
                    ("delay_ms", (delay.as_millis() as u64).into()),
                ],
            );
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    async fn get_json_once<T: DeserializeOwned>(
        &self,
        url: &Url,
        attempt: u32,
    ) -> Result<T, AtlasError> {
        let started = Instant::now();
        let turn = self.challenge_turn_if_needed().await;
        let response = self
            .http
            .get(url.clone())
            .header(ACCEPT, "application/json")
            .send_digest_auth(&self.session)
            .await
            .map_err(|error| self.request_error(error))?;
        drop(turn);
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("no content type")
            .to_owned();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(parse_retry_after);
        let body = self.read_body(response).await?;
        logging::debug(
            "Atlas request done",
            &[
                ("method", "GET".into()),
                ("path", url.path().into()),
                ("status", status.into()),
                ("attempt", attempt.into()),
                (
                    "duration_ms",
                    (started.elapsed().as_secs_f64() * 1000.0).into(),
                ),
            ],
        );
        if !(200..300).contains(&status) {
            return Err(AtlasError::Api(ApiError::from_body(
                status,
                &body,
                retry_after,
            )));
        }
        serde_json::from_slice(&body).map_err(|error| AtlasError::UnexpectedBody {
            status,
            content_type,
            excerpt: excerpt(&body),
            cause: error.to_string(),
        })
    }

    /// While no nonce is cached, one request at a time fetches the challenge; the others wait
    /// for it and then reuse its nonce.
    async fn challenge_turn_if_needed(&self) -> Option<MutexGuard<'_, ()>> {
        let host = self.base_url.host_str().unwrap_or_default();
        let has_nonce = || {
            matches!(
                DigestAuthCredentials::cached_context(&&self.session, host),
                Ok(Some(_))
            )
        };
        if has_nonce() {
            return None;
        }
        let turn = self.challenge_turn.lock().await;
        if has_nonce() { None } else { Some(turn) }
    }

    /// Reads the body, refusing one over [`MAX_BODY_BYTES`] before buffering it.
    async fn read_body(&self, mut response: reqwest::Response) -> Result<Vec<u8>, AtlasError> {
        let too_large = || AtlasError::BodyTooLarge {
            host: self.host(),
            limit: MAX_BODY_BYTES,
        };
        if response
            .content_length()
            .is_some_and(|length| length > MAX_BODY_BYTES as u64)
        {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|error| self.transport_error(&error))?
        {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    fn request_error(&self, error: diqwest::error::Error) -> AtlasError {
        match error {
            diqwest::error::Error::Reqwest(error) => self.transport_error(&error),
            other => AtlasError::Challenge {
                cause: other.to_string(),
            },
        }
    }

    fn transport_error(&self, error: &reqwest::Error) -> AtlasError {
        if error.is_timeout() {
            let (phase, limit) = if error.is_connect() {
                (TimeoutPhase::Connect, self.connect_timeout)
            } else {
                (TimeoutPhase::Answer, self.request_timeout)
            };
            return AtlasError::Timeout {
                host: self.host(),
                limit,
                phase,
            };
        }
        AtlasError::Transport {
            host: self.host(),
            cause: error_chain(error),
        }
    }
}

fn host_of(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_owned(),
        _ => url.as_str().to_owned(),
    }
}

/// The causes below a transport error, joined, without the URL reqwest puts first: the deepest
/// one ("Connection refused (os error 111)") is what the user needs.
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut causes = Vec::new();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !causes.contains(&text) {
            causes.push(text);
        }
        source = cause.source();
    }
    if causes.is_empty() {
        error.to_string()
    } else {
        causes.join(": ")
    }
}

fn round_to_millis(duration: Duration) -> Duration {
    Duration::from_millis(duration.as_millis() as u64)
}

/// `Retry-After` as seconds; an HTTP date is also accepted.
fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date =
        time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc2822).ok()?;
    let wait = date - time::OffsetDateTime::now_utc();
    Some(Duration::try_from(wait).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(base: &str) -> AtlasClient {
        AtlasClient::new(ClientSettings {
            base_url: Url::parse(base).unwrap(),
            public_key: "abcdefgh".into(),
            private_key: "secret".into(),
            user_agent: "test".into(),
            request_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(5),
            retry: RetryPolicy::with_max_retries(0),
            extra_roots: Vec::new(),
        })
        .unwrap()
    }

    #[test]
    fn api_url_encodes_every_segment() {
        let url = client("https://cloud.mongodb.com").api_url(&["groups", "a/b?c#d", "x y"]);
        assert_eq!(
            url.as_str(),
            "https://cloud.mongodb.com/api/atlas/v1.0/groups/a%2Fb%3Fc%23d/x%20y"
        );
    }

    #[test]
    fn api_url_keeps_a_base_path_prefix() {
        let url = client("http://127.0.0.1:8080/proxy/").api_url(&["groups"]);
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:8080/proxy/api/atlas/v1.0/groups"
        );
    }

    #[test]
    fn settings_debug_never_shows_the_private_key() {
        let settings = ClientSettings {
            base_url: Url::parse("https://cloud.mongodb.com").unwrap(),
            public_key: "abcdefgh".into(),
            private_key: "0d6b1c2e-secret".into(),
            user_agent: "test".into(),
            request_timeout: Duration::from_secs(1),
            connect_timeout: Duration::from_secs(1),
            retry: RetryPolicy::with_max_retries(0),
            extra_roots: Vec::new(),
        };
        let shown = format!("{settings:?}");
        assert!(
            !shown.contains("0d6b1c2e-secret") && shown.contains("abcdefgh"),
            "{shown}"
        );
    }

    #[test]
    fn retry_after_in_seconds_and_as_a_date() {
        assert_eq!(parse_retry_after("7"), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }
}
