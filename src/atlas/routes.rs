//! Which family of Atlas routes a request goes to: the legacy v1.0 routes, the versioned v2
//! routes, or `auto`, which probes v1.0 once per process and moves to v2 for good when Atlas no
//! longer serves it.
//!
//! MongoDB deprecated the v1.0 `privateEndpoint` routes in 2021, and Atlas's current OpenAPI
//! specification (mongodb/openapi, `openapi/atlas-api.yaml`) holds only the versioned routes. Where
//! Atlas no longer serves a route it answers `404 RESOURCE_NOT_FOUND` ("Cannot find resource
//! /api/atlas/v1.0/..."); a version date it has retired answers `410 VERSION_GONE`. Both mean "this
//! route is gone", not "this id does not exist".

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use super::error::{ApiError, AtlasError};
use super::kind::ErrorKind;
use super::shared_fetch::SharedFetch;

/// The version date of the v2 resources this provider reads, sent as
/// `Accept: application/vnd.atlas.2023-01-01+json`. Atlas's specification lists the AWS endpoint
/// service and interface endpoint GETs (`getPrivateEndpointService`, `getPrivateEndpoint`) under
/// `x-xgen-version: 2023-01-01`, their only version. A v2 request without a versioned Accept header
/// is refused with 406.
pub const API_VERSION_DATE: &str = "2023-01-01";

/// The versioned media type for [`API_VERSION_DATE`].
pub const VERSIONED_MEDIA_TYPE: &str = "application/vnd.atlas.2023-01-01+json";

/// The provider argument `api_version`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ApiVersion {
    /// Try v1.0 on the first read, fall back to v2 (and stay there) when v1.0 is gone.
    #[default]
    Auto,
    /// Only the v1.0 routes.
    Legacy,
    /// Only the v2 routes.
    Versioned,
}

impl ApiVersion {
    /// The provider argument's value for this choice.
    pub fn name(self) -> &'static str {
        match self {
            ApiVersion::Auto => "auto",
            ApiVersion::Legacy => "v1.0",
            ApiVersion::Versioned => "v2",
        }
    }

    /// The values of the provider argument, in the order the docs list them.
    pub const NAMES: [&'static str; 3] = ["auto", "v1.0", "v2"];

    pub fn parse(text: &str) -> Option<ApiVersion> {
        match text {
            "auto" => Some(ApiVersion::Auto),
            "v1.0" => Some(ApiVersion::Legacy),
            "v2" => Some(ApiVersion::Versioned),
            _ => None,
        }
    }
}

/// The route family one request went to; errors carry it so that a message can tell a route
/// Atlas no longer serves from an id that does not exist.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteFamily {
    /// `/api/atlas/v1.0/...`
    Legacy,
    /// `/api/atlas/v2/...` with the versioned Accept header.
    Versioned,
    /// `/api/oauth/token`, where a service account gets its bearer token.
    Token,
}

impl RouteFamily {
    /// The path segments below the base URL that start this family's routes.
    pub(crate) fn prefix(self) -> &'static [&'static str] {
        match self {
            RouteFamily::Legacy => &["api", "atlas", "v1.0"],
            RouteFamily::Versioned => &["api", "atlas", "v2"],
            RouteFamily::Token => &["api", "oauth"],
        }
    }

    /// The `Accept` header for this family.
    pub(crate) fn accept(self) -> &'static str {
        match self {
            RouteFamily::Versioned => VERSIONED_MEDIA_TYPE,
            RouteFamily::Legacy | RouteFamily::Token => "application/json",
        }
    }
}

/// One Atlas resource with its path segments on both route families, below `/api/atlas/v1.0`
/// and `/api/atlas/v2`. Each segment is percent-encoded when the URL is built, so an id can never
/// change the path's shape, and [`Resource::unusable_segment`] is refused before any URL is
/// built.
pub struct Resource<'a> {
    pub legacy: Vec<&'a str>,
    pub versioned: Vec<&'a str>,
}

/// The longest path segment sent. Atlas's ids are 24 characters, AWS endpoint ids 22, Azure
/// resource ids a few hundred (Azure caps a resource id's names at 80 to 260 characters).
pub const MAX_SEGMENT_BYTES: usize = 1024;

