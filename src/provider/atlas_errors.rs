//! The one place where an Atlas error becomes a Terraform diagnostic. [`diagnostic_for`] takes
//! the kind the atlas layer gave the error and hands it to one function per kind: the network,
//! the credentials, access, a missing resource or route, throttling, and Atlas's own failures.

use std::time::Duration;

use crate::atlas::{
    API_VERSION_DATE, ApiError, AtlasError, AtlasId, Denial, ErrorKind, MAX_RETRY_AFTER,
    RouteFamily, TimeoutPhase,
};

use super::config::{MAX_RETRIES, PRIVATE_KEY_ENV, PUBLIC_KEY_ENV};
use super::credentials::{CredentialKind, CredentialSource};
use super::diagnostics::{Diagnostic, show_atlas_text, show_value, title_case, with_article};
use super::durations;

/// What a read was asking for, so that a message can name it.
pub struct ReadTarget<'a> {
    /// "interface endpoint".
    pub what: &'static str,
    /// The ids in the request, as (attribute, value), outermost first.
    pub ids: Vec<(&'static str, &'a str)>,
    /// The attribute holding each Atlas id an answer may name (a "not found", or no access to
    /// the project), for the ids that are arguments of the data source.
    pub attributes: &'static [(AtlasId, &'static str)],
}

impl<'a> ReadTarget<'a> {
    /// The attribute and value of the argument that holds `id`, if the read has one.
    fn argument(&self, id: Option<AtlasId>) -> Option<(&'static str, &'a str)> {
        let (_, attribute) = self.attributes.iter().find(|(held, _)| Some(*held) == id)?;
        self.ids.iter().find(|(name, _)| name == attribute).copied()
    }
}

/// The credentials in use, for messages (never a secret).
pub type KeyInUse<'a> = &'a CredentialSource;

/// Turns an Atlas error into what the user reads.
pub fn diagnostic_for(
    error: &AtlasError,
    target: &ReadTarget<'_>,
    key: KeyInUse<'_>,
) -> Diagnostic {
    match error {
        AtlasError::GaveUp {
            attempts,
            elapsed,
            last,
        } => {
            let mut diagnostic = diagnostic_for(last, target, key);
            diagnostic.detail.push_str(&format!(
                " The provider made {attempts} attempts over {} before giving up \
                 (provider argument `{MAX_RETRIES}`).",
                durations::show(*elapsed)
            ));
            diagnostic
        }
        AtlasError::Api(api) => answered(api, target, key),
        other => network(other, target),
    }
}

