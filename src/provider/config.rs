//! The provider block: `public_key`, `private_key`, `base_url`, each falling back to the
//! environment variables the official MongoDB Atlas provider and CLI read.

use std::fmt;

use std::time::Duration;

use rustls_pki_types::CertificateDer;
use url::Url;

use super::ca_bundle::{self, CA_CERT_FILE};
use super::diagnostics::{Diagnostic, show_value};
use super::durations;
use super::schema::{Attribute, AttributeType, Presence, Schema};
use super::value::Value;

pub const PUBLIC_KEY: &str = "public_key";
pub const PRIVATE_KEY: &str = "private_key";
pub const BASE_URL: &str = "base_url";
pub const MAX_RETRIES: &str = "max_retries";
pub const REQUEST_TIMEOUT: &str = "request_timeout";

pub const DEFAULT_MAX_RETRIES: u32 = 4;
/// More retries than this would keep a failing plan waiting for many minutes.
pub const MAX_MAX_RETRIES: u32 = 20;
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Environment fallbacks, first one set wins.
pub const PUBLIC_KEY_ENV: [&str; 3] = [
    "MONGODB_ATLAS_PUBLIC_API_KEY",
    "MONGODB_ATLAS_PUBLIC_KEY",
    "MCLI_PUBLIC_API_KEY",
];
pub const PRIVATE_KEY_ENV: [&str; 3] = [
    "MONGODB_ATLAS_PRIVATE_API_KEY",
    "MONGODB_ATLAS_PRIVATE_KEY",
    "MCLI_PRIVATE_API_KEY",
];
pub const BASE_URL_ENV: [&str; 2] = ["MONGODB_ATLAS_BASE_URL", "MCLI_OPS_MANAGER_URL"];
pub const DEFAULT_BASE_URL: &str = "https://cloud.mongodb.com";

/// The provider's schema.
pub fn schema() -> Schema {
    Schema {
        description: "Reads MongoDB Atlas through the Atlas Admin API, authenticating with a programmatic API key \
                      (HTTP Digest: the public key is the user name, the private key the password).",
        attributes: vec![
            Attribute::new(
                PUBLIC_KEY,
                AttributeType::String,
                Presence::Optional,
                "The public half of an Atlas programmatic API key (8 lowercase letters). Defaults to the first \
                 of the environment variables `MONGODB_ATLAS_PUBLIC_API_KEY`, `MONGODB_ATLAS_PUBLIC_KEY`, \
                 `MCLI_PUBLIC_API_KEY` that is set. The key needs a project role that can read the project \
                 (Project Read Only is enough).",
            ),
            Attribute::new(
                PRIVATE_KEY,
                AttributeType::String,
                Presence::Optional,
                "The private half of the API key (a UUID), shown once when the key is created in Atlas. \
                 Defaults to the first of `MONGODB_ATLAS_PRIVATE_API_KEY`, `MONGODB_ATLAS_PRIVATE_KEY`, \
                 `MCLI_PRIVATE_API_KEY` that is set. It is never sent: digest authentication sends a hash.",
            )
            .sensitive(),
            Attribute::new(
                BASE_URL,
                AttributeType::String,
                Presence::Optional,
                "The Atlas Admin API's base URL. Defaults to `MONGODB_ATLAS_BASE_URL`, then \
                 `MCLI_OPS_MANAGER_URL`, then `https://cloud.mongodb.com`. Use \
                 `https://cloud.mongodbgov.com` for Atlas for Government.",
            ),
            Attribute::new(
                CA_CERT_FILE,
                AttributeType::String,
                Presence::Optional,
                "Path to a PEM file of certificate authorities to trust, in addition to the system's, for the \
                 connection to Atlas (a TLS-inspecting proxy's CA, say). A bundle named by the `SSL_CERT_FILE` \
                 environment variable is trusted in addition as well.",
            ),
            Attribute::new(
                MAX_RETRIES,
                AttributeType::Number,
                Presence::Optional,
                "How many times a request is retried after a failed attempt, with exponential backoff and full \
                 jitter (or exactly as long as Atlas's `Retry-After` says): for HTTP 429, 502, 503, 504 and \
                 failed connections; HTTP 500 is retried at most twice. 400, 401, 403 and 404 are never \
                 retried. Default 4; 0 turns retries off; at most 20.",
            ),
            Attribute::new(
                REQUEST_TIMEOUT,
                AttributeType::String,
                Presence::Optional,
                "How long one HTTP attempt may take, from connecting to the end of the answer, as a duration \
                 such as `\"30s\"` or `\"2m\"`. Default `\"30s\"`. A request that times out waiting for an \
                 answer is not retried.",
            ),
        ],
    }
}

