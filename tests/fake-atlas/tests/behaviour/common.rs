//! Clients for the fake's own tests: bearer and digest requests through reqwest (the digest
//! answer computed by the `digest_auth` crate, a client the fake does not share code with), and
//! raw TCP for answers no HTTP client would hand over.

use std::time::Duration;

use fake_atlas::{FakeAtlas, PRIVATE_KEY, PRIVATE_LINK_ID, PROJECT_ID, PUBLIC_KEY};
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, WWW_AUTHENTICATE};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

pub const V2: &str = "application/vnd.atlas.2023-01-01+json";

/// What a test looks at in an answer.
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|error| {
            panic!("not JSON ({error}): {}", self.body);
        })
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    }
}

/// A client that follows no redirect, so tests see the 3xx itself.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

async fn answer(response: reqwest::Response) -> Answer {
    Answer {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body: response.text().await.unwrap(),
    }
}

/// GET with a bearer token the fake issued directly.
pub async fn bearer_get(atlas: &FakeAtlas, path: &str, accept: Option<&str>) -> Answer {
    let token = atlas.issue_token(Duration::from_secs(600));
    get_with(atlas, path, accept, Some(format!("Bearer {token}"))).await
}

/// GET with this `Authorization` header, or none.
pub async fn get_with(
    atlas: &FakeAtlas,
    path: &str,
    accept: Option<&str>,
    authorization: Option<String>,
) -> Answer {
    let mut request = client().get(format!("{}{path}", atlas.url()));
    if let Some(accept) = accept {
        request = request.header(ACCEPT, accept);
    }
    if let Some(authorization) = authorization {
        request = request.header(AUTHORIZATION, authorization);
    }
    answer(request.send().await.unwrap()).await
}

/// A digest session as a client keeps it: the last challenge, answered with an increasing `nc`.
pub struct DigestSession {
    pub challenge: digest_auth::WwwAuthenticateHeader,
}

impl DigestSession {
    /// Asks for a challenge with an unauthenticated GET of `path`.
    pub async fn open(atlas: &FakeAtlas, path: &str) -> DigestSession {
        let first = get_with(atlas, path, None, None).await;
        assert_eq!(first.status, 401, "{}", first.body);
        let header = first.header(WWW_AUTHENTICATE.as_str()).unwrap();
        DigestSession {
            challenge: digest_auth::parse(&header).unwrap(),
        }
    }

    /// The `Authorization` header for the next GET of `path`.
    pub fn authorization(&mut self, path: &str, password: &str) -> String {
        let context = digest_auth::AuthContext::new(PUBLIC_KEY, password, path);
        self.challenge.respond(&context).unwrap().to_header_string()
    }

    pub async fn get(&mut self, atlas: &FakeAtlas, path: &str, accept: Option<&str>) -> Answer {
        let authorization = self.authorization(path, PRIVATE_KEY);
        get_with(atlas, path, accept, Some(authorization)).await
    }
}

/// One GET answered with digest auth: challenge, then the answer.
pub async fn digest_get(atlas: &FakeAtlas, path: &str, accept: Option<&str>) -> Answer {
    DigestSession::open(atlas, path)
        .await
        .get(atlas, path, accept)
        .await
}

/// Sends a raw GET with a fresh bearer token and returns the connection to read from.
pub async fn raw_get(atlas: &FakeAtlas, path: &str) -> TcpStream {
    let token = atlas.issue_token(Duration::from_secs(600));
    let mut stream = TcpStream::connect(atlas.address()).await.unwrap();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\nAccept: {V2}\r\n\r\n",
        atlas.address()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    stream
}

pub fn v1_endpoint(endpoint_id: &str) -> String {
    format!(
        "/api/atlas/v1.0/groups/{PROJECT_ID}/privateEndpoint/{PRIVATE_LINK_ID}/interfaceEndpoints/{endpoint_id}"
    )
}

pub fn v2_endpoint(endpoint_id: &str) -> String {
    format!(
        "/api/atlas/v2/groups/{PROJECT_ID}/privateEndpoint/AWS/endpointService/{PRIVATE_LINK_ID}/endpoint/{endpoint_id}"
    )
}

pub fn v1_link() -> String {
    format!("/api/atlas/v1.0/groups/{PROJECT_ID}/privateEndpoint/{PRIVATE_LINK_ID}")
}

pub fn v2_link() -> String {
    format!(
        "/api/atlas/v2/groups/{PROJECT_ID}/privateEndpoint/AWS/endpointService/{PRIVATE_LINK_ID}"
    )
}
