//! The Atlas client against the fake Atlas as today's Atlas behaves: the v1.0 and v2 routes and
//! `api_version = "auto"`, Atlas's real rate-limit and error answers, hostile answers (redirects,
//! escaped challenges, endless bodies, stalled headers) and service-account tokens.

use std::sync::Arc;
use std::time::{Duration, Instant};

use fake_atlas::{CLIENT_SECRET, FakeAtlas, Fault, PRIVATE_LINK_ID, PROJECT_ID};
use terraform_provider_atlas::atlas::{
    ApiVersion, AtlasError, Credentials, RouteFamily, TimeoutPhase,
};

use crate::{
    ENDPOINT, api_key, atlas_with_endpoint, client, client_with_timeout, id, read_at_once,
    service_account, v1_requests,
};

// ---- Routes ------------------------------------------------------------------------------

#[tokio::test]
async fn auto_with_v1_gone_reads_v2_and_probes_v1_once_for_100_parallel_reads() {
    let atlas = atlas_with_endpoint().await;
    atlas.set_v1_gone(true);
    let client = Arc::new(client(&atlas, api_key(), ApiVersion::Auto, 0));
    read_at_once(&client, 100).await;
    assert_eq!(
        v1_requests(&atlas),
        1,
        "one v1.0 request per process, the probe: {:#?}",
        atlas.requests()
    );
    assert!(client.take_route_switch_notice(), "the switch is reported");
    assert!(!client.take_route_switch_notice(), "once");
    // A later read goes straight to v2: one request.
    let before = atlas.request_count();
    client.read_interface_endpoint(&id()).await.unwrap();
    assert_eq!(atlas.request_count(), before + 1);
}

#[tokio::test]
async fn auto_stays_on_v1_while_atlas_serves_it() {
    let atlas = atlas_with_endpoint().await;
    let client = client(&atlas, api_key(), ApiVersion::Auto, 0);
    for _ in 0..3 {
        client.read_interface_endpoint(&id()).await.unwrap();
    }
    // The first challenge is fetched on v2 (Atlas authenticates before it routes); every read
    // goes to v1.0.
    let requests = atlas.requests();
    assert_eq!(requests.len(), 4, "{requests:#?}");
    assert!(
        requests
            .iter()
            .filter(|request| request.had_authorization)
            .all(|request| request.path.starts_with("/api/atlas/v1.0/") && request.status == 200),
        "{requests:#?}"
    );
    assert!(!client.take_route_switch_notice());
}

#[tokio::test]
async fn v2_sends_the_versioned_accept_header_and_never_a_v1_request() {
    let atlas = atlas_with_endpoint().await;
    let client = client(&atlas, api_key(), ApiVersion::Versioned, 0);
    let endpoint = client.read_interface_endpoint(&id()).await.unwrap();
    assert_eq!(endpoint.connection_status, "AVAILABLE");
    assert_eq!(endpoint.interface_endpoint_id, ENDPOINT);
    assert_eq!(v1_requests(&atlas), 0);
    for request in atlas.requests() {
        assert!(
            request.path.starts_with(&format!(
                "/api/atlas/v2/groups/{PROJECT_ID}/privateEndpoint/AWS/endpointService/{PRIVATE_LINK_ID}/endpoint/"
            )),
            "{}",
            request.path
        );
        assert_eq!(
            request.accept.as_deref(),
            Some("application/vnd.atlas.2023-01-01+json")
        );
    }
}

#[tokio::test]
async fn v1_against_gone_routes_is_a_legacy_resource_not_found() {
    let atlas = atlas_with_endpoint().await;
    atlas.set_v1_gone(true);
    let client = client(&atlas, api_key(), ApiVersion::Legacy, 0);
    let error = client.read_interface_endpoint(&id()).await.unwrap_err();
    let api = error.api().expect("an Atlas answer");
    assert_eq!(
        (api.status, api.error_code.as_deref(), api.route),
        (404, Some("RESOURCE_NOT_FOUND"), RouteFamily::Legacy)
    );
    assert!(
        atlas
            .requests()
            .iter()
            .all(|request| !request.path.starts_with("/api/atlas/v2/"))
    );
}

#[tokio::test]
async fn a_retired_version_is_gone_on_v2() {
    let atlas = atlas_with_endpoint().await;
    atlas.retire_version("2023-01-01");
    let error = client(&atlas, api_key(), ApiVersion::Versioned, 0)
        .read_interface_endpoint(&id())
        .await
        .unwrap_err();
    let api = error.api().expect("an Atlas answer");
    assert_eq!(
        (api.status, api.error_code.as_deref()),
        (410, Some("VERSION_GONE"))
    );
}

// ---- Rate limits as Atlas sends them ------------------------------------------------------

