//! The HTTP Digest session for an Atlas programmatic API key (RFC 7616, MD5, `qop=auth`).
//!
//! Atlas lets a client reuse a nonce with an increasing `nc`, so a steady-state read costs one
//! round trip instead of two. The session keeps the last challenge *parsed* (through
//! [`super::challenge::parse_prompt`]) and answers it again for each request; it never re-reads
//! or re-writes the header text, so a realm or nonce with escaped quotes is sent back exactly as
//! RFC 7616's quoting requires. Until a challenge is cached, the client lets one request fetch it
//! while the others wait for it (`atlas::shared_fetch`), so that reads started together share one
//! challenge instead of each fetching its own.

use std::fmt;
use std::sync::Mutex;

use std::fmt::Write as _;

use digest_auth::{
    Algorithm, AlgorithmType, AuthContext, AuthorizationHeader, HttpMethod, Qop,
    WwwAuthenticateHeader,
};

use super::challenge::{ChallengeError, parse_prompt};

/// One API key's digest state.
pub(crate) struct DigestSession {
    /// The public key: the digest user name.
    username: String,
    /// The private key: hashed into each answer, never sent.
    password: String,
    /// The challenge answered by every request, with its `nc` counter.
    prompt: Mutex<Option<Challenge>>,
}

impl fmt::Debug for DigestSession {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("DigestSession")
            .field("username", &self.username)
            .field("password", &"(redacted)")
            .finish_non_exhaustive()
    }
}

impl DigestSession {
    pub(crate) fn new(username: String, password: String) -> Self {
        Self {
            username,
            password,
            prompt: Mutex::new(None),
        }
    }

    /// The `Authorization` header answering the cached challenge for `GET uri`, or `None` when
    /// no challenge is cached. Each answer takes the next `nc`.
    pub(crate) fn answer(&self, method: HttpMethod<'_>, uri: &str) -> Option<String> {
        let mut cnonce = [0_u8; 16];
        aws_lc_rs::rand::fill(&mut cnonce).ok()?;
        self.answer_with_cnonce(method, uri, &hex(&cnonce))
    }

    fn answer_with_cnonce(
        &self,
        method: HttpMethod<'_>,
        uri: &str,
        cnonce: &str,
    ) -> Option<String> {
        let mut challenge = self.prompt.lock().ok()?;
        let challenge = challenge.as_mut()?;
        if let Some(ha1) = &challenge.md5_ha1 {
            challenge.prompt.nc = challenge.prompt.nc.wrapping_add(1);
            return Some(md5_auth_header(
                &challenge.prompt,
                ha1,
                &self.username,
                method,
                uri,
                cnonce,
            ));
        }
        let mut context = AuthContext::new_with_method(
            &self.username,
            &self.password,
            uri,
            None::<&[u8]>,
            method,
        );
        context.set_custom_cnonce(cnonce);
        challenge
            .prompt
            .respond(&context)
            .ok()
            .map(|answer| header_string(&answer))
    }

    /// Caches the challenge of a 401's `WWW-Authenticate` header; later answers use it.
    /// Returns whether Atlas marked the previous nonce stale.
    pub(crate) fn learn(&self, header: &str) -> Result<bool, ChallengeError> {
        let prompt = parse_prompt(header)?;
        let stale = prompt.stale;
        let challenge = Challenge::new(prompt, &self.username, &self.password);
        if let Ok(mut cached) = self.prompt.lock() {
            *cached = Some(challenge);
        }
        Ok(stale)
    }
}

/// A cached challenge: its parsed header (with the `nc` counter) and, for Atlas's form of it
/// (MD5, `qop=auth`), the hash of `username:realm:password`, which every answer starts from.
struct Challenge {
    prompt: WwwAuthenticateHeader,
    md5_ha1: Option<String>,
}

