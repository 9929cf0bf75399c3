//! The provider block: credentials (`access_token`, `client_id`/`client_secret`,
//! `public_key`/`private_key`), `base_url`, `api_version` and the network settings, each
//! credential falling back on its own to the environment variables the official MongoDB Atlas
//! provider and CLI read.

use std::fmt;

use std::time::Duration;

use rustls_pki_types::CertificateDer;
use url::Url;

use super::ca_bundle::{self, CA_CERT_FILE};
use super::diagnostics::{Diagnostic, Diagnostics, show_value};
use super::durations;
use super::schema::{Attribute, AttributeType, Presence, Schema};
use super::value::Value;
use crate::atlas::ApiVersion;

pub const PUBLIC_KEY: &str = "public_key";
pub const PRIVATE_KEY: &str = "private_key";
pub const BASE_URL: &str = "base_url";
pub const MAX_RETRIES: &str = "max_retries";
pub const REQUEST_TIMEOUT: &str = "request_timeout";
pub const API_VERSION: &str = "api_version";
pub const CLIENT_ID: &str = "client_id";
pub const CLIENT_SECRET: &str = "client_secret";
pub const ACCESS_TOKEN: &str = "access_token";
pub const IS_MONGODBGOV_CLOUD: &str = "is_mongodbgov_cloud";

pub const DEFAULT_MAX_RETRIES: u32 = 4;
/// More retries than this would keep a failing plan waiting for many minutes.
pub const MAX_MAX_RETRIES: u32 = 20;
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// One attempt longer than this is a hung server, not a slow one.
pub const MAX_REQUEST_TIMEOUT: Duration = Duration::from_secs(3600);

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
pub const CLIENT_ID_ENV: [&str; 1] = ["MONGODB_ATLAS_CLIENT_ID"];
pub const CLIENT_SECRET_ENV: [&str; 1] = ["MONGODB_ATLAS_CLIENT_SECRET"];
pub const ACCESS_TOKEN_ENV: [&str; 1] = ["MONGODB_ATLAS_ACCESS_TOKEN"];
pub const IS_MONGODBGOV_CLOUD_ENV: [&str; 1] = ["MONGODB_ATLAS_IS_MONGODBGOV_CLOUD"];
pub const DEFAULT_BASE_URL: &str = "https://cloud.mongodb.com";
/// Atlas for Government, as the official provider's `is_mongodbgov_cloud` selects it.
pub const GOVERNMENT_BASE_URL: &str = "https://cloud.mongodbgov.com";

