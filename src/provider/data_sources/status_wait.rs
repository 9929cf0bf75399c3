//! `wait_for_status`: polling an interface endpoint until Atlas reports a wanted status.
//!
//! A pipeline that has just created the AWS VPC endpoint plans with `wait_for_status =
//! ["AVAILABLE"]`: the read polls (2 s, doubling up to 30 s) until the status is wanted, fails at
//! once on a terminal status that is not (REJECTED, or DELETING when not listed) with Atlas's
//! error message, and fails with the last status seen when `wait_timeout` runs out.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::atlas::{AtlasError, InterfaceEndpoint};
use crate::logging;
use crate::provider::diagnostics::{Diagnostic, show_atlas_text, show_value};
use crate::provider::durations;
use crate::provider::value::Value;

pub const WAIT_FOR_STATUS: &str = "wait_for_status";
pub const WAIT_TIMEOUT: &str = "wait_timeout";

/// The statuses Atlas documents; the only ones `wait_for_status` accepts.
pub const KNOWN_STATUSES: [&str; 6] = [
    "NONE",
    "PENDING_ACCEPTANCE",
    "PENDING",
    "AVAILABLE",
    "REJECTED",
    "DELETING",
];
/// Statuses an endpoint does not leave by itself.
const TERMINAL_STATUSES: [&str; 2] = ["REJECTED", "DELETING"];

pub const DEFAULT_WAIT_TIMEOUT: Duration = Duration::from_secs(600);
const FIRST_POLL_DELAY: Duration = Duration::from_secs(2);
const MAX_POLL_DELAY: Duration = Duration::from_secs(30);

/// What to wait for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WaitSpec {
    pub wanted: Vec<String>,
    pub timeout: Duration,
}

/// Checks `wait_for_status` and `wait_timeout`; unknown values are skipped.
pub fn validate(config: &Value) -> Vec<Diagnostic> {
    let mut diagnostics = Vec::new();
    match config.attribute(WAIT_FOR_STATUS) {
        Value::List(items) if items.is_empty() => diagnostics.push(
            Diagnostic::error(
                "Empty Wait For Status",
                format!(
                    "`{WAIT_FOR_STATUS}` lists no status, so the read could never finish. List the statuses to \
                     wait for, such as [\"AVAILABLE\"], or leave the argument out to read without waiting."
                ),
            )
            .on(WAIT_FOR_STATUS),
        ),
        Value::List(items) => {
            for status in items.iter().filter_map(Value::as_str) {
                if !KNOWN_STATUSES.contains(&status) {
                    diagnostics.push(
                        Diagnostic::error(
                            "Unknown Status in Wait For Status",
                            format!(
                                "`{WAIT_FOR_STATUS}` lists {}, which is not a status Atlas reports. Use any of {}.",
                                show_value(status),
                                KNOWN_STATUSES.join(", ")
                            ),
                        )
                        .on(WAIT_FOR_STATUS),
                    );
                }
            }
        }
        _ => {}
    }
    if let Some(text) = config.attribute(WAIT_TIMEOUT).as_str() {
        match durations::parse_positive(WAIT_TIMEOUT, text) {
            Err(diagnostic) => diagnostics.push(diagnostic),
            Ok(_) if matches!(config.attribute(WAIT_FOR_STATUS), Value::Null) => diagnostics.push(
                Diagnostic::warning(
                    "Wait Timeout Without Wait For Status",
                    format!(
                        "`{WAIT_TIMEOUT}` has no effect unless `{WAIT_FOR_STATUS}` lists the statuses to wait for."
                    ),
                )
                .on(WAIT_TIMEOUT),
            ),
            Ok(_) => {}
        }
    }
    diagnostics
}

/// The wait a known configuration asks for, if any.
pub fn spec(config: &Value) -> Result<Option<WaitSpec>, Vec<Diagnostic>> {
    let Value::List(items) = config.attribute(WAIT_FOR_STATUS) else {
        return Ok(None);
    };
    let wanted: Vec<String> = items
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect();
    let timeout = match config.attribute(WAIT_TIMEOUT).as_str() {
        Some(text) => {
            durations::parse_positive(WAIT_TIMEOUT, text).map_err(|diagnostic| vec![diagnostic])?
        }
        None => DEFAULT_WAIT_TIMEOUT,
    };
    Ok(Some(WaitSpec { wanted, timeout }))
}

