//! terraform-provider-atlas: a Terraform provider, served as a gRPC plugin, whose data source
//! `atlas_interface_endpoint` reads one AWS PrivateLink interface endpoint from the MongoDB Atlas
//! Admin API.
//!
//! # Layout
//! Three layers; none reaches into another's concerns.
//! - [`plugin`]: process mechanics. Magic cookie, Unix socket, mutual TLS pinned to Terraform's
//!   client certificate, the handshake line, gRPC health, controller shutdown and stdio. Knows
//!   nothing of Atlas.
//! - [`provider`]: the Terraform protocol. Schemas, msgpack values, diagnostics with attribute
//!   paths, provider configuration, and one file per data source.
//! - [`atlas`]: the HTTP client for the Atlas Admin API. Digest auth, the typed response and the
//!   typed error. Knows nothing of Terraform.
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
