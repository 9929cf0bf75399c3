//! The bearer token of a service account: fetched on the first request that needs it, shared by
//! every request of the process, renewed a minute before it expires and once after a 401.
//!
//! Atlas's "Generate Service Account Token" (`POST /api/oauth/token`, HTTP Basic with the client
//! id and secret, form body `grant_type=client_credentials`, `Accept: application/json`) answers
//! `{"access_token", "expires_in", "token_type": "Bearer"}`; tokens last an hour. The token
//! endpoint is rate-limited per IP and client ("Resource /api/oauth/token is limited to 50
//! requests every 1 minutes"), which is why one process fetches one token, not one per read:
//! one fetch is in flight at a time, its outcome (failure included) is every waiting read's, and
//! a token that is itself a renewal after a 401 is not renewed after another.
//! Neither the secret nor a token is logged or shown by `Debug`.

use std::fmt;
use std::time::Duration;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde::Deserialize;
use tokio::time::Instant;

use super::error::AtlasError;
use super::shared_fetch::SharedFetch;

/// How long before its expiry a token is renewed.
const RENEWAL_MARGIN: Duration = Duration::from_secs(60);
/// Atlas's tokens last an hour; an answer without `expires_in` is taken to mean that.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);
/// The shortest lifetime a token is given, whatever `expires_in` says (`0`, `1e-300`, a negative
/// number): a token is fetched at most once per five seconds (half of this), never once per read.
pub(crate) const MIN_LIFETIME: Duration = Duration::from_secs(10);
/// The longest: a process that lives longer fetches a new token after a day.
pub(crate) const MAX_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// One token and when to stop using it. No `Debug`: it holds the token.
#[derive(Clone)]
pub(crate) struct Token {
    pub(crate) value: String,
    renew_at: Instant,
    /// Fetched because Atlas refused the token before it: a 401 to this one, before Atlas
    /// accepted it once, is reported, not answered with yet another token.
    after_refusal: bool,
    /// Whether Atlas has accepted this token (shared by its copies in every read).
    accepted: Arc<AtomicBool>,
}

impl Token {
    /// Records that Atlas answered a request that carried this token with something other
    /// than 401.
    pub(crate) fn mark_accepted(&self) {
        self.accepted.store(true, Ordering::Relaxed);
    }
}

/// The token cache of one service account.
pub(crate) struct TokenCache {
    pub(crate) client_id: String,
    pub(crate) client_secret: String,
    /// The token in use; the lock is held only to read or replace it.
    current: Mutex<Option<Token>>,
    /// The one token request in flight, whose outcome every read waiting for a token receives.
    fetch: SharedFetch<Result<Token, AtlasError>>,
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
    /// RFC 6749 section 5.1: "the lifetime in seconds of the access token", a number; some servers
    /// send it as a string of digits, which is read the same way.
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
    #[serde(default)]
    token_type: Option<String>,
}

/// Why a token answer cannot be used.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TokenProblem {
    Empty,
    NotBearer(String),
    NotAHeaderValue,
    /// `expires_in` is neither a number nor a string holding one; what it is, shortened.
    ExpiresInNotANumber(String),
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
            TokenProblem::ExpiresInNotANumber(said) => write!(
                formatter,
                "the expires_in is {said}, not a number of seconds (or a string holding one)"
            ),
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
        let lifetime = lifetime(self.expires_in.as_ref())?;
        // A minute early, but never sooner than half its life: a short-lived token is still used.
        let margin = RENEWAL_MARGIN.min(lifetime / 2);
        Ok(Token {
            value: self.access_token,
            renew_at: now
                .checked_add(lifetime - margin)
                .unwrap_or_else(|| now + DEFAULT_LIFETIME),
            after_refusal: false,
            accepted: Arc::default(),
        })
    }
}

