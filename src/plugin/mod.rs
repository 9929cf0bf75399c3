//! Process mechanics of a go-plugin gRPC plugin: the socket, mutual TLS, the handshake line,
//! health, controller shutdown and stdio, and when the process ends. Serves whatever tfplugin6
//! provider it is given and knows nothing of Atlas.

pub mod accept;
mod connection;
mod controller;
pub mod handshake;
pub mod lifetime;
pub mod socket;
pub mod tls;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tonic::transport::Server;

use crate::logging;
use crate::proto::go_plugin::grpc_controller_server::GrpcControllerServer;
use crate::proto::go_plugin::grpc_stdio_server::GrpcStdioServer;
use crate::proto::tfplugin6::provider_server::{Provider, ProviderServer};
pub use lifetime::Lifetime;

/// Why the plugin could not start or serve.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    #[error("{}", handshake::not_a_terraform_run_message())]
    NotStartedByTerraform,
    #[error(
        "Terraform offered plugin protocol versions {offered}, but this provider speaks only protocol 6, \
         which Terraform 1.0 and later support. Upgrade Terraform to 1.0 or later."
    )]
    ProtocolVersionUnsupported { offered: String },
    #[error("PLUGIN_CLIENT_CERT does not hold a PEM certificate: {0}")]
    ClientCertificate(String),
    #[error("could not set up the plugin's TLS certificate: {0}")]
    Certificate(String),
    #[error("could not listen on the plugin socket {path}: {source}")]
    Socket {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the plugin's gRPC server failed: {0}")]
    Serve(#[from] tonic::transport::Error),
}

/// The largest tfplugin6 request accepted: gRPC's usual default. The provider layer gives a
/// configuration over 2 MiB a diagnostic before decoding it; this bound stops anything larger
/// before it is buffered whole.
pub const MAX_REQUEST_BYTES: usize = 4 * 1024 * 1024;

/// The largest answer sent: twice what the largest state holds (a list data source is bounded at
/// 16 MiB), so only a bug could reach it, and it then fails with a status that says so.
/// Terraform receives it whole: go-plugin's client raises gRPC's 4 MiB receive limit to
/// `math.MaxInt32` (hashicorp/go-plugin, grpc_client.go, `dialGRPCConn`).
pub const MAX_RESPONSE_BYTES: usize = 32 * 1024 * 1024;

/// Calls in flight on one connection. Terraform sends at most its `-parallelism` at once (10 by
/// default) plus the long-lived stdio stream; its gRPC client queues calls beyond the bound the
/// plugin announces. With [`MAX_REQUEST_BYTES`], this bounds what one connection can make the
/// plugin hold: 100 calls, each with at most one request of 4 MiB being read.
pub const MAX_CONCURRENT_STREAMS: u32 = 100;

/// The HTTP/2 flow-control windows: how much request data a peer may send ahead of what the
/// server has read, per stream and in all per connection (hyper's defaults, written here so the
/// bound is in one place).
const STREAM_WINDOW_BYTES: u32 = 1024 * 1024;
const CONNECTION_WINDOW_BYTES: u32 = 1024 * 1024;

/// The largest header block accepted on a call (hyper's default).
const MAX_HEADER_LIST_BYTES: u32 = 16 * 1024;

/// How long the server may take, once told to stop, to finish answering; then the process ends
/// anyway. go-plugin kills a plugin that has not exited 2 s after Shutdown.
const DRAIN_LIMIT: Duration = Duration::from_secs(2);

/// What the host told the plugin through the environment.
#[derive(Clone, Debug)]
pub struct PluginEnvironment {
    /// Where to create the Unix socket (`PLUGIN_UNIX_SOCKET_DIR`, else the temp dir).
    pub socket_dir: PathBuf,
    /// Terraform's client certificate (`PLUGIN_CLIENT_CERT`); when absent we serve plaintext.
    pub client_certificate_pem: Option<String>,
}

impl PluginEnvironment {
    pub fn from_env() -> Self {
        let non_empty = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
        Self {
            socket_dir: non_empty("PLUGIN_UNIX_SOCKET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(std::env::temp_dir),
            client_certificate_pem: non_empty("PLUGIN_CLIENT_CERT"),
        }
    }
}

/// Serves `provider` until `shutdown` is cancelled (by Terraform's Shutdown call or the caller).
///
/// `announce` receives the handshake line once the socket is listening; the binary prints it on
/// stdout, tests read it directly. The socket file is removed when this returns.
pub async fn serve<P: Provider>(
    environment: PluginEnvironment,
    provider: P,
    shutdown: CancellationToken,
    announce: impl FnOnce(String),
) -> Result<(), PluginError> {
    serve_with(
        environment,
        provider,
        shutdown,
        Lifetime::until_shutdown(),
        announce,
    )
    .await
}

/// [`serve`], also ending as `lifetime` says. However serving ends, the provider is first told
/// to stop (StopProvider, which cancels reads in flight), the server gets [`DRAIN_LIMIT`] to
/// send its last answers, and the socket file is removed.
pub async fn serve_with<P: Provider>(
    environment: PluginEnvironment,
    provider: P,
    shutdown: CancellationToken,
    lifetime: Lifetime,
    announce: impl FnOnce(String),
) -> Result<(), PluginError> {
    let tls = match &environment.client_certificate_pem {
        Some(pem) => {
            let identity = tls::ServerIdentity::generate()?;
            let config = tls::server_config(&identity, pem)?;
            Some((identity.certificate, TlsAcceptor::from(config)))
        }
        None => None,
    };
    let (listener, socket) = socket::bind_socket(&environment.socket_dir)?;
    let acceptor = tls.as_ref().map(|(_, acceptor)| acceptor.clone());
    let open = connection::OpenConnections::default();
    let incoming = accept::accept_connections(listener, acceptor, shutdown.clone(), open.clone());
    if let Some(grace) = lifetime.end_after_last_connection {
        tokio::spawn(lifetime::end_when_host_leaves(
            open.watch(),
            grace,
            shutdown.clone(),
        ));
    }

    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_service_status("plugin", tonic_health::ServingStatus::Serving)
        .await;

    announce(handshake::handshake_line(
        socket.path(),
        tls.as_ref().map(|(certificate, _)| certificate.as_ref()),
    ));
    logging::debug(
        "plugin serving",
        &[
            ("socket", socket.path().display().to_string().into()),
            ("tls", tls.is_some().into()),
        ],
    );

    let provider = Arc::new(provider);
    let server = Server::builder()
        .max_concurrent_streams(MAX_CONCURRENT_STREAMS)
        .initial_stream_window_size(STREAM_WINDOW_BYTES)
        .initial_connection_window_size(CONNECTION_WINDOW_BYTES)
        .http2_max_header_list_size(MAX_HEADER_LIST_BYTES)
        .add_service(health_service)
        .add_service(GrpcControllerServer::new(controller::Controller {
            shutdown: shutdown.clone(),
        }))
        .add_service(GrpcStdioServer::new(controller::Stdio {
            shutdown: shutdown.clone(),
        }))
        .add_service(
            ProviderServer::from_arc(Arc::clone(&provider))
                .max_decoding_message_size(MAX_REQUEST_BYTES)
                .max_encoding_message_size(MAX_RESPONSE_BYTES),
        )
        .serve_with_incoming_shutdown(incoming, shutdown.clone().cancelled_owned());
    tokio::pin!(server);
    let served = tokio::select! {
        served = &mut server => served,
        () = shutdown.cancelled() => {
            // Reads in flight would hold the graceful shutdown until they end by themselves.
            let _ = provider
                .stop_provider(tonic::Request::new(
                    crate::proto::tfplugin6::stop_provider::Request {},
                ))
                .await;
            match tokio::time::timeout(DRAIN_LIMIT, &mut server).await {
                Ok(served) => served,
                Err(_) => {
                    logging::debug("plugin stopped without waiting for open connections", &[]);
                    Ok(())
                }
            }
        }
    };
    drop(socket);
    served?;
    logging::debug("plugin stopped", &[]);
    Ok(())
}
