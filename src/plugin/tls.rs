//! Mutual TLS for the plugin socket (go-plugin's AutoMTLS).
//!
//! Terraform generates an ECDSA P-521 certificate, marked as a CA but used as an end entity,
//! passes it in `PLUGIN_CLIENT_CERT`, and trusts the server certificate we print in the handshake
//! line. We accept exactly Terraform's certificate: byte for byte, with its handshake signature
//! verified by the aws-lc-rs provider (ring cannot verify P-521, and webpki's stock client
//! verifier rejects a CA certificate used as an end entity).

use std::sync::Arc;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::sign::{CertifiedKey, SingleCertAndKey};
use rustls::{DigitallySignedStruct, DistinguishedName, ServerConfig, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, UnixTime};

use super::PluginError;

/// The crypto provider for every TLS connection the process makes or accepts.
pub fn crypto_provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// A fresh self-signed server certificate (P-256, SAN `localhost`, the name go-plugin checks)
/// and its key.
///
/// One aws-lc key object signs the certificate and then the TLS handshakes: it is never
/// serialized to PKCS#8 and parsed back, which cost every start two more checks of the key (a
/// scalar multiplication each).
pub struct ServerIdentity {
    pub certificate: CertificateDer<'static>,
    key: Arc<ServerKey>,
}

impl ServerIdentity {
    pub fn generate() -> Result<Self, PluginError> {
        let key = ServerKey::generate()?;
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
            .map_err(|error| PluginError::Certificate(error.to_string()))?;
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "terraform-provider-atlas");
        let certificate = params
            .self_signed(&key)
            .map_err(|error| PluginError::Certificate(error.to_string()))?;
        Ok(Self {
            certificate: certificate.der().clone(),
            key: Arc::new(key),
        })
    }
}

/// The server's ECDSA P-256 key: rcgen signs the certificate with it, rustls the handshakes.
struct ServerKey {
    pair: EcdsaKeyPair,
    random: SystemRandom,
}

impl std::fmt::Debug for ServerKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("ServerKey(ECDSA P-256)")
    }
}

impl ServerKey {
    fn generate() -> Result<Self, PluginError> {
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING).map_err(|_| {
            PluginError::Certificate("could not generate an ECDSA P-256 key".to_owned())
        })?;
        Ok(Self {
            pair,
            random: SystemRandom::new(),
        })
    }

    /// An ASN.1 DER ECDSA signature over SHA-256 of `message`: the form of both the
    /// certificate's signature and TLS's `ecdsa_secp256r1_sha256`.
    fn sign_message(&self, message: &[u8]) -> Option<Vec<u8>> {
        let signature = self.pair.sign(&self.random, message).ok()?;
        Some(signature.as_ref().to_vec())
    }
}

impl rcgen::PublicKeyData for ServerKey {
    fn der_bytes(&self) -> &[u8] {
        self.pair.public_key().as_ref()
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &rcgen::PKCS_ECDSA_P256_SHA256
    }
}

impl rcgen::SigningKey for ServerKey {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        self.sign_message(message)
            .ok_or(rcgen::Error::RingUnspecified)
    }
}

/// The server key as rustls signs handshakes with it (`ecdsa_secp256r1_sha256`, which
/// go-plugin's Go client offers).
#[derive(Debug, Clone)]
struct HandshakeKey(Arc<ServerKey>);

impl rustls::sign::SigningKey for HandshakeKey {
    fn choose_scheme(&self, offered: &[SignatureScheme]) -> Option<Box<dyn rustls::sign::Signer>> {
        offered
            .contains(&SignatureScheme::ECDSA_NISTP256_SHA256)
            .then(|| Box::new(self.clone()) as Box<dyn rustls::sign::Signer>)
    }

    fn algorithm(&self) -> rustls::SignatureAlgorithm {
        rustls::SignatureAlgorithm::ECDSA
    }
}

impl rustls::sign::Signer for HandshakeKey {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, rustls::Error> {
        self.0
            .sign_message(message)
            .ok_or_else(|| rustls::Error::General("could not sign with the server key".to_owned()))
    }

