//! Whole configurations through the provider's RPCs: the bytes choose a provider configuration
//! and data source configurations from the schemas the provider announces, which run through
//! ValidateProviderConfig, ConfigureProvider, ValidateDataResourceConfig and ReadDataSource against
//! a fresh fake Atlas on 127.0.0.1 (see `tests/support/boundary.rs`, shared with
//! `tests/plugin/boundary.rs`). A panic, a gRPC error instead of a diagnostic, a malformed state or a read
//! that outlives StopProvider by 10 s is a crash.

#![no_main]

#[path = "../../tests/support/boundary.rs"]
mod boundary;

use std::sync::LazyLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;

/// Shorter than the property test's: throughput matters here, and a read still waiting after
/// `patience` is stopped, which is itself checked. Short waits are not timed (each would cost
/// up to a second); `tests/plugin/boundary.rs` checks those.
const LIMITS: boundary::Limits = boundary::Limits {
    patience: Duration::from_millis(250),
    grace: Duration::from_secs(10),
    rpc_limit: Duration::from_secs(10),
    short_wait_limit: None,
};

static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime starts")
});

fuzz_target!(|data: &[u8]| {
    if let Err(problem) = RUNTIME.block_on(boundary::run_case(data, LIMITS)) {
        panic!("{problem}");
    }
});
