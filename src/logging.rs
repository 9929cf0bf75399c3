//! Log lines on stderr in the JSON shape Terraform's plugin client (go-hclog) reads.
//!
//! Terraform re-logs each line at its `@level`, so the level names and the `@timestamp` format
//! (`2006-01-02T15:04:05.000000Z07:00` in Go's notation) must match exactly; a line that does not
//! parse is demoted to DEBUG. The level comes from `TF_LOG_PROVIDER`, else `TF_LOG`; with
//! neither set nothing is written. Callers never pass secrets: keys and `Authorization` headers
//! are not logged at any level.

use std::io::Write;
use std::sync::OnceLock;

use serde_json::{Map, Value};

/// Severity of a log line, in increasing order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
    Off,
}

impl Level {
    fn name(self) -> &'static str {
        match self {
            Level::Trace => "trace",
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
            Level::Off => "off",
        }
    }

    /// Reads a level the way Terraform does: known names in any case, `JSON` and any other
    /// non-empty value mean TRACE, empty means off.
    pub fn parse(text: &str) -> Level {
        match text.trim().to_ascii_uppercase().as_str() {
            "" | "OFF" => Level::Off,
            "ERROR" => Level::Error,
            "WARN" => Level::Warn,
            "INFO" => Level::Info,
            "DEBUG" => Level::Debug,
            _ => Level::Trace,
        }
    }
}

static THRESHOLD: OnceLock<Level> = OnceLock::new();

/// Sets the threshold from `TF_LOG_PROVIDER`, falling back to `TF_LOG`. Call once at start-up.
pub fn init_from_env() {
    let level = std::env::var("TF_LOG_PROVIDER")
        .ok()
        .filter(|value| !value.is_empty())
        .or_else(|| std::env::var("TF_LOG").ok())
        .map(|value| Level::parse(&value))
        .unwrap_or(Level::Off);
    let _ = THRESHOLD.set(level);
}

/// Whether a line at `level` would be written.
pub fn enabled(level: Level) -> bool {
    level != Level::Off && level >= *THRESHOLD.get().unwrap_or(&Level::Off)
}

/// Writes one log line with extra key/value fields, if `level` is enabled.
pub fn log(level: Level, message: &str, fields: &[(&str, Value)]) {
    if !enabled(level) {
        return;
    }
    let line = format_line(level, message, fields, time::OffsetDateTime::now_utc());
    // One write per line so that concurrent lines never interleave.
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

pub fn trace(message: &str, fields: &[(&str, Value)]) {
    log(Level::Trace, message, fields);
}

pub fn debug(message: &str, fields: &[(&str, Value)]) {
    log(Level::Debug, message, fields);
}

pub fn info(message: &str, fields: &[(&str, Value)]) {
    log(Level::Info, message, fields);
}

pub fn warn(message: &str, fields: &[(&str, Value)]) {
    log(Level::Warn, message, fields);
}

fn format_line(
    level: Level,
    message: &str,
    fields: &[(&str, Value)],
    now: time::OffsetDateTime,
) -> String {
    let mut object = Map::new();
    object.insert("@level".into(), Value::from(level.name()));
    object.insert("@message".into(), Value::from(message));
    object.insert("@module".into(), Value::from("atlas"));
    object.insert("@timestamp".into(), Value::from(format_timestamp(now)));
    for (key, value) in fields {
        object.insert((*key).to_owned(), value.clone());
    }
    let mut line = Value::Object(object).to_string();
    line.push('\n');
    line
}

/// Formats a UTC time as Go's `2006-01-02T15:04:05.000000Z07:00`.
fn format_timestamp(now: time::OffsetDateTime) -> String {
    let now = now.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second(),
        now.microsecond()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_has_microseconds_and_zulu_offset() {
        let time =
            time::OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_789).unwrap();
        assert_eq!(format_timestamp(time), "2023-11-14T22:13:20.123456Z");
    }

    #[test]
    fn line_is_one_json_object_with_terraform_keys() {
        let time = time::OffsetDateTime::from_unix_timestamp(0).unwrap();
        let line = format_line(
            Level::Debug,
            "read done",
            &[("status", Value::from(200))],
            time,
        );
        assert!(line.ends_with('\n') && line.matches('\n').count() == 1);
        let parsed: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(parsed["@level"], "debug");
        assert_eq!(parsed["@message"], "read done");
        assert_eq!(parsed["@timestamp"], "1970-01-01T00:00:00.000000Z");
        assert_eq!(parsed["status"], 200);
    }

    #[test]
    fn levels_parse_like_terraform() {
        assert_eq!(Level::parse("debug"), Level::Debug);
        assert_eq!(Level::parse("JSON"), Level::Trace);
        assert_eq!(Level::parse("nonsense"), Level::Trace);
        assert_eq!(Level::parse(""), Level::Off);
    }
}
