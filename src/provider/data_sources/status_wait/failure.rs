//! What a wait that did not reach a wanted status tells the user: the status it ended on (a
//! terminal one, or the last one seen when `wait_timeout` ran out), how long it waited and how
//! many reads finished, and what to do.

use std::time::Duration;

use super::{HasStatus, StatusRules, WAIT_FOR_STATUS, WAIT_TIMEOUT, WaitFailure, WaitSpec};
use crate::provider::diagnostics::{Diagnostic, show_atlas_text, title_case};
use crate::provider::durations;

/// The diagnostic for a wait that did not reach a wanted status (Atlas errors excepted: the
/// caller converts those in the one place that does).
pub fn failure_diagnostic<T: HasStatus>(
    rules: &StatusRules,
    spec: &WaitSpec,
    failure: &WaitFailure<T>,
) -> Diagnostic {
    let wanted = spec.wanted.join(" or ");
    let atlas_says = |object: &T| match object.error_message() {
        Some(message) => format!(" Atlas reports: {}.", show_atlas_text(message)),
        None => String::new(),
    };
    match failure {
        WaitFailure::TimedOut {
            last,
            last_read_at,
            waited,
            polls,
            in_flight,
        } => {
            let seen = match last {
                Some(object) => format!(
                    "The {} was still {} after {} ({}; the last one answered {} at {} into the wait), not \
                     {wanted}.{}",
                    rules.short,
                    object.status(),
                    durations::show(*waited),
                    reads(*polls),
                    object.status(),
                    durations::show(*last_read_at),
                    atlas_says(object)
                ),
                None => format!(
                    "No read of the {} finished within {}, so its status is not known.",
                    rules.short,
                    durations::show(*waited)
                ),
            };
            // Two different stories: Atlas kept answering and the status did not change, or the
            // deadline cut a read short (no answer yet, or a retry waiting for its turn).
            let why = match in_flight {
                Some(read) => format!(
                    " The wait stopped at its deadline while a read was still in flight: read {} had been \
                     running for {} without an answer (Atlas had not answered it, or the provider was waiting \
                     to retry a failed attempt; `TF_LOG_PROVIDER=DEBUG` logs each attempt).",
                    read.number,
                    durations::show(read.running)
                ),
                None if *polls > 0 => {
                    " Atlas answered every read; the deadline came between two polls, before \
                     the next was due."
                        .to_owned()
                }
                None => String::new(),
            };
            Diagnostic::error(
                format!("Timed Out Waiting for {}", title_case(rules.what)),
                format!(
                    "{seen}{why} Raise `{WAIT_TIMEOUT}` (now {}) if {}",
                    durations::show(spec.timeout),
                    rules.timeout_advice
                ),
            )
            .on(WAIT_TIMEOUT)
        }
        WaitFailure::Terminal(object) => {
            let advice = rules
                .terminal
                .iter()
                .find(|(status, _)| *status == object.status())
                .map_or("", |(_, advice)| advice);
            Diagnostic::error(
                format!("{} Will Not Become Ready", title_case(rules.what)),
                format!(
                    "The {} is {}, a status it does not leave by itself, so it will not become {wanted}.{} \
                     {advice}",
                    rules.short,
                    object.status(),
                    atlas_says(object)
                ),
            )
            .on(WAIT_FOR_STATUS)
        }
        WaitFailure::Atlas { error, .. } => Diagnostic::error(
            "Atlas Error While Waiting",
            format!("{error}. Please report this issue: Atlas errors have their own diagnostics."),
        ),
    }
}

/// "1 read", "6 reads".
pub(super) fn reads(count: u32) -> String {
    if count == 1 {
        "1 read".to_owned()
    } else {
        format!("{count} reads")
    }
}

/// Whole seconds read better in a message than "5s 10ms 544us".
pub(super) fn whole_seconds(elapsed: Duration) -> Duration {
    Duration::from_secs(elapsed.as_secs_f64().round() as u64)
}
