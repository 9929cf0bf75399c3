//! One configured connection to the Atlas Admin API: a shared HTTP client (connection reuse,
//! HTTP/2 where Atlas offers it), the route family (`api_version`), authentication (a digest
//! session whose nonce is reused, or a service account's bearer token), retries, and bounded
//! answers. Redirects are never followed: Atlas does not redirect its API, and following one
//! would send the request (and its credentials) somewhere other than `base_url`.

use std::fmt;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header::{
    ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, LOCATION, RETRY_AFTER,
    WWW_AUTHENTICATE,
};
use serde::de::DeserializeOwned;
use url::Url;

use super::credentials::Credentials;
use super::digest::DigestSession;
use super::error::{ApiError, AtlasError, TimeoutPhase, excerpt};
use super::retry::RetryPolicy;
use super::routes::{ApiVersion, Resource, RouteChoice, RouteFamily, RouteStep};
use super::service_account::{Token, TokenAnswer, TokenCache};
use crate::logging;

/// A response body larger than this is refused, not buffered.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// What a client needs; everything comes from the provider configuration.
#[derive(Clone)]
pub struct ClientSettings {
    /// The API's origin, such as `https://cloud.mongodb.com`.
    pub base_url: Url,
    pub credentials: Credentials,
    /// Which route family to read from.
    pub api_version: ApiVersion,
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
            .field("credentials", &self.credentials)
            .field("api_version", &self.api_version)
            .field("user_agent", &self.user_agent)
            .field("request_timeout", &self.request_timeout)
            .field("retry", &self.retry)
            .field("extra_roots", &self.extra_roots.len())
            .finish()
    }
}

/// How requests authenticate.
enum Auth {
    Digest(DigestSession),
    ServiceAccount(TokenCache),
    AccessToken(String),
}

