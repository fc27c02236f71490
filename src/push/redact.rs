//! Endpoint URLs are capability secrets (anyone holding one can push to the device), so logs
//! carry only the push service's origin and a short fingerprint to correlate lines.

use sha2::{Digest, Sha256};
use url::Url;

/// The first 12 hex digits of the endpoint's SHA-256: stable, short, and not reversible.
pub fn endpoint_fingerprint(endpoint: &Url) -> String {
    let digest = Sha256::digest(endpoint.as_str().as_bytes());
    digest[..6].iter().map(|b| format!("{b:02x}")).collect()
}

/// `scheme://host[:port]`, the part of an endpoint that is safe to log.
pub fn endpoint_origin(endpoint: &Url) -> String {
    endpoint.origin().ascii_serialization()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_see_the_service_but_not_the_device() {
        let url = Url::parse("https://fcm.googleapis.com/fcm/send/device-token").unwrap();
        assert_eq!(endpoint_origin(&url), "https://fcm.googleapis.com");
        let fingerprint = endpoint_fingerprint(&url);
        assert_eq!(fingerprint.len(), 12);
        assert!(!fingerprint.contains("device"));
        let other = Url::parse("https://fcm.googleapis.com/fcm/send/other-token").unwrap();
        assert_ne!(endpoint_fingerprint(&other), fingerprint);
    }
}
