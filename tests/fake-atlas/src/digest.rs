//! The server side of HTTP Digest auth (RFC 7616, MD5, `qop=auth`) as Atlas does it.

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
    pub fn header(&self) -> String {
        format!(
            "Digest realm=\"{REALM}\", domain=\"\", nonce=\"{}\", algorithm=MD5, qop=\"auth\", stale={}",
            self.nonce, self.stale
        )
    }
}

/// The nonces handed out, with the `nc` values already used with each (a replayed `nc` is
/// refused; requests sent in parallel may arrive out of order, so a lower unused one is not).
#[derive(Default)]
pub struct NonceBook {
    live: HashMap<String, HashSet<u32>>,
    issued: usize,
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
        let nonce = hex(&Md5::digest(seed.as_bytes()));
        self.live.insert(nonce.clone(), HashSet::new());
        nonce
    }

    pub fn forget_all(&mut self) {
        self.live.clear();
    }

    pub fn issued(&self) -> usize {
        self.issued
    }
}

/// What to do with a request.
pub enum Verdict {
    /// No or unusable credentials: challenge (with `stale=true` for a forgotten nonce).
    Challenge {
        stale: bool,
    },
    /// An answer that does not verify: wrong key, replayed `nc`, wrong URI.
    Rejected,
    Accepted,
}

/// Verifies an `Authorization` header against the key pairs.
pub fn check(
    authorization: Option<&str>,
    method: &str,
    uri: &str,
    keys: &HashMap<String, String>,
    nonces: &mut NonceBook,
) -> Verdict {
    let Some(fields) = authorization.and_then(parse_authorization) else {
        return Verdict::Challenge { stale: false };
    };
    let field = |name: &str| fields.get(name).map(String::as_str).unwrap_or("");
    let Some(used) = nonces.live.get(field("nonce")) else {
        return Verdict::Challenge { stale: true };
    };
    let Ok(nc) = u32::from_str_radix(field("nc"), 16) else {
        return Verdict::Rejected;
    };
    let Some(password) = keys.get(field("username")) else {
        return Verdict::Rejected;
    };
    if field("realm") != REALM
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
        format!("{}:{REALM}:{password}", field("username")).as_bytes(),
    ));
    let ha2 = hex(&Md5::digest(format!("{method}:{uri}").as_bytes()));
    let expected = hex(&Md5::digest(
        format!(
            "{ha1}:{}:{}:{}:auth:{ha2}",
            field("nonce"),
            field("nc"),
            field("cnonce")
        )
        .as_bytes(),
    ));
    if expected != field("response") {
        return Verdict::Rejected;
    }
    if let Some(used) = nonces.live.get_mut(field("nonce")) {
        used.insert(nc);
    }
    Verdict::Accepted
}

/// `Digest a="b", c=d` into a map; `None` if it is not a digest header.
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
        let value: String = if chars.next_if_eq(&'"').is_some() {
            let value = std::iter::from_fn(|| chars.next_if(|c| *c != '"')).collect();
            chars.next();
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
}
