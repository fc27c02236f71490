//! Web Push (RFC 8030, 8291, 8292): checking subscriptions, VAPID, encrypting and sending one
//! message, and what the push service's answer means.
//!
//! A dispatcher parses a stored subscription with [`Subscription::parse`], builds a
//! [`PushMessage`], calls [`PushSender::send`], and feeds the [`DeliveryReport`]'s outcome to
//! [`RetryPolicy::next_step`] to learn whether to retry (and when), give up, or delete the
//! subscription.

pub mod endpoint;
pub mod keys;
pub mod message;
pub mod outcome;
pub mod redact;
pub mod retry;
pub mod sender;
pub mod vapid;

pub use endpoint::{DEFAULT_ALLOWED_HOSTS, EndpointPolicy, EndpointProblem, HostPattern, check_endpoint};
pub use keys::{KeyProblem, Subscription, SubscriptionKeys, SubscriptionProblem};
pub use message::{EncryptedMessage, MAX_PAYLOAD_BYTES, MAX_TTL, MessageProblem, PushMessage, Topic, Urgency, encrypt};
pub use outcome::{DeliveryOutcome, DeliveryReport, SendFailure, classify_status, parse_retry_after};
pub use redact::{endpoint_fingerprint, endpoint_origin};
pub use retry::{DeadReason, NextStep, RetryPolicy, random_jitter};
pub use sender::{MAX_RESPONSE_BYTES, PushSender, vapid_keys};
pub use vapid::{VapidKeys, VapidSigner, VapidSubject, VapidToken, audience};