#[tokio::test]
async fn token_bucket_429_without_retry_after_waits_what_the_body_says() {
    let atlas = atlas_with_endpoint().await;
    let client = client(&atlas, api_key(), ApiVersion::Legacy, 4);
    client.read_interface_endpoint(&id()).await.unwrap();
    atlas.push_fault(Fault::rate_limited_token_bucket(1));
    let before = atlas.request_count();
    client.read_interface_endpoint(&id()).await.unwrap();
    let requests = atlas.requests();
    let (limited, retried) = (&requests[before], &requests[before + 1]);
    assert_eq!(limited.status, 429);
    assert_eq!(retried.status, 200);
    let gap = retried.at - limited.at;
    assert!(gap >= Duration::from_secs(1), "waited only {gap:?}");
}

#[tokio::test]
async fn a_rate_limit_wait_over_the_cap_ends_the_read_after_one_request() {
    let atlas = atlas_with_endpoint().await;
    let client = client(&atlas, api_key(), ApiVersion::Legacy, 4);
    client.read_interface_endpoint(&id()).await.unwrap();
    atlas.push_fault(Fault::rate_limited_token_bucket(500));
    let before = atlas.request_count();
    let started = Instant::now();
    let error = client.read_interface_endpoint(&id()).await.unwrap_err();
    assert_eq!(atlas.request_count(), before + 1);
    assert!(started.elapsed() < Duration::from_secs(60));
    let api = error.api().expect("an Atlas answer");
    assert_eq!(api.requested_wait(), Some(Duration::from_secs(500)));
}

#[tokio::test]
async fn org_access_list_parameters_reach_the_error() {
    let atlas = atlas_with_endpoint().await;
    atlas.push_fault(Fault::org_requires_access_list("203.0.113.9"));
    let error = client(&atlas, api_key(), ApiVersion::Legacy, 0)
        .read_interface_endpoint(&id())
        .await
        .unwrap_err();
    let api = error.api().expect("an Atlas answer");
    assert_eq!(api.error_code.as_deref(), Some("ORG_REQUIRES_ACCESS_LIST"));
    assert_eq!(api.parameters, ["203.0.113.9"]);
}

