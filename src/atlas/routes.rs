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

use tokio::sync::Mutex;

use super::error::{ApiError, AtlasError};
use super::kind::ErrorKind;

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
    /// Held by the one read that probes v1.0 while nothing is decided, so that parallel first
    /// reads wait for its verdict instead of each probing.
    probe_turn: Mutex<()>,
    /// Set when `auto` moved to v2, until a read reports it (one warning per process).
    switch_unreported: AtomicBool,
}

/// What the caller should do for one read.
pub(crate) enum RouteStep<'a> {
    /// Send on this family; the verdict is known (or fixed by configuration).
    Use(RouteFamily),
    /// Send on v1.0 as the probe while holding the turn; report the outcome with
    /// [`RouteChoice::settle`].
    Probe(tokio::sync::MutexGuard<'a, ()>),
}

impl RouteChoice {
    pub(crate) fn new(configured: ApiVersion) -> Self {
        Self {
            configured,
            decided: AtomicU8::new(UNDECIDED),
            probe_turn: Mutex::new(()),
            switch_unreported: AtomicBool::new(false),
        }
    }

    /// Which family the next request goes to, waiting for a probe in flight.
    pub(crate) async fn next_step(&self) -> RouteStep<'_> {
        match self.configured {
            ApiVersion::Legacy => return RouteStep::Use(RouteFamily::Legacy),
            ApiVersion::Versioned => return RouteStep::Use(RouteFamily::Versioned),
            ApiVersion::Auto => {}
        }
        if let Some(family) = self.decided() {
            return RouteStep::Use(family);
        }
        let turn = self.probe_turn.lock().await;
        match self.decided() {
            Some(family) => RouteStep::Use(family),
            None => RouteStep::Probe(turn),
        }
    }

    fn decided(&self) -> Option<RouteFamily> {
        match self.decided.load(Ordering::Acquire) {
            LEGACY => Some(RouteFamily::Legacy),
            VERSIONED => Some(RouteFamily::Versioned),
            _ => None,
        }
    }

    /// Records what a v1.0 probe answered. Returns true when the read must be repeated on v2.
    pub(crate) fn settle<T>(&self, outcome: &Result<T, AtlasError>) -> bool {
        match outcome {
            Ok(_) => {
                self.decided.store(LEGACY, Ordering::Release);
                false
            }
            Err(error) => match error.api().map(ApiError::kind) {
                Some(ErrorKind::RouteGone | ErrorKind::VersionGone) => {
                    self.decided.store(VERSIONED, Ordering::Release);
                    self.switch_unreported.store(true, Ordering::Release);
                    true
                }
                // Atlas answered about the resource itself, so the route is served.
                Some(ErrorKind::NotFound { .. } | ErrorKind::Rejected) => {
                    self.decided.store(LEGACY, Ordering::Release);
                    false
                }
                // Throttling, server errors, bad credentials and failed connections say nothing
                // about the route: the next read probes again.
                _ => false,
            },
        }
    }

    /// True once, for the first read to ask after `auto` moved to v2.
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

    #[tokio::test]
    async fn a_gone_route_moves_auto_to_v2_once_and_for_good() {
        let choice = RouteChoice::new(ApiVersion::Auto);
        let RouteStep::Probe(turn) = choice.next_step().await else {
            panic!("the first read probes");
        };
        assert!(choice.settle::<()>(&Err(api(404, Some("RESOURCE_NOT_FOUND")))));
        drop(turn);
        assert!(matches!(
            choice.next_step().await,
            RouteStep::Use(RouteFamily::Versioned)
        ));
        assert!(choice.take_switch_notice());
        assert!(!choice.take_switch_notice());
    }

    #[tokio::test]
    async fn an_answer_about_the_resource_keeps_v1() {
        for outcome in [Ok(()), Err(api(404, Some("PRIVATELINK_NOT_FOUND")))] {
            let choice = RouteChoice::new(ApiVersion::Auto);
            let RouteStep::Probe(_turn) = choice.next_step().await else {
                panic!("the first read probes");
            };
            assert!(!choice.settle(&outcome));
            assert_eq!(choice.decided(), Some(RouteFamily::Legacy));
            assert!(!choice.take_switch_notice());
        }
    }

    #[tokio::test]
    async fn throttling_leaves_the_question_open() {
        let choice = RouteChoice::new(ApiVersion::Auto);
        let RouteStep::Probe(turn) = choice.next_step().await else {
            panic!("the first read probes");
        };
        assert!(!choice.settle::<()>(&Err(api(429, Some("RATE_LIMITED")))));
        drop(turn);
        assert!(matches!(choice.next_step().await, RouteStep::Probe(_)));
    }

    /// docs/atlas-api.md: a failed or unauthorised probe, like a throttled one, settles nothing.
    #[tokio::test]
    async fn unauthorised_and_failed_probes_leave_the_question_open() {
        let choice = RouteChoice::new(ApiVersion::Auto);
        for (status, code) in [
            (401, None),
            (403, Some("IP_ADDRESS_NOT_ON_ACCESS_LIST")),
            (500, None),
            (503, Some("SERVICE_UNAVAILABLE")),
        ] {
            let RouteStep::Probe(turn) = choice.next_step().await else {
                panic!("after a {status}, the next read probes again");
            };
            assert!(!choice.settle::<()>(&Err(api(status, code))), "{status}");
            drop(turn);
        }
        assert!(matches!(choice.next_step().await, RouteStep::Probe(_)));
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

    #[tokio::test]
    async fn fixed_versions_never_probe() {
        assert!(matches!(
            RouteChoice::new(ApiVersion::Legacy).next_step().await,
            RouteStep::Use(RouteFamily::Legacy)
        ));
        assert!(matches!(
            RouteChoice::new(ApiVersion::Versioned).next_step().await,
            RouteStep::Use(RouteFamily::Versioned)
        ));
    }
}
