//! The tfplugin6 `Provider` gRPC service: decodes each request, hands it to [`AtlasProvider`],
//! and encodes the answer. One RPC, one method; everything Terraform may call and we do not
//! serve is answered UNIMPLEMENTED by tonic. Each handler runs under a panic guard, so that a
//! bug of ours reaches the user as a diagnostic and the process keeps serving.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Instant;

use futures_util::FutureExt;
use tonic::{Request, Response, Status};

use super::diagnostics::{Diagnostic, to_proto};
use super::{AtlasProvider, config, decode_config};
use crate::logging;
use crate::proto::tfplugin6 as proto;
use crate::proto::tfplugin6::provider_server::Provider;

#[tonic::async_trait]
impl Provider for AtlasProvider {
    async fn get_metadata(
        &self,
        _request: Request<proto::get_metadata::Request>,
    ) -> Result<Response<proto::get_metadata::Response>, Status> {
        guarded(
            "GetMetadata",
            async move {
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
            },
            |diagnostic| proto::get_metadata::Response {
                diagnostics: to_proto(vec![diagnostic]),
                ..Default::default()
            },
        )
        .await
    }

    async fn get_provider_schema(
        &self,
        _request: Request<proto::get_provider_schema::Request>,
    ) -> Result<Response<proto::get_provider_schema::Response>, Status> {
        guarded(
            "GetProviderSchema",
            async move {
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
                    functions: Default::default(),
                }))
            },
            |diagnostic| proto::get_provider_schema::Response {
                diagnostics: to_proto(vec![diagnostic]),
                ..Default::default()
            },
        )
        .await
    }

    async fn validate_provider_config(
        &self,
        request: Request<proto::validate_provider_config::Request>,
    ) -> Result<Response<proto::validate_provider_config::Response>, Status> {
        guarded(
            "ValidateProviderConfig",
            async move {
                let _rpc = RpcTrace::start("ValidateProviderConfig");
                let diagnostics = match decode_config(
                    "provider configuration",
                    request.get_ref().config.as_ref(),
                ) {
                    Ok(config) => {
                        self.note_api_version(&config);
                        config::validate(&config)
                    }
                    Err(diagnostic) => diagnostic.into(),
                };
                Ok(Response::new(proto::validate_provider_config::Response {
                    diagnostics: to_proto(diagnostics),
                }))
            },
            |diagnostic| proto::validate_provider_config::Response {
                diagnostics: to_proto(vec![diagnostic]),
            },
        )
        .await
    }

    async fn validate_data_resource_config(
        &self,
        request: Request<proto::validate_data_resource_config::Request>,
    ) -> Result<Response<proto::validate_data_resource_config::Response>, Status> {
        guarded(
            "ValidateDataResourceConfig",
            async move {
                let _rpc = RpcTrace::start("ValidateDataResourceConfig");
                let request = request.into_inner();
                let diagnostics = match (
                    self.data_source(&request.type_name),
                    decode_config("data source configuration", request.config.as_ref()),
                ) {
                    (Ok(data_source), Ok(config)) => {
                        let mut diagnostics = data_source.validate(&config);
                        diagnostics.extend(self.validate_against_provider(&config));
                        diagnostics
                    }
                    (Err(diagnostic), _) | (_, Err(diagnostic)) => diagnostic.into(),
                };
                Ok(Response::new(
                    proto::validate_data_resource_config::Response {
                        diagnostics: to_proto(diagnostics),
                    },
                ))
            },
            |diagnostic| proto::validate_data_resource_config::Response {
                diagnostics: to_proto(vec![diagnostic]),
            },
        )
        .await
    }

    async fn configure_provider(
        &self,
        request: Request<proto::configure_provider::Request>,
    ) -> Result<Response<proto::configure_provider::Response>, Status> {
        guarded(
            "ConfigureProvider",
            async move {
                let _rpc = RpcTrace::start("ConfigureProvider");
                let request = request.into_inner();
                let diagnostics =
                    match decode_config("provider configuration", request.config.as_ref()) {
                        Ok(config) => self.configure(&config, &request.terraform_version),
                        Err(diagnostic) => diagnostic.into(),
                    };
                Ok(Response::new(proto::configure_provider::Response {
                    diagnostics: to_proto(diagnostics),
                }))
            },
            |diagnostic| proto::configure_provider::Response {
                diagnostics: to_proto(vec![diagnostic]),
            },
        )
        .await
    }

    async fn read_data_source(
        &self,
        request: Request<proto::read_data_source::Request>,
    ) -> Result<Response<proto::read_data_source::Response>, Status> {
        guarded(
            "ReadDataSource",
            async move {
                let _rpc = RpcTrace::start("ReadDataSource");
                let started = Instant::now();
                let request = request.into_inner();
                let (state, diagnostics) = self.read(&request).await;
                // Fields are built only when the line is written: this runs for every read.
                if logging::enabled(logging::Level::Debug) {
                    logging::debug(
                        "ReadDataSource done",
                        &[
                            ("tf_data_source_type", request.type_name.clone().into()),
                            ("ok", state.is_some().into()),
                            (
                                "duration_ms",
                                (started.elapsed().as_secs_f64() * 1000.0).into(),
                            ),
                        ],
                    );
                }
                Ok(Response::new(proto::read_data_source::Response {
                    state: state.map(|state| state.encode()),
                    diagnostics: to_proto(diagnostics),
                }))
            },
            |diagnostic| proto::read_data_source::Response {
                state: None,
                diagnostics: to_proto(vec![diagnostic]),
            },
        )
        .await
    }

    async fn get_functions(
        &self,
        _request: Request<proto::get_functions::Request>,
    ) -> Result<Response<proto::get_functions::Response>, Status> {
        guarded(
            "GetFunctions",
            async move {
                let _rpc = RpcTrace::start("GetFunctions");
                // We offer no provider functions (see the proto); an empty map lets Terraform
                // or OpenTofu say "no such function" about a name a configuration uses.
                Ok(Response::new(proto::get_functions::Response::default()))
            },
            |diagnostic| proto::get_functions::Response {
                diagnostics: to_proto(vec![diagnostic]),
                ..Default::default()
            },
        )
        .await
    }

    async fn stop_provider(
        &self,
        _request: Request<proto::stop_provider::Request>,
    ) -> Result<Response<proto::stop_provider::Response>, Status> {
        guarded(
            "StopProvider",
            async move {
                let _rpc = RpcTrace::start("StopProvider");
                logging::debug("StopProvider: cancelling reads in flight", &[]);
                self.stop.cancel();
                Ok(Response::new(proto::stop_provider::Response {
                    error: String::new(),
                }))
            },
            |diagnostic| proto::stop_provider::Response {
                error: diagnostic.detail,
            },
        )
        .await
    }
}