/// The provider's schema.
pub fn schema() -> Schema {
    Schema {
        description: "Reads MongoDB Atlas through the Atlas Admin API. Authenticates with a service account \
                      (`client_id` and `client_secret`, or an `access_token`: OAuth 2.0, what MongoDB recommends) or \
                      a programmatic API key (`public_key` and `private_key`: HTTP Digest). When more than one kind \
                      of credentials is set, an access token is used first, then a service account, then an API \
                      key, and a warning names what was ignored.",
        attributes: vec![
            Attribute::new(
                CLIENT_ID,
                AttributeType::String,
                Presence::Optional,
                "The client id of an Atlas service account (`mdb_sa_id_…`). Defaults to the environment \
                 variable `MONGODB_ATLAS_CLIENT_ID`. With `client_secret`, the provider gets an OAuth 2.0 token \
                 (`POST /api/oauth/token`) on the first read and renews it before it expires. The service \
                 account needs the Project Read Only role on the project (Project Owner for `api_version = \
                 \"v1.0\"`).",
            ),
            Attribute::new(
                CLIENT_SECRET,
                AttributeType::String,
                Presence::Optional,
                "The service account's client secret (`mdb_sa_sk_…`). Defaults to `MONGODB_ATLAS_CLIENT_SECRET`. \
                 It is sent only to the token endpoint of `base_url`.",
            )
            .sensitive(),
            Attribute::new(
                ACCESS_TOKEN,
                AttributeType::String,
                Presence::Optional,
                "A service account access token obtained elsewhere, sent as `Authorization: Bearer`. Defaults \
                 to `MONGODB_ATLAS_ACCESS_TOKEN`. Atlas's tokens last one hour and this one is not renewed: \
                 prefer `client_id` and `client_secret` for anything longer.",
            )
            .sensitive(),
            Attribute::new(
                PUBLIC_KEY,
                AttributeType::String,
                Presence::Optional,
                "The public half of an Atlas programmatic API key (8 lowercase letters). Defaults to the first \
                 of the environment variables `MONGODB_ATLAS_PUBLIC_API_KEY`, `MONGODB_ATLAS_PUBLIC_KEY`, \
                 `MCLI_PUBLIC_API_KEY` that is set. On the v2 routes the key needs the Project Read Only role on \
                 the project; Atlas's v1.0 reference for these reads lists Organization Owner or Project Owner.",
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
                 `MCLI_OPS_MANAGER_URL`, then `https://cloud.mongodb.com` (`https://cloud.mongodbgov.com` when \
                 `is_mongodbgov_cloud` is true). It may not carry a user name or password.",
            ),
            Attribute::new(
                IS_MONGODBGOV_CLOUD,
                AttributeType::Bool,
                Presence::Optional,
                "Whether the project is in Atlas for Government. When true and no base URL is set, the base \
                 URL is `https://cloud.mongodbgov.com`. Defaults to `MONGODB_ATLAS_IS_MONGODBGOV_CLOUD` \
                 (`true` or `false`), then false.",
            ),
            Attribute::new(
                API_VERSION,
                AttributeType::String,
                Presence::Optional,
                "Which Atlas routes to read: `\"auto\"` (default) tries the v1.0 route on the first read of each \
                 provider process and, when Atlas no longer serves it (HTTP 404 `RESOURCE_NOT_FOUND` or 410), \
                 repeats that read on v2 and reads only v2 from then on, with one warning; `\"v1.0\"` reads only \
                 the legacy `/api/atlas/v1.0` routes; `\"v2\"` reads only the versioned `/api/atlas/v2` routes \
                 (`Accept: application/vnd.atlas.2023-01-01+json`) and skips the probe.",
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
                 such as `\"30s\"` or `\"2m\"` (Go's duration syntax, as in Terraform). Default `\"30s\"`, at \
                 most `\"1h\"`. A request that times out waiting for an answer is not retried.",
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
    pub client_id: Setting,
    pub client_secret: Setting,
    pub access_token: Setting,
    pub base_url: Url,
    pub base_url_origin: Origin,
    pub api_version: ApiVersion,
    pub max_retries: u32,
    pub request_timeout: Duration,
    /// Certificate authorities trusted in addition to the system roots.
    pub extra_roots: Vec<CertificateDer<'static>>,
}

/// Checks what can be checked before configuration: the form of known arguments.
/// Unknown values are skipped; they are checked once known.
pub fn validate(config: &Value) -> Diagnostics {
    let mut diagnostics = Diagnostics::new();
    if let Some(text) = config.attribute(BASE_URL).as_str() {
        diagnostics.extend(parse_base_url(text, &Origin::Argument(BASE_URL)).err());
    }
    diagnostics.extend(max_retries(config).err());
    diagnostics.extend(request_timeout(config).err());
    diagnostics.extend(api_version(config).err());
    for name in [
        PUBLIC_KEY,
        PRIVATE_KEY,
        CLIENT_ID,
        CLIENT_SECRET,
        ACCESS_TOKEN,
    ] {
        if let Some(value) = config.attribute(name).as_str() {
            diagnostics.extend(credential_text(name, value, &Origin::Argument(name)).err());
        }
    }
    diagnostics
}

/// `max_retries`, or the default when null or unknown. Terraform sends a number that float64
/// cannot hold exactly (`0.1`, `2.000000000000000000001`, `1e400`) as a string, so a string is
/// read as the number it spells, never taken for "not set".
fn max_retries(config: &Value) -> Result<u32, Diagnostic> {
    let invalid = |shown: String| {
        Diagnostic::error(
            "Invalid Max Retries",
            format!(
                "`{MAX_RETRIES}` must be a whole number from 0 to {MAX_MAX_RETRIES}; got {shown}. \
                 The default is {DEFAULT_MAX_RETRIES}."
            ),
        )
        .on(MAX_RETRIES)
    };
    match config.attribute(MAX_RETRIES) {
        Value::Number(number)
            if number.fract() == 0.0 && (0.0..=f64::from(MAX_MAX_RETRIES)).contains(number) =>
        {
            Ok(*number as u32)
        }
        Value::Number(number) => Err(invalid(number.to_string())),
        Value::String(text) => match text.trim().parse::<u32>() {
            Ok(number) if number <= MAX_MAX_RETRIES => Ok(number),
            _ => Err(invalid(show_value(text))),
        },
        _ => Ok(DEFAULT_MAX_RETRIES),
    }
}

/// `request_timeout`, or the default when null or unknown.
fn request_timeout(config: &Value) -> Result<Duration, Diagnostic> {
    let Some(text) = config.attribute(REQUEST_TIMEOUT).as_str() else {
        return Ok(DEFAULT_REQUEST_TIMEOUT);
    };
    // One attempt longer than an hour is a hung server, not a slow one.
    let timeout = durations::parse_bounded(REQUEST_TIMEOUT, text, MAX_REQUEST_TIMEOUT)?;
    Ok(timeout)
}

/// `api_version`, or auto when null or unknown.
fn api_version(config: &Value) -> Result<ApiVersion, Diagnostic> {
    let Some(text) = config.attribute(API_VERSION).as_str() else {
        return Ok(ApiVersion::Auto);
    };
    ApiVersion::parse(text).ok_or_else(|| {
        Diagnostic::error(
            "Invalid API Version",
            format!(
                "`{API_VERSION}` is {}, which is not one of \"auto\" (the default: v1.0 first, v2 when Atlas \
                 no longer serves v1.0), \"v1.0\" or \"v2\".",
                show_value(text)
            ),
        )
        .on(API_VERSION)
    })
}

/// A credential as typed. Surrounding whitespace is a copy-and-paste or `file()` accident (a
/// trailing newline), never part of a key, and Atlas would only say "unauthorized"; an empty
/// argument is a variable left at its default. An access token goes into the `Authorization`
/// header as it is, so it must have a bearer token's syntax.
fn credential_text(name: &'static str, value: &str, origin: &Origin) -> Result<(), Diagnostic> {
    let on_attribute = |diagnostic: Diagnostic| match origin {
        Origin::Argument(name) => diagnostic.on(name),
        _ => diagnostic,
    };
    if value.is_empty() {
        return Err(on_attribute(Diagnostic::error(
            "Empty Atlas Credential",
            format!(
                "{} is the empty string, which no Atlas credential is. Set it, or remove the argument \
                 (a variable left at its default of \"\", say) so that the provider falls back on its \
                 environment variables.",
                capitalized(origin)
            ),
        )));
    }
    if value.trim() != value {
        let what = if value.ends_with('\n') || value.ends_with('\r') {
            "ends with a line break"
        } else if value.trim_end() != value {
            "ends with white space"
        } else {
            "starts with white space"
        };
        let fix = match origin {
            Origin::Argument(_) => {
                "Wrap the value in trimspace(), as in trimspace(file(\"key.txt\"))."
            }
            _ => "Set the variable without it (for example with $(tr -d '\\n' < key.txt)).",
        };
        return Err(on_attribute(Diagnostic::error(
            "Credential Has Surrounding White Space",
            format!("The value from {origin} {what}, which no Atlas credential has. {fix}"),
        )));
    }
    if name == ACCESS_TOKEN
        && let Some(problem) = bearer_token_problem(value)
    {
        return Err(on_attribute(Diagnostic::error(
            "Invalid Atlas Access Token",
            format!(
                "The access token from {origin} {problem}, which a bearer token never does (RFC 6750, \
                 section 2.1: letters, digits and - . _ ~ + /, then any number of =). Atlas's access \
                 tokens are such strings. Set the token exactly as the token endpoint returned it, or use \
                 `client_id` and `client_secret` and let the provider fetch and renew it."
            ),
        )));
    }
    Ok(())
}

/// What makes `token` something other than an RFC 6750 `b64token`, if anything. The token is a
/// secret, so the answer names a kind of character, never the token or a piece of it.
fn bearer_token_problem(token: &str) -> Option<String> {
    let body = token.trim_end_matches('=');
    if body.is_empty() {
        return Some("holds only `=` signs".to_owned());
    }
    let allowed = |byte: u8| byte.is_ascii_alphanumeric() || b"-._~+/".contains(&byte);
    let (position, byte) = body.bytes().enumerate().find(|(_, byte)| !allowed(*byte))?;
    let kind = match byte {
        b'\n' | b'\r' => "a line break",
        b' ' | b'\t' => "white space",
        b'=' => "an `=` sign before its end",
        byte if byte.is_ascii_control() => "a control character",
        byte if !byte.is_ascii() => "a character outside ASCII",
        _ => "a punctuation character",
    };
    Some(format!("holds {kind} at byte {}", position + 1))
}

/// "The provider argument `x`", at the start of a sentence.
fn capitalized(origin: &Origin) -> String {
    let text = origin.to_string();
    let mut characters = text.chars();
    match characters.next() {
        Some(first) => first.to_uppercase().chain(characters).collect(),
        None => text,
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
    let credentials = [
        setting(PUBLIC_KEY, &PUBLIC_KEY_ENV),
        setting(PRIVATE_KEY, &PRIVATE_KEY_ENV),
        setting(CLIENT_ID, &CLIENT_ID_ENV),
        setting(CLIENT_SECRET, &CLIENT_SECRET_ENV),
        setting(ACCESS_TOKEN, &ACCESS_TOKEN_ENV),
    ];
    let names = [
        PUBLIC_KEY,
        PRIVATE_KEY,
        CLIENT_ID,
        CLIENT_SECRET,
        ACCESS_TOKEN,
    ];
    for (name, credential) in names.into_iter().zip(&credentials) {
        if let Setting::Set { value, origin } = credential {
            credential_text(name, value, origin)?;
        }
    }
    let [
        public_key,
        private_key,
        client_id,
        client_secret,
        access_token,
    ] = credentials;
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
        Setting::Missing if is_government(config, &environment)? => (
            Url::parse(GOVERNMENT_BASE_URL).expect("the government URL parses"),
            Origin::Argument(IS_MONGODBGOV_CLOUD),
        ),
        Setting::Missing => (
            Url::parse(DEFAULT_BASE_URL).expect("the default URL parses"),
            Origin::Default,
        ),
    };
    Ok(ProviderSettings {
        public_key,
        private_key,
        client_id,
        client_secret,
        access_token,
        base_url,
        base_url_origin,
        api_version: api_version(config)?,
        max_retries: max_retries(config)?,
        request_timeout: request_timeout(config)?,
        extra_roots: ca_bundle::load(config, &environment)?,
    })
}

/// `is_mongodbgov_cloud`, else its variable (Go's `strconv.ParseBool` spellings, as the official
/// provider reads it), else false.
fn is_government(
    config: &Value,
    environment: &impl Fn(&str) -> Option<String>,
) -> Result<bool, Diagnostic> {
    if let Value::Bool(flag) = config.attribute(IS_MONGODBGOV_CLOUD) {
        return Ok(*flag);
    }
    let variable = IS_MONGODBGOV_CLOUD_ENV[0];
    match environment(variable).as_deref().map(str::trim) {
        None | Some("") => Ok(false),
        Some("1" | "t" | "T" | "true" | "TRUE" | "True") => Ok(true),
        Some("0" | "f" | "F" | "false" | "FALSE" | "False") => Ok(false),
        Some(other) => Err(Diagnostic::error(
            "Invalid Atlas for Government Setting",
            format!(
                "The environment variable {variable} is {}, which is neither true nor false. Set it to \
                 true or false, or unset it.",
                show_value(other)
            ),
        )),
    }
}

/// Settings that work but deserve a word: digest auth over cleartext HTTP to another machine
/// exposes the response hash, from which the private key can be guessed offline.
pub fn warnings(settings: &ProviderSettings) -> Diagnostics {
    let url = &settings.base_url;
    let loopback = match url.host() {
        Some(url::Host::Ipv4(address)) => address.is_loopback(),
        Some(url::Host::Ipv6(address)) => address.is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    if url.scheme() != "http" || loopback {
        return Diagnostics::new();
    }
    let diagnostic = Diagnostic::warning(
        "Atlas Base URL Uses Cleartext HTTP",
        format!(
            "The base URL {url} (from {}) is plain http to another machine. Digest authentication never sends \
             the private key, but anyone who sees the traffic can read the endpoint data and try to guess the \
             key offline from the digest, and a service account's token would be readable. Use https.",
            settings.base_url_origin
        ),
    );
    match settings.base_url_origin {
        Origin::Argument(BASE_URL) => diagnostic.on(BASE_URL).into(),
        _ => diagnostic.into(),
    }
}

/// An absolute http(s) URL with a host and no user info.
fn parse_base_url(text: &str, origin: &Origin) -> Result<Url, Diagnostic> {
    let problem = match Url::parse(text) {
        Ok(url) if !url.username().is_empty() || url.password().is_some() => {
            // The URL is not shown: its password would be.
            return Err(Diagnostic::error(
                "Invalid Atlas Base URL",
                format!(
                    "The base URL from {origin} carries a user name or password (user:password@host). The \
                     provider would send them as cleartext Basic authentication, so it refuses the URL; it \
                     is not shown here because it holds a password. Remove the user info and authenticate \
                     with `public_key`/`private_key` or `client_id`/`client_secret`."
                ),
            )
            .on(BASE_URL));
        }
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
             such as {DEFAULT_BASE_URL} (or {GOVERNMENT_BASE_URL} for Atlas for Government).",
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
        let mut object: BTreeMap<String, Value> = schema()
            .attributes
            .iter()
            .map(|attribute| attribute.name)
            .collect::<Vec<_>>()
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
    fn base_url_with_user_info_is_refused_without_showing_the_password() {
        for bad in [
            "http://admin:hunter2@127.0.0.1:1/",
            "https://admin@cloud.mongodb.com",
        ] {
            let diagnostics = validate(&config(&[(BASE_URL, Value::String(bad.into()))]));
            assert_eq!(diagnostics.len(), 1, "{bad}");
            assert!(!diagnostics[0].detail.contains("hunter2"));
            assert!(diagnostics[0].detail.contains("user name or password"));
        }
    }

    #[test]
    fn max_retries_sent_as_strings_are_read_not_ignored() {
        for bad in ["0.1", "2.000000000000000000001", "1e400", "-1", "twenty"] {
            let diagnostics = validate(&config(&[(MAX_RETRIES, Value::String(bad.into()))]));
            assert_eq!(diagnostics.len(), 1, "{bad}");
            assert_eq!(diagnostics[0].attribute.as_deref(), Some(MAX_RETRIES));
            assert!(
                diagnostics[0].detail.contains(bad),
                "{}",
                diagnostics[0].detail
            );
        }
        let settings = resolve(
            &config(&[(MAX_RETRIES, Value::String("3".into()))]),
            environment(&[]),
        )
        .unwrap();
        assert_eq!(settings.max_retries, 3);
    }

    #[test]
    fn request_timeout_over_an_hour_is_refused() {
        let diagnostics = validate(&config(&[(REQUEST_TIMEOUT, Value::String("2h".into()))]));
        assert_eq!(diagnostics[0].summary, "Duration Too Long");
        assert!(
            diagnostics[0].detail.contains("1h"),
            "{}",
            diagnostics[0].detail
        );
    }

    #[test]
    fn api_version_is_checked_and_defaults_to_auto() {
        assert_eq!(
            resolve(&config(&[]), environment(&[])).unwrap().api_version,
            ApiVersion::Auto
        );
        let diagnostics = validate(&config(&[(API_VERSION, Value::String("v3".into()))]));
        assert_eq!(diagnostics[0].attribute.as_deref(), Some(API_VERSION));
        assert!(diagnostics[0].detail.contains("\"v2\""));
    }

    #[test]
    fn a_key_with_a_trailing_newline_says_so() {
        let diagnostics = validate(&config(&[(PUBLIC_KEY, Value::String("abcdefgh\n".into()))]));
        assert_eq!(diagnostics[0].attribute.as_deref(), Some(PUBLIC_KEY));
        assert!(diagnostics[0].detail.contains("line break"));
        assert!(diagnostics[0].detail.contains("trimspace"));
        let error = resolve(
            &config(&[]),
            environment(&[("MONGODB_ATLAS_PRIVATE_API_KEY", "secret\n")]),
        )
        .unwrap_err();
        assert!(
            error.detail.contains("MONGODB_ATLAS_PRIVATE_API_KEY"),
            "{}",
            error.detail
        );
        assert!(!error.detail.contains("secret"), "{}", error.detail);
    }

    /// Issue 21 item 6: `access_token = "abc\ndef"` passed validate and then failed with a
    /// message about Atlas's answer though no request was sent; `access_token = ""` was preferred
    /// over a complete service account and sent as `Authorization: Bearer ` with no token.
    #[test]
    fn a_malformed_or_empty_access_token_is_an_error_on_the_attribute() {
        for (token, problem) in [
            ("abc\ndef", "holds a line break at byte 4"),
            ("abc def", "holds white space at byte 4"),
            ("abc\u{7}def", "holds a control character at byte 4"),
            ("ab=c", "holds an `=` sign before its end"),
            ("====", "holds only `=` signs"),
            ("tok\u{e9}n", "holds a character outside ASCII"),
        ] {
            let diagnostics = validate(&config(&[(ACCESS_TOKEN, Value::String(token.into()))]));
            assert_eq!(diagnostics.len(), 1, "{token:?}: {diagnostics:?}");
            assert_eq!(diagnostics[0].summary, "Invalid Atlas Access Token");
            assert_eq!(diagnostics[0].attribute.as_deref(), Some(ACCESS_TOKEN));
            assert!(
                diagnostics[0].detail.contains(problem),
                "{}",
                diagnostics[0].detail
            );
            assert!(
                !diagnostics[0].detail.contains("def"),
                "the token is not shown"
            );
        }
        let diagnostics = validate(&config(&[(ACCESS_TOKEN, Value::String(String::new()))]));
        assert_eq!(diagnostics[0].summary, "Empty Atlas Credential");
        assert_eq!(diagnostics[0].attribute.as_deref(), Some(ACCESS_TOKEN));
        assert!(
            diagnostics[0]
                .detail
                .contains("The provider argument `access_token` is the empty string"),
            "{}",
            diagnostics[0].detail
        );
        // The environment variable is checked when the provider is configured.
        let error = resolve(
            &config(&[]),
            environment(&[("MONGODB_ATLAS_ACCESS_TOKEN", "abc\"def")]),
        )
        .unwrap_err();
        assert_eq!(error.summary, "Invalid Atlas Access Token");
        assert!(
            error.detail.contains("MONGODB_ATLAS_ACCESS_TOKEN"),
            "{}",
            error.detail
        );
        // Tokens as Atlas issues them (JWTs) and padded base64 pass.
        for token in ["eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln-_~", "YWJj+/=="] {
            assert!(
                validate(&config(&[(ACCESS_TOKEN, Value::String(token.into()))])).is_empty(),
                "{token}"
            );
        }
    }

    #[test]
    fn government_cloud_sets_the_default_url_only() {
        let settings = resolve(
            &config(&[(IS_MONGODBGOV_CLOUD, Value::Bool(true))]),
            environment(&[]),
        )
        .unwrap();
        assert_eq!(settings.base_url.as_str(), "https://cloud.mongodbgov.com/");
        let settings = resolve(
            &config(&[]),
            environment(&[("MONGODB_ATLAS_IS_MONGODBGOV_CLOUD", "true")]),
        )
        .unwrap();
        assert_eq!(settings.base_url.as_str(), "https://cloud.mongodbgov.com/");
        let settings = resolve(
            &config(&[
                (IS_MONGODBGOV_CLOUD, Value::Bool(true)),
                (BASE_URL, Value::String("http://127.0.0.1:9".into())),
            ]),
            environment(&[]),
        )
        .unwrap();
        assert_eq!(settings.base_url.as_str(), "http://127.0.0.1:9/");
        assert!(
            resolve(
                &config(&[]),
                environment(&[("MONGODB_ATLAS_IS_MONGODBGOV_CLOUD", "yes")]),
            )
            .is_err()
        );
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
