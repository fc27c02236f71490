//! Opaque bearer tokens: 256 random bits, shown to the client once and stored only as a SHA-256
//! hash, so a leaked database cannot be replayed against the API.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use sha2::{Digest, Sha256};

pub const ACCESS_PREFIX: &str = "aca_";
pub const REFRESH_PREFIX: &str = "acr_";
/// A web browser's session cookie; never accepted as a bearer token.
pub const BROWSER_PREFIX: &str = "acw_";

/// A new token and its hash. The prefix tells secret scanners (and people) what leaked.
pub fn generate(prefix: &str) -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes));
    let hash = hash(&token);
    (token, hash)
}

pub fn hash(token: &str) -> String {
    format!("{:x}", Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_and_hashed() {
        let (a, hash_a) = generate(ACCESS_PREFIX);
        let (b, _) = generate(ACCESS_PREFIX);
        assert_ne!(a, b);
        assert!(a.starts_with("aca_"));
        assert_eq!(a.len(), 4 + 43);
        assert_eq!(hash_a, hash(&a));
        assert_eq!(hash_a.len(), 64);
        assert!(!hash_a.contains(&a[4..]));
    }

    #[test]
    fn hash_matches_a_published_sha256_vector() {
        // FIPS 180-2 example: SHA-256("abc").
        assert_eq!(hash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
