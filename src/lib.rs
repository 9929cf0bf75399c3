//! terraform-provider-atlas: a Terraform provider, served as a gRPC plugin, whose data sources
//! `atlas_private_link`, `atlas_private_endpoint`, `atlas_private_endpoints`,
//! `atlas_interface_endpoint` and `atlas_interface_endpoints` read the Atlas side of a private
//! endpoint chain on AWS, Azure or Google Cloud from the MongoDB Atlas Admin API.
//!
//! # Layout
//! Three layers; none reaches into another's concerns.
//! - [`plugin`]: process mechanics. Magic cookie, Unix socket, mutual TLS pinned to Terraform's
//!   client certificate, the handshake line, gRPC health, controller shutdown and stdio, the
//!   accept loop under pressure, and when the process ends (Shutdown, signals, a dead parent, a
//!   closed host connection). Knows nothing of Atlas.
//! - [`provider`]: the Terraform protocol. Schemas, msgpack values, diagnostics with attribute
//!   paths, provider configuration and credentials, the panic guard around every RPC, and the data
//!   source framework: one file per data source, one line in its registry.
//! - [`atlas`]: the HTTP client for the Atlas Admin API. The v1.0 and v2 route families and
//!   `api_version = "auto"`, digest auth and service-account tokens, retries, the typed responses
//!   and the typed error. Knows nothing of Terraform.
//!
//! Each layer keeps its modules private and re-exports what the others, the docs generator and
//! the tests use.
//!
//! Alongside them: [`logging`] writes the JSON log lines Terraform reads from a plugin's stderr,
//! and [`proto`] holds the code generated from `proto/`.

pub mod atlas;
pub mod logging;
pub mod plugin;
pub mod proto;
pub mod provider;

/// The provider's version, as released and as sent in the User-Agent.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
