//! VAPID (RFC 8292) application server keys: a P-256 key pair. The public key, uncompressed and
//! base64url-encoded, is the `applicationServerKey` that clients pass to `pushManager.subscribe`;
//! the private key signs the short-lived ES256 tokens that push services check on every request.

use std::collections::HashMap;
use std::fmt;
use std::io::Write as _;
use std::path::Path;
use std::sync::Mutex;

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, TimeDelta, Utc};
use p256::SecretKey;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use p256::elliptic_curve::sec1::ToEncodedPoint as _;
use reqwest::header::HeaderValue;
use url::Url;

pub struct VapidKeys {
    secret: SecretKey,
}

impl VapidKeys {
    pub fn generate() -> Self {
        Self { secret: SecretKey::random(&mut rand::rngs::OsRng) }
    }

    /// Reads the raw 32-byte private scalar, base64url-encoded.
    pub fn from_base64url(private_key: &str) -> anyhow::Result<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(private_key.trim().trim_end_matches('='))?;
        Ok(Self { secret: SecretKey::from_slice(&bytes).map_err(|_| anyhow::anyhow!("not a P-256 private key"))? })
    }

    /// Reads a key in any form operators have one in: base64url (as `vapid-keygen` prints it),
    /// PKCS#8 PEM (`BEGIN PRIVATE KEY`, what most tools and web-push libraries write) or SEC1
    /// PEM (`BEGIN EC PRIVATE KEY`, what `openssl ecparam -genkey` writes, possibly after an
    /// `EC PARAMETERS` block). PEM passed through an environment variable often has its line
    /// breaks written as `\n`; those are accepted too.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let text = text.trim();
        if !text.starts_with("-----BEGIN ") {
            return Self::from_base64url(text);
        }
        let text = text.replace("\\r\\n", "\n").replace("\\n", "\n").replace("\r\n", "\n");
        let secret = if let Some(block) = pem_block(&text, "PRIVATE KEY") {
            use p256::pkcs8::DecodePrivateKey as _;
            SecretKey::from_pkcs8_pem(block)
                .map_err(|_| anyhow::anyhow!("the PKCS#8 PEM is not a P-256 private key"))?
        } else if let Some(block) = pem_block(&text, "EC PRIVATE KEY") {
            SecretKey::from_sec1_pem(block).map_err(|_| anyhow::anyhow!("the SEC1 PEM is not a P-256 private key"))?
        } else if pem_block(&text, "ENCRYPTED PRIVATE KEY").is_some() {
            anyhow::bail!("the PEM key is encrypted; give it unencrypted (as a secret of the environment)");
        } else {
            anyhow::bail!("the PEM holds no PRIVATE KEY or EC PRIVATE KEY block");
        };
        Ok(Self { secret })
    }

    /// Reads the key kept at `path` (as written by this function or printed by `vapid-keygen`),
    /// or creates one there, readable by the owner only. Several instances starting at once on
    /// the same directory all end up with the same key: the file appears atomically and is never
    /// overwritten.
    pub fn load_or_create(path: &Path) -> anyhow::Result<Self> {
        match std::fs::read_to_string(path) {
            Ok(text) => return Self::read_key_file(path, &text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("reading the VAPID key {}", path.display())),
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let keys = Self::generate();
        let scratch = path.with_extension(format!("tmp-{}", uuid::Uuid::new_v4().simple()));
        let written =
            write_private(&scratch, &keys.private_key_base64url()).and_then(|()| std::fs::hard_link(&scratch, path));
        let _ = std::fs::remove_file(&scratch);
        match written {
            Ok(()) => {
                tracing::info!(path = %path.display(), "created a VAPID key pair for Web Push");
                Ok(keys)
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading the VAPID key {}", path.display()))?;
                Self::read_key_file(path, &text)
            }
            Err(e) => Err(e).with_context(|| format!("writing the VAPID key {}", path.display())),
        }
    }

    /// Reads the key kept at `path` if there is one, without creating it.
    pub fn load_existing(path: &Path) -> anyhow::Result<Option<Self>> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::read_key_file(path, &text).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("reading the VAPID key {}", path.display())),
        }
    }

    fn read_key_file(path: &Path, text: &str) -> anyhow::Result<Self> {
        warn_if_readable_by_others(path);
        Self::parse(text).with_context(|| format!("the VAPID key in {} is not valid", path.display()))
    }

    pub fn private_key_base64url(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.secret.to_bytes())
    }

    /// 65 bytes: 0x04, then X and Y.
    pub fn public_key_bytes(&self) -> Vec<u8> {
        self.secret.public_key().to_encoded_point(false).as_bytes().to_vec()
    }

    pub fn public_key_base64url(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.public_key_bytes())
    }

    /// A compact JWS (ES256) over `claims`.
    fn sign_jwt(&self, claims: &serde_json::Value) -> String {
        let header = URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT","alg":"ES256"}"#);
        let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
        let signing_input = format!("{header}.{claims}");
        let signature: Signature = SigningKey::from(&self.secret).sign(signing_input.as_bytes());
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
    }
}

