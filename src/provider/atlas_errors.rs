//! The one place where an Atlas error becomes a Terraform diagnostic.

use crate::atlas::{AtlasError, TimeoutPhase};

use super::config::{Origin, PRIVATE_KEY_ENV, PUBLIC_KEY_ENV};
use super::diagnostics::{Diagnostic, show_atlas_text, show_value, title_case};
use super::durations;

/// What a read was asking for, so that a message can name it.
pub struct ReadTarget<'a> {
    /// "interface endpoint".
    pub what: &'static str,
    /// The ids in the request, as (attribute, value), outermost first.
    pub ids: Vec<(&'static str, &'a str)>,
    /// Atlas's 404 `errorCode`s that point at one id, and that id's attribute.
    pub not_found_codes: &'static [(&'static str, &'static str)],
}

/// The API key in use, for messages (never the private key).
pub struct KeyInUse<'a> {
    pub public_key: &'a str,
    pub origin: &'a Origin,
}

/// Turns an Atlas error into what the user reads.
pub fn diagnostic_for(
    error: &AtlasError,
    target: &ReadTarget<'_>,
    key: &KeyInUse<'_>,
) -> Diagnostic {
    let api = match error {
        AtlasError::GaveUp {
            attempts,
            elapsed,
            last,
        } => {
            let mut diagnostic = diagnostic_for(last, target, key);
            diagnostic.detail.push_str(&format!(
                " The provider made {attempts} attempts over {} before giving up \
                 (provider argument `max_retries`).",
                durations::show(*elapsed)
            ));
            return diagnostic;
        }
        AtlasError::Timeout { host, limit, phase } => {
            let (what, setting) = match phase {
                TimeoutPhase::Connect => ("connecting to", "the connect timeout"),
                TimeoutPhase::Answer => (
                    "waiting for the answer from",
                    "the provider argument `request_timeout`",
                ),
            };
            return Diagnostic::error(
                "Atlas Request Timed Out",
                format!(
                    "Reading the {} timed out {what} {host} after {} ({setting}). Check the network \
                     and `base_url`; if Atlas is slow, raise `request_timeout`.",
                    target.what,
                    durations::show(*limit)
                ),
            );
        }
        AtlasError::Api(api) => api,
        AtlasError::Transport { host, cause } => {
            let hint = if cause.to_lowercase().contains("certificate") {
                " The server's TLS certificate was not accepted. If Atlas is reached through a \
                 TLS-inspecting proxy, trust the proxy's CA with `ca_cert_file` or SSL_CERT_FILE."
            } else {
                ""
            };
            return Diagnostic::error(
                "Cannot Reach Atlas",
                format!(
                    "Reading the {} failed before Atlas answered: the request to {host} failed: \
                     {cause}.{hint} Check `base_url`, the network and any proxy settings \
                     (HTTPS_PROXY, NO_PROXY).",
                    target.what
                ),
            );
        }
        AtlasError::Challenge { cause } => {
            return Diagnostic::error(
                "Atlas Authentication Failed",
                format!(
                    "Atlas asked for HTTP Digest authentication with a challenge that could not be answered: \
                     {cause}. Check that `base_url` points at the Atlas Admin API."
                ),
            );
        }
        AtlasError::UnexpectedBody {
            status,
            content_type,
            excerpt,
            cause,
        } => {
            return Diagnostic::error(
                "Unexpected Response from Atlas",
                format!(
                    "Atlas answered HTTP {status} with content type {content_type}, but the body is not {} \
                     ({cause}). The body begins: {}. Check that `base_url` points at the Atlas Admin API; if \
                     it does, Atlas has changed its answer and this provider needs an update: please report \
                     this issue.",
                    article(target.what),
                    show_atlas_text(excerpt)
                ),
            );
        }
        AtlasError::BodyTooLarge { host, limit } => {
            return Diagnostic::error(
                "Response from Atlas Too Large",
                format!(
                    "{host} answered with a body over {limit} bytes; an {} is a few hundred. The provider \
                     refused it without reading it. Check that `base_url` points at the Atlas Admin API.",
                    target.what
                ),
            );
        }
    };

    let said = match &api.detail {
        Some(detail) => format!(" Atlas said: {}", show_atlas_text(detail)),
        None => String::new(),
    };
    let answered = format!("Atlas answered {}.{said}", api.status_and_code());
    let code = api.error_code.as_deref().unwrap_or("");
    match api.status {
        401 => Diagnostic::error(
            "Atlas Rejected the API Key",
            format!(
                "{answered} The API key with public key {} (from {}) was not accepted for {}. Either the \
                 private key does not belong to this public key, or the key has no access to the project. \
                 Give the key a role on the project (Project Read Only is enough), or set `public_key` and \
                 `private_key` (or {} and {}) to a key that has one.",
                show_value(key.public_key),
                key.origin,
                describe_ids(&target.ids),
                PUBLIC_KEY_ENV[0],
                PRIVATE_KEY_ENV[0],
            ),
        ),
        403 => {
            let advice = if code == "IP_ADDRESS_NOT_ON_ACCESS_LIST" {
                "Add the public IP address of the machine running Terraform to the API key's access list \
                 (Atlas: Access Manager > API Keys > Edit Permissions)."
            } else {
                "Check the API key's roles and access list in Atlas."
            };
            Diagnostic::error(
                "Atlas Refused the Request",
                format!(
                    "{answered} The request was for {}. {advice}",
                    describe_ids(&target.ids)
                ),
            )
        }
        404 => {
            let pointed = target
                .not_found_codes
                .iter()
                .find(|(known, _)| *known == code)
                .and_then(|(_, attribute)| target.ids.iter().find(|(name, _)| name == attribute));
            let diagnostic = Diagnostic::error(
                format!("{} Not Found", title_case(target.what)),
                match pointed {
                    Some((attribute, value)) => format!(
                        "{answered} Nothing in Atlas matches `{attribute}` = {} (the request was for {}). \
                         Check the id, and that the API key's project is the one that holds it.",
                        show_value(value),
                        describe_ids(&target.ids)
                    ),
                    None => format!(
                        "{answered} Atlas has no {} for {}. Check each id, and that the API key's project \
                         is the one that holds them.",
                        target.what,
                        describe_ids(&target.ids)
                    ),
                },
            );
            match pointed {
                Some((attribute, _)) => diagnostic.on(attribute),
                None => diagnostic,
            }
        }
        400 => Diagnostic::error(
            "Atlas Rejected the Request",
            format!(
                "{answered} The request was for {}. Check each id.",
                describe_ids(&target.ids)
            ),
        ),
        429 => Diagnostic::error(
            "Atlas Rate Limit Reached",
            format!(
                "{answered} Too many requests were made with this API key for this family of endpoints. Run \
                 fewer reads at once (terraform -parallelism) or try again later."
            ),
        ),
        status if status >= 500 => Diagnostic::error(
            "Atlas Service Error",
            format!(
                "{answered} Atlas failed to read the {}. Try again later; if it persists, check status.mongodb.com.",
                target.what
            ),
        ),
        _ => Diagnostic::error(
            "Unexpected Answer from Atlas",
            format!(
                "{answered} The request was for {}.",
                describe_ids(&target.ids)
            ),
        ),
    }
}

