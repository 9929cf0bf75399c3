//! Every data route the fake serves, v1.0 and v2 alike, in one table over the one fixture
//! table; and the v2 version negotiation (406 and 410).
//!
//! Checked against Atlas's OpenAPI specification, mongodb/openapi
//! `openapi/v2/openapi-2023-01-01.yaml`: operations `getPrivateEndpoint` and
//! `getPrivateEndpointService` answer `application/vnd.atlas.2023-01-01+json`
//! (`x-xgen-version: "2023-01-01"`) with the schemas `AWSInterfaceEndpoint` and
//! `AWSPrivateLinkConnection`. The v1.0 routes are the legacy ones of the Atlas reference.

use std::collections::HashSet;

use hyper::Response;

use crate::clouds::{Cloud, encoding_problem};
use crate::fixtures::{Fixtures, Missing};
use crate::responses::{FakeBody, error_body, error_response, typed_response};

/// The version date of the v2 routes the fake serves (both carry `x-xgen-version: "2023-01-01"`
/// in Atlas's specification).
pub const API_VERSION: &str = "2023-01-01";

/// 404 code of a v2 route when the endpoint service does not exist. MongoDB's own Go code for
/// these v2 routes (package `privateendpoint`, atlas-sdk v20250312009) tests for this code.
pub const V2_SERVICE_NOT_FOUND: &str = "PRIVATE_ENDPOINT_SERVICE_NOT_FOUND";

/// 404 code of the v2 endpoint route when the endpoint does not exist. Not confirmed by any
/// source (the specification lists no route-specific 404 codes); chosen so that a client can
/// tell the endpoint from the service. Clients should treat any 404 of that route as not found.
pub const V2_ENDPOINT_NOT_FOUND: &str = "PRIVATE_ENDPOINT_NOT_FOUND";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ApiVersion {
    V1,
    V2,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Resource {
    InterfaceEndpoint,
    PrivateLink,
}

struct Route {
    version: ApiVersion,
    resource: Resource,
    /// Literal segments, and `{name}` for a captured one.
    pattern: &'static str,
}

/// The table. Adding a route is one line here and, for a new resource, one renderer below.
const ROUTES: &[Route] = &[
    Route {
        version: ApiVersion::V1,
        resource: Resource::InterfaceEndpoint,
        pattern: "/api/atlas/v1.0/groups/{project}/privateEndpoint/{link}/interfaceEndpoints/{endpoint}",
    },
    Route {
        version: ApiVersion::V1,
        resource: Resource::PrivateLink,
        pattern: "/api/atlas/v1.0/groups/{project}/privateEndpoint/{link}",
    },
    Route {
        version: ApiVersion::V2,
        resource: Resource::InterfaceEndpoint,
        pattern: "/api/atlas/v2/groups/{project}/privateEndpoint/{cloudProvider}/endpointService/{link}/endpoint/{endpoint}",
    },
    Route {
        version: ApiVersion::V2,
        resource: Resource::PrivateLink,
        pattern: "/api/atlas/v2/groups/{project}/privateEndpoint/{cloudProvider}/endpointService/{link}",
    },
];

/// The path segments a route captured.
struct Captures<'a>(Vec<(&'static str, &'a str)>);

impl Captures<'_> {
    fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| *value)
            .unwrap_or_default()
    }
}

fn match_route(path: &str) -> Option<(&'static Route, Captures<'_>)> {
    let segments: Vec<&str> = path.split('/').collect();
    ROUTES.iter().find_map(|route| {
        let pattern: Vec<&'static str> = route.pattern.split('/').collect();
        if pattern.len() != segments.len() {
            return None;
        }
        let mut captures = Vec::new();
        for (expected, actual) in pattern.iter().zip(&segments) {
            match expected
                .strip_prefix('{')
                .and_then(|name| name.strip_suffix('}'))
            {
                Some(name) if !actual.is_empty() => captures.push((name, *actual)),
                Some(_) => return None,
                None if expected == actual => {}
                None => return None,
            }
        }
        Some((route, Captures(captures)))
    })
}

/// What the routes read besides the fixtures.
pub(crate) struct RouteSettings<'a> {
    pub v1_gone: bool,
    pub retired_versions: &'a HashSet<String>,
}

