//! Duration strings in configuration ("30s", "10m", "1h30m", "1.5h"), parsed exactly as Terraform's
//! own Go code parses them, checked with a message that names the attribute.
//!
//! Terraform users know Go's `time.ParseDuration` (the `timeouts` blocks of every HashiCorp
//! provider use it), so we accept exactly its grammar and nothing else: "1M" is not a month, and
//! "5 m" and "1d" are refused, as Go refuses them. The grammar and every edge case below follow
//! golang/go `src/time/format.go` (`ParseDuration`, `leadingInt`,
//! `leadingFraction`, `unitMap`):
//!
//! ```text
//! duration = [ "-" | "+" ] ( "0" | segment { segment } )
//! segment  = ( digits [ "." [ digits ] ] | "." digits ) unit
//! unit     = "ns" | "us" | "µs" (U+00B5) | "μs" (U+03BC) | "ms" | "s" | "m" | "h"
//! ```
//!
//! A unit is every character up to the next digit or '.', so "5 m" has the unknown unit " m".
//! The integer part of a segment may not exceed 2^63 (after scaling by its unit); digits of a
//! fraction beyond what a u64 holds are ignored, and the fraction is scaled through an f64 and
//! truncated, as Go does; the total must fit Go's `Duration` (an i64 of nanoseconds). All
//! arithmetic here is checked, so no input can panic.

use std::time::Duration;

use super::diagnostics::{Diagnostic, show_value};

/// Go's `time.Duration` is an i64 of nanoseconds: a positive duration holds at most 2^63 - 1,
/// a negative one at most 2^63 in magnitude.
const GO_MAGNITUDE_LIMIT: u64 = 1 << 63;

/// Why a text is not a duration in Go's grammar.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Problem {
    /// Empty, or a sign alone.
    Empty,
    /// A character where a number must start, or a segment with no digit ("." or ".s").
    ExpectedNumber,
    /// A number with nothing after it (Go's "missing unit").
    MissingUnit,
    /// A unit Go does not know, such as "d", "M" or " m".
    UnknownUnit(String),
    /// More than Go's `Duration` holds (about 292 years).
    TooLarge,
}

impl Problem {
    fn explain(&self) -> String {
        match self {
            Problem::Empty => "it is empty".into(),
            Problem::ExpectedNumber => "a number must come before each unit".into(),
            Problem::MissingUnit => "a number has no unit".into(),
            Problem::UnknownUnit(unit) => format!(
                "{} is not a unit (units are ns, us, ms, s, m and h; days and months are not \
                 accepted, and spaces are not allowed)",
                show_value(unit)
            ),
            Problem::TooLarge => {
                "it is longer than the largest duration Terraform accepts (about 292 years)".into()
            }
        }
    }
}

/// Nanoseconds per unit, as Go's `unitMap`.
fn unit_nanos(unit: &str) -> Option<u64> {
    Some(match unit {
        "ns" => 1,
        // U+00B5 MICRO SIGN and U+03BC GREEK SMALL LETTER MU: Go accepts both.
        "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => return None,
    })
}

/// A duration as Go reads it: the sign and the magnitude in nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct GoDuration {
    negative: bool,
    nanos: u64,
}

/// Splits off the leading ASCII digits.
fn split_digits(text: &str) -> (&str, &str) {
    let end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    text.split_at(end)
}

