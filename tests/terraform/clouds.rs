//! End-to-end tests of Azure Private Link and Google Cloud Private Service Connect: the real
//! `terraform` binary reads `atlas_private_link`, `atlas_private_endpoint` and
//! `atlas_private_endpoints` with `cloud_provider = "AZURE"` or `"GCP"` from the fake Atlas.
//!
//! Each scenario takes the cloud as a parameter and runs on both.

use fake_atlas::{
    AZURE_ENDPOINT_ID, AZURE_INITIATING_ENDPOINT_ID, AZURE_INITIATING_LINK_ID,
    AZURE_PRIVATE_LINK_ID, Cloud, GCP_ENDPOINT_GROUP, GCP_INITIATING_LINK_ID, GCP_PRIVATE_LINK_ID,
    GCP_SLOW_ENDPOINT_GROUP, PROJECT_ID, azure_endpoint, gcp_endpoint_group,
};
use serde_json::Value as Json;

use crate::support::*;

/// What a scenario needs to know about its cloud.
#[derive(Clone, Copy, Debug)]
struct CloudCase {
    cloud: Cloud,
    name: &'static str,
    link: &'static str,
    initiating_link: &'static str,
    /// AVAILABLE, listed first.
    endpoint: &'static str,
    /// Listed second: Azure INITIATING; Google Cloud INITIATING for two reads, then AVAILABLE.
    second_endpoint: &'static str,
    /// The status a wait does not leave.
    terminal: &'static str,
}

const AZURE: CloudCase = CloudCase {
    cloud: Cloud::Azure,
    name: "AZURE",
    link: AZURE_PRIVATE_LINK_ID,
    initiating_link: AZURE_INITIATING_LINK_ID,
    endpoint: AZURE_ENDPOINT_ID,
    second_endpoint: AZURE_INITIATING_ENDPOINT_ID,
    terminal: "FAILED",
};

const GCP: CloudCase = CloudCase {
    cloud: Cloud::Gcp,
    name: "GCP",
    link: GCP_PRIVATE_LINK_ID,
    initiating_link: GCP_INITIATING_LINK_ID,
    endpoint: GCP_ENDPOINT_GROUP,
    second_endpoint: GCP_SLOW_ENDPOINT_GROUP,
    terminal: "DELETED",
};

impl CloudCase {
    fn endpoint_body(self, endpoint: &str, status: &str) -> Json {
        match self.cloud {
            Cloud::Azure => azure_endpoint(endpoint, status),
            Cloud::Gcp => gcp_endpoint_group(endpoint, status),
        }
    }
}

async fn workspace(provider_arguments: &str, body: &str) -> Workspace {
    let workspace = Workspace::new().await;
    workspace.atlas.seed_clouds();
    workspace.write_main_tf(&format!("{}{body}", workspace.preamble(provider_arguments)));
    workspace
}

fn link_block(case: CloudCase, link: &str, extra: &str) -> String {
    format!(
        "data \"atlas_private_link\" \"this\" {{\n  project_id      = {}\n  private_link_id = {}\n  \
         cloud_provider  = {}\n{extra}}}\n\noutput \"link\" {{\n  value = data.atlas_private_link.this\n}}\n\n",
        hcl(PROJECT_ID),
        hcl(link),
        hcl(case.name)
    )
}

fn endpoint_block(case: CloudCase, endpoint: &str, extra: &str) -> String {
    format!(
        "data \"atlas_private_endpoint\" \"this\" {{\n  project_id      = {}\n  private_link_id = {}\n  \
         cloud_provider  = {}\n  endpoint_id     = {}\n{extra}}}\n\n\
         output \"endpoint\" {{\n  value = data.atlas_private_endpoint.this\n}}\n\n",
        hcl(PROJECT_ID),
        hcl(case.link),
        hcl(case.name),
        hcl(endpoint)
    )
}