/// How long a token is used, from `expires_in`: absent or `null`, an hour (Atlas's lifetime); a
/// number, or a string holding one, that many seconds, kept between [`MIN_LIFETIME`] and
/// [`MAX_LIFETIME`]; anything else is refused.
fn lifetime(expires_in: Option<&serde_json::Value>) -> Result<Duration, TokenProblem> {
    use serde_json::Value;
    let seconds = match expires_in {
        None | Some(Value::Null) => return Ok(DEFAULT_LIFETIME),
        Some(Value::Number(number)) => number.as_f64(),
        Some(Value::String(text)) => text.trim().parse::<f64>().ok(),
        Some(_) => None,
    };
    let Some(seconds) = seconds.filter(|seconds| !seconds.is_nan()) else {
        let said = expires_in.map(Value::to_string).unwrap_or_default();
        let mut shown: String = said.chars().take(40).collect();
        if said.chars().count() > 40 {
            shown.push('…');
        }
        return Err(TokenProblem::ExpiresInNotANumber(shown));
    };
    let clamped = seconds.clamp(MIN_LIFETIME.as_secs_f64(), MAX_LIFETIME.as_secs_f64());
    Ok(Duration::from_secs_f64(clamped))
}

impl TokenCache {
    pub(crate) fn new(client_id: String, client_secret: String) -> Self {
        Self {
            client_id,
            client_secret,
            current: Mutex::new(None),
            fetch: SharedFetch::default(),
        }
    }

    /// A token good for a while yet: the cached one, or the outcome of the token request in
    /// flight, or of `fetch`, started now.
    pub(crate) async fn token<F, Fut>(&self, fetch: F) -> Result<Token, AtlasError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Token, AtlasError>>,
    {
        if let Some(token) = self.usable(None) {
            return Ok(token);
        }
        self.fetch
            .run(|| async {
                // A request that ended a moment ago may have brought one.
                if let Some(token) = self.usable(None) {
                    return Ok(token);
                }
                self.store(fetch().await?, false)
            })
            .await
    }

    /// After Atlas answered 401 to a request that carried `refused`: the token to try once more,
    /// or `None` when the read should report the 401. A token fetched after a refusal that
    /// Atlas refuses before accepting it once is not replaced by another: Atlas refuses fresh
    /// tokens, so reads against routes that refuse every token cost one extra token request, not
    /// one per read. (One Atlas accepted and later refused, as when it expires early, is renewed.)
    pub(crate) async fn after_refusal<F, Fut>(
        &self,
        refused: &Token,
        fetch: F,
    ) -> Result<Option<Token>, AtlasError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Token, AtlasError>>,
    {
        if let Some(newer) = self.usable(Some(refused)) {
            return Ok(Some(newer));
        }
        if refused.after_refusal && !refused.accepted.load(Ordering::Relaxed) {
            return Ok(None);
        }
        self.fetch
            .run(|| async {
                if let Some(newer) = self.usable(Some(refused)) {
                    return Ok(newer);
                }
                self.store(fetch().await?, true)
            })
            .await
            .map(Some)
    }

    /// The cached token, if it is not due for renewal and is not `refused`.
    fn usable(&self, refused: Option<&Token>) -> Option<Token> {
        self.current()
            .as_ref()
            .filter(|token| Instant::now() < token.renew_at)
            .filter(|token| refused.is_none_or(|refused| refused.value != token.value))
            .cloned()
    }

    fn store(&self, mut token: Token, after_refusal: bool) -> Result<Token, AtlasError> {
        token.after_refusal = after_refusal;
        *self.current() = Some(token.clone());
        Ok(token)
    }

    fn current(&self) -> MutexGuard<'_, Option<Token>> {
        self.current.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(token: &str, expires_in: Option<f64>, kind: Option<&str>) -> TokenAnswer {
        TokenAnswer {
            access_token: token.into(),
            expires_in: expires_in.map(serde_json::Value::from),
            token_type: kind.map(str::to_owned),
        }
    }

