//! The provider at its boundary: arbitrary configurations for the provider and every data
//! source, built from the schemas it announces, through the four RPCs Terraform calls, against
//! the fake Atlas. No panic, no hang beyond the configured bounds, every failure a diagnostic.
//! The design (choices from a byte stream, hints by attribute name, StopProvider after a
//! patience) is described in `tests/support/boundary.rs`; `fuzz/fuzz_targets/boundary_config.rs`
//! runs the same cases under libFuzzer.
//!
//! `PROPTEST_CASES=2000 cargo test --release --test plugin boundary::` runs it harder.

use std::time::Duration;

use crate::boundary_cases::{self, Limits, run_case};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// Generous next to what a case costs (milliseconds against the in-process fake): the bounds
/// catch hangs, not slowness, on a busy 2-core machine.
const LIMITS: Limits = Limits {
    patience: Duration::from_secs(1),
    grace: Duration::from_secs(10),
    rpc_limit: Duration::from_secs(10),
    // A wait of at most 1 s, plus one retry after `Retry-After: 1`, plus slack.
    short_wait_limit: Some(Duration::from_secs(4)),
};

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(128)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime starts")
}

/// Runs one case to completion on `runtime`, failing with what went wrong.
fn check(runtime: &tokio::runtime::Runtime, bytes: &[u8]) {
    if let Err(problem) = runtime.block_on(run_case(bytes, LIMITS)) {
        panic!("{problem}\ninput ({} bytes): {bytes:02x?}", bytes.len());
    }
}

#[test]
fn arbitrary_configurations_from_the_schemas_end_in_a_state_or_a_diagnostic() {
    let runtime = runtime();
    let mut runner = TestRunner::new(Config {
        cases: cases(),
        // A failure prints its minimal input; it becomes a plain #[test] below, not a file.
        failure_persistence: None,
        // A shrinking step can take `patience`; a few are enough for a byte stream.
        max_shrink_iters: 16,
        ..Config::default()
    });
    let totals = std::cell::RefCell::new(boundary_cases::Outcome::default());
    runner
        .run(&vec(any::<u8>(), 0..1024), |bytes| {
            let outcome = runtime
                .block_on(run_case(&bytes, LIMITS))
                .map_err(TestCaseError::fail)?;
            let mut totals = totals.borrow_mut();
            totals.reads += outcome.reads;
            totals.reads_with_state += outcome.reads_with_state;
            totals.reads_stopped += outcome.reads_stopped;
            Ok(())
        })
        .unwrap();
    let totals = totals.into_inner();
    eprintln!("boundary: {totals:?}");
    // The generator must reach Atlas often enough to test more than validation.
    assert!(
        totals.reads_with_state > 0,
        "no read returned a state: {totals:?}"
    );
}

#[test]
fn an_empty_input_is_a_configuration_of_nulls() {
    check(&runtime(), &[]);
}

/// An object for `type_name` with every attribute of its schema null except `set`, as
/// Terraform sends a configuration.
fn configuration(fields: &[boundary_cases::Field], set: &[(&str, rmpv::Value)]) -> rmpv::Value {
    rmpv::Value::Map(
        fields
            .iter()
            .map(|field| {
                let value = set
                    .iter()
                    .find(|(name, _)| *name == field.name)
                    .map(|(_, value)| value.clone())
                    .unwrap_or(rmpv::Value::Nil);
                (boundary_cases::text(field.name.clone()), value)
            })
            .collect(),
    )
}