/// Failures before Atlas answered, or answers that are not Atlas's.
fn network(error: &AtlasError, target: &ReadTarget<'_>) -> Diagnostic {
    match error {
        AtlasError::Timeout { host, limit, phase } => {
            let (what, setting) = match phase {
                TimeoutPhase::Connect => ("connecting to", "the connect timeout"),
                TimeoutPhase::Answer => (
                    "waiting for the answer from",
                    "the provider argument `request_timeout`",
                ),
            };
            Diagnostic::error(
                "Atlas Request Timed Out",
                format!(
                    "Reading the {} timed out {what} {host} after {} ({setting}). Check the network \
                     and `base_url`; if Atlas is slow, raise `request_timeout`.",
                    target.what,
                    durations::show(*limit)
                ),
            )
        }
        AtlasError::Transport { host, cause } => {
            let hint = if cause.to_lowercase().contains("certificate") {
                " The server's TLS certificate was not accepted. If Atlas is reached through a \
                 TLS-inspecting proxy, trust the proxy's CA with `ca_cert_file` or SSL_CERT_FILE."
            } else {
                ""
            };
            Diagnostic::error(
                "Cannot Reach Atlas",
                format!(
                    "Reading the {} failed before Atlas answered: the request to {host} failed: \
                     {cause}.{hint} Check `base_url`, the network and any proxy settings \
                     (HTTPS_PROXY, NO_PROXY).",
                    target.what
                ),
            )
        }
        AtlasError::Redirect { status, location } => Diagnostic::error(
            "Atlas Redirected the Request",
            format!(
                "Reading the {} got HTTP {status}, a redirect to {}. Atlas's Admin API does not redirect, \
                 and the provider never follows a redirect: it would send the request and its credentials \
                 somewhere other than `base_url`. Check that `base_url` is the API's own address (for \
                 Atlas, https://cloud.mongodb.com, with https).",
                target.what,
                location
                    .as_deref()
                    .map(show_value)
                    .unwrap_or_else(|| "no Location".to_owned())
            ),
        ),
        AtlasError::Challenge { cause } => Diagnostic::error(
            "Atlas Authentication Failed",
            format!(
                "Atlas asked for HTTP Digest authentication with a challenge that could not be answered: \
                 {cause}. Check that `base_url` points at the Atlas Admin API."
            ),
        ),
        AtlasError::UnexpectedBody {
            status,
            content_type,
            excerpt,
            cause,
        } => Diagnostic::error(
            "Unexpected Response from Atlas",
            format!(
                "Atlas answered HTTP {status} with content type {content_type}, but the body is not {} \
                 ({cause}). The body begins: {}. Check that `base_url` points at the Atlas Admin API; if \
                 it does, Atlas has changed its answer and this provider needs an update: please report \
                 this issue.",
                with_article(target.what),
                show_atlas_text(excerpt)
            ),
        ),
        AtlasError::BodyTooLarge { host, limit } => Diagnostic::error(
            "Response from Atlas Too Large",
            format!(
                "{host} answered with a body over {limit} bytes; {} is a few hundred. The provider \
                 refused it without reading it. Check that `base_url` points at the Atlas Admin API.",
                with_article(target.what)
            ),
        ),
        AtlasError::UnusableToken { host, cause } => Diagnostic::error(
            "Unusable Service Account Token",
            format!(
                "Reading the {} needs a service-account token, and the token endpoint at {host} \
                 answered, but not with a token the provider can use: {cause}. The answer is not \
                 shown, as it may hold a token. Check that `base_url` points at the Atlas Admin API; \
                 if it does, Atlas has changed its token answer and this provider needs an update: \
                 please report this issue.",
                target.what
            ),
        ),
        // Every id is checked for its shape before a read; reaching this is our bug.
        AtlasError::UnusableId { id } => Diagnostic::error(
            "Provider Bug",
            format!(
                "The provider refused to request {} with the id {} in its URL: an id must not be empty, \
                 `.` or `..`, nor hold control characters. The id should have been checked before; please \
                 report this issue.",
                with_article(target.what),
                show_value(id)
            ),
        ),
        AtlasError::OnlyOnV2 { what } => only_on_v2(what).on(CLOUD_PROVIDER),
        // diagnostic_for sends these elsewhere; a plain message keeps this total.
        AtlasError::Api(_) | AtlasError::GaveUp { .. } => Diagnostic::error(
            "Unexpected Answer from Atlas",
            format!("Reading the {} failed: {error}.", target.what),
        ),
    }
}

/// The attribute that picks the cloud, in every data source that has one.
pub const CLOUD_PROVIDER: &str = "cloud_provider";

/// `api_version = "v1.0"` with a cloud the v1.0 routes never served: the same words at
/// validate (when the provider block says "v1.0") and before a read.
pub fn only_on_v2(what: &str) -> Diagnostic {
    Diagnostic::error(
        "Cloud Provider Needs the v2 Routes",
        format!(
            "Atlas serves {what} only on the versioned v2 routes; the v1.0 routes served AWS alone. The \
             provider block sets `api_version = \"v1.0\"`: set it to \"v2\" (or leave it out: \"auto\" reads \
             Azure and Google Cloud on v2), or use `{CLOUD_PROVIDER} = \"AWS\"`. No request was sent."
        ),
    )
}

