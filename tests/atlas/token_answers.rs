//! What the token endpoint answers, checked before it is used: an answer that is too large or
//! not a token is described as a service-account token answer (never shown: it may hold a
//! token), and `expires_in` follows one rule (issue 21, item 7).

use fake_atlas::{CLIENT_SECRET, FakeAtlas, TokenEndpoint};
use serde_json::json;
use terraform_provider_atlas::atlas::{ApiVersion, AtlasClient, AtlasError};

use crate::{atlas_with_endpoint, client, id, service_account};

fn token_client(atlas: &FakeAtlas) -> AtlasClient {
    client(
        atlas,
        service_account(CLIENT_SECRET),
        ApiVersion::Versioned,
        0,
    )
}

async fn read_error(atlas: &FakeAtlas) -> String {
    let error: AtlasError = token_client(atlas)
        .read_interface_endpoint(&id())
        .await
        .unwrap_err();
    error.to_string()
}

#[tokio::test]
async fn an_oversized_token_answer_is_an_unusable_service_account_token() {
    let atlas = atlas_with_endpoint().await;
    let token = "a".repeat(2 << 20);
    atlas.set_token_endpoint(TokenEndpoint::Body(format!(
        "{{\"access_token\":\"{token}\"}}"
    )));
    let error = read_error(&atlas).await;
    assert!(
        error.contains("service-account token") && error.contains("larger than the 1048576 bytes"),
        "{error}"
    );
    assert!(!error.contains("aaaaaaaa"));
}

#[tokio::test]
async fn an_answer_that_is_not_a_token_says_so_without_showing_it() {
    let atlas = atlas_with_endpoint().await;
    atlas.set_token_endpoint(TokenEndpoint::Body(
        "{\"token\":\"eyJhbGciOi.secret-looking\"}".into(),
    ));
    let error = read_error(&atlas).await;
    assert!(
        error.contains("service-account token") && error.contains("access_token"),
        "{error}"
    );
    assert!(!error.contains("secret-looking"), "{error}");
}

/// `expires_in` under 10 s (here `1e-300`, as a hostile endpoint sent it) is taken as 10 s: 100
/// reads make one token request, not one each.
#[tokio::test]
async fn a_vanishing_expires_in_is_floored_so_100_reads_make_one_token_request() {
    let atlas = atlas_with_endpoint().await;
    atlas.set_token_endpoint(TokenEndpoint::IssueWithExpiresIn(json!(1e-300)));
    let client = token_client(&atlas);
    for _ in 0..100 {
        client.read_interface_endpoint(&id()).await.unwrap();
    }
    assert_eq!(atlas.token_requests(), 1);
}

#[tokio::test]
async fn expires_in_as_a_string_of_digits_is_read_as_seconds() {
    let atlas = atlas_with_endpoint().await;
    atlas.set_token_endpoint(TokenEndpoint::IssueWithExpiresIn(json!("3600")));
    let client = token_client(&atlas);
    client.read_interface_endpoint(&id()).await.unwrap();
    client.read_interface_endpoint(&id()).await.unwrap();
    assert_eq!(atlas.token_requests(), 1);
}

#[tokio::test]
async fn expires_in_that_is_not_a_number_is_refused_naming_it() {
    let atlas = atlas_with_endpoint().await;
    atlas.set_token_endpoint(TokenEndpoint::IssueWithExpiresIn(json!("soon")));
    let error = read_error(&atlas).await;
    assert!(
        error.contains("service-account token")
            && error.contains("expires_in is \"soon\", not a number"),
        "{error}"
    );
}