/// Where a setting's value came from, for messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    Argument(&'static str),
    Environment(&'static str),
    Default,
}

impl fmt::Display for Origin {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Argument(name) => write!(formatter, "the provider argument `{name}`"),
            Origin::Environment(name) => write!(formatter, "the environment variable {name}"),
            Origin::Default => write!(formatter, "the default"),
        }
    }
}

/// One provider setting after the argument and environment fallbacks. Its `Debug` output
/// shows where a value came from, never the value, so that no key reaches a log or panic.
#[derive(Clone, PartialEq, Eq)]
pub enum Setting {
    Set {
        value: String,
        origin: Origin,
    },
    /// The argument depends on something not known until apply.
    Unknown,
    Missing,
}

impl fmt::Debug for Setting {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Setting::Set { origin, .. } => write!(formatter, "Set(from {origin})"),
            Setting::Unknown => formatter.write_str("Unknown"),
            Setting::Missing => formatter.write_str("Missing"),
        }
    }
}

/// The provider's settings after fallbacks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderSettings {
    pub public_key: Setting,
    pub private_key: Setting,
    pub base_url: Url,
    pub base_url_origin: Origin,
    pub max_retries: u32,
    pub request_timeout: Duration,
    /// Certificate authorities trusted in addition to the system roots.
    pub extra_roots: Vec<CertificateDer<'static>>,
}

/// Checks what can be checked before configuration: the form of a known `base_url`.
/// Unknown values are skipped; they are checked once known.
pub fn validate(config: &Value) -> Vec<Diagnostic> {
    let mut diagnostics = Vec::new();
    if let Some(text) = config.attribute(BASE_URL).as_str() {
        diagnostics.extend(parse_base_url(text, &Origin::Argument(BASE_URL)).err());
    }
    diagnostics.extend(max_retries(config).err());
    diagnostics.extend(request_timeout(config).err());
    diagnostics
}

/// `max_retries`, or the default when null or unknown.
fn max_retries(config: &Value) -> Result<u32, Diagnostic> {
    match config.attribute(MAX_RETRIES) {
        Value::Number(number)
            if number.fract() == 0.0 && (0.0..=f64::from(MAX_MAX_RETRIES)).contains(number) =>
        {
            Ok(*number as u32)
        }
        Value::Number(number) => Err(Diagnostic::error(
            "Invalid Max Retries",
            format!(
                "`{MAX_RETRIES}` must be a whole number from 0 to {MAX_MAX_RETRIES}; got {number}. \
                 The default is {DEFAULT_MAX_RETRIES}."
            ),
        )
        .on(MAX_RETRIES)),
        _ => Ok(DEFAULT_MAX_RETRIES),
    }
}

/// `request_timeout`, or the default when null or unknown.
fn request_timeout(config: &Value) -> Result<Duration, Diagnostic> {
    match config.attribute(REQUEST_TIMEOUT).as_str() {
        Some(text) => durations::parse_positive(REQUEST_TIMEOUT, text),
        None => Ok(DEFAULT_REQUEST_TIMEOUT),
    }
}

/// Applies the fallbacks. `environment` looks up a variable (the process environment, or a map
/// in tests).
pub fn resolve(
    config: &Value,
    environment: impl Fn(&str) -> Option<String>,
) -> Result<ProviderSettings, Diagnostic> {
    let setting = |name: &'static str, variables: &[&'static str]| match config.attribute(name) {
        Value::Unknown => Setting::Unknown,
        Value::String(value) => Setting::Set {
            value: value.clone(),
            origin: Origin::Argument(name),
        },
        _ => variables
            .iter()
            .find_map(|variable| {
                environment(variable)
                    .filter(|value| !value.is_empty())
                    .map(|value| Setting::Set {
                        value,
                        origin: Origin::Environment(variable),
                    })
            })
            .unwrap_or(Setting::Missing),
    };
    let (base_url, base_url_origin) = match setting(BASE_URL, &BASE_URL_ENV) {
        Setting::Set { value, origin } => (parse_base_url(&value, &origin)?, origin),
        Setting::Unknown => {
            return Err(Diagnostic::error(
                "Unknown Atlas Base URL",
                "The provider argument `base_url` depends on a value that is not known until apply, but the \
                 provider needs it to read data sources during plan. Set it to a known value.",
            )
            .on(BASE_URL));
        }
        Setting::Missing => (
            Url::parse(DEFAULT_BASE_URL).expect("the default URL parses"),
            Origin::Default,
        ),
    };
    Ok(ProviderSettings {
        public_key: setting(PUBLIC_KEY, &PUBLIC_KEY_ENV),
        private_key: setting(PRIVATE_KEY, &PRIVATE_KEY_ENV),
        base_url,
        base_url_origin,
        max_retries: max_retries(config)?,
        request_timeout: request_timeout(config)?,
        extra_roots: ca_bundle::load(config, &environment)?,
    })
}