impl Resource<'_> {
    /// The first segment that cannot be an id in a URL path, if any: empty, `.` or `..` (the
    /// url crate drops dot segments, so `..` would read the parent resource; RFC 3986, 5.2.4),
    /// longer than [`MAX_SEGMENT_BYTES`], or holding a control character. Callers check ids
    /// for their shape before they get here; this is the last line, so that no caller can
    /// forget it, ids from Atlas's own answers included.
    pub fn unusable_segment(&self) -> Option<&str> {
        self.legacy
            .iter()
            .chain(&self.versioned)
            .copied()
            .find(|segment| {
                matches!(*segment, "" | "." | "..")
                    || segment.len() > MAX_SEGMENT_BYTES
                    || segment.chars().any(char::is_control)
            })
    }
}

const UNDECIDED: u8 = 0;
const LEGACY: u8 = 1;
const VERSIONED: u8 = 2;

/// The route choice of one provider process.
pub(crate) struct RouteChoice {
    configured: ApiVersion,
    /// In `auto`: what the probe found (`UNDECIDED` until a v1.0 answer settles it).
    decided: AtomicU8,
    /// The one v1.0 probe in flight: parallel first reads wait for its verdict, or for its
    /// failure, instead of each probing in turn.
    probe: SharedFetch<Result<(), AtlasError>>,
    /// Set when `auto` moved to v2 and v2 then found what v1.0 did not, until a read reports it
    /// (one warning per process).
    switch_unreported: AtomicBool,
}

/// What one v1.0 probe answer says about the routes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// v1.0 is served: stay on it.
    Legacy,
    /// v1.0 is gone: this read, and every later one, goes to v2.
    MovedToVersioned,
    /// The answer says nothing about the route (throttling, a server error, bad credentials, a
    /// failed connection): the next probe asks again.
    Open,
}

impl RouteChoice {
    pub(crate) fn new(configured: ApiVersion) -> Self {
        Self {
            configured,
            decided: AtomicU8::new(UNDECIDED),
            probe: SharedFetch::default(),
            switch_unreported: AtomicBool::new(false),
        }
    }

    /// The configured choice.
    pub(crate) fn configured(&self) -> ApiVersion {
        self.configured
    }

    /// The family every request goes to, once configured or decided; `None` while `auto` has not
    /// settled (the read must probe, or wait for the probe in flight).
    pub(crate) fn family(&self) -> Option<RouteFamily> {
        match self.configured {
            ApiVersion::Legacy => Some(RouteFamily::Legacy),
            ApiVersion::Versioned => Some(RouteFamily::Versioned),
            ApiVersion::Auto => match self.decided.load(Ordering::Acquire) {
                LEGACY => Some(RouteFamily::Legacy),
                VERSIONED => Some(RouteFamily::Versioned),
                _ => None,
            },
        }
    }

    /// Runs `probe` unless one is in flight, whose outcome is then this caller's: `Ok` once the
    /// probe settled the family, or the probe's failure.
    pub(crate) async fn probe<F, Fut>(&self, probe: F) -> Result<(), AtlasError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(), AtlasError>>,
    {
        self.probe.run(probe).await
    }

    /// Records what a v1.0 probe answered.
    pub(crate) fn settle<T>(&self, outcome: &Result<T, AtlasError>) -> Verdict {
        let verdict = match outcome {
            Ok(_) => Verdict::Legacy,
            Err(error) => match error.api().map(ApiError::kind) {
                Some(ErrorKind::RouteGone | ErrorKind::VersionGone) => Verdict::MovedToVersioned,
                // Atlas answered about the resource itself, so the route is served.
                Some(ErrorKind::NotFound { .. } | ErrorKind::Rejected) => Verdict::Legacy,
                _ => Verdict::Open,
            },
        };
        match verdict {
            Verdict::Legacy => self.decided.store(LEGACY, Ordering::Release),
            Verdict::MovedToVersioned => self.decided.store(VERSIONED, Ordering::Release),
            Verdict::Open => {}
        }
        verdict
    }

