//! Unit tests of waiting, on paused time: the poll schedule, terminal statuses, and the bounds
//! of issue 10 (no overflow, the deadline bounds reads in flight, null and duplicate statuses).

use std::cell::RefCell;
use std::collections::VecDeque;

use super::*;
use crate::provider::schema::Schema;

static RULES: StatusRules = StatusRules {
    what: "test object",
    short: "object",
    known: &["NONE", "PENDING", "AVAILABLE", "REJECTED", "DELETING"],
    terminal: &[
        ("REJECTED", "Recreate it."),
        ("DELETING", "It is going away."),
    ],
    timeout_advice: "it needs longer.",
    wait_for_status_description: "Statuses to wait for.",
};

#[derive(Debug)]
struct Object {
    status: String,
    error_message: Option<String>,
}

impl HasStatus for Object {
    fn status(&self) -> &str {
        &self.status
    }
    fn error_message(&self) -> Option<&str> {
        self.error_message.as_deref()
    }
}

fn object(status: &str) -> Object {
    Object {
        status: status.into(),
        error_message: (status == "REJECTED").then(|| "no route".to_owned()),
    }
}

fn spec(wanted: &[&str], timeout: Duration) -> WaitSpec {
    WaitSpec {
        wanted: wanted.iter().map(|status| (*status).to_owned()).collect(),
        timeout,
    }
}

fn secs(seconds: u64) -> Duration {
    Duration::from_secs(seconds)
}

#[tokio::test(start_paused = true)]
async fn polls_with_doubling_delay_until_wanted() {
    let statuses = RefCell::new(VecDeque::from(["NONE", "PENDING", "PENDING", "AVAILABLE"]));
    let times = RefCell::new(Vec::new());
    let started = Instant::now();
    let read = || {
        let status = statuses.borrow_mut().pop_front().unwrap_or("AVAILABLE");
        times.borrow_mut().push(started.elapsed().as_secs());
        async move { Ok(object(status)) }
    };
    let found = wait_for_status(&RULES, &spec(&["AVAILABLE"], secs(600)), read)
        .await
        .unwrap();
    assert_eq!(found.status, "AVAILABLE");
    assert_eq!(*times.borrow(), [0, 2, 6, 14]);
}

#[tokio::test(start_paused = true)]
async fn terminal_status_fails_at_once_with_atlas_message() {
    let spec = spec(&["AVAILABLE"], secs(600));
    let failure = wait_for_status(&RULES, &spec, || async { Ok(object("REJECTED")) })
        .await
        .unwrap_err();
    assert!(matches!(failure, WaitFailure::Terminal(_)), "{failure:?}");
    let diagnostic = failure_diagnostic(&RULES, &spec, &failure);
    assert_eq!(diagnostic.summary, "Test Object Will Not Become Ready");
    assert!(
        diagnostic.detail.contains("REJECTED")
            && diagnostic.detail.contains("no route")
            && diagnostic.detail.contains("Recreate it."),
        "{}",
        diagnostic.detail
    );
}

#[tokio::test(start_paused = true)]
async fn terminal_status_is_fine_when_listed() {
    let found = wait_for_status(&RULES, &spec(&["DELETING"], secs(600)), || async {
        Ok(object("DELETING"))
    })
    .await;
    assert!(found.is_ok());
}

/// A read as Atlas answers it: quickly, but not in no time.
async fn answered(status: &str) -> Result<Object, AtlasError> {
    tokio::time::sleep(Duration::from_millis(10)).await;
    Ok(object(status))
}