/// A client for one Atlas base URL and set of credentials.
pub struct AtlasClient {
    http: reqwest::Client,
    base_url: Url,
    auth: Auth,
    routes: RouteChoice,
    retry: RetryPolicy,
    request_timeout: Duration,
    connect_timeout: Duration,
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
        let mut base_url = settings.base_url;
        // User info in the base URL would be sent as Basic auth; the provider refuses such a
        // URL, and the client never uses it.
        let _ = base_url.set_username("");
        let _ = base_url.set_password(None);
        let tls = super::trust::client_config(settings.extra_roots.clone()).map_err(|error| {
            AtlasError::Transport {
                host: host_of(&base_url),
                cause: format!("TLS cannot be set up: {error}"),
            }
        })?;
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .user_agent(settings.user_agent)
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.request_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .tcp_nodelay(true)
            .build()
            .map_err(|error| AtlasError::Transport {
                host: host_of(&base_url),
                cause: error_chain(&error),
            })?;
        let auth = match settings.credentials {
            Credentials::ApiKey {
                public_key,
                private_key,
            } => Auth::Digest(DigestSession::new(public_key, private_key)),
            Credentials::ServiceAccount {
                client_id,
                client_secret,
            } => Auth::ServiceAccount(TokenCache::new(client_id, client_secret)),
            Credentials::AccessToken(token) => Auth::AccessToken(token),
        };
        Ok(Self {
            http,
            base_url,
            auth,
            routes: RouteChoice::new(settings.api_version),
            retry: settings.retry,
            request_timeout: settings.request_timeout,
            connect_timeout: settings.connect_timeout,
        })
    }

    /// The host (and port, if any) requests go to, for messages.
    pub fn host(&self) -> String {
        host_of(&self.base_url)
    }

    /// True once per process, for the first read that asks after `api_version = "auto"` found
    /// the v1.0 routes gone and moved to v2: that read carries the warning.
    pub fn take_route_switch_notice(&self) -> bool {
        self.routes.take_switch_notice()
    }

    /// The URL of a route; each segment is percent-encoded, so an id can never change the path's
    /// shape. A path prefix in the base URL is kept.
    pub(crate) fn url(&self, family: RouteFamily, segments: &[&str]) -> Url {
        let mut url = self.base_url.clone();
        url.set_query(None);
        url.set_fragment(None);
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(family.prefix()).extend(segments);
        }
        url
    }

    /// GETs the resource on the route `api_version` selects (v1.0; v2 with the versioned Accept
    /// header; or auto, which probes v1.0 once per process and repeats the read on v2 when v1.0
    /// is gone), with retries, and decodes a 2xx body as `T`.
    pub(crate) async fn get_resource<T: DeserializeOwned>(
        &self,
        resource: &Resource<'_>,
    ) -> Result<T, AtlasError> {
        match self.routes.next_step().await {
            RouteStep::Use(family) => self.get_json(family, resource).await,
            RouteStep::Probe(turn) => {
                let outcome = self.get_json(RouteFamily::Legacy, resource).await;
                let switch = self.routes.settle(&outcome);
                drop(turn);
                if !switch {
                    return outcome;
                }
                let answered = outcome
                    .as_ref()
                    .err()
                    .and_then(AtlasError::api)
                    .map(ApiError::status_and_code)
                    .unwrap_or_default();
                logging::warn(
                    "Atlas no longer serves the v1.0 routes; reading from the v2 routes from now on \
                     (set api_version = \"v2\" to skip this probe)",
                    &[("v1_answer", answered.into())],
                );
                self.get_json(RouteFamily::Versioned, resource).await
            }
        }
    }

    async fn get_json<T: DeserializeOwned>(
        &self,
        family: RouteFamily,
        resource: &Resource<'_>,
    ) -> Result<T, AtlasError> {
        let segments = match family {
            RouteFamily::Versioned => &resource.versioned,
            _ => &resource.legacy,
        };
        let url = &self.url(family, segments);
        self.with_retries(url, |attempt| async move {
            let started = Instant::now();
            let response = self.send_authenticated(family, url).await?;
            let body = self
                .answer_body(family, url, attempt, started, response)
                .await?;
            decode(family, &body)
        })
        .await
    }

    /// Runs `attempt` until it succeeds or the retry policy gives up.
    async fn with_retries<T, F, Fut>(&self, url: &Url, mut attempt: F) -> Result<T, AtlasError>
    where
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Result<T, AtlasError>>,
    {
        let started = Instant::now();
        let mut number = 1;
        loop {
            let error = match attempt(number).await {
                Ok(value) => return Ok(value),
                Err(error) => error,
            };
            let Some(delay) = self.retry.delay_before_retry(&error, number) else {
                return Err(if number > 1 {
                    AtlasError::GaveUp {
                        attempts: number,
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
                    ("attempt", number.into()),
                    ("error", error.to_string().into()),
                    ("delay_ms", (delay.as_millis() as u64).into()),
                ],
            );
            tokio::time::sleep(delay).await;
            number += 1;
        }
    }

    /// Sends a GET with the configured credentials, answering a digest challenge or renewing a
    /// refused service-account token once.
    async fn send_authenticated(
        &self,
        family: RouteFamily,
        url: &Url,
    ) -> Result<reqwest::Response, AtlasError> {
        match &self.auth {
            Auth::Digest(session) => self.send_digest(session, family, url).await,
            Auth::ServiceAccount(cache) => {
                let token = cache.token(None, || self.fetch_token(cache)).await?;
                let response = self.send(family, url, Some(bearer(&token)?)).await?;
                if response.status() != StatusCode::UNAUTHORIZED {
                    return Ok(response);
                }
                // Revoked or expired early: one new token, one more try.
                self.discard(response).await;
                let renewed = cache
                    .token(Some(&token), || self.fetch_token(cache))
                    .await?;
                self.send(family, url, Some(bearer(&renewed)?)).await
            }
            Auth::AccessToken(token) => self.send(family, url, Some(bearer(token)?)).await,
        }
    }

    /// Digest: answer the cached challenge; on a 401 that carries a new challenge (the first
    /// request, or a nonce Atlas no longer accepts), learn it and answer once more. A 401 to a
    /// fresh answer is the caller's to report.
    async fn send_digest(
        &self,
        session: &DigestSession,
        family: RouteFamily,
        url: &Url,
    ) -> Result<reqwest::Response, AtlasError> {
        let uri = request_uri(url);
        let turn = session.turn_if_needed().await;
        let answer = session.answer(digest_auth::HttpMethod::GET, &uri);
        let response = self
            .send(
                family,
                url,
                answer.map(|text| header_value(&text)).transpose()?,
            )
            .await?;
        if response.status() != StatusCode::UNAUTHORIZED {
            return Ok(response);
        }
        let Some(challenge) = digest_challenge(response.headers()) else {
            return Ok(response);
        };
        let stale = session
            .learn(&challenge)
            .map_err(|error| AtlasError::Challenge {
                cause: error.to_string(),
            })?;
        if stale {
            logging::debug("Atlas expired the digest nonce; answering its new one", &[]);
        }
        self.discard(response).await;
        let answer = session
            .answer(digest_auth::HttpMethod::GET, &uri)
            .ok_or_else(|| AtlasError::Challenge {
                cause: "the challenge could not be answered".into(),
            })?;
        let response = self.send(family, url, Some(header_value(&answer)?)).await;
        drop(turn);
        response
    }

    /// One GET on `url`, refusing a redirect.
    async fn send(
        &self,
        family: RouteFamily,
        url: &Url,
        authorization: Option<HeaderValue>,
    ) -> Result<reqwest::Response, AtlasError> {
        let mut request = self.http.get(url.clone()).header(ACCEPT, family.accept());
        if let Some(authorization) = authorization {
            request = request.header(AUTHORIZATION, authorization);
        }
        let response = request
            .send()
            .await
            .map_err(|error| self.transport_error(&error))?;
        refuse_redirect(&response)?;
        Ok(response)
    }

    /// Gets a new token for the service account, with retries (a 429 is retried like any other).
    async fn fetch_token(&self, cache: &TokenCache) -> Result<Token, AtlasError> {
        let url = self.url(RouteFamily::Token, &["token"]);
        logging::debug(
            "requesting a service account token",
            &[("client_id", cache.client_id.clone().into())],
        );
        self.with_retries(&url, |attempt| {
            let url = &url;
            async move {
                let started = Instant::now();
                let response = self
                    .http
                    .post(url.clone())
                    .basic_auth(&cache.client_id, Some(&cache.client_secret))
                    .header(ACCEPT, RouteFamily::Token.accept())
                    .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body("grant_type=client_credentials")
                    .send()
                    .await
                    .map_err(|error| self.transport_error(&error))?;
                refuse_redirect(&response)?;
                let answered = self
                    .answer_body(RouteFamily::Token, url, attempt, started, response)
                    .await?;
                let answer: TokenAnswer = decode(RouteFamily::Token, &answered)?;
                answer
                    .into_token(tokio::time::Instant::now())
                    .map_err(|problem| AtlasError::UnexpectedBody {
                        status: 200,
                        content_type: "application/json".into(),
                        excerpt: TOKEN_BODY_HIDDEN.into(),
                        cause: problem.to_string(),
                    })
            }
        })
        .await
    }

    /// Logs the answer, reads its body (bounded), and turns a non-2xx status into an error.
    async fn answer_body(
        &self,
        family: RouteFamily,
        url: &Url,
        attempt: u32,
        started: Instant,
        response: reqwest::Response,
    ) -> Result<Answered, AtlasError> {
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .map(|value| excerpt(value.as_bytes()))
            .unwrap_or_else(|| "no content type".to_owned());
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(parse_retry_after);
        let mut fields = vec![
            ("method", family_method(family).into()),
            ("path", url.path().into()),
            ("status", status.into()),
            ("attempt", attempt.into()),
        ];
        for (name, field) in [
            ("ratelimit-limit", "ratelimit_limit"),
            ("ratelimit-remaining", "ratelimit_remaining"),
        ] {
            if let Some(value) = response.headers().get(name).and_then(|v| v.to_str().ok()) {
                fields.push((field, excerpt(value.as_bytes()).into()));
            }
        }
        let body = self.read_body(response).await?;
        fields.push((
            "duration_ms",
            (started.elapsed().as_secs_f64() * 1000.0).into(),
        ));
        logging::debug("Atlas request done", &fields);
        if !(200..300).contains(&status) {
            return Err(AtlasError::Api(ApiError::from_body(
                status,
                &body,
                retry_after,
                family,
            )));
        }
        Ok(Answered {
            status,
            content_type,
            body,
        })
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

    /// Reads and drops the body of an answer we do not use, so its connection can be reused.
    async fn discard(&self, response: reqwest::Response) {
        let _ = self.read_body(response).await;
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

/// What an error shows instead of a token endpoint's body, which may hold a token.
const TOKEN_BODY_HIDDEN: &str = "(not shown: the token endpoint's answers may hold a token)";

/// A 2xx answer.
struct Answered {
    status: u16,
    content_type: String,
    body: Vec<u8>,
}

/// Decodes a 2xx body; the error names what was missing or wrong.
fn decode<T: DeserializeOwned>(family: RouteFamily, answer: &Answered) -> Result<T, AtlasError> {
    serde_json::from_slice(&answer.body).map_err(|error| AtlasError::UnexpectedBody {
        status: answer.status,
        content_type: answer.content_type.clone(),
        excerpt: match family {
            RouteFamily::Token => TOKEN_BODY_HIDDEN.into(),
            _ => excerpt(&answer.body),
        },
        cause: error.to_string(),
    })
}

fn family_method(family: RouteFamily) -> &'static str {
    match family {
        RouteFamily::Token => "POST",
        _ => "GET",
    }
}

/// The digest challenge of a 401, if it carries one.
fn digest_challenge(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(WWW_AUTHENTICATE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| {
            value
                .trim_start()
                .get(..6)
                .is_some_and(|scheme| scheme.eq_ignore_ascii_case("digest"))
        })
        .map(str::to_owned)
}

/// The request-target a digest answer hashes: path and query.
fn request_uri(url: &Url) -> String {
    match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    }
}

fn header_value(text: &str) -> Result<HeaderValue, AtlasError> {
    HeaderValue::from_str(text).map_err(|_| AtlasError::Challenge {
        cause: "the answer to the challenge is not a valid HTTP header value".into(),
    })
}

fn bearer(token: &str) -> Result<HeaderValue, AtlasError> {
    let mut value = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
        AtlasError::UnexpectedBody {
            status: 200,
            content_type: "application/json".into(),
            excerpt: TOKEN_BODY_HIDDEN.into(),
            cause: "the access token has characters an HTTP header cannot carry".into(),
        }
    })?;
    value.set_sensitive(true);
    Ok(value)
}

