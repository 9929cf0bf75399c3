//! What go-plugin expects before and at the handshake: the magic cookie, the protocol version
//! negotiation, and the one line the plugin prints on stdout.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;

use super::PluginError;

/// The environment variable Terraform sets to show it started us as a provider plugin.
pub const MAGIC_COOKIE_KEY: &str = "TF_PLUGIN_MAGIC_COOKIE";
/// Its value, fixed by Terraform for every provider.
pub const MAGIC_COOKIE_VALUE: &str =
    "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";
/// go-plugin's own protocol version.
pub const CORE_PROTOCOL_VERSION: u32 = 1;
/// Terraform's plugin protocol major version that we serve.
pub const APP_PROTOCOL_VERSION: u32 = 6;

/// Checks the magic cookie and that Terraform offers protocol 6.
///
/// `offered` is `PLUGIN_PROTOCOL_VERSIONS`, a comma-separated list in any order. When it is
/// absent (a go-plugin host that predates negotiation) we assume protocol 6.
pub fn check_environment(cookie: Option<&str>, offered: Option<&str>) -> Result<(), PluginError> {
    if cookie != Some(MAGIC_COOKIE_VALUE) {
        return Err(PluginError::NotStartedByTerraform);
    }
    if let Some(offered) = offered {
        let speaks_ours = offered
            .split(',')
            .any(|version| version.trim().parse::<u32>() == Ok(APP_PROTOCOL_VERSION));
        if !speaks_ours {
            return Err(PluginError::ProtocolVersionUnsupported {
                offered: offered.to_owned(),
            });
        }
    }
    Ok(())
}

/// The handshake line go-plugin reads from stdout:
/// `1|6|unix|<socket path>|grpc|<server certificate DER, base64 without padding>`.
pub fn handshake_line(socket: &Path, server_certificate_der: Option<&[u8]>) -> String {
    let certificate = server_certificate_der
        .map(|der| STANDARD_NO_PAD.encode(der))
        .unwrap_or_default();
    format!(
        "{CORE_PROTOCOL_VERSION}|{APP_PROTOCOL_VERSION}|unix|{}|grpc|{certificate}",
        socket.display()
    )
}

/// What a person who runs the binary by hand reads on stderr.
pub fn not_a_terraform_run_message() -> String {
    format!(
        "This binary is a plugin for Terraform (the provider local/atlas, terraform-provider-atlas {version}).\n\
         It is not meant to be run directly: Terraform starts it when a configuration uses the provider.\n\
         \n\
         To install it, copy it to\n\
         \x20 ~/.terraform.d/plugins/registry.terraform.io/local/atlas/{version}/<os>_<arch>/terraform-provider-atlas_v{version}\n\
         and declare it in your configuration:\n\
         \x20 terraform {{ required_providers {{ atlas = {{ source = \"local/atlas\" }} }} }}\n\
         then run `terraform init`. The README describes the quick start and a dev_overrides setup.\n",
        version = crate::VERSION
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_the_cookie_the_plugin_refuses_to_start() {
        assert!(matches!(
            check_environment(None, Some("6")),
            Err(PluginError::NotStartedByTerraform)
        ));
        assert!(matches!(
            check_environment(Some("wrong"), Some("6")),
            Err(PluginError::NotStartedByTerraform)
        ));
    }

    #[test]
    fn protocol_6_is_found_in_any_order() {
        assert!(check_environment(Some(MAGIC_COOKIE_VALUE), Some("5,6")).is_ok());
        assert!(check_environment(Some(MAGIC_COOKIE_VALUE), Some("6, 5")).is_ok());
        assert!(check_environment(Some(MAGIC_COOKIE_VALUE), None).is_ok());
    }

    #[test]
    fn protocol_5_alone_is_refused_with_what_was_offered() {
        let error = check_environment(Some(MAGIC_COOKIE_VALUE), Some("4,5")).unwrap_err();
        assert!(error.to_string().contains("4,5"), "{error}");
        assert!(error.to_string().contains("protocol 6"), "{error}");
    }

    #[test]
    fn handshake_line_has_six_fields_and_unpadded_certificate() {
        let line = handshake_line(Path::new("/tmp/plugin1"), Some(&[1, 2, 3, 4]));
        assert_eq!(line, "1|6|unix|/tmp/plugin1|grpc|AQIDBA");
        let plain = handshake_line(Path::new("/tmp/plugin1"), None);
        assert_eq!(plain, "1|6|unix|/tmp/plugin1|grpc|");
    }
}