#[tokio::test(start_paused = true)]
async fn timeout_reports_the_last_status() {
    let started = Instant::now();
    let spec = spec(&["AVAILABLE"], secs(45));
    let failure = wait_for_status(&RULES, &spec, || answered("PENDING"))
        .await
        .unwrap_err();
    let WaitFailure::TimedOut {
        last,
        last_read_at,
        waited,
        polls,
        in_flight,
    } = &failure
    else {
        panic!("{failure:?}")
    };
    assert_eq!(last.as_ref().unwrap().status, "PENDING");
    assert_eq!(*waited, secs(45));
    assert_eq!(started.elapsed(), secs(45));
    // 0, 2, 6, 14, 30; the next poll (60) is past the deadline at 45.
    assert_eq!(*polls, 5);
    assert_eq!(*last_read_at, secs(30));
    assert_eq!(*in_flight, None);
    let diagnostic = failure_diagnostic(&RULES, &spec, &failure);
    assert!(
        diagnostic.detail.contains(
            "still PENDING after 45s (5 reads; the last one answered PENDING at 30s into the wait)"
        ),
        "{}",
        diagnostic.detail
    );
    assert_eq!(diagnostic.attribute.as_deref(), Some(WAIT_TIMEOUT));
}

/// Issue 23 item 1: a PENDING endpoint with `wait_timeout = "9s"` was reported as "stopped at its
/// deadline while a read was still in flight" although Atlas answered every read in a few
/// milliseconds: the provider was sleeping until its next poll, then started one at the
/// deadline that was cut off at once.
#[tokio::test(start_paused = true)]
async fn a_deadline_between_polls_is_not_blamed_on_a_read_in_flight() {
    for timeout in [5, 9] {
        let spec = spec(&["AVAILABLE"], secs(timeout));
        let failure = wait_for_status(&RULES, &spec, || answered("PENDING"))
            .await
            .unwrap_err();
        let WaitFailure::TimedOut {
            in_flight, polls, ..
        } = &failure
        else {
            panic!("{failure:?}")
        };
        assert_eq!(*in_flight, None, "wait_timeout {timeout}s");
        // Reads at 0, 2 and 6 s.
        assert_eq!(*polls, if timeout == 5 { 2 } else { 3 });
        let detail = failure_diagnostic(&RULES, &spec, &failure).detail;
        assert!(
            !detail.contains("in flight")
                && detail
                    .contains("Atlas answered every read; the deadline came between two polls")
                && detail.contains(&format!("still PENDING after {timeout}s")),
            "{detail}"
        );
    }
}

/// Issue 10 item 6: a read that hangs (or a client retrying after a long Retry-After) used to
/// keep the wait going past `wait_timeout`.
#[tokio::test(start_paused = true)]
async fn a_read_in_flight_at_the_deadline_is_abandoned_there() {
    let started = Instant::now();
    let reads = RefCell::new(0);
    let spec = spec(&["AVAILABLE"], secs(3));
    let failure = wait_for_status(&RULES, &spec, || {
        *reads.borrow_mut() += 1;
        let first = *reads.borrow() == 1;
        async move {
            if first {
                Ok(object("PENDING"))
            } else {
                // As a 503 with Retry-After: 10 inside the client would.
                tokio::time::sleep(secs(10)).await;
                Ok(object("AVAILABLE"))
            }
        }
    })
    .await
    .unwrap_err();
    assert_eq!(started.elapsed(), secs(3));
    let WaitFailure::TimedOut { in_flight, .. } = &failure else {
        panic!("{failure:?}")
    };
    // The second read started at 2 s and had run 1 s at the deadline.
    assert_eq!(
        *in_flight,
        Some(InFlight {
            number: 2,
            running: secs(1)
        })
    );
    let diagnostic = failure_diagnostic(&RULES, &spec, &failure);
    assert!(
        diagnostic.detail.contains("still PENDING after 3s")
            && diagnostic
                .detail
                .contains("a read was still in flight: read 2 had been running for 1s"),
        "{}",
        diagnostic.detail
    );
}

#[tokio::test(start_paused = true)]
async fn a_first_read_that_never_answers_ends_at_the_deadline() {
    let spec = spec(&["AVAILABLE"], secs(5));
    let failure = wait_for_status(&RULES, &spec, || {
        std::future::pending::<Result<Object, AtlasError>>()
    })
    .await
    .unwrap_err();
    let diagnostic = failure_diagnostic(&RULES, &spec, &failure);
    assert!(
        diagnostic
            .detail
            .contains("No read of the object finished within 5s"),
        "{}",
        diagnostic.detail
    );
}