impl Challenge {
    fn new(prompt: WwwAuthenticateHeader, username: &str, password: &str) -> Self {
        // What Atlas sends (RFC 7616 MD5 with qop=auth) is answered here directly; any other
        // form (SHA-256, -sess, userhash, no qop) through digest_auth. For a request without a
        // body digest_auth answers `auth-int` as `auth`, so both offers take the direct path.
        let direct = prompt.algorithm.algo == AlgorithmType::MD5
            && !prompt.algorithm.sess
            && !prompt.userhash
            && prompt
                .qop
                .as_ref()
                .is_some_and(|offered| !offered.is_empty());
        let md5_ha1 = direct.then(|| md5_hex(&[username, ":", &prompt.realm, ":", password]));
        Self { prompt, md5_ha1 }
    }
}

/// Lower-case hexadecimal, as digest answers carry hashes and the client nonce.
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    text
}

/// The MD5 of the concatenated parts, in hexadecimal.
fn md5_hex(parts: &[&str]) -> String {
    use md5::Digest as _;
    let mut hash = md5::Md5::new();
    for part in parts {
        hash.update(part.as_bytes());
    }
    hex(&hash.finalize())
}

/// The answer to an MD5, `qop=auth` challenge (RFC 7616 section 3.4.1): the same text
/// digest_auth writes, from the cached HA1, without its intermediate strings.
fn md5_auth_header(
    prompt: &WwwAuthenticateHeader,
    ha1: &str,
    username: &str,
    method: HttpMethod<'_>,
    uri: &str,
    cnonce: &str,
) -> String {
    let nc = format!("{:08x}", prompt.nc);
    let ha2 = md5_hex(&[&method.to_string(), ":", uri]);
    let response = md5_hex(&[
        ha1,
        ":",
        &prompt.nonce,
        ":",
        &nc,
        ":",
        cnonce,
        ":auth:",
        &ha2,
    ]);
    write_header(&HeaderParts {
        username,
        realm: &prompt.realm,
        nonce: &prompt.nonce,
        uri,
        qop_nc_cnonce: Some(("auth", &nc, cnonce)),
        response: &response,
        opaque: prompt.opaque.as_deref(),
        algorithm: Some(prompt.algorithm),
        userhash: false,
    })
}

/// The parameters of an `Authorization` header, in the order digest_auth writes them.
struct HeaderParts<'a> {
    username: &'a str,
    realm: &'a str,
    nonce: &'a str,
    uri: &'a str,
    /// `qop`, `nc` (eight hexadecimal digits) and `cnonce`, present together.
    qop_nc_cnonce: Option<(&'a str, &'a str, &'a str)>,
    response: &'a str,
    opaque: Option<&'a str>,
    algorithm: Option<Algorithm>,
    userhash: bool,
}

/// The `Authorization` header's text: what digest_auth's `to_header_string` writes (the same
/// parameters, order and quoting), written straight into one buffer.
fn header_string(answer: &AuthorizationHeader) -> String {
    let qop = answer.qop.as_ref().map(|qop| match qop {
        Qop::AUTH => "auth",
        Qop::AUTH_INT => "auth-int",
    });
    let nc = format!("{:08x}", answer.nc);
    write_header(&HeaderParts {
        username: &answer.username,
        realm: &answer.realm,
        nonce: &answer.nonce,
        uri: &answer.uri,
        qop_nc_cnonce: qop
            .zip(answer.cnonce.as_deref())
            .map(|(qop, cnonce)| (qop, nc.as_str(), cnonce)),
        response: &answer.response,
        opaque: answer.opaque.as_deref(),
        algorithm: (answer.qop.is_some() || answer.algorithm.algo != AlgorithmType::MD5)
            .then_some(answer.algorithm),
        userhash: answer.userhash,
    })
}

