//! The provider binary as a process, started the way Terraform starts it and spoken to over
//! mutual TLS: SIGTERM and SIGHUP end it cleanly, its parent's death ends it, and it backs off
//! when `accept` fails for want of descriptors.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::plugin_client::{
    ClientIdentity, configure, connect, endpoint_config, object, parse_handshake, read_request,
    terraform_like_certificate, text, until_atlas_received,
};
use fake_atlas::{
    Endpoint, FakeAtlas, Fault, PRIVATE_KEY, PRIVATE_LINK_ID, PROJECT_ID, PUBLIC_KEY,
};
use rustls::pki_types::CertificateDer;
use terraform_provider_atlas::proto::tfplugin6 as proto;
use terraform_provider_atlas::proto::tfplugin6::provider_client::ProviderClient;
use tokio::net::UnixStream;
use tonic::transport::Channel;

const BINARY: &str = env!("CARGO_BIN_EXE_terraform-provider-atlas");
const ENDPOINT: &str = "vpce-0a0000000000000a1";

/// The environment Terraform gives a provider, for `identity`, with sockets in `socket_dir`.
fn as_terraform_starts_it(command: &mut Command, identity: &ClientIdentity, socket_dir: &Path) {
    for (name, _) in std::env::vars_os() {
        let text = name.to_string_lossy();
        if text.starts_with("TF_") || text.starts_with("MONGODB_ATLAS_") {
            command.env_remove(&name);
        }
    }
    command
        .env(
            "TF_PLUGIN_MAGIC_COOKIE",
            "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2",
        )
        .env("PLUGIN_PROTOCOL_VERSIONS", "6")
        .env("PLUGIN_CLIENT_CERT", &identity.pem)
        .env("PLUGIN_UNIX_SOCKET_DIR", socket_dir)
        .env("MONGODB_ATLAS_PUBLIC_API_KEY", PUBLIC_KEY)
        .env("MONGODB_ATLAS_PRIVATE_API_KEY", PRIVATE_KEY)
        .env("TF_LOG", "WARN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
}

/// A started process whose stdout carries a provider's handshake line.
struct Started {
    child: Child,
    socket: PathBuf,
    server_certificate: Option<CertificateDer<'static>>,
    stderr: PathBuf,
    _directory: tempfile::TempDir,
}

impl Started {
    /// The provider binary, started as Terraform starts it.
    fn provider(identity: &ClientIdentity) -> Started {
        Started::spawn(identity, Command::new(BINARY))
    }

    /// `command` (the provider, or a process that starts it), with Terraform's environment.
    fn spawn(identity: &ClientIdentity, mut command: Command) -> Started {
        let directory = tempfile::tempdir().unwrap();
        let stderr = directory.path().join("stderr");
        as_terraform_starts_it(&mut command, identity, directory.path());
        command.stderr(File::create(&stderr).unwrap());
        let mut child = command.spawn().expect("starting the provider");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .expect("reading the handshake line");
        let (socket, server_certificate) = parse_handshake(&line);
        Started {
            child,
            socket,
            server_certificate,
            stderr,
            _directory: directory,
        }
    }

    async fn client(&self, identity: &ClientIdentity) -> ProviderClient<Channel> {
        let channel = connect(
            &self.socket,
            self.server_certificate.clone(),
            Some(identity),
        )
        .await
        .expect("connects");
        ProviderClient::new(channel)
    }

    /// The provider's process id, from its socket's name (`plugin-atlas-<pid>-...`).
    fn provider_pid(&self) -> u32 {
        provider_pid_of(&self.socket)
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}

fn provider_pid_of(socket: &Path) -> u32 {
    let name = socket.file_name().unwrap().to_string_lossy().into_owned();
    name.strip_prefix("plugin-atlas-")
        .and_then(|rest| rest.split('-').next())
        .and_then(|pid| pid.parse().ok())
        .unwrap_or_else(|| panic!("no pid in the socket name {name}"))
}

/// Whether `pid` is a live process (a zombie has ended; only its parent has not reaped it).
fn is_running(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(") ")
            .map(|(_, rest)| !rest.starts_with('Z'))
            .unwrap_or(false),
        Err(_) => false,
    }
}

fn signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -{name} {pid} failed");
}

async fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if done() {
            return Some(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

/// A termination signal during a read that hangs at Atlas: the read is answered "Read
/// Cancelled", the socket file is removed and the process exits 0.
async fn signal_ends_a_hanging_read_cleanly(name: &str) {
    let atlas = FakeAtlas::start().await;
    atlas.put(ENDPOINT, Endpoint::with_status("AVAILABLE"));
    atlas.push_fault(Fault::Hang);
    let identity = terraform_like_certificate();
    let mut provider = Started::provider(&identity);
    let mut client = provider.client(&identity).await;
    configure(&mut client, object(&[("base_url", text(&atlas.url()))])).await;
    let config = endpoint_config(text(PROJECT_ID), text(PRIVATE_LINK_ID), text(ENDPOINT));
    let reading = tokio::spawn(async move { client.read_data_source(read_request(config)).await });
    until_atlas_received(&atlas, |request| request.had_authorization).await;

    signal(provider.child.id(), name);
    let answer = tokio::time::timeout(Duration::from_secs(10), reading)
        .await
        .unwrap_or_else(|_| panic!("the read was not cancelled by {name}"))
        .unwrap()
        .expect("the cancelled read is answered")
        .into_inner();
    assert_eq!(answer.diagnostics.len(), 1, "{:?}", answer.diagnostics);
    assert_eq!(answer.diagnostics[0].summary, "Read Cancelled");
    let exited = wait_until(Duration::from_secs(10), || {
        matches!(provider.child.try_wait(), Ok(Some(_)))
    })
    .await;
    assert!(exited.is_some(), "the provider did not exit on {name}");
    let status = provider.child.wait().unwrap();
    assert!(status.success(), "{name} ended the provider with {status}");
    assert!(!provider.socket.exists(), "{name} left the socket file");
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_cancels_a_hanging_read_removes_the_socket_and_exits() {
    signal_ends_a_hanging_read_cleanly("TERM").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sighup_cancels_a_hanging_read_removes_the_socket_and_exits() {
    signal_ends_a_hanging_read_cleanly("HUP").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_provider_exits_within_a_second_or_two_when_its_parent_is_killed() {
    // A parent that does not exec the provider and never connects: only the parent-death
    // signal can tell the provider that it is alone.
    let identity = terraform_like_certificate();
    let mut parent = Command::new("/bin/sh");
    parent.args(["-c", "\"$0\" & wait", BINARY]);
    let mut provider = Started::spawn(&identity, parent);
    let provider_pid = provider.provider_pid();
    assert_ne!(provider_pid, provider.child.id(), "the shell must not exec");
    assert!(is_running(provider_pid));

    signal(provider.child.id(), "KILL");
    let _ = provider.child.wait();
    let gone = wait_until(Duration::from_secs(3), || {
        !is_running(provider_pid) && !provider.socket.exists()
    })
    .await;
    assert!(
        gone.is_some(),
        "3 s after its parent was killed the provider is {} and its socket {}",
        if is_running(provider_pid) {
            "running"
        } else {
            "gone"
        },
        if provider.socket.exists() {
            "exists"
        } else {
            "is gone"
        }
    );
    eprintln!("the provider ended {gone:?} after its parent was killed");
}

#[tokio::test(flavor = "multi_thread")]
async fn accept_failures_back_off_and_terraform_is_still_served() {
    // 48 descriptors: about 30 left for connections once the runtime and the socket are open.
    let identity = terraform_like_certificate();
    let mut command = Command::new(BINARY);
    // SAFETY: setrlimit is async-signal-safe and changes only the child.
    unsafe {
        command.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 48,
                rlim_max: 48,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let provider = Started::spawn(&identity, command);
    let pid = provider.provider_pid();
    let cpu_before = cpu_ticks(pid);
    let started = Instant::now();
    // Silent peers, as many as the provider has descriptors for, three times over.
    let mut held = Vec::new();
    for _ in 0..150 {
        match UnixStream::connect(&provider.socket).await {
            Ok(stream) => held.push(stream),
            Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
        }
    }

    let schema = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            match connect(
                &provider.socket,
                provider.server_certificate.clone(),
                Some(&identity),
            )
            .await
            {
                Ok(channel) => {
                    break ProviderClient::new(channel)
                        .get_provider_schema(proto::get_provider_schema::Request {})
                        .await;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    })
    .await
    .expect("Terraform was not served within 60 s");
    schema.expect("GetProviderSchema succeeds");
    let took = started.elapsed();
    let cpu = cpu_ticks(pid).saturating_sub(cpu_before);
    drop(held);

    let stderr = provider.stderr();
    let failure_lines = stderr
        .lines()
        .filter(|line| line.contains("accepting a plugin connection failed"))
        .count();
    assert!(
        failure_lines >= 1,
        "the provider never ran out of descriptors, so this tested nothing:\n{stderr}"
    );
    assert!(
        failure_lines <= 1 + took.as_secs() as usize / 10,
        "{failure_lines} log lines about failed accepts in {took:?}: not rate-limited"
    );
    eprintln!(
        "served after {took:?}; {failure_lines} accept-failure log lines; {cpu} CPU ticks used"
    );
    let mut provider = provider;
    let _ = provider.child.kill();
    let _ = provider.child.wait();
}

/// User plus system CPU time of `pid`, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(") ")
        .map(|(_, rest)| rest.split(' ').collect())
        .unwrap_or_default();
    // After the command name: state is field 3, utime 14 and stime 15 (proc(5)).
    let field = |number: usize| {
        fields
            .get(number - 3)
            .and_then(|value| value.parse::<u64>().ok())
            .unwrap_or(0)
    };
    field(14) + field(15)
}

#[test]
fn a_terraform_gone_before_the_handshake_leaves_no_provider_and_no_socket() {
    // Terraform died after starting us and before reading our handshake line: nobody holds the
    // read end of our stdout, nobody will connect, and our parent may be a wrapper that lives on.
    let identity = terraform_like_certificate();
    let directory = tempfile::tempdir().unwrap();
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut command = Command::new(BINARY);
    as_terraform_starts_it(&mut command, &identity, directory.path());
    let mut provider = command
        .stdout(Stdio::from(writer))
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = provider.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(10) {
            let _ = provider.kill();
            let _ = provider.wait();
            panic!("the provider still runs 10 s after failing to write its handshake line");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    // A clean exit, not death by SIGPIPE: the write failed with EPIPE and was handled.
    assert!(status.success(), "{status}");
    let left: Vec<_> = std::fs::read_dir(directory.path())
        .unwrap()
        .flatten()
        .map(|entry| entry.path())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// Started with its stderr closed (a wrapper that closed it), the provider points descriptor 2
/// at /dev/null before it opens anything, so that neither its socket nor a connection takes
/// that number and gets its log lines written into it (Rust's own start-up does it).
#[cfg(target_os = "linux")]
#[test]
fn a_closed_stderr_becomes_dev_null_not_the_socket() {
    let identity = terraform_like_certificate();
    let mut command = Command::new(BINARY);
    // SAFETY: close is async-signal-safe; the child is between fork and exec.
    unsafe {
        command.pre_exec(|| {
            libc::close(2);
            Ok(())
        });
    }
    let directory = tempfile::tempdir().unwrap();
    as_terraform_starts_it(&mut command, &identity, directory.path());
    let mut child = command.spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .expect("the handshake line, though stderr was closed");
    let (socket, _) = parse_handshake(&line);
    let stderr = std::fs::read_link(format!("/proc/{}/fd/2", child.id()));
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(stderr.unwrap(), Path::new("/dev/null"));
    assert!(socket.starts_with(directory.path()));
}

/// The executable is position-independent (ELF type `ET_DYN`), so the loader places its code and
/// data at a random address like everything else in the process, which holds API secrets.
#[cfg(target_os = "linux")]
#[test]
fn the_executable_is_position_independent() {
    let header = std::fs::read(BINARY).unwrap();
    // e_type, a little-endian u16 at offset 16 of the ELF header: 2 is EXEC, 3 is DYN.
    assert_eq!(&header[..4], b"\x7fELF");
    assert_eq!(u16::from_le_bytes([header[16], header[17]]), 3, "not a PIE");
}

/// Issue 21 item 10: 510,801 connect/one byte/close cycles in 5 s gave 510,801 log lines at
/// `TF_LOG_PROVIDER=WARN`. Failed handshakes are now logged like failed accepts: at most one line
/// per 10 s, each with the number of failures not logged since the last, and the remainder
/// once as the provider ends.
#[tokio::test(flavor = "multi_thread")]
async fn thousands_of_failed_tls_handshakes_make_a_few_log_lines_that_count_them() {
    const CYCLES: u64 = 3000;
    let identity = terraform_like_certificate();
    let mut provider = Started::provider(&identity);
    let started = Instant::now();
    for _ in 0..CYCLES {
        let mut stream = std::os::unix::net::UnixStream::connect(&provider.socket)
            .expect("the backlog has room: each peer is gone at once");
        // The first byte of a TLS record, then nothing: the handshake fails at once.
        std::io::Write::write_all(&mut stream, &[0x16]).unwrap();
    }
    // Connections are taken in order: once this one is served, every failed one was accepted.
    provider
        .client(&identity)
        .await
        .get_metadata(proto::get_metadata::Request {})
        .await
        .expect("Terraform is served after the flood");
    let took = started.elapsed();
    // SAFETY: kill only sends a signal to the child we started.
    unsafe {
        libc::kill(provider.child.id() as i32, libc::SIGTERM);
    }
    provider.child.wait().unwrap();

    let stderr = provider.stderr();
    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .filter(|line| line.contains("TLS handshake failed"))
        .map(|line| serde_json::from_str(line).expect("a JSON log line"))
        .collect();
    assert!(
        lines.len() as u64 <= 2 + took.as_secs() / 10,
        "{} lines about failed handshakes in {took:?}: not rate-limited",
        lines.len()
    );
    // A line written for a failure counts it and those not logged before it; the last line,
    // written as the provider ends, only those not logged.
    let counted: u64 = lines
        .iter()
        .map(|line| {
            line["failures_not_logged"]
                .as_u64()
                .expect("each line counts")
                + u64::from(line.get("error").is_some())
        })
        .sum();
    eprintln!(
        "{CYCLES} failed handshakes in {took:?}: {} log lines, counting {counted}",
        lines.len()
    );
    assert_eq!(
        counted, CYCLES,
        "every failed handshake is counted:\n{stderr}"
    );
}
