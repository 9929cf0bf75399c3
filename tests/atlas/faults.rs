//! The Atlas client against the fake Atlas with injected faults: retries, timeouts, digest
//! sessions and body limits.

use std::sync::Arc;
use std::time::{Duration, Instant};

use fake_atlas::{FakeAtlas, Fault, PUBLIC_KEY};
use terraform_provider_atlas::atlas::{
    ApiVersion, AtlasClient, AtlasError, Credentials, TimeoutPhase,
};

use crate::{
    api_key, atlas_with_endpoint, client, client_with_timeout, id, read_at_once, settings,
};

fn status_fault(status: u16, code: &str, retry_after: Option<&str>) -> Fault {
    Fault::Status {
        status,
        error_code: Some(code.into()),
        retry_after: retry_after.map(str::to_owned),
    }
}

/// Requests that passed digest auth (the ones a fault or the route answered).
fn authenticated(atlas: &FakeAtlas) -> usize {
    atlas
        .requests()
        .iter()
        .filter(|request| request.status != 401)
        .count()
}

#[tokio::test]
async fn service_unavailable_twice_then_ok_succeeds() {
    let atlas = atlas_with_endpoint().await;
    atlas.push_fault(status_fault(503, "SERVICE_UNAVAILABLE", None));
    atlas.push_fault(status_fault(503, "SERVICE_UNAVAILABLE", None));
    let endpoint = client(&atlas, api_key(), ApiVersion::Legacy, 4)
        .read_interface_endpoint(&id())
        .await
        .unwrap();
    assert_eq!(endpoint.connection_status, "AVAILABLE");
    assert_eq!(authenticated(&atlas), 3);
}

#[tokio::test]
async fn rate_limit_waits_for_retry_after() {
    let atlas = atlas_with_endpoint().await;
    atlas.push_fault(status_fault(429, "RATE_LIMITED", Some("1")));
    let started = Instant::now();
    let endpoint = client(&atlas, api_key(), ApiVersion::Legacy, 4)
        .read_interface_endpoint(&id())
        .await
        .unwrap();
    assert_eq!(endpoint.connection_status, "AVAILABLE");
    let answered: Vec<Instant> = atlas
        .requests()
        .iter()
        .filter(|request| request.status != 401)
        .map(|request| request.at)
        .collect();
    assert_eq!(answered.len(), 2);
    assert!(
        answered[1] - answered[0] >= Duration::from_secs(1),
        "Retry-After: 1 was not honoured"
    );
    assert!(started.elapsed() >= Duration::from_secs(1));
}

#[tokio::test]
async fn server_error_forever_gives_up_after_bounded_attempts() {
    let atlas = atlas_with_endpoint().await;
    for _ in 0..10 {
        atlas.push_fault(status_fault(500, "UNEXPECTED_ERROR", None));
    }
    let error = client(&atlas, api_key(), ApiVersion::Legacy, 4)
        .read_interface_endpoint(&id())
        .await
        .unwrap_err();
    let AtlasError::GaveUp { attempts, last, .. } = &error else {
        panic!("{error:?}")
    };
    assert_eq!(*attempts, 3, "500 is retried at most twice");
    assert!(matches!(last.as_ref(), AtlasError::Api(api) if api.status == 500));
    assert_eq!(authenticated(&atlas), 3);
    assert!(
        error.to_string().contains("gave up after 3 attempts"),
        "{error}"
    );
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let atlas = atlas_with_endpoint().await;
    for status in [400, 403, 404] {
        atlas.push_fault(status_fault(status, "SOMETHING", None));
        let error = client(&atlas, api_key(), ApiVersion::Legacy, 4)
            .read_interface_endpoint(&id())
            .await
            .unwrap_err();
        assert!(
            matches!(&error, AtlasError::Api(api) if api.status == status),
            "{error:?}"
        );
    }
    assert_eq!(authenticated(&atlas), 3);
}

/// docs/reliability.md: a 410 (a retired version date, or a route Atlas no longer serves) is
/// never retried, like the other client errors.
#[tokio::test]
async fn a_gone_answer_is_not_retried() {
    let atlas = atlas_with_endpoint().await;
    atlas.push_fault(status_fault(410, "VERSION_GONE", Some("1")));
    let error = client(&atlas, api_key(), ApiVersion::Legacy, 4)
        .read_interface_endpoint(&id())
        .await
        .unwrap_err();
    assert!(
        matches!(&error, AtlasError::Api(api) if api.status == 410),
        "{error:?}"
    );
    assert_eq!(authenticated(&atlas), 1);
}

#[tokio::test]
async fn server_that_never_answers_times_out_with_the_limit() {
    let atlas = atlas_with_endpoint().await;
    atlas.push_fault(Fault::Hang);
    let started = Instant::now();
    let error = client_with_timeout(
        &atlas,
        api_key(),
        ApiVersion::Legacy,
        4,
        Duration::from_secs(1),
    )
    .read_interface_endpoint(&id())
    .await
    .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the read must not hang"
    );
    let AtlasError::Timeout { host, limit, phase } = &error else {
        panic!("{error:?}")
    };
    assert_eq!(*phase, TimeoutPhase::Answer);
    assert_eq!(*limit, Duration::from_secs(1));
    assert_eq!(host, &atlas.address().to_string());
    assert!(error.to_string().contains("timed out"), "{error}");
}

