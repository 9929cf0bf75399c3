//! The HTTP client for the MongoDB Atlas Admin API: digest auth, the typed responses and the
//! typed error. Knows nothing of Terraform.

pub mod client;
pub mod error;
pub mod interface_endpoint;

pub use client::{AtlasClient, ClientSettings};
pub use error::{ApiError, AtlasError};
pub use interface_endpoint::{InterfaceEndpoint, InterfaceEndpointId};
