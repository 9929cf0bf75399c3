//! Which credentials a configured provider uses, from the five resolved settings: an access
//! token first, then a service account (client id and secret), then an API key (public and
//! private key), the order the official MongoDB Atlas provider uses. Each setting has already
//! fallen back to its own environment variables, so a key in the HCL with its secret in the
//! environment works. When more than one kind is complete, the first is used and one warning
//! names what was ignored and where it came from; a half pair that would be used is an error
//! naming the missing attribute and the variables tried.

use crate::atlas::Credentials;

use super::config::{
    ACCESS_TOKEN, CLIENT_ID, CLIENT_ID_ENV, CLIENT_SECRET, CLIENT_SECRET_ENV, Origin, PRIVATE_KEY,
    PRIVATE_KEY_ENV, PUBLIC_KEY, PUBLIC_KEY_ENV, ProviderSettings, Setting,
};
use super::diagnostics::{Diagnostic, Diagnostics, show_value};

/// Which kind of credentials a read used, for messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CredentialKind {
    ApiKey,
    ServiceAccount,
    AccessToken,
}

/// The credentials in use, as messages may name them: never a secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialSource {
    pub kind: CredentialKind,
    /// The public key or the client id; empty for an access token.
    pub identity: String,
    /// Where the identity (or the token) came from.
    pub origin: Origin,
}

/// The chosen credentials and their description.
pub struct Chosen {
    pub credentials: Credentials,
    pub source: CredentialSource,
    /// One warning when complete credentials of another kind were ignored.
    pub warnings: Diagnostics,
}

/// Why no credentials can be used.
#[derive(Debug)]
pub enum CredentialProblem {
    /// A credential depends on a value that is known only at apply.
    NotKnownYet(Diagnostic),
    /// Missing or incomplete: the provider block (or its environment) is wrong.
    Unusable(Diagnostic),
}

/// One kind of credentials as configured.
enum Pair<'a> {
    Complete {
        identity: &'a str,
        secret: &'a str,
        origin: &'a Origin,
        secret_origin: &'a Origin,
    },
    Half {
        missing: &'static str,
        variables: &'static [&'static str],
        present: &'static str,
    },
    Unknown(&'static str),
    Absent,
}

fn pair<'a>(
    identity: (&'static str, &'a Setting),
    secret: (&'static str, &'a Setting, &'static [&'static str]),
    identity_variables: &'static [&'static str],
) -> Pair<'a> {
    match (identity.1, secret.1) {
        (Setting::Unknown, _) => Pair::Unknown(identity.0),
        (_, Setting::Unknown) => Pair::Unknown(secret.0),
        (
            Setting::Set { value, origin },
            Setting::Set {
                value: secret_value,
                origin: secret_origin,
            },
        ) => Pair::Complete {
            identity: value,
            secret: secret_value,
            origin,
            secret_origin,
        },
        (Setting::Set { .. }, Setting::Missing) => Pair::Half {
            missing: secret.0,
            variables: secret.2,
            present: identity.0,
        },
        (Setting::Missing, Setting::Set { .. }) => Pair::Half {
            missing: identity.0,
            variables: identity_variables,
            present: secret.0,
        },
        (Setting::Missing, Setting::Missing) => Pair::Absent,
    }
}

