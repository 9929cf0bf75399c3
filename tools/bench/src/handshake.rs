//! Exec-to-handshake-line time of the provider binary, started the way Terraform starts it.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::BenchError;
use crate::stats::Sample;

/// Terraform's magic cookie for provider plugins.
const MAGIC_COOKIE: &str = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";

/// How many starts of each kind are thrown away before measuring.
const WARM_UP: usize = 10;

pub struct HandshakeTimes {
    /// With `PLUGIN_CLIENT_CERT` (AutoMTLS, as Terraform runs it).
    pub mtls: Sample,
    /// Without it (plaintext gRPC).
    pub plaintext: Sample,
    /// `--version`: exec to its one line, the cost of starting the process at all.
    pub version: Sample,
    /// The CPU time (every thread) the process had used once it was serving (idle after its
    /// line), for each kind.
    pub mtls_cpu: Sample,
    pub plaintext_cpu: Sample,
    /// `--version`: the CPU time of the whole process (it exits after its line).
    pub version_cpu: Sample,
    /// A program that does nothing (`true`, linked to the same C library): spawn to exit, and
    /// the CPU time the kernel charged it. What every start costs before the provider's own
    /// code runs; empty when the system has no `true`.
    pub nothing: Sample,
    pub nothing_cpu: Sample,
}

/// The system's `true`: a program that starts, does nothing and exits.
fn does_nothing() -> Option<&'static Path> {
    ["/usr/bin/true", "/bin/true"]
        .into_iter()
        .map(Path::new)
        .find(|path| path.is_file())
}

/// Spawn to exit of `true`, and the CPU time the kernel charged it.
fn time_nothing(binary: &Path) -> Result<(Duration, Duration), BenchError> {
    let started = Instant::now();
    let child = Command::new(binary)
        .env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let cpu =
        reap(child.id()).ok_or_else(|| format!("{} could not be reaped", binary.display()))?;
    Ok((started.elapsed(), cpu))
}

/// Wall time to the first line, and the process's CPU time then.
struct FirstLine {
    elapsed: Duration,
    cpu: Duration,
}

/// A client certificate like the one Terraform generates for every plugin it starts: ECDSA
/// P-521, self-signed, marked as a CA.
pub fn terraform_like_client_certificate() -> Result<String, BenchError> {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512)?;
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()])?;
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, "HashiCorp");
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "localhost");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::DigitalSignature,
        rcgen::KeyUsagePurpose::KeyEncipherment,
        rcgen::KeyUsagePurpose::KeyAgreement,
        rcgen::KeyUsagePurpose::KeyCertSign,
    ];
    params.extended_key_usages = vec![
        rcgen::ExtendedKeyUsagePurpose::ClientAuth,
        rcgen::ExtendedKeyUsagePurpose::ServerAuth,
    ];
    Ok(params.self_signed(&key)?.pem())
}

