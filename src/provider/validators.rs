//! Attribute validators: what a schema declares per attribute and the framework runs at
//! `terraform validate` and again before every read, so that a typo is caught early and a
//! malformed id never reaches the network. Also the checks on the form of Atlas ids.

use std::fmt;
use std::sync::Arc;

use super::diagnostics::{Diagnostic, Diagnostics, show_value, title_case};
use super::value::Value;

/// The function behind a [`Validator`]: the attribute's name, its known non-null value, and
/// the whole configuration (for checks that depend on another attribute).
type Check = dyn Fn(&str, &Value, &Value) -> Diagnostics + Send + Sync;

/// One check on one attribute, declared in the schema.
#[derive(Clone)]
pub struct Validator(Arc<Check>);

impl Validator {
    pub fn new(
        check: impl Fn(&str, &Value, &Value) -> Diagnostics + Send + Sync + 'static,
    ) -> Self {
        Self(Arc::new(check))
    }

    /// A check on a known string; other values (lists, unknown) pass.
    pub fn string(
        check: impl Fn(&str, &str) -> Option<Diagnostic> + Send + Sync + 'static,
    ) -> Self {
        Self::new(move |attribute, value, _| {
            value
                .as_str()
                .and_then(|text| check(attribute, text))
                .into_iter()
                .collect()
        })
    }

    /// Runs the check.
    pub fn check(&self, attribute: &str, value: &Value, config: &Value) -> Diagnostics {
        (self.0)(attribute, value, config)
    }
}

impl fmt::Debug for Validator {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("Validator")
    }
}

/// The id of a 24-hex Atlas object; `what` names it in the message ("an Atlas project").
pub fn is_object_id(what: &'static str) -> Validator {
    Validator::string(move |attribute, value| object_id(attribute, value, what))
}

/// The id of an AWS VPC interface endpoint.
pub fn is_vpc_endpoint_id() -> Validator {
    Validator::string(vpc_endpoint_id)
}

/// A project id or private link id: 24 lowercase hexadecimal characters (a MongoDB ObjectId).
pub fn object_id(attribute: &str, value: &str, what: &str) -> Option<Diagnostic> {
    if value.len() == 24 && is_lowercase_hex(value) {
        return None;
    }
    let hint = if value.len() == 24 && value.chars().all(|character| character.is_ascii_hexdigit())
    {
        " Atlas ids are lowercase: write the letters a-f in lower case."
    } else {
        ""
    };
    Some(invalid(
        attribute,
        format!(
            "`{attribute}` must be the id of {what}: 24 hexadecimal characters (0-9, a-f), such as \
             \"5f1a2b3c4d5e6f7a8b9c0d1e\". Got {} ({} characters).{hint}",
            show_value(value),
            value.chars().count()
        ),
    ))
}

/// An AWS interface (VPC) endpoint id: `vpce-` and 17 lowercase hexadecimal characters.
pub fn vpc_endpoint_id(attribute: &str, value: &str) -> Option<Diagnostic> {
    if let Some(suffix) = value.strip_prefix("vpce-")
        && suffix.len() == 17
        && is_lowercase_hex(suffix)
    {
        return None;
    }
    let hint =
        if value.to_ascii_lowercase() != value && value.to_ascii_lowercase().starts_with("vpce-") {
            " AWS endpoint ids are lowercase."
        } else {
            ""
        };
    Some(invalid(
        attribute,
        format!(
            "`{attribute}` must be the id of an AWS VPC interface endpoint: \"vpce-\" followed by 17 hexadecimal \
             characters (0-9, a-f), such as \"vpce-08fb7e9319909ec7b\". Got {} ({} characters).{hint} The AWS \
             console and `aws_vpc_endpoint.<name>.id` show it.",
            show_value(value),
            value.chars().count()
        ),
    ))
}

fn invalid(attribute: &str, detail: String) -> Diagnostic {
    Diagnostic::error(format!("Invalid {}", title_case(attribute)), detail).on(attribute)
}

fn is_lowercase_hex(text: &str) -> bool {
    text.bytes()
        .all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_ids_pass() {
        assert_eq!(
            object_id("project_id", "5f1a2b3c4d5e6f7a8b9c0d1e", "a project"),
            None
        );
        assert_eq!(
            vpc_endpoint_id("interface_endpoint_id", "vpce-08fb7e9319909ec7b"),
            None
        );
    }

    #[test]
    fn bad_object_ids_name_the_attribute_and_show_the_value() {
        for bad in [
            "",
            "5f1a",
            "5F1A2B3C4D5E6F7A8B9C0D1E",
            "5f1a2b3c4d5e6f7a8b9c0d1g",
            "../../../../../../../../x",
            "5f1a2b3c4d5e6f7a8b9c0d1e ",
        ] {
            let diagnostic = object_id("project_id", bad, "an Atlas project").expect(bad);
            assert_eq!(diagnostic.attribute.as_deref(), Some("project_id"));
            assert_eq!(diagnostic.summary, "Invalid Project ID");
            assert!(
                diagnostic.detail.contains(&show_value(bad)),
                "{}",
                diagnostic.detail
            );
        }
    }

    #[test]
    fn upper_case_hex_gets_a_hint() {
        let diagnostic = object_id(
            "private_link_id",
            "5F1A2B3C4D5E6F7A8B9C0D1E",
            "a private link",
        )
        .unwrap();
        assert!(
            diagnostic.detail.contains("lowercase"),
            "{}",
            diagnostic.detail
        );
    }

    #[test]
    fn bad_endpoint_ids_are_refused() {
        for bad in [
            "",
            "vpce-",
            "vpce-08fb7e9319909ec7",
            "vpce-08fb7e9319909ec7bb",
            "VPCE-08FB7E9319909EC7B",
            "vpce-08fb7e9319909ec7%2F",
            "vpce-08fb7e9319909еc7b",
        ] {
            let diagnostic = vpc_endpoint_id("interface_endpoint_id", bad).expect(bad);
            assert_eq!(diagnostic.summary, "Invalid Interface Endpoint ID");
            assert!(diagnostic.detail.contains("vpce-08fb7e9319909ec7b"));
        }
    }
}
