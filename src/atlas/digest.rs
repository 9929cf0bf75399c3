//! The HTTP Digest session for an Atlas programmatic API key (RFC 7616, MD5, `qop=auth`).
//!
//! Atlas lets a client reuse a nonce with an increasing `nc`, so a steady-state read costs one
//! round trip instead of two. The session keeps the last challenge *parsed* (through
//! [`super::challenge::parse_prompt`]) and answers it again for each request; it never re-reads
//! or re-writes the header text, so a realm or nonce with escaped quotes is sent back exactly as
//! RFC 7616's quoting requires. Until a challenge is cached, requests take turns, so that reads
//! started together share one challenge instead of each fetching its own.

use std::fmt;
use std::sync::Mutex;

use std::fmt::Write as _;

use digest_auth::{
    AlgorithmType, AuthContext, AuthorizationHeader, HttpMethod, Qop, WwwAuthenticateHeader,
};
use tokio::sync::{Mutex as AsyncMutex, MutexGuard};

use super::challenge::{ChallengeError, parse_prompt};

/// One API key's digest state.
pub(crate) struct DigestSession {
    /// The public key: the digest user name.
    username: String,
    /// The private key: hashed into each answer, never sent.
    password: String,
    /// The challenge answered by every request, with its `nc` counter.
    prompt: Mutex<Option<WwwAuthenticateHeader>>,
    /// Held by the one request that fetches a challenge while none is cached.
    challenge_turn: AsyncMutex<()>,
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
            challenge_turn: AsyncMutex::new(()),
        }
    }

    fn has_challenge(&self) -> bool {
        self.prompt
            .lock()
            .map(|prompt| prompt.is_some())
            .unwrap_or(false)
    }

    /// While no challenge is cached, waits for the turn to fetch one; `None` once one is cached.
    pub(crate) async fn turn_if_needed(&self) -> Option<MutexGuard<'_, ()>> {
        if self.has_challenge() {
            return None;
        }
        let turn = self.challenge_turn.lock().await;
        if self.has_challenge() {
            None
        } else {
            Some(turn)
        }
    }

    /// The `Authorization` header answering the cached challenge for `GET uri`, or `None` when
    /// no challenge is cached. Each answer takes the next `nc`.
    pub(crate) fn answer(&self, method: HttpMethod<'_>, uri: &str) -> Option<String> {
        let mut prompt = self.prompt.lock().ok()?;
        let prompt = prompt.as_mut()?;
        let context = AuthContext::new_with_method(
            &self.username,
            &self.password,
            uri,
            None::<&[u8]>,
            method,
        );
        prompt
            .respond(&context)
            .ok()
            .map(|answer| header_string(&answer))
    }

    /// Caches the challenge of a 401's `WWW-Authenticate` header; later answers use it.
    /// Returns whether Atlas marked the previous nonce stale.
    pub(crate) fn learn(&self, header: &str) -> Result<bool, ChallengeError> {
        let prompt = parse_prompt(header)?;
        let stale = prompt.stale;
        if let Ok(mut cached) = self.prompt.lock() {
            *cached = Some(prompt);
        }
        Ok(stale)
    }
}

/// The `Authorization` header's text: what digest_auth's `to_header_string` writes (the same
/// parameters, order and quoting), written straight into one buffer. digest_auth builds it
/// through a `format!` per parameter, which cost about 28,000 instructions of every read's
/// 340,000 (callgrind; docs/performance.md, Decisions).
fn header_string(answer: &AuthorizationHeader) -> String {
    fn quoted(header: &mut String, name: &str, value: &str) {
        header.push_str(name);
        header.push_str("=\"");
        for character in value.chars() {
            if matches!(character, '"' | '\\') {
                header.push('\\');
            }
            header.push(character);
        }
        header.push('"');
    }
    let mut header = String::with_capacity(
        200 + answer.username.len()
            + answer.realm.len()
            + answer.nonce.len()
            + answer.uri.len()
            + answer.opaque.as_ref().map_or(0, String::len),
    );
    header.push_str("Digest ");
    quoted(&mut header, "username", &answer.username);
    quoted(&mut header, ", realm", &answer.realm);
    quoted(&mut header, ", nonce", &answer.nonce);
    quoted(&mut header, ", uri", &answer.uri);
    if let (Some(qop), Some(cnonce)) = (&answer.qop, &answer.cnonce) {
        header.push_str(match qop {
            Qop::AUTH => ", qop=auth",
            Qop::AUTH_INT => ", qop=auth-int",
        });
        let _ = write!(header, ", nc={:08x}", answer.nc);
        quoted(&mut header, ", cnonce", cnonce);
    }
    quoted(&mut header, ", response", &answer.response);
    if let Some(opaque) = &answer.opaque {
        quoted(&mut header, ", opaque", opaque);
    }
    if answer.qop.is_some() || answer.algorithm.algo != AlgorithmType::MD5 {
        let _ = write!(header, ", algorithm={}", answer.algorithm);
    }
    if answer.userhash {
        header.push_str(", userhash=true");
    }
    header
}

#[cfg(test)]
mod tests {
    use super::*;

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
