//! A hung, throttling or refusing Atlas against parallel reads: the v1.0 probe, the first digest
//! challenge and a service account's token are each fetched once at a time, and that fetch's
//! outcome, failure included, is every waiting read's (issue 21, items 1, 2, 3 and 8).

use std::sync::Arc;
use std::time::Duration;

use fake_atlas::{CLIENT_SECRET, Endpoint, FakeAtlas, Fault, TokenEndpoint};
use terraform_provider_atlas::atlas::{
    ApiVersion, AtlasClient, AtlasError, Credentials, InterfaceEndpoint, RouteFamily, TimeoutPhase,
};

use crate::{
    ENDPOINT, api_key, atlas_with_endpoint, client, client_with_timeout, id, parallel_reads,
    service_account, v1_requests,
};

/// A client for reads that start together, with a `request_timeout` of 1 s.
fn hung_client(
    atlas: &FakeAtlas,
    credentials: Credentials,
    api_version: ApiVersion,
    max_retries: u32,
) -> Arc<AtlasClient> {
    Arc::new(client_with_timeout(
        atlas,
        credentials,
        api_version,
        max_retries,
        Duration::from_secs(1),
    ))
}

fn is_answer_timeout(outcome: &Result<InterfaceEndpoint, AtlasError>) -> bool {
    matches!(
        outcome,
        Err(AtlasError::Timeout {
            phase: TimeoutPhase::Answer,
            ..
        })
    )
}

/// Issue 21, item 1: a probe that times out is news for every read waiting on it. Before, each
/// waiting read probed again after the previous one timed out: six reads took six timeouts.
#[tokio::test]
async fn auto_against_a_hung_atlas_fails_six_parallel_reads_in_one_timeout() {
    let atlas = atlas_with_endpoint().await;
    atlas.delay_answers(Duration::from_secs(60));
    let client = hung_client(&atlas, api_key(), ApiVersion::Auto, 0);
    let (outcomes, took) = parallel_reads(&client, 6).await;
    assert!(outcomes.iter().all(is_answer_timeout), "{outcomes:?}");
    assert_eq!(v1_requests(&atlas), 1, "one probe: {:#?}", atlas.requests());
    assert!(took < Duration::from_secs(3), "six reads took {took:?}");
    assert!(!client.take_route_switch_notice());
    // A failed probe settles nothing: the next read probes again, and is served once Atlas is.
    atlas.delay_answers(Duration::ZERO);
    client.read_interface_endpoint(&id()).await.unwrap();
    assert_eq!(v1_requests(&atlas), 2);
}

/// The digest challenge follows the same rule: one fetch in flight, and its failure is every
/// waiting read's. Before, each read fetched a challenge of its own after the previous one timed
/// out.
#[tokio::test]
async fn a_hung_digest_challenge_fails_six_parallel_reads_in_one_timeout() {
    let atlas = atlas_with_endpoint().await;
    atlas.delay_challenges(Duration::from_secs(60));
    let client = hung_client(&atlas, api_key(), ApiVersion::Versioned, 0);
    let (outcomes, took) = parallel_reads(&client, 6).await;
    assert!(outcomes.iter().all(is_answer_timeout), "{outcomes:?}");
    assert_eq!(atlas.request_count(), 1, "{:#?}", atlas.requests());
    assert!(took < Duration::from_secs(3), "six reads took {took:?}");
}

/// Reads on a fixed route do not wait behind the first read's answer once its challenge is in:
/// six reads against hung data routes time out side by side.
#[tokio::test]
async fn v2_against_hung_data_routes_times_out_six_reads_side_by_side() {
    let atlas = atlas_with_endpoint().await;
    atlas.delay_answers(Duration::from_secs(60));
    let client = hung_client(&atlas, api_key(), ApiVersion::Versioned, 0);
    let (outcomes, took) = parallel_reads(&client, 6).await;
    assert!(outcomes.iter().all(is_answer_timeout), "{outcomes:?}");
    assert_eq!(atlas.challenges_issued(), 1);
    // Every answered request reached Atlas before the first one timed out (before, the first
    // read held the others back until its answer timed out, 1 s later).
    let answered: Vec<_> = atlas
        .requests()
        .into_iter()
        .filter(|request| request.had_authorization)
        .map(|request| request.at)
        .collect();
    assert_eq!(answered.len(), 6);
    let spread = answered.iter().max().unwrap().duration_since(answered[0]);
    assert!(
        spread < Duration::from_millis(500),
        "spread over {spread:?}"
    );
    assert!(took < Duration::from_secs(3), "six reads took {took:?}");
}

