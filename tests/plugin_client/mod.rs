//! The plugin served in the test process as Terraform starts it, a client that speaks to it as
//! Terraform does (over the Unix socket, with mutual TLS and a P-521 client certificate), and
//! the configurations and calls the tests in `tests/plugin` send through it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use std::time::{Duration, Instant};

use fake_atlas::{FakeAtlas, PRIVATE_KEY, PUBLIC_KEY, RecordedRequest};
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use terraform_provider_atlas::plugin::{self, Lifetime, PluginEnvironment};
use terraform_provider_atlas::proto::tfplugin6 as proto;
use terraform_provider_atlas::proto::tfplugin6::provider_client::ProviderClient;
use terraform_provider_atlas::provider::value::Value;
use terraform_provider_atlas::provider::{AtlasProvider, Environment};
use tokio::net::UnixStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic::transport::{Channel, Endpoint as GrpcEndpoint};

// ---------------------------------------------------------------------------------------------
// What Terraform sends
// ---------------------------------------------------------------------------------------------

pub fn text(value: &str) -> Value {
    Value::String(value.to_owned())
}

pub fn object(entries: &[(&str, Value)]) -> Value {
    Value::Object(
        entries
            .iter()
            .map(|(name, value)| ((*name).to_owned(), value.clone()))
            .collect(),
    )
}

/// The provider block with the fake's public key, `private_key` and `base_url`.
pub fn provider_config(base_url: &str, private_key: &str) -> Value {
    object(&[
        ("public_key", text(PUBLIC_KEY)),
        ("private_key", text(private_key)),
        ("base_url", text(base_url)),
    ])
}

/// An `atlas_interface_endpoint` block as Terraform sends it: the three ids, the rest null.
pub fn endpoint_config(project: Value, link: Value, endpoint: Value) -> Value {
    object(&[
        ("project_id", project),
        ("private_link_id", link),
        ("interface_endpoint_id", endpoint),
        ("connection_status", Value::Null),
        ("error_message", Value::Null),
        ("delete_requested", Value::Null),
        ("id", Value::Null),
    ])
}

/// The fake's API keys in the environment, and nothing else.
pub fn keys_only_environment() -> Environment {
    Box::new(|name: &str| match name {
        "MONGODB_ATLAS_PUBLIC_API_KEY" => Some(PUBLIC_KEY.to_owned()),
        "MONGODB_ATLAS_PRIVATE_API_KEY" => Some(PRIVATE_KEY.to_owned()),
        _ => None,
    })
}

/// ConfigureProvider with `config`; its diagnostics.
pub async fn configure(
    client: &mut ProviderClient<Channel>,
    config: Value,
) -> Vec<proto::Diagnostic> {
    client
        .configure_provider(proto::configure_provider::Request {
            terraform_version: "1.11.4".into(),
            config: Some(config.encode()),
            client_capabilities: None,
        })
        .await
        .expect("ConfigureProvider answers")
        .into_inner()
        .diagnostics
}

/// ReadDataSource of `atlas_interface_endpoint` with `config`.
pub async fn read(
    client: &mut ProviderClient<Channel>,
    config: Value,
) -> proto::read_data_source::Response {
    client
        .read_data_source(read_request(config))
        .await
        .unwrap()
        .into_inner()
}

pub fn read_request(config: Value) -> proto::read_data_source::Request {
    proto::read_data_source::Request {
        type_name: "atlas_interface_endpoint".into(),
        config: Some(config.encode()),
        provider_meta: None,
        client_capabilities: None,
    }
}

/// Waits, up to 30 s, until the fake Atlas has received a request that `seen` picks: a read in
/// flight has got that far.
pub async fn until_atlas_received(atlas: &FakeAtlas, seen: impl Fn(&RecordedRequest) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !atlas.requests().iter().any(&seen) {
        assert!(Instant::now() < deadline, "the read never reached Atlas");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// The plugin and the connection to it
// ---------------------------------------------------------------------------------------------

/// A certificate like the one Terraform makes: ECDSA P-521, marked as a CA, used as a client.
pub struct ClientIdentity {
    pub pem: String,
    certificate: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
}

pub fn terraform_like_certificate() -> ClientIdentity {
    let key_pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512).unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, "HashiCorp");
    let certificate = params.self_signed(&key_pair).unwrap();
    ClientIdentity {
        pem: certificate.pem(),
        certificate: certificate.der().clone(),
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key_pair.serialize_der())),
    }
}

/// The plugin served in this process.
pub struct Plugin {
    pub socket: PathBuf,
    pub server_certificate: Option<CertificateDer<'static>>,
    pub shutdown: CancellationToken,
    pub served: JoinHandle<Result<(), plugin::PluginError>>,
    pub directory: tempfile::TempDir,
}

