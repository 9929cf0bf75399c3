//! How requests to Atlas authenticate: a programmatic API key (HTTP Digest), a service account
//! (OAuth 2.0 client credentials exchanged for a bearer token), or a bearer token obtained
//! elsewhere. `Debug` never shows a secret.

use std::fmt;

/// The credentials of one provider configuration.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// A programmatic API key: the public key is the digest user name, the private key its
    /// password (never sent: digest sends a hash).
    ApiKey {
        public_key: String,
        private_key: String,
    },
    /// A service account: `POST /api/oauth/token` with HTTP Basic `client_id:client_secret`
    /// gives a bearer token that lasts an hour.
    ServiceAccount {
        client_id: String,
        client_secret: String,
    },
    /// A bearer token for a service account, fetched by someone else; it is not renewed.
    AccessToken(String),
}

impl fmt::Debug for Credentials {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::ApiKey { public_key, .. } => formatter
                .debug_struct("ApiKey")
                .field("public_key", public_key)
                .field("private_key", &"(redacted)")
                .finish(),
            Credentials::ServiceAccount { client_id, .. } => formatter
                .debug_struct("ServiceAccount")
                .field("client_id", client_id)
                .field("client_secret", &"(redacted)")
                .finish(),
            Credentials::AccessToken(_) => formatter.write_str("AccessToken((redacted))"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_no_secret() {
        let shown = format!(
            "{:?} {:?} {:?}",
            Credentials::ApiKey {
                public_key: "abcdefgh".into(),
                private_key: "private-1".into()
            },
            Credentials::ServiceAccount {
                client_id: "mdb_sa_id_1".into(),
                client_secret: "mdb_sa_sk_secret-2".into()
            },
            Credentials::AccessToken("token-3".into())
        );
        for secret in ["private-1", "secret-2", "token-3"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.contains("abcdefgh") && shown.contains("mdb_sa_id_1"));
    }
}