/// Issue 10, item 1: these `wait_timeout` values passed validation, then panicked in the read
/// ("overflow when adding duration to instant"). Now each ends in a diagnostic, or (for the
/// largest duration Go accepts, about 292 years, until the documented bound refuses it) in a
/// wait that StopProvider ends.
#[test]
fn overflowing_wait_timeouts_on_a_pending_endpoint_end_in_a_diagnostic_not_a_panic() {
    let runtime = runtime();
    for wait_timeout in [
        "300000000000y",
        "18446744073709551615s",
        "292277024626y",
        "2562047h47m16.854775807s",
    ] {
        runtime.block_on(async {
            let session = boundary_cases::Session::start(LIMITS).await.unwrap();
            session
                .configure(&configuration(&session.provider_fields(), &[]))
                .await
                .unwrap();
            let fields = session.data_source_fields("atlas_interface_endpoint");
            let config = configuration(
                &fields,
                &[
                    ("project_id", boundary_cases::text(fake_atlas::PROJECT_ID)),
                    (
                        "private_link_id",
                        boundary_cases::text(fake_atlas::PRIVATE_LINK_ID),
                    ),
                    (
                        "interface_endpoint_id",
                        boundary_cases::text(boundary_cases::ENDPOINTS[1].0),
                    ),
                    (
                        "wait_for_status",
                        rmpv::Value::Array(vec![boundary_cases::text("AVAILABLE")]),
                    ),
                    ("wait_timeout", boundary_cases::text(wait_timeout)),
                ],
            );
            let mut outcome = boundary_cases::Outcome::default();
            let result = session
                .read("atlas_interface_endpoint", &config, false, &mut outcome)
                .await;
            assert!(result.is_ok(), "{wait_timeout}: {result:?}");
            let on_wait_timeout = outcome.last_diagnostics.iter().any(|diagnostic| {
                diagnostic.severity == 1
                    && format!("{:?}", diagnostic.attribute).contains("wait_timeout")
            });
            assert!(
                on_wait_timeout || outcome.reads_stopped == 1,
                "{wait_timeout}: {:?}",
                outcome.last_diagnostics
            );
        });
    }
}

/// The generator must see nested attributes (tfplugin6 `nested_type`), not only typed ones, or
/// a list of objects would only ever get values of another type.
#[test]
fn nested_attributes_in_the_schemas_become_lists_of_objects() {
    runtime().block_on(async {
        let session = boundary_cases::Session::start(LIMITS).await.unwrap();
        let nested: Vec<String> = session
            .data_source_types()
            .iter()
            .flat_map(|type_name| {
                session
                    .data_source_fields(type_name)
                    .into_iter()
                    .filter_map(move |field| match &field.kind {
                        boundary_cases::Type::List(element) | boundary_cases::Type::Set(element)
                            if matches!(**element, boundary_cases::Type::Object(ref fields) if !fields.is_empty()) =>
                        {
                            Some(format!("{type_name}.{}", field.name))
                        }
                        _ => None,
                    })
            })
            .collect();
        assert!(
            nested.contains(&"atlas_interface_endpoints.endpoints".to_owned()),
            "{nested:?}"
        );
    });
}

/// Issue 22: the generator reaches the Azure and Google Cloud reads, and a plausible
/// configuration of each new data source, on each cloud, ends in a state with that cloud's
/// attributes.
#[test]
fn every_cloud_s_link_endpoint_and_endpoints_read_a_state_at_the_boundary() {
    runtime().block_on(async {
        let session = boundary_cases::Session::start(LIMITS).await.unwrap();
        session
            .configure(&configuration(&session.provider_fields(), &[]))
            .await
            .unwrap();
        for (cloud, link, endpoint) in boundary_cases::CLOUD_ENDPOINTS {
            for type_name in [
                "atlas_private_link",
                "atlas_private_endpoint",
                "atlas_private_endpoints",
            ] {
                let fields = session.data_source_fields(type_name);
                let config = configuration(
                    &fields,
                    &[
                        ("project_id", boundary_cases::text(fake_atlas::PROJECT_ID)),
                        ("private_link_id", boundary_cases::text(link)),
                        ("cloud_provider", boundary_cases::text(cloud)),
                        ("endpoint_id", boundary_cases::text(endpoint)),
                    ],
                );
                let mut outcome = boundary_cases::Outcome::default();
                let result = session.read(type_name, &config, false, &mut outcome).await;
                assert!(result.is_ok(), "{type_name} on {cloud}: {result:?}");
                assert_eq!(
                    outcome.reads_with_state, 1,
                    "{type_name} on {cloud}: {:?}",
                    outcome.last_diagnostics
                );
            }
        }
    });
}
