//! What an answer from Atlas other than 2xx means, by kind, and the tables of Atlas's error
//! codes that decide it. The provider layer chooses its message by kind and never looks at a
//! status or a code itself.
//!
//! The codes are Atlas's (its Admin API error-code reference, https://www.mongodb.com/docs/atlas/reference/api-errors/,
//! and the 404 codes MongoDB's own SDK and provider match on for these resources).

use std::time::Duration;

use super::error::ApiError;
use super::routes::RouteFamily;

/// Which of a request's ids an answer names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AtlasId {
    /// The project (Atlas's "group").
    Project,
    /// The endpoint service: the Atlas side of a private link.
    EndpointService,
    /// One endpoint of an endpoint service.
    Endpoint,
}

/// What an answer from Atlas other than 2xx means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ErrorKind<'a> {
    /// A 404: nothing at this address. `id` is the id Atlas's code names, when it names one
    /// (a generic `RESOURCE_NOT_FOUND` on v2, or a code we do not know, names none).
    NotFound { id: Option<AtlasId> },
    /// A 401: the credentials were not accepted (on [`RouteFamily::Token`], the service
    /// account's id and secret).
    CredentialsRejected,
    /// The credentials were recognised but may not do this.
    AccessDenied(Denial<'a>),
    /// A 429, with the wait Atlas asked for when it said one.
    Throttled { wait: Option<Duration> },
    /// A v1.0 route Atlas no longer serves (`404 RESOURCE_NOT_FOUND` on v1.0): not about an id.
    RouteGone,
    /// A 410: a version date Atlas has retired.
    VersionGone,
    /// A 400: Atlas refused the request as malformed.
    Rejected,
    /// A 5xx: Atlas failed.
    ServerError,
    /// Any other status.
    Unexpected,
}

