//! How the fake authenticates: the service-account token endpoint and bearer tokens, and digest
//! challenges whose realm and nonce need RFC 7230 escapes, answered by a real digest client.

use std::time::Duration;

use crate::common::{Answer, DigestSession, V2, client, get_with, v2_link};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use fake_atlas::{CLIENT_ID, CLIENT_SECRET, FakeAtlas, PRIVATE_KEY, TOKEN_PATH};

/// `POST /api/oauth/token` as Atlas documents it: Basic credentials, a form body.
async fn request_token(atlas: &FakeAtlas, client_id: &str, secret: &str, grant: &str) -> Answer {
    let basic = STANDARD.encode(format!("{client_id}:{secret}"));
    let response = client()
        .post(format!("{}{TOKEN_PATH}", atlas.url()))
        .header("Authorization", format!("Basic {basic}"))
        .header("Accept", "application/json")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!("grant_type={grant}"))
        .send()
        .await
        .unwrap();
    Answer {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body: response.text().await.unwrap(),
    }
}

async fn bearer(atlas: &FakeAtlas, token: &str) -> Answer {
    get_with(atlas, &v2_link(), Some(V2), Some(format!("Bearer {token}"))).await
}

#[tokio::test]
async fn the_token_endpoint_issues_a_bearer_token_the_data_routes_accept() {
    let atlas = FakeAtlas::start().await;
    let answer = request_token(&atlas, CLIENT_ID, CLIENT_SECRET, "client_credentials").await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let body = answer.json();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    let token = body["access_token"].as_str().unwrap().to_owned();

    let data = bearer(&atlas, &token).await;
    assert_eq!(data.status, 200, "{}", data.body);
    assert_eq!(atlas.token_requests(), 1);
    assert_eq!(
        atlas.challenges_issued(),
        0,
        "a bearer request is never challenged"
    );
    let schemes: Vec<Option<String>> = atlas
        .requests()
        .into_iter()
        .map(|request| request.authorization_scheme)
        .collect();
    assert_eq!(schemes, [Some("Basic".into()), Some("Bearer".into())]);
}

#[tokio::test]
async fn wrong_client_credentials_get_atlas_401_and_no_token() {
    let atlas = FakeAtlas::start().await;
    let answer = request_token(&atlas, CLIENT_ID, "mdb_sa_sk_wrong", "client_credentials").await;
    assert_eq!(answer.status, 401);
    assert_eq!(
        answer.json()["detail"],
        "You are not authorized for this resource."
    );
    assert!(answer.json().get("access_token").is_none());
    let other_grant = request_token(&atlas, CLIENT_ID, CLIENT_SECRET, "password").await;
    assert_eq!(other_grant.status, 400);
    assert_eq!(atlas.token_requests(), 2);
}

#[tokio::test]
async fn an_added_service_account_gets_tokens_with_the_configured_lifetime() {
    let atlas = FakeAtlas::start().await;
    atlas.add_service_account("mdb_sa_id_000000000000000000000001", "mdb_sa_sk_second");
    atlas.set_token_lifetime(Duration::from_secs(2));
    let answer = request_token(
        &atlas,
        "mdb_sa_id_000000000000000000000001",
        "mdb_sa_sk_second",
        "client_credentials",
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.json()["expires_in"], 2);
}