/// Picks the credentials, or says why none can be used.
pub fn choose(settings: &ProviderSettings) -> Result<Chosen, CredentialProblem> {
    let service_account = pair(
        (CLIENT_ID, &settings.client_id),
        (CLIENT_SECRET, &settings.client_secret, &CLIENT_SECRET_ENV),
        &CLIENT_ID_ENV,
    );
    let api_key = pair(
        (PUBLIC_KEY, &settings.public_key),
        (PRIVATE_KEY, &settings.private_key, &PRIVATE_KEY_ENV),
        &PUBLIC_KEY_ENV,
    );
    let mut ignored: Vec<String> = Vec::new();
    let mut chosen: Option<(Credentials, CredentialSource)> = None;
    match &settings.access_token {
        Setting::Unknown => return Err(CredentialProblem::NotKnownYet(not_known(ACCESS_TOKEN))),
        Setting::Set { value, origin } => {
            chosen = Some((
                Credentials::AccessToken(value.clone()),
                CredentialSource {
                    kind: CredentialKind::AccessToken,
                    identity: String::new(),
                    origin: origin.clone(),
                },
            ));
        }
        Setting::Missing => {}
    }
    for (kind, configured) in [
        (CredentialKind::ServiceAccount, &service_account),
        (CredentialKind::ApiKey, &api_key),
    ] {
        match configured {
            Pair::Complete {
                identity,
                secret,
                origin,
                secret_origin,
            } => {
                if chosen.is_some() {
                    ignored.push(format!(
                        "{} (from {origin} and {secret_origin})",
                        describe(kind, identity)
                    ));
                    continue;
                }
                let credentials = match kind {
                    CredentialKind::ServiceAccount => Credentials::ServiceAccount {
                        client_id: (*identity).to_owned(),
                        client_secret: (*secret).to_owned(),
                    },
                    _ => Credentials::ApiKey {
                        public_key: (*identity).to_owned(),
                        private_key: (*secret).to_owned(),
                    },
                };
                chosen = Some((
                    credentials,
                    CredentialSource {
                        kind,
                        identity: (*identity).to_owned(),
                        origin: (*origin).clone(),
                    },
                ));
            }
            Pair::Half {
                missing,
                variables,
                present,
            } if chosen.is_none() => {
                return Err(CredentialProblem::Unusable(half_pair(
                    present, missing, variables,
                )));
            }
            Pair::Unknown(name) if chosen.is_none() => {
                return Err(CredentialProblem::NotKnownYet(not_known(name)));
            }
            _ => {}
        }
    }
    let Some((credentials, source)) = chosen else {
        return Err(CredentialProblem::Unusable(no_credentials()));
    };
    let warnings = if ignored.is_empty() {
        Diagnostics::new()
    } else {
        Diagnostics::from(Diagnostic::warning(
            "More Than One Kind of Atlas Credentials",
            format!(
                "The provider uses {} (from {}) and ignores {}. An access token is used first, then a \
                 service account, then an API key. Remove the credentials you do not mean to use (unset \
                 their environment variables) to silence this warning.",
                describe(source.kind, &source.identity),
                source.origin,
                ignored.join(" and ")
            ),
        ))
    };
    Ok(Chosen {
        credentials,
        source,
        warnings,
    })
}

fn describe(kind: CredentialKind, identity: &str) -> String {
    match kind {
        CredentialKind::AccessToken => "the access token".to_owned(),
        CredentialKind::ServiceAccount => {
            format!(
                "the service account with client id {}",
                show_value(identity)
            )
        }
        CredentialKind::ApiKey => format!("the API key with public key {}", show_value(identity)),
    }
}

fn half_pair(present: &str, missing: &str, variables: &[&str]) -> Diagnostic {
    Diagnostic::error(
        "Incomplete Atlas Credentials",
        format!(
            "`{present}` is set but `{missing}` is not: set the provider argument `{missing}` or the \
             environment variable {}. (Tried in this order: the argument, then {}.)",
            variables[0],
            variables.join(", ")
        ),
    )
    .on(missing)
}

fn not_known(name: &str) -> Diagnostic {
    Diagnostic::error(
        "Atlas Credentials Not Known During Plan",
        format!(
            "`{name}` depends on a value that is not known until apply, but reading data sources needs the \
             credentials during plan. Set it from a known value or from its environment variable."
        ),
    )
    .on(name)
}