fn describe_ids(ids: &[(&str, &str)]) -> String {
    ids.iter()
        .map(|(name, value)| format!("{name} = {}", show_value(value)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn article(what: &str) -> String {
    let vowel = what.starts_with(['a', 'e', 'i', 'o', 'u']);
    format!("{} {what}", if vowel { "an" } else { "a" })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::atlas::ApiError;

    const CODES: &[(&str, &str)] = &[("PRIVATELINK_NOT_FOUND", "private_link_id")];

    fn target() -> ReadTarget<'static> {
        ReadTarget {
            what: "interface endpoint",
            ids: vec![
                ("project_id", "5f1a2b3c4d5e6f7a8b9c0d1e"),
                ("private_link_id", "6a1a2b3c4d5e6f7a8b9c0d1e"),
            ],
            not_found_codes: CODES,
        }
    }

    fn api(status: u16, code: Option<&str>, detail: &str) -> AtlasError {
        AtlasError::Api(ApiError {
            status,
            error_code: code.map(str::to_owned),
            detail: Some(detail.to_owned()),
            reason: None,
            retry_after: None,
        })
    }

    fn key() -> (String, Origin) {
        (
            "abcdefgh".to_owned(),
            Origin::Environment("MONGODB_ATLAS_PUBLIC_API_KEY"),
        )
    }

    #[test]
    fn unauthorized_names_the_key_and_where_it_came_from() {
        let (public_key, origin) = key();
        let diagnostic = diagnostic_for(
            &api(401, None, "You are not authorized for this resource."),
            &target(),
            &KeyInUse {
                public_key: &public_key,
                origin: &origin,
            },
        );
        assert_eq!(diagnostic.summary, "Atlas Rejected the API Key");
        assert!(diagnostic.detail.contains("HTTP 401"));
        assert!(diagnostic.detail.contains("\"abcdefgh\""));
        assert!(diagnostic.detail.contains("MONGODB_ATLAS_PUBLIC_API_KEY"));
        assert!(diagnostic.detail.contains("You are not authorized"));
    }

    #[test]
    fn not_found_points_at_the_id_atlas_named() {
        let (public_key, origin) = key();
        let diagnostic = diagnostic_for(
            &api(404, Some("PRIVATELINK_NOT_FOUND"), "No such link."),
            &target(),
            &KeyInUse {
                public_key: &public_key,
                origin: &origin,
            },
        );
        assert_eq!(diagnostic.summary, "Interface Endpoint Not Found");
        assert_eq!(diagnostic.attribute.as_deref(), Some("private_link_id"));
        assert!(diagnostic.detail.contains("HTTP 404 PRIVATELINK_NOT_FOUND"));
        assert!(diagnostic.detail.contains("6a1a2b3c4d5e6f7a8b9c0d1e"));
    }

    #[test]
    fn forbidden_by_access_list_quotes_atlas_and_says_what_to_do() {
        let (public_key, origin) = key();
        let diagnostic = diagnostic_for(
            &api(
                403,
                Some("IP_ADDRESS_NOT_ON_ACCESS_LIST"),
                "IP address 203.0.113.9 is not allowed.",
            ),
            &target(),
            &KeyInUse {
                public_key: &public_key,
                origin: &origin,
            },
        );
        assert!(diagnostic.detail.contains("203.0.113.9"));
        assert!(diagnostic.detail.contains("access list"));
    }

    #[test]
    fn transport_failure_names_host_and_cause() {
        let (public_key, origin) = key();
        let error = AtlasError::Transport {
            host: "127.0.0.1:9".into(),
            cause: "Connection refused (os error 111)".into(),
        };
        let diagnostic = diagnostic_for(
            &error,
            &target(),
            &KeyInUse {
                public_key: &public_key,
                origin: &origin,
            },
        );
        assert_eq!(diagnostic.summary, "Cannot Reach Atlas");
        assert!(
            diagnostic.detail.contains("127.0.0.1:9")
                && diagnostic.detail.contains("Connection refused")
        );
    }

    #[test]
    fn gave_up_says_how_many_attempts_and_the_last_error() {
        let (public_key, origin) = key();
        let error = AtlasError::GaveUp {
            attempts: 5,
            elapsed: std::time::Duration::from_millis(7300),
            last: Box::new(api(
                503,
                Some("SERVICE_UNAVAILABLE"),
                "Service unavailable.",
            )),
        };
        let diagnostic = diagnostic_for(
            &error,
            &target(),
            &KeyInUse {
                public_key: &public_key,
                origin: &origin,
            },
        );
        assert_eq!(diagnostic.summary, "Atlas Service Error");
        assert!(diagnostic.detail.contains("HTTP 503 SERVICE_UNAVAILABLE"));
        assert!(
            diagnostic.detail.contains("5 attempts over 7s 300ms"),
            "{}",
            diagnostic.detail
        );
    }

    #[test]
    fn timeout_names_host_and_limit() {
        let (public_key, origin) = key();
        let error = AtlasError::Timeout {
            host: "127.0.0.1:9".into(),
            limit: std::time::Duration::from_secs(2),
            phase: TimeoutPhase::Answer,
        };
        let diagnostic = diagnostic_for(
            &error,
            &target(),
            &KeyInUse {
                public_key: &public_key,
                origin: &origin,
            },
        );
        assert_eq!(diagnostic.summary, "Atlas Request Timed Out");
        for needed in ["timed out", "127.0.0.1:9", "2s", "request_timeout"] {
            assert!(
                diagnostic.detail.contains(needed),
                "{needed}: {}",
                diagnostic.detail
            );
        }
    }

    #[test]
    fn server_error_carries_status_and_code() {
        let (public_key, origin) = key();
        let diagnostic = diagnostic_for(
            &api(500, Some("UNEXPECTED_ERROR"), "Unexpected error."),
            &target(),
            &KeyInUse {
                public_key: &public_key,
                origin: &origin,
            },
        );
        assert_eq!(diagnostic.summary, "Atlas Service Error");
        assert!(diagnostic.detail.contains("HTTP 500 UNEXPECTED_ERROR"));
    }
}
