//! `wait_for_status` / `wait_timeout`: polling an Atlas object until it reports a wanted status,
//! for any data source whose object has a status.
//!
//! A pipeline that has just created the AWS side plans with `wait_for_status = ["AVAILABLE"]`:
//! the read polls (2 s, doubling up to 30 s) until the status is wanted, fails at once on a
//! terminal status that is not wanted (with Atlas's error message), and fails with the last
//! status seen when `wait_timeout` runs out. The whole wait is bounded by `wait_timeout`: a
//! read still in flight at the deadline (an answer that does not come, the client's retries and
//! Retry-After pauses) is abandoned there, and all time arithmetic is checked.

use std::future::Future;
use std::time::Duration;

use serde::Deserialize;
use tokio::time::Instant;

use crate::atlas::AtlasError;
use crate::logging;
use crate::provider::diagnostics::{Diagnostic, Diagnostics, show_value, with_article};
use crate::provider::durations;
use crate::provider::schema::{Attribute, AttributeType};
use crate::provider::validators::Validator;
use crate::provider::value::Value;

pub const WAIT_FOR_STATUS: &str = "wait_for_status";
pub const WAIT_TIMEOUT: &str = "wait_timeout";

pub const DEFAULT_WAIT_TIMEOUT: Duration = Duration::from_secs(600);
/// The longest wait a plan may ask for: a day is longer than any CI job should block on Atlas,
/// and a bound keeps every deadline computable.
pub const MAX_WAIT_TIMEOUT: Duration = Duration::from_secs(24 * 60 * 60);
const FIRST_POLL_DELAY: Duration = Duration::from_secs(2);
const MAX_POLL_DELAY: Duration = Duration::from_secs(30);

/// What a data source waits on: the statuses its object has, and which are final.
#[derive(Debug)]
pub struct StatusRules {
    /// The object, for messages: "interface endpoint".
    pub what: &'static str,
    /// The object, shorter, inside a sentence: "endpoint".
    pub short: &'static str,
    /// The statuses Atlas documents; the only ones `wait_for_status` accepts.
    pub known: &'static [&'static str],
    /// Statuses the object does not leave by itself, each with what the user should do.
    pub terminal: &'static [(&'static str, &'static str)],
    /// What to check when the wait times out.
    pub timeout_advice: &'static str,
    /// The description of `wait_for_status` in the schema.
    pub wait_for_status_description: &'static str,
}

/// An object read from Atlas that has a status.
pub trait HasStatus {
    fn status(&self) -> &str;
    /// Atlas's error message on the object, if any.
    fn error_message(&self) -> Option<&str>;
}

/// The two wait arguments, as a data source's typed configuration holds them
/// (`#[serde(flatten)]`).
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct WaitConfig {
    pub wait_for_status: Option<Vec<String>>,
    pub wait_timeout: Option<String>,
}

/// What to wait for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WaitSpec {
    pub wanted: Vec<String>,
    pub timeout: Duration,
}

/// The two optional arguments, with their validators, for a data source's schema.
pub fn attributes(rules: &'static StatusRules) -> [Attribute; 2] {
    [
        Attribute::optional(
            WAIT_FOR_STATUS,
            AttributeType::ListOfString,
            rules.wait_for_status_description,
        )
        .validated(statuses_validator(rules)),
        Attribute::optional(
            WAIT_TIMEOUT,
            AttributeType::String,
            format!(
                "How long to wait for `wait_for_status`, as a duration such as `\"10m\"` or `\"90s\"`: at most \
                 `\"{}\"`. Default `\"{}\"`. The whole wait, including requests in flight and retries, ends \
                 at this deadline.",
                durations::show_setting(MAX_WAIT_TIMEOUT),
                durations::show_setting(DEFAULT_WAIT_TIMEOUT)
            ),
        )
        .validated(Validator::new(timeout_check)),
    ]
}

/// The two optional arguments for a data source whose statuses depend on another argument (the
/// cloud of a private endpoint): `rules_for` picks the rules from the configuration, and a
/// status is checked once they are known.
pub fn attributes_chosen_by(
    wait_for_status_description: &'static str,
    rules_for: fn(&Value) -> Option<&'static StatusRules>,
) -> [Attribute; 2] {
    let [wait_for_status, wait_timeout] = attributes(&NO_RULES);
    [
        Attribute {
            description: wait_for_status_description.into(),
            validators: vec![Validator::new(
                move |attribute, value, config| match rules_for(config) {
                    Some(rules) => statuses_validator(rules).check(attribute, value, config),
                    None => Diagnostics::new(),
                },
            )],
            ..wait_for_status
        },
        wait_timeout,
    ]
}

