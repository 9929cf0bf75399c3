//! The `WWW-Authenticate` digest challenge: any text is a challenge or an error. On what an
//! HTTP header value can carry (visible ASCII and tab), `parse_challenge` gives the same verdict
//! as `digest_auth::parse`, and it is the function the provider's digest session runs on every
//! 401 from Atlas (`parse_prompt`), so this fuzzes production code.

#![no_main]

use libfuzzer_sys::fuzz_target;
use terraform_provider_atlas::atlas::challenge::{ChallengeError, parse_challenge};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let ours = parse_challenge(text);
    let _ = ours.as_ref().map_err(ToString::to_string);
    let is_header_value = text
        .bytes()
        .all(|byte| byte == b'\t' || (b' '..=b'~').contains(&byte));
    if is_header_value {
        let theirs = digest_auth::parse(text);
        assert_eq!(ours.is_ok(), theirs.is_ok(), "{ours:?} vs {theirs:?}");
        if let (Ok(ours), Ok(theirs)) = (&ours, &theirs) {
            assert_eq!(ours.nonce, theirs.nonce);
            assert_eq!(ours.stale, theirs.stale);
        }
    } else {
        assert!(
            matches!(ours, Err(ChallengeError::NotVisibleAscii { .. })),
            "{ours:?}"
        );
    }
});
