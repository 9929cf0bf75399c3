//! The Terraform protocol: the tfplugin6 `Provider` service, provider configuration, and the
//! data sources. Turns requests into calls on the [`crate::atlas`] client and errors into
//! diagnostics.

// Public: what the docs generator, the tests and the fuzz targets build on (schemas, values,
// diagnostics, validators, the data source framework, the provider block's schema). Private:
// how a configuration becomes a client and how an Atlas error becomes a message.
mod atlas_errors;
mod ca_bundle;
pub mod config;
mod credentials;
pub mod data_sources;
pub mod diagnostics;
mod durations;
pub mod schema;
mod service;
pub mod validators;
pub mod value;

pub use ca_bundle::SSL_CERT_FILE;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::atlas::{AtlasClient, ClientSettings, RetryPolicy};
use crate::logging;
use crate::proto::tfplugin6 as proto;
use config::ProviderSettings;
use credentials::{CredentialProblem, CredentialSource};
use data_sources::{ReadContext, RegisteredDataSource};
use diagnostics::{Diagnostic, Diagnostics};
use value::Value;

/// How long connecting to Atlas may take, at most (less when `request_timeout` is shorter).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Looks up an environment variable; replaced in tests.
pub type Environment = Box<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// The provider as Terraform sees it.
pub struct AtlasProvider {
    data_sources: Vec<RegisteredDataSource>,
    configured: RwLock<Option<Arc<Configured>>>,
    /// Whether the provider block's `api_version` is the literal "v1.0", as ValidateProviderConfig
    /// or ConfigureProvider last saw it. Terraform validates the provider block before the data
    /// sources that use it, on the same provider process (one per provider configuration), so a
    /// data source's validation can refuse Azure and GCP with v1.0 at `terraform validate`.
    declared_legacy_routes: AtomicBool,
    stop: CancellationToken,
    environment: Environment,
}

/// The state after ConfigureProvider.
struct Configured {
    /// The client and the credentials it uses, or why there is none. ConfigureProvider has
    /// reported every reason but credentials not known during plan; a read gives the reason
    /// again only if it is asked for anyway.
    client: Result<(AtlasClient, CredentialSource), Diagnostic>,
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
            declared_legacy_routes: AtomicBool::new(false),
            stop: CancellationToken::new(),
            environment,
        }
    }

    /// A provider serving exactly `data_sources`: tests register data sources of their own.
    pub fn with_data_sources(
        environment: Environment,
        data_sources: Vec<RegisteredDataSource>,
    ) -> Self {
        Self {
            data_sources,
            ..Self::with_environment(environment)
        }
    }

    /// The data sources, for docs.
    pub fn data_sources(&self) -> &[RegisteredDataSource] {
        &self.data_sources
    }

    fn data_source(&self, type_name: &str) -> Result<&RegisteredDataSource, Diagnostic> {
        self.data_sources
            .iter()
            .find(|data_source| data_source.type_name() == type_name)
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

    /// Records whether the provider block says `api_version = "v1.0"` (a value not known yet
    /// says nothing; the read checks again before any request).
    fn note_api_version(&self, provider_config: &Value) {
        let legacy = provider_config.attribute(config::API_VERSION).as_str()
            == Some(crate::atlas::ApiVersion::Legacy.name());
        self.declared_legacy_routes.store(legacy, Ordering::Relaxed);
    }

    /// ValidateDataResourceConfig beyond the data source's own schema: a `cloud_provider` the
    /// v1.0 routes never served, under a provider block that asks for v1.0 only.
    fn validate_against_provider(&self, data_source_config: &Value) -> Diagnostics {
        if !self.declared_legacy_routes.load(Ordering::Relaxed) {
            return Diagnostics::new();
        }
        let cloud = data_source_config
            .attribute(atlas_errors::CLOUD_PROVIDER)
            .as_str()
            .and_then(crate::atlas::CloudProvider::parse);
        match cloud {
            Some(cloud) if !cloud.has_legacy_routes() => {
                atlas_errors::only_on_v2(cloud.private_endpoints_name())
                    .on(atlas_errors::CLOUD_PROVIDER)
                    .into()
            }
            _ => Diagnostics::new(),
        }
    }

    fn configured(&self) -> Option<Arc<Configured>> {
        self.configured
            .read()
            .ok()
            .and_then(|configured| configured.clone())
    }

    /// ConfigureProvider: the settings after fallbacks, and the client the reads will use (or
    /// why there is none). Returns what Terraform shows at configuration: warnings, or the error.
    fn configure(&self, config: &Value, terraform_version: &str) -> Diagnostics {
        self.note_api_version(config);
        let settings = match config::resolve(config, &self.environment) {
            Ok(settings) => settings,
            Err(error) => return error.into(),
        };
        let mut diagnostics = config::warnings(&settings);
        // Missing, incomplete or malformed credentials are one problem of the provider block:
        // reported here, once, and Terraform then reads no data source. Credentials not known
        // until apply are not an error yet: a read during plan says so, and at apply they are
        // known.
        let client = match credentials::choose(&settings) {
            Ok(chosen) => {
                diagnostics.extend(chosen.warnings);
                client_for(&settings, chosen.credentials, terraform_version)
                    .map(|client| (client, chosen.source))
                    .inspect_err(|problem| diagnostics.push(problem.clone()))
            }
            Err(CredentialProblem::NotKnownYet(problem)) => Err(problem),
            Err(CredentialProblem::Unusable(problem)) => {
                diagnostics.push(problem.clone());
                Err(problem)
            }
        };
        let configured = Arc::new(Configured { client });
        if let Ok(mut slot) = self.configured.write() {
            *slot = Some(configured);
        }
        diagnostics
    }
}

