//! Extra certificate authorities for the connection to Atlas: a PEM bundle from the provider
//! argument `ca_cert_file` and from `SSL_CERT_FILE`, trusted in addition to the system roots
//! (for a TLS-inspecting corporate proxy, or a private Atlas-compatible endpoint).
//!
//! A path comes from the user, so reading it is bounded: only a regular file of at most
//! [`MAX_BUNDLE_BYTES`] is read, checked before it is opened (a FIFO would block
//! ConfigureProvider until a writer came; `/dev/zero` would never end), and opened without
//! blocking and read no further than the limit in case it changes in between.

use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use super::config::Origin;
use super::diagnostics::{Diagnostic, show_value};
use super::value::Value;

pub const CA_CERT_FILE: &str = "ca_cert_file";
/// OpenSSL's variable for a CA bundle.
pub const SSL_CERT_FILE: &str = "SSL_CERT_FILE";

/// The largest CA bundle read. The system's, with every public CA, is about 220 KB.
pub const MAX_BUNDLE_BYTES: u64 = 4 * 1024 * 1024;

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
    let bytes = read_bounded(path).map_err(invalid)?;
    let certificates = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| invalid(pem_problem(&bytes, &error)))?;
    if certificates.is_empty() {
        return Err(invalid("it holds no certificate".into()));
    }
    Ok(certificates)
}

/// The whole file, if it is a regular file of at most [`MAX_BUNDLE_BYTES`].
fn read_bounded(path: &str) -> Result<Vec<u8>, String> {
    let metadata = std::fs::metadata(path).map_err(|error| error.to_string())?;
    if !metadata.is_file() {
        return Err(format!(
            "it is not a regular file (it is a {})",
            file_kind(&metadata.file_type())
        ));
    }
    if metadata.len() > MAX_BUNDLE_BYTES {
        return Err(format!(
            "it is {} bytes, more than the {MAX_BUNDLE_BYTES} bytes a CA bundle may be",
            metadata.len()
        ));
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|error| error.to_string())?;
    let mut bytes = Vec::new();
    file.take(MAX_BUNDLE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| error.to_string())?;
    if bytes.len() as u64 > MAX_BUNDLE_BYTES {
        return Err(format!(
            "it grew past the {MAX_BUNDLE_BYTES} bytes a CA bundle may be while it was read"
        ));
    }
    Ok(bytes)
}

fn file_kind(kind: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if kind.is_dir() {
        "directory"
    } else if kind.is_fifo() {
        "named pipe"
    } else if kind.is_char_device() {
        "character device"
    } else if kind.is_block_device() {
        "block device"
    } else if kind.is_socket() {
        "socket"
    } else {
        "special file"
    }
}

/// What is wrong with a PEM file, in words: a certificate whose END line is missing (a file cut
/// short when copied) is the usual case.
fn pem_problem(bytes: &[u8], error: &rustls_pki_types::pem::Error) -> String {
    let text = String::from_utf8_lossy(bytes);
    let begins = text.matches("-----BEGIN CERTIFICATE-----").count();
    let ends = text.matches("-----END CERTIFICATE-----").count();
    if begins > ends {
        return format!(
            "it is cut short: certificate {} of {begins} has a -----BEGIN CERTIFICATE----- line but no              -----END CERTIFICATE----- line. Copy the whole file again",
            ends + 1
        );
    }
    match error {
        rustls_pki_types::pem::Error::Base64Decode(_) => {
            "a certificate's base64 text between its BEGIN and END lines is damaged".to_owned()
        }
        rustls_pki_types::pem::Error::IllegalSectionStart { .. } => {
            "a -----BEGIN line is malformed".to_owned()
        }
        _ => "it is not valid PEM".to_owned(),
    }
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
    fn devices_pipes_and_directories_are_refused_without_reading() {
        let directory = tempfile::tempdir().unwrap();
        let fifo = directory.path().join("fifo");
        let c_path = std::ffi::CString::new(fifo.display().to_string()).unwrap();
        // SAFETY: a plain mkfifo(3) call on a path we own.
        assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
        for (path, kind) in [
            ("/dev/zero".to_owned(), "character device"),
            (fifo.display().to_string(), "named pipe"),
            (directory.path().display().to_string(), "directory"),
        ] {
            let diagnostic = load(&config(Some(&path)), |_| None).unwrap_err();
            assert!(diagnostic.detail.contains(kind), "{}", diagnostic.detail);
        }
        let diagnostic = load(&config(None), |name| {
            (name == SSL_CERT_FILE).then(|| "/dev/zero".into())
        })
        .unwrap_err();
        assert!(
            diagnostic.detail.contains("SSL_CERT_FILE"),
            "{}",
            diagnostic.detail
        );
    }

    #[test]
    fn an_oversized_bundle_is_refused_before_reading() {
        let directory = tempfile::tempdir().unwrap();
        let big = directory.path().join("big.pem");
        let file = std::fs::File::create(&big).unwrap();
        file.set_len(MAX_BUNDLE_BYTES + 1).unwrap();
        let diagnostic = load(&config(Some(&big.display().to_string())), |_| None).unwrap_err();
        assert!(
            diagnostic.detail.contains("more than"),
            "{}",
            diagnostic.detail
        );
    }

    #[test]
    fn a_truncated_pem_names_the_missing_end_line() {
        let directory = tempfile::tempdir().unwrap();
        let whole = pem_file(directory.path(), "whole.pem", 2);
        let text = std::fs::read_to_string(&whole).unwrap();
        let cut = directory.path().join("cut.pem");
        std::fs::write(&cut, &text[..text.len() - 40]).unwrap();
        let diagnostic = load(&config(Some(&cut.display().to_string())), |_| None).unwrap_err();
        assert!(
            diagnostic.detail.contains("cut.pem")
                && diagnostic.detail.contains("-----END CERTIFICATE-----")
                && diagnostic.detail.contains("certificate 2 of 2"),
            "{}",
            diagnostic.detail
        );
        assert!(!diagnostic.detail.contains("[4"), "{}", diagnostic.detail);
    }

    #[test]
    fn nothing_set_means_no_extra_roots() {
        assert!(load(&config(None), |_| None).unwrap().is_empty());
    }
}
