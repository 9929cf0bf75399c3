//! Diagnostics: what Terraform shows the user, with the attribute they concern.

use crate::proto::tfplugin6 as proto;

/// Error or warning.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// One message for the user: a short title-case summary, a detail that says what happened,
/// which input caused it and what to do, and the attribute it concerns if any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub summary: String,
    pub detail: String,
    pub attribute: Option<String>,
}

impl Diagnostic {
    pub fn error(summary: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            summary: summary.into(),
            detail: detail.into(),
            attribute: None,
        }
    }

    pub fn warning(summary: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(summary, detail)
        }
    }

    /// Attaches the diagnostic to a top-level attribute.
    pub fn on(mut self, attribute: &str) -> Self {
        self.attribute = Some(attribute.to_owned());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Every diagnostic one step produced, in order: the one collection the framework and every data
/// source append to, as terraform-plugin-framework's `Diagnostics` is. Warnings travel with
/// errors, so a read that fails still shows the warnings found before it failed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Diagnostics(Vec<Diagnostic>);

impl Diagnostics {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.0.push(diagnostic);
    }

    /// Whether any of them is an error (a warning alone lets the step succeed).
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Diagnostic::is_error)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.0.iter()
    }

    /// The plain list, for the protocol boundary.
    pub fn into_vec(self) -> Vec<Diagnostic> {
        self.0
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(diagnostic: Diagnostic) -> Self {
        Self(vec![diagnostic])
    }
}

impl From<Vec<Diagnostic>> for Diagnostics {
    fn from(diagnostics: Vec<Diagnostic>) -> Self {
        Self(diagnostics)
    }
}

impl FromIterator<Diagnostic> for Diagnostics {
    fn from_iter<I: IntoIterator<Item = Diagnostic>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Diagnostics {
    type Item = &'a Diagnostic;
    type IntoIter = std::slice::Iter<'a, Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl std::ops::Index<usize> for Diagnostics {
    type Output = Diagnostic;

    fn index(&self, index: usize) -> &Diagnostic {
        &self.0[index]
    }
}

impl Extend<Diagnostic> for Diagnostics {
    fn extend<I: IntoIterator<Item = Diagnostic>>(&mut self, iter: I) {
        self.0.extend(iter);
    }
}

impl From<Diagnostic> for proto::Diagnostic {
    fn from(diagnostic: Diagnostic) -> Self {
        proto::Diagnostic {
            severity: match diagnostic.severity {
                Severity::Error => proto::diagnostic::Severity::Error,
                Severity::Warning => proto::diagnostic::Severity::Warning,
            } as i32,
            summary: diagnostic.summary,
            detail: diagnostic.detail,
            attribute: diagnostic.attribute.map(|name| proto::AttributePath {
                steps: vec![proto::attribute_path::Step {
                    selector: Some(proto::attribute_path::step::Selector::AttributeName(name)),
                }],
            }),
        }
    }
}

/// Converts diagnostics for a response.
pub fn to_proto(diagnostics: impl IntoIterator<Item = Diagnostic>) -> Vec<proto::Diagnostic> {
    diagnostics
        .into_iter()
        .map(proto::Diagnostic::from)
        .collect()
}

/// A short, printable rendering of a value the user gave, for "got …" in a detail: long values
/// are cut, control characters escaped.
pub fn show_value(text: &str) -> String {
    quote(text, 80)
}

/// What Atlas said (an error's `detail`, an endpoint's `error_message`), quoted: Atlas's
/// sentences run longer than ids, and their end is often the useful part.
pub fn show_atlas_text(text: &str) -> String {
    quote(text, 400)
}

/// `text` escaped and quoted, cut after `max_chars` characters.
fn quote(text: &str, max_chars: usize) -> String {
    let mut shown: String = text
        .chars()
        .take(max_chars)
        .flat_map(char::escape_debug)
        .collect();
    let total = text.chars().count();
    if total > max_chars {
        shown.push_str(&format!("… ({total} characters in all)"));
    }
    format!("\"{shown}\"")
}

/// A noun with its indefinite article, for a detail: "an interface endpoint", "a private link".
pub fn with_article(what: &str) -> String {
    let vowel = what.starts_with(['a', 'e', 'i', 'o', 'u']);
    format!("{} {what}", if vowel { "an" } else { "a" })
}

/// A summary's words from an attribute or noun: `interface_endpoint_id` → `Interface Endpoint ID`,
/// `interface endpoint` → `Interface Endpoint`.
pub fn title_case(words: &str) -> String {
    words
        .split(['_', ' '])
        .map(|word| match word {
            "id" => "ID".to_owned(),
            word => {
                let mut characters = word.chars();
                characters
                    .next()
                    .map(|first| first.to_ascii_uppercase().to_string() + characters.as_str())
                    .unwrap_or_default()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_becomes_a_one_step_path() {
        let diagnostic: proto::Diagnostic =
            Diagnostic::error("Bad", "detail").on("project_id").into();
        assert_eq!(
            diagnostic.severity,
            proto::diagnostic::Severity::Error as i32
        );
        let step = &diagnostic.attribute.unwrap().steps[0];
        assert_eq!(
            step.selector,
            Some(proto::attribute_path::step::Selector::AttributeName(
                "project_id".into()
            ))
        );
    }

    #[test]
    fn atlas_sentences_are_shown_whole_up_to_400_characters() {
        let detail = format!(
            "Interface endpoint vpce-1 not found in PrivateLink connection {}.",
            "6a".repeat(60)
        );
        assert_eq!(show_atlas_text(&detail), format!("\"{detail}\""));
        assert!(show_atlas_text(&"x".repeat(1000)).contains("1000 characters"));
    }

    #[test]
    fn titles_from_attributes_and_nouns() {
        assert_eq!(title_case("interface_endpoint_id"), "Interface Endpoint ID");
        assert_eq!(title_case("interface endpoint"), "Interface Endpoint");
    }

    #[test]
    fn shown_values_are_escaped_and_cut() {
        assert_eq!(show_value("a\0b"), "\"a\\0b\"");
        let long = "x".repeat(1000);
        let shown = show_value(&long);
        assert!(
            shown.len() < 200 && shown.contains("1000 characters"),
            "{shown}"
        );
    }
}