    /// A fetch that counts its runs and hands out `t0`, `t1`, ...
    async fn numbered(fetches: &std::sync::atomic::AtomicUsize) -> Result<Token, AtlasError> {
        let n = fetches.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(answer(&format!("t{n}"), Some(3600.0), Some("Bearer"))
            .into_token(Instant::now())
            .unwrap())
    }

    #[tokio::test(start_paused = true)]
    async fn one_fetch_is_shared_until_a_minute_before_expiry() {
        let cache = TokenCache::new("id".into(), "secret".into());
        let fetches = std::sync::atomic::AtomicUsize::new(0);
        let value = |token: Result<Token, AtlasError>| token.map(|token| token.value).unwrap();
        assert_eq!(value(cache.token(|| numbered(&fetches)).await), "t0");
        tokio::time::advance(Duration::from_secs(3500)).await;
        assert_eq!(value(cache.token(|| numbered(&fetches)).await), "t0");
        tokio::time::advance(Duration::from_secs(50)).await;
        assert_eq!(value(cache.token(|| numbered(&fetches)).await), "t1");
        assert_eq!(fetches.load(std::sync::atomic::Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_refused_token_is_renewed_and_its_renewal_only_once_accepted() {
        let cache = TokenCache::new("id".into(), "secret".into());
        let fetches = std::sync::atomic::AtomicUsize::new(0);
        let first = cache.token(|| numbered(&fetches)).await.unwrap();
        let renewed = cache.after_refusal(&first, || numbered(&fetches)).await;
        let renewed = renewed.unwrap().expect("a refused first token is renewed");
        assert_eq!(renewed.value, "t1");
        // Another read refused with the first token gets the renewal, without a fetch.
        let again = cache.after_refusal(&first, || numbered(&fetches)).await;
        assert_eq!(
            again.unwrap().map(|token| token.value).as_deref(),
            Some("t1")
        );
        // A read refused with the renewal reports the 401.
        assert!(
            cache
                .after_refusal(&renewed, || numbered(&fetches))
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(fetches.load(std::sync::atomic::Ordering::SeqCst), 2);
        // Once Atlas accepted the renewal, a later refusal of it (an early expiry) renews again.
        renewed.mark_accepted();
        let third = cache.after_refusal(&renewed, || numbered(&fetches)).await;
        assert_eq!(
            third.unwrap().map(|token| token.value).as_deref(),
            Some("t2")
        );
    }

    #[test]
    fn short_lived_tokens_are_used_for_half_their_life() {
        let now = Instant::now();
        let token = answer("t", Some(30.0), None).into_token(now).unwrap();
        assert_eq!(token.renew_at - now, Duration::from_secs(15));
    }

    /// docs/atlas-api.md: the one rule for `expires_in`.
    #[test]
    fn expires_in_is_seconds_from_a_number_or_a_string_kept_between_10_s_and_a_day() {
        use serde_json::json;
        for (said, seconds) in [
            (json!(null), 3600),
            (json!(3600), 3600),
            (json!("3600"), 3600),
            (json!(" 120 "), 120),
            (json!(0), 10),
            (json!(1e-300), 10),
            (json!(-5), 10),
            (json!("0"), 10),
            (json!(1e12), 86400),
        ] {
            assert_eq!(
                lifetime(Some(&said)),
                Ok(Duration::from_secs(seconds)),
                "{said}"
            );
        }
        assert_eq!(lifetime(None), Ok(Duration::from_secs(3600)));
        for said in [json!("soon"), json!(true), json!([3600]), json!({"s": 1})] {
            assert!(
                matches!(
                    lifetime(Some(&said)),
                    Err(TokenProblem::ExpiresInNotANumber(_))
                ),
                "{said}"
            );
        }
        let refused = lifetime(Some(&json!("soon"))).unwrap_err().to_string();
        assert!(
            refused.contains("\"soon\"") && refused.contains("expires_in"),
            "{refused}"
        );
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
