//! The HTTP client for the MongoDB Atlas Admin API: route families, authentication (digest API
//! keys and service accounts), retries, the typed responses and the typed error. Knows nothing
//! of Terraform.

pub mod challenge;
mod client;
mod cloud;
mod credentials;
mod digest;
mod error;
mod interface_endpoint;
mod kind;
mod private_endpoint;
mod private_link;
mod retry;
mod routes;
mod service_account;
mod shared_fetch;
mod trust;

pub use client::{AtlasClient, ClientSettings, MAX_BODY_BYTES};
pub use cloud::CloudProvider;
pub use credentials::Credentials;
pub use error::{ApiError, AtlasError, TimeoutPhase, excerpt};
pub use interface_endpoint::{InterfaceEndpoint, InterfaceEndpointId};
pub use kind::{AtlasId, Denial, ErrorKind};
pub use private_endpoint::{
    AzurePrivateEndpoint, EndpointIdError, GcpEndpointGroup, GcpForwardingRule, PrivateEndpoint,
    PrivateEndpointId,
};
pub use private_link::{PrivateLink, PrivateLinkId};
pub use retry::{MAX_RETRY_AFTER, RetryPolicy};
pub use routes::{API_VERSION_DATE, ApiVersion, Resource, RouteFamily};
pub(crate) use trust::is_system_bundle;
