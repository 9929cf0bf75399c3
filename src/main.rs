//! The plugin binary: checks it was started by Terraform, prints the handshake line on stdout,
//! and serves the provider until Terraform shuts it down or goes away. `--debug` serves for a
//! debugger instead, and `--version` prints the version.

use std::io::Write;
use std::process::ExitCode;

use terraform_provider_atlas::plugin::lifetime::{self, Parent};
use terraform_provider_atlas::plugin::{self, Lifetime, PluginEnvironment, handshake};
use terraform_provider_atlas::provider::AtlasProvider;
use terraform_provider_atlas::provider::SSL_CERT_FILE;
use terraform_provider_atlas::{VERSION, logging};
use tokio_util::sync::CancellationToken;

/// The provider's address, for `TF_REATTACH_PROVIDERS`.
const PROVIDER_ADDRESS: &str = "registry.terraform.io/local/atlas";

const USAGE: &str = "usage: terraform-provider-atlas [--version | --debug]\n\
                     Terraform starts this plugin itself; --debug serves it for a debugger (see the README).";

enum Mode {
    Plugin,
    Debug,
}

/// Rust's start-up has already made descriptors 0 to 2 valid (a closed one points at /dev/null,
/// so the socket never takes stderr's number) and set SIGPIPE to be ignored (a vanished
/// Terraform is an error to handle, not a reason to die); tests/plugin/process.rs checks both.
/// A panic that reaches the top unwinds, running every destructor (the socket file's owner's
/// among them), and ends the process with status 101.
fn main() -> ExitCode {
    ExitCode::from(run())
}

/// The program; its exit status.
fn run() -> u8 {
    let mode = match std::env::args().skip(1).collect::<Vec<_>>().as_slice() {
        [] => Mode::Plugin,
        [flag] if flag == "--debug" => Mode::Debug,
        [flag] if flag == "--version" || flag == "-v" => {
            println!("terraform-provider-atlas {VERSION}");
            return 0;
        }
        _ => {
            eprintln!("{USAGE}");
            return 2;
        }
    };
    // Before any thread exists: the parent-death signal is set for the calling thread only.
    let parent = match mode {
        Mode::Plugin => Some(Parent::arm()),
        Mode::Debug => None,
    };
    logging::init_from_env();
    if let Mode::Plugin = mode {
        let cookie = std::env::var(handshake::MAGIC_COOKIE_KEY).ok();
        let offered = std::env::var("PLUGIN_PROTOCOL_VERSIONS").ok();
        if let Err(error) = handshake::check_environment(cookie.as_deref(), offered.as_deref()) {
            eprintln!("{error}");
            return 1;
        }
    }
    if parent.as_ref().is_some_and(Parent::is_gone) {
        eprintln!("terraform-provider-atlas: the process that started it has already ended");
        return 1;
    }
    plugin::socket::remove_sockets_on_fatal_panic();
    let provider = provider_with_additive_ca_bundle();
    let _ = plugin::tls::crypto_provider()
        .as_ref()
        .clone()
        .install_default();

    // One thread: a process that lives for a plan does a few RPCs, and its reads wait on the
    // network, not the CPU, so they interleave on it; worker threads only cost their start-up
    // and a wake-up across threads for every request (docs/performance.md).
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("terraform-provider-atlas: could not start the async runtime: {error}");
            return 1;
        }
    };
    let outcome = match mode {
        Mode::Plugin => runtime.block_on(serve_terraform(provider, parent)),
        Mode::Debug => runtime.block_on(serve_debugger(provider)),
    };
    // Background tasks (idle HTTP connections, the signal listener) hold nothing worth waiting for.
    runtime.shutdown_background();
    match outcome {
        Ok(()) => 0,
        Err(error) => {
            logging::log(logging::Level::Error, &error.to_string(), &[]);
            eprintln!("terraform-provider-atlas: {error}");
            1
        }
    }
}

/// The provider, with `SSL_CERT_FILE` taken out of the process environment and handed to it.
///
/// The system trust store loader treats `SSL_CERT_FILE` as a replacement for the system roots
/// (OpenSSL's convention); we promise that bundle is trusted in addition to them. So the
/// variable is read here, while the process has one thread, removed, and passed on.
fn provider_with_additive_ca_bundle() -> AtlasProvider {
    let bundle = std::env::var(SSL_CERT_FILE).ok();
    if bundle.is_some() {
        // SAFETY: no other thread exists yet; the async runtime is built after this.
        unsafe { std::env::remove_var(SSL_CERT_FILE) };
    }
    AtlasProvider::with_environment(Box::new(move |name| {
        if name == SSL_CERT_FILE {
            bundle.clone()
        } else {
            std::env::var(name).ok()
        }
    }))
}