#[tokio::test]
async fn connection_reset_is_retried() {
    let atlas = atlas_with_endpoint().await;
    atlas.push_fault(Fault::Reset);
    let endpoint = client(&atlas, api_key(), ApiVersion::Legacy, 4)
        .read_interface_endpoint(&id())
        .await
        .unwrap();
    assert_eq!(endpoint.connection_status, "AVAILABLE");
}

#[tokio::test]
async fn refused_connection_is_retried_then_reported_with_the_cause() {
    // Bind and drop to find a port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let error = AtlasClient::new(settings(
        &base,
        api_key(),
        ApiVersion::Legacy,
        2,
        Duration::from_secs(5),
    ))
    .unwrap()
    .read_interface_endpoint(&id())
    .await
    .unwrap_err();
    let AtlasError::GaveUp { attempts, last, .. } = &error else {
        panic!("{error:?}")
    };
    assert_eq!(*attempts, 3);
    let AtlasError::Transport { host, cause } = last.as_ref() else {
        panic!("{last:?}")
    };
    assert_eq!(host, &format!("127.0.0.1:{port}"));
    assert!(cause.to_lowercase().contains("refused"), "{cause}");
}

#[tokio::test]
async fn steady_state_reads_cost_one_round_trip() {
    let atlas = atlas_with_endpoint().await;
    let client = client(&atlas, api_key(), ApiVersion::Legacy, 4);
    client.read_interface_endpoint(&id()).await.unwrap();
    assert_eq!(
        atlas.request_count(),
        2,
        "the first read fetches the challenge"
    );
    for _ in 0..10 {
        client.read_interface_endpoint(&id()).await.unwrap();
    }
    assert_eq!(atlas.request_count(), 12, "later reads reuse the nonce");
    assert_eq!(atlas.challenges_issued(), 1);
}

#[tokio::test]
async fn hundred_parallel_reads_share_one_nonce() {
    let atlas = atlas_with_endpoint().await;
    let client = Arc::new(client(&atlas, api_key(), ApiVersion::Legacy, 0));
    read_at_once(&client, 100).await;
    assert_eq!(atlas.challenges_issued(), 1, "one challenge for all reads");
    assert_eq!(atlas.request_count(), 101);
}

#[tokio::test]
async fn stale_nonce_gets_a_fresh_answer_without_using_a_retry() {
    let atlas = atlas_with_endpoint().await;
    let client = client(&atlas, api_key(), ApiVersion::Legacy, 0);
    client.read_interface_endpoint(&id()).await.unwrap();
    atlas.expire_nonces();
    let endpoint = client.read_interface_endpoint(&id()).await.unwrap();
    assert_eq!(endpoint.connection_status, "AVAILABLE");
    assert_eq!(
        atlas.challenges_issued(),
        2,
        "the stale answer's own challenge is answered; no extra one is fetched"
    );
    assert_eq!(atlas.request_count(), 4);
}

#[tokio::test]
async fn wrong_private_key_is_reported_after_one_fresh_challenge() {
    let atlas = atlas_with_endpoint().await;
    let client = client_with_timeout(
        &atlas,
        Credentials::ApiKey {
            public_key: PUBLIC_KEY.into(),
            private_key: "wrong".into(),
        },
        ApiVersion::Legacy,
        4,
        Duration::from_secs(5),
    );
    let error = client.read_interface_endpoint(&id()).await.unwrap_err();
    assert!(
        matches!(&error, AtlasError::Api(api) if api.status == 401 && api.error_code.is_none()),
        "{error:?}"
    );
    assert_eq!(atlas.request_count(), 2, "401 is not retried");
    // With a nonce cached, a refused answer's challenge is answered once, then the 401 is
    // reported.
    let error = client.read_interface_endpoint(&id()).await.unwrap_err();
    assert!(
        matches!(&error, AtlasError::Api(api) if api.status == 401),
        "{error:?}"
    );
    assert_eq!(atlas.request_count(), 4);
}

#[tokio::test]
async fn body_over_one_mebibyte_is_refused() {
    let atlas = atlas_with_endpoint().await;
    atlas.push_fault(Fault::Body {
        content_type: "application/json".into(),
        body: vec![b' '; 2 * 1024 * 1024],
    });
    let error = client(&atlas, api_key(), ApiVersion::Legacy, 4)
        .read_interface_endpoint(&id())
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            AtlasError::BodyTooLarge {
                limit: 1_048_576,
                ..
            }
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn html_instead_of_json_is_an_unexpected_body_with_its_start() {
    let atlas = atlas_with_endpoint().await;
    atlas.push_fault(Fault::Body {
        content_type: "text/html".into(),
        body: b"<html><body>Proxy login</body></html>".to_vec(),
    });
    let error = client(&atlas, api_key(), ApiVersion::Legacy, 4)
        .read_interface_endpoint(&id())
        .await
        .unwrap_err();
    let AtlasError::UnexpectedBody {
        content_type,
        excerpt,
        ..
    } = &error
    else {
        panic!("{error:?}")
    };
    assert_eq!(content_type, "text/html");
    assert!(excerpt.starts_with("<html><body>Proxy login"));
}
