//! Reading every endpoint a private link lists, for the list data sources: the listed ids
//! checked as a user's ids are, each read once, at most [`MAX_IN_FLIGHT`] at a time, and what
//! the list holds bounded in total ([`MAX_LIST_BYTES`]) and per message
//! ([`MAX_ERROR_MESSAGE_BYTES`]).
//!
//! The ids come from Atlas's answer and go into the URL of each endpoint read, so they pass the
//! same shape check as an id in a configuration. An id that fails it fails the read, naming the
//! id: leaving it out would let an assertion over the list (`alltrue([...])`) pass on a list
//! that is not the whole list. An id listed twice is read once, at its first place.

use std::collections::HashSet;
use std::future::Future;

use futures_util::stream::{self, StreamExt};

use crate::provider::diagnostics::{Diagnostic, Diagnostics, show_value};

/// Endpoint reads in flight at once for one data source: enough to read a few dozen endpoints
/// in a few round trips, few enough to stay clear of Atlas's per-key rate limits when Terraform
/// reads ten data sources in parallel.
pub const MAX_IN_FLIGHT: usize = 4;

/// The most one list holds, counted as the bytes of its strings (ids, statuses, messages after
/// the cut) and [`ELEMENT_OVERHEAD_BYTES`] per endpoint. A real list is a few kilobytes; the
/// bound keeps a hostile or broken Atlas (each endpoint answer may be up to 1 MiB) from making
/// the provider, and then Terraform, hold gigabytes.
pub const MAX_LIST_BYTES: usize = 16 * 1024 * 1024;

/// What one endpoint counts for besides its strings: its place in the list and in the state.
pub const ELEMENT_OVERHEAD_BYTES: usize = 64;

/// The longest `error_message` kept. Atlas's messages are a sentence or two; a longer one is
/// cut at a character boundary and ends with [`CUT_MARKER`].
pub const MAX_ERROR_MESSAGE_BYTES: usize = 4096;

/// What ends a cut message; the number of bytes Atlas sent follows it.
pub const CUT_MARKER: &str = "… [cut by the provider at 4096 bytes; Atlas sent ";

/// How many bad ids a message names before it counts the rest.
const IDS_SHOWN: usize = 5;

/// What a list data source reads, for its checks and messages.
pub struct ListedEndpoints<'a> {
    /// What one element is: "interface endpoint".
    pub what: &'static str,
    /// The private link whose list this is, for messages.
    pub private_link_id: &'a str,
    /// What a right id looks like: "`vpce-` followed by 17 lowercase hexadecimal characters".
    pub expected_shape: &'static str,
    /// The check an id in a configuration passes (the schema's validator's function).
    pub has_shape: fn(&str) -> bool,
    /// The data source that reads one of them, for the advice when a list is too large:
    /// "atlas_interface_endpoint".
    pub single_data_source: &'static str,
}

/// One element of a list, as the data source keeps it.
pub trait ListedEndpoint {
    /// The id Atlas's answer gives for the endpoint.
    fn answered_id(&self) -> &str;
    /// The bytes of its strings, for [`MAX_LIST_BYTES`].
    fn held_bytes(&self) -> usize;
}

impl ListedEndpoints<'_> {
    /// The listed ids as they may be read: each of the right shape, each once, in Atlas's
    /// order. An error names the ids that are not of the right shape.
    pub fn checked_ids(&self, listed: Vec<String>) -> Result<Vec<String>, Diagnostics> {
        let bad: Vec<&String> = listed.iter().filter(|id| !(self.has_shape)(id)).collect();
        if !bad.is_empty() {
            let mut shown: Vec<String> = bad
                .iter()
                .take(IDS_SHOWN)
                .map(|id| show_value(id))
                .collect();
            if bad.len() > IDS_SHOWN {
                shown.push(format!("and {} more", bad.len() - IDS_SHOWN));
            }
            return Err(Diagnostic::error(
                "Atlas Listed an Unusable Id",
                format!(
                    "Private link {} lists {} {} id(s) that are not of the form {}: {}. The provider \
                     reads no endpoint of a list that holds an id it cannot use, so that an assertion \
                     over the list never passes on part of it. Look at the private link in the Atlas UI \
                     or API; if the ids there are right, Atlas has changed their form and this provider \
                     needs an update: please report this issue.",
                    show_value(self.private_link_id),
                    bad.len(),
                    self.what,
                    self.expected_shape,
                    shown.join(", ")
                ),
            )
            .into());
        }
        let mut seen = HashSet::new();
        Ok(listed
            .into_iter()
            .filter(|id| seen.insert(id.clone()))
            .collect())
    }

    /// Reads each of `ids` (already [`checked_ids`](Self::checked_ids)) with `read_one`, at
    /// most [`MAX_IN_FLIGHT`] at a time, keeping Atlas's order. `read_one` gives `None` for an
    /// endpoint that is gone (left out). An answer for another id than the one asked for, or a
    /// list over [`MAX_LIST_BYTES`], is an error.
    pub async fn read_each<T, F, Fut>(
        &self,
        ids: Vec<String>,
        read_one: F,
    ) -> Result<Vec<T>, Diagnostics>
    where
        T: ListedEndpoint,
        F: Fn(String) -> Fut,
        Fut: Future<Output = Result<Option<T>, Diagnostics>>,
    {
        let listed = ids.len();
        let mut reads = stream::iter(ids)
            .map(|id| {
                let read = read_one(id.clone());
                async move { (id, read.await) }
            })
            .buffered(MAX_IN_FLIGHT);
        let mut held = 0usize;
        let mut read = Vec::new();
        while let Some((asked, answer)) = reads.next().await {
            let Some(endpoint) = answer? else { continue };
            if endpoint.answered_id() != asked {
                return Err(self.answered_for_another(&asked, endpoint.answered_id()));
            }
            held = held.saturating_add(endpoint.held_bytes() + ELEMENT_OVERHEAD_BYTES);
            if held > MAX_LIST_BYTES {
                return Err(self.too_large(read.len() + 1, listed));
            }
            read.push(endpoint);
        }
        Ok(read)
    }

    fn answered_for_another(&self, asked: &str, answered: &str) -> Diagnostics {
        answered_for_another(self.what, self.private_link_id, asked, answered)
    }

    fn too_large(&self, read: usize, listed: usize) -> Diagnostics {
        Diagnostic::error(
            "List from Atlas Too Large",
            format!(
                "The {}s of private link {} exceed the {} MiB a list may hold ({} bytes, counting ids, \
                 statuses and messages after each is cut to {MAX_ERROR_MESSAGE_BYTES} bytes), at endpoint {read} \
                 of {listed} listed. A real list holds a few kilobytes: check that `base_url` points at the \
                 Atlas Admin API. To read single endpoints, use `{}`.",
                self.what,
                show_value(self.private_link_id),
                MAX_LIST_BYTES / (1024 * 1024),
                MAX_LIST_BYTES,
                self.single_data_source,
            ),
        )
        .into()
    }
}

