//! The server side of HTTP Digest auth (RFC 7616, MD5, `qop=auth`) as Atlas does it, with
//! quoted-string values escaped and unescaped as RFC 7230 section 3.2.6 says (RFC 7616 section
//! 3.3 uses that grammar): a realm or nonce holding `"` or `\` travels with backslash escapes.

use std::collections::{HashMap, HashSet};
use std::fmt::Write;

use md5::{Digest, Md5};

/// Atlas's realm.
pub const REALM: &str = "MMS Public API";

/// A `WWW-Authenticate` challenge in Atlas's exact form (empty `domain`, unquoted `stale`).
pub struct Challenge {
    pub nonce: String,
    pub stale: bool,
}

impl Challenge {
    /// The header with Atlas's realm.
    pub fn header(&self) -> String {
        self.header_with_realm(REALM)
    }

    /// The header with another realm; realm and nonce are written as quoted strings.
    pub fn header_with_realm(&self, realm: &str) -> String {
        format!(
            "Digest realm={}, domain=\"\", nonce={}, algorithm=MD5, qop=\"auth\", stale={}",
            quoted(realm),
            quoted(&self.nonce),
            self.stale
        )
    }
}

/// `text` as an RFC 7230 quoted-string: `"` and `\` escaped with a backslash.
pub fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for character in text.chars() {
        if character == '"' || character == '\\' {
            out.push('\\');
        }
        out.push(character);
    }
    out.push('"');
    out
}

/// The nonces handed out, with the `nc` values already used with each (a replayed `nc` is
/// refused; requests sent in parallel may arrive out of order, so a lower unused one is not).
#[derive(Default)]
pub struct NonceBook {
    live: HashMap<String, HashSet<u32>>,
    issued: usize,
    /// Hand out nonces that hold `"` and `\`, which a client must unescape and re-escape.
    with_escapes: bool,
}

impl NonceBook {
    pub fn issue(&mut self) -> String {
        self.issued += 1;
        let seed = format!(
            "{}-{:?}-{}",
            self.issued,
            std::time::SystemTime::now(),
            std::process::id()
        );
        let digest = hex(&Md5::digest(seed.as_bytes()));
        let nonce = if self.with_escapes {
            // A quote and a backslash in the middle: a client that stops at the first escaped
            // quote sends back only the part before it.
            format!("{}\"q\\{}", &digest[..12], &digest[12..])
        } else {
            digest
        };
        self.live.insert(nonce.clone(), HashSet::new());
        nonce
    }

    pub fn forget_all(&mut self) {
        self.live.clear();
    }

    pub fn issued(&self) -> usize {
        self.issued
    }

    pub fn set_with_escapes(&mut self, with_escapes: bool) {
        self.with_escapes = with_escapes;
    }
}

/// What to do with a request.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// No or unusable credentials: challenge (with `stale=true` for a forgotten nonce).
    Challenge {
        stale: bool,
    },
    /// An answer that does not verify: wrong key, replayed `nc`, wrong URI, a cut nonce.
    Rejected,
    Accepted,
}

/// Verifies an `Authorization` header against the key pairs and the realm.
pub fn check(
    authorization: Option<&str>,
    method: &str,
    uri: &str,
    realm: &str,
    keys: &HashMap<String, String>,
    nonces: &mut NonceBook,
) -> Verdict {
    let Some(fields) = authorization.and_then(parse_authorization) else {
        return Verdict::Challenge { stale: false };
    };
    let field = |name: &str| fields.get(name).map(String::as_str).unwrap_or("");
    let nonce = field("nonce");
    let Some(used) = nonces.live.get(nonce) else {
        // A nonce we never issued but that starts one we did was cut short by the client's
        // parser: that is a wrong answer, not an expired nonce.
        let cut = !nonce.is_empty() && nonces.live.keys().any(|live| live.starts_with(nonce));
        return if cut {
            Verdict::Rejected
        } else {
            Verdict::Challenge { stale: true }
        };
    };
    let Ok(nc) = u32::from_str_radix(field("nc"), 16) else {
        return Verdict::Rejected;
    };
    let Some(password) = keys.get(field("username")) else {
        return Verdict::Rejected;
    };
    if field("realm") != realm
        || field("qop") != "auth"
        || field("uri") != uri
        || nc == 0
        || used.contains(&nc)
        || field("cnonce").is_empty()
        || !matches!(field("algorithm"), "" | "MD5")
    {
        return Verdict::Rejected;
    }
    let ha1 = hex(&Md5::digest(
        format!("{}:{realm}:{password}", field("username")).as_bytes(),
    ));
    let ha2 = hex(&Md5::digest(format!("{method}:{uri}").as_bytes()));
    let expected = hex(&Md5::digest(
        format!(
            "{ha1}:{nonce}:{}:{}:auth:{ha2}",
            field("nc"),
            field("cnonce")
        )
        .as_bytes(),
    ));
    if expected != field("response") {
        return Verdict::Rejected;
    }
    if let Some(used) = nonces.live.get_mut(nonce) {
        used.insert(nc);
    }
    Verdict::Accepted
}

