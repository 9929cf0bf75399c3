//! One configured connection to the Atlas Admin API: a shared HTTP client (connection reuse,
//! HTTP/2 where Atlas offers it), the route family (`api_version`), authentication (a digest
//! session whose nonce is reused, or a service account's bearer token), retries, and bounded
//! answers. Redirects are never followed: Atlas does not redirect its API, and following one
//! would send the request (and its credentials) somewhere other than `base_url`.

use std::fmt;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use url::Url;

use super::credentials::Credentials;
use super::digest::DigestSession;
use super::error::{ApiError, AtlasError};
use super::retry::RetryPolicy;
use super::routes::{ApiVersion, Resource, RouteChoice, RouteFamily, Verdict};
use super::service_account::TokenCache;
use super::shared_fetch::SharedFetch;
use crate::logging;
use answer::{decode, error_chain};

mod answer;
mod auth;

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
    /// The digest session, and the one fetch of a first challenge in flight: `Ok(true)` once a
    /// challenge is learned, `Ok(false)` when Atlas answered without one.
    Digest(DigestSession, SharedFetch<Result<bool, AtlasError>>),
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
            } => Auth::Digest(
                DigestSession::new(public_key, private_key),
                SharedFetch::default(),
            ),
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

    /// The configured `api_version`.
    pub fn api_version(&self) -> ApiVersion {
        self.routes.configured()
    }

    /// GETs a resource that exists only on the v2 routes (an Azure or GCP private endpoint
    /// service and its endpoints), whatever `auto` has found: the v1.0 probe is about routes
    /// this resource never had. With `api_version = "v1.0"` nothing is sent.
    pub(crate) async fn get_versioned_resource<T: DeserializeOwned>(
        &self,
        resource: &Resource<'_>,
        needs_v2: &'static str,
    ) -> Result<T, AtlasError> {
        if let Some(segment) = resource.unusable_segment() {
            return Err(AtlasError::UnusableId {
                id: segment.chars().take(200).collect(),
            });
        }
        if self.api_version() == ApiVersion::Legacy {
            return Err(AtlasError::OnlyOnV2 { what: needs_v2 });
        }
        self.get_json(RouteFamily::Versioned, resource, None).await
    }

    /// GETs the resource on the route `api_version` selects (v1.0; v2 with the versioned Accept
    /// header; or auto, which probes v1.0 until an answer settles it and repeats the read on v2
    /// when v1.0 is gone), with retries, and decodes a 2xx body as `T`.
    pub(crate) async fn get_resource<T: DeserializeOwned>(
        &self,
        resource: &Resource<'_>,
    ) -> Result<T, AtlasError> {
        if let Some(segment) = resource.unusable_segment() {
            return Err(AtlasError::UnusableId {
                id: segment.chars().take(200).collect(),
            });
        }
        if let Some(family) = self.routes.family() {
            return self.get_json(family, resource, None).await;
        }
        // One probe in flight: the read that runs it keeps its own outcome here; reads that
        // wait for it get its verdict, or its failure, and no probe of their own.
        let mut probed = None;
        let shared = self
            .routes
            .probe(|| async {
                if self.routes.family().is_some() {
                    return Ok(()); // settled by a probe that ended a moment ago
                }
                // A process's first digest challenge is fetched on the v2 route: Atlas
                // authenticates before it routes, so the challenge is the same, and the v1.0
                // route then sees one request, the probe itself.
                let outcome = self
                    .get_json(RouteFamily::Legacy, resource, Some(RouteFamily::Versioned))
                    .await;
                let verdict = self.routes.settle(&outcome);
                let shared = match (&outcome, verdict) {
                    (Err(error), Verdict::Open) => Err(error.clone()),
                    _ => Ok(()),
                };
                probed = Some((outcome, verdict));
                shared
            })
            .await;
        match probed {
            Some((outcome, Verdict::MovedToVersioned)) => {
                self.read_after_switch(resource, outcome).await
            }
            Some((outcome, _)) => outcome,
            None => {
                shared?;
                // The probe shares `Ok` only once the family is settled.
                let family = self.routes.family().unwrap_or(RouteFamily::Versioned);
                self.get_json(family, resource, None).await
            }
        }
    }

    /// The probe's read repeated on v2 after v1.0 answered "gone". Only when v2 finds the resource
    /// is the switch reported (a warning, once): a v1.0 `RESOURCE_NOT_FOUND` for a resource that
    /// v2 does not find either proves nothing about v1.0.
    async fn read_after_switch<T: DeserializeOwned>(
        &self,
        resource: &Resource<'_>,
        legacy: Result<T, AtlasError>,
    ) -> Result<T, AtlasError> {
        let answered = legacy
            .as_ref()
            .err()
            .and_then(AtlasError::api)
            .map(ApiError::status_and_code)
            .unwrap_or_default();
        let outcome = self.get_json(RouteFamily::Versioned, resource, None).await;
        if outcome.is_ok() {
            self.routes.confirm_switch();
            logging::warn(
                "Atlas no longer serves the v1.0 routes; reading from the v2 routes from now on \
                 (set api_version = \"v2\" to skip this probe)",
                &[("v1_answer", answered.into())],
            );
        } else {
            logging::debug(
                "the v1.0 route answered as if gone and v2 did not find the resource either; \
                 reading from the v2 routes from now on",
                &[("v1_answer", answered.into())],
            );
        }
        outcome
    }

    /// GETs the resource on `family` with retries. A digest challenge, when one must be fetched
    /// first, is fetched on `challenge_family` if given (the same resource on that route).
    async fn get_json<T: DeserializeOwned>(
        &self,
        family: RouteFamily,
        resource: &Resource<'_>,
        challenge_family: Option<RouteFamily>,
    ) -> Result<T, AtlasError> {
        let url_on = |family: RouteFamily| {
            let segments = match family {
                RouteFamily::Versioned => &resource.versioned,
                _ => &resource.legacy,
            };
            self.url(family, segments)
        };
        let url = &url_on(family);
        let challenge_url = challenge_family.map(|other| (other, url_on(other)));
        let challenge_at = &challenge_url;
        self.with_retries(url, |attempt| async move {
            let started = Instant::now();
            let challenge_at = challenge_at
                .as_ref()
                .map(|(other, other_url)| (*other, other_url));
            let response = self.send_authenticated(family, url, challenge_at).await?;
            let body = self
                .answer_body(family, url, attempt, started, response)
                .await?;
            decode(&body)
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
}

fn host_of(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_owned(),
        _ => "(no host)".to_owned(),
    }
}

fn round_to_millis(duration: Duration) -> Duration {
    Duration::from_millis(duration.as_millis() as u64)
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

    /// An id from an answer that skipped its checks still never reaches a URL: nothing listens
    /// on port 1, so a request would fail as a transport error.
    #[tokio::test]
    async fn a_dot_segment_id_is_refused_before_any_request() {
        let id = crate::atlas::InterfaceEndpointId {
            project_id: "5f1a2b3c4d5e6f7a8b9c0d1e".into(),
            private_link_id: "6a1a2b3c4d5e6f7a8b9c0d1e".into(),
            interface_endpoint_id: "..".into(),
        };
        let error = client("http://127.0.0.1:1")
            .read_interface_endpoint(&id)
            .await
            .unwrap_err();
        assert!(
            matches!(&error, AtlasError::UnusableId { id } if id == ".."),
            "{error:?}"
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
}