/// An answer from Atlas other than 2xx, by what it means.
fn answered(api: &ApiError, target: &ReadTarget<'_>, key: KeyInUse<'_>) -> Diagnostic {
    match api.kind() {
        ErrorKind::AccessDenied(Denial::Project) => no_project_access(api, target, key),
        ErrorKind::CredentialsRejected => credentials_rejected(api, target, key),
        ErrorKind::AccessDenied(denial) => forbidden(api, &denial, target),
        ErrorKind::RouteGone => legacy_route_gone(api),
        ErrorKind::VersionGone => version_gone(api),
        ErrorKind::NotFound { id } => not_found(api, id, target),
        ErrorKind::Rejected => Diagnostic::error(
            "Atlas Rejected the Request",
            format!(
                "{} The request was for {}. Check each id.",
                atlas_said(api),
                describe_ids(&target.ids)
            ),
        ),
        ErrorKind::Throttled { wait } => rate_limited(api, wait),
        ErrorKind::ServerError => Diagnostic::error(
            "Atlas Service Error",
            format!(
                "{} Atlas failed to read the {}. Try again later; if it persists, check status.mongodb.com.",
                atlas_said(api),
                target.what
            ),
        ),
        ErrorKind::Unexpected => Diagnostic::error(
            "Unexpected Answer from Atlas",
            format!(
                "{} The request was for {}.",
                atlas_said(api),
                describe_ids(&target.ids)
            ),
        ),
    }
}

/// `Atlas answered HTTP 404 CODE. Atlas said: "…"`
fn atlas_said(api: &ApiError) -> String {
    let said = match &api.detail {
        Some(detail) => format!(" Atlas said: {}", show_atlas_text(detail)),
        None => String::new(),
    };
    format!("Atlas answered {}.{said}", api.status_and_code())
}

/// A 401: which credentials, where they came from, and what to check.
fn credentials_rejected(api: &ApiError, target: &ReadTarget<'_>, key: KeyInUse<'_>) -> Diagnostic {
    let answered = atlas_said(api);
    if api.route == RouteFamily::Token {
        return Diagnostic::error(
            "Service Account Credentials Rejected",
            format!(
                "{answered} Atlas's token endpoint refused the service account with client id {} (from {}): \
                 the client secret does not belong to it, or the secret has expired or been revoked. Set \
                 `client_id` and `client_secret` (or MONGODB_ATLAS_CLIENT_ID and MONGODB_ATLAS_CLIENT_SECRET) \
                 to a current secret of the service account (Atlas: Access Manager > Service Accounts).",
                show_value(&key.identity),
                key.origin
            ),
        );
    }
    match key.kind {
        CredentialKind::AccessToken => Diagnostic::error(
            "Atlas Access Token Rejected",
            format!(
                "{answered} The access token (from {}) was not accepted for {}. Atlas's service account \
                 tokens expire after one hour, so it has most likely expired, or it was revoked. Get a new \
                 token, or set `client_id` and `client_secret` instead so that the provider fetches and \
                 renews tokens itself.",
                key.origin,
                describe_ids(&target.ids)
            ),
        ),
        CredentialKind::ServiceAccount => Diagnostic::error(
            "Atlas Rejected the Service Account",
            format!(
                "{answered} The service account with client id {} (from {}) got a token, but even a fresh \
                 token was not accepted for {}. Give the service account a role on the project (Project \
                 Read Only for the v2 routes).",
                show_value(&key.identity),
                key.origin,
                describe_ids(&target.ids)
            ),
        ),
        CredentialKind::ApiKey => Diagnostic::error(
            "Atlas Rejected the API Key",
            format!(
                "{answered} The API key with public key {} (from {}) was not accepted for {}. Either the \
                 private key does not belong to this public key, or the key has no access to the project. \
                 Give the key a role on the project ({}), or set `public_key` and `private_key` (or {} and \
                 {}) to a key that has one.",
                show_value(&key.identity),
                key.origin,
                describe_ids(&target.ids),
                role_needed(api.route),
                PUBLIC_KEY_ENV[0],
                PRIVATE_KEY_ENV[0],
            ),
        ),
    }
}