    /// Marks the move to v2 as proven (v2 found what v1.0 answered "gone" for): the next read to
    /// ask reports it.
    pub(crate) fn confirm_switch(&self) {
        self.switch_unreported.store(true, Ordering::Release);
    }

    /// True once, for the first read to ask after `auto`'s move to v2 was confirmed.
    pub(crate) fn take_switch_notice(&self) -> bool {
        self.switch_unreported.swap(false, Ordering::AcqRel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, code: Option<&str>) -> AtlasError {
        AtlasError::Api(ApiError::new(status, code, RouteFamily::Legacy))
    }

    #[test]
    fn api_version_names_parse() {
        assert_eq!(ApiVersion::parse("auto"), Some(ApiVersion::Auto));
        assert_eq!(ApiVersion::parse("v1.0"), Some(ApiVersion::Legacy));
        assert_eq!(ApiVersion::parse("v2"), Some(ApiVersion::Versioned));
        assert_eq!(ApiVersion::parse("V2"), None);
    }

    #[test]
    fn a_gone_route_moves_auto_to_v2_for_good_and_only_a_confirmation_is_reported() {
        let choice = RouteChoice::new(ApiVersion::Auto);
        assert_eq!(choice.family(), None, "the first read probes");
        assert_eq!(
            choice.settle::<()>(&Err(api(404, Some("RESOURCE_NOT_FOUND")))),
            Verdict::MovedToVersioned
        );
        assert_eq!(choice.family(), Some(RouteFamily::Versioned));
        assert!(!choice.take_switch_notice(), "unproven until v2 answers");
        choice.confirm_switch();
        assert!(choice.take_switch_notice());
        assert!(!choice.take_switch_notice());
    }

    #[test]
    fn an_answer_about_the_resource_keeps_v1() {
        for outcome in [Ok(()), Err(api(404, Some("PRIVATELINK_NOT_FOUND")))] {
            let choice = RouteChoice::new(ApiVersion::Auto);
            assert_eq!(choice.settle(&outcome), Verdict::Legacy);
            assert_eq!(choice.family(), Some(RouteFamily::Legacy));
        }
    }

    /// docs/atlas-api.md: a throttled, failed or unauthorised probe settles nothing.
    #[test]
    fn throttled_unauthorised_and_failed_probes_leave_the_question_open() {
        let choice = RouteChoice::new(ApiVersion::Auto);
        for (status, code) in [
            (429, Some("RATE_LIMITED")),
            (401, None),
            (403, Some("IP_ADDRESS_NOT_ON_ACCESS_LIST")),
            (500, None),
            (503, Some("SERVICE_UNAVAILABLE")),
        ] {
            assert_eq!(choice.settle::<()>(&Err(api(status, code))), Verdict::Open);
            assert_eq!(
                choice.family(),
                None,
                "after a {status}, the next read probes"
            );
        }
    }

    #[test]
    fn dot_empty_long_and_control_segments_are_unusable() {
        let resource = |id: &'static str| Resource {
            legacy: vec!["groups", id],
            versioned: vec!["groups", "AWS", id],
        };
        for id in ["", ".", "..", "a\nb", "\u{7f}"] {
            assert_eq!(resource(id).unusable_segment(), Some(id), "{id:?}");
        }
        let long = "a".repeat(MAX_SEGMENT_BYTES + 1);
        let resource_long = Resource {
            legacy: vec![&long],
            versioned: vec![],
        };
        assert!(resource_long.unusable_segment().is_some());
        for id in ["vpce-08fb7e9319909ec7b", "...", "a/b", "%2e%2e"] {
            assert_eq!(resource(id).unusable_segment(), None, "{id:?}");
        }
    }

    #[test]
    fn fixed_versions_never_probe() {
        assert_eq!(
            RouteChoice::new(ApiVersion::Legacy).family(),
            Some(RouteFamily::Legacy)
        );
        assert_eq!(
            RouteChoice::new(ApiVersion::Versioned).family(),
            Some(RouteFamily::Versioned)
        );
    }
}