fn endpoints_block(case: CloudCase) -> String {
    format!(
        "data \"atlas_private_endpoints\" \"all\" {{\n  project_id      = {}\n  private_link_id = {}\n  \
         cloud_provider  = {}\n}}\n\noutput \"endpoints\" {{\n  value = data.atlas_private_endpoints.all.endpoints\n}}\n\n\
         output \"all_available\" {{\n  value = alltrue([for e in data.atlas_private_endpoints.all.endpoints : \
         e.status == \"AVAILABLE\"])\n}}\n\n",
        hcl(PROJECT_ID),
        hcl(case.link),
        hcl(case.name)
    )
}

/// The attributes every cloud has, and those only `case` fills; all others must be null.
fn assert_only_own_attributes(object: &Json, own: &[&str], always: &[&str]) {
    let Json::Object(fields) = object else {
        panic!("not an object: {object}")
    };
    for (name, value) in fields {
        let known = own.contains(&name.as_str()) || always.contains(&name.as_str());
        if !known {
            assert!(value.is_null(), "`{name}` should be null, is {value}");
        }
    }
}

/// The requests for the endpoint paths of `case`'s cloud that Atlas answered with 200.
fn endpoint_reads(workspace: &Workspace, case: CloudCase) -> usize {
    let prefix = format!("/privateEndpoint/{}/endpointService/", case.name);
    workspace
        .atlas
        .requests()
        .iter()
        .filter(|request| {
            request.status == 200
                && request.path.contains(&prefix)
                && request.path.contains("/endpoint/")
        })
        .count()
}

const LINK_ATTRIBUTES: &[&str] = &[
    "project_id",
    "private_link_id",
    "cloud_provider",
    "status",
    "error_message",
    "region",
    "id",
];

// ---------------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------------

