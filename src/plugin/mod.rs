//! Process mechanics of a go-plugin gRPC plugin: the socket, mutual TLS, the handshake line,
//! health, controller shutdown and stdio. Serves whatever tfplugin6 provider it is given and
//! knows nothing of Atlas.

pub mod connection;
pub mod controller;
pub mod handshake;
pub mod tls;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use tokio::net::UnixListener;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tonic::transport::Server;

use crate::logging;
use crate::proto::go_plugin::grpc_controller_server::GrpcControllerServer;
use crate::proto::go_plugin::grpc_stdio_server::GrpcStdioServer;
use crate::proto::tfplugin6::provider_server::{Provider, ProviderServer};

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

/// The largest tfplugin6 request accepted.
pub const MAX_REQUEST_BYTES: usize = 2 * 1024 * 1024;

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
    let tls = match &environment.client_certificate_pem {
        Some(pem) => {
            let identity = tls::ServerIdentity::generate()?;
            let config = tls::server_config(&identity, pem)?;
            Some((identity.certificate, TlsAcceptor::from(config)))
        }
        None => None,
    };
    let (listener, socket) = bind_socket(&environment.socket_dir)?;
    let acceptor = tls.as_ref().map(|(_, acceptor)| acceptor.clone());
    let incoming = connection::accept_connections(listener, acceptor, shutdown.clone());

    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_service_status("plugin", tonic_health::ServingStatus::Serving)
        .await;

    announce(handshake::handshake_line(
        &socket.0,
        tls.as_ref().map(|(certificate, _)| certificate.as_ref()),
    ));
    logging::debug(
        "plugin serving",
        &[
            ("socket", socket.0.display().to_string().into()),
            ("tls", tls.is_some().into()),
        ],
    );

    Server::builder()
        .add_service(health_service)
        .add_service(GrpcControllerServer::new(controller::Controller {
            shutdown: shutdown.clone(),
        }))
        .add_service(GrpcStdioServer::new(controller::Stdio))
        // Terraform's messages are configurations of a few hundred bytes; 2 MiB leaves room for
        // absurd values (a 1 MB id gets a diagnostic) while bounding what decoding one request
        // can allocate.
        .add_service(ProviderServer::new(provider).max_decoding_message_size(MAX_REQUEST_BYTES))
        .serve_with_incoming_shutdown(incoming, shutdown.cancelled_owned())
        .await?;
    logging::debug("plugin stopped", &[]);
    Ok(())
}

/// The socket file; removed when dropped.
struct SocketFile(PathBuf);

impl Drop for SocketFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Binds a new socket only its owner may use, under a name no other process holds.
fn bind_socket(directory: &Path) -> Result<(UnixListener, SocketFile), PluginError> {
    let process = std::process::id();
    let mut attempt = 0u32;
    loop {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|elapsed| elapsed.subsec_nanos())
            .unwrap_or_default();
        let path = directory.join(format!("plugin-atlas-{process}-{nanos:x}-{attempt}"));
        match UnixListener::bind(&path) {
            Ok(listener) => {
                let socket = SocketFile(path);
                std::fs::set_permissions(&socket.0, std::fs::Permissions::from_mode(0o600))
                    .map_err(|source| PluginError::Socket {
                        path: socket.0.clone(),
                        source,
                    })?;
                return Ok((listener, socket));
            }
            Err(error) if error.kind() == std::io::ErrorKind::AddrInUse && attempt < 8 => {
                attempt += 1
            }
            Err(source) => return Err(PluginError::Socket { path, source }),
        }
    }
}