/// Answers an authenticated request on a data route.
pub(crate) fn answer(
    method: &str,
    uri: &str,
    accept: Option<&str>,
    settings: &RouteSettings<'_>,
    fixtures: &mut Fixtures,
) -> Response<FakeBody> {
    let path = uri.split('?').next().unwrap_or_default();
    // Where Atlas no longer serves a route it answers as for any unknown path.
    if settings.v1_gone && path.starts_with("/api/atlas/v1.0/") {
        return not_a_resource(path);
    }
    let Some((route, captures)) = match_route(path) else {
        return not_a_resource(path);
    };
    if method != "GET" {
        return error_response(405, None, "Method not allowed.");
    }
    let content_type = match route.version {
        ApiVersion::V1 => "application/json".to_owned(),
        ApiVersion::V2 => match negotiate(accept, settings.retired_versions) {
            Ok(version) => format!("application/vnd.atlas.{version}+json"),
            Err(refusal) => return refusal.response(path),
        },
    };
    let (status, body) = read(route, &captures, fixtures);
    typed_response(status, &content_type, body)
}

fn not_a_resource(path: &str) -> Response<FakeBody> {
    error_response(
        404,
        Some("RESOURCE_NOT_FOUND"),
        &format!("Cannot find resource {path}."),
    )
}

/// Why a v2 request gets no answer from its route.
#[derive(Debug, PartialEq, Eq)]
enum Refusal {
    /// No `application/vnd.atlas.<date>+json` in `Accept` names a version this route has.
    NotAcceptable,
    /// The date asked for is retired.
    Gone(String),
}

impl Refusal {
    /// 406 `INVALID_VERSION_DATE` is Atlas's 406 as its users have seen it (it is not in the
    /// specification); 410 `VERSION_GONE` is the specification's `gone` response.
    fn response(&self, path: &str) -> Response<FakeBody> {
        match self {
            Refusal::NotAcceptable => error_response(
                406,
                Some("INVALID_VERSION_DATE"),
                "Invalid accept header or version date.",
            ),
            Refusal::Gone(date) => error_response(
                410,
                Some("VERSION_GONE"),
                &format!("Version {date} of {path} is no longer available."),
            ),
        }
    }
}

/// The version date a v2 request asked for. Only [`API_VERSION`] is served: a later date is
/// refused rather than mapped to an earlier version.
fn negotiate(accept: Option<&str>, retired: &HashSet<String>) -> Result<String, Refusal> {
    let requested = accept
        .into_iter()
        .flat_map(|header| header.split(','))
        .find_map(|item| {
            let media_type = item.split(';').next().unwrap_or_default().trim();
            let date = media_type
                .strip_prefix("application/vnd.atlas.")?
                .strip_suffix("+json")?;
            is_date(date).then(|| date.to_owned())
        });
    match requested {
        Some(date) if retired.contains(&date) => Err(Refusal::Gone(date)),
        Some(date) if date == API_VERSION => Ok(date),
        _ => Err(Refusal::NotAcceptable),
    }
}

fn is_date(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 10
        && bytes.iter().enumerate().all(|(index, byte)| match index {
            4 | 7 => *byte == b'-',
            _ => byte.is_ascii_digit(),
        })
}

/// Reads the fixtures for one route: the status and the JSON body.
fn read(route: &Route, captures: &Captures<'_>, fixtures: &mut Fixtures) -> (u16, String) {
    let project = captures.get("project");
    let link = captures.get("link");
    let endpoint = captures.get("endpoint");
    if route.version == ApiVersion::V2 && captures.get("cloudProvider") != "AWS" {
        return read_other_cloud(route, captures, fixtures);
    }
    let found = match route.resource {
        Resource::InterfaceEndpoint => {
            fixtures
                .read_endpoint(project, link, endpoint)
                .map(|found| {
                    let mut body = serde_json::json!({
                        "interfaceEndpointId": endpoint,
                        "connectionStatus": found.connection_status,
                        "errorMessage": found.error_message,
                        "deleteRequested": found.delete_requested,
                    });
                    if route.version == ApiVersion::V2 {
                        body["cloudProvider"] = "AWS".into();
                    }
                    body
                })
        }
        Resource::PrivateLink => fixtures.read_private_link(project, link).map(|read| {
            let mut body = serde_json::json!({
                "id": link,
                "endpointServiceName": read.link.endpoint_service_name,
                "errorMessage": read.link.error_message,
                "interfaceEndpoints": read.endpoint_ids,
                "status": read.link.status,
            });
            if route.version == ApiVersion::V2 {
                body["cloudProvider"] = "AWS".into();
                body["regionName"] = read.link.region_name.into();
            }
            body
        }),
    };
    match found {
        Ok(body) => (200, body.to_string()),
        Err(what) => missing(route, what, captures),
    }
}

