//! The three clouds Atlas runs private endpoints on, spelled as Atlas spells them in the v2
//! routes' `{cloudProvider}` segment and in every body's `cloudProvider` (mongodb/openapi,
//! `openapi/v2/openapi-2023-01-01.yaml`, parameter `cloudProvider` of `getPrivateEndpointService`
//! and `getPrivateEndpoint`: enum `AWS`, `AZURE`, `GCP`).

use std::fmt;

/// A cloud provider of Atlas private endpoints.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum CloudProvider {
    /// AWS PrivateLink; the only cloud the legacy v1.0 routes served.
    #[default]
    Aws,
    /// Azure Private Link; v2 routes only.
    Azure,
    /// Google Cloud Private Service Connect; v2 routes only.
    Gcp,
}

impl CloudProvider {
    /// Every cloud, in the order messages list them.
    pub const ALL: [CloudProvider; 3] =
        [CloudProvider::Aws, CloudProvider::Azure, CloudProvider::Gcp];

    /// Atlas's spelling: `AWS`, `AZURE`, `GCP`.
    pub fn as_str(self) -> &'static str {
        match self {
            CloudProvider::Aws => "AWS",
            CloudProvider::Azure => "AZURE",
            CloudProvider::Gcp => "GCP",
        }
    }

    /// Exactly Atlas's spelling; `"azure"` is not accepted.
    pub fn parse(text: &str) -> Option<CloudProvider> {
        CloudProvider::ALL
            .into_iter()
            .find(|cloud| cloud.as_str() == text)
    }

    /// This cloud's private endpoints, for messages: "Azure private endpoints".
    pub fn private_endpoints_name(self) -> &'static str {
        match self {
            CloudProvider::Aws => "AWS private endpoints",
            CloudProvider::Azure => "Azure private endpoints",
            CloudProvider::Gcp => "Google Cloud private endpoints",
        }
    }

    /// Whether the legacy v1.0 routes serve this cloud's private endpoints: they served AWS only
    /// (`/api/atlas/v1.0/groups/{groupId}/privateEndpoint/{privateLinkId}` has no cloud segment).
    pub fn has_legacy_routes(self) -> bool {
        self == CloudProvider::Aws
    }
}

impl fmt::Display for CloudProvider {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_atlas_spelling_parses() {
        for cloud in CloudProvider::ALL {
            assert_eq!(CloudProvider::parse(cloud.as_str()), Some(cloud));
        }
        for wrong in ["azure", "Azure", "gcp", "GOOGLE", "aws ", ""] {
            assert_eq!(CloudProvider::parse(wrong), None, "{wrong:?}");
        }
    }
}