fn client_for(
    settings: &ProviderSettings,
    credentials: crate::atlas::Credentials,
    terraform_version: &str,
) -> Result<AtlasClient, Diagnostic> {
    let terraform = if terraform_version.is_empty() {
        "unknown"
    } else {
        terraform_version
    };
    AtlasClient::new(ClientSettings {
        base_url: settings.base_url.clone(),
        credentials,
        api_version: settings.api_version,
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

impl AtlasProvider {
    /// ReadDataSource: the state (none when the read failed) and what Terraform shows with it.
    async fn read(
        &self,
        request: &proto::read_data_source::Request,
    ) -> (Option<Value>, Diagnostics) {
        match self.read_state(request).await {
            Ok((state, warnings)) => (Some(state), warnings),
            Err(diagnostics) => (None, diagnostics),
        }
    }

    async fn read_state(
        &self,
        request: &proto::read_data_source::Request,
    ) -> Result<(Value, Diagnostics), Diagnostics> {
        let data_source = self.data_source(&request.type_name)?;
        let config = decode_config("data source configuration", request.config.as_ref())?;
        let configured = self.configured().ok_or_else(|| {
            Diagnostic::error(
                "Provider Not Configured",
                "Terraform asked for a read before configuring the provider. Please report this issue.",
            )
        })?;
        let (client, source) = configured
            .client
            .as_ref()
            .map_err(|diagnostic| diagnostic.clone())?;
        let context = ReadContext {
            client,
            key: source,
            stop: &self.stop,
        };
        let outcome = tokio::select! {
            outcome = data_source.read(&config, &context) => outcome,
            _ = self.stop.cancelled() => Err(Diagnostic::error(
                "Read Cancelled",
                format!("Terraform stopped the provider (Ctrl-C or a failure elsewhere) while {} was being read.", request.type_name),
            ).into()),
        };
        let mut warnings = Diagnostics::new();
        if client.take_route_switch_notice() {
            warnings.push(route_switch_warning());
        }
        match outcome {
            Ok(state) => Ok((state, warnings)),
            Err(mut diagnostics) => {
                diagnostics.extend(warnings);
                Err(diagnostics)
            }
        }
    }
}

/// The one warning of a process whose `api_version = "auto"` found the v1.0 routes gone.
fn route_switch_warning() -> Diagnostic {
    logging::debug("reporting the switch to the v2 routes", &[]);
    Diagnostic::warning(
        "Atlas No Longer Serves the v1.0 Route",
        "Atlas answered that it no longer serves the v1.0 route (HTTP 404 RESOURCE_NOT_FOUND or 410), so \
         this read, and every later one of this run, used the versioned v2 route instead. Set \
         `api_version = \"v2\"` in the provider block to skip the v1.0 probe.",
    )
}

/// The largest configuration value decoded. Decoding msgpack can take many times the bytes it
/// reads (an array of nils, 40 times), so size is checked first; the gRPC transport accepts
/// larger messages (`plugin::MAX_REQUEST_BYTES`) so that an oversized value gets this diagnostic
/// instead of a bare gRPC error.
pub const MAX_CONFIG_BYTES: usize = 2 * 1024 * 1024;

/// Decodes a configuration Terraform sent, refusing one too large to be real.
fn decode_config(what: &str, dynamic: Option<&proto::DynamicValue>) -> Result<Value, Diagnostic> {
    let size = dynamic.map_or(0, |value| value.msgpack.len().max(value.json.len()));
    if size > MAX_CONFIG_BYTES {
        return Err(Diagnostic::error(
            "Configuration Too Large",
            format!(
                "The {what} Terraform sent is {size} bytes, more than the {MAX_CONFIG_BYTES} bytes (2 MiB) the \
                 provider accepts. No attribute needs more than a few hundred bytes: an id is at most 24 \
                 characters. Check for a value that reads a whole file (file(), templatefile()) or repeats a \
                 string into an argument."
            ),
        ));
    }
    Value::decode(dynamic).map_err(|error| undecodable(what, error))
}

/// A value Terraform sent that we cannot read: Terraform's bug or ours.
fn undecodable(what: &str, error: value::DecodeError) -> Diagnostic {
    Diagnostic::error(
        "Invalid Value from Terraform",
        format!("The {what} Terraform sent could not be read: {error}. Please report this issue."),
    )
}
