//! The plugin binary: checks it was started by Terraform, prints the handshake line on stdout,
//! and serves the provider until Terraform shuts it down.

use std::io::Write;
use std::process::ExitCode;

use terraform_provider_atlas::plugin::{self, PluginEnvironment, handshake};
use terraform_provider_atlas::provider::AtlasProvider;
use terraform_provider_atlas::{VERSION, logging};
use tokio_util::sync::CancellationToken;

fn main() -> ExitCode {
    if std::env::args()
        .skip(1)
        .any(|argument| argument == "--version" || argument == "-v")
    {
        println!("terraform-provider-atlas {VERSION}");
        return ExitCode::SUCCESS;
    }
    logging::init_from_env();
    let cookie = std::env::var(handshake::MAGIC_COOKIE_KEY).ok();
    let offered = std::env::var("PLUGIN_PROTOCOL_VERSIONS").ok();
    if let Err(error) = handshake::check_environment(cookie.as_deref(), offered.as_deref()) {
        eprintln!("{error}");
        return ExitCode::FAILURE;
    }
    let _ = plugin::tls::crypto_provider()
        .as_ref()
        .clone()
        .install_default();

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("terraform-provider-atlas: could not start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(run());
    // Background tasks (idle HTTP connections, the signal listener) hold nothing worth waiting for.
    runtime.shutdown_background();
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            logging::log(logging::Level::Error, &error.to_string(), &[]);
            eprintln!("terraform-provider-atlas: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), plugin::PluginError> {
    ignore_interrupts();
    let shutdown = CancellationToken::new();
    plugin::serve(
        PluginEnvironment::from_env(),
        AtlasProvider::new(),
        shutdown,
        |line| {
            let mut stdout = std::io::stdout().lock();
            let _ = writeln!(stdout, "{line}");
            let _ = stdout.flush();
        },
    )
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
