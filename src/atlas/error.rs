//! What can go wrong talking to Atlas, as data: the HTTP status, Atlas's `errorCode` and
//! `detail`, or the transport failure. The provider layer turns it into a diagnostic.

use std::time::Duration;

use serde::Deserialize;

use super::routes::RouteFamily;

/// An answer from Atlas other than 2xx, with what its error body said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    /// Atlas's `errorCode`, such as `PRIVATELINK_NOT_FOUND`; some errors have none (a 401).
    pub error_code: Option<String>,
    /// Atlas's `detail`, a sentence for humans; or the start of a body that was not Atlas JSON.
    pub detail: Option<String>,
    /// Atlas's `reason`, the HTTP reason phrase.
    pub reason: Option<String>,
    /// Atlas's `parameters`, as short printable strings: the caller's IP for
    /// `ORG_REQUIRES_ACCESS_LIST`, `[resource, requests, minutes]` for `RATE_LIMITED`.
    pub parameters: Vec<String>,
    /// `Retry-After`, when the answer carried one.
    pub retry_after: Option<Duration>,
    /// Which family of routes answered: a v1.0 `RESOURCE_NOT_FOUND` means the route is gone.
    pub route: RouteFamily,
}

/// The error body Atlas sends: `{"detail", "error", "errorCode", "parameters", "reason"}`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ErrorBody {
    detail: Option<String>,
    error_code: Option<String>,
    reason: Option<String>,
    #[serde(default)]
    parameters: Option<Vec<serde_json::Value>>,
}

/// At most this many `parameters` are kept, each cut to [`MAX_PARAMETER_CHARS`].
const MAX_PARAMETERS: usize = 8;
const MAX_PARAMETER_CHARS: usize = 200;

impl ApiError {
    /// An error with no body, for tests and for answers that carry none.
    pub fn new(status: u16, error_code: Option<&str>, route: RouteFamily) -> Self {
        Self {
            status,
            error_code: error_code.map(str::to_owned),
            detail: None,
            reason: None,
            parameters: Vec::new(),
            retry_after: None,
            route,
        }
    }

    /// Reads Atlas's error body; a body that is not Atlas JSON is kept (shortened) as the detail.
    pub fn from_body(
        status: u16,
        body: &[u8],
        retry_after: Option<Duration>,
        route: RouteFamily,
    ) -> Self {
        match serde_json::from_slice::<ErrorBody>(body) {
            Ok(parsed) => Self {
                status,
                error_code: parsed.error_code.filter(|code| is_error_code(code)),
                detail: parsed.detail.filter(|detail| !detail.is_empty()),
                reason: parsed.reason,
                parameters: parsed
                    .parameters
                    .unwrap_or_default()
                    .iter()
                    .take(MAX_PARAMETERS)
                    .map(parameter_text)
                    .collect(),
                retry_after,
                route,
            },
            Err(_) => Self {
                status,
                error_code: None,
                detail: Some(excerpt(body)).filter(|text| !text.is_empty()),
                reason: None,
                parameters: Vec::new(),
                retry_after,
                route,
            },
        }
    }

    /// How long Atlas asked us to wait before trying again: `Retry-After` when sent, else what a
    /// 429 body says. Atlas sends `Retry-After` only sometimes; its rate-limit bodies always say
    /// it: `RATE_LIMITED_TOKEN_BUCKET` has the detail "Please retry after 55 seconds", and
    /// `RATE_LIMITED` ("Resource X is limited to N requests every M minutes") has the parameters
    /// `[resource, N, M]`, whose window of M minutes is the longest the limit can hold.
    pub fn requested_wait(&self) -> Option<Duration> {
        if self.retry_after.is_some() {
            return self.retry_after;
        }
        if self.status != 429 {
            return None;
        }
        match self.error_code.as_deref() {
            Some("RATE_LIMITED_TOKEN_BUCKET") => self.detail.as_deref().and_then(seconds_in),
            Some("RATE_LIMITED") => self
                .parameters
                .get(2)
                .and_then(|minutes| minutes.trim().parse::<u64>().ok())
                .or_else(|| self.detail.as_deref().and_then(minutes_in))
                .map(|minutes| Duration::from_secs(minutes.saturating_mul(60))),
            _ => None,
        }
    }

    /// `HTTP 404 PRIVATELINK_NOT_FOUND`, or `HTTP 401` when there is no error code.
    pub fn status_and_code(&self) -> String {
        match &self.error_code {
            Some(code) => format!("HTTP {} {code}", self.status),
            None => format!("HTTP {}", self.status),
        }
    }
}