fn write_header(parts: &HeaderParts<'_>) -> String {
    fn quoted(header: &mut String, name: &str, value: &str) {
        header.push_str(name);
        header.push_str("=\"");
        let mut rest = value;
        // Bytewise: a quote and a backslash are ASCII, so they never sit inside another
        // character's encoding, and the search is a plain loop (a `char` pattern decodes each one).
        while let Some(at) = rest.bytes().position(|byte| byte == b'"' || byte == b'\\') {
            header.push_str(&rest[..at]);
            header.push('\\');
            header.push_str(&rest[at..=at]);
            rest = &rest[at + 1..];
        }
        header.push_str(rest);
        header.push('"');
    }
    let mut header = String::with_capacity(
        200 + parts.username.len()
            + parts.realm.len()
            + parts.nonce.len()
            + parts.uri.len()
            + parts.opaque.map_or(0, str::len),
    );
    header.push_str("Digest ");
    quoted(&mut header, "username", parts.username);
    quoted(&mut header, ", realm", parts.realm);
    quoted(&mut header, ", nonce", parts.nonce);
    quoted(&mut header, ", uri", parts.uri);
    if let Some((qop, nc, cnonce)) = parts.qop_nc_cnonce {
        let _ = write!(header, ", qop={qop}, nc={nc}");
        quoted(&mut header, ", cnonce", cnonce);
    }
    quoted(&mut header, ", response", parts.response);
    if let Some(opaque) = parts.opaque {
        quoted(&mut header, ", opaque", opaque);
    }
    if let Some(algorithm) = parts.algorithm {
        let _ = write!(header, ", algorithm={algorithm}");
    }
    if parts.userhash {
        header.push_str(", userhash=true");
    }
    header
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_answer_is_the_one_digest_auth_gives() {
        let challenges = [
            ATLAS,
            r#"Digest realm="MMS \"Public\" API", nonce="n\"o\\nce", algorithm=MD5, qop="auth""#,
            r#"Digest realm="r", nonce="n", opaque="o\"paque", qop="auth-int,auth""#,
            r#"Digest realm="r", nonce="n", qop="auth-int""#,
            r#"Digest realm="r", nonce="n", algorithm=SHA-256, qop="auth""#,
            r#"Digest realm="r", nonce="n", algorithm=MD5-sess, qop="auth""#,
            r#"Digest realm="r", nonce="n", algorithm=MD5, userhash=true, qop="auth""#,
            r#"Digest realm="legacy", nonce="n""#,
        ];
        for challenge in challenges {
            let session = DigestSession::new("us\"er".into(), "0d6b-secret".into());
            session.learn(challenge).unwrap();
            let mut reference = parse_prompt(challenge).unwrap();
            for (request, uri) in ["/api/atlas/v1.0/groups/x", "/we\"ird\\uri", "/x"]
                .into_iter()
                .enumerate()
            {
                let cnonce = format!("{request:032x}");
                let mut context = AuthContext::new_with_method(
                    "us\"er",
                    "0d6b-secret",
                    uri,
                    None::<&[u8]>,
                    HttpMethod::GET,
                );
                context.set_custom_cnonce(cnonce.as_str());
                let expected = reference.respond(&context).unwrap().to_header_string();
                let answer = session
                    .answer_with_cnonce(HttpMethod::GET, uri, &cnonce)
                    .unwrap();
                assert_eq!(answer, expected, "{challenge}");
            }
        }
        // Atlas's form takes the direct path; the others go through digest_auth.
        let direct = |challenge: &str| {
            Challenge::new(parse_prompt(challenge).unwrap(), "u", "p")
                .md5_ha1
                .is_some()
        };
        assert!(direct(ATLAS));
        assert!(!direct(challenges[4]) && !direct(challenges[5]) && !direct(challenges[6]));
        assert!(!direct(challenges[7]));
    }

    #[test]
    fn client_nonces_differ_from_answer_to_answer() {
        let session = DigestSession::new("abcdefgh".into(), "secret".into());
        session.learn(ATLAS).unwrap();
        let first = session.answer(HttpMethod::GET, "/x").unwrap();
        let second = session.answer(HttpMethod::GET, "/x").unwrap();
        let (first, second) = (parameter(&first, "cnonce"), parameter(&second, "cnonce"));
        assert_eq!(first.len(), 32);
        assert!(first.bytes().all(|byte| byte.is_ascii_hexdigit()));
        assert_ne!(first, second);
    }

    #[test]
    fn the_header_is_written_exactly_as_digest_auth_writes_it() {
        let challenges = [
            ATLAS.to_owned(),
            r#"Digest realm="MMS \"Public\" API", nonce="n\"o\\nce", algorithm=MD5, qop="auth""#
                .to_owned(),
            r#"Digest realm="r", nonce="n", opaque="o\"paque", qop="auth""#.to_owned(),
            r#"Digest realm="r", nonce="n", algorithm=SHA-256, qop="auth,auth-int""#.to_owned(),
            r#"Digest realm="r", nonce="n", algorithm=MD5-sess, qop="auth""#.to_owned(),
            r#"Digest realm="r", nonce="n", algorithm=SHA-256, userhash=true, qop="auth""#
                .to_owned(),
            r#"Digest realm="legacy", nonce="n""#.to_owned(),
        ];
        for challenge in challenges {
            let mut prompt = parse_prompt(&challenge).unwrap();
            for uri in ["/api/atlas/v1.0/groups/x", "/we\"ird\\uri"] {
                let context = AuthContext::new_with_method(
                    "us\"er",
                    "secret",
                    uri,
                    None::<&[u8]>,
                    HttpMethod::GET,
                );
                let answer = prompt.respond(&context).unwrap();
                assert_eq!(
                    header_string(&answer),
                    answer.to_header_string(),
                    "{challenge}"
                );
            }
        }
    }

    const ATLAS: &str = r#"Digest realm="MMS Public API", domain="", nonce="abc", algorithm=MD5, qop="auth", stale=false"#;

    fn parameter<'a>(header: &'a str, name: &str) -> &'a str {
        let start = header.find(&format!("{name}=")).unwrap() + name.len() + 1;
        let rest = &header[start..];
        if let Some(quoted) = rest.strip_prefix('"') {
            let mut end = 0;
            let bytes = quoted.as_bytes();
            while bytes[end] != b'"' {
                end += if bytes[end] == b'\\' { 2 } else { 1 };
            }
            &quoted[..end]
        } else {
            rest.split(',').next().unwrap()
        }
    }

    #[test]
    fn answers_need_a_challenge_and_count_up() {
        let session = DigestSession::new("abcdefgh".into(), "secret".into());
        assert!(session.answer(HttpMethod::GET, "/x").is_none());
        assert!(!session.learn(ATLAS).unwrap());
        let first = session.answer(HttpMethod::GET, "/x").unwrap();
        let second = session.answer(HttpMethod::GET, "/x").unwrap();
        assert_eq!(parameter(&first, "nc"), "00000001");
        assert_eq!(parameter(&second, "nc"), "00000002");
        assert_eq!(parameter(&first, "username"), "abcdefgh");
        assert!(!first.contains("secret"));
    }

    #[test]
    fn escaped_realm_and_nonce_are_sent_back_whole_and_escaped() {
        let session = DigestSession::new("abcdefgh".into(), "secret".into());
        let challenge =
            r#"Digest realm="MMS \"Public\" API", nonce="n\"o\\nce", algorithm=MD5, qop="auth""#;
        session.learn(challenge).unwrap();
        for _ in 0..3 {
            let answer = session.answer(HttpMethod::GET, "/x").unwrap();
            assert_eq!(parameter(&answer, "realm"), r#"MMS \"Public\" API"#);
            assert_eq!(parameter(&answer, "nonce"), r#"n\"o\\nce"#);
        }
    }

    #[test]
    fn stale_challenge_is_reported() {
        let session = DigestSession::new("abcdefgh".into(), "secret".into());
        assert!(
            session
                .learn(&ATLAS.replace("stale=false", "stale=true"))
                .unwrap()
        );
    }

    #[test]
    fn a_challenge_that_cannot_be_read_is_an_error_and_keeps_the_old_one() {
        let session = DigestSession::new("abcdefgh".into(), "secret".into());
        session.learn(ATLAS).unwrap();
        assert!(session.learn("Digest realm=\"r\"").is_err());
        assert!(session.answer(HttpMethod::GET, "/x").is_some());
    }

    #[test]
    fn debug_hides_the_private_key() {
        let session = DigestSession::new("abcdefgh".into(), "0d6b-secret".into());
        assert!(!format!("{session:?}").contains("0d6b-secret"));
    }
}