#[tokio::test]
async fn a_body_without_delete_requested_or_error_message_reads_them_as_not_said() {
    let atlas = atlas_with_endpoint().await;
    atlas.push_fault(Fault::Body {
        content_type: "application/json".into(),
        body: format!(r#"{{"interfaceEndpointId":"{ENDPOINT}","connectionStatus":"PENDING"}}"#)
            .into_bytes(),
    });
    let endpoint = client(&atlas, api_key(), ApiVersion::Legacy, 0)
        .read_interface_endpoint(&id())
        .await
        .unwrap();
    assert_eq!(endpoint.delete_requested, None);
    assert_eq!(endpoint.error_message, None);
}

#[tokio::test]
async fn a_body_without_connection_status_names_the_field() {
    let atlas = atlas_with_endpoint().await;
    atlas.push_fault(Fault::Body {
        content_type: "application/json".into(),
        body: format!(r#"{{"interfaceEndpointId":"{ENDPOINT}"}}"#).into_bytes(),
    });
    let error = client(&atlas, api_key(), ApiVersion::Legacy, 0)
        .read_interface_endpoint(&id())
        .await
        .unwrap_err();
    let AtlasError::UnexpectedBody { cause, .. } = &error else {
        panic!("{error:?}")
    };
    assert!(cause.contains("connectionStatus"), "{cause}");
}

// ---- Hostile answers -----------------------------------------------------------------------

#[tokio::test]
async fn redirects_to_another_host_are_never_followed() {
    for status in [301, 302, 307, 308] {
        let atlas = atlas_with_endpoint().await;
        let elsewhere = FakeAtlas::start().await;
        atlas.push_fault(Fault::Redirect {
            status,
            location: format!("{}/api/atlas/v1.0/elsewhere", elsewhere.url()),
        });
        let error = client(&atlas, api_key(), ApiVersion::Legacy, 4)
            .read_interface_endpoint(&id())
            .await
            .unwrap_err();
        let AtlasError::Redirect {
            status: seen,
            location,
        } = &error
        else {
            panic!("{status}: {error:?}")
        };
        assert_eq!(*seen, status);
        assert!(location.as_deref().unwrap().contains("/elsewhere"));
        assert_eq!(
            elsewhere.request_count(),
            0,
            "{status}: the target got a request"
        );
    }
}

#[tokio::test]
async fn escaped_realm_and_nonce_survive_reuse_across_parallel_reads() {
    let atlas = atlas_with_endpoint().await;
    atlas.set_challenge_realm(r#"MMS "Public" API"#);
    atlas.set_nonce_with_escapes(true);
    let client = Arc::new(client(&atlas, api_key(), ApiVersion::Legacy, 0));
    client.read_interface_endpoint(&id()).await.unwrap();
    read_at_once(&client, 20).await;
    assert_eq!(atlas.challenges_issued(), 1, "the nonce was reused whole");
    assert_eq!(atlas.request_count(), 22);
}

#[tokio::test]
async fn an_endless_body_is_cut_at_the_limit() {
    let atlas = atlas_with_endpoint().await;
    atlas.push_fault(Fault::EndlessBody);
    let error = client(&atlas, api_key(), ApiVersion::Legacy, 0)
        .read_interface_endpoint(&id())
        .await
        .unwrap_err();
    assert!(
        matches!(error, AtlasError::BodyTooLarge { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn stalled_headers_time_out() {
    let atlas = atlas_with_endpoint().await;
    atlas.push_fault(Fault::SlowHeaders);
    let error = client_with_timeout(
        &atlas,
        api_key(),
        ApiVersion::Legacy,
        0,
        Duration::from_secs(1),
    )
    .read_interface_endpoint(&id())
    .await
    .unwrap_err();
    assert!(
        matches!(
            error,
            AtlasError::Timeout {
                phase: TimeoutPhase::Answer,
                ..
            }
        ),
        "{error:?}"
    );
}

// ---- Service accounts ------------------------------------------------------------------------

#[tokio::test]
async fn one_token_for_100_parallel_first_reads() {
    let atlas = atlas_with_endpoint().await;
    let client = Arc::new(client(
        &atlas,
        service_account(CLIENT_SECRET),
        ApiVersion::Versioned,
        0,
    ));
    read_at_once(&client, 100).await;
    assert_eq!(atlas.token_requests(), 1);
    let data: Vec<_> = atlas
        .requests()
        .into_iter()
        .filter(|request| request.path.starts_with("/api/atlas/"))
        .collect();
    assert_eq!(data.len(), 100, "one request per read");
    assert!(
        data.iter()
            .all(|request| request.authorization_scheme.as_deref() == Some("Bearer"))
    );
}

#[tokio::test]
async fn a_token_that_expires_mid_run_is_renewed() {
    let atlas = atlas_with_endpoint().await;
    atlas.set_token_lifetime(Duration::from_secs(2));
    let client = client(
        &atlas,
        service_account(CLIENT_SECRET),
        ApiVersion::Versioned,
        0,
    );
    // The provider uses a token for at least 10 s (docs/atlas-api.md), so Atlas refuses this
    // one 2 s in; that read renews it and succeeds, as does every other.
    for _ in 0..4 {
        client.read_interface_endpoint(&id()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    assert!(atlas.token_requests() >= 2, "{}", atlas.token_requests());
}

#[tokio::test]
async fn a_revoked_token_is_renewed_once_after_a_401() {
    let atlas = atlas_with_endpoint().await;
    let client = client(
        &atlas,
        service_account(CLIENT_SECRET),
        ApiVersion::Versioned,
        0,
    );
    client.read_interface_endpoint(&id()).await.unwrap();
    atlas.push_fault(Fault::unauthorized_atlas());
    client.read_interface_endpoint(&id()).await.unwrap();
    assert_eq!(atlas.token_requests(), 2);
}

#[tokio::test]
async fn a_wrong_secret_is_a_401_from_the_token_route() {
    let atlas = atlas_with_endpoint().await;
    let error = client(
        &atlas,
        service_account("mdb_sa_sk_wrong"),
        ApiVersion::Versioned,
        4,
    )
    .read_interface_endpoint(&id())
    .await
    .unwrap_err();
    let api = error.api().expect("an Atlas answer");
    assert_eq!((api.status, api.route), (401, RouteFamily::Token));
    assert_eq!(atlas.token_requests(), 1, "a 401 is not retried");
    assert!(!format!("{error:?} {error}").contains("mdb_sa_sk_wrong"));
}

#[tokio::test]
async fn a_rate_limited_token_endpoint_is_retried_then_reported() {
    let atlas = atlas_with_endpoint().await;
    let window = Duration::from_secs(1);
    atlas.rate_limit_tokens_for(window);
    let started = Instant::now();
    let error = client(
        &atlas,
        service_account(CLIENT_SECRET),
        ApiVersion::Versioned,
        1,
    )
    .read_interface_endpoint(&id())
    .await
    .unwrap_err();
    let api = error.api().expect("an Atlas answer");
    assert_eq!(
        (api.status, api.error_code.as_deref(), api.route),
        (429, Some("RATE_LIMITED"), RouteFamily::Token)
    );
    assert!(
        matches!(error, AtlasError::GaveUp { attempts: 2, .. }),
        "{error:?}"
    );
    assert_eq!(atlas.token_requests(), 2);
    // The retry waited for the window the answer stated.
    assert!(started.elapsed() >= window);
}

#[tokio::test]
async fn an_access_token_is_sent_as_is_and_an_expired_one_is_refused() {
    let atlas = atlas_with_endpoint().await;
    let token = atlas.issue_token(Duration::from_secs(3600));
    client(
        &atlas,
        Credentials::AccessToken(token),
        ApiVersion::Versioned,
        0,
    )
    .read_interface_endpoint(&id())
    .await
    .unwrap();
    let expired = atlas.issue_token(Duration::ZERO);
    let error = client(
        &atlas,
        Credentials::AccessToken(expired),
        ApiVersion::Versioned,
        0,
    )
    .read_interface_endpoint(&id())
    .await
    .unwrap_err();
    assert_eq!(error.api().map(|api| api.status), Some(401));
    assert_eq!(atlas.token_requests(), 0);
}
