//! The fake's routes: v1.0 and v2 served from one fixture table, v2 version negotiation, the
//! v1.0-gone switch, and the 404 codes of each version.

use crate::common::{V2, bearer_get, digest_get, v1_endpoint, v1_link, v2_endpoint, v2_link};
use fake_atlas::{
    ENDPOINT_SERVICE_NAME, Endpoint, FakeAtlas, PRIVATE_LINK_ID, PROJECT_ID, PrivateLink,
    V2_ENDPOINT_NOT_FOUND, V2_SERVICE_NOT_FOUND,
};

const ENDPOINT_ID: &str = "vpce-08fb7e9319909ec7b";

#[tokio::test]
async fn v1_and_v2_endpoint_routes_serve_the_same_fixture() {
    let atlas = FakeAtlas::start().await;
    let mut endpoint = Endpoint::with_status("REJECTED");
    endpoint.error_message = Some("no route".into());
    atlas.put(ENDPOINT_ID, endpoint);

    let v1 = digest_get(&atlas, &v1_endpoint(ENDPOINT_ID), Some("application/json")).await;
    assert_eq!(v1.status, 200, "{}", v1.body);
    assert_eq!(
        v1.header("content-type").as_deref(),
        Some("application/json")
    );
    assert_eq!(
        v1.json(),
        serde_json::json!({
            "interfaceEndpointId": ENDPOINT_ID, "connectionStatus": "REJECTED",
            "errorMessage": "no route", "deleteRequested": false,
        })
    );

    let v2 = digest_get(&atlas, &v2_endpoint(ENDPOINT_ID), Some(V2)).await;
    assert_eq!(v2.status, 200, "{}", v2.body);
    assert_eq!(v2.header("content-type").as_deref(), Some(V2));
    let mut expected = v1.json();
    expected["cloudProvider"] = "AWS".into();
    assert_eq!(v2.json(), expected);
}

#[tokio::test]
async fn private_link_routes_list_endpoints_in_order_and_v2_adds_provider_and_region() {
    let atlas = FakeAtlas::start().await;
    atlas.put("vpce-0b0000000000000b2", Endpoint::with_status("PENDING"));
    atlas.script(
        "vpce-0a0000000000000a1",
        vec![Endpoint::with_status("AVAILABLE")],
    );
    atlas.put("vpce-0b0000000000000b2", Endpoint::with_status("AVAILABLE"));

    let v1 = bearer_get(&atlas, &v1_link(), None).await;
    assert_eq!(v1.status, 200, "{}", v1.body);
    assert_eq!(
        v1.json(),
        serde_json::json!({
            "id": PRIVATE_LINK_ID, "endpointServiceName": ENDPOINT_SERVICE_NAME,
            "errorMessage": null, "status": "AVAILABLE",
            "interfaceEndpoints": ["vpce-0b0000000000000b2", "vpce-0a0000000000000a1"],
        })
    );
    let v2 = bearer_get(&atlas, &v2_link(), Some(V2)).await;
    let mut expected = v1.json();
    expected["cloudProvider"] = "AWS".into();
    expected["regionName"] = "US_EAST_1".into();
    assert_eq!(v2.json(), expected);
}

#[tokio::test]
async fn a_scripted_private_link_takes_one_state_per_read_then_keeps_the_last() {
    let atlas = FakeAtlas::start().await;
    atlas.script_private_link(
        PROJECT_ID,
        PRIVATE_LINK_ID,
        vec![
            PrivateLink::with_status("INITIATING"),
            PrivateLink::with_status("WAITING_FOR_USER"),
            PrivateLink::available(),
        ],
    );
    let mut seen = Vec::new();
    for _ in 0..4 {
        let answer = bearer_get(&atlas, &v2_link(), Some(V2)).await.json();
        seen.push((
            answer["status"].clone(),
            answer["endpointServiceName"].is_null(),
        ));
    }
    assert_eq!(
        seen,
        [
            ("INITIATING".into(), true),
            ("WAITING_FOR_USER".into(), false),
            ("AVAILABLE".into(), false),
            ("AVAILABLE".into(), false),
        ]
    );
}

#[tokio::test]
async fn a_v2_request_without_a_versioned_accept_gets_atlas_406() {
    let atlas = FakeAtlas::start().await;
    atlas.put(ENDPOINT_ID, Endpoint::with_status("AVAILABLE"));
    for accept in [
        None,
        Some("application/json"),
        Some("application/vnd.atlas.2099-01-01+json"),
    ] {
        let answer = bearer_get(&atlas, &v2_endpoint(ENDPOINT_ID), accept).await;
        assert_eq!(answer.status, 406, "{accept:?}: {}", answer.body);
        assert_eq!(answer.json()["errorCode"], "INVALID_VERSION_DATE");
        assert_eq!(answer.json()["reason"], "Not Acceptable");
    }
}

