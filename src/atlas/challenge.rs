//! The digest challenge Atlas sends in `WWW-Authenticate` on a 401, read into a small typed
//! value.
//!
//! The bytes of this header come from outside, so reading them must give a value or an error
//! for any input: never a panic, a hang or a large allocation. The provider's digest session (`atlas::digest`) reads every challenge through
//! [`parse_prompt`], and [`parse_challenge`] is the same function with a typed result, so the fuzz
//! target `digest_challenge` and the property tests in `tests/properties.rs` exercise the code
//! that runs on every 401 from Atlas.
//!
//! `digest_auth::parse` (0.3.1) panics on some non-ASCII input: its tokenizer numbers the
//! *characters* of the header but slices the string with those numbers as *byte* offsets, so
//! `€a=1` slices inside the `€` and panics. We refuse anything but visible ASCII and tab first
//! (what `HeaderValue::to_str` accepts), for which characters and bytes are the same, which
//! removes the only panic. This check, not `catch_unwind`, is the guard: an unwinding panic would still print to
//! stderr, which Terraform reads as the plugin's log, and it would abort a build with
//! `panic = "abort"`.

use std::fmt;

/// A digest challenge, as Atlas sends it:
/// `Digest realm="MMS Public API", domain="", nonce="…", algorithm=MD5, qop="auth", stale=false`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    pub realm: String,
    /// The server nonce the answer hashes; a client may reuse it with an increasing `nc`.
    pub nonce: String,
    /// Echoed back unchanged when present.
    pub opaque: Option<String>,
    /// Whether `qop` offers `auth` (Atlas: `qop="auth"`). False when `qop` is absent (RFC 2069)
    /// or offers only `auth-int`.
    pub qop_auth: bool,
    /// `stale=true`: the nonce of the answered request expired; answer this challenge instead
    /// of treating the 401 as bad credentials.
    pub stale: bool,
    /// `MD5` when the challenge names none.
    pub algorithm: Algorithm,
}

/// The hash a challenge asks for, with its `-sess` variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    Md5,
    Md5Sess,
    Sha256,
    Sha256Sess,
    Sha512_256,
    Sha512_256Sess,
}

impl Algorithm {
    /// The name as written in the header, such as `MD5` or `SHA-256-sess`.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Md5Sess => "MD5-sess",
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Sha256Sess => "SHA-256-sess",
            Algorithm::Sha512_256 => "SHA-512-256",
            Algorithm::Sha512_256Sess => "SHA-512-256-sess",
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// Why a `WWW-Authenticate` header is not a digest challenge we can answer. The messages quote
/// at most a short excerpt of what the server sent.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChallengeError {
    #[error(
        "the challenge has a byte that is not visible ASCII at offset {offset} (an HTTP header value cannot carry it)"
    )]
    NotVisibleAscii { offset: usize },
    #[error("the challenge has no `{0}` parameter")]
    Missing(&'static str),
    #[error(
        "the challenge is not a list of name=value parameters (a quote is not closed or a value is missing)"
    )]
    Syntax,
    #[error(
        "the challenge asks for the algorithm `{0}`, which is not one of MD5, SHA-256, SHA-512-256 (or their -sess forms)"
    )]
    UnknownAlgorithm(String),
    #[error("the challenge offers the qop `{0}`, which is neither `auth` nor `auth-int`")]
    UnknownQop(String),
    #[error("the challenge names the charset `{0}`; only UTF-8 may be named")]
    UnknownCharset(String),
    #[error("the challenge could not be read: {0}")]
    Other(String),
}

/// The longest piece of a header an error message quotes.
const MAX_QUOTED_CHARS: usize = 40;