/// Serves Terraform, and ends with it: when Terraform shuts us down, when our parent dies, when
/// Terraform's connection closes for good, or on SIGTERM or SIGHUP.
async fn serve_terraform(
    provider: AtlasProvider,
    parent: Option<Parent>,
) -> Result<(), plugin::PluginError> {
    ignore_interrupts();
    let shutdown = CancellationToken::new();
    lifetime::end_on_termination_signals(&shutdown);
    if let Some(parent) = parent {
        parent.end_when_gone(&shutdown);
    }
    let host_gone = shutdown.clone();
    plugin::serve_with(
        PluginEnvironment::from_env(),
        provider,
        shutdown,
        Lifetime::while_host_connected(lifetime::HOST_RECONNECT_GRACE),
        move |line| {
            let mut stdout = std::io::stdout().lock();
            let written = writeln!(stdout, "{line}").and_then(|()| stdout.flush());
            drop(stdout);
            detach_stdout();
            // Only Terraform reads our stdout: a closed pipe (EPIPE) means it died before we
            // were ready, which neither the parent's death signal nor a closed connection
            // would ever tell us, since it may have died before either could be watched.
            if let Err(error) = written {
                logging::info(
                    "exiting: the handshake line could not be written, Terraform is gone",
                    &[("error", error.to_string().into())],
                );
                host_gone.cancel();
            }
        },
    )
    .await
}

/// Points stdout at /dev/null once the handshake line is out.
///
/// Nothing may follow the handshake on stdout, and go-plugin keeps reading the pipe until it
/// closes. Closing our end now gives its reader EOF at once; otherwise the reader races the
/// process exit and Terraform 1.11 (go-plugin 1.6.0) logs "[ERROR] error encountered while
/// scanning stdout: read |0: file already closed" in about half the runs. /dev/null rather than
/// a closed descriptor, so that a stray print can never fail.
fn detach_stdout() {
    let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") else {
        return;
    };
    // SAFETY: dup2 onto descriptor 1 only changes what stdout refers to; Rust's stdout handle
    // keeps using descriptor 1 and has just been flushed.
    unsafe {
        libc::dup2(std::os::fd::AsRawFd::as_raw_fd(&null), libc::STDOUT_FILENO);
    }
}

/// Serves without TLS for a debugger-attached process and prints the `TF_REATTACH_PROVIDERS`
/// value to export; serves until interrupted (Ctrl-C, SIGTERM, SIGHUP), however many Terraform
/// commands attach and leave.
async fn serve_debugger(provider: AtlasProvider) -> Result<(), plugin::PluginError> {
    let shutdown = CancellationToken::new();
    lifetime::end_on_termination_signals(&shutdown);
    let interrupted = shutdown.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        interrupted.cancel();
    });
    let environment = PluginEnvironment {
        client_certificate_pem: None,
        ..PluginEnvironment::from_env()
    };
    plugin::serve(environment, provider, shutdown, |line| {
        let socket = line.split('|').nth(3).unwrap_or_default();
        let reattach = serde_json::json!({
            PROVIDER_ADDRESS: {
                "Protocol": "grpc",
                "ProtocolVersion": handshake::APP_PROTOCOL_VERSION,
                "Pid": std::process::id(),
                // Terraform 1.11 requires Test for protocol 6 reattachment; it also keeps
                // Terraform from killing the process when a command ends.
                "Test": true,
                "Addr": { "Network": "unix", "String": socket },
            }
        });
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(
            stdout,
            "Provider started in debug mode. To attach Terraform, run in the shell that runs it:\n\n\
             \texport TF_REATTACH_PROVIDERS='{reattach}'\n\n\
             Serving until interrupted (Ctrl-C)."
        );
        let _ = stdout.flush();
    })
    .await
}

/// Terraform owns Ctrl-C: the terminal sends SIGINT to the whole process group, and Terraform
/// tells us to stop through StopProvider and Shutdown instead. Handling the signal (and doing
/// nothing) keeps the default action, termination, from killing a read mid-flight.
fn ignore_interrupts() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::interrupt()) {
        Ok(mut interrupts) => {
            tokio::spawn(async move {
                while interrupts.recv().await.is_some() {
                    logging::debug("ignoring SIGINT: Terraform stops the provider itself", &[]);
                }
            });
        }
        Err(error) => logging::warn(
            "could not ignore SIGINT",
            &[("error", error.to_string().into())],
        ),
    }
}
