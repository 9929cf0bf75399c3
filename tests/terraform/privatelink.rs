//! End-to-end tests of `atlas_private_link` and `atlas_interface_endpoints`: the real
//! `terraform` binary drives the provider against the fake Atlas.
//!
//! Each scenario takes the route family as a parameter (the provider's `api_version` and the
//! path prefix every request must have) and runs on both.

use std::time::{Duration, Instant};

use fake_atlas::{
    ENDPOINT_SERVICE_NAME, Endpoint, Fault, PRIVATE_LINK_ID, PROJECT_ID, PrivateLink,
};
use serde_json::Value as Json;

use crate::support::*;

/// Which family of Atlas routes a scenario runs on.
#[derive(Clone, Copy, Debug)]
enum Route {
    V1,
    V2,
}

impl Route {
    /// The provider argument that selects the route.
    fn provider_arguments(self) -> &'static str {
        match self {
            Route::V1 => "  api_version = \"v1.0\"\n",
            Route::V2 => "  api_version = \"v2\"\n",
        }
    }

    fn prefix(self) -> &'static str {
        match self {
            Route::V1 => "/api/atlas/v1.0/",
            Route::V2 => "/api/atlas/v2/",
        }
    }
}

/// A workspace whose `main.tf` is the preamble for `route` and `body`.
async fn workspace(route: Route, body: &str) -> Workspace {
    let workspace = Workspace::new().await;
    workspace.write_main_tf(&format!(
        "{}{body}",
        workspace.preamble(route.provider_arguments())
    ));
    workspace
}

/// Every authenticated request went to the route family's prefix.
fn assert_route(workspace: &Workspace, route: Route) {
    for request in workspace.atlas.requests() {
        assert!(
            request.path.starts_with(route.prefix()),
            "{route:?}: {} went elsewhere",
            request.path
        );
    }
}

/// The GETs of the private link itself that Atlas answered with 200.
fn private_link_reads(workspace: &Workspace) -> usize {
    workspace
        .atlas
        .requests()
        .iter()
        .filter(|request| {
            request.status == 200
                && (request
                    .path
                    .ends_with(&format!("/privateEndpoint/{PRIVATE_LINK_ID}"))
                    || request
                        .path
                        .ends_with(&format!("/endpointService/{PRIVATE_LINK_ID}")))
        })
        .count()
}

fn endpoint_id(number: usize) -> String {
    format!("vpce-{number:017x}")
}

fn private_link_block(extra: &str) -> String {
    format!(
        "data \"atlas_private_link\" \"this\" {{\n  project_id      = {}\n  private_link_id = {}\n{extra}}}\n\n\
         output \"link\" {{\n  value = data.atlas_private_link.this\n}}\n",
        hcl(PROJECT_ID),
        hcl(PRIVATE_LINK_ID)
    )
}

const ENDPOINTS_BLOCK: &str = "data \"atlas_interface_endpoints\" \"all\" {\n  project_id      = \
     \"5f1a2b3c4d5e6f7a8b9c0d1e\"\n  private_link_id = \"6a1a2b3c4d5e6f7a8b9c0d1e\"\n}\n\n\
     output \"endpoints\" {\n  value = data.atlas_interface_endpoints.all.endpoints\n}\n\n\
     output \"all_available\" {\n  value = alltrue([for e in data.atlas_interface_endpoints.all.endpoints : \
     e.connection_status == \"AVAILABLE\"])\n}\n";

// ---------------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------------

async fn private_link_reads_status_service_name_endpoint_ids_and_region(route: Route) {
    let workspace = workspace(route, &private_link_block("")).await;
    workspace
        .atlas
        .put_private_link(PROJECT_ID, PRIVATE_LINK_ID, PrivateLink::available());
    for number in [3, 1, 2] {
        workspace
            .atlas
            .put(&endpoint_id(number), Endpoint::with_status("AVAILABLE"));
    }
    workspace
        .apply(&[])
        .await
        .assert_success()
        .assert_read_complete(
            "data.atlas_private_link.this",
            &format!("{PROJECT_ID}/{PRIVATE_LINK_ID}"),
        );
    let outputs = workspace.outputs().await;
    let link = field(field(&outputs, "link"), "value");
    assert_eq!(field(link, "status"), "AVAILABLE");
    assert_eq!(field(link, "endpoint_service_name"), ENDPOINT_SERVICE_NAME);
    assert!(field(link, "error_message").is_null());
    assert_eq!(
        field(link, "interface_endpoint_ids"),
        &Json::from(vec![endpoint_id(3), endpoint_id(1), endpoint_id(2)]),
        "in Atlas's order"
    );
    // The same on both routes (issue 23 item 7): v2 gives the region, v1.0 gives it inside the
    // endpoint service name.
    assert_eq!(field(link, "region"), "US_EAST_1");
    assert_eq!(field(link, "aws_region"), "us-east-1");
    assert_route(&workspace, route);
}

