//! End-to-end with the real `terraform`: the networks people really have (proxies, private CAs),
//! debug mode, and logs Terraform understands that never carry a secret.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::*;
use fake_atlas::tls::TestAuthority;
use fake_atlas::{
    CLIENT_ID, CLIENT_SECRET, Endpoint, FakeAtlas, FakeProxy, Fault, PRIVATE_KEY, PRIVATE_LINK_ID,
    PROJECT_ID, PUBLIC_KEY,
};

const ENDPOINT: &str = "vpce-0a0000000000000a1";

/// main.tf reading one endpoint from `base_url`, with extra provider arguments.
fn config(base_url: &str, provider_arguments: &str) -> String {
    format!(
        "terraform {{\n  required_providers {{\n    atlas = {{ source = \"local/atlas\" }}\n  }}\n}}\n\n\
         provider \"atlas\" {{\n  base_url = \"{base_url}\"\n{provider_arguments}}}\n\n\
         data \"atlas_interface_endpoint\" \"this\" {{\n  project_id            = \"{PROJECT_ID}\"\n  \
         private_link_id       = \"{PRIVATE_LINK_ID}\"\n  interface_endpoint_id = \"{ENDPOINT}\"\n}}\n\n\
         output \"status\" {{\n  value = data.atlas_interface_endpoint.this.connection_status\n}}\n"
    )
}

async fn workspace_with_endpoint() -> Workspace {
    let workspace = Workspace::new().await;
    workspace
        .atlas
        .put(ENDPOINT, Endpoint::with_status("AVAILABLE"));
    workspace
}

