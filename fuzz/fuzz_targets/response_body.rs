//! The Atlas response body: any bytes decode to an `InterfaceEndpoint` or an error, and any
//! bytes make an `ApiError`, on every route family, that has a kind and messages that can be
//! written.

#![no_main]

use libfuzzer_sys::fuzz_target;
use terraform_provider_atlas::atlas::{ApiError, AtlasError, InterfaceEndpoint, RouteFamily};

fuzz_target!(|data: &[u8]| {
    if let Ok(endpoint) = serde_json::from_slice::<InterfaceEndpoint>(data) {
        let _ = format!("{endpoint:?}");
    }
    for route in [RouteFamily::Legacy, RouteFamily::Versioned, RouteFamily::Token] {
        for status in [401, 404, 503] {
            let error = ApiError::from_body(status, data, None, route);
            assert_eq!(error.status, status);
            let _ = format!("{:?}", error.kind());
            let _ = AtlasError::Api(error).to_string();
        }
    }
});