async fn private_link_waits_until_available(route: Route) {
    let workspace = workspace(
        route,
        &private_link_block("  wait_for_status = [\"AVAILABLE\"]\n  wait_timeout    = \"1m\"\n"),
    )
    .await;
    workspace.atlas.script_private_link(
        PROJECT_ID,
        PRIVATE_LINK_ID,
        vec![
            PrivateLink::with_status("INITIATING"),
            PrivateLink::with_status("WAITING_FOR_USER"),
            PrivateLink::available(),
        ],
    );
    workspace.plan().await.assert_success();
    // Polls at 0, 2 and 6 s: the third read is AVAILABLE.
    assert_eq!(private_link_reads(&workspace), 3);
    assert_route(&workspace, route);
}

async fn private_link_failed_ends_the_wait_at_once(route: Route) {
    let workspace = workspace(
        route,
        &private_link_block("  wait_for_status = [\"AVAILABLE\"]\n"),
    )
    .await;
    let mut failed = PrivateLink::with_status("FAILED");
    failed.error_message = Some("The endpoint service quota is exhausted.".into());
    workspace
        .atlas
        .put_private_link(PROJECT_ID, PRIVATE_LINK_ID, failed);
    let plan = workspace.plan().await;
    plan.assert_failure();
    let diagnostic = plan.diagnostic(
        "Error: Private Link Will Not Become Ready",
        "The endpoint service quota is exhausted.",
    );
    assert!(diagnostic.contains("FAILED"), "{diagnostic}");
    assert_eq!(private_link_reads(&workspace), 1);
}

async fn private_link_not_found_points_at_private_link_id(route: Route) {
    let workspace = workspace(
        route,
        &format!(
            "data \"atlas_private_link\" \"this\" {{\n  project_id      = {}\n  private_link_id = {}\n}}\n",
            hcl(PROJECT_ID),
            hcl(MISSING_PRIVATE_LINK)
        ),
    )
    .await;
    let plan = workspace.plan().await;
    plan.assert_failure();
    let diagnostic = plan.diagnostic("Error: Private Link Not Found", MISSING_PRIVATE_LINK);
    // Terraform quotes the configuration line of the attribute the diagnostic points at.
    assert!(
        diagnostic.contains("private_link_id ="),
        "should point at private_link_id: {diagnostic}"
    );
}

async fn bad_arguments_are_refused_at_validate_without_a_request(route: Route) {
    let workspace = workspace(
        route,
        "data \"atlas_interface_endpoints\" \"all\" {\n  project_id      = \"5f1a2b3c4d5e6f7a8b9c0d1e\"\n  \
         private_link_id = \"6A1A2B3C4D5E6F7A8B9C0D1E\"\n}\n\n\
         data \"atlas_private_link\" \"this\" {\n  project_id      = \"nope\"\n  \
         private_link_id = \"6a1a2b3c4d5e6f7a8b9c0d1e\"\n  wait_for_status = [\"AVAILABLE\", \"AVAILABLE\"]\n}\n\n\
         data \"atlas_interface_endpoint\" \"this\" {\n  project_id            = \"5f1a2b3c4d5e6f7a8b9c0d1e\"\n  \
         private_link_id       = \"6a1a2b3c4d5e6f7a8b9c0d1e\"\n  interface_endpoint_id = \"vpce-08fb7e9319909ec7b\"\n  \
         wait_for_status       = [null]\n  wait_timeout          = \"300000000000y\"\n}\n",
    )
    .await;
    let run = workspace.validate().await;
    run.assert_failure();
    run.diagnostic("Error: Invalid Private Link ID", "lowercase");
    run.diagnostic("Error: Invalid Project ID", "nope");
    run.diagnostic(
        "Error: Duplicate Status in Wait For Status",
        "AVAILABLE more than once",
    );
    // Issue 10 items 7 and 1: these passed validation, then waited for "." or panicked.
    run.diagnostic("Error: Null Status in Wait For Status", "position 1");
    let timeout = run
        .diagnostics()
        .into_iter()
        .filter(|block| block.starts_with("Error:") && block.contains("300000000000y"))
        .count();
    assert_eq!(timeout, 1, "the huge wait_timeout is refused:\n{run}");
    assert!(workspace.atlas.requests().is_empty());
}