#[tokio::test(flavor = "multi_thread")]
async fn http_proxy_from_the_environment_is_used() {
    let mut workspace = workspace_with_endpoint().await;
    let proxy = FakeProxy::start(workspace.atlas.address()).await;
    workspace.set_env("HTTP_PROXY", &proxy.url());
    // A name only the proxy can reach: the proxy sends everything to the fake Atlas.
    workspace.write_main_tf(&config("http://atlas.internal.example", ""));
    let run = workspace.apply(&[]).await;
    run.assert_success();
    assert_eq!(workspace.outputs().await["status"]["value"], "AVAILABLE");
    let lines = proxy.request_lines();
    assert!(
        lines.iter().any(
            |line| line.starts_with("GET http://atlas.internal.example/api/atlas/v1.0/groups/")
        ),
        "the proxy saw {lines:?}"
    );
    // Plain http to a host that is not loopback is worth a warning.
    run.diagnostic(
        "Warning: Atlas Base URL Uses Cleartext HTTP",
        "atlas.internal.example",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn no_proxy_sends_matching_hosts_directly() {
    let mut workspace = workspace_with_endpoint().await;
    let proxy = FakeProxy::start(workspace.atlas.address()).await;
    workspace.set_env("HTTP_PROXY", &proxy.url());
    workspace.set_env("NO_PROXY", "127.0.0.1");
    workspace.write_main_tf(&config(&workspace.atlas.url(), ""));
    workspace.apply(&[]).await.assert_success();
    assert!(
        proxy.request_lines().is_empty(),
        "the proxy saw {:?}",
        proxy.request_lines()
    );
    assert!(!workspace.successful_reads().is_empty());
}

/// A workspace whose endpoint is served over HTTPS by a fake with a private CA's certificate.
async fn https_workspace(authority: &TestAuthority) -> (Workspace, FakeAtlas, std::path::PathBuf) {
    let workspace = Workspace::new().await;
    let atlas = FakeAtlas::start_tls(&authority.server("localhost", false)).await;
    atlas.put(ENDPOINT, Endpoint::with_status("AVAILABLE"));
    let bundle = workspace.directory.path().join("private-ca.pem");
    std::fs::write(&bundle, authority.pem()).unwrap();
    (workspace, atlas, bundle)
}

/// README and SECURITY.md: `HTTPS_PROXY` is honoured: an https `base_url` goes through the
/// proxy's CONNECT tunnel, with the certificate still verified end to end.
#[tokio::test(flavor = "multi_thread")]
async fn https_proxy_from_the_environment_tunnels_to_atlas() {
    let authority = TestAuthority::new();
    let mut workspace = Workspace::new().await;
    let atlas = FakeAtlas::start_tls(&authority.server("atlas.internal.example", false)).await;
    atlas.put(ENDPOINT, Endpoint::with_status("AVAILABLE"));
    let bundle = workspace.directory.path().join("private-ca.pem");
    std::fs::write(&bundle, authority.pem()).unwrap();
    let proxy = FakeProxy::start(atlas.address()).await;
    workspace.set_env("HTTPS_PROXY", &proxy.url());
    // A name only the proxy can reach: the proxy tunnels everything to the fake Atlas.
    let argument = format!("  ca_cert_file = \"{}\"\n", bundle.display());
    workspace.write_main_tf(&config("https://atlas.internal.example", &argument));
    workspace.apply(&[]).await.assert_success();
    assert_eq!(workspace.outputs().await["status"]["value"], "AVAILABLE");
    let lines = proxy.request_lines();
    assert!(
        lines
            .iter()
            .any(|line| line.starts_with("CONNECT atlas.internal.example:443 ")),
        "the proxy saw {lines:?}"
    );
    assert!(atlas.request_count() > 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn private_ca_from_ssl_cert_file_is_trusted() {
    let authority = TestAuthority::new();
    let (mut workspace, atlas, bundle) = https_workspace(&authority).await;
    workspace.write_main_tf(&config(&atlas.https_url(), ""));

    let untrusted = workspace.plan().await;
    untrusted.assert_failure();
    let diagnostic = untrusted.diagnostic("Error: Cannot Reach Atlas", "certificate");
    assert!(diagnostic.contains("ca_cert_file"), "{diagnostic}");

    workspace.set_env("SSL_CERT_FILE", &bundle.to_string_lossy());
    workspace.apply(&[]).await.assert_success();
    assert_eq!(workspace.outputs().await["status"]["value"], "AVAILABLE");
}

/// README: `SSL_CERT_DIR` is not read (on Linux the roots are the distribution's bundle file),
/// so a private CA only in such a directory is not trusted and nothing is sent.
#[tokio::test(flavor = "multi_thread")]
async fn a_private_ca_only_in_ssl_cert_dir_is_not_trusted() {
    let authority = TestAuthority::new();
    let (mut workspace, atlas, bundle) = https_workspace(&authority).await;
    let directory = workspace.directory.path().join("cert-dir");
    std::fs::create_dir(&directory).unwrap();
    std::fs::copy(&bundle, directory.join("private-ca.pem")).unwrap();
    workspace.set_env("SSL_CERT_DIR", &directory.to_string_lossy());
    workspace.write_main_tf(&config(&atlas.https_url(), ""));
    let run = workspace.plan().await;
    run.assert_failure();
    run.diagnostic("Error: Cannot Reach Atlas", "certificate");
    assert_eq!(atlas.request_count(), 0, "nothing is sent unverified");
}

#[tokio::test(flavor = "multi_thread")]
async fn private_ca_from_ca_cert_file_is_trusted() {
    let authority = TestAuthority::new();
    let (workspace, atlas, bundle) = https_workspace(&authority).await;
    let argument = format!("  ca_cert_file = \"{}\"\n", bundle.display());
    workspace.write_main_tf(&config(&atlas.https_url(), &argument));
    workspace.apply(&[]).await.assert_success();
    assert_eq!(workspace.outputs().await["status"]["value"], "AVAILABLE");

    workspace.write_main_tf(&config(
        &atlas.https_url(),
        "  ca_cert_file = \"/nonexistent/ca.pem\"\n",
    ));
    let run = workspace.plan().await;
    run.assert_failure();
    run.diagnostic("Error: Invalid CA Certificate File", "/nonexistent/ca.pem");
}

#[tokio::test(flavor = "multi_thread")]
async fn provider_logs_follow_tf_log_provider_and_never_carry_the_key() {
    let mut workspace = workspace_with_endpoint().await;
    let log = workspace.directory.path().join("terraform.log");
    workspace.set_env("TF_LOG_PROVIDER", "DEBUG");
    workspace.set_env("TF_LOG_PATH", &log.to_string_lossy());
    workspace.write_main_tf(&config(&workspace.atlas.url(), ""));
    workspace.plan().await.assert_success();
    let text = std::fs::read_to_string(&log).unwrap();
    let provider_lines: Vec<&str> = text
        .lines()
        .filter(|line| line.contains("provider.terraform-provider-atlas"))
        .collect();
    assert!(
        provider_lines.iter().any(|line| line.contains("[DEBUG]")
            && line.contains("Atlas request done")
            && line.contains("status=200")),
        "no DEBUG line for the HTTP attempt:\n{}",
        provider_lines.join("\n")
    );
    assert!(
        !provider_lines
            .iter()
            .any(|line| line.contains("received RPC")),
        "TRACE lines appeared at DEBUG"
    );

    workspace.set_env("TF_LOG_PROVIDER", "TRACE");
    workspace.plan().await.assert_success();
    let text = std::fs::read_to_string(&log).unwrap();
    let answered = text
        .lines()
        .find(|line| line.contains("answered RPC") && line.contains("tf_rpc=ReadDataSource"))
        .unwrap_or_else(|| panic!("no TRACE line for the answered ReadDataSource"));
    assert!(answered.contains("duration_ms="), "{answered}");
    for secret in [PRIVATE_KEY, "Authorization", "Digest username"] {
        assert!(
            !text.contains(secret),
            "{secret:?} appears in the trace log"
        );
    }
}

/// docs/reliability.md and docs/atlas-api.md: `RateLimit-Limit` and `RateLimit-Remaining`, when
/// Atlas sends them, are logged at DEBUG with the request they came with.
#[tokio::test(flavor = "multi_thread")]
async fn rate_limit_headers_are_logged_at_debug_with_their_request() {
    let mut workspace = workspace_with_endpoint().await;
    workspace.atlas.push_fault(Fault::Atlas {
        status: 503,
        error_code: Some("SERVICE_UNAVAILABLE".into()),
        detail: "Maintenance.".into(),
        parameters: Vec::new(),
        headers: vec![
            ("RateLimit-Limit".into(), "100".into()),
            ("RateLimit-Remaining".into(), "7".into()),
        ],
    });
    let log = workspace.directory.path().join("terraform.log");
    workspace.set_env("TF_LOG_PROVIDER", "DEBUG");
    workspace.set_env("TF_LOG_PATH", &log.to_string_lossy());
    workspace.write_main_tf(&config(&workspace.atlas.url(), ""));
    workspace.plan().await.assert_success();
    let text = std::fs::read_to_string(&log).unwrap();
    let throttled = text
        .lines()
        .find(|line| line.contains("Atlas request done") && line.contains("status=503"))
        .unwrap_or_else(|| panic!("no DEBUG line for the 503 attempt:\n{text}"));
    assert!(throttled.contains("ratelimit_limit=100"), "{throttled}");
    assert!(throttled.contains("ratelimit_remaining=7"), "{throttled}");
}

/// SECURITY.md: a `TF_LOG=trace` run with a service account that succeeds carries neither the
/// client secret nor the token Atlas issued, nor any `Authorization` header.
#[tokio::test(flavor = "multi_thread")]
async fn a_service_account_trace_log_never_carries_the_secret_or_the_token() {
    // Every token the fake issues starts with this base64url JWT header.
    const TOKEN_HEADER: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";
    let mut workspace = workspace_with_endpoint().await;
    workspace.remove_env("MONGODB_ATLAS_PUBLIC_API_KEY");
    workspace.remove_env("MONGODB_ATLAS_PRIVATE_API_KEY");
    let log = workspace.directory.path().join("trace.log");
    workspace.set_env("TF_LOG", "trace");
    workspace.set_env("TF_LOG_PATH", &log.to_string_lossy());
    workspace.write_main_tf(&config(
        &workspace.atlas.url(),
        &format!(
            "  client_id     = {}\n  client_secret = {}\n",
            hcl(CLIENT_ID),
            hcl(CLIENT_SECRET)
        ),
    ));
    let plan = workspace.plan().await;
    plan.assert_success();
    assert_eq!(workspace.atlas.token_requests(), 1);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("requesting a service account token"),
        "the provider's trace lines are in the log"
    );
    for secret in [CLIENT_SECRET, TOKEN_HEADER, "Authorization", "Bearer "] {
        assert!(
            !text.contains(secret),
            "{secret:?} appears in the trace log"
        );
        assert!(!plan.text().contains(secret), "{secret:?} was printed");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn debug_mode_serves_a_reattachable_provider() {
    let workspace = workspace_with_endpoint().await;
    let binary = env!("CARGO_BIN_EXE_terraform-provider-atlas");
    let mut debug = Command::new(binary)
        .arg("--debug")
        .env("MONGODB_ATLAS_PUBLIC_API_KEY", PUBLIC_KEY)
        .env("MONGODB_ATLAS_PRIVATE_API_KEY", PRIVATE_KEY)
        .env_remove("PLUGIN_CLIENT_CERT")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(debug.stdout.take().unwrap());
    let reattach = loop {
        let mut line = String::new();
        assert!(
            stdout.read_line(&mut line).unwrap() > 0,
            "debug mode printed no TF_REATTACH_PROVIDERS line"
        );
        if let Some(value) = line.trim().strip_prefix("export TF_REATTACH_PROVIDERS='") {
            break value.trim_end_matches('\'').to_owned();
        }
    };
    let parsed: serde_json::Value = serde_json::from_str(&reattach).unwrap();
    let entry = &parsed["registry.terraform.io/local/atlas"];
    assert_eq!(entry["Test"], true);
    assert_eq!(entry["ProtocolVersion"], 6);

    let mut workspace = workspace;
    workspace.set_env("TF_REATTACH_PROVIDERS", &reattach);
    workspace.write_main_tf(&config(&workspace.atlas.url(), ""));
    for _ in 0..2 {
        workspace.apply(&[]).await.assert_success();
    }
    assert_eq!(workspace.outputs().await["status"]["value"], "AVAILABLE");
    assert!(
        debug.try_wait().unwrap().is_none(),
        "the debug server outlives each Terraform command"
    );

    let pid = debug.id().to_string();
    Command::new("kill").args(["-INT", &pid]).status().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while debug.try_wait().unwrap().is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "debug mode did not stop on Ctrl-C"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn version_flag_prints_the_version() {
    let output = Command::new(env!("CARGO_BIN_EXE_terraform-provider-atlas"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        format!("terraform-provider-atlas {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn started_by_hand_it_explains_itself_and_exits_1() {
    let output = Command::new(env!("CARGO_BIN_EXE_terraform-provider-atlas"))
        .env_remove("TF_PLUGIN_MAGIC_COOKIE")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty(), "nothing goes to stdout");
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(
        text.contains("plugin for Terraform") && text.contains("terraform init"),
        "{text}"
    );
}

#[test]
fn protocol_5_only_is_refused_clearly() {
    let output = Command::new(env!("CARGO_BIN_EXE_terraform-provider-atlas"))
        .env(
            "TF_PLUGIN_MAGIC_COOKIE",
            "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2",
        )
        .env("PLUGIN_PROTOCOL_VERSIONS", "5")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    assert!(String::from_utf8_lossy(&output.stderr).contains("protocol 6"));
}
