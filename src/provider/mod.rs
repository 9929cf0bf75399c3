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
mod service;
pub mod validators;
pub mod value;

use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::atlas::{AtlasClient, ClientSettings, RetryPolicy};
use crate::proto::tfplugin6 as proto;
use atlas_errors::KeyInUse;
use config::{Origin, ProviderSettings, Setting};
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
        Self::with_data_sources(environment, data_sources::registry())
    }

    /// A provider serving `data_sources` instead of [`data_sources::registry`]: for tests that
    /// register a data source of their own.
    pub fn with_data_sources(
        environment: Environment,
        data_sources: Vec<RegisteredDataSource>,
    ) -> Self {
        Self {
            data_sources,
            configured: RwLock::new(None),
            stop: CancellationToken::new(),
            environment,
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
            outcome = data_source.read(&config, &context) => outcome.map_err(Diagnostics::into_vec),
            _ = self.stop.cancelled() => Err(vec![Diagnostic::error(
                "Read Cancelled",
                format!("Terraform stopped the provider (Ctrl-C or a failure elsewhere) while {} was being read.", request.type_name),
            )]),
        }
    }
}

/// A value Terraform sent that we cannot read: Terraform's bug or ours.
fn undecodable(what: &str, error: value::DecodeError) -> Diagnostic {
    Diagnostic::error(
        "Invalid Value from Terraform",
        format!("The {what} Terraform sent could not be read: {error}. Please report this issue."),
    )
}