async fn interface_endpoints_lists_every_endpoint_in_order_and_leaves_out_a_vanished_one(
    route: Route,
) {
    let workspace = workspace(route, ENDPOINTS_BLOCK).await;
    workspace.atlas.put(
        &endpoint_id(1),
        Endpoint {
            connection_status: "REJECTED".into(),
            error_message: Some("No route to the subnet.".into()),
            delete_requested: false,
        },
    );
    workspace
        .atlas
        .put(&endpoint_id(2), Endpoint::with_status("AVAILABLE"));
    workspace
        .atlas
        .put(&endpoint_id(3), Endpoint::with_status("PENDING"));
    workspace
        .atlas
        .vanish_endpoint(PROJECT_ID, PRIVATE_LINK_ID, &endpoint_id(2));
    workspace.apply(&[]).await.assert_success();
    let outputs = workspace.outputs().await;
    let endpoints = field(field(&outputs, "endpoints"), "value");
    assert_eq!(
        endpoints,
        &serde_json::json!([
            {
                "interface_endpoint_id": endpoint_id(1),
                "connection_status": "REJECTED",
                "error_message": "No route to the subnet.",
                "delete_requested": false,
            },
            {
                "interface_endpoint_id": endpoint_id(3),
                "connection_status": "PENDING",
                "error_message": null,
                "delete_requested": false,
            },
        ])
    );
    assert_eq!(field(field(&outputs, "all_available"), "value"), false);
    assert_route(&workspace, route);
}

async fn thirty_endpoints_cost_one_request_each_and_one_for_the_link(route: Route) {
    let workspace = workspace(route, ENDPOINTS_BLOCK).await;
    for number in 1..=30 {
        workspace
            .atlas
            .put(&endpoint_id(number), Endpoint::with_status("AVAILABLE"));
    }
    workspace.apply(&[]).await.assert_success();
    let outputs = workspace.outputs().await;
    let endpoints = field(field(&outputs, "endpoints"), "value");
    let ids: Vec<&str> = endpoints
        .as_array()
        .unwrap()
        .iter()
        .map(|endpoint| field(endpoint, "interface_endpoint_id").as_str().unwrap())
        .collect();
    let expected: Vec<String> = (1..=30).map(endpoint_id).collect();
    assert_eq!(ids, expected);
    assert_eq!(field(field(&outputs, "all_available"), "value"), true);
    let answered: Vec<_> = workspace
        .atlas
        .requests()
        .into_iter()
        .filter(|request| request.status == 200)
        .collect();
    // apply reads once: 1 private link + 30 endpoints.
    assert_eq!(answered.len(), 31, "{answered:#?}");
    assert_eq!(private_link_reads(&workspace), 1);
    assert_route(&workspace, route);
}

/// Issue 10 item 6: with `wait_timeout = "3s"`, a 503 with `Retry-After: 10` made the read take
/// 40 s. The deadline now bounds the client's retry pause too.
async fn wait_timeout_bounds_a_read_that_waits_to_retry(route: Route) {
    let workspace = workspace(
        route,
        &private_link_block("  wait_for_status = [\"AVAILABLE\"]\n  wait_timeout    = \"3s\"\n"),
    )
    .await;
    workspace.atlas.push_fault(Fault::Status {
        status: 503,
        error_code: Some("SERVICE_UNAVAILABLE".into()),
        retry_after: Some("10".into()),
    });
    let started = Instant::now();
    let plan = workspace.plan().await;
    let took = started.elapsed();
    plan.assert_failure();
    let diagnostic = plan.diagnostic(
        "Error: Timed Out Waiting for Private Link",
        "a read was still in flight",
    );
    assert!(diagnostic.contains("within 3s"), "{diagnostic}");
    // Retry-After alone would hold the read 10 s; terraform itself costs about a second.
    assert!(took < Duration::from_secs(9), "took {took:?}");
}

