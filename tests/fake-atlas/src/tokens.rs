//! Service accounts: the token endpoint and the bearer tokens it issues.
//!
//! As Atlas's "Generate Service Account Token" page documents it
//! (https://mongodb.com/docs/atlas/api/service-accounts/generate-oauth2-token):
//! `POST /api/oauth/token` with `Authorization: Basic base64(client_id:client_secret)` and the
//! form body `grant_type=client_credentials`; the answer holds `access_token`, `token_type`
//! (`Bearer`) and `expires_in` (seconds). Atlas's tokens live one hour
//! (https://mongodb.com/docs/atlas/api/api-authentication). The 401 for wrong credentials is not
//! documented; the fake answers Atlas's usual 401 body, so clients must rely on the status.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hyper::Response;
use hyper::header::{HeaderValue, RETRY_AFTER, WWW_AUTHENTICATE};
use md5::{Digest, Md5};

use crate::hostile::Outcome;
use crate::responses::{FakeBody, error_body, error_response, json_response};

/// The path of the token endpoint (atlas-sdk-go's `TokenAPIPath`).
pub const TOKEN_PATH: &str = "/api/oauth/token";

/// The service account a fresh fake knows: Atlas client ids are `mdb_sa_id_` and 24 hex digits.
pub const CLIENT_ID: &str = "mdb_sa_id_5f1a2b3c4d5e6f7a8b9c0d1e";
pub const CLIENT_SECRET: &str = "mdb_sa_sk_Qm9rV2t4bGpHc1ZkZ0pYcU5mYzNhTXhPZ0lZ";

/// Atlas's token lifetime.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);

/// Atlas's limit on the token endpoint, as its 429 states it: 50 requests every minute.
const TOKEN_RATE_LIMIT_REQUESTS: u32 = 50;
pub(crate) const TOKEN_RATE_LIMIT_WINDOW: Duration = Duration::from_secs(60);

struct IssuedToken {
    expires_at: Instant,
}

/// How the token endpoint answers a request with the right credentials.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum TokenEndpoint {
    /// Issue a token, as Atlas does.
    #[default]
    Issue,
    /// Atlas's 429 RATE_LIMITED (checked before the credentials, as Atlas's limiter is) with a
    /// window of this long: "every 1 minutes" for Atlas's own, and `Retry-After` with the
    /// seconds for a window that is not whole minutes.
    RateLimited { window: Duration },
    /// Never answer (until the fake stops).
    Hang,
    /// Issue a valid token, but say this `expires_in` (any JSON) in the answer.
    IssueWithExpiresIn(serde_json::Value),
    /// Answer 200 `application/json` with this body (after checking the credentials).
    Body(String),
}

/// The service accounts and the tokens issued so far.
pub(crate) struct TokenBook {
    accounts: HashMap<String, String>,
    issued: HashMap<String, IssuedToken>,
    pub lifetime: Duration,
    pub endpoint: TokenEndpoint,
    /// Every bearer token is refused on the data routes, as if revoked the moment it was issued.
    pub refuse_all: bool,
    pub requests: usize,
    serial: u64,
}

impl Default for TokenBook {
    fn default() -> Self {
        Self {
            accounts: HashMap::from([(CLIENT_ID.to_owned(), CLIENT_SECRET.to_owned())]),
            issued: HashMap::new(),
            lifetime: DEFAULT_LIFETIME,
            endpoint: TokenEndpoint::Issue,
            refuse_all: false,
            requests: 0,
            serial: 0,
        }
    }
}

/// What a bearer token is worth.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum BearerVerdict {
    Valid,
    Expired,
    Unknown,
}

impl TokenBook {
    pub fn add_account(&mut self, client_id: &str, secret: &str) {
        self.accounts
            .insert(client_id.to_owned(), secret.to_owned());
    }

    /// A new token for `client_id`, valid for `lifetime`. Shaped like Atlas's (a JWT) so that a
    /// client that peeks at it sees the familiar form; only this book can validate it.
    pub fn issue(&mut self, client_id: &str, lifetime: Duration) -> String {
        self.serial += 1;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let claims = serde_json::json!({
            "sub": client_id,
            "iat": now.as_secs(),
            "exp": (now + lifetime).as_secs(),
            "jti": format!("{}-{}", std::process::id(), self.serial),
        });
        let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
        let signature = URL_SAFE_NO_PAD.encode(Md5::digest(format!("{header}.{payload}")));
        let token = format!("{header}.{payload}.{signature}");
        self.issued.insert(
            token.clone(),
            IssuedToken {
                expires_at: Instant::now() + lifetime,
            },
        );
        token
    }

    pub fn check_bearer(&self, token: &str) -> BearerVerdict {
        if self.refuse_all {
            return BearerVerdict::Unknown;
        }
        match self.issued.get(token) {
            Some(issued) if Instant::now() < issued.expires_at => BearerVerdict::Valid,
            Some(_) => BearerVerdict::Expired,
            None => BearerVerdict::Unknown,
        }
    }

