//! Duration strings in configuration ("30s", "10m", "1m30s"), checked with a message that
//! names the attribute.

use std::time::Duration;

use super::diagnostics::{Diagnostic, show_value};

/// Parses a positive duration for `attribute`.
pub fn parse_positive(attribute: &str, text: &str) -> Result<Duration, Diagnostic> {
    let invalid = |problem: String| {
        Diagnostic::error(
            "Invalid Duration",
            format!(
                "`{attribute}` must be a positive duration: a number and a unit (ms, s, m, h), such as \"30s\", \
                 \"10m\" or \"1m30s\". Got {}: {problem}.",
                show_value(text)
            ),
        )
        .on(attribute)
    };
    match humantime::parse_duration(text.trim()) {
        Ok(duration) if duration.is_zero() => Err(invalid("it is zero".into())),
        Ok(duration) => Ok(duration),
        Err(error) => Err(invalid(error.to_string())),
    }
}

/// "30s", "10m", "1h 30m" for messages.
pub fn show(duration: Duration) -> String {
    humantime::format_duration(duration).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_style_durations_parse() {
        assert_eq!(parse_positive("t", "30s").unwrap(), Duration::from_secs(30));
        assert_eq!(
            parse_positive("t", "10m").unwrap(),
            Duration::from_secs(600)
        );
        assert_eq!(
            parse_positive("t", "1m30s").unwrap(),
            Duration::from_secs(90)
        );
        assert_eq!(
            parse_positive("t", "250ms").unwrap(),
            Duration::from_millis(250)
        );
    }

    #[test]
    fn zero_negative_and_unitless_are_refused_on_the_attribute() {
        for bad in ["0s", "-5s", "30", "soon", ""] {
            let diagnostic = parse_positive("wait_timeout", bad).unwrap_err();
            assert_eq!(
                diagnostic.attribute.as_deref(),
                Some("wait_timeout"),
                "{bad}"
            );
            assert!(
                diagnostic.detail.contains(&show_value(bad)),
                "{}",
                diagnostic.detail
            );
        }
    }
}