/// Reads a `WWW-Authenticate` digest challenge with the parser diqwest uses.
///
/// Accepts exactly what diqwest accepts (the leading `Digest` is optional, parameters are
/// quoted or plain, unknown ones are ignored, names are case-sensitive), except that a header
/// with a byte outside visible ASCII and tab is refused, as diqwest refuses it too; see the
/// module documentation. Never panics; time and memory are linear in the header's length.
pub fn parse_challenge(header: &str) -> Result<Challenge, ChallengeError> {
    let parsed = parse_prompt(header)?;
    let qop_auth = parsed
        .qop
        .as_deref()
        .is_some_and(|qops| qops.contains(&digest_auth::Qop::AUTH));
    Ok(Challenge {
        realm: parsed.realm,
        nonce: parsed.nonce,
        opaque: parsed.opaque,
        qop_auth,
        stale: parsed.stale,
        algorithm: algorithm(parsed.algorithm),
    })
}

/// Reads a challenge into the form `digest_auth` answers: what the provider's digest session
/// (`atlas::digest`) caches and answers with an increasing `nc`. The same guard as
/// [`parse_challenge`]: visible ASCII only, so `digest_auth::parse` cannot panic.
///
/// Quoted values are unescaped here (`realm="MMS \"Public\" API"` becomes `MMS "Public" API`)
/// and escaped again when the answer is written, as RFC 7616 section 3.4 and RFC 7230's
/// quoted-string require; the session keeps the parsed value, never the header text, so a
/// reused nonce is sent back whole.
pub(crate) fn parse_prompt(
    header: &str,
) -> Result<digest_auth::WwwAuthenticateHeader, ChallengeError> {
    if let Some(offset) = header
        .bytes()
        .position(|byte| !(byte == b'\t' || (b' '..=b'~').contains(&byte)))
    {
        return Err(ChallengeError::NotVisibleAscii { offset });
    }
    digest_auth::parse(header).map_err(map_error)
}

fn algorithm(parsed: digest_auth::Algorithm) -> Algorithm {
    use digest_auth::AlgorithmType;
    match (parsed.algo, parsed.sess) {
        (AlgorithmType::MD5, false) => Algorithm::Md5,
        (AlgorithmType::MD5, true) => Algorithm::Md5Sess,
        (AlgorithmType::SHA2_256, false) => Algorithm::Sha256,
        (AlgorithmType::SHA2_256, true) => Algorithm::Sha256Sess,
        (AlgorithmType::SHA2_512_256, false) => Algorithm::Sha512_256,
        (AlgorithmType::SHA2_512_256, true) => Algorithm::Sha512_256Sess,
    }
}

fn map_error(error: digest_auth::Error) -> ChallengeError {
    use digest_auth::Error;
    match error {
        Error::MissingRequired(name, _) => ChallengeError::Missing(name),
        Error::InvalidHeaderSyntax(_) => ChallengeError::Syntax,
        Error::UnknownAlgorithm(name) => ChallengeError::UnknownAlgorithm(shorten(&name)),
        Error::BadQop(qop) => ChallengeError::UnknownQop(shorten(&qop)),
        Error::BadCharset(charset) => ChallengeError::UnknownCharset(shorten(&charset)),
        other => ChallengeError::Other(shorten(&other.to_string())),
    }
}

fn shorten(text: &str) -> String {
    let mut chars = text.chars();
    let mut short: String = chars.by_ref().take(MAX_QUOTED_CHARS).collect();
    if chars.next().is_some() {
        short.push('…');
    }
    short
}

#[cfg(test)]
mod tests {
    use super::*;

    const ATLAS: &str = r#"Digest realm="MMS Public API", domain="", nonce="Fw3Lh0b5nE0Q1m9Yh2tU6s8x+7kq/Zr1", algorithm=MD5, qop="auth", stale=false"#;

    #[test]
    fn atlas_challenge_is_read() {
        let challenge = parse_challenge(ATLAS).unwrap();
        assert_eq!(
            challenge,
            Challenge {
                realm: "MMS Public API".into(),
                nonce: "Fw3Lh0b5nE0Q1m9Yh2tU6s8x+7kq/Zr1".into(),
                opaque: None,
                qop_auth: true,
                stale: false,
                algorithm: Algorithm::Md5,
            }
        );
    }

