//! Extra certificate authorities for the connection to Atlas: a PEM bundle from the provider
//! argument `ca_cert_file` and from `SSL_CERT_FILE`, trusted in addition to the system roots
//! (for a TLS-inspecting corporate proxy, or a private Atlas-compatible endpoint).

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use super::config::Origin;
use super::diagnostics::{Diagnostic, show_value};
use super::value::Value;

pub const CA_CERT_FILE: &str = "ca_cert_file";
/// OpenSSL's variable for a CA bundle.
pub const SSL_CERT_FILE: &str = "SSL_CERT_FILE";

/// The certificates of every bundle that is set, the argument's first.
pub fn load(
    config: &Value,
    environment: impl Fn(&str) -> Option<String>,
) -> Result<Vec<CertificateDer<'static>>, Diagnostic> {
    let mut certificates = Vec::new();
    if let Some(path) = config.attribute(CA_CERT_FILE).as_str() {
        certificates.extend(read_bundle(path, &Origin::Argument(CA_CERT_FILE))?);
    }
    // The system bundle itself adds nothing: the trust store reads it on the first TLS handshake.
    if let Some(path) = environment(SSL_CERT_FILE).filter(|path| {
        !path.is_empty() && !crate::atlas::trust::is_system_bundle(std::path::Path::new(path))
    }) {
        certificates.extend(read_bundle(&path, &Origin::Environment(SSL_CERT_FILE))?);
    }
    Ok(certificates)
}

fn read_bundle(path: &str, origin: &Origin) -> Result<Vec<CertificateDer<'static>>, Diagnostic> {
    let invalid = |problem: String| {
        let diagnostic = Diagnostic::error(
            "Invalid CA Certificate File",
            format!(
                "The CA bundle {} from {origin} cannot be used: {problem}. It must be a readable file of \
                 PEM certificates (-----BEGIN CERTIFICATE-----).",
                show_value(path)
            ),
        );
        match origin {
            Origin::Argument(name) => diagnostic.on(name),
            _ => diagnostic,
        }
    };
    let bytes = std::fs::read(path).map_err(|error| invalid(error.to_string()))?;
    let certificates = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| invalid(format!("it is not valid PEM ({error})")))?;
    if certificates.is_empty() {
        return Err(invalid("it holds no certificate".into()));
    }
    Ok(certificates)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn config(path: Option<&str>) -> Value {
        let mut object = BTreeMap::new();
        object.insert(CA_CERT_FILE.to_owned(), Value::optional_string(path));
        Value::Object(object)
    }

    fn pem_file(directory: &std::path::Path, name: &str, count: usize) -> String {
        let mut text = String::new();
        for _ in 0..count {
            let key = rcgen::KeyPair::generate().unwrap();
            let certificate = rcgen::CertificateParams::new(vec!["ca.example".into()])
                .unwrap()
                .self_signed(&key)
                .unwrap();
            text.push_str(&certificate.pem());
        }
        let path = directory.join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    }

    #[test]
    fn argument_and_environment_bundles_are_both_trusted() {
        let directory = tempfile::tempdir().unwrap();
        let argument = pem_file(directory.path(), "argument.pem", 2);
        let environment = pem_file(directory.path(), "environment.pem", 1);
        let certificates = load(&config(Some(&argument)), |name| {
            (name == SSL_CERT_FILE).then(|| environment.clone())
        })
        .unwrap();
        assert_eq!(certificates.len(), 3);
    }

    #[test]
    fn missing_or_empty_bundle_is_an_error_on_the_argument() {
        let directory = tempfile::tempdir().unwrap();
        let missing = directory.path().join("missing.pem").display().to_string();
        let diagnostic = load(&config(Some(&missing)), |_| None).unwrap_err();
        assert_eq!(diagnostic.attribute.as_deref(), Some(CA_CERT_FILE));
        assert!(
            diagnostic.detail.contains("missing.pem"),
            "{}",
            diagnostic.detail
        );

        let empty = directory.path().join("empty.pem");
        std::fs::write(&empty, "no certificates here\n").unwrap();
        let diagnostic = load(&config(Some(&empty.display().to_string())), |_| None).unwrap_err();
        assert!(
            diagnostic.detail.contains("no certificate"),
            "{}",
            diagnostic.detail
        );
    }

    #[test]
    fn nothing_set_means_no_extra_roots() {
        assert!(load(&config(None), |_| None).unwrap().is_empty());
    }
}
