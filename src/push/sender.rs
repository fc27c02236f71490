//! Sends one encrypted message to one subscription over HTTP and reports what happened. Retries
//! are the caller's: it records the report and asks [`RetryPolicy`](super::RetryPolicy) when to
//! come back, so that a retry survives a restart.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use reqwest::header::{AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE, RETRY_AFTER};
use reqwest::redirect;

use super::endpoint::{EndpointPolicy, check_endpoint, is_public_ip};
use super::keys::Subscription;
use super::message::{EncryptedMessage, PushMessage, encrypt};
use super::outcome::{DeliveryOutcome, DeliveryReport, SendFailure, classify_status};
use super::redact::{endpoint_fingerprint, endpoint_origin};
use super::retry::RetryPolicy;
use super::vapid::{VapidKeys, VapidSigner, VapidSubject};
use crate::config::PushSettings;

/// Push services explain errors in a line or two; anything longer is not worth reading, and a
/// hostile endpoint must not make us buffer a large body.
pub const MAX_RESPONSE_BYTES: usize = 4096;
const MAX_DETAIL_CHARS: usize = 512;

pub struct PushSender {
    client: reqwest::Client,
    vapid: VapidSigner,
    policy: EndpointPolicy,
}

impl PushSender {
    pub fn new(
        vapid: VapidSigner,
        policy: EndpointPolicy,
        connect_timeout: Duration,
        request_timeout: Duration,
    ) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .connect_timeout(connect_timeout)
            .timeout(request_timeout)
            .redirect(redirect::Policy::none())
            .retry(reqwest::retry::never())
            .referer(false)
            .user_agent(concat!("aftercare/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(PublicAddressesOnly { allow_loopback: policy.allows_loopback() })
            .build()
            .context("building the Web Push HTTP client")?;
        Ok(Self { client, vapid, policy })
    }

    /// Everything from configuration, reading or creating the VAPID key as configured.
    pub fn from_settings(settings: &PushSettings) -> anyhow::Result<Self> {
        Self::with_keys(settings, vapid_keys(settings)?)
    }

    /// Everything but the VAPID key from configuration.
    pub fn with_keys(settings: &PushSettings, keys: VapidKeys) -> anyhow::Result<Self> {
        let subject = VapidSubject::parse(&settings.vapid_subject)
            .map_err(|problem| anyhow::anyhow!("push.vapid_subject {problem}"))?;
        if subject.as_str().ends_with("@example.com") {
            tracing::warn!(
                "push.vapid_subject is still the placeholder; set it to a contact of yours before sending to real devices"
            );
        }
        let policy = EndpointPolicy::new(&settings.allowed_hosts, settings.allow_loopback)
            .map_err(|problem| anyhow::anyhow!("push.allowed_hosts: {problem}"))?;
        if settings.allow_loopback {
            tracing::warn!("push.allow_loopback is on: Web Push may be sent to this machine (tests only)");
        }
        Self::new(VapidSigner::new(keys, subject), policy, settings.connect_timeout(), settings.request_timeout())
    }

    /// The `applicationServerKey` clients subscribe with.
    pub fn vapid_public_key(&self) -> &str {
        self.vapid.public_key_base64url()
    }

    pub fn policy(&self) -> &EndpointPolicy {
        &self.policy
    }

    pub fn vapid(&self) -> &VapidSigner {
        &self.vapid
    }

    /// Encrypts `message` for `subscription` and POSTs it. Never fails: every failure is a
    /// [`DeliveryReport`] whose outcome says what to do next.
    pub async fn send(&self, subscription: &Subscription, message: &PushMessage, now: DateTime<Utc>) -> DeliveryReport {
        let started = Instant::now();
        let endpoint = subscription.endpoint();
        let origin = endpoint_origin(endpoint);
        let report = |outcome, status, failure, detail| DeliveryReport {
            outcome,
            status,
            failure,
            detail,
            origin: origin.clone(),
            elapsed: started.elapsed(),
        };

        // The policy may have narrowed since the subscription was stored.
        if let Err(problem) = check_endpoint(endpoint.as_str(), &self.policy) {
            let failure = SendFailure::EndpointRefused(problem);
            return self.finish(report(failure.outcome(), None, Some(failure), String::new()), endpoint);
        }
        let encrypted = match encrypt(subscription, message) {
            Ok(encrypted) => encrypted,
            Err(problem) => {
                let failure = SendFailure::Message(problem);
                return self.finish(report(failure.outcome(), None, Some(failure), String::new()), endpoint);
            }
        };
        let request = self.request(subscription, encrypted, now);
        let finished = match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let retry_after = response.headers().get(RETRY_AFTER).and_then(|v| v.to_str().ok()).map(str::to_owned);
                let detail = read_capped(response).await;
                report(classify_status(status, retry_after.as_deref(), now), Some(status), None, detail)
            }
            Err(error) => {
                let failure = if error.is_timeout() {
                    SendFailure::Timeout
                } else if error.is_connect() {
                    SendFailure::Connect
                } else {
                    SendFailure::Transport
                };
                report(failure.outcome(), None, Some(failure), String::new())
            }
        };
        self.finish(finished, endpoint)
    }

    fn request(
        &self,
        subscription: &Subscription,
        encrypted: EncryptedMessage,
        now: DateTime<Utc>,
    ) -> reqwest::RequestBuilder {
        let endpoint = subscription.endpoint();
        let mut request = self
            .client
            .post(endpoint.clone())
            .header(AUTHORIZATION, self.vapid.authorization_header(endpoint, now))
            .header(CONTENT_ENCODING, EncryptedMessage::CONTENT_ENCODING)
            .header(CONTENT_TYPE, "application/octet-stream")
            .header("TTL", encrypted.ttl.to_string())
            .header("Urgency", encrypted.urgency);
        if let Some(topic) = encrypted.topic {
            request = request.header("Topic", topic);
        }
        request.body(encrypted.body)
    }

    /// Counts and logs a send. The endpoint's fingerprint is worked out only for a line that is
    /// written (the log level decides), not for every send.
    fn finish(&self, report: DeliveryReport, endpoint: &url::Url) -> DeliveryReport {
        let outcome = report.outcome.as_str();
        let reason = report.reason();
        metrics::counter!("push_deliveries_total", "outcome" => outcome, "reason" => reason).increment(1);
        metrics::histogram!("push_delivery_duration_seconds").record(report.elapsed.as_secs_f64());
        let status = report.status.unwrap_or(0);
        let elapsed_ms = report.elapsed.as_millis() as u64;
        match report.outcome {
            DeliveryOutcome::Sent => {
                tracing::debug!(origin = %report.origin, endpoint = %endpoint_fingerprint(endpoint), status, elapsed_ms, "push sent");
            }
            DeliveryOutcome::Gone => {
                tracing::info!(origin = %report.origin, endpoint = %endpoint_fingerprint(endpoint), status, "push subscription is gone");
            }
            DeliveryOutcome::Rejected => {
                tracing::warn!(
                    origin = %report.origin, endpoint = %endpoint_fingerprint(endpoint), status, reason, detail = %report.detail,
                    "push rejected: the request is at fault, not the subscription"
                );
            }
            DeliveryOutcome::RetryLater { .. } => {
                tracing::info!(
                    origin = %report.origin, endpoint = %endpoint_fingerprint(endpoint), status, reason, elapsed_ms, detail = %report.detail,
                    "push to retry"
                );
            }
        }
        report
    }
}

