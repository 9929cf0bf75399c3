//! End-to-end reliability with the real `terraform`: retries, timeouts, waiting for a status,
//! and Ctrl-C during a read that hangs.

use std::time::Duration;

use crate::support::*;
use fake_atlas::{Endpoint, Fault};

const ENDPOINT: &str = "vpce-0a0000000000000a1";

fn rejected() -> Endpoint {
    Endpoint {
        connection_status: "REJECTED".into(),
        error_message: Some("AWS rejected the connection: no route from subnet-0abc.".into()),
        delete_requested: false,
    }
}

/// A data source that waits, with `extra` arguments, and an output of its status.
fn waiting_config(workspace: &Workspace, extra: &str) -> String {
    format!(
        "{}data \"atlas_interface_endpoint\" \"this\" {{\n  project_id            = \"{}\"\n  \
         private_link_id       = \"{}\"\n  interface_endpoint_id = \"{ENDPOINT}\"\n{extra}}}\n\n\
         output \"status\" {{\n  value = data.atlas_interface_endpoint.this.connection_status\n}}\n",
        workspace.preamble(""),
        fake_atlas::PROJECT_ID,
        fake_atlas::PRIVATE_LINK_ID
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_waits_until_the_endpoint_is_available() {
    let workspace = Workspace::new().await;
    workspace.atlas.script(
        ENDPOINT,
        vec![
            Endpoint::with_status("PENDING_ACCEPTANCE"),
            Endpoint::with_status("PENDING"),
            Endpoint::with_status("AVAILABLE"),
        ],
    );
    workspace.write_main_tf(&waiting_config(
        &workspace,
        "  wait_for_status = [\"AVAILABLE\"]\n",
    ));
    let run = workspace.apply(&[]).await;
    run.assert_success();
    assert_eq!(workspace.outputs().await["status"]["value"], "AVAILABLE");
    assert_eq!(
        workspace.successful_reads().len(),
        3,
        "polled until AVAILABLE:\n{run}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn wait_fails_at_once_when_the_endpoint_is_rejected() {
    let workspace = Workspace::new().await;
    workspace
        .atlas
        .script(ENDPOINT, vec![Endpoint::with_status("PENDING"), rejected()]);
    workspace.write_main_tf(&waiting_config(
        &workspace,
        "  wait_for_status = [\"AVAILABLE\"]\n",
    ));
    let run = workspace.plan().await;
    run.assert_failure();
    run.diagnostic(
        "Error: Interface Endpoint Will Not Become Ready",
        "REJECTED",
    );
    run.assert_shows("no route from subnet-0abc");
    assert_eq!(
        workspace.successful_reads().len(),
        2,
        "no polling after REJECTED"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn wait_timeout_reports_the_last_status_seen() {
    let workspace = Workspace::new().await;
    workspace
        .atlas
        .put(ENDPOINT, Endpoint::with_status("PENDING"));
    workspace.write_main_tf(&waiting_config(
        &workspace,
        "  wait_for_status = [\"AVAILABLE\"]\n  wait_timeout    = \"3s\"\n",
    ));
    let run = workspace.plan().await;
    run.assert_failure();
    let diagnostic = run.diagnostic(
        "Error: Timed Out Waiting for Interface Endpoint",
        "still PENDING",
    );
    assert!(
        diagnostic.contains("wait_timeout") && diagnostic.contains("3s"),
        "{diagnostic}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn validate_rejects_unknown_statuses_and_bad_timeouts() {
    let workspace = Workspace::new().await;
    workspace.write_main_tf(&waiting_config(
        &workspace,
        "  wait_for_status = [\"READY\"]\n  wait_timeout    = \"soon\"\n",
    ));
    let run = workspace.validate().await;
    run.assert_failure();
    run.diagnostic("Error: Unknown Status in Wait For Status", "READY");
    run.diagnostic("Error: Invalid Duration", "\"soon\"");
    assert_eq!(workspace.atlas.request_count(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_survives_two_service_unavailable_answers() {
    let workspace = Workspace::new().await;
    workspace
        .atlas
        .put(ENDPOINT, Endpoint::with_status("AVAILABLE"));
    for _ in 0..2 {
        workspace.atlas.push_fault(Fault::Status {
            status: 503,
            error_code: Some("SERVICE_UNAVAILABLE".into()),
            retry_after: None,
        });
    }
    workspace.write_main_tf(&waiting_config(&workspace, ""));
    workspace.apply(&[]).await.assert_success();
    assert_eq!(workspace.outputs().await["status"]["value"], "AVAILABLE");
}

#[tokio::test(flavor = "multi_thread")]
async fn exhausted_retries_say_how_many_attempts_and_the_last_status() {
    let mut workspace = Workspace::new().await;
    workspace
        .atlas
        .put(ENDPOINT, Endpoint::with_status("AVAILABLE"));
    for _ in 0..5 {
        workspace.atlas.push_fault(Fault::Status {
            status: 429,
            error_code: Some("RATE_LIMITED".into()),
            retry_after: Some("0".into()),
        });
    }
    workspace.set_env("TF_LOG", "");
    let config = waiting_config(&workspace, "").replacen(
        "provider \"atlas\" {\n",
        "provider \"atlas\" {\n  max_retries = 1\n",
        1,
    );
    workspace.write_main_tf(&config);
    let run = workspace.plan().await;
    run.assert_failure();
    let diagnostic = run.diagnostic("Error: Atlas Rate Limit Reached", "RATE_LIMITED");
    assert!(diagnostic.contains("2 attempts"), "{diagnostic}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_never_answers_times_out_with_the_limit() {
    let workspace = Workspace::new().await;
    workspace
        .atlas
        .put(ENDPOINT, Endpoint::with_status("AVAILABLE"));
    workspace.atlas.push_fault(Fault::Hang);
    let config = waiting_config(&workspace, "").replacen(
        "provider \"atlas\" {\n",
        "provider \"atlas\" {\n  request_timeout = \"1s\"\n",
        1,
    );
    workspace.write_main_tf(&config);
    let run = workspace.plan().await;
    run.assert_failure();
    let diagnostic = run.diagnostic("Error: Atlas Request Timed Out", "timed out");
    assert!(
        diagnostic.contains("request_timeout") && diagnostic.contains("127.0.0.1"),
        "{diagnostic}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_during_a_hanging_read_ends_terraform_cleanly() {
    let mut workspace = Workspace::new().await;
    workspace
        .atlas
        .put(ENDPOINT, Endpoint::with_status("AVAILABLE"));
    workspace.atlas.push_fault(Fault::Hang);
    let log = workspace.directory.path().join("terraform.log");
    workspace.set_env("TF_LOG", "DEBUG");
    workspace.set_env("TF_LOG_PATH", &log.to_string_lossy());
    workspace.write_main_tf(&waiting_config(&workspace, ""));
    let running = workspace.start(&["plan", "-no-color", "-input=false"]);
    // Wait until the read hangs at Atlas (the authenticated request arrived), then press Ctrl-C.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !workspace
        .atlas
        .requests()
        .iter()
        .any(|request| request.had_authorization)
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the read never reached the fake Atlas"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    running.interrupt();
    let (run, waited) = running.wait(Duration::from_secs(30)).await;
    assert!(
        waited < Duration::from_secs(10),
        "terraform took {waited:?} to exit after Ctrl-C:\n{run}"
    );
    run.assert_failure();
    run.assert_shows("Read Cancelled");
    let log = std::fs::read_to_string(&log).unwrap_or_default();
    for bad in [
        "plugin crashed",
        "panic",
        "failed to exit gracefully",
        "Plugin did not respond",
    ] {
        assert!(!run.text().contains(bad), "{bad:?} in the output:\n{run}");
        assert!(!log.contains(bad), "{bad:?} in the Terraform log");
    }
}

/// A configuration of `reads` interface endpoint data sources, with `provider_arguments`.
fn many_reads_config(workspace: &Workspace, provider_arguments: &str, reads: usize) -> String {
    let mut config = workspace.preamble(provider_arguments);
    for number in 0..reads {
        config.push_str(&Workspace::data_source(
            &format!("read_{number}"),
            fake_atlas::PROJECT_ID,
            fake_atlas::PRIVATE_LINK_ID,
            ENDPOINT,
        ));
    }
    config
}

/// Runs `terraform plan`; returns it and how long it took.
async fn timed_plan(workspace: &Workspace) -> (Run, Duration) {
    let started = std::time::Instant::now();
    let run = workspace.plan().await;
    (run, started.elapsed())
}

/// Issue 21, item 1: with `api_version = "auto"` (the default), six reads against an Atlas whose
/// data routes hang share the one v1.0 probe and its timeout. Before, each read waited for the
/// previous one's probe to time out and then probed again: 6 s and more for a 1 s timeout.
#[tokio::test(flavor = "multi_thread")]
async fn plan_against_a_hung_atlas_in_auto_mode_costs_one_timeout_not_one_per_read() {
    let workspace = Workspace::new().await;
    workspace.atlas.delay_answers(Duration::from_secs(60));
    workspace.write_main_tf(&many_reads_config(
        &workspace,
        "  request_timeout = \"1s\"\n  max_retries     = 0\n",
        6,
    ));
    let (run, took) = timed_plan(&workspace).await;
    run.assert_failure();
    assert_eq!(
        run.diagnostics()
            .iter()
            .filter(|block| block.starts_with("Error: Atlas Request Timed Out"))
            .count(),
        6,
        "{run}"
    );
    let probes = workspace
        .atlas
        .requests()
        .iter()
        .filter(|request| request.path.starts_with("/api/atlas/v1.0/"))
        .count();
    assert_eq!(probes, 1, "one v1.0 probe:\n{run}");
    assert!(took < Duration::from_millis(3500), "the plan took {took:?}");
}

/// Issue 21, item 2: ten reads with a service account whose token endpoint never answers share
/// one token request and its timeout. Before, the token lock was held through the request and
/// each read asked again after the previous one timed out: 10 s and more for a 1 s timeout.
#[tokio::test(flavor = "multi_thread")]
async fn plan_with_a_hung_token_endpoint_costs_one_timeout_not_one_per_read() {
    let mut workspace = Workspace::new().await;
    workspace.remove_env("MONGODB_ATLAS_PUBLIC_API_KEY");
    workspace.remove_env("MONGODB_ATLAS_PRIVATE_API_KEY");
    workspace.set_env("MONGODB_ATLAS_CLIENT_ID", fake_atlas::CLIENT_ID);
    workspace.set_env("MONGODB_ATLAS_CLIENT_SECRET", fake_atlas::CLIENT_SECRET);
    workspace
        .atlas
        .set_token_endpoint(fake_atlas::TokenEndpoint::Hang);
    workspace.write_main_tf(&many_reads_config(
        &workspace,
        "  api_version     = \"v2\"\n  request_timeout = \"1s\"\n",
        10,
    ));
    let (run, took) = timed_plan(&workspace).await;
    run.assert_failure();
    run.assert_shows("timed out");
    assert_eq!(workspace.atlas.token_requests(), 1, "{run}");
    assert!(took < Duration::from_millis(3500), "the plan took {took:?}");
}
