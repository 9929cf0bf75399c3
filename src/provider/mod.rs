//! The Terraform protocol: the tfplugin6 `Provider` service, provider configuration, and the
//! data sources. Turns requests into calls on the [`crate::atlas`] client and errors into
//! diagnostics.

pub mod atlas_errors;
pub mod ca_bundle;
pub mod config;
pub mod data_sources;
pub mod diagnostics;
pub mod durations;
pub mod schema;
pub mod validators;
pub mod value;

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use crate::atlas::{AtlasClient, ClientSettings, RetryPolicy};
use crate::logging;
use crate::proto::tfplugin6 as proto;
use crate::proto::tfplugin6::provider_server::Provider;
use atlas_errors::KeyInUse;
use config::{Origin, ProviderSettings, Setting};
use data_sources::{DataSource, ReadContext};
use diagnostics::{Diagnostic, to_proto};
use value::Value;

/// How long connecting to Atlas may take, at most (less when `request_timeout` is shorter).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Looks up an environment variable; replaced in tests.
pub type Environment = Box<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// The provider as Terraform sees it.
pub struct AtlasProvider {
    data_sources: Vec<Box<dyn DataSource>>,
    configured: RwLock<Option<Arc<Configured>>>,
    stop: CancellationToken,
    environment: Environment,
}

/// The state after ConfigureProvider.
struct Configured {
    public_key: Setting,
    /// The client, or why there is none (missing or unknown keys): reported by the first read.
    client: Result<AtlasClient, Diagnostic>,
}

impl Default for AtlasProvider {
    fn default() -> Self {
        Self::new()
    }
}

impl AtlasProvider {
    /// A provider reading its fallbacks from the process environment.
    pub fn new() -> Self {
        Self::with_environment(Box::new(|name| std::env::var(name).ok()))
    }

    /// A provider reading its fallbacks through `environment`.
    pub fn with_environment(environment: Environment) -> Self {
        Self {
            data_sources: data_sources::registry(),
            configured: RwLock::new(None),
            stop: CancellationToken::new(),
            environment,
        }
    }

    /// The data sources, for docs.
    pub fn data_sources(&self) -> &[Box<dyn DataSource>] {
        &self.data_sources
    }

    fn data_source(&self, type_name: &str) -> Result<&dyn DataSource, Diagnostic> {
        self.data_sources
            .iter()
            .find(|data_source| data_source.type_name() == type_name)
            .map(|data_source| data_source.as_ref())
            .ok_or_else(|| {
                Diagnostic::error(
                    "Unknown Data Source",
                    format!(
                        "This provider has no data source {type_name:?}. Terraform asked for it, so the schema it \
                         holds is out of date: run `terraform init -upgrade`. Please report this issue if that \
                         does not help."
                    ),
                )
            })
    }

    fn configured(&self) -> Option<Arc<Configured>> {
        self.configured
            .read()
            .ok()
            .and_then(|configured| configured.clone())
    }

    fn configure(
        &self,
        config: &Value,
        terraform_version: &str,
    ) -> Result<Vec<Diagnostic>, Diagnostic> {
        let settings = config::resolve(config, &self.environment)?;
        let warnings = config::warnings(&settings);
        let client = client_for(&settings, terraform_version);
        let configured = Arc::new(Configured {
            public_key: settings.public_key,
            client,
        });
        if let Ok(mut slot) = self.configured.write() {
            *slot = Some(configured);
        }
        Ok(warnings)
    }
}

