//! When to try a request again, and how long to wait first.
//!
//! Atlas is shared and rate-limited, so a read retries what is likely to pass on a later try:
//! 429, 502, 503, 504 and failed connections, with exponential backoff and full jitter, or
//! exactly as long as Atlas asks (`Retry-After`, or the wait its 429 body states); 500 too, but
//! fewer times. A redirect is never retried (nor followed). An error about the
//! request itself (400, 401, 403, 404) or an answer that never came is not retried.

use std::time::Duration;

use super::AtlasError;

/// The longest wait Atlas may ask for (by `Retry-After` or in a 429 body) that a read honours;
/// a longer one ends the read, and its message says how long Atlas asked to wait.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(120);

/// How often and how patiently to retry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt, for 429, 502, 503, 504 and connection failures.
    pub max_retries: u32,
    /// Retries after the first attempt for 500, at most `max_retries`.
    pub max_server_error_retries: u32,
    /// The backoff ceiling of the first retry; it doubles with each one.
    pub base_delay: Duration,
    /// The largest backoff ceiling.
    pub max_delay: Duration,
    /// The longest `Retry-After` we wait for; a longer one ends the read with the error.
    pub max_retry_after: Duration,
}

impl RetryPolicy {
    /// The provider's defaults, with `max_retries` as configured.
    pub fn with_max_retries(max_retries: u32) -> Self {
        Self {
            max_retries,
            max_server_error_retries: max_retries.min(2),
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(20),
            max_retry_after: MAX_RETRY_AFTER,
        }
    }

    /// How long to wait before retry number `retry` (1 for the first), or `None` to give up.
    pub fn delay_before_retry(&self, error: &AtlasError, retry: u32) -> Option<Duration> {
        let allowed = match error {
            AtlasError::Api(api) => match api.status {
                429 | 502 | 503 | 504 => self.max_retries,
                500 => self.max_server_error_retries,
                _ => 0,
            },
            AtlasError::Transport { .. } => self.max_retries,
            AtlasError::Timeout { phase, .. } => match phase {
                super::error::TimeoutPhase::Connect => self.max_retries,
                super::error::TimeoutPhase::Answer => 0,
            },
            _ => 0,
        };
        if retry > allowed {
            return None;
        }
        if let AtlasError::Api(api) = error
            && let Some(wait) = api.requested_wait()
        {
            return (wait <= self.max_retry_after).then_some(wait);
        }
        Some(self.jittered_backoff(retry))
    }