#[tokio::test]
async fn an_expired_or_unknown_token_gets_401_with_a_bearer_challenge_not_a_digest_one() {
    let atlas = FakeAtlas::start().await;
    atlas.set_token_lifetime(Duration::ZERO);
    let token = request_token(&atlas, CLIENT_ID, CLIENT_SECRET, "client_credentials")
        .await
        .json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let expired_by_endpoint = bearer(&atlas, &token).await;
    let expired_directly = bearer(&atlas, &atlas.issue_token(Duration::ZERO)).await;
    let unknown = bearer(&atlas, "eyJhbGciOiJIUzI1NiJ9.e30.forged").await;
    for answer in [&expired_by_endpoint, &expired_directly, &unknown] {
        assert_eq!(answer.status, 401);
        assert_eq!(
            answer.json()["detail"],
            "You are not authorized for this resource."
        );
        let challenge = answer.header("www-authenticate").unwrap();
        assert!(
            challenge.starts_with("Bearer error=\"invalid_token\""),
            "{challenge}"
        );
    }
    assert!(
        expired_by_endpoint
            .header("www-authenticate")
            .unwrap()
            .contains("expired")
    );
    assert_eq!(atlas.challenges_issued(), 0);
    assert_eq!(
        bearer(&atlas, &atlas.issue_token(Duration::from_secs(60)))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn a_rate_limited_token_endpoint_answers_atlas_429_before_checking_credentials() {
    let atlas = FakeAtlas::start().await;
    atlas.rate_limit_tokens(true);
    let answer = request_token(&atlas, CLIENT_ID, "wrong", "client_credentials").await;
    assert_eq!(answer.status, 429);
    assert_eq!(
        answer.json(),
        serde_json::json!({
            "detail": "Resource /api/oauth/token is limited to 50 requests every 1 minutes.",
            "error": 429, "errorCode": "RATE_LIMITED", "reason": "Too Many Requests",
            "parameters": ["/api/oauth/token", 50, 1],
        })
    );
    atlas.rate_limit_tokens(false);
    let answer = request_token(&atlas, CLIENT_ID, CLIENT_SECRET, "client_credentials").await;
    assert_eq!(answer.status, 200);
    assert_eq!(atlas.token_requests(), 2);
}

#[tokio::test]
async fn a_short_token_rate_limit_window_is_sent_as_retry_after() {
    let atlas = FakeAtlas::start().await;
    atlas.rate_limit_tokens_for(Duration::from_millis(1500));
    let answer = request_token(&atlas, CLIENT_ID, CLIENT_SECRET, "client_credentials").await;
    assert_eq!(answer.status, 429);
    assert_eq!(answer.header("retry-after").as_deref(), Some("2"));
    assert_eq!(
        answer.json()["parameters"],
        serde_json::json!(["/api/oauth/token", 50, 1])
    );
    atlas.rate_limit_tokens(true);
    let answer = request_token(&atlas, CLIENT_ID, CLIENT_SECRET, "client_credentials").await;
    assert_eq!(
        answer.header("retry-after"),
        None,
        "Atlas's minute is said in the body alone"
    );
}

#[tokio::test]
async fn a_digest_client_that_unescapes_quoted_strings_passes_an_escaped_challenge_and_reuses_it() {
    let atlas = FakeAtlas::start().await;
    atlas.set_challenge_realm("MMS \"Public\" API \\ test");
    atlas.set_nonce_with_escapes(true);
    let path = v2_link();
    let mut session = DigestSession::open(&atlas, &path).await;
    assert_eq!(session.challenge.realm, "MMS \"Public\" API \\ test");
    assert!(session.challenge.nonce.contains('"') && session.challenge.nonce.contains('\\'));
    for _ in 0..3 {
        let answer = session.get(&atlas, &path, Some(V2)).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
    }
    assert_eq!(
        atlas.challenges_issued(),
        1,
        "the nonce is reused with nc 1, 2, 3"
    );
}

#[tokio::test]
async fn a_client_that_sends_back_a_cut_nonce_is_rejected_without_stale() {
    let atlas = FakeAtlas::start().await;
    atlas.set_nonce_with_escapes(true);
    let path = v2_link();
    let mut session = DigestSession::open(&atlas, &path).await;
    let full = session.challenge.nonce.clone();
    // What a parser that stops at the first escaped quote keeps.
    session.challenge.nonce = full[..full.find('"').unwrap()].to_owned();
    let authorization = session.authorization(&path, PRIVATE_KEY);
    let answer = get_with(&atlas, &path, Some(V2), Some(authorization)).await;
    assert_eq!(answer.status, 401);
    assert!(
        answer
            .header("www-authenticate")
            .unwrap()
            .ends_with("stale=false")
    );
}

#[tokio::test]
async fn the_digest_answer_must_use_the_realm_the_fake_challenged_with() {
    let atlas = FakeAtlas::start().await;
    atlas.set_challenge_realm("Another realm");
    let path = v2_link();
    let mut session = DigestSession::open(&atlas, &path).await;
    session.challenge.realm = fake_atlas::REALM.to_owned();
    let answer = session.get(&atlas, &path, Some(V2)).await;
    assert_eq!(answer.status, 401);
    session.challenge.realm = "Another realm".to_owned();
    assert_eq!(session.get(&atlas, &path, Some(V2)).await.status, 200);
}