/// Why a wait ended without a wanted status.
#[derive(Debug)]
pub enum WaitFailure {
    /// A read failed.
    Atlas(AtlasError),
    /// The endpoint reached a status it will not leave.
    Terminal(InterfaceEndpoint),
    /// `wait_timeout` ran out.
    TimedOut {
        last: InterfaceEndpoint,
        waited: Duration,
        polls: u32,
    },
}

/// Reads with `read` until the status is wanted, the endpoint is stuck, or time runs out.
pub async fn wait_for_status<F, Fut>(
    spec: &WaitSpec,
    mut read: F,
) -> Result<InterfaceEndpoint, WaitFailure>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<InterfaceEndpoint, AtlasError>>,
{
    let started = Instant::now();
    let deadline = started + spec.timeout;
    let mut delay = FIRST_POLL_DELAY;
    let mut polls = 0;
    loop {
        let endpoint = read().await.map_err(WaitFailure::Atlas)?;
        polls += 1;
        let status = endpoint.connection_status.as_str();
        if spec.wanted.iter().any(|wanted| wanted == status) {
            return Ok(endpoint);
        }
        if TERMINAL_STATUSES.contains(&status) {
            return Err(WaitFailure::Terminal(endpoint));
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(WaitFailure::TimedOut {
                last: endpoint,
                // Whole seconds read better in a message than "5s 10ms 544us".
                waited: Duration::from_secs((now - started).as_secs_f64().round() as u64),
                polls,
            });
        }
        let pause = delay.min(deadline - now);
        logging::debug(
            "waiting for interface endpoint status",
            &[
                ("status", status.into()),
                ("wanted", spec.wanted.join(",").into()),
                ("next_poll_ms", (pause.as_millis() as u64).into()),
            ],
        );
        tokio::time::sleep(pause).await;
        delay = (delay * 2).min(MAX_POLL_DELAY);
    }
}