/// Rules that only lend [`attributes_chosen_by`] the shape of the two arguments.
static NO_RULES: StatusRules = StatusRules {
    what: "",
    short: "",
    known: &[],
    terminal: &[],
    timeout_advice: "",
    wait_for_status_description: "",
};

fn statuses_validator(rules: &'static StatusRules) -> Validator {
    Validator::new(move |attribute, value, _| {
        let mut diagnostics = Diagnostics::new();
        let Value::List(items) = value else {
            return diagnostics;
        };
        if items.is_empty() {
            diagnostics.push(
                Diagnostic::error(
                    "Empty Wait For Status",
                    format!(
                        "`{attribute}` lists no status, so the read could never finish. List the statuses to \
                         wait for, such as [\"AVAILABLE\"], or leave the argument out to read without waiting."
                    ),
                )
                .on(attribute),
            );
        }
        let mut seen: Vec<&str> = Vec::new();
        for (index, item) in items.iter().enumerate() {
            match item {
                Value::Null => diagnostics.push(
                    Diagnostic::error(
                        "Null Status in Wait For Status",
                        format!(
                            "`{attribute}` holds null at position {}; a status is never null. Remove it, or \
                             list statuses such as \"AVAILABLE\".",
                            index + 1
                        ),
                    )
                    .on(attribute),
                ),
                Value::String(status) if !rules.known.contains(&status.as_str()) => diagnostics.push(
                    Diagnostic::error(
                        "Unknown Status in Wait For Status",
                        format!(
                            "`{attribute}` lists {}, which is not a status Atlas reports for {}. Use any of \
                             {}.",
                            show_value(status),
                            with_article(rules.what),
                            rules.known.join(", ")
                        ),
                    )
                    .on(attribute),
                ),
                Value::String(status) if seen.contains(&status.as_str()) => diagnostics.push(
                    Diagnostic::error(
                        "Duplicate Status in Wait For Status",
                        format!("`{attribute}` lists {status} more than once. List each status once."),
                    )
                    .on(attribute),
                ),
                Value::String(status) => seen.push(status),
                _ => {}
            }
        }
        diagnostics
    })
}

fn timeout_check(attribute: &str, value: &Value, config: &Value) -> Diagnostics {
    let Some(text) = value.as_str() else {
        return Diagnostics::new();
    };
    match parse_timeout(text) {
        Err(diagnostic) => diagnostic.into(),
        Ok(_) if matches!(config.attribute(WAIT_FOR_STATUS), Value::Null) => Diagnostic::warning(
            "Wait Timeout Without Wait For Status",
            format!("`{attribute}` has no effect unless `{WAIT_FOR_STATUS}` lists the statuses to wait for."),
        )
        .on(attribute)
        .into(),
        Ok(_) => Diagnostics::new(),
    }
}

/// A positive duration of at most [`MAX_WAIT_TIMEOUT`].
fn parse_timeout(text: &str) -> Result<Duration, Diagnostic> {
    durations::parse_bounded(WAIT_TIMEOUT, text, MAX_WAIT_TIMEOUT)
}

impl WaitConfig {
    /// The wait a validated configuration asks for, if any.
    pub fn spec(&self) -> Result<Option<WaitSpec>, Diagnostics> {
        let Some(wanted) = &self.wait_for_status else {
            return Ok(None);
        };
        let timeout = match &self.wait_timeout {
            Some(text) => parse_timeout(text)?,
            None => DEFAULT_WAIT_TIMEOUT,
        };
        Ok(Some(WaitSpec {
            wanted: wanted.clone(),
            timeout,
        }))
    }
}

/// Why a wait ended without a wanted status.
#[derive(Debug)]
pub enum WaitFailure<T> {
    /// A read failed, after `polls` reads over `waited`.
    Atlas {
        error: AtlasError,
        waited: Duration,
        polls: u32,
    },
    /// The object reached a status it will not leave.
    Terminal(T),
    /// `wait_timeout` ran out.
    TimedOut {
        /// The last object read, if any read finished.
        last: Option<T>,
        /// When the last read finished, counted from the start of the wait.
        last_read_at: Duration,
        waited: Duration,
        polls: u32,
        /// The read still in flight at the deadline, if the deadline came during one rather than
        /// between two polls.
        in_flight: Option<InFlight>,
    },
}

