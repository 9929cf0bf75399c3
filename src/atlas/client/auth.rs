//! How one request authenticates: answering Atlas's digest challenge (with the session's cached
//! nonce), or carrying a service account's bearer token (fetched once per process, renewed once
//! after a 401), or a given access token.

use std::time::Instant;

use reqwest::StatusCode;
use reqwest::header::{
    ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, WWW_AUTHENTICATE,
};
use url::Url;

use super::answer::{decode_token_answer, refuse_redirect};
use super::{AtlasClient, Auth};
use crate::atlas::digest::DigestSession;
use crate::atlas::error::AtlasError;
use crate::atlas::routes::RouteFamily;
use crate::atlas::service_account::{Token, TokenAnswer, TokenCache};
use crate::atlas::shared_fetch::SharedFetch;
use crate::logging;

impl AtlasClient {
    /// Sends a GET with the configured credentials, answering a digest challenge or renewing a
    /// refused service-account token once.
    pub(super) async fn send_authenticated(
        &self,
        family: RouteFamily,
        url: &Url,
        challenge_at: Option<(RouteFamily, &Url)>,
    ) -> Result<reqwest::Response, AtlasError> {
        match &self.auth {
            Auth::Digest(session, first_challenge) => {
                self.send_digest(session, first_challenge, family, url, challenge_at)
                    .await
            }
            Auth::ServiceAccount(cache) => {
                let token = cache.token(|| self.fetch_token(cache)).await?;
                let response = self.send(family, url, Some(bearer(&token.value)?)).await?;
                if response.status() != StatusCode::UNAUTHORIZED {
                    token.mark_accepted();
                    return Ok(response);
                }
                // Revoked or expired early: one new token, one more try.
                let Some(renewed) = cache
                    .after_refusal(&token, || self.fetch_token(cache))
                    .await?
                else {
                    return Ok(response);
                };
                self.discard(response).await;
                let response = self
                    .send(family, url, Some(bearer(&renewed.value)?))
                    .await?;
                if response.status() != StatusCode::UNAUTHORIZED {
                    renewed.mark_accepted();
                }
                Ok(response)
            }
            Auth::AccessToken(token) => self.send(family, url, Some(bearer(token)?)).await,
        }
    }

    /// Digest: answer the cached challenge, or, while none is cached, the one fetched by the one
    /// request in flight for it (whose failure is every waiting read's). On a 401 to a cached
    /// challenge's answer that carries a new challenge (a nonce Atlas no longer accepts), learn
    /// it and answer once more. A 401 to a fresh answer is the caller's to report.
    async fn send_digest(
        &self,
        session: &DigestSession,
        first_challenge: &SharedFetch<Result<bool, AtlasError>>,
        family: RouteFamily,
        url: &Url,
        challenge_at: Option<(RouteFamily, &Url)>,
    ) -> Result<reqwest::Response, AtlasError> {
        let uri = request_uri(url);
        if let Some(answer) = session.answer(digest_auth::HttpMethod::GET, &uri) {
            let response = self.send(family, url, Some(header_value(&answer)?)).await?;
            return self
                .answer_new_challenge(session, family, url, &uri, response)
                .await;
        }
        // The request that fetches the challenge keeps the answer it got when that was not a
        // challenge (a server that asks for none): it is this read's answer.
        let mut own_answer = None;
        let learned = first_challenge
            .run(|| async {
                let response = self.fetch_challenge(family, url, challenge_at).await?;
                match digest_challenge(response.headers()) {
                    Some(challenge) if response.status() == StatusCode::UNAUTHORIZED => {
                        learn(session, &challenge)?;
                        self.discard(response).await;
                        Ok(true)
                    }
                    _ => {
                        own_answer = Some(response);
                        Ok(false)
                    }
                }
            })
            .await;
        if let Some(response) = own_answer {
            return Ok(response);
        }
        if !learned? {
            let response = self.send(family, url, None).await?;
            return self
                .answer_new_challenge(session, family, url, &uri, response)
                .await;
        }
        self.send_answer(session, family, url, &uri).await
    }

    /// A request without credentials, to be answered with a challenge: on `challenge_at` when
    /// given (only a 401 with a digest challenge from there is of use; anything else, and the
    /// request goes where it was meant to), else on `url`.
    async fn fetch_challenge(
        &self,
        family: RouteFamily,
        url: &Url,
        challenge_at: Option<(RouteFamily, &Url)>,
    ) -> Result<reqwest::Response, AtlasError> {
        if let Some((other, other_url)) = challenge_at {
            let fetched = self.send(other, other_url, None).await?;
            if fetched.status() == StatusCode::UNAUTHORIZED
                && digest_challenge(fetched.headers()).is_some()
            {
                return Ok(fetched);
            }
            self.discard(fetched).await;
        }
        self.send(family, url, None).await
    }

    /// A 401 that carries a digest challenge (the first answer, or a nonce Atlas no longer
    /// accepts): learn the challenge and answer it once. Any other answer is returned as is.
    async fn answer_new_challenge(
        &self,
        session: &DigestSession,
        family: RouteFamily,
        url: &Url,
        uri: &str,
        response: reqwest::Response,
    ) -> Result<reqwest::Response, AtlasError> {
        if response.status() != StatusCode::UNAUTHORIZED {
            return Ok(response);
        }
        let Some(challenge) = digest_challenge(response.headers()) else {
            return Ok(response);
        };
        if learn(session, &challenge)? {
            logging::debug("Atlas expired the digest nonce; answering its new one", &[]);
        }
        self.discard(response).await;
        self.send_answer(session, family, url, uri).await
    }

    /// Sends the GET with the answer to the challenge just learned.
    async fn send_answer(
        &self,
        session: &DigestSession,
        family: RouteFamily,
        url: &Url,
        uri: &str,
    ) -> Result<reqwest::Response, AtlasError> {
        let answer = session
            .answer(digest_auth::HttpMethod::GET, uri)
            .ok_or_else(|| AtlasError::Challenge {
                cause: "the challenge could not be answered".into(),
            })?;
        self.send(family, url, Some(header_value(&answer)?)).await
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
                let answer: TokenAnswer = decode_token_answer(self.host(), &answered)?;
                answer
                    .into_token(tokio::time::Instant::now())
                    .map_err(|problem| AtlasError::UnusableToken {
                        host: self.host(),
                        cause: problem.to_string(),
                    })
            }
        })
        .await
    }
}

/// Caches the challenge for the session's answers; true when Atlas marked the old nonce stale.
fn learn(session: &DigestSession, challenge: &str) -> Result<bool, AtlasError> {
    session
        .learn(challenge)
        .map_err(|error| AtlasError::Challenge {
            cause: error.to_string(),
        })
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
            excerpt: "(not shown: it is a token)".into(),
            cause: "the access token has characters an HTTP header cannot carry".into(),
        }
    })?;
    value.set_sensitive(true);
    Ok(value)
}
