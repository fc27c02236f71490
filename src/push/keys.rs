//! The client's half of a subscription: the `p256dh` public key and the `auth` secret from
//! `PushSubscription.getKey()`, checked once so that encryption can never fail on them later.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::PublicKey;
use url::Url;

use super::endpoint::{EndpointPolicy, EndpointProblem, check_endpoint};

const P256DH_BYTES: usize = 65;
const AUTH_BYTES: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyProblem {
    #[error("keys.p256dh is not base64url")]
    P256dhEncoding,
    #[error("keys.p256dh must be an uncompressed P-256 point of {P256DH_BYTES} bytes, got {0}")]
    P256dhLength(usize),
    #[error("keys.p256dh is not an uncompressed P-256 point")]
    P256dhNotUncompressed,
    #[error("keys.p256dh is not a point on the P-256 curve")]
    P256dhNotOnCurve,
    #[error("keys.auth is not base64url")]
    AuthEncoding,
    #[error("keys.auth must be {AUTH_BYTES} bytes, got {0}")]
    AuthLength(usize),
}

impl KeyProblem {
    /// The request field at fault, as a subscription body names it.
    pub fn field(&self) -> &'static str {
        match self {
            Self::AuthEncoding | Self::AuthLength(_) => "keys.auth",
            _ => "keys.p256dh",
        }
    }
}

/// Validated subscription keys. `Debug` does not show them: they are secrets of the device.
#[derive(Clone, PartialEq, Eq)]
pub struct SubscriptionKeys {
    p256dh: [u8; P256DH_BYTES],
    auth: [u8; AUTH_BYTES],
}

impl SubscriptionKeys {
    /// Accepts base64url with or without `=` padding, as browsers and libraries vary.
    pub fn parse(p256dh: &str, auth: &str) -> Result<Self, KeyProblem> {
        let point = decode_base64url(p256dh).ok_or(KeyProblem::P256dhEncoding)?;
        if point.len() != P256DH_BYTES {
            return Err(KeyProblem::P256dhLength(point.len()));
        }
        if point[0] != 0x04 {
            return Err(KeyProblem::P256dhNotUncompressed);
        }
        PublicKey::from_sec1_bytes(&point).map_err(|_| KeyProblem::P256dhNotOnCurve)?;
        let secret = decode_base64url(auth).ok_or(KeyProblem::AuthEncoding)?;
        if secret.len() != AUTH_BYTES {
            return Err(KeyProblem::AuthLength(secret.len()));
        }
        Ok(Self { p256dh: point.try_into().expect("length checked"), auth: secret.try_into().expect("length checked") })
    }

    pub fn p256dh(&self) -> &[u8; P256DH_BYTES] {
        &self.p256dh
    }

    pub fn auth(&self) -> &[u8; AUTH_BYTES] {
        &self.auth
    }

    /// Canonical (unpadded) base64url, for storage.
    pub fn p256dh_base64url(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.p256dh)
    }

    pub fn auth_base64url(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.auth)
    }
}

impl fmt::Debug for SubscriptionKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SubscriptionKeys(..)")
    }
}

fn decode_base64url(raw: &str) -> Option<Vec<u8>> {
    let trimmed = raw.trim();
    let unpadded = trimmed.trim_end_matches('=');
    // At most two padding characters, and only when they complete a 4-character group.
    let padding = trimmed.len() - unpadded.len();
    if padding > 2 || (padding > 0 && !trimmed.len().is_multiple_of(4)) {
        return None;
    }
    URL_SAFE_NO_PAD.decode(unpadded).ok()
}

/// Where a subscription was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubscriptionProblem {
    #[error(transparent)]
    Endpoint(#[from] EndpointProblem),
    #[error(transparent)]
    Keys(#[from] KeyProblem),
}

impl SubscriptionProblem {
    /// The problem's code in a 422: what no request schema can check (whether the host is a
    /// known push service, whether a key is a point on the curve) has a code of its own.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Endpoint(EndpointProblem::HostNotAllowed | EndpointProblem::PrivateAddress) => "unknown_push_service",
            Self::Keys(KeyProblem::P256dhNotUncompressed | KeyProblem::P256dhNotOnCurve) => "not_a_p256_point",
            _ => "invalid",
        }
    }

    /// The request field at fault: `endpoint`, `keys.p256dh` or `keys.auth`.
    pub fn field(&self) -> &'static str {
        match self {
            Self::Endpoint(_) => "endpoint",
            Self::Keys(problem) => problem.field(),
        }
    }
}

