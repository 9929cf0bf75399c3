//! End-to-end with the real `terraform`: the provider never outlives Terraform. Killed hard
//! mid-read, Terraform leaves no provider process and no socket file behind, also when a wrapper
//! script that does not exec stands between them; a `--debug` provider outlives every command.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::*;
use fake_atlas::{Endpoint, Fault, PRIVATE_KEY, PUBLIC_KEY};
use terraform_provider_atlas::plugin::lifetime::HOST_RECONNECT_GRACE;

const ENDPOINT: &str = "vpce-0a0000000000000a1";

/// A workspace whose providers put their sockets in a directory of their own, which also marks
/// every process started for this test in its environment.
async fn workspace_with_socket_directory() -> (Workspace, PathBuf) {
    let mut workspace = Workspace::new().await;
    workspace
        .atlas
        .put(ENDPOINT, Endpoint::with_status("AVAILABLE"));
    let sockets = workspace.directory.path().join("sockets");
    std::fs::create_dir(&sockets).unwrap();
    workspace.set_env("PLUGIN_UNIX_SOCKET_DIR", &sockets.to_string_lossy());
    workspace.set_env("TMPDIR", &sockets.to_string_lossy());
    workspace.write_config(&Workspace::data_source(
        "this",
        fake_atlas::PROJECT_ID,
        fake_atlas::PRIVATE_LINK_ID,
        ENDPOINT,
    ));
    (workspace, sockets)
}

