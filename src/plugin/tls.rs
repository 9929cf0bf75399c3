//! Mutual TLS for the plugin socket (go-plugin's AutoMTLS).
//!
//! Terraform generates an ECDSA P-521 certificate, marked as a CA but used as an end entity,
//! passes it in `PLUGIN_CLIENT_CERT`, and trusts the server certificate we print in the handshake
//! line. We accept exactly Terraform's certificate: byte for byte, with its handshake signature
//! verified by the aws-lc-rs provider (ring cannot verify P-521, and webpki's stock client
//! verifier rejects a CA certificate used as an end entity).

use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, ServerConfig, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime};

use super::PluginError;

/// The crypto provider for every TLS connection the process makes or accepts.
pub fn crypto_provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// A fresh self-signed server certificate (P-256, SAN `localhost`, the name go-plugin checks).
pub struct ServerIdentity {
    pub certificate: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
}

impl ServerIdentity {
    pub fn generate() -> Result<Self, PluginError> {
        let key_pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
            .map_err(|error| PluginError::Certificate(error.to_string()))?;
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
            .map_err(|error| PluginError::Certificate(error.to_string()))?;
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "terraform-provider-atlas");
        let certificate = params
            .self_signed(&key_pair)
            .map_err(|error| PluginError::Certificate(error.to_string()))?;
        Ok(Self {
            certificate: certificate.der().clone(),
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key_pair.serialize_der())),
        })
    }
}

/// The server side of the plugin's TLS: our identity, Terraform's pinned certificate, ALPN `h2`
/// (grpc-go refuses a TLS server that does not select it).
pub fn server_config(
    identity: &ServerIdentity,
    client_certificate_pem: &str,
) -> Result<Arc<ServerConfig>, PluginError> {
    let provider = crypto_provider();
    let pinned = CertificateDer::from_pem_slice(client_certificate_pem.as_bytes())
        .map_err(|error| PluginError::ClientCertificate(error.to_string()))?;
    let verifier = PinnedClientCertificate {
        pinned,
        algorithms: provider.signature_verification_algorithms,
    };
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(rustls::DEFAULT_VERSIONS)
        .map_err(|error| PluginError::Certificate(error.to_string()))?
        .with_client_cert_verifier(Arc::new(verifier))
        .with_single_cert(vec![identity.certificate.clone()], identity.key.clone_key())
        .map_err(|error| PluginError::Certificate(error.to_string()))?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Arc::new(config))
}

/// Accepts one client certificate and nothing else.
#[derive(Debug)]
struct PinnedClientCertificate {
    pinned: CertificateDer<'static>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for PinnedClientCertificate {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.pinned.as_ref() {
            Ok(ClientCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, certificate, signature, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, certificate, signature, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_certificate_names_localhost() {
        let identity = ServerIdentity::generate().unwrap();
        // The DER holds the SAN as a raw IA5String.
        let der = identity.certificate.as_ref();
        assert!(der.windows(9).any(|window| window == b"localhost"));
    }

    #[test]
    fn p521_is_among_the_schemes_we_verify() {
        let provider = crypto_provider();
        assert!(
            provider
                .signature_verification_algorithms
                .supported_schemes()
                .contains(&SignatureScheme::ECDSA_NISTP521_SHA512)
        );
    }

    #[test]
    fn a_client_certificate_that_is_not_pem_is_an_error() {
        let identity = ServerIdentity::generate().unwrap();
        let error = server_config(&identity, "not a certificate").unwrap_err();
        assert!(error.to_string().contains("PLUGIN_CLIENT_CERT"), "{error}");
    }
}