/// Settings that work but deserve a word: digest auth over cleartext HTTP to another machine
/// exposes the response hash, from which the private key can be guessed offline.
pub fn warnings(settings: &ProviderSettings) -> Vec<Diagnostic> {
    let url = &settings.base_url;
    let loopback = match url.host() {
        Some(url::Host::Ipv4(address)) => address.is_loopback(),
        Some(url::Host::Ipv6(address)) => address.is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    if url.scheme() != "http" || loopback {
        return Vec::new();
    }
    let diagnostic = Diagnostic::warning(
        "Atlas Base URL Uses Cleartext HTTP",
        format!(
            "The base URL {url} (from {}) is plain http to another machine. Digest authentication never sends \
             the private key, but anyone who sees the traffic can read the endpoint data and try to guess the \
             key offline from the digest. Use https.",
            settings.base_url_origin
        ),
    );
    match settings.base_url_origin {
        Origin::Argument(_) => vec![diagnostic.on(BASE_URL)],
        _ => vec![diagnostic],
    }
}

/// An absolute http(s) URL with a host.
fn parse_base_url(text: &str, origin: &Origin) -> Result<Url, Diagnostic> {
    let problem = match Url::parse(text) {
        Ok(url) if !matches!(url.scheme(), "http" | "https") => {
            format!("its scheme is `{}`", url.scheme())
        }
        Ok(url) if url.host_str().is_none_or(str::is_empty) => "it has no host".to_owned(),
        Ok(url) if url.query().is_some() || url.fragment().is_some() => {
            "it has a query or fragment".to_owned()
        }
        Ok(url) => return Ok(url),
        Err(error) => format!("it is not an absolute URL ({error})"),
    };
    Err(Diagnostic::error(
        "Invalid Atlas Base URL",
        format!(
            "The base URL {} from {origin} cannot be used: {problem}. It must be an absolute http or https URL \
             such as {DEFAULT_BASE_URL} (or https://cloud.mongodbgov.com for Atlas for Government).",
            show_value(text)
        ),
    )
    .on(BASE_URL))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn config(entries: &[(&str, Value)]) -> Value {
        let mut object: BTreeMap<String, Value> = [
            PUBLIC_KEY,
            PRIVATE_KEY,
            BASE_URL,
            MAX_RETRIES,
            REQUEST_TIMEOUT,
        ]
        .iter()
        .map(|name| ((*name).to_owned(), Value::Null))
        .collect();
        for (name, value) in entries {
            object.insert((*name).to_owned(), value.clone());
        }
        Value::Object(object)
    }

    fn environment(
        pairs: &'static [(&'static str, &'static str)],
    ) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        }
    }

    #[test]
    fn argument_wins_over_environment() {
        let settings = resolve(
            &config(&[(PUBLIC_KEY, Value::String("argument".into()))]),
            environment(&[("MONGODB_ATLAS_PUBLIC_API_KEY", "environment")]),
        )
        .unwrap();
        assert_eq!(
            settings.public_key,
            Setting::Set {
                value: "argument".into(),
                origin: Origin::Argument(PUBLIC_KEY)
            }
        );
    }

    #[test]
    fn first_environment_variable_set_wins() {
        let settings = resolve(
            &config(&[]),
            environment(&[
                ("MCLI_PRIVATE_API_KEY", "third"),
                ("MONGODB_ATLAS_PRIVATE_KEY", "second"),
                ("MONGODB_ATLAS_PUBLIC_API_KEY", ""),
                ("MONGODB_ATLAS_PUBLIC_KEY", "public"),
                ("MCLI_OPS_MANAGER_URL", "http://127.0.0.1:9/"),
            ]),
        )
        .unwrap();
        assert_eq!(
            settings.private_key,
            Setting::Set {
                value: "second".into(),
                origin: Origin::Environment("MONGODB_ATLAS_PRIVATE_KEY")
            }
        );
        assert_eq!(
            settings.public_key,
            Setting::Set {
                value: "public".into(),
                origin: Origin::Environment("MONGODB_ATLAS_PUBLIC_KEY")
            }
        );
        assert_eq!(settings.base_url.as_str(), "http://127.0.0.1:9/");
    }

    #[test]
    fn nothing_set_means_missing_keys_and_the_default_url() {
        let settings = resolve(&config(&[]), environment(&[])).unwrap();
        assert_eq!(settings.public_key, Setting::Missing);
        assert_eq!(settings.base_url.as_str(), "https://cloud.mongodb.com/");
        assert_eq!(settings.base_url_origin, Origin::Default);
    }

    #[test]
    fn unknown_key_is_kept_as_unknown() {
        let settings =
            resolve(&config(&[(PRIVATE_KEY, Value::Unknown)]), environment(&[])).unwrap();
        assert_eq!(settings.private_key, Setting::Unknown);
    }

    #[test]
    fn base_url_must_be_absolute_http() {
        for bad in [
            "cloud.mongodb.com",
            "ftp://cloud.mongodb.com",
            "https://",
            "https://x/?a=b",
        ] {
            let diagnostics = validate(&config(&[(BASE_URL, Value::String(bad.into()))]));
            assert_eq!(diagnostics.len(), 1, "{bad}");
            assert_eq!(diagnostics[0].attribute.as_deref(), Some(BASE_URL));
            assert!(
                diagnostics[0].detail.contains(bad),
                "{}",
                diagnostics[0].detail
            );
        }
        assert!(validate(&config(&[(BASE_URL, Value::Unknown)])).is_empty());
        assert!(
            validate(&config(&[(
                BASE_URL,
                Value::String("http://127.0.0.1:8080".into())
            )]))
            .is_empty()
        );
    }

    #[test]
    fn retries_and_timeout_default_and_validate() {
        let settings = resolve(&config(&[]), environment(&[])).unwrap();
        assert_eq!(
            (settings.max_retries, settings.request_timeout),
            (4, Duration::from_secs(30))
        );
        let settings = resolve(
            &config(&[
                (MAX_RETRIES, Value::Number(0.0)),
                (REQUEST_TIMEOUT, Value::String("2m".into())),
            ]),
            environment(&[]),
        )
        .unwrap();
        assert_eq!(
            (settings.max_retries, settings.request_timeout),
            (0, Duration::from_secs(120))
        );
        for bad in [Value::Number(-1.0), Value::Number(1.5), Value::Number(21.0)] {
            let diagnostics = validate(&config(&[(MAX_RETRIES, bad.clone())]));
            assert_eq!(
                diagnostics[0].attribute.as_deref(),
                Some(MAX_RETRIES),
                "{bad:?}"
            );
        }
        let diagnostics = validate(&config(&[(REQUEST_TIMEOUT, Value::String("0s".into()))]));
        assert_eq!(diagnostics[0].attribute.as_deref(), Some(REQUEST_TIMEOUT));
    }

    #[test]
    fn cleartext_to_another_host_warns_but_loopback_does_not() {
        let settings = |url: &str| {
            resolve(
                &config(&[(BASE_URL, Value::String(url.into()))]),
                environment(&[]),
            )
            .unwrap()
        };
        let warnings = warnings(&settings("http://atlas.internal.example:8080"));
        assert_eq!(warnings.len(), 1);
        assert!(!warnings[0].is_error());
        assert_eq!(warnings[0].attribute.as_deref(), Some(BASE_URL));
        for quiet in [
            "http://127.0.0.1:8080",
            "http://localhost:1",
            "http://[::1]:2",
            "https://cloud.mongodb.com",
        ] {
            assert!(super::warnings(&settings(quiet)).is_empty(), "{quiet}");
        }
    }

    #[test]
    fn debug_output_redacts_the_private_key() {
        let settings = resolve(
            &config(&[(PRIVATE_KEY, Value::String("9f1c-very-secret".into()))]),
            environment(&[]),
        )
        .unwrap();
        let shown = format!("{settings:?}");
        assert!(!shown.contains("9f1c-very-secret"), "{shown}");
    }
}