    /// Answers one request to the token endpoint (its body already read).
    pub fn answer(
        &mut self,
        method: &str,
        authorization: Option<&str>,
        body: Option<&[u8]>,
    ) -> Outcome {
        self.requests += 1;
        match &self.endpoint {
            TokenEndpoint::Hang => Outcome::Hang,
            TokenEndpoint::RateLimited { window } => Outcome::Answer(rate_limited(*window)),
            _ => Outcome::Answer(self.answer_credentials(method, authorization, body)),
        }
    }

    fn answer_credentials(
        &mut self,
        method: &str,
        authorization: Option<&str>,
        body: Option<&[u8]>,
    ) -> Response<FakeBody> {
        if method != "POST" {
            return error_response(405, None, "Method not allowed.");
        }
        let Some(client_id) = authorization
            .and_then(basic_credentials)
            .filter(|(id, secret)| self.accounts.get(id) == Some(secret))
            .map(|(id, _)| id)
        else {
            return error_response(401, None, "You are not authorized for this resource.");
        };
        let Some(body) = body else {
            return error_response(400, None, "The request body is too large.");
        };
        let grant_is_client_credentials = form_urlencoded::parse(body)
            .any(|(name, value)| name == "grant_type" && value == "client_credentials");
        if !grant_is_client_credentials {
            return error_response(400, None, "grant_type must be client_credentials.");
        }
        let expires_in = match &self.endpoint {
            TokenEndpoint::Body(body) => return json_response(200, body.clone()),
            TokenEndpoint::IssueWithExpiresIn(said) => said.clone(),
            _ => self.lifetime.as_secs().into(),
        };
        let lifetime = self.lifetime;
        let token = self.issue(&client_id, lifetime);
        let body = serde_json::json!({
            "access_token": token,
            "expires_in": expires_in,
            "token_type": "Bearer",
        });
        json_response(200, body.to_string())
    }
}

/// `Basic base64(id:secret)` into its parts, each form-decoded as RFC 6749 section 2.3.1 says a
/// client encodes them.
fn basic_credentials(header: &str) -> Option<(String, String)> {
    let encoded = header.trim().strip_prefix("Basic ")?;
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let form_decode = |text: &str| -> String {
        form_urlencoded::parse(format!("x={text}").as_bytes())
            .next()
            .map(|(_, value)| value.into_owned())
            .unwrap_or_default()
    };
    Some((form_decode(id), form_decode(secret)))
}

/// The 401 for a bearer token that is expired or unknown: Atlas's 401 body, and the RFC 6750
/// section 3 challenge, never a digest challenge (a token client has no digest key to answer
/// it with).
pub(crate) fn bearer_rejected(verdict: &BearerVerdict) -> Response<FakeBody> {
    let description = match verdict {
        BearerVerdict::Expired => "The access token expired",
        _ => "The access token is not valid",
    };
    let mut response = error_response(401, None, "You are not authorized for this resource.");
    let challenge = format!("Bearer error=\"invalid_token\", error_description=\"{description}\"");
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response.headers_mut().insert(WWW_AUTHENTICATE, value);
    }
    response
}

/// Atlas's 429 RATE_LIMITED for the token endpoint. Its body states the window in whole minutes;
/// a window that is not one (a test's short one) is also sent as `Retry-After` in seconds, which
/// a client honours first, as Atlas sends it too at times.
fn rate_limited(window: Duration) -> Response<FakeBody> {
    let requests = TOKEN_RATE_LIMIT_REQUESTS;
    let minutes = window.as_secs().div_ceil(60).max(1);
    let mut response = json_response(
        429,
        error_body(
            429,
            Some("RATE_LIMITED"),
            &format!(
                "Resource {TOKEN_PATH} is limited to {requests} requests every {minutes} minutes."
            ),
            vec![TOKEN_PATH.into(), requests.into(), minutes.into()],
        ),
    );
    if window != Duration::from_secs(minutes * 60) {
        let seconds = window.as_secs() + u64::from(window.subsec_nanos() != 0);
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_decoded_and_form_unescaped() {
        let header = format!("Basic {}", STANDARD.encode("mdb_sa_id_1:a%2Bb+c"));
        assert_eq!(
            basic_credentials(&header),
            Some(("mdb_sa_id_1".to_owned(), "a+b c".to_owned()))
        );
        assert_eq!(basic_credentials("Bearer x"), None);
    }

    #[test]
    fn a_token_is_valid_until_its_lifetime_ends() {
        let mut book = TokenBook::default();
        let live = book.issue(CLIENT_ID, Duration::from_secs(60));
        let dead = book.issue(CLIENT_ID, Duration::ZERO);
        assert_eq!(book.check_bearer(&live), BearerVerdict::Valid);
        assert_eq!(book.check_bearer(&dead), BearerVerdict::Expired);
        assert_eq!(book.check_bearer("eyJ.forged.x"), BearerVerdict::Unknown);
        assert_eq!(live.split('.').count(), 3);
    }
}