/// Issue 10 item 1: a deadline past what an Instant can hold used to panic ("overflow when
/// adding duration to instant").
#[tokio::test(start_paused = true)]
async fn an_unrepresentable_deadline_does_not_panic() {
    let failure = wait_for_status(&RULES, &spec(&["AVAILABLE"], Duration::MAX), || async {
        Ok(object("PENDING"))
    })
    .await;
    assert!(matches!(failure, Err(WaitFailure::TimedOut { .. })));
}

fn schema() -> Schema {
    Schema {
        description: "test",
        attributes: attributes(&RULES).into(),
    }
}

fn config(statuses: Value, timeout: Value) -> Value {
    Value::Object(
        [
            (WAIT_FOR_STATUS.to_owned(), statuses),
            (WAIT_TIMEOUT.to_owned(), timeout),
        ]
        .into_iter()
        .collect(),
    )
}

fn list(items: &[&str]) -> Value {
    Value::List(
        items
            .iter()
            .map(|item| Value::String((*item).into()))
            .collect(),
    )
}

fn summaries(config: &Value) -> Vec<String> {
    schema()
        .validate(config)
        .into_iter()
        .map(|diagnostic| diagnostic.summary)
        .collect()
}

#[test]
fn validation_of_statuses_and_timeout() {
    assert!(
        summaries(&config(
            list(&["AVAILABLE", "PENDING"]),
            Value::String("5m".into())
        ))
        .is_empty()
    );
    assert_eq!(
        summaries(&config(list(&["READY"]), Value::Null)),
        ["Unknown Status in Wait For Status"]
    );
    assert_eq!(
        summaries(&config(list(&[]), Value::Null)),
        ["Empty Wait For Status"]
    );
    assert_eq!(
        summaries(&config(list(&["AVAILABLE"]), Value::String("0s".into()))),
        ["Invalid Duration"]
    );
    let warning = &schema().validate(&config(Value::Null, Value::String("5m".into())));
    assert!(!warning.has_errors() && warning.len() == 1);
    assert!(summaries(&config(Value::Unknown, Value::Unknown)).is_empty());
    assert!(summaries(&config(Value::List(vec![Value::Unknown]), Value::Null)).is_empty());
}

/// Issue 10 item 1: these passed validation and then panicked in the read.
#[test]
fn huge_wait_timeouts_are_refused_at_validate() {
    for huge in [
        "300000000000y",
        "18446744073709551615s",
        "292277024626y",
        "25h",
    ] {
        let diagnostics =
            schema().validate(&config(list(&["AVAILABLE"]), Value::String(huge.into())));
        assert!(diagnostics.has_errors(), "{huge}");
        let diagnostic = diagnostics.iter().next().unwrap();
        assert_eq!(
            diagnostic.attribute.as_deref(),
            Some(WAIT_TIMEOUT),
            "{huge}"
        );
    }
    assert!(summaries(&config(list(&["AVAILABLE"]), Value::String("24h".into()))).is_empty());
}

/// Issue 10 item 7: `[null]` waited out the timeout and printed "not ."; duplicates printed
/// "not AVAILABLE or AVAILABLE".
#[test]
fn null_and_duplicate_statuses_are_refused_at_validate() {
    let with_null = config(
        Value::List(vec![Value::String("AVAILABLE".into()), Value::Null]),
        Value::Null,
    );
    let diagnostics = schema().validate(&with_null);
    let diagnostic = diagnostics.iter().next().unwrap();
    assert_eq!(diagnostic.summary, "Null Status in Wait For Status");
    assert!(
        diagnostic.detail.contains("position 2"),
        "{}",
        diagnostic.detail
    );
    assert_eq!(
        summaries(&config(Value::List(vec![Value::Null]), Value::Null)),
        ["Null Status in Wait For Status"]
    );
    let diagnostics = schema().validate(&config(list(&["AVAILABLE", "AVAILABLE"]), Value::Null));
    let diagnostic = diagnostics.iter().next().unwrap();
    assert_eq!(diagnostic.summary, "Duplicate Status in Wait For Status");
    assert!(diagnostic.detail.contains("AVAILABLE more than once"));
}