impl Plugin {
    /// The Atlas provider with no environment, as Terraform starts it (over mTLS when
    /// `client_certificate_pem` is given), serving until shut down.
    pub async fn start(client_certificate_pem: Option<String>) -> Plugin {
        let provider = AtlasProvider::with_environment(Box::new(|_: &str| None));
        Plugin::start_with(provider, client_certificate_pem, Lifetime::until_shutdown()).await
    }

    pub async fn start_with(
        provider: AtlasProvider,
        client_certificate_pem: Option<String>,
        lifetime: Lifetime,
    ) -> Plugin {
        let directory = tempfile::tempdir().unwrap();
        let environment = PluginEnvironment {
            socket_dir: directory.path().to_owned(),
            client_certificate_pem,
        };
        let shutdown = CancellationToken::new();
        let (line_sender, line_receiver) = oneshot::channel();
        let served = tokio::spawn(plugin::serve_with(
            environment,
            provider,
            shutdown.clone(),
            lifetime,
            move |line| {
                let _ = line_sender.send(line);
            },
        ));
        let line = line_receiver
            .await
            .expect("the plugin announces a handshake line");
        let (socket, server_certificate) = parse_handshake(&line);
        Plugin {
            socket,
            server_certificate,
            shutdown,
            served,
            directory,
        }
    }

    /// A gRPC channel over the socket; over TLS with `identity` when the plugin serves TLS.
    pub async fn channel(
        &self,
        identity: Option<&ClientIdentity>,
    ) -> Result<Channel, tonic::transport::Error> {
        connect(&self.socket, self.server_certificate.clone(), identity).await
    }

    pub async fn provider(&self, identity: Option<&ClientIdentity>) -> ProviderClient<Channel> {
        ProviderClient::new(self.channel(identity).await.expect("connects"))
    }
}

/// The socket and the server certificate in a handshake line, checking its other fields.
pub fn parse_handshake(line: &str) -> (PathBuf, Option<CertificateDer<'static>>) {
    let fields: Vec<&str> = line.trim().split('|').collect();
    assert_eq!(fields.len(), 6, "{line}");
    assert_eq!(&fields[..3], ["1", "6", "unix"]);
    assert_eq!(fields[4], "grpc");
    let server_certificate = (!fields[5].is_empty())
        .then(|| CertificateDer::from(STANDARD_NO_PAD.decode(fields[5]).expect("unpadded base64")));
    (PathBuf::from(fields[3]), server_certificate)
}

/// A gRPC channel to a plugin's socket; over TLS, trusting `server_certificate` and presenting
/// `identity`, when the plugin serves TLS.
pub async fn connect(
    socket: &Path,
    server_certificate: Option<CertificateDer<'static>>,
    identity: Option<&ClientIdentity>,
) -> Result<Channel, tonic::transport::Error> {
    let socket = socket.to_path_buf();
    let tls = server_certificate.map(|server| {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(server).unwrap();
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots);
        let mut config = match identity {
            Some(identity) => builder
                .with_client_auth_cert(vec![identity.certificate.clone()], identity.key.clone_key())
                .unwrap(),
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = vec![b"h2".to_vec()];
        tokio_rustls::TlsConnector::from(Arc::new(config))
    });
    GrpcEndpoint::from_static("http://localhost")
        .connect_with_connector(tower::service_fn(move |_| {
            let socket = socket.clone();
            let tls = tls.clone();
            async move {
                let stream = UnixStream::connect(socket).await?;
                Ok::<_, std::io::Error>(match tls {
                    Some(connector) => {
                        let name = ServerName::try_from("localhost").unwrap();
                        Either::Tls(Box::new(TokioIo::new(
                            connector.connect(name, stream).await?,
                        )))
                    }
                    None => Either::Plain(TokioIo::new(stream)),
                })
            }
        }))
        .await
}

/// Plain or TLS stream, for the connector.
pub enum Either {
    Plain(TokioIo<UnixStream>),
    Tls(Box<TokioIo<tokio_rustls::client::TlsStream<UnixStream>>>),
}

macro_rules! delegate {
    ($self:ident, $method:ident, $($argument:expr),*) => {
        match std::pin::Pin::get_mut($self) {
            Either::Plain(stream) => std::pin::Pin::new(stream).$method($($argument),*),
            Either::Tls(stream) => std::pin::Pin::new(stream.as_mut()).$method($($argument),*),
        }
    };
}

impl hyper::rt::Read for Either {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        context: &mut std::task::Context<'_>,
        buffer: hyper::rt::ReadBufCursor<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        delegate!(self, poll_read, context, buffer)
    }
}

impl hyper::rt::Write for Either {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        context: &mut std::task::Context<'_>,
        buffer: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        delegate!(self, poll_write, context, buffer)
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        context: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        delegate!(self, poll_flush, context)
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        context: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        delegate!(self, poll_shutdown, context)
    }
}