/// The error for an answer about another endpoint than the one asked for: the state would
/// otherwise show one endpoint's status under another's id. Also used by the single read.
pub fn answered_for_another(
    what: &str,
    private_link_id: &str,
    asked: &str,
    answered: &str,
) -> Diagnostics {
    Diagnostic::error(
        "Atlas Answered for Another Endpoint",
        format!(
            "Asked for {what} {} of private link {}, Atlas answered with the id {}. The provider does not \
             put one endpoint's status under another's id. Check that `base_url` points at the Atlas \
             Admin API; if it does, please report this issue.",
            show_value(asked),
            show_value(private_link_id),
            show_value(answered)
        ),
    )
    .into()
}

/// `message` cut to [`MAX_ERROR_MESSAGE_BYTES`] at a character boundary, with [`CUT_MARKER`]
/// and the length Atlas sent.
pub fn cut_error_message(message: Option<String>) -> Option<String> {
    let mut message = message?;
    if message.len() <= MAX_ERROR_MESSAGE_BYTES {
        return Some(message);
    }
    let sent = message.len();
    let mut end = MAX_ERROR_MESSAGE_BYTES;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    message.truncate(end);
    message.push_str(CUT_MARKER);
    message.push_str(&format!("{sent} bytes]"));
    message.shrink_to_fit();
    Some(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed() -> ListedEndpoints<'static> {
        ListedEndpoints {
            what: "interface endpoint",
            private_link_id: "6a1a2b3c4d5e6f7a8b9c0d1e",
            expected_shape: "`vpce-` and 17 hexadecimal characters",
            has_shape: |id| id.starts_with("vpce-"),
            single_data_source: "atlas_interface_endpoint",
        }
    }

    #[test]
    fn duplicates_are_read_once_in_first_place() {
        let ids = ["vpce-b", "vpce-a", "vpce-b", "vpce-a", "vpce-c"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            listed().checked_ids(ids).unwrap(),
            ["vpce-b", "vpce-a", "vpce-c"]
        );
    }

    #[test]
    fn bad_ids_fail_naming_the_first_few_and_counting_the_rest() {
        let mut ids: Vec<String> = [".", "..", "", "vpce-a"].map(String::from).to_vec();
        ids.extend((0..10).map(|number| format!("x{number}")));
        let error = listed().checked_ids(ids).unwrap_err();
        let detail = &error[0].detail;
        assert!(detail.contains("13 interface endpoint id(s)"), "{detail}");
        assert!(
            detail.contains(r#""..""#) && detail.contains(r#""""#),
            "{detail}"
        );
        assert!(detail.contains("and 8 more"), "{detail}");
    }

    #[test]
    fn long_messages_are_cut_at_a_character_boundary_with_the_marker() {
        assert_eq!(cut_error_message(None), None);
        let short = "AWS says no".to_owned();
        assert_eq!(cut_error_message(Some(short.clone())), Some(short));
        let long = "é".repeat(MAX_ERROR_MESSAGE_BYTES);
        let cut = cut_error_message(Some(long)).unwrap();
        let (kept, marker) = cut.split_once(CUT_MARKER).unwrap();
        assert!(kept.len() <= MAX_ERROR_MESSAGE_BYTES && kept.len() > MAX_ERROR_MESSAGE_BYTES - 2);
        assert_eq!(marker, format!("{} bytes]", 2 * MAX_ERROR_MESSAGE_BYTES));
    }

    #[test]
    fn the_marker_states_the_limit() {
        assert!(CUT_MARKER.contains(&MAX_ERROR_MESSAGE_BYTES.to_string()));
    }
}