/// "Please retry after 55 seconds" → 55 s.
fn seconds_in(detail: &str) -> Option<Duration> {
    let words: Vec<&str> = detail.split_whitespace().collect();
    words.windows(2).find_map(|pair| {
        let unit = pair[1].trim_end_matches(['.', ',']);
        (unit.starts_with("second"))
            .then(|| pair[0].parse::<u64>().ok())
            .flatten()
            .map(Duration::from_secs)
    })
}

/// "... limited to 100 requests every 1 minutes" → 1.
fn minutes_in(detail: &str) -> Option<u64> {
    let words: Vec<&str> = detail.split_whitespace().collect();
    words.windows(2).find_map(|pair| {
        let unit = pair[1].trim_end_matches(['.', ',']);
        unit.starts_with("minute")
            .then(|| pair[0].parse::<u64>().ok())
            .flatten()
    })
}

/// A parameter as a short printable string (Atlas sends strings and numbers).
fn parameter_text(value: &serde_json::Value) -> String {
    let text = match value {
        serde_json::Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    text.chars()
        .filter(|character| !character.is_control())
        .take(MAX_PARAMETER_CHARS)
        .collect()
}

/// Why a request to Atlas did not give the expected answer. `Clone`, so that one failed fetch
/// (a probe, a token) can be every waiting read's answer.
#[derive(Clone, Debug, thiserror::Error)]
pub enum AtlasError {
    #[error("Atlas answered {}", .0.status_and_code())]
    Api(ApiError),
    #[error("Atlas answered HTTP {status} redirecting to {}", location.as_deref().unwrap_or("nowhere"))]
    Redirect {
        status: u16,
        /// The `Location` header, without any user info, shortened.
        location: Option<String>,
    },
    #[error("the request to {host} failed: {cause}")]
    Transport { host: String, cause: String },
    #[error("Atlas's digest authentication challenge could not be answered: {cause}")]
    Challenge { cause: String },
    #[error(
        "Atlas answered HTTP {status} ({content_type}) with a body that is not what was expected: {cause}"
    )]
    UnexpectedBody {
        status: u16,
        content_type: String,
        excerpt: String,
        cause: String,
    },
    #[error("the response body from {host} is larger than the {limit} bytes we accept")]
    BodyTooLarge { host: String, limit: usize },
    /// The token endpoint was asked for a service-account token and its answer cannot be used:
    /// too large, not the documented JSON, or a token that is empty, not `Bearer`, or has an
    /// `expires_in` that is not a number. Its body is never shown: it may hold a token.
    #[error("the service-account token answer from {host} cannot be used: {cause}")]
    UnusableToken { host: String, cause: String },
    #[error("timed out: {host} did not {} within {}", phase.verb(), humantime::format_duration(*limit))]
    Timeout {
        host: String,
        limit: Duration,
        phase: TimeoutPhase,
    },
    /// An id that cannot go into a URL path (empty, `.`, `..`, a control character, too long);
    /// refused before any request. `id` is its first 200 characters.
    #[error("refused to request a URL whose path holds the id {id:?}")]
    UnusableId { id: String },
    /// A resource Atlas serves only on the v2 routes, with `api_version = "v1.0"`: not sent.
    #[error("Atlas serves {what} only on the v2 routes, and api_version is \"v1.0\"")]
    OnlyOnV2 {
        /// What was to be read: "Azure private endpoints".
        what: &'static str,
    },
    #[error("{last} (gave up after {attempts} attempts over {})", humantime::format_duration(*elapsed))]
    GaveUp {
        attempts: u32,
        elapsed: Duration,
        last: Box<AtlasError>,
    },
}

impl AtlasError {
    /// The Atlas answer behind this error, looking through retries.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            AtlasError::Api(api) => Some(api),
            AtlasError::GaveUp { last, .. } => last.api(),
            _ => None,
        }
    }
}

/// Which limit a timed-out request hit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeoutPhase {
    /// The TCP (and TLS) connection was not made in time.
    Connect,
    /// The connection was made but the whole answer did not arrive in time.
    Answer,
}

impl TimeoutPhase {
    fn verb(self) -> &'static str {
        match self {
            TimeoutPhase::Connect => "accept a connection",
            TimeoutPhase::Answer => "answer",
        }
    }
}

/// Atlas's codes look like `PRIVATELINK_NOT_FOUND`. Anything else (a proxy's page, a hostile
/// body with terminal escapes) is not put in a diagnostic as a code.
fn is_error_code(code: &str) -> bool {
    (1..=100).contains(&code.len())
        && code
            .bytes()
            .all(|byte| byte.is_ascii_uppercase() || byte.is_ascii_digit() || byte == b'_')
}