/// The role the read needs on the route that answered: Atlas's v1.0 reference lists
/// Organization Owner or Project Owner for these GETs; the v2 reference, Project Read Only.
fn role_needed(route: RouteFamily) -> &'static str {
    match route {
        RouteFamily::Legacy => {
            "the v1.0 route needs Project Owner or Organization Owner; with api_version = \"v2\", Project \
             Read Only is enough"
        }
        _ => "Project Read Only is enough",
    }
}

fn describe_credentials(key: KeyInUse<'_>) -> String {
    match key.kind {
        CredentialKind::ApiKey => format!(
            "The API key with public key {} (from {})",
            show_value(&key.identity),
            key.origin
        ),
        CredentialKind::ServiceAccount => format!(
            "The service account with client id {} (from {})",
            show_value(&key.identity),
            key.origin
        ),
        CredentialKind::AccessToken => format!("The access token (from {})", key.origin),
    }
}

/// `NOT_IN_GROUP` / `USER_CANNOT_ACCESS_GROUP`: the credentials cannot see the project, or it
/// does not exist.
fn no_project_access(api: &ApiError, target: &ReadTarget<'_>, key: KeyInUse<'_>) -> Diagnostic {
    let project = target.argument(Some(AtlasId::Project));
    let which = match project {
        Some((attribute, value)) => format!("the project `{attribute}` = {}", show_value(value)),
        None => "the project".to_owned(),
    };
    let diagnostic = Diagnostic::error(
        "No Access to the Atlas Project",
        format!(
            "{} {} has no access to {which}, or no such project exists. Check the project id, and give \
             the credentials a role on that project ({}).",
            atlas_said(api),
            describe_credentials(key),
            role_needed(api.route)
        ),
    );
    match project {
        Some((attribute, _)) => diagnostic.on(attribute),
        None => diagnostic,
    }
}

/// A refusal of recognised credentials: the access list, or a role.
fn forbidden(api: &ApiError, denial: &Denial<'_>, target: &ReadTarget<'_>) -> Diagnostic {
    let advice = match denial {
        Denial::AccessList { address } => {
            let address = match address {
                Some(address) => format!("the address Atlas saw, {},", show_value(address)),
                None => "the public IP address of the machine running Terraform".to_owned(),
            };
            format!(
                "Add {address} to the access list of the API key or service account (Atlas: Access \
                 Manager > API Keys or Service Accounts > Edit Permissions); the organization requires \
                 one for API access."
            )
        }
        _ => {
            "Check the roles and access list of the API key or service account in Atlas.".to_owned()
        }
    };
    Diagnostic::error(
        "Atlas Refused the Request",
        format!(
            "{} The request was for {}. {advice}",
            atlas_said(api),
            describe_ids(&target.ids)
        ),
    )
}

/// `404 RESOURCE_NOT_FOUND` on a v1.0 route: the route, not an id, is missing.
fn legacy_route_gone(api: &ApiError) -> Diagnostic {
    Diagnostic::error(
        "Atlas No Longer Serves the v1.0 Route",
        format!(
            "{} Atlas does not serve the v1.0 route this read uses (MongoDB deprecated the v1.0 private \
             endpoint routes in 2021); this is not about your ids. Set `api_version = \"v2\"` (or \
             \"auto\", the default, which moves to v2 by itself) in the provider block.",
            atlas_said(api)
        ),
    )
}

/// `410`: a retired API version date.
fn version_gone(api: &ApiError) -> Diagnostic {
    Diagnostic::error(
        "Atlas API Version Retired",
        format!(
            "{} Atlas no longer serves version {API_VERSION_DATE} of this resource, the version this \
             provider (terraform-provider-atlas {}) was built for. Upgrade the provider to a release that \
             reads a current version.",
            atlas_said(api),
            crate::VERSION
        ),
    )
}