/// Our socket files in `directory`.
fn socket_files(directory: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(directory)
        .map(|entries| {
            entries
                .filter_map(|entry| entry.ok().map(|entry| entry.path()))
                .filter(|path| {
                    path.file_name()
                        .is_some_and(|name| name.to_string_lossy().starts_with("plugin-atlas-"))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Live processes (not zombies) whose environment names `directory`: everything Terraform
/// started for this test, wrappers included.
fn processes_marked_with(directory: &Path) -> Vec<(u32, String)> {
    let marker = format!("PLUGIN_UNIX_SOCKET_DIR={}", directory.display());
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(environment) = std::fs::read(format!("/proc/{pid}/environ")) else {
            continue;
        };
        let marked = environment
            .split(|byte| *byte == 0)
            .any(|variable| variable == marker.as_bytes());
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let zombie = stat
            .rsplit_once(") ")
            .is_none_or(|(_, rest)| rest.starts_with('Z'));
        if marked && !zombie {
            let command = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            found.push((pid, String::from_utf8_lossy(&command).replace('\0', " ")));
        }
    }
    found
}

/// Starts `terraform plan` and waits until its read hangs at the fake Atlas.
async fn plan_hanging_at_atlas(workspace: &Workspace) -> Child {
    workspace.atlas.push_fault(Fault::Hang);
    let output = workspace.directory.path().join("plan-output");
    let mut command = workspace.command(&["plan", "-no-color", "-input=false"]);
    command
        .stdout(File::create(&output).unwrap())
        .stderr(File::create(&output).unwrap());
    let terraform = command.spawn().expect("starting terraform");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !workspace
        .atlas
        .requests()
        .iter()
        .any(|request| request.had_authorization)
    {
        assert!(
            Instant::now() < deadline,
            "the read never reached the fake Atlas:\n{}",
            std::fs::read_to_string(&output).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    terraform
}

/// SIGKILL to terraform alone (not its process group), as the OOM killer or a CI timeout does;
/// then, within 3 s, nothing it started may be left running and no socket file may remain.
async fn kill_terraform_and_expect_no_leftovers(mut terraform: Child, sockets: &Path) {
    assert!(
        !processes_marked_with(sockets).is_empty() && !socket_files(sockets).is_empty(),
        "no provider was running before the kill"
    );
    terraform.kill().expect("SIGKILL to terraform");
    terraform.wait().expect("reaping terraform");
    let killed = Instant::now();
    loop {
        let left = processes_marked_with(sockets);
        let files = socket_files(sockets);
        if left.is_empty() && files.is_empty() {
            eprintln!(
                "nothing left {:?} after terraform was killed",
                killed.elapsed()
            );
            return;
        }
        assert!(
            killed.elapsed() < Duration::from_secs(3),
            "3 s after terraform was killed, still running: {left:?}; socket files: {files:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn killing_terraform_mid_read_leaves_no_provider_and_no_socket() {
    let (workspace, sockets) = workspace_with_socket_directory().await;
    let terraform = plan_hanging_at_atlas(&workspace).await;
    kill_terraform_and_expect_no_leftovers(terraform, &sockets).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn killing_terraform_leaves_nothing_behind_a_wrapper_that_does_not_exec() {
    let (workspace, sockets) = workspace_with_socket_directory().await;
    // A wrapper that runs the provider as its child and outlives it (no exec): the provider's
    // parent survives Terraform, so only Terraform's closed connection tells it to go.
    let wrappers = workspace.directory.path().join("wrapper");
    std::fs::create_dir(&wrappers).unwrap();
    let wrapper = wrappers.join("terraform-provider-atlas");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\n\"{}\" \"$@\"\nstatus=$?\nexit $status\n",
            env!("CARGO_BIN_EXE_terraform-provider-atlas")
        ),
    )
    .unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(
        &workspace.cli_config,
        fake_atlas::terraform::dev_overrides_config(&wrappers),
    )
    .unwrap();

    let terraform = plan_hanging_at_atlas(&workspace).await;
    let running = processes_marked_with(&sockets);
    assert!(
        running
            .iter()
            .any(|(_, command)| command.starts_with("/bin/sh ")),
        "the wrapper is not running between terraform and the provider: {running:?}"
    );
    kill_terraform_and_expect_no_leftovers(terraform, &sockets).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_debug_provider_outlives_each_terraform_command() {
    let (mut workspace, sockets) = workspace_with_socket_directory().await;
    let mut debug = Command::new(env!("CARGO_BIN_EXE_terraform-provider-atlas"))
        .arg("--debug")
        .env("MONGODB_ATLAS_PUBLIC_API_KEY", PUBLIC_KEY)
        .env("MONGODB_ATLAS_PRIVATE_API_KEY", PRIVATE_KEY)
        .env("PLUGIN_UNIX_SOCKET_DIR", &sockets)
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
    workspace.set_env("TF_REATTACH_PROVIDERS", &reattach);
    let socket = socket_files(&sockets);
    assert_eq!(socket.len(), 1, "{socket:?}");

    for command in 1..=2 {
        workspace.plan().await.assert_success();
        // Longer than the grace period the host rule would give after Terraform's connection
        // closed: that rule is off in debug mode.
        tokio::time::sleep(HOST_RECONNECT_GRACE + Duration::from_millis(500)).await;
        assert!(
            debug.try_wait().unwrap().is_none(),
            "the debug provider exited after terraform command {command}"
        );
        assert!(
            socket[0].exists(),
            "the socket went after command {command}"
        );
    }

    Command::new("kill")
        .args(["-TERM", &debug.id().to_string()])
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while debug.try_wait().unwrap().is_none() {
        assert!(
            Instant::now() < deadline,
            "debug mode did not stop on SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(!socket[0].exists(), "SIGTERM left the debug socket behind");
}

/// How many silent connections the flood opens at each start of the provider: more than the
/// 512 the provider holds at once.
const SILENT_PER_START: usize = 600;

/// Issue 21 item 9: a process of the same user that opened 600 silent connections to the
/// plugin socket between the handshake line and Terraform's connect made the plan fail with
/// "Plugin did not respond". A wrapper stands between Terraform and the provider: it hands the
/// handshake line to this test, which floods the socket, and only then passes it on, so every
/// connection Terraform makes (over mutual TLS, as a normal run) finds 600 silent ones before it.
#[tokio::test(flavor = "multi_thread")]
async fn a_plan_is_served_when_600_silent_connections_precede_terraform() {
    let (workspace, _sockets) = workspace_with_socket_directory().await;
    let lines = workspace.directory.path().join("handshakes");
    std::fs::create_dir(&lines).unwrap();
    let wrappers = workspace.directory.path().join("wrapper");
    std::fs::create_dir(&wrappers).unwrap();
    let wrapper = wrappers.join("terraform-provider-atlas");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\n\"{provider}\" \"$@\" | {{\n  IFS= read -r line\n  \
             printf '%s\\n' \"$line\" > \"{lines}/$$.tmp\" && mv \"{lines}/$$.tmp\" \"{lines}/$$.line\"\n  \
             while [ ! -e \"{lines}/$$.go\" ]; do sleep 0.01; done\n  \
             printf '%s\\n' \"$line\"\n  cat\n}}\n",
            provider = env!("CARGO_BIN_EXE_terraform-provider-atlas"),
            lines = lines.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(
        &workspace.cli_config,
        fake_atlas::terraform::dev_overrides_config(&wrappers),
    )
    .unwrap();

    let plan = workspace.command(&["plan", "-no-color", "-input=false"]);
    let started = Instant::now();
    let directory = workspace.directory.path().to_path_buf();
    let planning = tokio::task::spawn_blocking(move || {
        run_to_end(plan, "terraform plan".to_owned(), &directory)
    });
    let mut held = Vec::new();
    let mut starts = 0;
    while !planning.is_finished() {
        for entry in std::fs::read_dir(&lines).unwrap().flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|extension| extension != "line") {
                continue;
            }
            let line = std::fs::read_to_string(&path).unwrap();
            let socket = line
                .trim()
                .split('|')
                .nth(3)
                .expect("a handshake line")
                .to_owned();
            for _ in 0..SILENT_PER_START {
                let stream = std::os::unix::net::UnixStream::connect(&socket)
                    .unwrap_or_else(|error| panic!("connecting to {socket}: {error}"));
                held.push(stream);
            }
            std::fs::rename(&path, path.with_extension("go")).unwrap();
            starts += 1;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let run = planning.await.unwrap();
    let took = started.elapsed();
    run.assert_success()
        .assert_shows("data.atlas_interface_endpoint.this: Read complete");
    assert!(
        starts >= 1,
        "the provider was never started through the wrapper"
    );
    eprintln!(
        "plan served in {took:?} through {starts} provider starts, each after {SILENT_PER_START} silent \
         connections"
    );
    drop(held);
}