/// An Azure or Google Cloud service or endpoint. Atlas's not-found codes for these clouds are
/// undocumented; the fake answers a missing endpoint with `errorCode: null`, as a 404 Atlas sent
/// in June 2026 did, so that a client must judge it by its status.
fn read_other_cloud(
    route: &Route,
    captures: &Captures<'_>,
    fixtures: &mut Fixtures,
) -> (u16, String) {
    let cloud_name = captures.get("cloudProvider");
    let Some(cloud) = Cloud::parse(cloud_name) else {
        return (
            400,
            error_body(
                400,
                Some("INVALID_ENUM_VALUE"),
                &format!(
                    "An invalid enumeration value {cloud_name} was specified for cloudProvider."
                ),
                vec![cloud_name.into()],
            ),
        );
    };
    let (project, link, endpoint) = (
        captures.get("project"),
        captures.get("link"),
        captures.get("endpoint"),
    );
    let found = match route.resource {
        Resource::PrivateLink => fixtures.clouds.read_link(cloud, project, link),
        Resource::InterfaceEndpoint => {
            if let Some(problem) = encoding_problem(cloud, endpoint) {
                return (
                    400,
                    error_body(400, Some("INVALID_ENDPOINT_ID"), &problem, Vec::new()),
                );
            }
            fixtures
                .clouds
                .read_endpoint(cloud, project, link, endpoint)
        }
    };
    // A project known for its AWS links exists: it only lacks this service.
    let found = match found {
        Err(Missing::Project) if fixtures.has_project(project) => Err(Missing::PrivateLink),
        other => other,
    };
    match found {
        Ok(body) => (200, body.to_string()),
        Err(Missing::Endpoint) => (
            404,
            error_body(
                404,
                None,
                &format!("Private endpoint {endpoint} does not exist."),
                Vec::new(),
            ),
        ),
        Err(what) => missing(route, what, captures),
    }
}

/// The 404 for what is missing, with the code each API version uses. The v1.0 codes and details
/// are those of Atlas's error-code reference (PRIVATELINK_NOT_FOUND: "A PrivateLink with id %s
/// does not exist.").
fn missing(route: &Route, what: Missing, captures: &Captures<'_>) -> (u16, String) {
    let (code, detail) = match (what, route.version) {
        (Missing::Project, _) => (
            "GROUP_NOT_FOUND",
            format!("No group with ID {} exists.", captures.get("project")),
        ),
        (Missing::PrivateLink, ApiVersion::V1) => (
            "PRIVATELINK_NOT_FOUND",
            format!(
                "A PrivateLink with id {} does not exist.",
                captures.get("link")
            ),
        ),
        (Missing::PrivateLink, ApiVersion::V2) => (
            V2_SERVICE_NOT_FOUND,
            format!(
                "Private endpoint service {} does not exist.",
                captures.get("link")
            ),
        ),
        (Missing::Endpoint, ApiVersion::V1) => (
            "PRIVATELINK_INTERFACE_ENDPOINT_NOT_FOUND",
            format!(
                "A PrivateLink interface endpoint with id {} does not exist.",
                captures.get("endpoint")
            ),
        ),
        (Missing::Endpoint, ApiVersion::V2) => (
            V2_ENDPOINT_NOT_FOUND,
            format!(
                "Private endpoint {} does not exist.",
                captures.get("endpoint")
            ),
        ),
    };
    (404, error_body(404, Some(code), &detail, Vec::new()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_pattern_matches_its_own_path_only() {
        let (route, captures) =
            match_route("/api/atlas/v2/groups/p/privateEndpoint/AWS/endpointService/l/endpoint/e")
                .unwrap();
        assert_eq!(
            (route.version, route.resource),
            (ApiVersion::V2, Resource::InterfaceEndpoint)
        );
        assert_eq!(captures.get("endpoint"), "e");
        let (route, _) = match_route("/api/atlas/v1.0/groups/p/privateEndpoint/l").unwrap();
        assert_eq!(
            (route.version, route.resource),
            (ApiVersion::V1, Resource::PrivateLink)
        );
        assert!(match_route("/api/atlas/v1.0/groups/p/privateEndpoint/").is_none());
        assert!(match_route("/api/atlas/v1.0/groups/p/privateEndpoint/l/other/e").is_none());
    }

    #[test]
    fn negotiation_accepts_the_versioned_type_among_others_and_refuses_the_rest() {
        let retired = HashSet::from(["2023-01-01".to_owned()]);
        let none = HashSet::new();
        let accept = "application/json, application/vnd.atlas.2023-01-01+json; charset=utf-8";
        assert_eq!(negotiate(Some(accept), &none), Ok("2023-01-01".to_owned()));
        assert_eq!(
            negotiate(Some("application/json"), &none),
            Err(Refusal::NotAcceptable)
        );
        assert_eq!(negotiate(None, &none), Err(Refusal::NotAcceptable));
        assert_eq!(
            negotiate(Some("application/vnd.atlas.2099-01-01+json"), &none),
            Err(Refusal::NotAcceptable)
        );
        assert_eq!(
            negotiate(Some("application/vnd.atlas.2023-01-01+json"), &retired),
            Err(Refusal::Gone("2023-01-01".to_owned()))
        );
    }
}