fn client_for(
    settings: &ProviderSettings,
    terraform_version: &str,
) -> Result<AtlasClient, Diagnostic> {
    let (public_key, private_key) = match (&settings.public_key, &settings.private_key) {
        (Setting::Set { value: public, .. }, Setting::Set { value: private, .. }) => {
            (public.clone(), private.clone())
        }
        (Setting::Unknown, _) | (_, Setting::Unknown) => {
            return Err(Diagnostic::error(
                "Atlas API Key Not Known During Plan",
                "`public_key` or `private_key` depends on a value that is not known until apply, but reading \
                 data sources needs the key during plan. Set the key from a known value or from the environment \
                 variables MONGODB_ATLAS_PUBLIC_API_KEY and MONGODB_ATLAS_PRIVATE_API_KEY.",
            ));
        }
        (public, private) => {
            let missing = match (public, private) {
                (Setting::Missing, Setting::Missing) => "public and private key",
                (Setting::Missing, _) => "public key",
                _ => "private key",
            };
            return Err(Diagnostic::error(
                "Missing Atlas API Key",
                format!(
                    "Reading from Atlas needs a programmatic API key, but no {missing} is set. Set the provider \
                     arguments `public_key` and `private_key`, or the environment variables {} and {} (also read, \
                     in this order: {}, {}; {}, {}). Create a key in Atlas under Access Manager > API Keys with \
                     the Project Read Only role.",
                    config::PUBLIC_KEY_ENV[0],
                    config::PRIVATE_KEY_ENV[0],
                    config::PUBLIC_KEY_ENV[1],
                    config::PUBLIC_KEY_ENV[2],
                    config::PRIVATE_KEY_ENV[1],
                    config::PRIVATE_KEY_ENV[2],
                ),
            ));
        }
    };
    let terraform = if terraform_version.is_empty() {
        "unknown"
    } else {
        terraform_version
    };
    AtlasClient::new(ClientSettings {
        base_url: settings.base_url.clone(),
        public_key,
        private_key,
        user_agent: format!(
            "terraform-provider-atlas/{} terraform/{terraform}",
            crate::VERSION
        ),
        request_timeout: settings.request_timeout,
        connect_timeout: CONNECT_TIMEOUT.min(settings.request_timeout),
        retry: RetryPolicy::with_max_retries(settings.max_retries),
        extra_roots: settings.extra_roots.clone(),
    })
    .map_err(|error| {
        Diagnostic::error(
            "Cannot Set Up the Atlas Client",
            format!(
                "The HTTP client for {} could not be built: {error}.",
                settings.base_url
            ),
        )
    })
}

/// A value Terraform sent that we cannot read: Terraform's bug or ours.
fn undecodable(what: &str, error: value::DecodeError) -> Diagnostic {
    Diagnostic::error(
        "Invalid Value from Terraform",
        format!("The {what} Terraform sent could not be read: {error}. Please report this issue."),
    )
}

#[tonic::async_trait]
impl Provider for AtlasProvider {
    async fn get_metadata(
        &self,
        _request: Request<proto::get_metadata::Request>,
    ) -> Result<Response<proto::get_metadata::Response>, Status> {
        let _rpc = RpcTrace::start("GetMetadata");
        Ok(Response::new(proto::get_metadata::Response {
            server_capabilities: Some(server_capabilities()),
            diagnostics: Vec::new(),
            data_sources: self
                .data_sources
                .iter()
                .map(|data_source| proto::get_metadata::DataSourceMetadata {
                    type_name: data_source.type_name().to_owned(),
                })
                .collect(),
            resources: Vec::new(),
        }))
    }

    async fn get_provider_schema(
        &self,
        _request: Request<proto::get_provider_schema::Request>,
    ) -> Result<Response<proto::get_provider_schema::Response>, Status> {
        let _rpc = RpcTrace::start("GetProviderSchema");
        Ok(Response::new(proto::get_provider_schema::Response {
            provider: Some(config::schema().to_proto()),
            resource_schemas: Default::default(),
            data_source_schemas: self
                .data_sources
                .iter()
                .map(|data_source| {
                    (
                        data_source.type_name().to_owned(),
                        data_source.schema().to_proto(),
                    )
                })
                .collect(),
            diagnostics: Vec::new(),
            provider_meta: None,
            server_capabilities: Some(server_capabilities()),
        }))
    }

    async fn validate_provider_config(
        &self,
        request: Request<proto::validate_provider_config::Request>,
    ) -> Result<Response<proto::validate_provider_config::Response>, Status> {
        let _rpc = RpcTrace::start("ValidateProviderConfig");
        let diagnostics = match Value::decode(request.get_ref().config.as_ref()) {
            Ok(config) => config::validate(&config),
            Err(error) => vec![undecodable("provider configuration", error)],
        };
        Ok(Response::new(proto::validate_provider_config::Response {
            diagnostics: to_proto(diagnostics),
        }))
    }

    async fn validate_data_resource_config(
        &self,
        request: Request<proto::validate_data_resource_config::Request>,
    ) -> Result<Response<proto::validate_data_resource_config::Response>, Status> {
        let _rpc = RpcTrace::start("ValidateDataResourceConfig");
        let request = request.into_inner();
        let diagnostics = match (
            self.data_source(&request.type_name),
            Value::decode(request.config.as_ref()),
        ) {
            (Ok(data_source), Ok(config)) => data_source.validate(&config),
            (Err(diagnostic), _) => vec![diagnostic],
            (_, Err(error)) => vec![undecodable("data source configuration", error)],
        };
        Ok(Response::new(
            proto::validate_data_resource_config::Response {
                diagnostics: to_proto(diagnostics),
            },
        ))
    }

