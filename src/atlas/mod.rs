//! The HTTP client for the MongoDB Atlas Admin API: digest auth, the typed responses and the
//! typed error. Knows nothing of Terraform.

pub mod challenge;
pub mod client;
pub mod error;
pub mod interface_endpoint;
pub mod private_link;
pub mod retry;
mod routes_shim;
pub mod trust;

pub use client::{AtlasClient, ClientSettings};
pub use error::{ApiError, AtlasError, TimeoutPhase};
pub use interface_endpoint::{InterfaceEndpoint, InterfaceEndpointId};
pub use private_link::{PrivateLink, PrivateLinkId};
pub use retry::RetryPolicy;
pub use routes_shim::Resource;