/// Why Atlas refused credentials it recognised.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Denial<'a> {
    /// The credentials have no access to the project, or it does not exist (`NOT_IN_GROUP`,
    /// `USER_CANNOT_ACCESS_GROUP`; Atlas answers them with 401 or 403).
    Project,
    /// The caller's address is not on the access list the key or organisation requires;
    /// `address` is the one Atlas saw, when it said it.
    AccessList { address: Option<&'a str> },
    /// Any other 403, such as a role the credentials lack; `code` is Atlas's, if any.
    Other { code: Option<&'a str> },
}

/// Codes that mean the credentials cannot see the project, whatever the status.
const NO_PROJECT_ACCESS: &[&str] = &["NOT_IN_GROUP", "USER_CANNOT_ACCESS_GROUP"];

/// 403 codes about the access list. Only `ORG_REQUIRES_ACCESS_LIST` carries the address Atlas
/// saw, as its first parameter.
const NOT_ON_ACCESS_LIST: &[&str] = &["IP_ADDRESS_NOT_ON_ACCESS_LIST", "ORG_REQUIRES_ACCESS_LIST"];
const ACCESS_LIST_WITH_ADDRESS: &str = "ORG_REQUIRES_ACCESS_LIST";

/// The 404 code of a route Atlas does not serve; on v2 the same code may also answer a missing
/// endpoint (the specification's 404 example), so only a v1.0 answer means the route is gone.
const ROUTE_NOT_FOUND: &str = "RESOURCE_NOT_FOUND";

/// Atlas's 404 codes that name one id. v1.0's come from Atlas's error-code list; on v2,
/// MongoDB's own SDK code treats `PRIVATE_ENDPOINT_SERVICE_NOT_FOUND` as "the endpoint service
/// is absent".
const NOT_FOUND_CODES: &[(&str, AtlasId)] = &[
    ("GROUP_NOT_FOUND", AtlasId::Project),
    ("INVALID_GROUP_ID", AtlasId::Project),
    ("PRIVATELINK_NOT_FOUND", AtlasId::EndpointService),
    (
        "PRIVATE_ENDPOINT_SERVICE_NOT_FOUND",
        AtlasId::EndpointService,
    ),
    ("PRIVATE_ENDPOINT_NOT_FOUND", AtlasId::Endpoint),
    (
        "PRIVATELINK_INTERFACE_ENDPOINT_NOT_FOUND",
        AtlasId::Endpoint,
    ),
    (
        "PRIVATELINK_INTERFACE_ENDPOINT_ID_MALFORMED",
        AtlasId::Endpoint,
    ),
];

impl ApiError {
    /// What this answer means.
    pub fn kind(&self) -> ErrorKind<'_> {
        let code = self.error_code.as_deref();
        if code.is_some_and(|code| NO_PROJECT_ACCESS.contains(&code)) {
            return ErrorKind::AccessDenied(Denial::Project);
        }
        match self.status {
            401 => ErrorKind::CredentialsRejected,
            403 => ErrorKind::AccessDenied(match code {
                Some(code) if NOT_ON_ACCESS_LIST.contains(&code) => Denial::AccessList {
                    address: (code == ACCESS_LIST_WITH_ADDRESS)
                        .then(|| self.parameters.first().map(String::as_str))
                        .flatten(),
                },
                _ => Denial::Other { code },
            }),
            404 if self.route == RouteFamily::Legacy && code == Some(ROUTE_NOT_FOUND) => {
                ErrorKind::RouteGone
            }
            404 => ErrorKind::NotFound {
                id: code.and_then(|code| {
                    NOT_FOUND_CODES
                        .iter()
                        .find(|(known, _)| *known == code)
                        .map(|(_, id)| *id)
                }),
            },
            410 => ErrorKind::VersionGone,
            400 => ErrorKind::Rejected,
            429 => ErrorKind::Throttled {
                wait: self.requested_wait(),
            },
            status if status >= 500 => ErrorKind::ServerError,
            _ => ErrorKind::Unexpected,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_kind(status: u16, code: Option<&str>, route: RouteFamily, expected: ErrorKind<'_>) {
        let api = ApiError::new(status, code, route);
        assert_eq!(api.kind(), expected, "{status} {code:?} on {route:?}");
    }

    #[test]
    fn project_access_codes_are_a_denial_whatever_the_status() {
        for status in [401, 403, 404] {
            for code in NO_PROJECT_ACCESS {
                assert_kind(
                    status,
                    Some(code),
                    RouteFamily::Versioned,
                    ErrorKind::AccessDenied(Denial::Project),
                );
            }
        }
    }

    #[test]
    fn a_404_is_not_found_whatever_its_code_and_names_the_id_it_can() {
        let not_found = |code, id| {
            assert_kind(
                404,
                code,
                RouteFamily::Versioned,
                ErrorKind::NotFound { id },
            );
        };
        not_found(
            Some("PRIVATELINK_NOT_FOUND"),
            Some(AtlasId::EndpointService),
        );
        not_found(Some("PRIVATE_ENDPOINT_NOT_FOUND"), Some(AtlasId::Endpoint));
        not_found(Some("GROUP_NOT_FOUND"), Some(AtlasId::Project));
        for code in [None, Some("RESOURCE_NOT_FOUND"), Some("SOMETHING_NEW")] {
            not_found(code, None);
        }
    }

    #[test]
    fn resource_not_found_on_v1_is_the_route_gone_and_410_the_version() {
        assert_kind(
            404,
            Some("RESOURCE_NOT_FOUND"),
            RouteFamily::Legacy,
            ErrorKind::RouteGone,
        );
        assert_kind(
            410,
            Some("VERSION_GONE"),
            RouteFamily::Versioned,
            ErrorKind::VersionGone,
        );
    }

    #[test]
    fn the_access_list_address_comes_from_the_code_that_carries_it() {
        let mut api = ApiError::new(403, Some("ORG_REQUIRES_ACCESS_LIST"), RouteFamily::Legacy);
        api.parameters = vec!["203.0.113.9".into()];
        assert_eq!(
            api.kind(),
            ErrorKind::AccessDenied(Denial::AccessList {
                address: Some("203.0.113.9")
            })
        );
        let mut api = ApiError::new(
            403,
            Some("IP_ADDRESS_NOT_ON_ACCESS_LIST"),
            RouteFamily::Legacy,
        );
        api.parameters = vec!["not an address".into()];
        assert_eq!(
            api.kind(),
            ErrorKind::AccessDenied(Denial::AccessList { address: None })
        );
        assert_kind(
            403,
            Some("FORBIDDEN"),
            RouteFamily::Legacy,
            ErrorKind::AccessDenied(Denial::Other {
                code: Some("FORBIDDEN"),
            }),
        )
    }

    #[test]
    fn throttling_carries_the_wait_and_other_statuses_their_kind() {
        let api = ApiError::from_body(
            429,
            br#"{"errorCode":"RATE_LIMITED_TOKEN_BUCKET","detail":"Please retry after 55 seconds"}"#,
            None,
            RouteFamily::Versioned,
        );
        assert_eq!(
            api.kind(),
            ErrorKind::Throttled {
                wait: Some(Duration::from_secs(55))
            }
        );
        assert_kind(
            401,
            None,
            RouteFamily::Token,
            ErrorKind::CredentialsRejected,
        );
        assert_kind(400, None, RouteFamily::Legacy, ErrorKind::Rejected);
        assert_kind(
            503,
            Some("SERVICE_UNAVAILABLE"),
            RouteFamily::Legacy,
            ErrorKind::ServerError,
        );
        assert_kind(418, None, RouteFamily::Legacy, ErrorKind::Unexpected);
    }
}