    async fn configure_provider(
        &self,
        request: Request<proto::configure_provider::Request>,
    ) -> Result<Response<proto::configure_provider::Response>, Status> {
        let _rpc = RpcTrace::start("ConfigureProvider");
        let request = request.into_inner();
        let outcome = Value::decode(request.config.as_ref())
            .map_err(|error| undecodable("provider configuration", error))
            .and_then(|config| self.configure(&config, &request.terraform_version));
        let diagnostics = outcome.unwrap_or_else(|error| vec![error]);
        Ok(Response::new(proto::configure_provider::Response {
            diagnostics: to_proto(diagnostics),
        }))
    }

    async fn read_data_source(
        &self,
        request: Request<proto::read_data_source::Request>,
    ) -> Result<Response<proto::read_data_source::Response>, Status> {
        let _rpc = RpcTrace::start("ReadDataSource");
        let started = Instant::now();
        let request = request.into_inner();
        let outcome = self.read(&request).await;
        logging::debug(
            "ReadDataSource done",
            &[
                ("tf_data_source_type", request.type_name.clone().into()),
                ("ok", outcome.is_ok().into()),
                (
                    "duration_ms",
                    (started.elapsed().as_secs_f64() * 1000.0).into(),
                ),
            ],
        );
        let (state, diagnostics) = match outcome {
            Ok(state) => (Some(state.encode()), Vec::new()),
            Err(diagnostics) => (None, diagnostics),
        };
        Ok(Response::new(proto::read_data_source::Response {
            state,
            diagnostics: to_proto(diagnostics),
        }))
    }

    async fn stop_provider(
        &self,
        _request: Request<proto::stop_provider::Request>,
    ) -> Result<Response<proto::stop_provider::Response>, Status> {
        let _rpc = RpcTrace::start("StopProvider");
        logging::debug("StopProvider: cancelling reads in flight", &[]);
        self.stop.cancel();
        Ok(Response::new(proto::stop_provider::Response {
            error: String::new(),
        }))
    }
}

impl AtlasProvider {
    async fn read(
        &self,
        request: &proto::read_data_source::Request,
    ) -> Result<Value, Vec<Diagnostic>> {
        let data_source = self
            .data_source(&request.type_name)
            .map_err(|diagnostic| vec![diagnostic])?;
        let config = Value::decode(request.config.as_ref())
            .map_err(|error| vec![undecodable("data source configuration", error)])?;
        let configured = self.configured().ok_or_else(|| {
            vec![Diagnostic::error(
                "Provider Not Configured",
                "Terraform asked for a read before configuring the provider. Please report this issue.",
            )]
        })?;
        let client = configured
            .client
            .as_ref()
            .map_err(|diagnostic| vec![diagnostic.clone()])?;
        let (public_key, origin) = match &configured.public_key {
            Setting::Set { value, origin } => (value.as_str(), origin.clone()),
            _ => ("", Origin::Default),
        };
        let context = ReadContext {
            client,
            key: KeyInUse {
                public_key,
                origin: &origin,
            },
            stop: &self.stop,
        };
        tokio::select! {
            outcome = data_source.read(&config, &context) => outcome,
            _ = self.stop.cancelled() => Err(vec![Diagnostic::error(
                "Read Cancelled",
                format!("Terraform stopped the provider (Ctrl-C or a failure elsewhere) while {} was being read.", request.type_name),
            )]),
        }
    }
}

/// Logs an RPC at TRACE when it arrives and, with its duration, when it is answered (or
/// dropped because Terraform went away), with terraform-plugin-go's field name `tf_rpc`.
struct RpcTrace {
    name: &'static str,
    started: Instant,
}

impl RpcTrace {
    fn start(name: &'static str) -> Self {
        logging::trace("received RPC", &[("tf_rpc", name.into())]);
        Self {
            name,
            started: Instant::now(),
        }
    }
}

impl Drop for RpcTrace {
    fn drop(&mut self) {
        logging::trace(
            "answered RPC",
            &[
                ("tf_rpc", self.name.into()),
                (
                    "duration_ms",
                    (self.started.elapsed().as_secs_f64() * 1000.0).into(),
                ),
            ],
        );
    }
}

fn server_capabilities() -> proto::ServerCapabilities {
    proto::ServerCapabilities {
        plan_destroy: false,
        get_provider_schema_optional: true,
        move_resource_state: false,
    }
}
