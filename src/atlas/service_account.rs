//! The bearer token of a service account: fetched on the first request that needs it, shared by
//! every request of the process, renewed a minute before it expires and once after a 401.
//!
//! Atlas's "Generate Service Account Token" (`POST /api/oauth/token`, HTTP Basic with the client
//! id and secret, form body `grant_type=client_credentials`, `Accept: application/json`) answers
//! `{"access_token", "expires_in", "token_type": "Bearer"}`; tokens last an hour. The token
//! endpoint is rate-limited per IP and client ("Resource /api/oauth/token is limited to 50
//! requests every 1 minutes"), which is why one process fetches one token, not one per read.
//! Neither the secret nor a token is logged or shown by `Debug`.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// How long before its expiry a token is renewed.
const RENEWAL_MARGIN: Duration = Duration::from_secs(60);
/// Atlas's tokens last an hour; an answer without `expires_in` is taken to mean that.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);

/// One token and when to stop using it.
#[derive(Clone)]
pub(crate) struct Token {
    pub(crate) value: String,
    renew_at: Instant,
}

/// The token cache of one service account.
pub(crate) struct TokenCache {
    pub(crate) client_id: String,
    pub(crate) client_secret: String,
    /// Held while a token is fetched, so that parallel first reads make one token request.
    current: Mutex<Option<Token>>,
}

impl fmt::Debug for TokenCache {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("TokenCache")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// The token endpoint's answer. No `Debug`: it holds the token.
#[derive(Deserialize)]
pub(crate) struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    expires_in: Option<f64>,
    #[serde(default)]
    token_type: Option<String>,
}

/// Why a token answer cannot be used.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TokenProblem {
    Empty,
    NotBearer(String),
    NotAHeaderValue,
}

impl fmt::Display for TokenProblem {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenProblem::Empty => formatter.write_str("the access_token is empty"),
            TokenProblem::NotBearer(kind) => {
                write!(formatter, "the token_type is {kind:?}, not \"Bearer\"")
            }
            TokenProblem::NotAHeaderValue => {
                formatter.write_str("the access_token has characters an HTTP header cannot carry")
            }
        }
    }
}

impl TokenAnswer {
    /// The token, checked, with when to renew it.
    pub(crate) fn into_token(self, now: Instant) -> Result<Token, TokenProblem> {
        if self.access_token.is_empty() {
            return Err(TokenProblem::Empty);
        }
        if let Some(kind) = self.token_type.as_deref()
            && !kind.eq_ignore_ascii_case("bearer")
        {
            return Err(TokenProblem::NotBearer(kind.chars().take(40).collect()));
        }
        if !self
            .access_token
            .bytes()
            .all(|byte| byte.is_ascii_graphic())
        {
            return Err(TokenProblem::NotAHeaderValue);
        }
        let lifetime = self
            .expires_in
            .filter(|seconds| seconds.is_finite() && *seconds > 0.0)
            .map(|seconds| Duration::from_secs_f64(seconds.min(1e9)))
            .unwrap_or(DEFAULT_LIFETIME);
        // A minute early, but never sooner than half its life: a short-lived token is still used.
        let margin = RENEWAL_MARGIN.min(lifetime / 2);
        Ok(Token {
            value: self.access_token,
            renew_at: now
                .checked_add(lifetime - margin)
                .unwrap_or_else(|| now + DEFAULT_LIFETIME),
        })
    }
}

impl TokenCache {
    pub(crate) fn new(client_id: String, client_secret: String) -> Self {
        Self {
            client_id,
            client_secret,
            current: Mutex::new(None),
        }
    }

    /// A token still good for a minute, fetched with `fetch` when there is none. `stale` is a
    /// token a request was just refused with: it is not handed out again.
    pub(crate) async fn token<F, Fut, E>(&self, stale: Option<&str>, fetch: F) -> Result<String, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Token, E>>,
    {
        let mut current = self.current.lock().await;
        if let Some(token) = current.as_ref()
            && Instant::now() < token.renew_at
            && stale != Some(token.value.as_str())
        {
            return Ok(token.value.clone());
        }
        let token = fetch().await?;
        let value = token.value.clone();
        *current = Some(token);
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(token: &str, expires_in: Option<f64>, kind: Option<&str>) -> TokenAnswer {
        TokenAnswer {
            access_token: token.into(),
            expires_in,
            token_type: kind.map(str::to_owned),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn one_fetch_is_shared_until_a_minute_before_expiry() {
        let cache = TokenCache::new("id".into(), "secret".into());
        let fetches = std::sync::atomic::AtomicUsize::new(0);
        let fetch = || async {
            let n = fetches.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            answer(&format!("t{n}"), Some(3600.0), Some("Bearer"))
                .into_token(Instant::now())
                .map_err(|_| ())
        };
        assert_eq!(cache.token(None, fetch).await, Ok("t0".to_owned()));
        tokio::time::advance(Duration::from_secs(3500)).await;
        assert_eq!(cache.token(None, fetch).await, Ok("t0".to_owned()));
        tokio::time::advance(Duration::from_secs(50)).await;
        assert_eq!(cache.token(None, fetch).await, Ok("t1".to_owned()));
        assert_eq!(cache.token(Some("t1"), fetch).await, Ok("t2".to_owned()));
        assert_eq!(fetches.load(std::sync::atomic::Ordering::SeqCst), 3);
    }

    #[test]
    fn short_lived_tokens_are_used_for_half_their_life() {
        let now = Instant::now();
        let token = answer("t", Some(2.0), None).into_token(now).unwrap();
        assert_eq!(token.renew_at - now, Duration::from_secs(1));
    }

    #[test]
    fn unusable_answers_are_refused() {
        let now = Instant::now();
        assert_eq!(
            answer("", None, None).into_token(now).err(),
            Some(TokenProblem::Empty)
        );
        assert!(matches!(
            answer("t", None, Some("mac")).into_token(now).err(),
            Some(TokenProblem::NotBearer(_))
        ));
        assert_eq!(
            answer("a b\n", None, None).into_token(now).err(),
            Some(TokenProblem::NotAHeaderValue)
        );
        assert!(
            answer("t", Some(f64::INFINITY), None)
                .into_token(now)
                .is_ok()
        );
    }
}