fn no_credentials() -> Diagnostic {
    Diagnostic::error(
        "Missing Atlas Credentials",
        format!(
            "Reading from Atlas needs credentials, but none are set. Use a service account (recommended): set \
             `client_id` and `client_secret`, or {} and {}; or a programmatic API key: set `public_key` and \
             `private_key`, or {} and {} (also read, in this order: {}, {}; {}, {}). Create either in Atlas \
             under Access Manager with the Project Read Only role on the project (Project Owner for \
             `api_version = \"v1.0\"`).",
            CLIENT_ID_ENV[0],
            CLIENT_SECRET_ENV[0],
            PUBLIC_KEY_ENV[0],
            PRIVATE_KEY_ENV[0],
            PUBLIC_KEY_ENV[1],
            PUBLIC_KEY_ENV[2],
            PRIVATE_KEY_ENV[1],
            PRIVATE_KEY_ENV[2],
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::config::resolve;
    use crate::provider::value::Value;

    fn settings(arguments: &[(&str, &str)], variables: &[(&str, &str)]) -> ProviderSettings {
        let config = Value::Object(
            arguments
                .iter()
                .map(|(name, value)| ((*name).to_owned(), Value::String((*value).to_owned())))
                .collect(),
        );
        let variables: Vec<(String, String)> = variables
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect();
        resolve(&config, move |name| {
            variables
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
        })
        .unwrap()
    }

    #[test]
    fn access_token_beats_service_account_beats_api_key_with_one_warning() {
        let chosen = choose(&settings(
            &[("public_key", "abcdefgh"), ("private_key", "p")],
            &[
                ("MONGODB_ATLAS_CLIENT_ID", "mdb_sa_id_1"),
                ("MONGODB_ATLAS_CLIENT_SECRET", "s"),
                ("MONGODB_ATLAS_ACCESS_TOKEN", "t"),
            ],
        ))
        .unwrap();
        assert_eq!(chosen.credentials, Credentials::AccessToken("t".into()));
        assert_eq!(chosen.warnings.len(), 1);
        let detail = &chosen.warnings[0].detail;
        for needed in [
            "mdb_sa_id_1",
            "MONGODB_ATLAS_CLIENT_ID",
            "abcdefgh",
            "`public_key`",
            "MONGODB_ATLAS_ACCESS_TOKEN",
        ] {
            assert!(detail.contains(needed), "{needed}: {detail}");
        }

        let chosen = choose(&settings(
            &[("client_id", "mdb_sa_id_1"), ("client_secret", "s")],
            &[
                ("MONGODB_ATLAS_PUBLIC_API_KEY", "abcdefgh"),
                ("MONGODB_ATLAS_PRIVATE_API_KEY", "p"),
            ],
        ))
        .unwrap();
        assert!(matches!(
            chosen.credentials,
            Credentials::ServiceAccount { .. }
        ));
        assert_eq!(chosen.source.origin, Origin::Argument(CLIENT_ID));
        assert_eq!(chosen.warnings.len(), 1);
    }

    #[test]
    fn a_key_in_the_configuration_with_its_secret_in_the_environment_works() {
        let chosen = choose(&settings(
            &[("public_key", "abcdefgh")],
            &[("MONGODB_ATLAS_PRIVATE_KEY", "p")],
        ))
        .unwrap();
        assert_eq!(
            chosen.credentials,
            Credentials::ApiKey {
                public_key: "abcdefgh".into(),
                private_key: "p".into()
            }
        );
        assert!(chosen.warnings.is_empty());
    }

    #[test]
    fn half_pairs_name_the_missing_attribute_and_variables() {
        let Err(CredentialProblem::Unusable(error)) =
            choose(&settings(&[("client_id", "mdb_sa_id_1")], &[]))
        else {
            panic!("a client id alone is not enough");
        };
        assert_eq!(error.attribute.as_deref(), Some(CLIENT_SECRET));
        assert!(
            error.detail.contains("MONGODB_ATLAS_CLIENT_SECRET"),
            "{}",
            error.detail
        );
        let Err(CredentialProblem::Unusable(error)) =
            choose(&settings(&[], &[("MONGODB_ATLAS_PRIVATE_API_KEY", "p")]))
        else {
            panic!("a private key alone is not enough");
        };
        assert_eq!(error.attribute.as_deref(), Some(PUBLIC_KEY));
        assert!(
            error.detail.contains("MCLI_PUBLIC_API_KEY"),
            "{}",
            error.detail
        );
    }

    #[test]
    fn nothing_set_says_how_to_authenticate() {
        let Err(CredentialProblem::Unusable(error)) = choose(&settings(&[], &[])) else {
            panic!("no credentials");
        };
        assert_eq!(error.summary, "Missing Atlas Credentials");
        assert!(error.detail.contains("client_id") && error.detail.contains("public_key"));
    }
}
