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

/// Time from spawning `binary` to reading its first stdout line; the process is then killed.
/// The line must look like `expect` says.
fn time_first_line(
    binary: &Path,
    arguments: &[&str],
    environment: &[(&str, &str)],
    expect: impl Fn(&str) -> bool,
) -> Result<Duration, BenchError> {
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
    let _ = child.kill();
    let _ = child.wait();
    match read {
        Some(Ok(_)) if expect(line.trim_end()) => Ok(elapsed),
        _ => Err(format!(
            "{} {arguments:?} printed {line:?} instead of the line expected",
            binary.display()
        )
        .into()),
    }
}

/// Starts the binary `runs` times in each of the three ways, interleaved (the order rotating
/// every run), after a warm-up.
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
    };
    for run in 0..WARM_UP + runs {
        for kind in 0..3 {
            let kind = (kind + run) % 3;
            let elapsed = match kind {
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
                match kind {
                    0 => times.mtls.push(elapsed),
                    1 => times.plaintext.push(elapsed),
                    _ => times.version.push(elapsed),
                }
            }
        }
    }
    Ok(times)
}
