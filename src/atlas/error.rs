//! What can go wrong talking to Atlas, as data: the HTTP status, Atlas's `errorCode` and
//! `detail`, or the transport failure. The provider layer turns it into a diagnostic.

use std::time::Duration;

use serde::Deserialize;

/// An answer from Atlas other than 2xx, with what its error body said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    /// Atlas's `errorCode`, such as `PRIVATELINK_NOT_FOUND`; some errors have none.
    pub error_code: Option<String>,
    /// Atlas's `detail`, a sentence for humans; or the start of a body that was not Atlas JSON.
    pub detail: Option<String>,
    /// Atlas's `reason`, the HTTP reason phrase.
    pub reason: Option<String>,
    /// `Retry-After`, when the answer carried one.
    pub retry_after: Option<Duration>,
}

/// The error body Atlas sends: `{"detail", "error", "errorCode", "parameters", "reason"}`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ErrorBody {
    detail: Option<String>,
    error_code: Option<String>,
    reason: Option<String>,
}

impl ApiError {
    /// Reads Atlas's error body; a body that is not Atlas JSON is kept (shortened) as the detail.
    pub fn from_body(status: u16, body: &[u8], retry_after: Option<Duration>) -> Self {
        match serde_json::from_slice::<ErrorBody>(body) {
            Ok(parsed) => Self {
                status,
                error_code: parsed.error_code.filter(|code| is_error_code(code)),
                detail: parsed.detail.filter(|detail| !detail.is_empty()),
                reason: parsed.reason,
                retry_after,
            },
            Err(_) => Self {
                status,
                error_code: None,
                detail: Some(excerpt(body)).filter(|text| !text.is_empty()),
                reason: None,
                retry_after,
            },
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

/// Why a request to Atlas did not give the expected answer.
#[derive(Debug, thiserror::Error)]
pub enum AtlasError {
    #[error("Atlas answered {}", .0.status_and_code())]
    Api(ApiError),
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
    #[error("timed out: {host} did not {} within {}", phase.verb(), humantime::format_duration(*limit))]
    Timeout {
        host: String,
        limit: Duration,
        phase: TimeoutPhase,
    },
    #[error("{last} (gave up after {attempts} attempts over {})", humantime::format_duration(*elapsed))]
    GaveUp {
        attempts: u32,
        elapsed: Duration,
        last: Box<AtlasError>,
    },
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
        let error = ApiError::from_body(404, body, None);
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
        let error = ApiError::from_body(401, body, None);
        assert_eq!(error.error_code, None);
        assert_eq!(error.status_and_code(), "HTTP 401");
    }

    #[test]
    fn an_error_code_that_is_not_atlas_shaped_is_dropped() {
        let body = "{\"errorCode\":\"\\u001b]0;pwned\\u0007\",\"detail\":\"x\"}";
        assert_eq!(
            ApiError::from_body(500, body.as_bytes(), None).error_code,
            None
        );
        let body = br#"{"errorCode":"RATE_LIMITED_TOKEN_BUCKET"}"#;
        assert_eq!(
            ApiError::from_body(429, body, None).error_code.as_deref(),
            Some("RATE_LIMITED_TOKEN_BUCKET")
        );
    }

    #[test]
    fn html_error_page_becomes_a_short_detail() {
        let body = format!("<html>\n<body>{}</body></html>", "x".repeat(500));
        let error = ApiError::from_body(502, body.as_bytes(), None);
        let detail = error.detail.unwrap();
        assert!(
            detail.starts_with("<html> <body>") && detail.ends_with('…'),
            "{detail}"
        );
    }
}
