//! What Atlas answered: the status (a redirect is refused, a non-2xx becomes an `ApiError`), the
//! body read no further than [`MAX_BODY_BYTES`], the log line of each attempt, and transport
//! failures in words.

use std::time::{Duration, Instant};

use reqwest::header::{CONTENT_TYPE, LOCATION, RETRY_AFTER};
use serde::de::DeserializeOwned;
use url::Url;

use super::{AtlasClient, MAX_BODY_BYTES};
use crate::atlas::error::{ApiError, AtlasError, TimeoutPhase, excerpt};
use crate::atlas::routes::RouteFamily;
use crate::logging;

impl AtlasClient {
    /// Logs the answer, reads its body (bounded), and turns a non-2xx status into an error.
    pub(super) async fn answer_body(
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
        // The log line's fields are built only when DEBUG is on: this runs for every request.
        let mut fields = logging::enabled(logging::Level::Debug).then(|| {
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
            fields
        });
        let body = self
            .read_body(response)
            .await
            .map_err(|error| match (family, error) {
                (RouteFamily::Token, AtlasError::BodyTooLarge { host, limit }) => {
                    AtlasError::UnusableToken {
                        host,
                        cause: format!(
                            "the answer (HTTP {status}) is larger than the {limit} bytes accepted, \
                             and a token answer is a few kilobytes at most"
                        ),
                    }
                }
                (_, error) => error,
            })?;
        if let Some(fields) = &mut fields {
            fields.push((
                "duration_ms",
                (started.elapsed().as_secs_f64() * 1000.0).into(),
            ));
            logging::debug("Atlas request done", fields);
        }
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
    pub(super) async fn discard(&self, response: reqwest::Response) {
        let _ = self.read_body(response).await;
    }

    pub(super) fn transport_error(&self, error: &reqwest::Error) -> AtlasError {
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

/// A 2xx answer.
pub(super) struct Answered {
    status: u16,
    content_type: String,
    body: Vec<u8>,
}

/// Decodes a 2xx body from the data routes; the error names what was missing or wrong.
pub(super) fn decode<T: DeserializeOwned>(answer: &Answered) -> Result<T, AtlasError> {
    serde_json::from_slice(&answer.body).map_err(|error| AtlasError::UnexpectedBody {
        status: answer.status,
        content_type: answer.content_type.clone(),
        excerpt: excerpt(&answer.body),
        cause: error.to_string(),
    })
}

/// Decodes a 2xx body from the token endpoint, which is never shown (it may hold a token).
pub(super) fn decode_token_answer<T: DeserializeOwned>(
    host: String,
    answer: &Answered,
) -> Result<T, AtlasError> {
    serde_json::from_slice(&answer.body).map_err(|error| AtlasError::UnusableToken {
        host,
        cause: format!(
            "the answer (HTTP {}, {}) is not the token endpoint's JSON ({error})",
            answer.status, answer.content_type
        ),
    })
}

fn family_method(family: RouteFamily) -> &'static str {
    match family {
        RouteFamily::Token => "POST",
        _ => "GET",
    }
}

/// A 3xx is an error that names the status and where it pointed (never followed).
pub(super) fn refuse_redirect(response: &reqwest::Response) -> Result<(), AtlasError> {
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

/// The causes below a transport error, joined, without the URL reqwest puts first: the deepest
/// one ("Connection refused (os error 111)") is what the user needs.
pub(super) fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
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