impl std::fmt::Debug for PushSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushSender").field("vapid", &self.vapid).field("policy", &self.policy).finish_non_exhaustive()
    }
}

/// The configured key, or the key file (created on first start of the embedded deployment).
pub fn vapid_keys(settings: &PushSettings) -> anyhow::Result<VapidKeys> {
    if settings.vapid_private_key.is_empty() {
        VapidKeys::load_or_create(&settings.vapid_private_key_file)
    } else {
        VapidKeys::parse(&settings.vapid_private_key).context("push.vapid_private_key is not a valid key")
    }
}

impl RetryPolicy {
    pub fn from_settings(settings: &PushSettings) -> Self {
        Self {
            base: Duration::from_secs(settings.backoff_base_seconds),
            cap: Duration::from_secs(settings.backoff_max_seconds),
            max_attempts: settings.max_attempts,
        }
    }
}

async fn read_capped(mut response: reqwest::Response) -> String {
    let mut body = Vec::new();
    while body.len() < MAX_RESPONSE_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk[..chunk.len().min(MAX_RESPONSE_BYTES - body.len())]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&body).chars().filter(|c| !c.is_control()).take(MAX_DETAIL_CHARS).collect()
}

/// Resolves names as the system does, then drops addresses inside private networks, so that an
/// allowed host name whose DNS points inward (by mistake or rebinding) is not reached.
struct PublicAddressesOnly {
    allow_loopback: bool,
}

impl reqwest::dns::Resolve for PublicAddressesOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_loopback = self.allow_loopback;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| is_public_ip(a.ip()) || (allow_loopback && a.ip().is_loopback()))
                .collect();
            if addrs.is_empty() {
                return Err(format!("{host} has no public address").into());
            }
            let addrs: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}