/// The diagnostic for a wait that did not reach a wanted status (Atlas errors excepted: the
/// caller converts those in the one place that does).
pub fn failure_diagnostic(
    spec: &WaitSpec,
    endpoint: &InterfaceEndpoint,
    timed_out: Option<(Duration, u32)>,
) -> Diagnostic {
    let wanted = spec.wanted.join(" or ");
    let atlas_says = match &endpoint.error_message {
        Some(message) => format!(" Atlas reports: {}.", show_atlas_text(message)),
        None => String::new(),
    };
    match timed_out {
        Some((waited, polls)) => Diagnostic::error(
            "Timed Out Waiting for Interface Endpoint",
            format!(
                "The endpoint was still {} after {} ({polls} reads), not {wanted}.{atlas_says} Raise `{WAIT_TIMEOUT}` \
                 (now {}) if AWS needs longer, or check the VPC endpoint in AWS.",
                endpoint.connection_status,
                durations::show(waited),
                durations::show(spec.timeout)
            ),
        )
        .on(WAIT_TIMEOUT),
        None => Diagnostic::error(
            "Interface Endpoint Will Not Become Ready",
            format!(
                "The endpoint is {}, a status it does not leave by itself, so it will not become {wanted}.{atlas_says} \
                 {}",
                endpoint.connection_status,
                if endpoint.connection_status == "REJECTED" {
                    "Check the VPC endpoint in AWS (its service name, subnets and security groups), then recreate it."
                } else {
                    "Atlas is removing it from the private endpoint connection."
                }
            ),
        )
        .on(WAIT_FOR_STATUS),
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::collections::VecDeque;

    use super::*;

    fn endpoint(status: &str) -> InterfaceEndpoint {
        InterfaceEndpoint {
            interface_endpoint_id: "vpce-08fb7e9319909ec7b".into(),
            connection_status: status.into(),
            error_message: (status == "REJECTED").then(|| "no route".to_owned()),
            delete_requested: Some(false),
        }
    }

    fn spec(wanted: &[&str], timeout_secs: u64) -> WaitSpec {
        WaitSpec {
            wanted: wanted.iter().map(|status| (*status).to_owned()).collect(),
            timeout: Duration::from_secs(timeout_secs),
        }
    }

    /// Reads that answer the given statuses in turn, repeating the last, and record when.
    fn script(statuses: &[&str]) -> (RefCell<VecDeque<String>>, RefCell<Vec<Duration>>) {
        (
            RefCell::new(statuses.iter().map(|status| (*status).to_owned()).collect()),
            RefCell::new(Vec::new()),
        )
    }

    #[tokio::test(start_paused = true)]
    async fn polls_with_doubling_delay_until_wanted() {
        let (statuses, times) = script(&["NONE", "PENDING_ACCEPTANCE", "PENDING", "AVAILABLE"]);
        let started = Instant::now();
        let read = || {
            let mut queue = statuses.borrow_mut();
            let status = if queue.len() > 1 {
                queue.pop_front().unwrap()
            } else {
                queue[0].clone()
            };
            times.borrow_mut().push(started.elapsed());
            async move { Ok(endpoint(&status)) }
        };
        let found = wait_for_status(&spec(&["AVAILABLE"], 600), read)
            .await
            .unwrap();
        assert_eq!(found.connection_status, "AVAILABLE");
        let seconds: Vec<u64> = times.borrow().iter().map(Duration::as_secs).collect();
        assert_eq!(seconds, [0, 2, 6, 14]);
    }

    #[tokio::test(start_paused = true)]
    async fn rejected_fails_at_once_with_atlas_message() {
        let failure = wait_for_status(&spec(&["AVAILABLE"], 600), || async {
            Ok(endpoint("REJECTED"))
        })
        .await
        .unwrap_err();
        let WaitFailure::Terminal(last) = failure else {
            panic!("{failure:?}")
        };
        let diagnostic = failure_diagnostic(&spec(&["AVAILABLE"], 600), &last, None);
        assert!(
            diagnostic.detail.contains("REJECTED") && diagnostic.detail.contains("no route"),
            "{}",
            diagnostic.detail
        );
    }

    #[tokio::test(start_paused = true)]
    async fn deleting_is_fine_when_listed() {
        let found = wait_for_status(&spec(&["DELETING"], 600), || async {
            Ok(endpoint("DELETING"))
        })
        .await;
        assert!(found.is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn timeout_reports_the_last_status() {
        let started = Instant::now();
        let failure = wait_for_status(&spec(&["AVAILABLE"], 45), || async {
            Ok(endpoint("PENDING"))
        })
        .await
        .unwrap_err();
        let WaitFailure::TimedOut {
            last,
            waited,
            polls,
        } = failure
        else {
            panic!("{failure:?}")
        };
        assert_eq!(last.connection_status, "PENDING");
        assert_eq!(waited, Duration::from_secs(45));
        assert_eq!(started.elapsed(), Duration::from_secs(45));
        // 0, 2, 6, 14, 30, then the deadline at 45.
        assert_eq!(polls, 6);
        let diagnostic =
            failure_diagnostic(&spec(&["AVAILABLE"], 45), &last, Some((waited, polls)));
        assert!(
            diagnostic.detail.contains("still PENDING"),
            "{}",
            diagnostic.detail
        );
        assert_eq!(diagnostic.attribute.as_deref(), Some(WAIT_TIMEOUT));
    }

    #[test]
    fn validation_of_statuses_and_timeout() {
        let config = |statuses: Value, timeout: Value| {
            Value::Object(
                [
                    (WAIT_FOR_STATUS.to_owned(), statuses),
                    (WAIT_TIMEOUT.to_owned(), timeout),
                ]
                .into_iter()
                .collect(),
            )
        };
        let list = |items: &[&str]| {
            Value::List(
                items
                    .iter()
                    .map(|item| Value::String((*item).into()))
                    .collect(),
            )
        };
        assert!(
            validate(&config(
                list(&["AVAILABLE", "PENDING"]),
                Value::String("5m".into())
            ))
            .is_empty()
        );
        assert_eq!(
            validate(&config(list(&["READY"]), Value::Null))[0].summary,
            "Unknown Status in Wait For Status"
        );
        assert_eq!(
            validate(&config(list(&[]), Value::Null))[0].summary,
            "Empty Wait For Status"
        );
        assert_eq!(
            validate(&config(list(&["AVAILABLE"]), Value::String("0s".into())))[0].summary,
            "Invalid Duration"
        );
        let warning = &validate(&config(Value::Null, Value::String("5m".into())))[0];
        assert!(!warning.is_error());
        assert!(validate(&config(Value::Unknown, Value::Unknown)).is_empty());
        assert!(validate(&config(Value::List(vec![Value::Unknown]), Value::Null)).is_empty());
    }
}