/// Issue 10 item 6: when an Atlas error ends a wait, the message says how far the wait got.
#[tokio::test(start_paused = true)]
async fn an_atlas_error_during_a_wait_says_how_long_it_waited() {
    let reads = RefCell::new(0);
    let config = WaitConfig {
        wait_for_status: Some(vec!["AVAILABLE".into()]),
        wait_timeout: Some("1m".into()),
    };
    let diagnostics = read_or_wait(
        &RULES,
        &config,
        || {
            *reads.borrow_mut() += 1;
            let first = *reads.borrow() == 1;
            async move {
                if first {
                    Ok(object("PENDING"))
                } else {
                    Err(AtlasError::Transport {
                        host: "127.0.0.1:9".into(),
                        cause: "Connection refused".into(),
                    })
                }
            }
        },
        |error| Diagnostic::error("Cannot Reach Atlas", error.to_string()),
    )
    .await
    .unwrap_err();
    let diagnostic = diagnostics.iter().next().unwrap();
    assert_eq!(diagnostic.summary, "Cannot Reach Atlas");
    assert!(
        diagnostic.detail.contains("Connection refused")
            && diagnostic
                .detail
                .contains("ended the wait for `wait_for_status` after 2s (1 read finished)"),
        "{}",
        diagnostic.detail
    );
}

/// README and docs/reliability.md: after 2 s, then 4, 8, 16, and every 30 s from then on.
#[tokio::test(start_paused = true)]
async fn polls_settle_at_every_30_seconds() {
    let statuses = RefCell::new(VecDeque::from(["PENDING"; 6]));
    let times = RefCell::new(Vec::new());
    let started = Instant::now();
    let read = || {
        let status = statuses.borrow_mut().pop_front().unwrap_or("AVAILABLE");
        times.borrow_mut().push(started.elapsed().as_secs());
        async move { Ok(object(status)) }
    };
    wait_for_status(&RULES, &spec(&["AVAILABLE"], secs(600)), read)
        .await
        .unwrap();
    assert_eq!(*times.borrow(), [0, 2, 6, 14, 30, 60, 90]);
}

/// README: with the interface endpoint's own rules, `DELETING` ends a wait at once unless it
/// is listed, like `REJECTED`.
#[tokio::test(start_paused = true)]
async fn an_interface_endpoint_being_deleted_ends_the_wait_unless_listed() {
    use crate::provider::data_sources::interface_endpoint::ENDPOINT_STATUSES;
    for terminal in ["DELETING", "REJECTED"] {
        let failure = wait_for_status(
            &ENDPOINT_STATUSES,
            &spec(&["AVAILABLE"], secs(600)),
            || async { Ok(object(terminal)) },
        )
        .await
        .unwrap_err();
        assert!(matches!(failure, WaitFailure::Terminal(_)), "{terminal}");
    }
    let listed = wait_for_status(
        &ENDPOINT_STATUSES,
        &spec(&["AVAILABLE", "DELETING"], secs(600)),
        || async { Ok(object("DELETING")) },
    )
    .await;
    assert!(listed.is_ok());
}

/// README and docs/reliability.md: `wait_timeout` defaults to ten minutes.
#[test]
fn wait_timeout_defaults_to_ten_minutes() {
    let config = WaitConfig {
        wait_for_status: Some(vec!["AVAILABLE".into()]),
        wait_timeout: None,
    };
    let spec = config.spec().unwrap().unwrap();
    assert_eq!(spec.timeout, Duration::from_secs(600));
}