    #[test]
    fn stale_true_is_read_quoted_or_plain_in_any_case() {
        let plain = ATLAS.replace("stale=false", "stale=true");
        assert!(parse_challenge(&plain).unwrap().stale);
        let quoted = ATLAS.replace("stale=false", r#"stale="TRUE""#);
        assert!(parse_challenge(&quoted).unwrap().stale);
        let last = r#"Digest nonce="n", realm="r", stale=true"#;
        assert!(parse_challenge(last).unwrap().stale);
    }

    #[test]
    fn quoted_and_plain_parameters_and_escapes() {
        let challenge = parse_challenge(
            r#"Digest realm=plain,nonce="a\"b\\c",algorithm="SHA-256-sess",qop=auth,opaque=xyz"#,
        )
        .unwrap();
        assert_eq!(challenge.realm, "plain");
        assert_eq!(challenge.nonce, r#"a"b\c"#);
        assert_eq!(challenge.algorithm, Algorithm::Sha256Sess);
        assert!(challenge.qop_auth);
        assert_eq!(challenge.opaque.as_deref(), Some("xyz"));
    }

    #[test]
    fn unknown_parameters_are_ignored_and_defaults_apply() {
        let challenge =
            parse_challenge(r#"Digest future="x, y", realm="r", nonce="n", extra=1"#).unwrap();
        assert_eq!(challenge.nonce, "n");
        assert_eq!(challenge.algorithm, Algorithm::Md5);
        assert!(!challenge.qop_auth && !challenge.stale);
    }

    #[test]
    fn qop_auth_int_only_is_not_auth() {
        let challenge = parse_challenge(r#"Digest realm="r", nonce="n", qop="auth-int""#).unwrap();
        assert!(!challenge.qop_auth);
        let both = parse_challenge(r#"Digest realm="r", nonce="n", qop="auth-int, auth""#).unwrap();
        assert!(both.qop_auth);
    }

    #[test]
    fn missing_nonce_or_realm_is_an_error() {
        assert_eq!(
            parse_challenge(r#"Digest realm="MMS Public API", algorithm=MD5, qop="auth""#),
            Err(ChallengeError::Missing("nonce"))
        );
        assert_eq!(
            parse_challenge(r#"Digest nonce="n""#),
            Err(ChallengeError::Missing("realm"))
        );
        assert_eq!(parse_challenge(""), Err(ChallengeError::Missing("realm")));
    }

    #[test]
    fn unclosed_quote_unknown_algorithm_and_qop_are_errors() {
        assert_eq!(
            parse_challenge(r#"Digest realm="r, nonce="n"#),
            Err(ChallengeError::Syntax)
        );
        assert_eq!(
            parse_challenge(r#"Digest realm="r", nonce="n", algorithm=md4"#),
            Err(ChallengeError::UnknownAlgorithm("md4".into()))
        );
        assert_eq!(
            parse_challenge(r#"Digest realm="r", nonce="n", qop="auth-conf""#),
            Err(ChallengeError::UnknownQop("auth-conf".into()))
        );
    }

    #[test]
    fn non_ascii_is_refused_where_the_crate_would_panic() {
        // digest_auth::parse 0.3.1 panics on this one: it slices at a character index used as
        // a byte index, inside the euro sign.
        assert_eq!(
            parse_challenge("€a=1"),
            Err(ChallengeError::NotVisibleAscii { offset: 0 })
        );
        assert_eq!(
            parse_challenge("Digest realm=\"r\"\r\n, nonce=\"n\""),
            Err(ChallengeError::NotVisibleAscii { offset: 16 })
        );
    }

    #[test]
    fn error_messages_quote_only_an_excerpt() {
        let long = format!(
            r#"Digest realm="r", nonce="n", algorithm={}"#,
            "A".repeat(500)
        );
        let message = parse_challenge(&long).unwrap_err().to_string();
        assert!(message.len() < 200, "{message}");
    }
}