/// A "not found" that names an id (pointed at its attribute) or not.
fn not_found(api: &ApiError, id: Option<AtlasId>, target: &ReadTarget<'_>) -> Diagnostic {
    let answered = atlas_said(api);
    let pointed = target.argument(id);
    let diagnostic = Diagnostic::error(
        format!("{} Not Found", title_case(target.what)),
        match pointed {
            Some((attribute, value)) => format!(
                "{answered} Nothing in Atlas matches `{attribute}` = {} (the request was for {}). \
                 Check the id, and that the credentials' project is the one that holds it.",
                show_value(value),
                describe_ids(&target.ids)
            ),
            None => format!(
                "{answered} Atlas has no {} for {}. Check each id, and that the credentials' project \
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

/// Throttling: what the limit is, how long Atlas asked to wait, and what to do.
fn rate_limited(api: &ApiError, wait: Option<Duration>) -> Diagnostic {
    let answered = atlas_said(api);
    let asked = match wait {
        Some(wait) if wait > MAX_RETRY_AFTER => format!(
            " Atlas asked to wait {}, longer than the {} the provider waits for, so the read stopped.",
            durations::show(wait),
            durations::show(MAX_RETRY_AFTER)
        ),
        _ => String::new(),
    };
    if api.route == RouteFamily::Token {
        return Diagnostic::error(
            "Service Account Token Limit Reached",
            format!(
                "{answered}{asked} Atlas limits how often one service account may get a token from one IP \
                 address, and this service account hit that limit (other pipelines or provider processes \
                 using it count too). Each provider process gets one token and reuses it, so give each \
                 pipeline its own service account, or wait a minute and try again."
            ),
        );
    }
    Diagnostic::error(
        "Atlas Rate Limit Reached",
        format!(
            "{answered}{asked} Too many requests were made with these credentials for this family of \
             endpoints. Run fewer reads at once (terraform -parallelism) or try again later."
        ),
    )
}

fn describe_ids(ids: &[(&str, &str)]) -> String {
    ids.iter()
        .map(|(name, value)| format!("{name} = {}", show_value(value)))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::config::{CLIENT_ID, Origin};

    const ATLAS_IDS: &[(AtlasId, &str)] = &[
        (AtlasId::Project, "project_id"),
        (AtlasId::EndpointService, "private_link_id"),
    ];

    fn target() -> ReadTarget<'static> {
        ReadTarget {
            what: "interface endpoint",
            ids: vec![
                ("project_id", "5f1a2b3c4d5e6f7a8b9c0d1e"),
                ("private_link_id", "6a1a2b3c4d5e6f7a8b9c0d1e"),
            ],
            attributes: ATLAS_IDS,
        }
    }

    fn api_on(status: u16, code: Option<&str>, detail: &str, route: RouteFamily) -> AtlasError {
        let mut api = ApiError::new(status, code, route);
        api.detail = Some(detail.to_owned());
        AtlasError::Api(api)
    }

    fn api(status: u16, code: Option<&str>, detail: &str) -> AtlasError {
        api_on(status, code, detail, RouteFamily::Versioned)
    }

    fn key() -> CredentialSource {
        CredentialSource {
            kind: CredentialKind::ApiKey,
            identity: "abcdefgh".to_owned(),
            origin: Origin::Environment("MONGODB_ATLAS_PUBLIC_API_KEY"),
        }
    }

    fn service_account() -> CredentialSource {
        CredentialSource {
            kind: CredentialKind::ServiceAccount,
            identity: "mdb_sa_id_5f".to_owned(),
            origin: Origin::Environment("MONGODB_ATLAS_CLIENT_ID"),
        }
    }

    #[test]
    fn unauthorized_names_the_key_and_where_it_came_from() {
        let diagnostic = diagnostic_for(
            &api(401, None, "You are not authorized for this resource."),
            &target(),
            &key(),
        );
        assert_eq!(diagnostic.summary, "Atlas Rejected the API Key");
        assert!(diagnostic.detail.contains("HTTP 401"));
        assert!(diagnostic.detail.contains("\"abcdefgh\""));
        assert!(diagnostic.detail.contains("MONGODB_ATLAS_PUBLIC_API_KEY"));
        assert!(diagnostic.detail.contains("You are not authorized"));
    }

    #[test]
    fn unauthorized_on_v1_names_the_owner_roles_not_read_only() {
        let diagnostic = diagnostic_for(
            &api_on(401, None, "You are not authorized.", RouteFamily::Legacy),
            &target(),
            &key(),
        );
        assert!(
            diagnostic.detail.contains("Project Owner"),
            "{}",
            diagnostic.detail
        );
    }

    #[test]
    fn token_endpoint_401_names_the_client_id_not_the_secret() {
        let diagnostic = diagnostic_for(
            &api_on(401, None, "Invalid client.", RouteFamily::Token),
            &target(),
            &service_account(),
        );
        assert_eq!(diagnostic.summary, "Service Account Credentials Rejected");
        assert!(diagnostic.detail.contains(&format!("`{CLIENT_ID}`")));
        assert!(diagnostic.detail.contains("mdb_sa_id_5f"));
        assert!(diagnostic.detail.contains("MONGODB_ATLAS_CLIENT_ID"));
    }

    #[test]
    fn an_expired_access_token_says_so() {
        let token = CredentialSource {
            kind: CredentialKind::AccessToken,
            identity: String::new(),
            origin: Origin::Argument("access_token"),
        };
        let diagnostic = diagnostic_for(&api(401, None, "Unauthorized."), &target(), &token);
        assert_eq!(diagnostic.summary, "Atlas Access Token Rejected");
        assert!(
            diagnostic.detail.contains("expired"),
            "{}",
            diagnostic.detail
        );
    }

    #[test]
    fn no_access_to_the_group_points_at_project_id() {
        for code in ["NOT_IN_GROUP", "USER_CANNOT_ACCESS_GROUP"] {
            let diagnostic = diagnostic_for(
                &api(401, Some(code), "Current user is not in the group."),
                &target(),
                &key(),
            );
            assert_eq!(
                diagnostic.summary, "No Access to the Atlas Project",
                "{code}"
            );
            assert_eq!(diagnostic.attribute.as_deref(), Some("project_id"));
            assert!(diagnostic.detail.contains("5f1a2b3c4d5e6f7a8b9c0d1e"));
        }
    }

    #[test]
    fn org_access_list_names_the_address_atlas_saw() {
        let mut error = ApiError::new(
            403,
            Some("ORG_REQUIRES_ACCESS_LIST"),
            RouteFamily::Versioned,
        );
        error.parameters = vec!["203.0.113.9".into()];
        let diagnostic = diagnostic_for(&AtlasError::Api(error), &target(), &key());
        assert!(
            diagnostic.detail.contains("203.0.113.9"),
            "{}",
            diagnostic.detail
        );
        assert!(diagnostic.detail.contains("access list"));
    }

    #[test]
    fn not_found_points_at_the_id_atlas_named() {
        let diagnostic = diagnostic_for(
            &api(404, Some("PRIVATELINK_NOT_FOUND"), "No such link."),
            &target(),
            &key(),
        );
        assert_eq!(diagnostic.summary, "Interface Endpoint Not Found");
        assert_eq!(diagnostic.attribute.as_deref(), Some("private_link_id"));
        assert!(diagnostic.detail.contains("HTTP 404 PRIVATELINK_NOT_FOUND"));
        assert!(diagnostic.detail.contains("6a1a2b3c4d5e6f7a8b9c0d1e"));
    }

    #[test]
    fn a_gone_v1_route_says_to_use_v2_not_to_check_ids() {
        let diagnostic = diagnostic_for(
            &api_on(
                404,
                Some("RESOURCE_NOT_FOUND"),
                "Cannot find resource /api/atlas/v1.0/groups/x.",
                RouteFamily::Legacy,
            ),
            &target(),
            &key(),
        );
        assert_eq!(diagnostic.summary, "Atlas No Longer Serves the v1.0 Route");
        assert!(diagnostic.detail.contains("api_version = \"v2\""));
        assert!(!diagnostic.detail.contains("Check each id"));
    }

    #[test]
    fn version_gone_names_the_date_and_says_upgrade() {
        let diagnostic = diagnostic_for(
            &api(
                410,
                Some("VERSION_GONE"),
                "Version 2023-01-01 is no longer available.",
            ),
            &target(),
            &key(),
        );
        assert!(diagnostic.detail.contains("2023-01-01"));
        assert!(diagnostic.detail.contains("Upgrade the provider"));
    }

    #[test]
    fn a_rate_limit_wait_too_long_is_named() {
        let error = ApiError::from_body(
            429,
            br#"{"errorCode":"RATE_LIMITED_TOKEN_BUCKET","detail":"Please retry after 500 seconds"}"#,
            None,
            RouteFamily::Versioned,
        );
        let diagnostic = diagnostic_for(&AtlasError::Api(error), &target(), &key());
        assert_eq!(diagnostic.summary, "Atlas Rate Limit Reached");
        assert!(
            diagnostic.detail.contains("8m 20s"),
            "{}",
            diagnostic.detail
        );
    }

    #[test]
    fn token_endpoint_rate_limit_says_what_to_do() {
        let error = ApiError::from_body(
            429,
            br#"{"errorCode":"RATE_LIMITED","detail":"Resource /api/oauth/token is limited to 50 requests every 1 minutes","parameters":["/api/oauth/token",50,1]}"#,
            None,
            RouteFamily::Token,
        );
        let diagnostic = diagnostic_for(&AtlasError::Api(error), &target(), &service_account());
        assert_eq!(diagnostic.summary, "Service Account Token Limit Reached");
        assert!(diagnostic.detail.contains("its own service account"));
    }

    #[test]
    fn redirects_name_the_status_and_location() {
        let error = AtlasError::Redirect {
            status: 302,
            location: Some("http://127.0.0.1:9/elsewhere".into()),
        };
        let diagnostic = diagnostic_for(&error, &target(), &key());
        assert!(diagnostic.detail.contains("HTTP 302"));
        assert!(diagnostic.detail.contains("127.0.0.1:9/elsewhere"));
    }

    #[test]
    fn transport_failure_names_host_and_cause() {
        let error = AtlasError::Transport {
            host: "127.0.0.1:9".into(),
            cause: "Connection refused (os error 111)".into(),
        };
        let diagnostic = diagnostic_for(&error, &target(), &key());
        assert_eq!(diagnostic.summary, "Cannot Reach Atlas");
        assert!(
            diagnostic.detail.contains("127.0.0.1:9")
                && diagnostic.detail.contains("Connection refused")
        );
    }

    #[test]
    fn gave_up_says_how_many_attempts_and_the_last_error() {
        let error = AtlasError::GaveUp {
            attempts: 5,
            elapsed: std::time::Duration::from_millis(7300),
            last: Box::new(api(
                503,
                Some("SERVICE_UNAVAILABLE"),
                "Service unavailable.",
            )),
        };
        let diagnostic = diagnostic_for(&error, &target(), &key());
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
        let error = AtlasError::Timeout {
            host: "127.0.0.1:9".into(),
            limit: std::time::Duration::from_secs(2),
            phase: TimeoutPhase::Answer,
        };
        let diagnostic = diagnostic_for(&error, &target(), &key());
        assert_eq!(diagnostic.summary, "Atlas Request Timed Out");
        for needed in ["timed out", "127.0.0.1:9", "2s", "request_timeout"] {
            assert!(
                diagnostic.detail.contains(needed),
                "{needed}: {}",
                diagnostic.detail
            );
        }
    }
}