/// Issue 10 item 6: a server that never answers held a 3 s wait for the whole request timeout.
async fn wait_timeout_bounds_a_read_that_never_answers(route: Route) {
    let workspace = workspace(
        route,
        &private_link_block("  wait_for_status = [\"AVAILABLE\"]\n  wait_timeout    = \"3s\"\n"),
    )
    .await;
    workspace.atlas.put_private_link(
        PROJECT_ID,
        PRIVATE_LINK_ID,
        PrivateLink::with_status("INITIATING"),
    );
    // The first read answers INITIATING; the next never answers.
    workspace.atlas.push_fault(Fault::Body {
        content_type: "application/json".into(),
        body: serde_json::json!({"id": PRIVATE_LINK_ID, "status": "INITIATING"})
            .to_string()
            .into_bytes(),
    });
    workspace.atlas.push_fault(Fault::Hang);
    let started = Instant::now();
    let plan = workspace.plan().await;
    let took = started.elapsed();
    plan.assert_failure();
    let diagnostic = plan.diagnostic(
        "Error: Timed Out Waiting for Private Link",
        "still INITIATING",
    );
    assert!(
        diagnostic.contains("a read was still in flight"),
        "{diagnostic}"
    );
    // The request timeout is 30 s by default.
    assert!(took < Duration::from_secs(12), "took {took:?}");
}

// ---------------------------------------------------------------------------------------------
// One test per scenario and route
// ---------------------------------------------------------------------------------------------

macro_rules! on_routes {
    ($($scenario:ident),* $(,)?) => {
        mod v1 {
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $scenario() {
                    super::$scenario(super::Route::V1).await;
                }
            )*
        }
        mod v2 {
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $scenario() {
                    super::$scenario(super::Route::V2).await;
                }
            )*
        }
    };
}

on_routes!(
    private_link_reads_status_service_name_endpoint_ids_and_region,
    private_link_waits_until_available,
    private_link_failed_ends_the_wait_at_once,
    private_link_not_found_points_at_private_link_id,
    bad_arguments_are_refused_at_validate_without_a_request,
    interface_endpoints_lists_every_endpoint_in_order_and_leaves_out_a_vanished_one,
    thirty_endpoints_cost_one_request_each_and_one_for_the_link,
    wait_timeout_bounds_a_read_that_waits_to_retry,
    wait_timeout_bounds_a_read_that_never_answers,
);

/// README: an endpoint removed between the link's read and its own is left out *and logged*.
#[tokio::test(flavor = "multi_thread")]
async fn a_vanished_endpoint_is_logged_at_warn_with_its_id() {
    let mut workspace = workspace(Route::V2, ENDPOINTS_BLOCK).await;
    workspace
        .atlas
        .put(&endpoint_id(1), Endpoint::with_status("AVAILABLE"));
    workspace
        .atlas
        .put(&endpoint_id(2), Endpoint::with_status("AVAILABLE"));
    workspace
        .atlas
        .vanish_endpoint(PROJECT_ID, PRIVATE_LINK_ID, &endpoint_id(2));
    let log = workspace.directory.path().join("terraform.log");
    workspace.set_env("TF_LOG_PROVIDER", "WARN");
    workspace.set_env("TF_LOG_PATH", &log.to_string_lossy());
    workspace.plan().await.assert_success();
    let text = std::fs::read_to_string(&log).unwrap();
    let line = text
        .lines()
        .find(|line| line.contains("listed by the private link is gone"))
        .unwrap_or_else(|| panic!("no log line for the vanished endpoint:\n{text}"));
    assert!(line.contains("[WARN]"), "{line}");
    assert!(line.contains(&endpoint_id(2)), "{line}");
}

/// Issue 21 item 5: 200 endpoints answering with a 1 MB `errorMessage` each took the provider
/// to 502 MB. A list now holds at most 16 MiB: 17 answers just under Atlas's 1 MiB cap each
/// (a status of a million bytes; messages are cut, statuses count whole) fail the plan, and the
/// message names the limit.
#[tokio::test(flavor = "multi_thread")]
async fn a_list_over_16_mib_fails_the_plan_naming_the_limit() {
    let workspace = workspace(Route::V2, ENDPOINTS_BLOCK).await;
    let status = "P".repeat(1_000_000);
    for number in 1..=17 {
        workspace
            .atlas
            .put(&endpoint_id(number), Endpoint::with_status(&status));
    }
    let run = workspace.apply(&[]).await;
    run.assert_failure()
        .assert_shows("List from Atlas Too Large");
    let detail = run.diagnostic("Error: List from Atlas Too Large", "16 MiB");
    assert!(detail.contains("at endpoint 17 of 17"), "{detail}");
}