#[tokio::test]
async fn a_retired_version_date_gets_410_version_gone() {
    let atlas = FakeAtlas::start().await;
    atlas.retire_version("2023-01-01");
    let answer = bearer_get(&atlas, &v2_link(), Some(V2)).await;
    assert_eq!(answer.status, 410, "{}", answer.body);
    assert_eq!(answer.json()["errorCode"], "VERSION_GONE");
    assert_eq!(
        answer.json()["detail"],
        format!(
            "Version 2023-01-01 of {} is no longer available.",
            v2_link()
        )
    );
    // The v1.0 routes are not versioned.
    assert_eq!(bearer_get(&atlas, &v1_link(), None).await.status, 200);
}

#[tokio::test]
async fn with_v1_gone_every_v1_route_is_an_unknown_resource_and_v2_still_serves() {
    let atlas = FakeAtlas::start().await;
    atlas.put(ENDPOINT_ID, Endpoint::with_status("AVAILABLE"));
    atlas.set_v1_gone(true);
    for path in [
        v1_endpoint(ENDPOINT_ID),
        v1_link(),
        v1_endpoint("vpce-00000000000000000"),
    ] {
        let answer = digest_get(&atlas, &path, None).await;
        assert_eq!(answer.status, 404, "{path}");
        assert_eq!(answer.json()["errorCode"], "RESOURCE_NOT_FOUND");
        assert_eq!(
            answer.json()["detail"],
            format!("Cannot find resource {path}.")
        );
    }
    assert_eq!(
        bearer_get(&atlas, &v2_endpoint(ENDPOINT_ID), Some(V2))
            .await
            .status,
        200
    );
    atlas.set_v1_gone(false);
    assert_eq!(bearer_get(&atlas, &v1_link(), None).await.status, 200);
}

#[tokio::test]
async fn a_vanished_endpoint_is_still_listed_but_its_own_route_answers_404() {
    let atlas = FakeAtlas::start().await;
    atlas.put(ENDPOINT_ID, Endpoint::with_status("AVAILABLE"));
    atlas.vanish_endpoint(PROJECT_ID, PRIVATE_LINK_ID, ENDPOINT_ID);
    let link = bearer_get(&atlas, &v2_link(), Some(V2)).await.json();
    assert_eq!(link["interfaceEndpoints"], serde_json::json!([ENDPOINT_ID]));
    let v1 = bearer_get(&atlas, &v1_endpoint(ENDPOINT_ID), None).await;
    assert_eq!(
        (v1.status, v1.json()["errorCode"].clone()),
        (404, "PRIVATELINK_INTERFACE_ENDPOINT_NOT_FOUND".into())
    );
    let v2 = bearer_get(&atlas, &v2_endpoint(ENDPOINT_ID), Some(V2)).await;
    assert_eq!(
        (v2.status, v2.json()["errorCode"].clone()),
        (404, V2_ENDPOINT_NOT_FOUND.into())
    );
}

#[tokio::test]
async fn each_missing_level_has_its_own_code_per_version() {
    let atlas = FakeAtlas::start().await;
    let other = "0123456789abcdef01234567";
    let cases = [
        (
            format!("/api/atlas/v1.0/groups/{other}/privateEndpoint/{PRIVATE_LINK_ID}"),
            "GROUP_NOT_FOUND",
        ),
        (
            format!(
                "/api/atlas/v2/groups/{other}/privateEndpoint/AWS/endpointService/{PRIVATE_LINK_ID}"
            ),
            "GROUP_NOT_FOUND",
        ),
        (
            format!("/api/atlas/v1.0/groups/{PROJECT_ID}/privateEndpoint/{other}"),
            "PRIVATELINK_NOT_FOUND",
        ),
        (
            format!(
                "/api/atlas/v2/groups/{PROJECT_ID}/privateEndpoint/AWS/endpointService/{other}"
            ),
            V2_SERVICE_NOT_FOUND,
        ),
        (
            format!(
                "/api/atlas/v2/groups/{PROJECT_ID}/privateEndpoint/AZURE/endpointService/{PRIVATE_LINK_ID}"
            ),
            V2_SERVICE_NOT_FOUND,
        ),
        (
            v1_endpoint(ENDPOINT_ID),
            "PRIVATELINK_INTERFACE_ENDPOINT_NOT_FOUND",
        ),
        (v2_endpoint(ENDPOINT_ID), V2_ENDPOINT_NOT_FOUND),
        ("/api/atlas/v1.0/groups".to_owned(), "RESOURCE_NOT_FOUND"),
    ];
    for (path, code) in cases {
        let answer = bearer_get(&atlas, &path, Some(V2)).await;
        assert_eq!(answer.status, 404, "{path}: {}", answer.body);
        assert_eq!(answer.json()["errorCode"], code, "{path}");
    }
}