    /// Full jitter: uniform between zero and `base * 2^(retry-1)`, capped.
    fn jittered_backoff(&self, retry: u32) -> Duration {
        let ceiling = self
            .base_delay
            .saturating_mul(
                1u32.checked_shl(retry.saturating_sub(1))
                    .unwrap_or(u32::MAX),
            )
            .min(self.max_delay);
        ceiling.mul_f64(fastrand::f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::atlas::ApiError;
    use crate::atlas::error::TimeoutPhase;
    use crate::atlas::routes::RouteFamily;

    fn status(status: u16, retry_after: Option<u64>) -> AtlasError {
        let mut api = ApiError::new(status, None, RouteFamily::Legacy);
        api.retry_after = retry_after.map(Duration::from_secs);
        AtlasError::Api(api)
    }

    #[test]
    fn throttling_and_gateway_errors_retry_up_to_the_limit() {
        let policy = RetryPolicy::with_max_retries(4);
        for code in [429, 502, 503, 504] {
            assert!(
                policy.delay_before_retry(&status(code, None), 4).is_some(),
                "{code}"
            );
            assert!(
                policy.delay_before_retry(&status(code, None), 5).is_none(),
                "{code}"
            );
        }
    }

    #[test]
    fn server_error_retries_fewer_times() {
        let policy = RetryPolicy::with_max_retries(4);
        assert!(policy.delay_before_retry(&status(500, None), 2).is_some());
        assert!(policy.delay_before_retry(&status(500, None), 3).is_none());
    }

    /// docs/reliability.md's numbers: backoff ceilings of 0.5 s doubling to 20 s, a requested wait
    /// of at most 120 s, and 500 retried at most twice, fewer when `max_retries` is lower.
    #[test]
    fn the_documented_backoff_numbers_and_server_error_limits_hold() {
        let policy = RetryPolicy::with_max_retries(4);
        assert_eq!(policy.base_delay, Duration::from_millis(500));
        assert_eq!(policy.max_delay, Duration::from_secs(20));
        assert_eq!(policy.max_retry_after, Duration::from_secs(120));
        let one = RetryPolicy::with_max_retries(1);
        assert!(one.delay_before_retry(&status(500, None), 1).is_some());
        assert!(one.delay_before_retry(&status(500, None), 2).is_none());
        assert!(
            RetryPolicy::with_max_retries(0)
                .delay_before_retry(&status(500, None), 1)
                .is_none()
        );
    }

    #[test]
    fn client_errors_never_retry() {
        let policy = RetryPolicy::with_max_retries(4);
        for code in [400, 401, 403, 404] {
            assert!(
                policy.delay_before_retry(&status(code, None), 1).is_none(),
                "{code}"
            );
        }
    }

    #[test]
    fn retry_after_is_honoured_exactly_and_capped() {
        let policy = RetryPolicy::with_max_retries(4);
        assert_eq!(
            policy.delay_before_retry(&status(429, Some(3)), 1),
            Some(Duration::from_secs(3))
        );
        assert_eq!(policy.delay_before_retry(&status(429, Some(3600)), 1), None);
    }

    #[test]
    fn token_bucket_wait_from_the_body_is_honoured_and_capped() {
        let policy = RetryPolicy::with_max_retries(4);
        let limited = |seconds: u64| {
            AtlasError::Api(ApiError::from_body(
                429,
                format!(
                    r#"{{"errorCode":"RATE_LIMITED_TOKEN_BUCKET","detail":"Please retry after {seconds} seconds"}}"#
                )
                .as_bytes(),
                None,
                RouteFamily::Versioned,
            ))
        };
        assert_eq!(
            policy.delay_before_retry(&limited(3), 1),
            Some(Duration::from_secs(3))
        );
        assert_eq!(policy.delay_before_retry(&limited(500), 1), None);
    }

    #[test]
    fn redirects_are_never_retried() {
        let redirect = AtlasError::Redirect {
            status: 307,
            location: Some("http://127.0.0.1:1/".into()),
        };
        assert_eq!(
            RetryPolicy::with_max_retries(4).delay_before_retry(&redirect, 1),
            None
        );
    }

    #[test]
    fn connection_failures_and_connect_timeouts_retry_but_a_silent_server_does_not() {
        let policy = RetryPolicy::with_max_retries(2);
        let refused = AtlasError::Transport {
            host: "h".into(),
            cause: "refused".into(),
        };
        assert!(policy.delay_before_retry(&refused, 2).is_some());
        let connect = AtlasError::Timeout {
            host: "h".into(),
            limit: Duration::from_secs(1),
            phase: TimeoutPhase::Connect,
        };
        assert!(policy.delay_before_retry(&connect, 1).is_some());
        let answer = AtlasError::Timeout {
            host: "h".into(),
            limit: Duration::from_secs(1),
            phase: TimeoutPhase::Answer,
        };
        assert!(policy.delay_before_retry(&answer, 1).is_none());
    }

    #[test]
    fn backoff_grows_and_stays_under_its_ceiling() {
        let policy = RetryPolicy::with_max_retries(10);
        for retry in 1..=10 {
            let ceiling = (policy.base_delay * 2u32.pow(retry - 1)).min(policy.max_delay);
            for _ in 0..50 {
                assert!(policy.jittered_backoff(retry) <= ceiling);
            }
        }
        assert_eq!(
            RetryPolicy::with_max_retries(0).delay_before_retry(&status(503, None), 1),
            None
        );
    }
}