impl fmt::Debug for VapidKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VapidKeys").field("public_key", &self.public_key_base64url()).finish_non_exhaustive()
    }
}

/// The `-----BEGIN {label}-----` … `-----END {label}-----` block of `text`, ends included.
fn pem_block<'a>(text: &'a str, label: &str) -> Option<&'a str> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text.find(&begin)?;
    let stop = text[start..].find(&end)? + start + end.len();
    Some(&text[start..stop])
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()
}

fn warn_if_readable_by_others(path: &Path) {
    #[cfg(unix)]
    if let Ok(meta) = std::fs::metadata(path) {
        use std::os::unix::fs::PermissionsExt as _;
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!(path = %path.display(), "the VAPID private key file is readable by other users; chmod 600 it");
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// The `sub` claim: a contact for the push service's operators. Apple refuses tokens without a
/// real one, so only `mailto:` with an address or an `https:` URL pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VapidSubject(String);

impl VapidSubject {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        let url = Url::parse(raw).map_err(|_| "must be a mailto: or https: URL".to_owned())?;
        match url.scheme() {
            "mailto" => {
                let address = url.path();
                let domain = address.rsplit_once('@').map(|(local, domain)| (local, domain.to_ascii_lowercase()));
                match domain {
                    Some((local, domain))
                        if !local.is_empty()
                            && domain.contains('.')
                            && !domain.ends_with(".invalid")
                            && !domain.ends_with(".localhost") =>
                    {
                        Ok(Self(raw.to_owned()))
                    }
                    _ => Err("must be mailto: followed by a real e-mail address".to_owned()),
                }
            }
            "https" if url.host_str().is_some_and(|h| h.contains('.')) => Ok(Self(raw.to_owned())),
            _ => Err("must be a mailto: or https: URL".to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How long a token is valid; RFC 8292 allows at most 24 hours.
pub const TOKEN_LIFETIME: TimeDelta = TimeDelta::hours(12);
/// A cached token is replaced this long before it expires, so that none arrives stale at a push
/// service whose clock runs a little ahead.
pub const RENEW_BEFORE_EXPIRY: TimeDelta = TimeDelta::hours(1);
const MAX_AHEAD: TimeDelta = TimeDelta::hours(24);

/// The `aud` claim: the endpoint's origin, with its port when it is not the scheme's default.
pub fn audience(endpoint: &Url) -> String {
    endpoint.origin().ascii_serialization()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VapidToken {
    pub jwt: String,
    pub expires_at: DateTime<Utc>,
}

/// Signs VAPID tokens and keeps one per push service origin, with its `Authorization` header
/// value: signing is cheap, but reusing a token lets a push service skip verifying it again, and
/// a send then only copies the header.
pub struct VapidSigner {
    keys: VapidKeys,
    public_key: String,
    subject: VapidSubject,
    tokens: Mutex<HashMap<String, Cached>>,
}

struct Cached {
    token: VapidToken,
    header: HeaderValue,
}

impl VapidSigner {
    pub fn new(keys: VapidKeys, subject: VapidSubject) -> Self {
        let public_key = keys.public_key_base64url();
        Self { keys, public_key, subject, tokens: Mutex::new(HashMap::new()) }
    }

    /// The `applicationServerKey` clients subscribe with.
    pub fn public_key_base64url(&self) -> &str {
        &self.public_key
    }

    pub fn subject(&self) -> &VapidSubject {
        &self.subject
    }

    /// The token for `endpoint`'s origin at `now`: the cached one while it has more than
    /// [`RENEW_BEFORE_EXPIRY`] left, otherwise a new one.
    pub fn token(&self, endpoint: &Url, now: DateTime<Utc>) -> VapidToken {
        self.with_cached(endpoint, now, |cached| cached.token.clone())
    }

    /// The `Authorization` header value for a request to `endpoint` (marked sensitive).
    pub fn authorization_header(&self, endpoint: &Url, now: DateTime<Utc>) -> HeaderValue {
        self.with_cached(endpoint, now, |cached| cached.header.clone())
    }

    fn with_cached<T>(&self, endpoint: &Url, now: DateTime<Utc>, read: impl FnOnce(&Cached) -> T) -> T {
        let aud = audience(endpoint);
        let mut tokens = self.tokens.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(cached) = tokens.get(&aud)
            && now + RENEW_BEFORE_EXPIRY < cached.token.expires_at
            && cached.token.expires_at <= now + MAX_AHEAD
        {
            return read(cached);
        }
        let expires_at = DateTime::from_timestamp(now.timestamp(), 0).expect("a valid instant") + TOKEN_LIFETIME;
        let jwt = self.keys.sign_jwt(&serde_json::json!({
            "aud": aud,
            "exp": expires_at.timestamp(),
            "sub": self.subject.as_str(),
        }));
        // Base64url and the separators only.
        let mut header =
            HeaderValue::try_from(format!("vapid t={jwt}, k={}", self.public_key)).expect("a valid header value");
        header.set_sensitive(true);
        let cached = Cached { token: VapidToken { jwt, expires_at }, header };
        let value = read(&cached);
        // Origins are few (one per push service), but loopback test receivers come and go.
        tokens.retain(|_, t| now + RENEW_BEFORE_EXPIRY < t.token.expires_at);
        tokens.insert(aud, cached);
        value
    }
}

impl fmt::Debug for VapidSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VapidSigner")
            .field("public_key", &self.public_key)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use p256::ecdsa::VerifyingKey;
    use p256::ecdsa::signature::Verifier as _;

    use super::*;

    #[test]
    fn generated_keys_round_trip() {
        let keys = VapidKeys::generate();
        let public = keys.public_key_bytes();
        assert_eq!(public.len(), 65);
        assert_eq!(public[0], 0x04, "uncompressed point");
        let again = VapidKeys::from_base64url(&keys.private_key_base64url()).unwrap();
        assert_eq!(again.public_key_base64url(), keys.public_key_base64url());
        assert!(VapidKeys::from_base64url("AAAA").is_err());
        assert!(!format!("{keys:?}").contains(&keys.private_key_base64url()));
    }

    // One key pair made with `openssl ecparam -name prime256v1 -genkey -noout` (SEC1), converted
    // with `openssl pkcs8 -topk8 -nocrypt` (PKCS#8); the raw scalar and public point from
    // `openssl ec -text`.
    const OPENSSL_SEC1: &str = "-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIMl/PQfadOnx1L6wrPm5h5Vh4PqHJe5bmJiSQIlzZnX/oAoGCCqGSM49
AwEHoUQDQgAEl7Afioeon3xlXSIeVejeBdmVSNS7xFG9YcMfVBoQEgk83drTb7Rd
vAvdcEc14vpLgYZfpIKiVs6IZkNdOGtLNw==
-----END EC PRIVATE KEY-----
";
    const OPENSSL_PKCS8: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgyX89B9p06fHUvrCs
+bmHlWHg+ocl7luYmJJAiXNmdf+hRANCAASXsB+Kh6iffGVdIh5V6N4F2ZVI1LvE
Ub1hwx9UGhASCTzd2tNvtF28C91wRzXi+kuBhl+kgqJWzohmQ104a0s3
-----END PRIVATE KEY-----
";
    const OPENSSL_RAW: &str = "yX89B9p06fHUvrCs-bmHlWHg-ocl7luYmJJAiXNmdf8";
    const OPENSSL_PUBLIC: &str =
        "BJewH4qHqJ98ZV0iHlXo3gXZlUjUu8RRvWHDH1QaEBIJPN3a02-0XbwL3XBHNeL6S4GGX6SColbOiGZDXThrSzc";

    #[test]
    fn a_pkcs8_pem_key_reads_as_the_same_key() {
        let keys = VapidKeys::parse(OPENSSL_PKCS8).unwrap();
        assert_eq!(keys.public_key_base64url(), OPENSSL_PUBLIC);
        assert_eq!(keys.private_key_base64url(), OPENSSL_RAW);
        // As an environment variable may carry it: on one line with \n escapes, or with CRLF.
        let escaped = OPENSSL_PKCS8.trim().replace('\n', "\\n");
        assert!(!escaped.contains('\n'));
        assert_eq!(VapidKeys::parse(&escaped).unwrap().public_key_base64url(), OPENSSL_PUBLIC);
        let crlf = OPENSSL_PKCS8.replace('\n', "\r\n");
        assert_eq!(VapidKeys::parse(&crlf).unwrap().public_key_base64url(), OPENSSL_PUBLIC);
    }

    #[test]
    fn a_sec1_pem_key_reads_as_the_same_key() {
        let keys = VapidKeys::parse(OPENSSL_SEC1).unwrap();
        assert_eq!(keys.public_key_base64url(), OPENSSL_PUBLIC);
        // `openssl ecparam -genkey` without -noout writes the curve first.
        let with_parameters =
            format!("-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n{OPENSSL_SEC1}");
        assert_eq!(VapidKeys::parse(&with_parameters).unwrap().public_key_base64url(), OPENSSL_PUBLIC);
        assert_eq!(VapidKeys::parse(OPENSSL_RAW).unwrap().public_key_base64url(), OPENSSL_PUBLIC, "and raw");
    }

    #[test]
    fn a_bad_pem_key_says_what_is_wrong() {
        let problem = |text: &str| format!("{:#}", VapidKeys::parse(text).unwrap_err());
        let damaged = OPENSSL_PKCS8.replace("MIGHAgEA", "MIGHAgEF");
        assert!(problem(&damaged).contains("PKCS#8"), "{}", problem(&damaged));
        let truncated = OPENSSL_SEC1.replace("vAvdcEc14vpLgYZfpIKiVs6IZkNdOGtLNw==\n", "");
        assert!(problem(&truncated).contains("SEC1"), "{}", problem(&truncated));
        let public = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----";
        assert!(problem(public).contains("no PRIVATE KEY"), "{}", problem(public));
        let encrypted = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIHs\n-----END ENCRYPTED PRIVATE KEY-----";
        assert!(problem(encrypted).contains("encrypted"), "{}", problem(encrypted));
        // A P-384 key is a valid PEM of the wrong curve.
        let p384 = "-----BEGIN EC PRIVATE KEY-----
MIGkAgEBBDDlOuLmQI+NIFh46YWu2DGQUoBjJL0m2YzgpBlCNQ4YIz3vVSV9wXw/
WUvngPYBQ9GgBwYFK4EEACKhZANiAATnJu0xsDwnGNIxNxGLpn2FCeRUBbR9BWH1
2IMgQGE8jYZVKPmL3rWuO+/Ta597OCIADrd8r6iefU9VcxQLn2LkTHO4RMVTUfAm
PIzNlUXLw18G3PZoUQKMzg+F6NIwZ1g=
-----END EC PRIVATE KEY-----";
        assert!(VapidKeys::parse(p384).is_err());
    }

    #[test]
    fn a_key_file_may_hold_a_pem_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vapid_private_key");
        write_private(&path, OPENSSL_SEC1).unwrap();
        assert_eq!(VapidKeys::load_or_create(&path).unwrap().public_key_base64url(), OPENSSL_PUBLIC);
    }

    fn signer() -> VapidSigner {
        VapidSigner::new(VapidKeys::generate(), VapidSubject::parse("mailto:ops@aftercare.example").unwrap())
    }

    fn decode_part(part: &str) -> serde_json::Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    #[test]
    fn tokens_are_es256_jwts_for_the_endpoint_origin() {
        let signer = signer();
        let now = DateTime::parse_from_rfc3339("2026-03-01T10:00:00.750Z").unwrap().to_utc();
        let endpoint = Url::parse("http://127.0.0.1:38211/push/abc").unwrap();
        let token = signer.token(&endpoint, now);
        let parts: Vec<&str> = token.jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(decode_part(parts[0]), serde_json::json!({"typ": "JWT", "alg": "ES256"}));
        let claims = decode_part(parts[1]);
        assert_eq!(claims["aud"], "http://127.0.0.1:38211");
        assert_eq!(claims["sub"], "mailto:ops@aftercare.example");
        assert_eq!(claims["exp"], (now + TimeDelta::hours(12)).timestamp());
        let public =
            VerifyingKey::from_sec1_bytes(&URL_SAFE_NO_PAD.decode(signer.public_key_base64url()).unwrap()).unwrap();
        let signature = Signature::from_slice(&URL_SAFE_NO_PAD.decode(parts[2]).unwrap()).unwrap();
        public.verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature).unwrap();

        let header = signer.authorization_header(&endpoint, now);
        assert!(header.is_sensitive());
        assert_eq!(header.to_str().unwrap(), format!("vapid t={}, k={}", token.jwt, signer.public_key_base64url()));
    }

    #[test]
    fn the_audience_keeps_only_a_non_default_port() {
        let aud = |u: &str| audience(&Url::parse(u).unwrap());
        assert_eq!(aud("https://fcm.googleapis.com/fcm/send/x"), "https://fcm.googleapis.com");
        assert_eq!(aud("https://fcm.googleapis.com:443/fcm/send/x"), "https://fcm.googleapis.com");
        assert_eq!(aud("https://push.example.net:8443/x?y=1"), "https://push.example.net:8443");
        assert_eq!(aud("http://[::1]:9000/push/1"), "http://[::1]:9000");
    }

    #[test]
    fn a_token_is_reused_per_origin_until_an_hour_before_it_expires() {
        let signer = signer();
        let start = Utc::now();
        let a1 = Url::parse("https://fcm.googleapis.com/fcm/send/one").unwrap();
        let a2 = Url::parse("https://fcm.googleapis.com/fcm/send/two").unwrap();
        let b = Url::parse("https://updates.push.services.mozilla.com/wpush/v2/x").unwrap();
        let first = signer.token(&a1, start);
        assert_eq!(signer.token(&a2, start + TimeDelta::hours(10)), first, "same origin, still fresh");
        assert_ne!(signer.token(&b, start).jwt, first.jwt, "another origin has its own token");
        let edge = first.expires_at - RENEW_BEFORE_EXPIRY;
        assert_eq!(signer.token(&a1, edge - TimeDelta::seconds(1)), first);
        let renewed = signer.token(&a1, edge);
        assert_ne!(renewed, first);
        assert_eq!(renewed.expires_at, DateTime::from_timestamp(edge.timestamp(), 0).unwrap() + TOKEN_LIFETIME);
        // A clock set back by a day must not keep serving a token too far in its future.
        let earlier = signer.token(&a1, start - TimeDelta::hours(20));
        assert!(earlier.expires_at <= start - TimeDelta::hours(20) + MAX_AHEAD);
    }

    #[test]
    fn subjects_must_reach_a_person() {
        for good in
            ["mailto:ops@aftercare.example", "mailto:push-admin@clinic.co.uk", "https://aftercare.example/contact"]
        {
            assert!(VapidSubject::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "ops@aftercare.example",
            "mailto:",
            "mailto:nobody",
            "mailto:support@aftercare.invalid",
            "mailto:me@localhost",
            "http://aftercare.example",
            "https://localhost",
            "ftp://aftercare.example",
        ] {
            assert!(VapidSubject::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_key_file_is_created_private_once_and_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data").join("vapid_private_key");
        let created = VapidKeys::load_or_create(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let loaded = VapidKeys::load_or_create(&path).unwrap();
        assert_eq!(loaded.public_key_base64url(), created.public_key_base64url());
        assert_eq!(std::fs::read_dir(path.parent().unwrap()).unwrap().count(), 1, "no scratch files left");

        std::fs::write(&path, "garbage").unwrap();
        let err = VapidKeys::load_or_create(&path).unwrap_err();
        assert!(format!("{err:#}").contains("not valid"), "{err:#}");
    }
}
