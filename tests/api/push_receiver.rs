//! A Web Push service for tests, on a real loopback port. It hands out browser-like
//! subscriptions, and for every message it receives it checks the VAPID token and decrypts the
//! body itself (RFC 8291 with RustCrypto, independent of the `web-push`/OpenSSL code that
//! encrypted it), records what it saw, and answers as it was told to.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aes_gcm::Aes128Gcm;
use aes_gcm::aead::{Aead, KeyInit};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, TimeDelta, Utc};
use hkdf::Hkdf;
use p256::ecdsa::signature::Verifier as _;
use p256::ecdsa::{Signature, VerifyingKey};
use p256::elliptic_curve::sec1::ToEncodedPoint as _;
use p256::{PublicKey, SecretKey};
use poem::http::{HeaderMap, StatusCode};
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::web::{Data, Path};
use poem::{EndpointExt, Response, Route, Server, handler, post};
use sha2::Sha256;

/// How the receiver answers a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// An HTTP status, with a `Retry-After` header when given.
    Status(u16, Option<String>),
    /// Never answer; the request stays open until the sender gives up.
    Hang,
}

impl Reply {
    pub fn status(status: u16) -> Self {
        Self::Status(status, None)
    }

    pub fn retry_after(status: u16, value: impl Into<String>) -> Self {
        Self::Status(status, Some(value.into()))
    }
}

/// A subscription as a browser's `PushSubscription.toJSON()` would give it.
#[derive(Debug, Clone)]
pub struct BrowserSubscription {
    pub id: String,
    pub endpoint: String,
    pub p256dh: String,
    pub auth: String,
}

/// The claims of a VAPID token that verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VapidClaims {
    pub jwt: String,
    pub public_key: String,
    pub aud: String,
    pub exp: i64,
    pub sub: String,
}

/// One message as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Received {
    /// The receiver's idea of now when the message arrived: with `ttl`, how long the push
    /// service keeps it for a device that is offline.
    pub at: DateTime<Utc>,
    pub ttl: Option<String>,
    pub urgency: Option<String>,
    pub topic: Option<String>,
    pub content_encoding: Option<String>,
    pub vapid: Result<VapidClaims, String>,
    pub payload: Result<Vec<u8>, String>,
}

impl Received {
    pub fn text(&self) -> String {
        String::from_utf8(self.payload.clone().expect("the message decrypted")).expect("a UTF-8 payload")
    }
}

struct Subscriber {
    secret: SecretKey,
    auth: [u8; 16],
    reply: Option<Reply>,
    received: Vec<Received>,
    requests: usize,
}

#[derive(Default)]
struct State {
    subscribers: HashMap<String, Subscriber>,
    reply: Option<Reply>,
    requests: usize,
    /// The receiver's idea of now, for checking `exp`; the real time when unset.
    now: Option<DateTime<Utc>>,
}

struct Shared {
    origin: String,
    state: Mutex<State>,
    arrived: tokio::sync::Notify,
}

