//! TEMPORARY stand-in for the lead's `Resource` and `AtlasClient::get_resource` (coming to main
//! with the v2 routes): v1.0 only. Deleted when main is merged in.

use serde::de::DeserializeOwned;

use super::{AtlasClient, AtlasError};

/// One Atlas resource with its path segments on both route families.
pub struct Resource<'a> {
    pub legacy: Vec<&'a str>,
    pub versioned: Vec<&'a str>,
}

impl AtlasClient {
    /// GETs the resource on the v1.0 route.
    pub(crate) async fn get_resource<T: DeserializeOwned>(
        &self,
        resource: &Resource<'_>,
    ) -> Result<T, AtlasError> {
        let _ = &resource.versioned;
        self.get_json(self.api_url(&resource.legacy)).await
    }
}