/// `Digest a="b\"c", d=e` into a map of unescaped values; `None` if it is not a digest header.
fn parse_authorization(header: &str) -> Option<HashMap<String, String>> {
    let rest = header.trim().strip_prefix("Digest ")?;
    let mut fields = HashMap::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.next_if(|c| *c == ',' || c.is_whitespace()).is_some() {}
        let name: String = std::iter::from_fn(|| chars.next_if(|c| *c != '=')).collect();
        if name.is_empty() || chars.next() != Some('=') {
            break;
        }
        let value = if chars.next_if_eq(&'"').is_some() {
            let mut value = String::new();
            while let Some(character) = chars.next() {
                match character {
                    '"' => break,
                    '\\' => value.extend(chars.next()),
                    other => value.push(other),
                }
            }
            value
        } else {
            std::iter::from_fn(|| chars.next_if(|c| *c != ','))
                .collect::<String>()
                .trim()
                .to_owned()
        };
        fields.insert(name.trim().to_ascii_lowercase(), value);
    }
    Some(fields)
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut text, byte| {
            let _ = write!(text, "{byte:02x}");
            text
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 2617 section 3.5's worked example, with its realm swapped for Atlas's by recomputing.
    #[test]
    fn rfc_2617_example_response_verifies() {
        let ha1 = hex(&Md5::digest(b"Mufasa:testrealm@host.com:Circle Of Life"));
        let ha2 = hex(&Md5::digest(b"GET:/dir/index.html"));
        let response = hex(&Md5::digest(
            format!("{ha1}:dcd98b7102dd2f0e8b11d0f600bfb0c093:00000001:0a4f113b:auth:{ha2}")
                .as_bytes(),
        ));
        assert_eq!(response, "6629fae49393a05397450978507c4ef1");
    }

    #[test]
    fn authorization_header_parses_quoted_and_bare_values() {
        let fields = parse_authorization(
            "Digest username=\"abc\", realm=\"MMS Public API\", nc=00000001, qop=auth, uri=\"/a?b=c,d\"",
        )
        .unwrap();
        assert_eq!(fields["username"], "abc");
        assert_eq!(fields["nc"], "00000001");
        assert_eq!(fields["qop"], "auth");
        assert_eq!(fields["uri"], "/a?b=c,d");
    }

    #[test]
    fn quoted_values_round_trip_through_escapes() {
        let nasty = "MMS \"Public\" API \\ x";
        let header = format!("Digest realm={}, nonce={}", quoted(nasty), quoted("a\"b"));
        let fields = parse_authorization(&header).unwrap();
        assert_eq!(fields["realm"], nasty);
        assert_eq!(fields["nonce"], "a\"b");
        assert_eq!(quoted("a\"b\\c"), "\"a\\\"b\\\\c\"");
    }

    #[test]
    fn a_nonce_cut_at_its_escaped_quote_is_rejected_not_called_stale() {
        let mut nonces = NonceBook::default();
        nonces.set_with_escapes(true);
        let nonce = nonces.issue();
        let cut = &nonce[..nonce.find('"').unwrap()];
        let header = format!(
            "Digest username=\"u\", realm=\"r\", nonce=\"{cut}\", uri=\"/\", nc=00000001, cnonce=\"c\", qop=auth, response=\"x\""
        );
        let keys = HashMap::from([("u".to_owned(), "p".to_owned())]);
        assert_eq!(
            check(Some(&header), "GET", "/", "r", &keys, &mut nonces),
            Verdict::Rejected
        );
    }
}