pub struct PushReceiver {
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl PushReceiver {
    pub async fn start() -> Self {
        let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await.expect("bind a loopback port");
        let address = acceptor.local_addr()[0].as_socket_addr().copied().expect("a TCP address");
        let shared = Arc::new(Shared {
            origin: format!("http://{address}"),
            state: Mutex::new(State::default()),
            arrived: tokio::sync::Notify::new(),
        });
        let app = Route::new().at("/push/:id", post(receive)).data(shared.clone());
        let server = tokio::spawn(async move {
            let _ = Server::new_with_acceptor(acceptor).run(app).await;
        });
        Self { shared, server }
    }

    /// `http://127.0.0.1:<port>`: what a VAPID `aud` for this receiver must be.
    pub fn origin(&self) -> &str {
        &self.shared.origin
    }

    /// A new subscription with a fresh P-256 key pair and auth secret, as a browser makes one.
    pub fn subscribe(&self) -> BrowserSubscription {
        let secret = SecretKey::random(&mut rand::rngs::OsRng);
        let auth: [u8; 16] = rand::random();
        let id = uuid::Uuid::new_v4().simple().to_string();
        let subscription = BrowserSubscription {
            endpoint: format!("{}/push/{id}", self.shared.origin),
            p256dh: URL_SAFE_NO_PAD.encode(secret.public_key().to_encoded_point(false).as_bytes()),
            auth: URL_SAFE_NO_PAD.encode(auth),
            id: id.clone(),
        };
        self.state()
            .subscribers
            .insert(id, Subscriber { secret, auth, reply: None, received: Vec::new(), requests: 0 });
        subscription
    }

    /// How to answer messages for one subscription (overrides [`Self::reply_to_all`]).
    pub fn reply(&self, subscription: &BrowserSubscription, reply: Reply) {
        self.state().subscribers.get_mut(&subscription.id).expect("a subscription of this receiver").reply =
            Some(reply);
    }

    /// How to answer messages for every subscription without a reply of its own.
    pub fn reply_to_all(&self, reply: Reply) {
        self.state().reply = Some(reply);
    }

    /// The instant `exp` is checked against, for tests that send at a chosen time.
    pub fn set_now(&self, now: DateTime<Utc>) {
        self.state().now = Some(now);
    }

    pub fn received(&self, subscription: &BrowserSubscription) -> Vec<Received> {
        self.state().subscribers.get(&subscription.id).map(|s| s.received.clone()).unwrap_or_default()
    }

    /// Requests for this subscription, including those that were not answered.
    pub fn requests(&self, subscription: &BrowserSubscription) -> usize {
        self.state().subscribers.get(&subscription.id).map_or(0, |s| s.requests)
    }

    pub fn total_requests(&self) -> usize {
        self.state().requests
    }

    /// Waits until `count` requests for the subscription have arrived.
    pub async fn wait_for_requests(&self, subscription: &BrowserSubscription, count: usize, within: Duration) {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let arrived = self.shared.arrived.notified();
            if self.requests(subscription) >= count {
                return;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                panic!("{count} request(s) did not arrive within {within:?}");
            }
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.shared.state.lock().expect("receiver state")
    }
}

impl Drop for PushReceiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

#[handler]
async fn receive(Path(id): Path<String>, headers: &HeaderMap, body: Vec<u8>, shared: Data<&Arc<Shared>>) -> Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let reply = {
        let mut state = shared.state.lock().expect("receiver state");
        state.requests += 1;
        let now = state.now.unwrap_or_else(Utc::now);
        let global = state.reply.clone();
        let Some(subscriber) = state.subscribers.get_mut(&id) else {
            drop(state);
            shared.arrived.notify_waiters();
            return Response::builder().status(StatusCode::NOT_FOUND).finish();
        };
        subscriber.requests += 1;
        let vapid = header("authorization")
            .ok_or_else(|| "no Authorization header".to_owned())
            .and_then(|value| verify_vapid(&value, &shared.origin, now));
        let content_encoding = header("content-encoding");
        let payload = if content_encoding.as_deref() == Some("aes128gcm") {
            decrypt(&subscriber.secret, &subscriber.auth, &body)
        } else {
            Err(format!("Content-Encoding is {content_encoding:?}, not aes128gcm"))
        };
        // A real push service refuses a bad token or body, so a broken sender cannot pass a test
        // that expects 201.
        let default = match (&vapid, &payload) {
            (Err(_), _) => Reply::status(401),
            (_, Err(_)) => Reply::status(400),
            _ => Reply::status(201),
        };
        subscriber.received.push(Received {
            at: now,
            ttl: header("ttl"),
            urgency: header("urgency"),
            topic: header("topic"),
            content_encoding,
            vapid,
            payload,
        });
        subscriber.reply.clone().or(global).unwrap_or(default)
    };
    shared.arrived.notify_waiters();
    match reply {
        Reply::Hang => std::future::pending().await,
        Reply::Status(status, retry_after) => {
            let mut response = Response::builder().status(StatusCode::from_u16(status).expect("a valid status"));
            if let Some(value) = retry_after {
                response = response.header("retry-after", value);
            }
            response.body(format!("{{\"answer\":{status}}}"))
        }
    }
}

/// Checks `vapid t=<jwt>, k=<key>` as a push service does (RFC 8292).
pub fn verify_vapid(header: &str, origin: &str, now: DateTime<Utc>) -> Result<VapidClaims, String> {
    let params = header.strip_prefix("vapid ").ok_or("the scheme is not vapid")?;
    let mut jwt = None;
    let mut key = None;
    for param in params.split(',') {
        match param.trim().split_once('=') {
            Some(("t", value)) => jwt = Some(value.to_owned()),
            Some(("k", value)) => key = Some(value.to_owned()),
            _ => return Err(format!("unexpected parameter {param:?}")),
        }
    }
    let (jwt, public_key) = (jwt.ok_or("no t=")?, key.ok_or("no k=")?);
    let parts: Vec<&str> = jwt.split('.').collect();
    let [header_b64, claims_b64, signature_b64] = parts[..] else { return Err("not a compact JWS".into()) };
    let decode = |part: &str| URL_SAFE_NO_PAD.decode(part).map_err(|e| format!("bad base64url: {e}"));
    let jws_header: serde_json::Value = serde_json::from_slice(&decode(header_b64)?).map_err(|e| e.to_string())?;
    if jws_header["alg"] != "ES256" || jws_header["typ"] != "JWT" {
        return Err(format!("unexpected JWT header {jws_header}"));
    }
    let verifying_key = VerifyingKey::from_sec1_bytes(&decode(&public_key)?).map_err(|_| "k= is not a P-256 key")?;
    let signature = Signature::from_slice(&decode(signature_b64)?).map_err(|_| "not an ES256 signature")?;
    verifying_key
        .verify(format!("{header_b64}.{claims_b64}").as_bytes(), &signature)
        .map_err(|_| "the signature does not verify against k=")?;
    let claims: serde_json::Value = serde_json::from_slice(&decode(claims_b64)?).map_err(|e| e.to_string())?;
    let aud = claims["aud"].as_str().ok_or("no aud")?.to_owned();
    let exp = claims["exp"].as_i64().ok_or("no numeric exp")?;
    let sub = claims["sub"].as_str().ok_or("no sub")?.to_owned();
    if aud != origin {
        return Err(format!("aud {aud} is not this push service's origin {origin}"));
    }
    if exp <= now.timestamp() {
        return Err("the token has expired".into());
    }
    if exp > (now + TimeDelta::hours(24)).timestamp() {
        return Err("exp is more than 24 hours ahead".into());
    }
    if !(sub.starts_with("mailto:") || sub.starts_with("https:")) {
        return Err(format!("sub {sub} is neither mailto: nor https:"));
    }
    Ok(VapidClaims { jwt, public_key, aud, exp, sub })
}

