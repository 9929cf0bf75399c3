//! One configured connection to the Atlas Admin API: a shared HTTP client (connection reuse,
//! HTTP/2 where Atlas offers it) and a digest session whose nonce is reused across requests,
//! so a steady-state read costs one round trip.

use std::fmt;
use std::time::Duration;

use diqwest::{DigestAuthSession, WithDigestAuth};
use reqwest::header::{ACCEPT, CONTENT_TYPE, RETRY_AFTER};
use serde::de::DeserializeOwned;
use url::Url;

use super::error::{ApiError, AtlasError, excerpt};

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
            .finish()
    }
}

/// A client for one Atlas base URL and API key.
pub struct AtlasClient {
    http: reqwest::Client,
    base_url: Url,
    session: DigestAuthSession,
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
        let http = reqwest::Client::builder()
            .user_agent(settings.user_agent)
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.request_timeout)
            .tcp_nodelay(true)
            .tls_version_min(reqwest::tls::Version::TLS_1_2)
            .build()
            .map_err(|error| AtlasError::Transport {
                host: host_of(&settings.base_url),
                cause: error_chain(&error),
            })?;
        Ok(Self {
            http,
            base_url: settings.base_url,
            session: DigestAuthSession::new(settings.public_key, settings.private_key),
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

    /// GETs `url` with digest auth and decodes a 200 body as `T`.
    pub(crate) async fn get_json<T: DeserializeOwned>(&self, url: Url) -> Result<T, AtlasError> {
        let response = self
            .http
            .get(url)
            .header(ACCEPT, "application/json")
            .send_digest_auth(&self.session)
            .await
            .map_err(|error| self.request_error(error))?;
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
