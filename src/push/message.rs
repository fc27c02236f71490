//! What is sent: the payload and the RFC 8030 headers that steer the push service (`TTL`,
//! `Urgency`, `Topic`), and its `aes128gcm` encryption (RFC 8291) for one subscription.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use super::keys::Subscription;

/// The `web-push` crate refuses larger plaintexts. Payloads are meant to be tiny anyway: a kind,
/// an id and generic text, since they show on a lock screen.
pub const MAX_PAYLOAD_BYTES: usize = 3052;
/// The longest time push services keep a message (FCM and Mozilla cap at four weeks).
pub const MAX_TTL: Duration = Duration::from_secs(28 * 24 * 3600);
pub const MAX_TOPIC_CHARS: usize = 32;

pub use crate::domain::notifications::Urgency;

/// The `web-push` crate's name for an urgency.
fn to_web_push(urgency: Urgency) -> web_push::Urgency {
    match urgency {
        Urgency::VeryLow => web_push::Urgency::VeryLow,
        Urgency::Low => web_push::Urgency::Low,
        Urgency::Normal => web_push::Urgency::Normal,
        Urgency::High => web_push::Urgency::High,
    }
}

impl fmt::Display for Urgency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Urgency {
    type Err = MessageProblem;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "very-low" => Ok(Self::VeryLow),
            "low" => Ok(Self::Low),
            "normal" => Ok(Self::Normal),
            "high" => Ok(Self::High),
            _ => Err(MessageProblem::Urgency),
        }
    }
}

/// A `Topic`: a newer message with the same topic replaces an undelivered older one at the push
/// service, so retries and updates of one logical notification collapse. The push service sees
/// it, hence [`Topic::derive`] to keep it opaque.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Topic(String);

impl Topic {
    /// At most 32 characters of the URL-safe base64 alphabet, as RFC 8030 requires.
    pub fn new(topic: &str) -> Result<Self, MessageProblem> {
        let valid = !topic.is_empty()
            && topic.len() <= MAX_TOPIC_CHARS
            && topic.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if valid { Ok(Self(topic.to_owned())) } else { Err(MessageProblem::Topic) }
    }

    /// An opaque topic for a stable key such as `aftercare:<step id>`: base64url of the first
    /// 24 bytes of its SHA-256, exactly 32 characters.
    pub fn derive(stable_key: &str) -> Self {
        let digest = Sha256::digest(stable_key.as_bytes());
        Self(URL_SAFE_NO_PAD.encode(&digest[..24]))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageProblem {
    #[error("the payload is larger than {MAX_PAYLOAD_BYTES} bytes")]
    PayloadTooLarge,
    #[error("TTL must be whole seconds, at most {} days", MAX_TTL.as_secs() / 86_400)]
    Ttl,
    #[error("urgency must be very-low, low, normal or high")]
    Urgency,
    #[error("a topic is 1 to {MAX_TOPIC_CHARS} characters of A-Z, a-z, 0-9, - and _")]
    Topic,
    #[error("the message could not be encrypted for this subscription")]
    Encryption,
}

/// One notification, before it is encrypted for a subscription. A TTL is required: push
/// services refuse messages without one, and a stale reminder is worthless.
#[derive(Clone, PartialEq, Eq)]
pub struct PushMessage {
    payload: Vec<u8>,
    ttl: Duration,
    urgency: Urgency,
    topic: Option<Topic>,
}

impl PushMessage {
    pub fn new(payload: impl Into<Vec<u8>>, ttl: Duration) -> Result<Self, MessageProblem> {
        let payload = payload.into();
        if payload.len() > MAX_PAYLOAD_BYTES {
            return Err(MessageProblem::PayloadTooLarge);
        }
        if ttl > MAX_TTL || ttl.subsec_nanos() != 0 {
            return Err(MessageProblem::Ttl);
        }
        Ok(Self { payload, ttl, urgency: Urgency::Normal, topic: None })
    }

    pub fn with_urgency(mut self, urgency: Urgency) -> Self {
        self.urgency = urgency;
        self
    }

    pub fn with_topic(mut self, topic: Topic) -> Self {
        self.topic = Some(topic);
        self
    }

    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    pub fn urgency(&self) -> Urgency {
        self.urgency
    }

    pub fn topic(&self) -> Option<&Topic> {
        self.topic.as_ref()
    }
}

impl fmt::Debug for PushMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PushMessage")
            .field("payload_bytes", &self.payload.len())
            .field("ttl", &self.ttl)
            .field("urgency", &self.urgency)
            .field("topic", &self.topic)
            .finish()
    }
}

/// A message encrypted for one subscription, with the header values to send it with.
#[derive(Debug)]
pub struct EncryptedMessage {
    pub body: Vec<u8>,
    pub ttl: u32,
    pub urgency: &'static str,
    pub topic: Option<String>,
}

impl EncryptedMessage {
    pub const CONTENT_ENCODING: &'static str = "aes128gcm";
}