/// The keys RFC 8291 §3.4 derives for one message.
pub struct DerivedKeys {
    pub ecdh_secret: Vec<u8>,
    pub prk_key: Vec<u8>,
    pub ikm: Vec<u8>,
    pub prk: Vec<u8>,
    pub cek: [u8; 16],
    pub nonce: [u8; 12],
}

pub fn derive_keys(ua_secret: &SecretKey, auth: &[u8], salt: &[u8], as_public: &[u8]) -> Result<DerivedKeys, String> {
    let sender = PublicKey::from_sec1_bytes(as_public).map_err(|_| "the sender key is not a P-256 point")?;
    let shared = p256::ecdh::diffie_hellman(ua_secret.to_nonzero_scalar(), sender.as_affine());
    let ecdh_secret = shared.raw_secret_bytes().to_vec();
    let ua_public = ua_secret.public_key().to_encoded_point(false);
    let key_info = [b"WebPush: info\0".as_slice(), ua_public.as_bytes(), as_public].concat();
    let (prk_key, auth_hkdf) = Hkdf::<Sha256>::extract(Some(auth), &ecdh_secret);
    let mut ikm = [0u8; 32];
    auth_hkdf.expand(&key_info, &mut ikm).map_err(|e| e.to_string())?;
    let (prk, hkdf) = Hkdf::<Sha256>::extract(Some(salt), &ikm);
    let mut cek = [0u8; 16];
    hkdf.expand(b"Content-Encoding: aes128gcm\0", &mut cek).map_err(|e| e.to_string())?;
    let mut nonce = [0u8; 12];
    hkdf.expand(b"Content-Encoding: nonce\0", &mut nonce).map_err(|e| e.to_string())?;
    Ok(DerivedKeys { ecdh_secret, prk_key: prk_key.to_vec(), ikm: ikm.to_vec(), prk: prk.to_vec(), cek, nonce })
}

/// Decrypts an `aes128gcm` Web Push body (RFC 8188 header, one record, RFC 8291 keys).
pub fn decrypt(ua_secret: &SecretKey, auth: &[u8], body: &[u8]) -> Result<Vec<u8>, String> {
    if body.len() < 21 {
        return Err("shorter than the aes128gcm header".into());
    }
    let salt = &body[..16];
    let record_size = u32::from_be_bytes(body[16..20].try_into().expect("4 bytes")) as usize;
    let id_len = usize::from(body[20]);
    if id_len != 65 || body.len() < 21 + id_len {
        return Err(format!("the key id is {id_len} bytes, not a 65-byte P-256 public key"));
    }
    let as_public = &body[21..21 + id_len];
    let record = &body[21 + id_len..];
    if record_size < 18 {
        return Err(format!("record size {record_size} is below the minimum of 18"));
    }
    if record.len() > record_size {
        return Err("more than one record; Web Push allows only one".into());
    }
    if record.len() < 17 {
        return Err("the record is shorter than a tag and a delimiter".into());
    }
    let keys = derive_keys(ua_secret, auth, salt, as_public)?;
    let cipher = Aes128Gcm::new_from_slice(&keys.cek).map_err(|e| e.to_string())?;
    let mut plaintext = cipher.decrypt(&keys.nonce.into(), record).map_err(|_| "AES-GCM authentication failed")?;
    // Padding is zeros after a 0x02 delimiter, which marks the last (here: only) record.
    let end = plaintext.iter().rposition(|&b| b != 0).ok_or("no padding delimiter")?;
    if plaintext[end] != 0x02 {
        return Err(format!("padding delimiter is {:#04x}, not 0x02", plaintext[end]));
    }
    plaintext.truncate(end);
    Ok(plaintext)
}