/// A 3xx is an error that names the status and where it pointed (never followed).
fn refuse_redirect(response: &reqwest::Response) -> Result<(), AtlasError> {
    if !response.status().is_redirection() {
        return Ok(());
    }
    let location = response
        .headers()
        .get(LOCATION)
        .map(|value| without_user_info(&String::from_utf8_lossy(value.as_bytes())));
    Err(AtlasError::Redirect {
        status: response.status().as_u16(),
        location,
    })
}

/// A URL for a message: user info removed, printable, shortened.
fn without_user_info(text: &str) -> String {
    let shown = match Url::parse(text) {
        Ok(mut url) => {
            let _ = url.set_username("");
            let _ = url.set_password(None);
            url.to_string()
        }
        Err(_) => text.to_owned(),
    };
    excerpt(shown.as_bytes())
}

fn host_of(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_owned(),
        _ => "(no host)".to_owned(),
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
            credentials: Credentials::ApiKey {
                public_key: "abcdefgh".into(),
                private_key: "secret".into(),
            },
            api_version: ApiVersion::Auto,
            user_agent: "test".into(),
            request_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(5),
            retry: RetryPolicy::with_max_retries(0),
            extra_roots: Vec::new(),
        })
        .unwrap()
    }

    #[test]
    fn urls_encode_every_segment() {
        let url = client("https://cloud.mongodb.com")
            .url(RouteFamily::Legacy, &["groups", "a/b?c#d", "x y"]);
        assert_eq!(
            url.as_str(),
            "https://cloud.mongodb.com/api/atlas/v1.0/groups/a%2Fb%3Fc%23d/x%20y"
        );
    }

    #[test]
    fn urls_keep_a_base_path_prefix_and_drop_user_info() {
        let client = client("http://admin:pw@127.0.0.1:8080/proxy/");
        assert_eq!(
            client.url(RouteFamily::Versioned, &["groups"]).as_str(),
            "http://127.0.0.1:8080/proxy/api/atlas/v2/groups"
        );
        assert_eq!(
            client.url(RouteFamily::Token, &["token"]).as_str(),
            "http://127.0.0.1:8080/proxy/api/oauth/token"
        );
    }

    #[test]
    fn settings_debug_never_shows_a_secret() {
        let settings = ClientSettings {
            base_url: Url::parse("https://cloud.mongodb.com").unwrap(),
            credentials: Credentials::ApiKey {
                public_key: "abcdefgh".into(),
                private_key: "0d6b1c2e-secret".into(),
            },
            api_version: ApiVersion::Auto,
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
    fn redirect_locations_are_shown_without_passwords() {
        assert_eq!(
            without_user_info("http://admin:hunter2@evil.example:81/x"),
            "http://evil.example:81/x"
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
