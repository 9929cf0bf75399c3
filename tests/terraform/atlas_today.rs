//! End-to-end: the real `terraform` against the fake Atlas behaving as today's Atlas does: the
//! v1.0 routes gone, the versioned v2 routes, its real error bodies, and service accounts.

use fake_atlas::{CLIENT_ID, CLIENT_SECRET, Endpoint, Fault, PRIVATE_LINK_ID, PROJECT_ID};

use crate::support::*;

const ROUTE_WARNING: &str = "Warning: Atlas No Longer Serves the v1.0 Route";

/// `count` endpoints, all AVAILABLE, read with for_each, their statuses as an output.
fn many_reads(workspace: &Workspace, count: usize, provider_arguments: &str) -> Vec<String> {
    let ids: Vec<String> = (0..count).map(|n| format!("vpce-{n:017x}")).collect();
    for id in &ids {
        workspace.atlas.put(id, Endpoint::with_status("AVAILABLE"));
    }
    let set = ids.iter().map(|id| hcl(id)).collect::<Vec<_>>().join(", ");
    workspace.write_main_tf(&format!(
        "{}data \"atlas_interface_endpoint\" \"all\" {{\n  for_each              = toset([{set}])\n  \
         project_id            = {}\n  private_link_id       = {}\n  interface_endpoint_id = each.value\n}}\n\n\
         output \"statuses\" {{\n  value = {{ for id, endpoint in data.atlas_interface_endpoint.all : id => endpoint.connection_status }}\n}}\n",
        workspace.preamble(provider_arguments),
        hcl(PROJECT_ID),
        hcl(PRIVATE_LINK_ID)
    ));
    ids
}

fn count_lines(run: &Run, heading: &str) -> usize {
    run.diagnostics()
        .iter()
        .filter(|block| block.starts_with(heading))
        .count()
}

fn v1_requests(workspace: &Workspace) -> usize {
    workspace
        .atlas
        .requests()
        .iter()
        .filter(|request| request.path.starts_with("/api/atlas/v1.0/"))
        .count()
}