/// Encrypts with a fresh sender key pair and salt, as RFC 8291 requires of every message.
pub fn encrypt(subscription: &Subscription, message: &PushMessage) -> Result<EncryptedMessage, MessageProblem> {
    let info = web_push::SubscriptionInfo::new(
        subscription.endpoint().as_str().to_owned(),
        subscription.keys().p256dh_base64url(),
        subscription.keys().auth_base64url(),
    );
    let mut builder = web_push::WebPushMessageBuilder::new(&info);
    builder.set_payload(web_push::ContentEncoding::Aes128Gcm, &message.payload);
    builder.set_ttl(u32::try_from(message.ttl.as_secs()).map_err(|_| MessageProblem::Ttl)?);
    builder.set_urgency(to_web_push(message.urgency));
    if let Some(topic) = &message.topic {
        builder.set_topic(topic.0.clone());
    }
    let built = builder.build().map_err(|e| match e {
        web_push::WebPushError::PayloadTooLarge => MessageProblem::PayloadTooLarge,
        web_push::WebPushError::InvalidTopic => MessageProblem::Topic,
        _ => MessageProblem::Encryption,
    })?;
    let payload = built.payload.ok_or(MessageProblem::Encryption)?;
    Ok(EncryptedMessage {
        body: payload.content,
        ttl: built.ttl,
        urgency: message.urgency.as_str(),
        topic: built.topic,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::push::endpoint::EndpointPolicy;

    #[test]
    fn topics_are_short_url_safe_and_opaque() {
        assert!(Topic::new("aftercare-step_42").is_ok());
        assert!(Topic::new(&"a".repeat(32)).is_ok());
        for bad in ["", "has space", "plus+", "slash/", "pad=", "é", &"a".repeat(33)] {
            assert_eq!(Topic::new(bad), Err(MessageProblem::Topic), "{bad:?}");
        }
        let derived = Topic::derive("aftercare:0190f5a4-2b1e-7c3d-9f00-123456789abc");
        assert_eq!(derived.as_str().len(), 32);
        assert_eq!(Topic::new(derived.as_str()), Ok(derived.clone()), "a derived topic is valid");
        assert_eq!(derived, Topic::derive("aftercare:0190f5a4-2b1e-7c3d-9f00-123456789abc"), "stable");
        assert_ne!(derived, Topic::derive("daily:2026-03-08"));
        assert!(!derived.as_str().contains("aftercare"));
        // SHA-256("abc") = ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
        assert_eq!(Topic::derive("abc").as_str(), "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qc");
    }

    #[test]
    fn urgency_speaks_the_header_values() {
        for urgency in [Urgency::VeryLow, Urgency::Low, Urgency::Normal, Urgency::High] {
            assert_eq!(urgency.as_str().parse::<Urgency>(), Ok(urgency));
            assert_eq!(to_web_push(urgency).to_string(), urgency.as_str());
        }
        assert_eq!("urgent".parse::<Urgency>(), Err(MessageProblem::Urgency));
        assert_eq!(serde_json::to_string(&Urgency::VeryLow).unwrap(), "\"very-low\"");
    }

    #[test]
    fn messages_need_a_sane_ttl_and_a_small_payload() {
        assert!(PushMessage::new(vec![0; MAX_PAYLOAD_BYTES], Duration::from_secs(0)).is_ok());
        assert_eq!(
            PushMessage::new(vec![0; MAX_PAYLOAD_BYTES + 1], Duration::from_secs(60)),
            Err(MessageProblem::PayloadTooLarge)
        );
        assert_eq!(PushMessage::new("x", MAX_TTL + Duration::from_secs(1)), Err(MessageProblem::Ttl));
        assert_eq!(PushMessage::new("x", Duration::from_millis(1500)), Err(MessageProblem::Ttl));
    }

    #[test]
    fn encryption_yields_an_aes128gcm_record_and_the_headers() {
        let subscription = Subscription::parse(
            "https://fcm.googleapis.com/fcm/send/x",
            "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4",
            "BTBZMqHH6r4Tts7J_aSIgg",
            &EndpointPolicy::default(),
        )
        .unwrap();
        let message = PushMessage::new(r#"{"kind":"aftercare"}"#, Duration::from_secs(3600))
            .unwrap()
            .with_urgency(Urgency::High)
            .with_topic(Topic::derive("aftercare:1"));
        let first = encrypt(&subscription, &message).unwrap();
        assert_eq!(first.ttl, 3600);
        assert_eq!(first.urgency, "high");
        assert_eq!(first.topic.as_deref(), Some(Topic::derive("aftercare:1").as_str()));
        // salt(16) rs(4) idlen(1) keyid(65), then the record: plaintext, delimiter, 16-byte tag.
        assert_eq!(&first.body[16..20], &4096u32.to_be_bytes());
        assert_eq!(first.body[20], 65);
        assert!(first.body.len() > 86 + message.payload().len() + 16);
        let second = encrypt(&subscription, &message).unwrap();
        assert_ne!(first.body[..16], second.body[..16], "a fresh salt per message");
        assert_ne!(first.body[21..86], second.body[21..86], "a fresh sender key per message");
    }
}