/// Time from spawning `binary` to reading its first stdout line, and the CPU time it had used
/// then (its CPU-time clock; the kernel's rusage when the process has already exited); the process
/// is then killed. The line must look like `expect` says.
fn time_first_line(
    binary: &Path,
    arguments: &[&str],
    environment: &[(&str, &str)],
    expect: impl Fn(&str) -> bool,
) -> Result<FirstLine, BenchError> {
    let mut command = Command::new(binary);
    command
        .args(arguments)
        .env_clear()
        .envs(environment.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let started = Instant::now();
    let mut child = command.spawn()?;
    let mut line = String::new();
    let read = child
        .stdout
        .take()
        .map(|stdout| BufReader::new(stdout).read_line(&mut line));
    let elapsed = started.elapsed();
    // A server keeps running after its line and is killed; `--version` exits by itself, and its
    // whole life is what it costs.
    let serves = arguments.is_empty();
    let cpu_at_line = serves
        .then(|| {
            wait_until_idle(child.id());
            crate::cpu::cpu_so_far(child.id())
        })
        .flatten();
    if serves {
        let _ = child.kill();
    }
    let cpu_at_exit = reap(child.id());
    match read {
        Some(Ok(_)) if expect(line.trim_end()) => Ok(FirstLine {
            elapsed,
            cpu: cpu_at_line.or(cpu_at_exit).unwrap_or_default(),
        }),
        _ => Err(format!(
            "{} {arguments:?} printed {line:?} instead of the line expected",
            binary.display()
        )
        .into()),
    }
}

/// Waits (at most 200 ms) until every thread of `pid` sleeps: the kernel brings a thread's CPU
/// time up to date when it stops running, so the CPU clock read after this is exact, where one
/// read while a thread runs on another core lags by up to a scheduler tick.
fn wait_until_idle(pid: u32) {
    let deadline = Instant::now() + Duration::from_millis(200);
    let tasks = format!("/proc/{pid}/task");
    while Instant::now() < deadline {
        let all_sleeping = std::fs::read_dir(&tasks).is_ok_and(|entries| {
            entries.flatten().all(|entry| {
                std::fs::read_to_string(entry.path().join("stat")).is_ok_and(|stat| {
                    // The state follows the parenthesised command name.
                    stat.rsplit_once(')')
                        .and_then(|(_, rest)| rest.split_whitespace().next())
                        .is_some_and(|state| state == "S" || state == "D")
                })
            })
        });
        if all_sleeping {
            return;
        }
        std::thread::sleep(Duration::from_micros(100));
    }
}

/// Reaps child `pid` and returns the CPU time the kernel charged it.
fn reap(pid: u32) -> Option<Duration> {
    let mut status: libc::c_int = 0;
    // SAFETY: an all-zero rusage is a valid value of that plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: pid is our child, which nothing else reaps (its Child handle never waits).
    let reaped = unsafe { libc::wait4(pid as libc::pid_t, &mut status, 0, &mut usage) };
    let microseconds = |time: libc::timeval| time.tv_sec as u64 * 1_000_000 + time.tv_usec as u64;
    (reaped == pid as libc::pid_t)
        .then(|| Duration::from_micros(microseconds(usage.ru_utime) + microseconds(usage.ru_stime)))
}

/// Starts the binary `runs` times in each of the three ways, and the system's `true` as often,
/// interleaved (the order rotating every run), after a warm-up.
pub fn measure(
    binary: &Path,
    socket_directory: &Path,
    client_certificate: &str,
    runs: usize,
) -> Result<HandshakeTimes, BenchError> {
    let socket_directory = socket_directory.to_string_lossy().into_owned();
    let base = [
        ("TF_PLUGIN_MAGIC_COOKIE", MAGIC_COOKIE),
        ("PLUGIN_PROTOCOL_VERSIONS", "5,6"),
        ("PLUGIN_UNIX_SOCKET_DIR", socket_directory.as_str()),
    ];
    let mut with_certificate = base.to_vec();
    with_certificate.push(("PLUGIN_CLIENT_CERT", client_certificate));
    let mut times = HandshakeTimes {
        mtls: Sample::default(),
        plaintext: Sample::default(),
        version: Sample::default(),
        mtls_cpu: Sample::default(),
        plaintext_cpu: Sample::default(),
        version_cpu: Sample::default(),
        nothing: Sample::default(),
        nothing_cpu: Sample::default(),
    };
    let nothing = does_nothing();
    let kinds = if nothing.is_some() { 4 } else { 3 };
    for run in 0..WARM_UP + runs {
        for kind in 0..kinds {
            let kind = (kind + run) % kinds;
            if let (3, Some(nothing)) = (kind, nothing) {
                let (wall, cpu) = time_nothing(nothing)?;
                if run >= WARM_UP {
                    times.nothing.push(wall);
                    times.nothing_cpu.push(cpu);
                }
                continue;
            }
            let first_line = match kind {
                0 => time_first_line(binary, &[], &with_certificate, |line| {
                    line.starts_with("1|6|unix|") && !line.ends_with('|')
                })?,
                1 => time_first_line(binary, &[], &base, |line| {
                    line.starts_with("1|6|unix|") && line.ends_with("|grpc|")
                })?,
                _ => time_first_line(binary, &["--version"], &[], |line| {
                    line.starts_with("terraform-provider-atlas ")
                })?,
            };
            if run >= WARM_UP {
                let (wall, cpu) = match kind {
                    0 => (&mut times.mtls, &mut times.mtls_cpu),
                    1 => (&mut times.plaintext, &mut times.plaintext_cpu),
                    _ => (&mut times.version, &mut times.version_cpu),
                };
                wall.push(first_line.elapsed);
                cpu.push(first_line.cpu);
            }
        }
    }
    Ok(times)
}