/// The link, one endpoint and all endpoints in one plan, all on v2 under the default `auto`.
async fn link_endpoint_and_endpoints_read_the_cloud_s_own_attributes(case: CloudCase) {
    let body = format!(
        "{}{}{}",
        link_block(case, case.link, ""),
        endpoint_block(case, case.endpoint, ""),
        endpoints_block(case)
    );
    let workspace = workspace("", &body).await;
    workspace
        .apply(&[])
        .await
        .assert_success()
        .assert_read_complete(
            "data.atlas_private_endpoint.this",
            &format!("{PROJECT_ID}/{}/{}", case.link, case.endpoint),
        );
    let outputs = workspace.outputs().await;

    let link = field(field(&outputs, "link"), "value");
    assert_eq!(field(link, "status"), "AVAILABLE");
    let listed = Json::from(vec![case.endpoint, case.second_endpoint]);
    match case.cloud {
        Cloud::Azure => {
            assert_eq!(
                field(link, "private_link_service_name"),
                &Json::from(format!("pls_{}", case.link))
            );
            assert!(
                field(link, "private_link_service_resource_id")
                    .as_str()
                    .is_some_and(
                        |id| id.ends_with(&format!("/privateLinkServices/pls_{}", case.link))
                    )
            );
            assert_eq!(field(link, "private_endpoint_ids"), &listed);
            assert_eq!(field(link, "region"), "ASIA_SOUTH_EAST");
            let own = [
                "private_link_service_name",
                "private_link_service_resource_id",
                "private_endpoint_ids",
            ];
            assert_only_own_attributes(link, &own, LINK_ATTRIBUTES);
        }
        Cloud::Gcp => {
            assert_eq!(field(link, "endpoint_group_names"), &listed);
            let attachments = field(link, "service_attachment_names").as_array().unwrap();
            assert_eq!(attachments.len(), 2);
            assert!(attachments[0].as_str().unwrap().starts_with("projects/"));
            assert_eq!(field(link, "port_mapping_enabled"), false);
            let own = [
                "endpoint_group_names",
                "service_attachment_names",
                "port_mapping_enabled",
            ];
            assert_only_own_attributes(link, &own, LINK_ATTRIBUTES);
        }
    }

    let endpoint = field(field(&outputs, "endpoint"), "value");
    assert_eq!(field(endpoint, "status"), "AVAILABLE");
    assert_eq!(field(endpoint, "delete_requested"), false);
    let always = [
        "project_id",
        "private_link_id",
        "cloud_provider",
        "endpoint_id",
        "status",
        "error_message",
        "delete_requested",
        "id",
        "wait_for_status",
        "wait_timeout",
    ];
    match case.cloud {
        Cloud::Azure => {
            assert_eq!(field(endpoint, "private_endpoint_ip_address"), "10.0.0.4");
            assert_eq!(
                field(endpoint, "private_endpoint_resource_id"),
                case.endpoint
            );
            assert_eq!(
                field(endpoint, "private_endpoint_connection_name"),
                "pe-atlas.0b8b3b9e"
            );
            let own = [
                "private_endpoint_ip_address",
                "private_endpoint_resource_id",
                "private_endpoint_connection_name",
            ];
            assert_only_own_attributes(endpoint, &own, &always);
            // One path segment, encoded once: `/` as %2F, never %252F.
            let paths: Vec<String> = workspace
                .atlas
                .requests()
                .into_iter()
                .filter(|request| request.path.contains("/endpoint/"))
                .map(|request| request.path)
                .collect();
            let encoded = AZURE_ENDPOINT_ID.replace('/', "%2F");
            assert!(
                paths
                    .iter()
                    .any(|path| path.ends_with(&format!("/endpoint/{encoded}"))),
                "{paths:#?}"
            );
            assert!(paths.iter().all(|path| !path.contains("%25")), "{paths:#?}");
        }
        Cloud::Gcp => {
            assert_eq!(field(endpoint, "endpoint_group_name"), case.endpoint);
            assert_eq!(field(endpoint, "gcp_project_id"), "customer-project-1");
            assert_eq!(
                field(endpoint, "endpoints"),
                &serde_json::json!([
                    {"endpoint_name": "atlas-endpoint-group-0", "ip_address": "10.142.0.2", "status": "AVAILABLE"},
                    {"endpoint_name": "atlas-endpoint-group-1", "ip_address": "10.142.0.3", "status": "AVAILABLE"},
                ])
            );
            let own = [
                "endpoint_group_name",
                "gcp_project_id",
                "port_mapping_enabled",
                "endpoints",
            ];
            assert_only_own_attributes(endpoint, &own, &always);
        }
    }

    let endpoints = field(field(&outputs, "endpoints"), "value")
        .as_array()
        .unwrap();
    let statuses: Vec<(&str, &str)> = endpoints
        .iter()
        .map(|e| {
            (
                field(e, "endpoint_id").as_str().unwrap(),
                field(e, "status").as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [
            (case.endpoint, "AVAILABLE"),
            (case.second_endpoint, "INITIATING")
        ],
        "in Atlas's order"
    );
    assert_eq!(field(field(&outputs, "all_available"), "value"), false);
    for request in workspace.atlas.requests() {
        assert!(
            request.path.starts_with("/api/atlas/v2/"),
            "{} is not a v2 route: auto must not probe v1.0 for {}",
            request.path,
            case.name
        );
    }
}

/// While Atlas creates the service, its names and attachments are null or empty.
async fn an_initiating_link_reads_with_its_nulls(case: CloudCase) {
    let workspace = workspace(
        "  api_version = \"v2\"\n",
        &link_block(case, case.initiating_link, ""),
    )
    .await;
    workspace.apply(&[]).await.assert_success();
    let outputs = workspace.outputs().await;
    let link = field(field(&outputs, "link"), "value");
    assert_eq!(field(link, "status"), "INITIATING");
    match case.cloud {
        Cloud::Azure => {
            assert!(field(link, "private_link_service_name").is_null());
            assert!(field(link, "private_link_service_resource_id").is_null());
            assert_eq!(
                field(link, "private_endpoint_ids"),
                &Json::from(Vec::<String>::new())
            );
        }
        Cloud::Gcp => {
            assert_eq!(
                field(link, "service_attachment_names"),
                &Json::from(Vec::<String>::new())
            );
        }
    }
    assert!(field(link, "endpoint_service_name").is_null());
    assert!(field(link, "interface_endpoint_ids").is_null());
}

async fn a_wait_ends_when_the_endpoint_becomes_available(case: CloudCase) {
    let workspace = workspace(
        "",
        &endpoint_block(
            case,
            case.second_endpoint,
            "  wait_for_status = [\"AVAILABLE\"]\n  wait_timeout    = \"1m\"\n",
        ),
    )
    .await;
    // One INITIATING read, then AVAILABLE: the second poll (after 2 s) ends the wait.
    workspace.atlas.script_cloud_endpoint(
        case.cloud,
        PROJECT_ID,
        case.link,
        case.second_endpoint,
        vec![
            case.endpoint_body(case.second_endpoint, "INITIATING"),
            case.endpoint_body(case.second_endpoint, "AVAILABLE"),
        ],
    );
    workspace.plan().await.assert_success();
    assert_eq!(endpoint_reads(&workspace, case), 2);
}

async fn a_terminal_status_ends_the_wait_at_once(case: CloudCase) {
    let workspace = workspace(
        "",
        &endpoint_block(case, case.endpoint, "  wait_for_status = [\"AVAILABLE\"]\n"),
    )
    .await;
    workspace.atlas.script_cloud_endpoint(
        case.cloud,
        PROJECT_ID,
        case.link,
        case.endpoint,
        vec![case.endpoint_body(case.endpoint, case.terminal)],
    );
    let plan = workspace.plan().await;
    plan.assert_failure();
    let diagnostic = plan
        .diagnostics()
        .into_iter()
        .find(|block| block.contains("Will Not Become Ready"))
        .unwrap_or_else(|| panic!("no Will Not Become Ready:\n{plan}"));
    assert!(diagnostic.contains(case.terminal), "{diagnostic}");
    assert_eq!(endpoint_reads(&workspace, case), 1);
}

/// Atlas's not-found codes for these clouds are undocumented: the fake answers 404 with a null
/// `errorCode`, and the message still says not found and points at `endpoint_id`.
async fn a_missing_endpoint_is_not_found_and_points_at_endpoint_id(case: CloudCase) {
    let missing = match case.cloud {
        Cloud::Azure => AZURE_ENDPOINT_ID.replace("pe-atlas", "pe-missing"),
        Cloud::Gcp => "no-such-group".to_owned(),
    };
    let workspace = workspace("", &endpoint_block(case, &missing, "")).await;
    let plan = workspace.plan().await;
    plan.assert_failure();
    let diagnostic = plan.diagnostic("Error: Private Endpoint Not Found", "HTTP 404");
    assert!(
        diagnostic.contains("endpoint_id ="),
        "should point at endpoint_id: {diagnostic}"
    );
    assert!(
        diagnostic.contains(case.name),
        "names the cloud to check: {diagnostic}"
    );
}

async fn bad_arguments_fail_validate_with_no_request(case: CloudCase) {
    let wrong_id = match case.cloud {
        Cloud::Azure => AZURE_ENDPOINT_ID.replace('/', "%2F"),
        Cloud::Gcp => String::new(),
    };
    let body = format!(
        "{}{}data \"atlas_private_endpoints\" \"lower\" {{\n  project_id      = {}\n  \
         private_link_id = {}\n  cloud_provider  = {}\n}}\n",
        link_block(case, case.link, ""),
        endpoint_block(case, &wrong_id, ""),
        hcl(PROJECT_ID),
        hcl(case.link),
        hcl(&case.name.to_lowercase()),
    );
    let workspace = workspace("  api_version = \"v1.0\"\n", &body).await;
    let run = workspace.validate().await;
    run.assert_failure();
    let v2 = run.diagnostic(
        "Error: Cloud Provider Needs the v2 Routes",
        "atlas_private_link",
    );
    assert!(v2.contains("\"v2\""), "names v2: {v2}");
    run.diagnostic("Error: Invalid Endpoint ID", "endpoint_id");
    run.diagnostic(
        "Error: Invalid Cloud Provider",
        &format!("Write \"{}\"", case.name),
    );
    assert!(workspace.atlas.requests().is_empty());
    // Planning fails the same way: nothing is sent either.
    workspace.plan().await.assert_failure();
    assert!(workspace.atlas.requests().is_empty());
}

macro_rules! on_each_cloud {
    ($($scenario:ident),* $(,)?) => {
        mod azure {
            $(
                #[tokio::test]
                async fn $scenario() {
                    super::$scenario(super::AZURE).await;
                }
            )*
        }
        mod gcp {
            $(
                #[tokio::test]
                async fn $scenario() {
                    super::$scenario(super::GCP).await;
                }
            )*
        }
    };
}

on_each_cloud!(
    link_endpoint_and_endpoints_read_the_cloud_s_own_attributes,
    an_initiating_link_reads_with_its_nulls,
    a_wait_ends_when_the_endpoint_becomes_available,
    a_terminal_status_ends_the_wait_at_once,
    a_missing_endpoint_is_not_found_and_points_at_endpoint_id,
    bad_arguments_fail_validate_with_no_request,
);

/// The cloud-neutral names read AWS too: `status` is AWS's `connectionStatus`, and the Azure and
/// Google Cloud attributes are null.
#[tokio::test]
async fn aws_through_the_cloud_neutral_names_reads_connection_status_as_status() {
    let endpoint = "vpce-0a0000000000000a1";
    let body = format!(
        "data \"atlas_private_endpoint\" \"aws\" {{\n  project_id      = {project}\n  private_link_id = {link}\n  \
         cloud_provider  = \"AWS\"\n  endpoint_id     = {endpoint}\n}}\n\n\
         data \"atlas_private_endpoints\" \"aws\" {{\n  project_id      = {project}\n  private_link_id = {link}\n  \
         cloud_provider  = \"AWS\"\n}}\n\n\
         output \"endpoint\" {{\n  value = data.atlas_private_endpoint.aws\n}}\n\n\
         output \"endpoints\" {{\n  value = data.atlas_private_endpoints.aws.endpoints\n}}\n",
        project = hcl(PROJECT_ID),
        link = hcl(fake_atlas::PRIVATE_LINK_ID),
        endpoint = hcl(endpoint),
    );
    let workspace = workspace("  api_version = \"v2\"\n", &body).await;
    workspace.atlas.put(
        endpoint,
        fake_atlas::Endpoint::with_status("PENDING_ACCEPTANCE"),
    );
    workspace.apply(&[]).await.assert_success();
    let outputs = workspace.outputs().await;
    let read = field(field(&outputs, "endpoint"), "value");
    assert_eq!(field(read, "status"), "PENDING_ACCEPTANCE");
    assert_eq!(field(read, "interface_endpoint_id"), endpoint);
    assert!(field(read, "private_endpoint_ip_address").is_null());
    assert!(field(read, "endpoints").is_null());
    let listed = field(field(&outputs, "endpoints"), "value");
    assert_eq!(
        listed.as_array().map(|list| list
            .iter()
            .map(|e| (field(e, "endpoint_id").clone(), field(e, "status").clone()))
            .collect::<Vec<_>>()),
        Some(vec![(
            Json::from(endpoint),
            Json::from("PENDING_ACCEPTANCE")
        )])
    );
}

/// An `api_version` that `terraform validate` cannot know (a variable) is checked when the
/// provider is configured: the plan fails with the same message, before any request.
#[tokio::test]
async fn api_version_v1_from_a_variable_fails_the_plan_before_any_request() {
    let body = format!(
        "variable \"api_version\" {{\n  type    = string\n  default = \"v1.0\"\n}}\n\n{}",
        link_block(AZURE, AZURE.link, "")
    );
    let workspace = workspace("  api_version = var.api_version\n", &body).await;
    workspace.validate().await.assert_success();
    let plan = workspace.plan().await;
    plan.assert_failure();
    let diagnostic = plan.diagnostic("Error: Cloud Provider Needs the v2 Routes", "\"v2\"");
    assert!(diagnostic.contains("No request was sent"), "{diagnostic}");
    assert!(
        workspace.atlas.requests().is_empty(),
        "{:#?}",
        workspace.atlas.requests()
    );
}