/// Runs one RPC's `handler`; if it panics, logs the panic at ERROR and answers with
/// `on_panic(diagnostic)` instead of letting the panic drop the connection, which Terraform
/// reports as the plugin crashing and which would fail every other call in flight.
async fn guarded<T>(
    rpc: &'static str,
    handler: impl Future<Output = Result<Response<T>, Status>>,
    on_panic: impl FnOnce(Diagnostic) -> T,
) -> Result<Response<T>, Status> {
    match AssertUnwindSafe(handler).catch_unwind().await {
        Ok(answer) => answer,
        Err(payload) => {
            let message = panic_message(payload.as_ref());
            logging::log(
                logging::Level::Error,
                "an RPC handler panicked; answering with an error diagnostic",
                &[("tf_rpc", rpc.into()), ("panic", message.clone().into())],
            );
            Ok(Response::new(on_panic(internal_error(rpc, &message))))
        }
    }
}

/// What the user reads when a handler panicked: our bug, said plainly, with what to send us.
fn internal_error(rpc: &str, message: &str) -> Diagnostic {
    Diagnostic::error(
        "Internal Error in the Provider",
        format!(
            "terraform-provider-atlas {} failed while handling {rpc}: {message}. This is a bug in the provider, \
             not in your configuration. Please report this issue to the provider's maintainers with this message \
             and the Terraform log of the run (TF_LOG=DEBUG); the provider keeps serving meanwhile.",
            crate::VERSION
        ),
    )
}

/// The text a panic was raised with (`panic!("...")` gives a `&str` or a `String`).
fn panic_message(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|text| (*text).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

/// Logs an RPC at TRACE when it arrives and, with its duration, when it is answered (or
/// dropped because Terraform went away), with terraform-plugin-go's field name `tf_rpc`.
struct RpcTrace {
    name: &'static str,
    started: Instant,
}

impl RpcTrace {
    fn start(name: &'static str) -> Self {
        // The field is built only when the line is written, as in `drop`: every RPC runs this.
        if logging::enabled(logging::Level::Trace) {
            logging::trace("received RPC", &[("tf_rpc", name.into())]);
        }
        Self {
            name,
            started: Instant::now(),
        }
    }
}

impl Drop for RpcTrace {
    fn drop(&mut self) {
        if !logging::enabled(logging::Level::Trace) {
            return;
        }
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
