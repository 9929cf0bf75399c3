//! The hostile faults: Atlas's real error answers, redirects, endless bodies and status lines
//! that never complete. Faults skip the token endpoint.

use std::time::Duration;

use crate::common::{V2, bearer_get, client, raw_get, v2_link};
use fake_atlas::{CLIENT_ID, CLIENT_SECRET, FakeAtlas, Fault, TOKEN_PATH};
use tokio::io::AsyncReadExt;

#[tokio::test]
async fn an_atlas_fault_sends_its_body_parameters_and_extra_headers() {
    let atlas = FakeAtlas::start().await;
    atlas.push_fault(Fault::Atlas {
        status: 503,
        error_code: Some("SERVICE_UNAVAILABLE".into()),
        detail: "Maintenance.".into(),
        parameters: vec!["x".into()],
        headers: vec![
            ("Retry-After".into(), "7".into()),
            ("RateLimit-Remaining".into(), "0".into()),
        ],
    });
    let answer = bearer_get(&atlas, &v2_link(), Some(V2)).await;
    assert_eq!(answer.status, 503);
    assert_eq!(
        answer.json(),
        serde_json::json!({
            "detail": "Maintenance.", "error": 503, "errorCode": "SERVICE_UNAVAILABLE",
            "parameters": ["x"], "reason": "Service Unavailable",
        })
    );
    assert_eq!(answer.header("retry-after").as_deref(), Some("7"));
    assert_eq!(answer.header("ratelimit-remaining").as_deref(), Some("0"));
    assert_eq!(
        bearer_get(&atlas, &v2_link(), Some(V2)).await.status,
        200,
        "one fault, one request"
    );
}

#[tokio::test]
async fn the_fault_helpers_build_atlas_real_bodies() {
    let atlas = FakeAtlas::start().await;
    atlas.push_fault(Fault::rate_limited_token_bucket(3));
    atlas.push_fault(Fault::rate_limited("/api/atlas/v2/groups", 100, 1));
    atlas.push_fault(Fault::unauthorized_atlas());
    atlas.push_fault(Fault::not_in_group());
    atlas.push_fault(Fault::org_requires_access_list("203.0.113.7"));
    let mut answers = Vec::new();
    for _ in 0..5 {
        answers.push(bearer_get(&atlas, &v2_link(), Some(V2)).await);
    }
    let bucket = &answers[0];
    assert_eq!((bucket.status, bucket.header("retry-after")), (429, None));
    assert_eq!(bucket.json()["errorCode"], "RATE_LIMITED_TOKEN_BUCKET");
    assert_eq!(bucket.json()["detail"], "Please retry after 3 seconds");
    let window = answers[1].json();
    assert_eq!(
        window["detail"],
        "Resource /api/atlas/v2/groups is limited to 100 requests every 1 minutes."
    );
    assert_eq!(
        window["parameters"],
        serde_json::json!(["/api/atlas/v2/groups", 100, 1])
    );
    let unauthorized = &answers[2];
    assert_eq!(unauthorized.status, 401);
    assert!(unauthorized.json().get("errorCode").is_none());
    assert_eq!(
        unauthorized.header("www-authenticate"),
        None,
        "no new challenge"
    );
    assert_eq!(
        (answers[3].status, answers[3].json()["errorCode"].clone()),
        (401, "NOT_IN_GROUP".into())
    );
    let access_list = answers[4].json();
    assert_eq!(
        (answers[4].status, access_list["errorCode"].clone()),
        (403, "ORG_REQUIRES_ACCESS_LIST".into())
    );
    assert_eq!(
        access_list["parameters"],
        serde_json::json!(["203.0.113.7"])
    );
}

#[tokio::test]
async fn faults_skip_the_token_endpoint() {
    let atlas = FakeAtlas::start().await;
    atlas.push_fault(Fault::Status {
        status: 500,
        error_code: None,
        retry_after: None,
    });
    let token = client()
        .post(format!("{}{TOKEN_PATH}", atlas.url()))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    assert_eq!(token.status().as_u16(), 200);
    assert_eq!(bearer_get(&atlas, &v2_link(), Some(V2)).await.status, 500);
}

#[tokio::test]
async fn a_redirect_fault_answers_its_status_and_location() {
    let atlas = FakeAtlas::start().await;
    atlas.push_fault(Fault::Redirect {
        status: 307,
        location: "http://127.0.0.1:9/elsewhere".into(),
    });
    let answer = bearer_get(&atlas, &v2_link(), Some(V2)).await;
    assert_eq!(answer.status, 307);
    assert_eq!(
        answer.header("location").as_deref(),
        Some("http://127.0.0.1:9/elsewhere")
    );
}

/// Reads until the end of the response head.
async fn read_head(stream: &mut tokio::net::TcpStream) -> (String, Vec<u8>) {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let read = stream.read(&mut buffer).await.unwrap();
        assert!(read > 0, "connection closed before the head ended");
        received.extend_from_slice(&buffer[..read]);
        if let Some(end) = received.windows(4).position(|window| window == b"\r\n\r\n") {
            let rest = received.split_off(end + 4);
            return (String::from_utf8_lossy(&received).to_lowercase(), rest);
        }
    }
}

#[tokio::test]
async fn an_endless_body_has_no_length_and_keeps_coming() {
    let atlas = FakeAtlas::start().await;
    atlas.push_fault(Fault::EndlessBody);
    let mut stream = raw_get(&atlas, &v2_link()).await;
    let (head, mut body) = read_head(&mut stream).await;
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("content-type: application/json"), "{head}");
    assert!(!head.contains("content-length"), "{head}");
    assert!(head.contains("transfer-encoding: chunked"), "{head}");
    let mut buffer = vec![0u8; 64 * 1024];
    while body.len() < 4 * 1024 * 1024 {
        let read = stream.read(&mut buffer).await.unwrap();
        assert!(read > 0, "the body ended after {} bytes", body.len());
        body.extend_from_slice(&buffer[..read]);
    }
}

#[tokio::test]
async fn slow_headers_send_the_start_of_the_status_line_and_then_nothing() {
    let atlas = FakeAtlas::start().await;
    atlas.push_fault(Fault::SlowHeaders);
    let mut stream = raw_get(&atlas, &v2_link()).await;
    let mut received = Vec::new();
    let mut buffer = [0u8; 1024];
    // Whatever arrives within a second: a stalled server sends its prefix at once, then nothing.
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(read) => received.extend_from_slice(&buffer[..read]),
            }
        }
    })
    .await;
    let text = String::from_utf8_lossy(&received);
    assert!(text.starts_with("HTTP/1.1"), "{text:?}");
    assert!(
        !text.contains("\r\n"),
        "the status line never completes: {text:?}"
    );
    // The fake still answers other connections.
    assert_eq!(bearer_get(&atlas, &v2_link(), Some(V2)).await.status, 200);
    assert_eq!(atlas.requests()[0].status, 0, "recorded as not answered");
}