/// A read the deadline interrupted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InFlight {
    /// Which read it was: 1 for the first.
    pub number: u32,
    /// How long it had been running (waiting for Atlas, or for the client's next attempt).
    pub running: Duration,
}

/// Reads once, or waits as `config` asks; every failure becomes diagnostics, Atlas's through
/// `atlas_error` (the one Atlas-error mapping).
pub async fn read_or_wait<T, F, Fut>(
    rules: &StatusRules,
    config: &WaitConfig,
    read: F,
    atlas_error: impl Fn(AtlasError) -> Diagnostic,
) -> Result<T, Diagnostics>
where
    T: HasStatus,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, AtlasError>>,
{
    let Some(spec) = config.spec()? else {
        let mut read = read;
        return read().await.map_err(|error| atlas_error(error).into());
    };
    wait_for_status(rules, &spec, read)
        .await
        .map_err(|failure| match failure {
            WaitFailure::Atlas {
                error,
                waited,
                polls,
            } => {
                // Atlas's error says what went wrong; the wait adds how far it had come.
                let mut diagnostic = atlas_error(error);
                diagnostic.detail.push_str(&format!(
                    " This ended the wait for `{WAIT_FOR_STATUS}` after {} ({} finished).",
                    durations::show(waited),
                    reads(polls)
                ));
                diagnostic.into()
            }
            other => failure_diagnostic(rules, &spec, &other).into(),
        })
}

/// Reads with `read` until the status is wanted, the object is stuck, or time runs out; no
/// read outlives the deadline.
pub async fn wait_for_status<T, F, Fut>(
    rules: &StatusRules,
    spec: &WaitSpec,
    mut read: F,
) -> Result<T, WaitFailure<T>>
where
    T: HasStatus,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, AtlasError>>,
{
    let started = Instant::now();
    let mut polls = 0;
    let mut last: Option<T> = None;
    let mut last_read_at = Duration::ZERO;
    let timed_out =
        |last: Option<T>, last_read_at: Duration, polls: u32, in_flight| WaitFailure::TimedOut {
            last,
            last_read_at,
            waited: whole_seconds(started.elapsed()),
            polls,
            in_flight,
        };
    // The timeout is validated to at most a day, but an Instant that cannot hold the deadline
    // must still not panic: such a wait is as good as endless, so it ends at once instead.
    let Some(deadline) = started.checked_add(spec.timeout) else {
        return Err(timed_out(None, last_read_at, 0, None));
    };
    let mut delay = FIRST_POLL_DELAY;
    loop {
        let read_started = Instant::now();
        let object = match tokio::time::timeout_at(deadline, read()).await {
            Ok(Ok(object)) => object,
            Ok(Err(error)) => {
                return Err(WaitFailure::Atlas {
                    error,
                    waited: whole_seconds(started.elapsed()),
                    polls,
                });
            }
            Err(_elapsed) => {
                let in_flight = InFlight {
                    number: polls + 1,
                    running: whole_seconds(read_started.elapsed()),
                };
                return Err(timed_out(last, last_read_at, polls, Some(in_flight)));
            }
        };
        polls += 1;
        last_read_at = whole_seconds(started.elapsed());
        let status = object.status().to_owned();
        if spec.wanted.contains(&status) {
            return Ok(object);
        }
        if rules
            .terminal
            .iter()
            .any(|(terminal, _)| *terminal == status)
        {
            return Err(WaitFailure::Terminal(object));
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(timed_out(Some(object), last_read_at, polls, None));
        }
        let pause = delay.min(deadline.saturating_duration_since(now));
        logging::debug(
            "waiting for status",
            &[
                ("what", rules.what.into()),
                ("status", status.into()),
                ("wanted", spec.wanted.join(",").into()),
                ("next_poll_ms", (pause.as_millis() as u64).into()),
            ],
        );
        last = Some(object);
        tokio::time::sleep(pause).await;
        // The next poll would start at the deadline and be cut off at once: the wait ends
        // between polls, with every read answered.
        if Instant::now() >= deadline {
            return Err(timed_out(last, last_read_at, polls, None));
        }
        delay = delay.saturating_mul(2).min(MAX_POLL_DELAY);
    }
}

mod failure;

pub use failure::failure_diagnostic;
use failure::{reads, whole_seconds};

#[cfg(test)]
mod tests;
