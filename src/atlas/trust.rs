//! The TLS settings for Atlas: TLS 1.2 or later, ALPN for HTTP/2, and the certificate
//! authorities Atlas's certificate is checked against, loaded on the first TLS handshake.
//!
//! Loading the trust store means reading and parsing the system's CA bundle (about 150
//! certificates). Terraform starts the provider three or four times per command and only some
//! of those processes open a connection to Atlas, so the store is built when a certificate
//! first needs checking, not when the provider is configured. On Linux the one bundle file is
//! read (the platform verifier reads both the bundle and every file of `/etc/ssl/certs`, the same
//! certificates twice); elsewhere, or when no bundle is found, the
//! platform verifier is used. Either way the extra roots (`ca_cert_file`, `SSL_CERT_FILE`) are
//! trusted in addition.

use std::sync::{Arc, OnceLock};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::{DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

/// Where Linux distributions keep their CA bundle (openssl-probe's list of files).
#[cfg(target_os = "linux")]
const SYSTEM_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/ca-bundle.pem",
    "/etc/pki/tls/cacert.pem",
    "/etc/ssl/cert.pem",
];

/// Whether `path` is the system CA bundle the trust store reads anyway. `SSL_CERT_FILE` often
/// names it (many images set it for OpenSSL's sake), and its certificates need not be read twice.
pub fn is_system_bundle(path: &std::path::Path) -> bool {
    #[cfg(target_os = "linux")]
    {
        let Ok(path) = std::fs::canonicalize(path) else {
            return false;
        };
        SYSTEM_BUNDLES
            .iter()
            .filter_map(|bundle| std::fs::canonicalize(bundle).ok())
            .next()
            .is_some_and(|system| system == path)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = path;
        false
    }
}

/// The rustls configuration for connections to Atlas.
pub(crate) fn client_config(
    extra_roots: Vec<CertificateDer<'static>>,
) -> Result<rustls::ClientConfig, rustls::Error> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = LazyVerifier {
        extra_roots,
        provider: Arc::clone(&provider),
        inner: OnceLock::new(),
    };
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// Builds the real verifier on first use and hands every check to it.
#[derive(Debug)]
struct LazyVerifier {
    extra_roots: Vec<CertificateDer<'static>>,
    provider: Arc<CryptoProvider>,
    inner: OnceLock<Result<Arc<dyn ServerCertVerifier>, String>>,
}

impl LazyVerifier {
    fn inner(&self) -> Result<&Arc<dyn ServerCertVerifier>, rustls::Error> {
        self.inner
            .get_or_init(|| build_verifier(&self.extra_roots, &self.provider))
            .as_ref()
            .map_err(|message| rustls::Error::General(message.clone()))
    }
}

fn build_verifier(
    extra_roots: &[CertificateDer<'static>],
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<dyn ServerCertVerifier>, String> {
    #[cfg(target_os = "linux")]
    if let Some(system) = system_bundle() {
        let mut roots = rustls::RootCertStore::empty();
        // Like the platform verifier, skip a system certificate webpki cannot use.
        roots.add_parsable_certificates(system);
        for root in extra_roots {
            roots
                .add(root.clone())
                .map_err(|error| format!("an extra CA certificate cannot be used: {error}"))?;
        }
        let verifier =
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), Arc::clone(provider))
                .build()
                .map_err(|error| format!("the trust store cannot be built: {error}"))?;
        return Ok(verifier);
    }
    let verifier = rustls_platform_verifier::Verifier::new_with_extra_roots(
        extra_roots.iter().cloned(),
        Arc::clone(provider),
    )
    .map_err(|error| format!("the system trust store cannot be loaded: {error}"))?;
    Ok(Arc::new(verifier))
}

/// The certificates of the first system bundle that exists and holds any.
#[cfg(target_os = "linux")]
fn system_bundle() -> Option<Vec<CertificateDer<'static>>> {
    use rustls_pki_types::pem::PemObject;
    SYSTEM_BUNDLES.iter().find_map(|path| {
        let bytes = std::fs::read(path).ok()?;
        let certificates: Vec<_> = CertificateDer::pem_slice_iter(&bytes)
            .filter_map(Result::ok)
            .collect();
        (!certificates.is_empty()).then_some(certificates)
    })
}

impl ServerCertVerifier for LazyVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.inner()?
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            certificate,
            signature,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            certificate,
            signature,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuring_loads_nothing_until_a_certificate_is_checked() {
        let config = client_config(Vec::new()).unwrap();
        assert_eq!(
            config.alpn_protocols,
            [b"h2".to_vec(), b"http/1.1".to_vec()]
        );
        let verifier = LazyVerifier {
            extra_roots: Vec::new(),
            provider: Arc::new(rustls::crypto::aws_lc_rs::default_provider()),
            inner: OnceLock::new(),
        };
        assert!(verifier.inner.get().is_none());
        assert!(
            verifier.inner().is_ok(),
            "this machine has a usable trust store"
        );
        assert!(verifier.inner.get().is_some());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_system_bundle_is_recognised_and_other_files_are_not() {
        let directory = tempfile::tempdir().unwrap();
        let other = directory.path().join("ca.pem");
        std::fs::write(&other, "x").unwrap();
        assert!(!is_system_bundle(&other));
        let system = SYSTEM_BUNDLES
            .iter()
            .find(|path| std::path::Path::new(path).exists())
            .unwrap();
        assert!(is_system_bundle(std::path::Path::new(system)));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_system_bundle_is_found_on_this_machine() {
        let bundle = system_bundle().expect("a CA bundle in a standard place");
        assert!(bundle.len() > 50, "{} certificates", bundle.len());
    }
}