/// Everything needed to send to one browser or app installation.
#[derive(Clone, PartialEq, Eq)]
pub struct Subscription {
    endpoint: Url,
    keys: SubscriptionKeys,
}

impl Subscription {
    pub fn parse(
        endpoint: &str,
        p256dh: &str,
        auth: &str,
        policy: &EndpointPolicy,
    ) -> Result<Self, SubscriptionProblem> {
        let endpoint = check_endpoint(endpoint, policy)?;
        let keys = SubscriptionKeys::parse(p256dh, auth)?;
        Ok(Self { endpoint, keys })
    }

    pub fn endpoint(&self) -> &Url {
        &self.endpoint
    }

    pub fn keys(&self) -> &SubscriptionKeys {
        &self.keys
    }
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("origin", &self.endpoint.origin().ascii_serialization())
            .field("endpoint", &super::redact::endpoint_fingerprint(&self.endpoint))
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // From RFC 8291 §5.
    const UA_PUBLIC: &str = "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
    const AUTH: &str = "BTBZMqHH6r4Tts7J_aSIgg";

    #[test]
    fn browser_keys_parse_padded_or_not() {
        let keys = SubscriptionKeys::parse(UA_PUBLIC, AUTH).unwrap();
        assert_eq!(keys.p256dh_base64url(), UA_PUBLIC);
        assert_eq!(keys.auth_base64url(), AUTH);
        assert_eq!(keys.auth().len(), 16);
        let padded = SubscriptionKeys::parse(&format!("{UA_PUBLIC}="), &format!("{AUTH}==")).unwrap();
        assert_eq!(padded, keys);
    }

    #[test]
    fn bad_keys_are_refused_with_the_reason() {
        let parse = SubscriptionKeys::parse;
        assert_eq!(parse("not base64!", AUTH), Err(KeyProblem::P256dhEncoding));
        assert_eq!(parse(&UA_PUBLIC.replace('_', "/"), AUTH), Err(KeyProblem::P256dhEncoding));
        assert_eq!(parse(&format!("{UA_PUBLIC}==="), AUTH), Err(KeyProblem::P256dhEncoding));
        assert_eq!(parse(&UA_PUBLIC[..40], AUTH), Err(KeyProblem::P256dhLength(30)));
        // A valid point in another SEC1 form; push requires the uncompressed one.
        let mut compressed = URL_SAFE_NO_PAD.decode(UA_PUBLIC).unwrap();
        compressed[0] = 0x02;
        assert_eq!(parse(&URL_SAFE_NO_PAD.encode(compressed), AUTH), Err(KeyProblem::P256dhNotUncompressed));
        let mut off_curve = URL_SAFE_NO_PAD.decode(UA_PUBLIC).unwrap();
        off_curve[64] ^= 1;
        assert_eq!(parse(&URL_SAFE_NO_PAD.encode(off_curve), AUTH), Err(KeyProblem::P256dhNotOnCurve));
        assert_eq!(parse(UA_PUBLIC, "*"), Err(KeyProblem::AuthEncoding));
        assert_eq!(parse(UA_PUBLIC, "BTBZMqHH6r4Tts7J_aSI"), Err(KeyProblem::AuthLength(15)));
        assert_eq!(parse(UA_PUBLIC, "").unwrap_err().field(), "keys.auth");
    }

    #[test]
    fn a_subscription_checks_its_endpoint_and_hides_its_secrets() {
        let policy = EndpointPolicy::default();
        let endpoint = "https://fcm.googleapis.com/fcm/send/secret-registration-token";
        let subscription = Subscription::parse(endpoint, UA_PUBLIC, AUTH, &policy).unwrap();
        assert_eq!(subscription.endpoint().as_str(), endpoint);
        let shown = format!("{subscription:?}");
        assert!(!shown.contains("secret-registration-token") && !shown.contains(AUTH), "{shown}");
        assert!(shown.contains("https://fcm.googleapis.com"), "{shown}");
        let err = Subscription::parse("http://fcm.googleapis.com/x", UA_PUBLIC, AUTH, &policy).unwrap_err();
        assert_eq!(err.field(), "endpoint");
        let err = Subscription::parse(endpoint, "AAAA", AUTH, &policy).unwrap_err();
        assert_eq!(err.field(), "keys.p256dh");
    }
}
