//! End-to-end tests: the real `terraform` binary drives the provider binary (through a
//! `dev_overrides` CLI configuration, so no `terraform init`) against an in-process fake Atlas.
//!
//! Each test has its own temporary directory and its own fake Atlas on a free port, so the tests
//! run in parallel. `terraform` must be on PATH: without it these tests fail, they do not skip.

use fake_atlas::{Endpoint, PRIVATE_KEY, PRIVATE_LINK_ID, PROJECT_ID, PUBLIC_KEY};
use serde_json::Value as Json;

use crate::support::*;

// ---------------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn apply_reports_every_status() {
    let workspace = Workspace::new().await;
    // (key, endpoint id, status, error message, delete requested)
    let cases: &[(&str, &str, &str, Option<&str>, bool)] = &[
        ("none", "vpce-00000000000000001", "NONE", None, false),
        (
            "pending_acceptance",
            "vpce-00000000000000002",
            "PENDING_ACCEPTANCE",
            None,
            false,
        ),
        ("pending", "vpce-00000000000000003", "PENDING", None, false),
        (
            "available",
            "vpce-00000000000000004",
            "AVAILABLE",
            None,
            false,
        ),
        (
            "rejected",
            "vpce-00000000000000005",
            "REJECTED",
            Some("AWS rejected the connection: the endpoint's subnet has no route."),
            false,
        ),
        ("deleting", "vpce-00000000000000006", "DELETING", None, true),
        (
            "degraded",
            "vpce-00000000000000007",
            "DEGRADED",
            None,
            false,
        ),
    ];
    for (_, endpoint_id, status, error_message, delete_requested) in cases {
        workspace.atlas.put(
            endpoint_id,
            Endpoint {
                connection_status: (*status).to_owned(),
                error_message: error_message.map(str::to_owned),
                delete_requested: *delete_requested,
            },
        );
    }
    let endpoints: String = cases
        .iter()
        .map(|(key, endpoint_id, ..)| format!("    {key} = {}\n", hcl(endpoint_id)))
        .collect();
    workspace.write_config(&format!(
        "locals {{\n  endpoints = {{\n{endpoints}  }}\n}}\n\n\
         data \"atlas_interface_endpoint\" \"all\" {{\n  for_each              = local.endpoints\n  \
         project_id            = {}\n  private_link_id       = {}\n  interface_endpoint_id = each.value\n}}\n\n\
         output \"endpoints\" {{\n  value = data.atlas_interface_endpoint.all\n}}\n",
        hcl(PROJECT_ID),
        hcl(PRIVATE_LINK_ID)
    ));

    // One read at a time: this test is about what each status looks like; concurrent reads have
    // their own test.
    let apply = workspace.apply(&["-parallelism=1"]).await;
    apply
        .assert_success()
        .assert_shows("Apply complete!")
        .assert_read_complete(
            "data.atlas_interface_endpoint.all[\"degraded\"]",
            &format!("{PROJECT_ID}/{PRIVATE_LINK_ID}/vpce-00000000000000007"),
        );

    let outputs = workspace.outputs().await;
    let endpoints = field(field(&outputs, "endpoints"), "value");
    assert_eq!(
        endpoints.as_object().map(|map| map.len()),
        Some(cases.len()),
        "{endpoints:#}"
    );
    for (key, endpoint_id, status, error_message, delete_requested) in cases {
        let endpoint = field(endpoints, key);
        assert_eq!(field(endpoint, "connection_status"), status, "{key}");
        match error_message {
            Some(message) => assert_eq!(field(endpoint, "error_message"), message, "{key}"),
            None => assert!(
                field(endpoint, "error_message").is_null(),
                "{key}: error_message should be null when Atlas says null: {endpoint:#}"
            ),
        }
        assert_eq!(
            field(endpoint, "delete_requested"),
            delete_requested,
            "{key}"
        );
        assert_eq!(
            field(endpoint, "id"),
            &format!("{PROJECT_ID}/{PRIVATE_LINK_ID}/{endpoint_id}"),
            "{key}"
        );
        assert_eq!(field(endpoint, "interface_endpoint_id"), endpoint_id);
        assert_eq!(field(endpoint, "project_id"), PROJECT_ID);
        assert_eq!(field(endpoint, "private_link_id"), PRIVATE_LINK_ID);
    }
    assert_eq!(
        workspace.successful_reads().len(),
        cases.len(),
        "one successful read per endpoint: {:#?}",
        workspace.atlas.requests()
    );
}