async fn assert_all_available(workspace: &Workspace, ids: &[String]) {
    let outputs = workspace.outputs().await;
    let statuses = field(field(&outputs, "statuses"), "value");
    for id in ids {
        assert_eq!(field(statuses, id), "AVAILABLE", "{outputs}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn auto_with_v1_gone_reads_v2_with_one_warning_and_one_probe() {
    let workspace = Workspace::new().await;
    workspace.atlas.set_v1_gone(true);
    let ids = many_reads(&workspace, 20, "");
    let apply = workspace.apply(&[]).await;
    apply.assert_success();
    assert_eq!(count_lines(&apply, ROUTE_WARNING), 1, "{apply}");
    apply.assert_shows("api_version = \"v2\"");
    assert_all_available(&workspace, &ids).await;
    // The plan inside this apply is the one provider process that reads: one v1.0 request, the
    // probe (its digest challenge is fetched on v2).
    assert_eq!(
        v1_requests(&workspace),
        1,
        "{:#?}",
        workspace.atlas.requests()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn v2_sends_no_v1_request_and_the_versioned_accept_header() {
    let workspace = Workspace::new().await;
    let ids = many_reads(&workspace, 3, "  api_version = \"v2\"\n");
    let apply = workspace.apply(&[]).await;
    apply.assert_success();
    assert_eq!(count_lines(&apply, ROUTE_WARNING), 0, "{apply}");
    assert_all_available(&workspace, &ids).await;
    let requests = workspace.atlas.requests();
    assert_eq!(v1_requests(&workspace), 0, "{requests:#?}");
    for request in requests.iter().filter(|request| request.status == 200) {
        assert_eq!(
            request.accept.as_deref(),
            Some("application/vnd.atlas.2023-01-01+json"),
            "{request:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn v1_against_gone_routes_says_to_use_v2() {
    let workspace = Workspace::new().await;
    workspace.atlas.set_v1_gone(true);
    many_reads(&workspace, 1, "  api_version = \"v1.0\"\n");
    let plan = workspace.plan().await;
    plan.assert_failure();
    let error = plan.diagnostic(
        "Error: Atlas No Longer Serves the v1.0 Route",
        "RESOURCE_NOT_FOUND",
    );
    assert!(error.contains("api_version = \"v2\""), "{error}");
    assert!(!error.contains("Check the id"), "{error}");
    assert!(
        workspace
            .atlas
            .requests()
            .iter()
            .all(|request| !request.path.starts_with("/api/atlas/v2/"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_api_version_is_caught_by_validate() {
    let workspace = Workspace::new().await;
    many_reads(&workspace, 1, "  api_version = \"v3\"\n");
    let validate = workspace.validate().await;
    validate.assert_failure();
    validate.diagnostic("Error: Invalid API Version", "v1.0");
    assert_eq!(workspace.atlas.request_count(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn atlas_error_bodies_give_their_own_diagnostics() {
    let workspace = Workspace::new().await;
    many_reads(&workspace, 1, "  max_retries = 0\n");

    workspace.atlas.push_fault(Fault::not_in_group());
    let plan = workspace.plan().await;
    plan.assert_failure();
    let error = plan.diagnostic("Error: No Access to the Atlas Project", PROJECT_ID);
    assert!(error.contains("NOT_IN_GROUP"), "{error}");
    assert!(error.contains("project_id"), "{error}");

    workspace
        .atlas
        .push_fault(Fault::org_requires_access_list("203.0.113.9"));
    let plan = workspace.plan().await;
    plan.assert_failure();
    plan.diagnostic("Error: Atlas Refused the Request", "203.0.113.9");

    workspace
        .atlas
        .push_fault(Fault::rate_limited_token_bucket(500));
    let plan = workspace.plan().await;
    plan.assert_failure();
    plan.diagnostic("Error: Atlas Rate Limit Reached", "8m 20s");
}

// ---- Service accounts ------------------------------------------------------------------

fn without_api_keys(workspace: &mut Workspace) {
    workspace.remove_env("MONGODB_ATLAS_PUBLIC_API_KEY");
    workspace.remove_env("MONGODB_ATLAS_PRIVATE_API_KEY");
}

fn bearer_reads(workspace: &Workspace) -> usize {
    workspace
        .atlas
        .requests()
        .iter()
        .filter(|request| {
            request.path.starts_with("/api/atlas/")
                && request.status == 200
                && request.authorization_scheme.as_deref() == Some("Bearer")
        })
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn service_account_from_arguments_makes_one_token_request_for_20_reads() {
    let mut workspace = Workspace::new().await;
    without_api_keys(&mut workspace);
    let ids = many_reads(
        &workspace,
        20,
        &format!(
            "  api_version   = \"v2\"\n  client_id     = {}\n  client_secret = {}\n",
            hcl(CLIENT_ID),
            hcl(CLIENT_SECRET)
        ),
    );
    let apply = workspace.apply(&[]).await;
    apply.assert_success();
    assert_all_available(&workspace, &ids).await;
    assert_eq!(workspace.atlas.token_requests(), 1);
    assert_eq!(bearer_reads(&workspace), 20);
}

#[tokio::test(flavor = "multi_thread")]
async fn service_account_from_the_environment_makes_one_token_request_for_20_reads() {
    let mut workspace = Workspace::new().await;
    without_api_keys(&mut workspace);
    workspace.set_env("MONGODB_ATLAS_CLIENT_ID", CLIENT_ID);
    workspace.set_env("MONGODB_ATLAS_CLIENT_SECRET", CLIENT_SECRET);
    let ids = many_reads(&workspace, 20, "");
    let apply = workspace.apply(&[]).await;
    apply.assert_success();
    assert_all_available(&workspace, &ids).await;
    assert_eq!(workspace.atlas.token_requests(), 1);
    assert_eq!(bearer_reads(&workspace), 20);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_client_secret_is_one_clear_diagnostic_and_never_shown() {
    let secret = "mdb_sa_sk_0badc0de0badc0de0badc0de0badc0de";
    let mut workspace = Workspace::new().await;
    without_api_keys(&mut workspace);
    let log = workspace.directory.path().join("trace.log");
    workspace.set_env("TF_LOG", "trace");
    workspace.set_env("TF_LOG_PATH", &log.display().to_string());
    workspace.set_env("MONGODB_ATLAS_CLIENT_SECRET", secret);
    many_reads(
        &workspace,
        1,
        &format!("  client_id = {}\n", hcl(CLIENT_ID)),
    );
    let plan = workspace.plan().await;
    plan.assert_failure();
    let error = plan.diagnostic("Error: Service Account Credentials Rejected", CLIENT_ID);
    assert!(error.contains("provider argument `client_id`"), "{error}");
    assert_eq!(count_lines(&plan, "Error:"), 1, "{plan}");
    let trace = std::fs::read_to_string(&log).expect("the trace log");
    assert!(
        trace.contains("requesting a service account token"),
        "the provider's log is in it"
    );
    for shown in [&plan.stdout, &plan.stderr, &trace] {
        assert!(!shown.contains(secret), "the secret was printed");
        assert!(!shown.contains(CLIENT_SECRET));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn precedence_warns_once_and_uses_the_first_complete_kind() {
    let mut workspace = Workspace::new().await;
    // API keys from the environment (Workspace's default), an access token too.
    let token = workspace
        .atlas
        .issue_token(std::time::Duration::from_secs(3600));
    workspace.set_env("MONGODB_ATLAS_ACCESS_TOKEN", &token);
    many_reads(&workspace, 2, "  api_version = \"v2\"\n");
    let plan = workspace.plan().await;
    plan.assert_success();
    let warning = plan.diagnostic(
        "Warning: More Than One Kind of Atlas Credentials",
        "ignores",
    );
    assert!(
        warning.contains("MONGODB_ATLAS_PUBLIC_API_KEY"),
        "{warning}"
    );
    assert!(!warning.contains(&token), "{warning}");
    assert_eq!(bearer_reads(&workspace), 2);
    assert_eq!(workspace.atlas.challenges_issued(), 0, "no digest request");
}

#[tokio::test(flavor = "multi_thread")]
async fn half_a_service_account_is_an_error_naming_what_is_missing() {
    let mut workspace = Workspace::new().await;
    workspace.set_env("MONGODB_ATLAS_CLIENT_ID", CLIENT_ID);
    many_reads(&workspace, 1, "");
    let plan = workspace.plan().await;
    plan.assert_failure();
    let error = plan.diagnostic("Error: Incomplete Atlas Credentials", "client_secret");
    assert!(error.contains("MONGODB_ATLAS_CLIENT_SECRET"), "{error}");
    assert_eq!(workspace.atlas.request_count(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rate_limited_token_endpoint_says_what_to_do() {
    let mut workspace = Workspace::new().await;
    without_api_keys(&mut workspace);
    workspace.set_env("MONGODB_ATLAS_CLIENT_ID", CLIENT_ID);
    workspace.set_env("MONGODB_ATLAS_CLIENT_SECRET", CLIENT_SECRET);
    workspace.atlas.rate_limit_tokens(true);
    // No retry here, so the test does not wait out the one-minute window; the retry itself is
    // tested against the client in tests/atlas/today.rs.
    many_reads(&workspace, 1, "  max_retries = 0\n");
    let plan = workspace.plan().await;
    plan.assert_failure();
    let error = plan.diagnostic("Error: Service Account Token Limit Reached", "RATE_LIMITED");
    assert!(error.contains("its own service account"), "{error}");
}

/// The three data sources of one configuration, for the tests of the provider block's errors.
fn all_three_data_sources(workspace: &Workspace, provider_arguments: &str) {
    workspace.write_main_tf(&format!(
        "{}data \"atlas_private_link\" \"link\" {{\n  project_id      = {project}\n  private_link_id = {link}\n}}\n\n\
         data \"atlas_interface_endpoints\" \"all\" {{\n  project_id      = {project}\n  private_link_id = {link}\n}}\n\n\
         data \"atlas_interface_endpoint\" \"one\" {{\n  project_id            = {project}\n  private_link_id       = {link}\n  \
         interface_endpoint_id = \"vpce-0a0000000000000a1\"\n}}\n",
        workspace.preamble(provider_arguments),
        project = hcl(PROJECT_ID),
        link = hcl(PRIVATE_LINK_ID)
    ));
}

/// Issue 23 item 2: "Missing Atlas Credentials" came once per data source ("with
/// data.atlas_private_link.pl ..."), never on the provider block. It is one problem of the
/// provider configuration: one error there, no read, no request; validate still works.
#[tokio::test(flavor = "multi_thread")]
async fn missing_credentials_are_one_error_on_the_provider_block() {
    let mut workspace = Workspace::new().await;
    without_api_keys(&mut workspace);
    all_three_data_sources(&workspace, "");
    workspace.validate().await.assert_success();
    let plan = workspace.plan().await;
    plan.assert_failure();
    assert_eq!(
        count_lines(&plan, "Error: Missing Atlas Credentials"),
        1,
        "{plan}"
    );
    assert_eq!(count_lines(&plan, "Error:"), 1, "{plan}");
    let error = plan.diagnostic(
        "Error: Missing Atlas Credentials",
        "MONGODB_ATLAS_CLIENT_ID",
    );
    assert!(
        error.contains("with provider[\"registry.terraform.io/local/atlas\"]"),
        "{error}"
    );
    assert_eq!(workspace.atlas.request_count(), 0);
}

/// Issue 21 item 6: `access_token = "abc\ndef"` passed `terraform validate` and failed later
/// with a message about Atlas's answer; `access_token = ""` was sent as a bearer token of
/// nothing, preferred over a complete service account. Both are errors on `access_token` at
/// validate, before any request.
#[tokio::test(flavor = "multi_thread")]
async fn an_empty_or_malformed_access_token_is_refused_at_validate() {
    let mut workspace = Workspace::new().await;
    workspace.set_env("MONGODB_ATLAS_CLIENT_ID", CLIENT_ID);
    workspace.set_env("MONGODB_ATLAS_CLIENT_SECRET", CLIENT_SECRET);
    for (argument, heading, mentioning) in [
        (
            "\"\"",
            "Error: Empty Atlas Credential",
            "`access_token` is the empty string",
        ),
        (
            "\"abc\\ndef\"",
            "Error: Invalid Atlas Access Token",
            "holds a line break at byte 4",
        ),
    ] {
        all_three_data_sources(&workspace, &format!("  access_token = {argument}\n"));
        let validate = workspace.validate().await;
        validate.assert_failure();
        let error = validate.diagnostic(heading, mentioning);
        assert!(error.contains("access_token"), "{error}");
        assert_eq!(count_lines(&validate, "Error:"), 1, "{validate}");
    }
    // The environment variable, which validate cannot see, is checked when the provider is
    // configured: one error, no request.
    all_three_data_sources(&workspace, "");
    workspace.set_env("MONGODB_ATLAS_ACCESS_TOKEN", "abc def");
    let plan = workspace.plan().await;
    plan.assert_failure();
    plan.diagnostic(
        "Error: Invalid Atlas Access Token",
        "MONGODB_ATLAS_ACCESS_TOKEN",
    );
    assert_eq!(count_lines(&plan, "Error:"), 1, "{plan}");
    assert_eq!(workspace.atlas.request_count(), 0);
}

/// Issue 21, item 7: an oversized answer from the token endpoint is described as what was asked
/// for, a service-account token, not as an interface endpoint.
#[tokio::test(flavor = "multi_thread")]
async fn an_oversized_token_answer_is_reported_as_an_unusable_service_account_token() {
    let mut workspace = Workspace::new().await;
    without_api_keys(&mut workspace);
    workspace.set_env("MONGODB_ATLAS_CLIENT_ID", CLIENT_ID);
    workspace.set_env("MONGODB_ATLAS_CLIENT_SECRET", CLIENT_SECRET);
    workspace
        .atlas
        .set_token_endpoint(fake_atlas::TokenEndpoint::Body(format!(
            "{{\"access_token\":\"{}\"}}",
            "a".repeat(2 << 20)
        )));
    many_reads(&workspace, 1, "  api_version = \"v2\"\n");
    let plan = workspace.plan().await;
    plan.assert_failure();
    let error = plan.diagnostic("Error: Unusable Service Account Token", "larger than");
    assert!(!error.contains("interface endpoint is"), "{error}");
    plan.assert_hides("aaaaaaaaaaaaaaaa");
}

/// Issue 21, item 8: a v1.0 `404 RESOURCE_NOT_FOUND` for an endpoint that does not exist moves
/// `auto` to v2, whose "not found" is the error; nothing showed that v1.0 is gone, so no warning
/// says so.
#[tokio::test(flavor = "multi_thread")]
async fn auto_reports_a_missing_endpoint_from_v2_without_saying_v1_is_gone() {
    let workspace = Workspace::new().await;
    workspace.atlas.push_fault(Fault::Status {
        status: 404,
        error_code: Some("RESOURCE_NOT_FOUND".into()),
        retry_after: None,
    });
    workspace.write_config(&Workspace::data_source(
        "missing",
        PROJECT_ID,
        PRIVATE_LINK_ID,
        MISSING_ENDPOINT,
    ));
    let plan = workspace.plan().await;
    plan.assert_failure();
    plan.diagnostic("Error: Interface Endpoint Not Found", MISSING_ENDPOINT);
    assert_eq!(count_lines(&plan, ROUTE_WARNING), 0, "{plan}");
    assert_eq!(v1_requests(&workspace), 1);
}