/// The first bytes of a body, printable, for a message.
pub fn excerpt(body: &[u8]) -> String {
    const MAX_BYTES: usize = 200;
    let cut = &body[..body.len().min(MAX_BYTES)];
    let mut text: String = String::from_utf8_lossy(cut)
        .chars()
        .map(|character| {
            if character.is_control() {
                ' '
            } else {
                character
            }
        })
        .collect();
    text = text.trim().to_owned();
    if body.len() > MAX_BYTES {
        text.push('…');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atlas_error_body_is_read() {
        let body = br#"{"detail":"No PrivateLink connection 5f found.","error":404,"errorCode":"PRIVATELINK_NOT_FOUND","parameters":["5f"],"reason":"Not Found"}"#;
        let error = ApiError::from_body(404, body, None, RouteFamily::Legacy);
        assert_eq!(error.error_code.as_deref(), Some("PRIVATELINK_NOT_FOUND"));
        assert_eq!(
            error.detail.as_deref(),
            Some("No PrivateLink connection 5f found.")
        );
        assert_eq!(error.status_and_code(), "HTTP 404 PRIVATELINK_NOT_FOUND");
    }

    #[test]
    fn unauthorized_body_without_error_code() {
        let body = br#"{"error":401,"reason":"Unauthorized","detail":"You are not authorized for this resource."}"#;
        let error = ApiError::from_body(401, body, None, RouteFamily::Legacy);
        assert_eq!(error.error_code, None);
        assert_eq!(error.status_and_code(), "HTTP 401");
    }

    #[test]
    fn an_error_code_that_is_not_atlas_shaped_is_dropped() {
        let body = "{\"errorCode\":\"\\u001b]0;pwned\\u0007\",\"detail\":\"x\"}";
        assert_eq!(
            ApiError::from_body(500, body.as_bytes(), None, RouteFamily::Legacy).error_code,
            None
        );
        let body = br#"{"errorCode":"RATE_LIMITED_TOKEN_BUCKET"}"#;
        assert_eq!(
            ApiError::from_body(429, body, None, RouteFamily::Legacy)
                .error_code
                .as_deref(),
            Some("RATE_LIMITED_TOKEN_BUCKET")
        );
    }

    #[test]
    fn token_bucket_limit_says_its_wait_in_the_detail() {
        let body = br#"{"detail":"Please retry after 55 seconds","error":429,"errorCode":"RATE_LIMITED_TOKEN_BUCKET","parameters":[],"reason":"Too Many Requests"}"#;
        let error = ApiError::from_body(429, body, None, RouteFamily::Versioned);
        assert_eq!(error.requested_wait(), Some(Duration::from_secs(55)));
        let with_header =
            ApiError::from_body(429, body, Some(Duration::from_secs(3)), RouteFamily::Legacy);
        assert_eq!(with_header.requested_wait(), Some(Duration::from_secs(3)));
    }

    #[test]
    fn windowed_limit_waits_for_its_window_from_the_parameters() {
        let body = br#"{"detail":"Resource /api/oauth/token is limited to 50 requests every 1 minutes","error":429,"errorCode":"RATE_LIMITED","parameters":["/api/oauth/token",50,1],"reason":"Too Many Requests"}"#;
        let error = ApiError::from_body(429, body, None, RouteFamily::Token);
        assert_eq!(error.parameters, ["/api/oauth/token", "50", "1"]);
        assert_eq!(error.requested_wait(), Some(Duration::from_secs(60)));
        let no_parameters = br#"{"detail":"Resource X is limited to 10 requests every 5 minutes.","errorCode":"RATE_LIMITED"}"#;
        let error = ApiError::from_body(429, no_parameters, None, RouteFamily::Legacy);
        assert_eq!(error.requested_wait(), Some(Duration::from_secs(300)));
    }

    #[test]
    fn other_errors_ask_for_no_wait() {
        let body =
            br#"{"detail":"Please retry after 55 seconds","errorCode":"SERVICE_UNAVAILABLE"}"#;
        assert_eq!(
            ApiError::from_body(503, body, None, RouteFamily::Legacy).requested_wait(),
            None
        );
    }

    #[test]
    fn html_error_page_becomes_a_short_detail() {
        let body = format!("<html>\n<body>{}</body></html>", "x".repeat(500));
        let error = ApiError::from_body(502, body.as_bytes(), None, RouteFamily::Legacy);
        let detail = error.detail.unwrap();
        assert!(
            detail.starts_with("<html> <body>") && detail.ends_with('…'),
            "{detail}"
        );
    }
}