/// Terraform reads data sources concurrently (10 at a time by default), and every read shares
/// the provider's one digest session: a valid key must never be reported as rejected because
/// of how concurrent requests reuse the nonce.
#[tokio::test(flavor = "multi_thread")]
async fn concurrent_reads_all_authenticate() {
    const ENDPOINTS: usize = 20;
    const PLANS: usize = 3;
    let workspace = Workspace::new().await;
    let ids: Vec<String> = (1..=ENDPOINTS)
        .map(|number| format!("vpce-{number:017x}"))
        .collect();
    for id in &ids {
        workspace.atlas.put(id, Endpoint::with_status("AVAILABLE"));
    }
    let set: String = ids.iter().map(|id| format!("{}, ", hcl(id))).collect();
    workspace.write_config(&format!(
        "data \"atlas_interface_endpoint\" \"all\" {{\n  for_each              = toset([{set}])\n  \
         project_id            = {}\n  private_link_id       = {}\n  interface_endpoint_id = each.value\n}}\n\n\
         output \"statuses\" {{\n  value = distinct([for endpoint in data.atlas_interface_endpoint.all : endpoint.connection_status])\n}}\n",
        hcl(PROJECT_ID),
        hcl(PRIVATE_LINK_ID)
    ));
    for plan_number in 1..=PLANS {
        let plan = workspace
            .terraform(&["plan", "-no-color", "-input=false", "-parallelism=20"])
            .await;
        assert!(
            plan.status.success(),
            "plan {plan_number} of {PLANS}: {} of {ENDPOINTS} concurrent reads failed; Atlas answered: {:?}\n{plan}",
            plan.diagnostics()
                .iter()
                .filter(|block| block.starts_with("Error: "))
                .count(),
            workspace
                .atlas
                .requests()
                .iter()
                .map(|request| (request.had_authorization, request.status))
                .collect::<Vec<_>>()
        );
        plan.assert_hides("Atlas Rejected the API Key")
            .assert_shows("statuses = [ + \"AVAILABLE\", ]");
    }
    assert_eq!(
        workspace.successful_reads().len(),
        ENDPOINTS * PLANS,
        "{:#?}",
        workspace.atlas.requests()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn check_block_warns_when_not_available() {
    let mut workspace = Workspace::new().await;
    workspace
        .atlas
        .put(PENDING_ENDPOINT, Endpoint::with_status("PENDING"));
    workspace
        .atlas
        .put(AVAILABLE_ENDPOINT, Endpoint::with_status("AVAILABLE"));
    let config = |endpoint: &str| {
        format!(
            "variable \"endpoint\" {{\n  type = string\n}}\n\n\
             check \"endpoint_available\" {{\n  \
             data \"atlas_interface_endpoint\" \"this\" {{\n    project_id            = {}\n    \
             private_link_id       = {}\n    interface_endpoint_id = {}\n  }}\n\n  \
             assert {{\n    condition     = data.atlas_interface_endpoint.this.connection_status == \"AVAILABLE\"\n    \
             error_message = \"Endpoint ${{data.atlas_interface_endpoint.this.interface_endpoint_id}} is ${{data.atlas_interface_endpoint.this.connection_status}}, not AVAILABLE yet.\"\n  }}\n}}\n",
            hcl(PROJECT_ID),
            hcl(PRIVATE_LINK_ID),
            hcl(endpoint)
        )
    };

    workspace.write_config(&config("${var.endpoint}"));
    workspace.set_env("TF_VAR_endpoint", PENDING_ENDPOINT);
    let pending = workspace.plan().await;
    pending.assert_success();
    let warning = pending.diagnostic("Warning: Check block assertion failed", "not AVAILABLE yet");
    assert!(
        warning.contains(&format!(
            "Endpoint {PENDING_ENDPOINT} is PENDING, not AVAILABLE yet."
        )),
        "{warning}"
    );
    assert!(
        warning.contains("connection_status is \"PENDING\""),
        "{warning}"
    );

    workspace.set_env("TF_VAR_endpoint", AVAILABLE_ENDPOINT);
    let available = workspace.plan().await;
    available
        .assert_success()
        .assert_hides("Check block assertion failed")
        .assert_hides("not AVAILABLE yet");
    let warnings: Vec<String> = available
        .diagnostics()
        .into_iter()
        .filter(|block| !block.starts_with("Warning: Provider development overrides"))
        .collect();
    assert!(
        warnings.is_empty(),
        "no diagnostics besides dev_overrides' expected: {warnings:#?}"
    );
    assert_eq!(
        workspace.successful_reads().len(),
        2,
        "each plan read the scoped data source: {:#?}",
        workspace.atlas.requests()
    );
}

/// docs/plan-time-assertions.md: a scoped data source whose read fails (here a missing
/// endpoint) makes the check block warn with the read's own diagnostic, and the plan is still
/// written.
#[tokio::test(flavor = "multi_thread")]
async fn check_block_turns_a_failed_read_into_a_warning_and_still_writes_the_plan() {
    let workspace = Workspace::new().await;
    workspace.write_config(&format!(
        "check \"endpoint_available\" {{\n  \
         data \"atlas_interface_endpoint\" \"this\" {{\n    project_id            = {}\n    \
         private_link_id       = {}\n    interface_endpoint_id = {}\n  }}\n\n  \
         assert {{\n    condition     = data.atlas_interface_endpoint.this.connection_status == \"AVAILABLE\"\n    \
         error_message = \"not AVAILABLE\"\n  }}\n}}\n",
        hcl(PROJECT_ID),
        hcl(PRIVATE_LINK_ID),
        hcl(MISSING_ENDPOINT)
    ));
    let plan = workspace
        .terraform(&["plan", "-no-color", "-input=false", "-out=check.tfplan"])
        .await;
    plan.assert_success();
    let warning = plan.diagnostic("Warning: Interface Endpoint Not Found", MISSING_ENDPOINT);
    assert!(
        warning.contains("PRIVATELINK_INTERFACE_ENDPOINT_NOT_FOUND"),
        "{warning}"
    );
    assert!(
        !plan.text().contains("Error:"),
        "a failed read inside a check must not be an error:\n{plan}"
    );
    assert!(
        workspace.directory.path().join("check.tfplan").is_file(),
        "the plan was not written:\n{plan}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn postcondition_fails_plan_when_not_available() {
    let mut workspace = Workspace::new().await;
    workspace
        .atlas
        .put(PENDING_ENDPOINT, Endpoint::with_status("PENDING"));
    workspace
        .atlas
        .put(AVAILABLE_ENDPOINT, Endpoint::with_status("AVAILABLE"));
    workspace.write_config(&format!(
        "variable \"endpoint\" {{\n  type = string\n}}\n\n\
         data \"atlas_interface_endpoint\" \"this\" {{\n  project_id            = {}\n  \
         private_link_id       = {}\n  interface_endpoint_id = var.endpoint\n\n  \
         lifecycle {{\n    postcondition {{\n      condition     = self.connection_status == \"AVAILABLE\"\n      \
         error_message = \"The PrivateLink endpoint must be AVAILABLE before clusters can use it.\"\n    }}\n  }}\n}}\n",
        hcl(PROJECT_ID),
        hcl(PRIVATE_LINK_ID)
    ));

    workspace.set_env("TF_VAR_endpoint", PENDING_ENDPOINT);
    let pending = workspace.plan().await;
    pending.assert_failure();
    let error = pending.diagnostic(
        "Error: Resource postcondition failed",
        "must be AVAILABLE before clusters can use it",
    );
    assert!(
        error.contains("self.connection_status is \"PENDING\""),
        "{error}"
    );

    workspace.set_env("TF_VAR_endpoint", AVAILABLE_ENDPOINT);
    let available = workspace.plan().await;
    available
        .assert_success()
        .assert_hides("postcondition failed")
        .assert_hides("must be AVAILABLE before clusters can use it");
}

#[tokio::test(flavor = "multi_thread")]
async fn validate_rejects_each_malformed_id() {
    let workspace = Workspace::new().await;
    let bad_project = "not-a-project";
    let bad_link = "6A1A2B3C4D5E6F7A8B9C0D1E";
    let bad_endpoint = "vpce-123";
    workspace.write_config(&format!(
        "{}{}{}",
        Workspace::data_source(
            "bad_project",
            bad_project,
            PRIVATE_LINK_ID,
            AVAILABLE_ENDPOINT
        ),
        Workspace::data_source("bad_link", PROJECT_ID, bad_link, AVAILABLE_ENDPOINT),
        Workspace::data_source("bad_endpoint", PROJECT_ID, PRIVATE_LINK_ID, bad_endpoint),
    ));

    let validate = workspace.validate().await;
    validate.assert_failure();
    for run in [&validate, &workspace.plan().await] {
        run.assert_failure();
        for (summary, attribute, value, block) in [
            (
                "Invalid Project ID",
                "project_id",
                bad_project,
                "bad_project",
            ),
            (
                "Invalid Private Link ID",
                "private_link_id",
                bad_link,
                "bad_link",
            ),
            (
                "Invalid Interface Endpoint ID",
                "interface_endpoint_id",
                bad_endpoint,
                "bad_endpoint",
            ),
        ] {
            let error = run.diagnostic(&format!("Error: {summary}"), &format!("\"{value}\""));
            // The message names the attribute, and Terraform points at its line.
            assert!(error.contains(&format!("`{attribute}`")), "{error}");
            assert!(
                error.contains(&format!(
                    "in data \"atlas_interface_endpoint\" \"{block}\":"
                )),
                "{error}"
            );
            assert!(
                error.contains(&squash(&format!("{attribute} = \"{value}\""))),
                "Terraform should show the attribute's line: {error}"
            );
        }
        assert_eq!(
            run.diagnostics()
                .iter()
                .filter(|block| block.starts_with("Error: "))
                .count(),
            3,
            "one error per malformed id:\n{run}"
        );
    }
    let link_error = validate.diagnostic("Error: Invalid Private Link ID", bad_link);
    assert!(link_error.contains("lowercase"), "{link_error}");
    assert!(
        workspace.atlas.requests().is_empty(),
        "a malformed id must never reach Atlas: {:#?}",
        workspace.atlas.requests()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_private_key_is_reported() {
    let wrong_private_key = "0badc0de-0000-4000-8000-00000000dead";
    let mut workspace = Workspace::new().await;
    workspace
        .atlas
        .put(AVAILABLE_ENDPOINT, Endpoint::with_status("AVAILABLE"));
    let body = Workspace::data_source("this", PROJECT_ID, PRIVATE_LINK_ID, AVAILABLE_ENDPOINT);
    workspace.write_config(&body);

    // The key from the environment, with provider logs on: the private key is in no output.
    workspace.set_env("MONGODB_ATLAS_PRIVATE_API_KEY", wrong_private_key);
    workspace.set_env("TF_LOG", "trace");
    let from_environment = workspace.plan().await;
    from_environment.assert_failure();
    let error = from_environment.diagnostic("Error: Atlas Rejected the API Key", PUBLIC_KEY);
    assert!(error.contains(&format!("\"{PUBLIC_KEY}\"")), "{error}");
    assert!(
        error.contains("from the environment variable MONGODB_ATLAS_PUBLIC_API_KEY"),
        "{error}"
    );
    assert!(error.contains("HTTP 401"), "{error}");
    for secret in [wrong_private_key, PRIVATE_KEY] {
        assert!(
            !from_environment.stdout.contains(secret) && !from_environment.stderr.contains(secret),
            "a private key was printed:\n{from_environment}"
        );
    }

    // The key as provider arguments: the message says so, and still names the variable.
    workspace.remove_env("TF_LOG");
    workspace.remove_env("MONGODB_ATLAS_PUBLIC_API_KEY");
    workspace.remove_env("MONGODB_ATLAS_PRIVATE_API_KEY");
    workspace.write_main_tf(&format!(
        "{}{body}",
        workspace.preamble(&format!(
            "  public_key  = {}\n  private_key = {}\n",
            hcl(PUBLIC_KEY),
            hcl(wrong_private_key)
        ))
    ));
    let from_arguments = workspace.plan().await;
    from_arguments.assert_failure();
    let error = from_arguments.diagnostic("Error: Atlas Rejected the API Key", PUBLIC_KEY);
    assert!(
        error.contains("from the provider argument `public_key`"),
        "{error}"
    );
    assert!(error.contains("MONGODB_ATLAS_PUBLIC_API_KEY"), "{error}");
    for secret in [wrong_private_key, PRIVATE_KEY] {
        assert!(
            !from_arguments.stdout.contains(secret) && !from_arguments.stderr.contains(secret),
            "a private key was printed:\n{from_arguments}"
        );
    }
    assert!(
        workspace.successful_reads().is_empty(),
        "{:#?}",
        workspace.atlas.requests()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_endpoint_is_reported() {
    let workspace = Workspace::new().await;
    workspace.write_config(&Workspace::data_source(
        "missing",
        PROJECT_ID,
        PRIVATE_LINK_ID,
        MISSING_ENDPOINT,
    ));
    let missing_endpoint = workspace.plan().await;
    missing_endpoint.assert_failure();
    let error =
        missing_endpoint.diagnostic("Error: Interface Endpoint Not Found", MISSING_ENDPOINT);
    assert!(
        error.contains("HTTP 404 PRIVATELINK_INTERFACE_ENDPOINT_NOT_FOUND"),
        "{error}"
    );
    assert!(
        error.contains(&format!(
            "Nothing in Atlas matches `interface_endpoint_id` = \"{MISSING_ENDPOINT}\""
        )),
        "{error}"
    );
    assert!(
        error.contains(&format!("interface_endpoint_id = \"{MISSING_ENDPOINT}\"")),
        "Terraform should point at the endpoint id's line: {error}"
    );

    workspace.write_config(&Workspace::data_source(
        "missing",
        PROJECT_ID,
        MISSING_PRIVATE_LINK,
        AVAILABLE_ENDPOINT,
    ));
    let missing_link = workspace.plan().await;
    missing_link.assert_failure();
    let error =
        missing_link.diagnostic("Error: Interface Endpoint Not Found", MISSING_PRIVATE_LINK);
    assert!(error.contains("HTTP 404 PRIVATELINK_NOT_FOUND"), "{error}");
    assert!(
        error.contains(&format!(
            "Nothing in Atlas matches `private_link_id` = \"{MISSING_PRIVATE_LINK}\""
        )),
        "{error}"
    );
    assert!(
        error.contains(&format!("private_link_id = \"{MISSING_PRIVATE_LINK}\"")),
        "Terraform should point at the private link id's line: {error}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_inputs_defer_the_read_to_apply() {
    let workspace = Workspace::new().await;
    workspace
        .atlas
        .put(AVAILABLE_ENDPOINT, Endpoint::with_status("AVAILABLE"));
    workspace.write_config(&format!(
        "resource \"terraform_data\" \"ids\" {{\n  input = {{\n    project  = {}\n    link     = {}\n    \
         endpoint = {}\n  }}\n}}\n\n\
         data \"atlas_interface_endpoint\" \"this\" {{\n  project_id            = terraform_data.ids.output.project\n  \
         private_link_id       = terraform_data.ids.output.link\n  \
         interface_endpoint_id = terraform_data.ids.output.endpoint\n}}\n\n\
         output \"status\" {{\n  value = data.atlas_interface_endpoint.this.connection_status\n}}\n",
        hcl(PROJECT_ID),
        hcl(PRIVATE_LINK_ID),
        hcl(AVAILABLE_ENDPOINT)
    ));

    let plan = workspace.plan().await;
    plan.assert_success()
        .assert_shows("# data.atlas_interface_endpoint.this will be read during apply")
        .assert_shows("connection_status = (known after apply)")
        .assert_shows("status = (known after apply)");
    assert!(
        workspace.atlas.requests().is_empty(),
        "nothing can be read while the ids are unknown: {:#?}",
        workspace.atlas.requests()
    );

    let apply = workspace.apply(&[]).await;
    apply.assert_success().assert_read_complete(
        "data.atlas_interface_endpoint.this",
        &format!("{PROJECT_ID}/{PRIVATE_LINK_ID}/{AVAILABLE_ENDPOINT}"),
    );
    let reads = workspace.successful_reads();
    assert_eq!(reads.len(), 1, "{:#?}", workspace.atlas.requests());
    assert!(reads[0].path.ends_with(AVAILABLE_ENDPOINT), "{reads:#?}");
    let outputs = workspace.outputs().await;
    assert_eq!(field(field(&outputs, "status"), "value"), "AVAILABLE");
}

#[tokio::test(flavor = "multi_thread")]
async fn providers_schema_json() {
    let workspace = Workspace::new().await;
    workspace.write_config(&Workspace::data_source(
        "this",
        PROJECT_ID,
        PRIVATE_LINK_ID,
        AVAILABLE_ENDPOINT,
    ));
    let run = workspace.terraform(&["providers", "schema", "-json"]).await;
    run.assert_success();
    let schemas: Json = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|error| panic!("not JSON ({error}):\n{run}"));
    let provider = schemas
        .pointer("/provider_schemas/registry.terraform.io~1local~1atlas")
        .unwrap_or_else(|| panic!("no registry.terraform.io/local/atlas:\n{run}"));

    let flag =
        |attribute: &Json, name: &str| attribute.get(name).and_then(Json::as_bool).unwrap_or(false);
    // name, type, required, optional, computed, sensitive
    type Expected<'a> = &'a [(&'a str, &'a str, bool, bool, bool, bool)];
    let check_block = |block: &Json, expected: Expected<'_>, what: &str| {
        let description = block
            .get("description")
            .and_then(Json::as_str)
            .unwrap_or_default();
        assert!(!description.trim().is_empty(), "{what} has no description");
        let attributes = field(block, "attributes")
            .as_object()
            .unwrap_or_else(|| panic!("{what}: attributes is not an object"));
        for (name, kind, required, optional, computed, sensitive) in expected {
            let attribute = attributes
                .get(*name)
                .unwrap_or_else(|| panic!("{what} has no attribute `{name}`: {attributes:#?}"));
            assert_eq!(field(attribute, "type"), kind, "{what}.{name} type");
            assert_eq!(
                flag(attribute, "required"),
                *required,
                "{what}.{name} required"
            );
            assert_eq!(
                flag(attribute, "optional"),
                *optional,
                "{what}.{name} optional"
            );
            assert_eq!(
                flag(attribute, "computed"),
                *computed,
                "{what}.{name} computed"
            );
            assert_eq!(
                flag(attribute, "sensitive"),
                *sensitive,
                "{what}.{name} sensitive"
            );
        }
        // Every attribute, including any added since this test was written, is documented and
        // is either required, or optional and/or computed.
        for (name, attribute) in attributes {
            let (required, optional, computed) = (
                flag(attribute, "required"),
                flag(attribute, "optional"),
                flag(attribute, "computed"),
            );
            assert!(
                (required && !optional && !computed) || (!required && (optional || computed)),
                "{what}.{name} has an impossible presence: {attribute:#}"
            );
            let description = attribute
                .get("description")
                .and_then(Json::as_str)
                .unwrap_or_default();
            assert!(
                !description.trim().is_empty(),
                "{what}.{name} has no description"
            );
            assert_eq!(
                field(attribute, "description_kind"),
                "markdown",
                "{what}.{name}"
            );
        }
    };

    check_block(
        field(field(provider, "provider"), "block"),
        &[
            ("public_key", "string", false, true, false, false),
            ("private_key", "string", false, true, false, true),
            ("base_url", "string", false, true, false, false),
        ],
        "provider",
    );
    let data_sources = field(provider, "data_source_schemas");
    check_block(
        field(field(data_sources, "atlas_interface_endpoint"), "block"),
        &[
            ("project_id", "string", true, false, false, false),
            ("private_link_id", "string", true, false, false, false),
            ("interface_endpoint_id", "string", true, false, false, false),
            ("connection_status", "string", false, false, true, false),
            ("error_message", "string", false, false, true, false),
            ("delete_requested", "bool", false, false, true, false),
            ("id", "string", false, false, true, false),
        ],
        "atlas_interface_endpoint",
    );
    assert!(
        workspace.atlas.requests().is_empty(),
        "showing the schema needs no Atlas: {:#?}",
        workspace.atlas.requests()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn access_list_403_quotes_atlas() {
    let workspace = Workspace::new().await;
    workspace
        .atlas
        .put(AVAILABLE_ENDPOINT, Endpoint::with_status("AVAILABLE"));
    workspace.atlas.deny_by_access_list(true);
    workspace.write_config(&Workspace::data_source(
        "this",
        PROJECT_ID,
        PRIVATE_LINK_ID,
        AVAILABLE_ENDPOINT,
    ));
    let plan = workspace.plan().await;
    plan.assert_failure();
    let error = plan.diagnostic(
        "Error: Atlas Refused the Request",
        "IP_ADDRESS_NOT_ON_ACCESS_LIST",
    );
    for phrase in [
        "HTTP 403 IP_ADDRESS_NOT_ON_ACCESS_LIST",
        "IP address 127.0.0.1 is not allowed to access this resource.",
        "Add the public IP address of the machine running Terraform to the access list of the API key or service account",
        AVAILABLE_ENDPOINT,
    ] {
        assert!(error.contains(phrase), "missing {phrase:?} in: {error}");
    }
    assert!(
        workspace
            .atlas
            .requests()
            .iter()
            .any(|request| request.status == 403),
        "{:#?}",
        workspace.atlas.requests()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn user_agent_names_provider_and_terraform() {
    let workspace = Workspace::new().await;
    workspace
        .atlas
        .put(AVAILABLE_ENDPOINT, Endpoint::with_status("AVAILABLE"));
    workspace.write_config(&Workspace::data_source(
        "this",
        PROJECT_ID,
        PRIVATE_LINK_ID,
        AVAILABLE_ENDPOINT,
    ));
    let version = workspace.terraform(&["version", "-json"]).await;
    version.assert_success();
    let version: Json = serde_json::from_str(&version.stdout).expect("terraform version -json");
    let terraform_version = field(&version, "terraform_version")
        .as_str()
        .expect("a version string")
        .to_owned();
    workspace.plan().await.assert_success();
    let requests = workspace.atlas.requests();
    assert!(!requests.is_empty(), "the plan read the data source");
    assert_eq!(workspace.successful_reads().len(), 1, "{requests:#?}");
    let provider_part = format!(
        "terraform-provider-atlas/{}",
        terraform_provider_atlas::VERSION
    );
    let terraform_part = format!("terraform/{terraform_version}");
    for request in &requests {
        let user_agent = request.user_agent.as_deref().unwrap_or_default();
        assert!(
            user_agent.starts_with(&provider_part),
            "User-Agent {user_agent:?} should start with {provider_part:?}"
        );
        assert!(
            user_agent.contains(&terraform_part),
            "User-Agent {user_agent:?} should name {terraform_part:?}"
        );
        // v1.0 routes take plain JSON; the one v2 request (auto mode fetches the first digest
        // challenge there) takes the versioned media type.
        let expected = if request.path.starts_with("/api/atlas/v2/") {
            "application/vnd.atlas.2023-01-01+json"
        } else {
            "application/json"
        };
        assert_eq!(request.accept.as_deref(), Some(expected), "{request:#?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn no_plugin_crash_or_graceful_exit_warning() {
    let mut workspace = Workspace::new().await;
    workspace
        .atlas
        .put(AVAILABLE_ENDPOINT, Endpoint::with_status("AVAILABLE"));
    workspace.write_config(&Workspace::data_source(
        "this",
        PROJECT_ID,
        PRIVATE_LINK_ID,
        AVAILABLE_ENDPOINT,
    ));
    workspace.set_env("TF_LOG", "trace");
    let plan = workspace.plan().await;
    plan.assert_success();
    let log = &plan.stderr;
    let lines_with = |needle: &str| -> Vec<&str> {
        let needle = needle.to_lowercase();
        log.lines()
            .chain(plan.stdout.lines())
            .filter(|line| line.to_lowercase().contains(&needle))
            .collect()
    };

    for forbidden in [
        "plugin crashed",
        "panic",
        "failed to exit gracefully",
        "[ERROR]",
        "[WARN]  provider",
        "unexpected EOF",
    ] {
        // This includes go-plugin 1.6.0's "[ERROR] ... error encountered while scanning stdout:
        // read |0: file already closed", which Terraform 1.11 logged in about half the runs until
        // the provider began closing its end of stdout right after the handshake.
        let hits: Vec<&str> = lines_with(forbidden);
        assert!(
            hits.is_empty(),
            "the trace log has {forbidden:?}: {hits:#?}"
        );
    }
    // Every provider process Terraform started (for validation, for the plan, ...) served, was
    // asked to shut down, and exited without an error.
    let started = lines_with("provider.terraform-provider-atlas: plugin serving").len();
    assert!(started >= 1, "the provider never served:\n{plan}");
    let exits = lines_with("plugin process exited");
    assert_eq!(
        exits.len(),
        started,
        "each provider process exits: {exits:#?}"
    );
    assert!(
        exits.iter().all(|line| !line.contains("error=")),
        "a provider process exited with an error: {exits:#?}"
    );
    assert_eq!(
        lines_with("Terraform asked the plugin to shut down").len(),
        started,
        "each provider process is shut down through the controller:\n{log}"
    );
    // The provider's own debug line came through Terraform's plugin log, at its level.
    let reads = lines_with("provider.terraform-provider-atlas: ReadDataSource done");
    assert_eq!(reads.len(), 1, "one read, logged by the provider:\n{log}");
    assert!(
        reads[0].contains("[DEBUG]")
            && reads[0].contains("tf_data_source_type=atlas_interface_endpoint"),
        "the provider's line should keep its DEBUG level and fields: {reads:#?}"
    );
}

/// docs/plan-time-assertions.md: the scoped data source of a check block is read again during
/// apply, so the check reports on the state after the change.
#[tokio::test(flavor = "multi_thread")]
async fn check_block_data_source_is_read_again_during_apply() {
    let workspace = Workspace::new().await;
    workspace
        .atlas
        .put(AVAILABLE_ENDPOINT, Endpoint::with_status("AVAILABLE"));
    workspace.write_config(&format!(
        "check \"endpoint_available\" {{\n  \
         data \"atlas_interface_endpoint\" \"this\" {{\n    project_id            = {}\n    \
         private_link_id       = {}\n    interface_endpoint_id = {}\n  }}\n\n  \
         assert {{\n    condition     = data.atlas_interface_endpoint.this.connection_status == \"AVAILABLE\"\n    \
         error_message = \"not AVAILABLE\"\n  }}\n}}\n",
        hcl(PROJECT_ID),
        hcl(PRIVATE_LINK_ID),
        hcl(AVAILABLE_ENDPOINT)
    ));
    workspace.apply(&[]).await.assert_success();
    assert_eq!(
        workspace.successful_reads().len(),
        2,
        "one read for the plan and one during apply: {:#?}",
        workspace.atlas.requests()
    );
}

/// docs/plan-time-assertions.md: a `precondition` on a dependent resource stops the plan with
/// an error that names that resource and carries its own reason.
#[tokio::test(flavor = "multi_thread")]
async fn precondition_on_a_dependent_resource_fails_the_plan_naming_it() {
    let workspace = Workspace::new().await;
    workspace
        .atlas
        .put(PENDING_ENDPOINT, Endpoint::with_status("PENDING"));
    workspace.write_config(&format!(
        "data \"atlas_interface_endpoint\" \"app\" {{\n  project_id            = {}\n  \
         private_link_id       = {}\n  interface_endpoint_id = {}\n}}\n\n\
         resource \"terraform_data\" \"deploy_app\" {{\n  input = \"1.0\"\n\n  \
         lifecycle {{\n    precondition {{\n      \
         condition     = data.atlas_interface_endpoint.app.connection_status == \"AVAILABLE\"\n      \
         error_message = \"The app reaches Atlas only through PrivateLink, but the endpoint is ${{data.atlas_interface_endpoint.app.connection_status}}.\"\n    \
         }}\n  }}\n}}\n",
        hcl(PROJECT_ID),
        hcl(PRIVATE_LINK_ID),
        hcl(PENDING_ENDPOINT)
    ));
    let plan = workspace.plan().await;
    plan.assert_failure();
    let error = plan.diagnostic(
        "Error: Resource precondition failed",
        "resource \"terraform_data\" \"deploy_app\"",
    );
    assert!(
        error.contains(
            "The app reaches Atlas only through PrivateLink, but the endpoint is PENDING."
        ),
        "{error}"
    );
}