/// Issue 21, item 2: one token request in flight, and its failure is every waiting read's.
/// Before, the token lock was held through the fetch and each waiting read fetched again when it
/// got the lock: ten reads took ten timeouts.
#[tokio::test]
async fn a_hung_token_endpoint_fails_ten_parallel_reads_in_one_timeout() {
    let atlas = atlas_with_endpoint().await;
    atlas.set_token_endpoint(TokenEndpoint::Hang);
    let client = hung_client(
        &atlas,
        service_account(CLIENT_SECRET),
        ApiVersion::Versioned,
        2,
    );
    let (outcomes, took) = parallel_reads(&client, 10).await;
    assert!(outcomes.iter().all(is_answer_timeout), "{outcomes:?}");
    assert_eq!(atlas.token_requests(), 1);
    assert!(took < Duration::from_secs(3), "ten reads took {took:?}");
    // A failure is not kept: the next read asks again, and is served once Atlas is.
    atlas.set_token_endpoint(TokenEndpoint::Issue);
    client.read_interface_endpoint(&id()).await.unwrap();
    assert_eq!(atlas.token_requests(), 2);
}

/// The retries of a throttled token request happen inside the one request every read waits for.
/// Before, each of ten reads ran the whole retry cycle again: 30 token requests instead of 3.
#[tokio::test]
async fn a_throttled_token_endpoint_is_retried_once_for_ten_parallel_reads() {
    let atlas = atlas_with_endpoint().await;
    atlas.rate_limit_tokens_for(Duration::ZERO);
    let client = Arc::new(client(
        &atlas,
        service_account(CLIENT_SECRET),
        ApiVersion::Versioned,
        2,
    ));
    let (outcomes, _) = parallel_reads(&client, 10).await;
    for outcome in &outcomes {
        let Err(error @ AtlasError::GaveUp { attempts: 3, .. }) = outcome else {
            panic!("{outcome:?}")
        };
        let api = error.api().expect("an Atlas answer");
        assert_eq!((api.status, api.route), (429, RouteFamily::Token));
    }
    assert_eq!(atlas.token_requests(), 3, "one request and its two retries");
}

/// Issue 21, item 3: a token is renewed once after a 401; a read refused with the renewed token
/// reports the 401 instead of fetching another. Before, every read fetched a token of its own.
#[tokio::test]
async fn forty_reads_refused_with_every_token_make_two_token_requests() {
    let atlas = atlas_with_endpoint().await;
    atlas.refuse_bearer_tokens(true);
    let client = client(
        &atlas,
        service_account(CLIENT_SECRET),
        ApiVersion::Versioned,
        0,
    );
    for _ in 0..40 {
        let error = client.read_interface_endpoint(&id()).await.unwrap_err();
        assert_eq!(error.api().map(|api| api.status), Some(401), "{error:?}");
    }
    assert_eq!(atlas.token_requests(), 2);
}

/// Issue 21, item 8: a v1.0 `404 RESOURCE_NOT_FOUND` for an endpoint that does not exist moves
/// `auto` to v2, whose "not found" is the answer; that v1.0 is gone is then unproven, so there is
/// no warning saying so.
#[tokio::test]
async fn auto_reports_v2_not_found_without_the_switch_warning_when_v2_finds_nothing_either() {
    let atlas = FakeAtlas::start().await;
    atlas.push_fault(Fault::Status {
        status: 404,
        error_code: Some("RESOURCE_NOT_FOUND".into()),
        retry_after: None,
    });
    let client = client(&atlas, api_key(), ApiVersion::Auto, 0);
    let error = client.read_interface_endpoint(&id()).await.unwrap_err();
    let api = error.api().expect("an Atlas answer");
    assert_eq!((api.status, api.route), (404, RouteFamily::Versioned));
    assert!(
        !client.take_route_switch_notice(),
        "no warning that v1.0 is gone"
    );
    // The switch itself stands: the next read goes to v2 alone, and finds what is there.
    atlas.put(ENDPOINT, Endpoint::with_status("AVAILABLE"));
    client.read_interface_endpoint(&id()).await.unwrap();
    assert_eq!(v1_requests(&atlas), 1);
}