/// Parses `text` exactly as Go's `time.ParseDuration`.
fn parse_go(text: &str) -> Result<GoDuration, Problem> {
    let (negative, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    // Go's special case: a bare "0" needs no unit.
    if rest == "0" {
        return Ok(GoDuration { negative, nanos: 0 });
    }
    if rest.is_empty() {
        return Err(Problem::Empty);
    }
    let mut total: u64 = 0;
    while !rest.is_empty() {
        if !(rest.starts_with('.') || rest.starts_with(|c: char| c.is_ascii_digit())) {
            return Err(Problem::ExpectedNumber);
        }
        let (whole_digits, after_whole) = split_digits(rest);
        let whole = whole_value(whole_digits)?;
        rest = after_whole;
        let (fraction, scale, has_fraction_digits) = match rest.strip_prefix('.') {
            Some(after_point) => {
                let (fraction_digits, after_fraction) = split_digits(after_point);
                rest = after_fraction;
                let (fraction, scale) = fraction_value(fraction_digits);
                (fraction, scale, !fraction_digits.is_empty())
            }
            None => (0, 1.0, false),
        };
        if whole_digits.is_empty() && !has_fraction_digits {
            return Err(Problem::ExpectedNumber);
        }
        let unit_end = rest
            .find(|c: char| c == '.' || c.is_ascii_digit())
            .unwrap_or(rest.len());
        let (unit, after_unit) = rest.split_at(unit_end);
        if unit.is_empty() {
            return Err(Problem::MissingUnit);
        }
        let unit_nanos = unit_nanos(unit).ok_or_else(|| Problem::UnknownUnit(unit.to_owned()))?;
        rest = after_unit;
        let mut segment = whole
            .checked_mul(unit_nanos)
            .filter(|nanos| *nanos <= GO_MAGNITUDE_LIMIT)
            .ok_or(Problem::TooLarge)?;
        if fraction > 0 {
            // Go scales the fraction through an f64 ("float64 is needed to be nanosecond
            // accurate for fractions of hours") and truncates; the product is below one hour's
            // nanoseconds, so the cast cannot saturate.
            let fraction_nanos = (fraction as f64 * (unit_nanos as f64 / scale)) as u64;
            segment = segment
                .checked_add(fraction_nanos)
                .filter(|nanos| *nanos <= GO_MAGNITUDE_LIMIT)
                .ok_or(Problem::TooLarge)?;
        }
        total = total
            .checked_add(segment)
            .filter(|nanos| *nanos <= GO_MAGNITUDE_LIMIT)
            .ok_or(Problem::TooLarge)?;
    }
    if !negative && total == GO_MAGNITUDE_LIMIT {
        return Err(Problem::TooLarge);
    }
    Ok(GoDuration {
        negative,
        nanos: total,
    })
}

/// The whole part of a segment, refused beyond 2^63 as Go's `leadingInt` does.
fn whole_value(digits: &str) -> Result<u64, Problem> {
    digits.bytes().try_fold(0u64, |value, digit| {
        value
            .checked_mul(10)
            .and_then(|value| value.checked_add(u64::from(digit - b'0')))
            .filter(|value| *value <= GO_MAGNITUDE_LIMIT)
            .ok_or(Problem::TooLarge)
    })
}

/// The fraction's digits as an integer and its scale (10^digits kept), as Go's
/// `leadingFraction`: digits that would overflow are dropped, not an error.
fn fraction_value(digits: &str) -> (u64, f64) {
    let mut value: u64 = 0;
    let mut scale = 1.0;
    for digit in digits.bytes() {
        let next = value
            .checked_mul(10)
            .and_then(|value| value.checked_add(u64::from(digit - b'0')))
            .filter(|next| *next <= GO_MAGNITUDE_LIMIT);
        match next {
            Some(next) => {
                value = next;
                scale *= 10.0;
            }
            None => break,
        }
    }
    (value, scale)
}

/// Parses a positive duration for `attribute`.
pub fn parse_positive(attribute: &str, text: &str) -> Result<Duration, Diagnostic> {
    let invalid = |problem: String| {
        Diagnostic::error(
            "Invalid Duration",
            format!(
                "`{attribute}` must be a positive duration in Terraform's format: numbers with units \
                 (ns, us, ms, s, m, h), such as \"30s\", \"10m\", \"1h30m\" or \"1.5h\". Got {}: \
                 {problem}.",
                show_value(text)
            ),
        )
        .on(attribute)
    };
    match parse_go(text) {
        Ok(GoDuration { nanos: 0, .. }) => Err(invalid("it is zero".into())),
        Ok(GoDuration { negative: true, .. }) => Err(invalid("it is negative".into())),
        Ok(GoDuration { nanos, .. }) => Ok(Duration::from_nanos(nanos)),
        Err(problem) => Err(invalid(problem.explain())),
    }
}

/// Parses a positive duration for `attribute` that is at most `max`: the documented upper
/// bound of the argument, so that a typing slip ("24000h") is caught at `terraform validate`
/// and every deadline computed from it stays far from any overflow.
pub fn parse_bounded(attribute: &str, text: &str, max: Duration) -> Result<Duration, Diagnostic> {
    let duration = parse_positive(attribute, text)?;
    if duration > max {
        return Err(Diagnostic::error(
            "Duration Too Long",
            format!(
                "`{attribute}` must be at most {}, got {}. Set it to {} or less.",
                show_setting(max),
                show_value(text),
                show_setting(max)
            ),
        )
        .on(attribute));
    }
    Ok(duration)
}

/// "30s", "10m", "1h 30m" for messages.
pub fn show(duration: Duration) -> String {
    humantime::format_duration(duration).to_string()
}

/// A duration the way a user would write it in configuration ("24h", "1h30m", "1.5s",
/// "250ms"), so a message can suggest a value that parses back to the same duration.
pub fn show_setting(duration: Duration) -> String {
    const SECOND: u128 = 1_000_000_000;
    let nanos = duration.as_nanos();
    if nanos == 0 {
        return "0s".into();
    }
    if nanos < SECOND {
        let (unit_nanos, unit) = if nanos < 1_000 {
            (1, "ns")
        } else if nanos < 1_000_000 {
            (1_000, "us")
        } else {
            (1_000_000, "ms")
        };
        return format!("{}{unit}", decimal(nanos, unit_nanos));
    }
    let hours = nanos / (3_600 * SECOND);
    let minutes = nanos / (60 * SECOND) % 60;
    let below_minute = nanos % (60 * SECOND);
    let mut shown = String::new();
    if hours > 0 {
        shown.push_str(&format!("{hours}h"));
    }
    if minutes > 0 {
        shown.push_str(&format!("{minutes}m"));
    }
    if below_minute > 0 {
        shown.push_str(&format!("{}s", decimal(below_minute, SECOND)));
    }
    shown
}

/// `value / unit` in decimal, without trailing zeros: 1500 / 1000 is "1.5".
fn decimal(value: u128, unit: u128) -> String {
    let whole = value / unit;
    let fraction = value % unit;
    if fraction == 0 {
        return whole.to_string();
    }
    let width = unit.ilog10() as usize;
    let digits = format!("{fraction:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn nanos(text: &str) -> Result<i128, Problem> {
        parse_go(text).map(|parsed| {
            let magnitude = i128::from(parsed.nanos);
            if parsed.negative {
                -magnitude
            } else {
                magnitude
            }
        })
    }

    const S: i128 = 1_000_000_000;

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
        assert_eq!(
            parse_positive("t", "1h30m").unwrap(),
            Duration::from_secs(5400)
        );
        assert_eq!(
            parse_positive("t", "1.5h").unwrap(),
            Duration::from_secs(5400)
        );
    }

    /// The cases of Go's own `parseDurationTests` (src/time/time_test.go) that concern the
    /// grammar, with the values Go gives.
    #[test]
    fn every_form_go_accepts_gives_gos_value() {
        let cases: &[(&str, i128)] = &[
            ("0", 0),
            ("5s", 5 * S),
            ("30s", 30 * S),
            ("1478s", 1478 * S),
            ("-5s", -5 * S),
            ("+5s", 5 * S),
            ("-0", 0),
            ("+0", 0),
            ("5.0s", 5 * S),
            ("5.6s", 5 * S + 600_000_000),
            ("5.s", 5 * S),
            (".5s", S / 2),
            ("1.0s", S),
            ("1.00s", S),
            ("1.004s", S + 4_000_000),
            ("1.0040s", S + 4_000_000),
            ("100.00100s", 100 * S + 1_000_000),
            ("10ns", 10),
            ("11us", 11_000),
            ("12\u{b5}s", 12_000),
            ("12\u{3bc}s", 12_000),
            ("13ms", 13_000_000),
            ("14s", 14 * S),
            ("15m", 15 * 60 * S),
            ("16h", 16 * 3600 * S),
            ("3h30m", (3 * 3600 + 30 * 60) * S),
            ("10.5s4m", 4 * 60 * S + 10 * S + S / 2),
            ("-2m3.4s", -(2 * 60 * S + 3 * S + 400_000_000)),
            (
                "1h2m3s4ms5us6ns",
                3600 * S + 2 * 60 * S + 3 * S + 4_000_000 + 5_000 + 6,
            ),
            ("39h9m14.425s", (39 * 3600 + 9 * 60 + 14) * S + 425_000_000),
            ("52763797000ns", 52_763_797_000),
            ("0.3333333333333333333h", 20 * 60 * S),
            ("9007199254740993ns", 9_007_199_254_740_993),
            ("9223372036854775807ns", 9_223_372_036_854_775_807),
            ("9223372036854775.807us", 9_223_372_036_854_775_807),
            ("9223372036s854ms775us807ns", 9_223_372_036_854_775_807),
            ("-9223372036854775808ns", -9_223_372_036_854_775_808),
            ("-9223372036854775.808us", -9_223_372_036_854_775_808),
            ("-9223372036s854ms775us808ns", -9_223_372_036_854_775_808),
            ("-2562047h47m16.854775808s", -9_223_372_036_854_775_808),
            ("0.100000000000000000000h", 6 * 60 * S),
            ("0.830103483285477580700h", 49 * 60 * S + 48_372_539_827),
        ];
        for (text, expected) in cases {
            assert_eq!(nanos(text), Ok(*expected), "{text}");
        }
    }

    #[test]
    fn every_form_go_refuses_is_refused() {
        for text in [
            "",
            "3",
            "-",
            "s",
            ".",
            "-.",
            ".s",
            "+.s",
            "1d",
            "1M",
            "1y",
            "5 m",
            " 5m",
            "5m ",
            "1h 30m",
            "1e3s",
            "1,5s",
            "x5s",
            "5s-3s",
            "9223372036854775808ns",
            "-9223372036854775809ns",
            "18446744073709551615s",
            "300000000000y",
            "292277024626y",
            "2562048h",
            "9223372036854775808",
            "99999999999999999999999999999s",
        ] {
            assert!(nanos(text).is_err(), "{text:?} gave {:?}", nanos(text));
        }
        assert_eq!(
            nanos("1d"),
            Err(Problem::UnknownUnit("d".into())),
            "days are not a Go unit"
        );
        assert_eq!(nanos("5 m"), Err(Problem::UnknownUnit(" m".into())));
        assert_eq!(nanos("30"), Err(Problem::MissingUnit));
        assert_eq!(nanos("18446744073709551615s"), Err(Problem::TooLarge));
    }

    #[test]
    fn zero_negative_and_unitless_are_refused_on_the_attribute() {
        for bad in ["0s", "0", "-5s", "30", "soon", "", "1d", "1M", "5 m"] {
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
        let negative = parse_positive("wait_timeout", "-5s").unwrap_err();
        assert!(negative.detail.contains("negative"), "{}", negative.detail);
        let month = parse_positive("wait_timeout", "1M").unwrap_err();
        assert!(month.detail.contains("not a unit"), "{}", month.detail);
    }

    #[test]
    fn overflowing_durations_are_a_diagnostic_not_a_panic() {
        for huge in [
            "18446744073709551615s",
            "300000000000y",
            "292277024626y",
            "2562048h",
        ] {
            let diagnostic = parse_positive("wait_timeout", huge).unwrap_err();
            assert_eq!(diagnostic.attribute.as_deref(), Some("wait_timeout"));
        }
    }

    #[test]
    fn bound_is_inclusive_and_the_message_names_attribute_bound_and_fix() {
        let day = Duration::from_secs(24 * 3600);
        assert_eq!(parse_bounded("wait_timeout", "24h", day).unwrap(), day);
        assert_eq!(
            parse_bounded("wait_timeout", "23h59m59.999999999s", day).unwrap(),
            day - Duration::from_nanos(1)
        );
        let refused = parse_bounded("wait_timeout", "24h0m0.000000001s", day).unwrap_err();
        assert_eq!(refused.summary, "Duration Too Long");
        assert_eq!(refused.attribute.as_deref(), Some("wait_timeout"));
        for needed in [
            "`wait_timeout`",
            "at most 24h",
            "\"24h0m0.000000001s\"",
            "24h or less",
        ] {
            assert!(
                refused.detail.contains(needed),
                "{needed}: {}",
                refused.detail
            );
        }
        // A malformed value reports the format, not the bound.
        let malformed =
            parse_bounded("request_timeout", "1d", Duration::from_secs(3600)).unwrap_err();
        assert_eq!(malformed.summary, "Invalid Duration");
    }

    #[test]
    fn settings_are_shown_as_a_user_writes_them() {
        for (duration, shown) in [
            (Duration::from_secs(24 * 3600), "24h"),
            (Duration::from_secs(3600), "1h"),
            (Duration::from_secs(5400), "1h30m"),
            (Duration::from_secs(3601), "1h1s"),
            (Duration::from_millis(1500), "1.5s"),
            (Duration::from_millis(250), "250ms"),
            (Duration::from_micros(1500), "1.5ms"),
            (Duration::from_nanos(7), "7ns"),
            (Duration::ZERO, "0s"),
        ] {
            assert_eq!(show_setting(duration), shown);
        }
    }

    /// A reference model of the accepted language, written independently of the parser: a
    /// sequence of (whole, fraction digits, unit) segments rendered to text, whose value is
    /// computed in exact integer arithmetic where Go is exact.
    fn segment() -> impl Strategy<Value = (u64, Option<String>, &'static str)> {
        (
            0u64..100_000,
            proptest::option::of("[0-9]{0,3}"),
            prop::sample::select(vec!["ns", "us", "\u{b5}s", "\u{3bc}s", "ms", "s", "m", "h"]),
        )
    }

    fn unit_of(unit: &str) -> i128 {
        match unit {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => S,
            "m" => 60 * S,
            _ => 3600 * S,
        }
    }

    proptest! {
        #[test]
        fn parser_agrees_with_the_reference_model(
            sign in prop::sample::select(vec!["", "+", "-"]),
            segments in prop::collection::vec(segment(), 1..5),
        ) {
            let mut text = sign.to_owned();
            let mut expected: i128 = 0;
            for (whole, fraction, unit) in &segments {
                text.push_str(&whole.to_string());
                let per_unit = unit_of(unit);
                expected += i128::from(*whole) * per_unit;
                if let Some(digits) = fraction {
                    text.push('.');
                    text.push_str(digits);
                    if !digits.is_empty() {
                        // At most 3 digits: exact in f64, so Go's truncation equals floor.
                        let scale = 10i128.pow(digits.len() as u32);
                        let numerator: i128 = digits.parse().unwrap();
                        expected += numerator * per_unit / scale;
                    }
                }
                text.push_str(unit);
            }
            if sign == "-" {
                expected = -expected;
            }
            prop_assert_eq!(nanos(&text), Ok(expected), "{}", text);
        }

        #[test]
        fn no_text_panics_and_every_refusal_names_the_attribute(text in "\\PC{0,24}|[0-9.+\\- µμnsuhmdy]{0,30}") {
            match parse_bounded("wait_timeout", &text, Duration::from_secs(86_400)) {
                Ok(duration) => {
                    prop_assert!(duration > Duration::ZERO && duration <= Duration::from_secs(86_400));
                }
                Err(diagnostic) => prop_assert_eq!(diagnostic.attribute.as_deref(), Some("wait_timeout")),
            }
        }

        #[test]
        fn shown_settings_parse_back_to_the_same_duration(nanos in 1u64..(1 << 62)) {
            let duration = Duration::from_nanos(nanos);
            prop_assert_eq!(parse_positive("t", &show_setting(duration)).unwrap(), duration);
        }
    }
}