    fn scheme(&self) -> SignatureScheme {
        SignatureScheme::ECDSA_NISTP256_SHA256
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
        .with_cert_resolver(Arc::new(SingleCertAndKey::from(CertifiedKey::new(
            vec![identity.certificate.clone()],
            Arc::new(HandshakeKey(Arc::clone(&identity.key))),
        ))));
    config.alpn_protocols = vec![b"h2".to_vec()];
    // No session resumption. Terraform's client keeps no session cache (go-plugin's AutoMTLS
    // `tls.Config` sets no `ClientSessionCache`: hashicorp/go-plugin client.go, `Start`), so Go
    // reads and drops every TLS 1.3 ticket, and each provider process serves one connection
    // anyway. rustls would otherwise issue two tickets after each handshake, remember them in a
    // cache of 256 sessions, and write them to the socket as two more records.
    config.send_tls13_tickets = 0;
    config.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
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
    fn handshakes_are_signed_by_the_key_the_certificate_names() {
        use rustls::sign::SigningKey as _;
        let identity = ServerIdentity::generate().unwrap();
        let signer = HandshakeKey(Arc::clone(&identity.key))
            .choose_scheme(&[
                SignatureScheme::ED25519,
                SignatureScheme::ECDSA_NISTP256_SHA256,
            ])
            .expect("the scheme go-plugin offers");
        assert_eq!(signer.scheme(), SignatureScheme::ECDSA_NISTP256_SHA256);
        let message = b"TLS 1.3, server CertificateVerify";
        let signature = signer.sign(message).unwrap();
        let certificate = webpki::EndEntityCert::try_from(&identity.certificate).unwrap();
        certificate
            .verify_signature(webpki::aws_lc_rs::ECDSA_P256_SHA256, message, &signature)
            .expect("the certificate's public key verifies the handshake signature");
        assert!(
            HandshakeKey(Arc::clone(&identity.key))
                .choose_scheme(&[SignatureScheme::ED25519])
                .is_none()
        );
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

    /// Counts the TLS 1.3 tickets a client is given, and remembers nothing.
    #[derive(Debug, Default)]
    struct CountingTickets(std::sync::atomic::AtomicUsize);

    impl rustls::client::ClientSessionStore for CountingTickets {
        fn set_kx_hint(&self, _: rustls_pki_types::ServerName<'static>, _: rustls::NamedGroup) {}
        fn kx_hint(&self, _: &rustls_pki_types::ServerName<'_>) -> Option<rustls::NamedGroup> {
            None
        }
        fn set_tls12_session(
            &self,
            _: rustls_pki_types::ServerName<'static>,
            _: rustls::client::Tls12ClientSessionValue,
        ) {
        }
        fn tls12_session(
            &self,
            _: &rustls_pki_types::ServerName<'_>,
        ) -> Option<rustls::client::Tls12ClientSessionValue> {
            None
        }
        fn remove_tls12_session(&self, _: &rustls_pki_types::ServerName<'static>) {}
        fn insert_tls13_ticket(
            &self,
            _: rustls_pki_types::ServerName<'static>,
            _: rustls::client::Tls13ClientSessionValue,
        ) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        fn take_tls13_ticket(
            &self,
            _: &rustls_pki_types::ServerName<'static>,
        ) -> Option<rustls::client::Tls13ClientSessionValue> {
            None
        }
    }

    /// Moves what `from` has to send into `to`, and lets `to` process it.
    fn pump(
        from: &mut impl std::ops::DerefMut<Target = rustls::ConnectionCommon<impl Sized>>,
        to: &mut impl std::ops::DerefMut<Target = rustls::ConnectionCommon<impl Sized>>,
    ) {
        let mut bytes = Vec::new();
        while from.wants_write() {
            from.write_tls(&mut bytes).unwrap();
        }
        let mut reader = bytes.as_slice();
        while !reader.is_empty() {
            to.read_tls(&mut reader).unwrap();
            to.process_new_packets().unwrap();
        }
    }

    #[test]
    fn a_full_mutual_handshake_issues_no_session_tickets() {
        // A client like Terraform's: a P-521 CA certificate as its own, our certificate as root.
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512).unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let client_certificate = params.self_signed(&key).unwrap();
        let identity = ServerIdentity::generate().unwrap();
        let server = server_config(&identity, &client_certificate.pem()).unwrap();
        let mut roots = rustls::RootCertStore::empty();
        roots.add(identity.certificate.clone()).unwrap();
        let tickets = Arc::new(CountingTickets::default());
        let mut client = rustls::ClientConfig::builder_with_provider(crypto_provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_client_auth_cert(
                vec![client_certificate.der().clone()],
                rustls_pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
            )
            .unwrap();
        client.alpn_protocols = vec![b"h2".to_vec()];
        client.resumption = rustls::client::Resumption::store(tickets.clone());
        let mut client =
            rustls::ClientConnection::new(Arc::new(client), "localhost".try_into().unwrap())
                .unwrap();
        let mut server = rustls::ServerConnection::new(server).unwrap();
        for _ in 0..10 {
            pump(&mut client, &mut server);
            pump(&mut server, &mut client);
        }
        assert!(!client.is_handshaking() && !server.is_handshaking());
        assert_eq!(
            client.protocol_version(),
            Some(rustls::ProtocolVersion::TLSv1_3)
        );
        assert_eq!(
            tickets.0.load(std::sync::atomic::Ordering::SeqCst),
            0,
            "Terraform's client drops tickets: issuing them is work for nothing"
        );
    }

    #[test]
    fn a_client_certificate_that_is_not_pem_is_an_error() {
        let identity = ServerIdentity::generate().unwrap();
        let error = server_config(&identity, "not a certificate").unwrap_err();
        assert!(error.to_string().contains("PLUGIN_CLIENT_CERT"), "{error}");
    }
}
