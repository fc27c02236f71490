//! Web Push sending against a real push service stand-in on loopback: encryption, VAPID, headers,
//! and what each kind of answer means for the message and the subscription.

use std::time::Duration;

use aftercare::push::{
    DEFAULT_ALLOWED_HOSTS, DeadReason, DeliveryOutcome, EndpointPolicy, EndpointProblem, NextStep, PushMessage,
    PushSender, RetryPolicy, SendFailure, Subscription, SubscriptionProblem, Topic, Urgency, VapidKeys, VapidSigner,
    VapidSubject,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;

use crate::helpers::test_settings;
use crate::push_receiver::{BrowserSubscription, PushReceiver, Reply, decrypt, derive_keys, verify_vapid};

const SUBJECT: &str = "mailto:push-ops@aftercare.example";

fn loopback() -> EndpointPolicy {
    EndpointPolicy::new(DEFAULT_ALLOWED_HOSTS, true).expect("valid policy")
}

fn sender_with_timeout(request_timeout: Duration) -> PushSender {
    let signer = VapidSigner::new(VapidKeys::generate(), VapidSubject::parse(SUBJECT).expect("valid subject"));
    PushSender::new(signer, loopback(), Duration::from_secs(2), request_timeout).expect("sender")
}

fn sender() -> PushSender {
    sender_with_timeout(Duration::from_secs(10))
}

fn subscription(browser: &BrowserSubscription) -> Subscription {
    Subscription::parse(&browser.endpoint, &browser.p256dh, &browser.auth, &loopback()).expect("valid subscription")
}

fn message(text: &str) -> PushMessage {
    PushMessage::new(text, Duration::from_secs(3600)).expect("valid message")
}

/// Now, to the second: VAPID `exp` and HTTP dates have no finer resolution.
fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(Utc::now().timestamp(), 0).expect("now")
}

#[tokio::test]
async fn a_message_arrives_decrypted_with_its_headers_and_a_vapid_token_for_the_origin_and_port() {
    let receiver = PushReceiver::start().await;
    let browser = receiver.subscribe();
    let sender = sender();
    let payload =
        r#"{"kind":"aftercare","id":"0190f5a4-2b1e-7c3d-9f00-123456789abc","title":"Time for a glass of water"}"#;
    let topic = Topic::derive("aftercare:0190f5a4-2b1e-7c3d-9f00-123456789abc");
    let alert = PushMessage::new(payload, Duration::from_secs(900))
        .unwrap()
        .with_urgency(Urgency::High)
        .with_topic(topic.clone());

    let report = sender.send(&subscription(&browser), &alert, now()).await;

    assert_eq!(report.outcome, DeliveryOutcome::Sent, "{report:?}");
    assert_eq!(report.status, Some(201));
    assert_eq!(report.origin, receiver.origin());
    let received = receiver.received(&browser);
    assert_eq!(received.len(), 1);
    let got = &received[0];
    assert_eq!(got.text(), payload);
    assert_eq!(got.ttl.as_deref(), Some("900"));
    assert_eq!(got.urgency.as_deref(), Some("high"));
    assert_eq!(got.topic.as_deref(), Some(topic.as_str()));
    assert_eq!(got.content_encoding.as_deref(), Some("aes128gcm"));
    let claims = got.vapid.clone().expect("a valid VAPID token");
    let port = receiver.origin().rsplit(':').next().unwrap().to_owned();
    assert!(claims.aud.ends_with(&format!(":{port}")), "aud keeps the port: {}", claims.aud);
    assert_eq!(claims.aud, receiver.origin());
    assert_eq!(claims.sub, SUBJECT);
    assert_eq!(claims.public_key, sender.vapid_public_key());
    assert!(claims.exp <= (now() + TimeDelta::hours(12)).timestamp());

    // The largest payload allowed, and one without Urgency or Topic set, arrive intact too.
    let largest = "x".repeat(aftercare::push::MAX_PAYLOAD_BYTES);
    let report = sender.send(&subscription(&browser), &message(&largest), now()).await;
    assert_eq!(report.outcome, DeliveryOutcome::Sent, "{report:?}");
    let received = receiver.received(&browser);
    assert_eq!(received[1].text(), largest);
    assert_eq!(received[1].urgency.as_deref(), Some("normal"));
    assert_eq!(received[1].topic, None);
}

#[tokio::test]
async fn the_vapid_token_is_reused_per_origin_and_renewed_near_expiry() {
    let receiver = PushReceiver::start().await;
    let other_service = PushReceiver::start().await;
    let (first, second) = (receiver.subscribe(), receiver.subscribe());
    let elsewhere = other_service.subscribe();
    let sender = sender();
    let start = now();
    let send_at = |browser: &BrowserSubscription, service: &PushReceiver, at: DateTime<Utc>| {
        service.set_now(at);
        let subscription = subscription(browser);
        let sender = &sender;
        async move { sender.send(&subscription, &message("hello"), at).await }
    };
    let jwt_of = |service: &PushReceiver, browser: &BrowserSubscription, n: usize| {
        service.received(browser)[n].vapid.clone().expect("a valid VAPID token").jwt
    };

    assert_eq!(send_at(&first, &receiver, start).await.outcome, DeliveryOutcome::Sent);
    assert_eq!(send_at(&second, &receiver, start + TimeDelta::hours(10)).await.outcome, DeliveryOutcome::Sent);
    assert_eq!(jwt_of(&receiver, &first, 0), jwt_of(&receiver, &second, 0), "same origin: the token is reused");

    assert_eq!(send_at(&elsewhere, &other_service, start).await.outcome, DeliveryOutcome::Sent);
    let other_claims = other_service.received(&elsewhere)[0].vapid.clone().unwrap();
    assert_eq!(other_claims.aud, other_service.origin(), "another port is another origin");
    assert_ne!(other_claims.jwt, jwt_of(&receiver, &first, 0));

    // Twelve hours of validity, renewed once less than an hour is left.
    let renewal = start + TimeDelta::hours(11);
    assert_eq!(send_at(&first, &receiver, renewal - TimeDelta::seconds(1)).await.outcome, DeliveryOutcome::Sent);
    assert_eq!(jwt_of(&receiver, &first, 1), jwt_of(&receiver, &first, 0));
    assert_eq!(send_at(&first, &receiver, renewal).await.outcome, DeliveryOutcome::Sent);
    let renewed = receiver.received(&first)[2].vapid.clone().expect("the renewed token verifies");
    assert_ne!(renewed.jwt, jwt_of(&receiver, &first, 0));
    assert_eq!(renewed.exp, (renewal + TimeDelta::hours(12)).timestamp());
}

async fn outcome_for(reply: Reply) -> (DeliveryOutcome, Option<u16>, usize) {
    let receiver = PushReceiver::start().await;
    let browser = receiver.subscribe();
    receiver.reply(&browser, reply);
    let report = sender().send(&subscription(&browser), &message("hello"), now()).await;
    (report.outcome, report.status, receiver.requests(&browser))
}

#[tokio::test]
async fn expired_and_unsubscribed_subscriptions_are_gone_and_deleted() {
    let policy = RetryPolicy { base: Duration::from_secs(1), cap: Duration::from_secs(60), max_attempts: 5 };
    for status in [404, 410] {
        let (outcome, got, requests) = outcome_for(Reply::status(status)).await;
        assert_eq!(outcome, DeliveryOutcome::Gone, "{status}");
        assert_eq!(got, Some(status));
        assert_eq!(requests, 1, "the sender never retries on its own");
        assert_eq!(policy.next_step(&outcome, 1, now(), 0.5), NextStep::DeleteSubscription);
    }
}

#[tokio::test]
async fn requests_the_service_rejects_are_dead_and_the_subscription_is_kept() {
    let policy = RetryPolicy { base: Duration::from_secs(1), cap: Duration::from_secs(60), max_attempts: 5 };
    for status in [413, 400, 401, 403] {
        let (outcome, got, requests) = outcome_for(Reply::status(status)).await;
        assert_eq!(outcome, DeliveryOutcome::Rejected, "{status}");
        assert_eq!((got, requests), (Some(status), 1));
        assert_eq!(policy.next_step(&outcome, 1, now(), 0.5), NextStep::Dead(DeadReason::Rejected));
    }
}

#[tokio::test]
async fn throttling_is_retried_no_earlier_than_retry_after() {
    let policy = RetryPolicy { base: Duration::from_secs(10), cap: Duration::from_secs(600), max_attempts: 5 };
    let receiver = PushReceiver::start().await;
    let browser = receiver.subscribe();
    let sender = sender();
    let at = now();

    receiver.reply(&browser, Reply::retry_after(429, "120"));
    let report = sender.send(&subscription(&browser), &message("hello"), at).await;
    let expected = at + TimeDelta::seconds(120);
    assert_eq!(report.outcome, DeliveryOutcome::RetryLater { not_before: Some(expected) });
    assert_eq!(policy.next_step(&report.outcome, 1, at, 0.0), NextStep::RetryAt(expected));

    let date = at + TimeDelta::minutes(7);
    receiver.reply(&browser, Reply::retry_after(429, httpdate::fmt_http_date(date.into())));
    let report = sender.send(&subscription(&browser), &message("hello"), at).await;
    assert_eq!(report.outcome, DeliveryOutcome::RetryLater { not_before: Some(date) });
    assert_eq!(policy.next_step(&report.outcome, 2, at, 1.0), NextStep::RetryAt(date), "past the backoff ceiling");

    receiver.reply(&browser, Reply::status(429));
    let report = sender.send(&subscription(&browser), &message("hello"), at).await;
    assert_eq!(report.outcome, DeliveryOutcome::RetryLater { not_before: None }, "no Retry-After: back off");
    assert_eq!(policy.next_step(&report.outcome, 3, at, 1.0), NextStep::RetryAt(at + TimeDelta::seconds(40)));

    receiver.reply(&browser, Reply::status(406));
    let report = sender.send(&subscription(&browser), &message("hello"), at).await;
    assert_eq!(
        report.outcome,
        DeliveryOutcome::RetryLater { not_before: None },
        "406 throttles; keep the subscription"
    );
    assert_eq!(receiver.requests(&browser), 4);
}

#[tokio::test]
async fn server_errors_back_off_further_each_time_then_the_message_is_dead() {
    let policy = RetryPolicy { base: Duration::from_secs(2), cap: Duration::from_secs(5), max_attempts: 4 };
    let receiver = PushReceiver::start().await;
    receiver.reply_to_all(Reply::status(500));
    let browser = receiver.subscribe();
    let sender = sender();
    let at = now();
    let mut steps = Vec::new();
    for attempt in 1..=policy.max_attempts {
        let report = sender.send(&subscription(&browser), &message("hello"), at).await;
        assert_eq!((report.outcome, report.status), (DeliveryOutcome::RetryLater { not_before: None }, Some(500)));
        steps.push(policy.next_step(&report.outcome, attempt, at, 1.0));
    }
    let seconds = |s| NextStep::RetryAt(at + TimeDelta::seconds(s));
    assert_eq!(steps, [seconds(2), seconds(4), seconds(5), NextStep::Dead(DeadReason::AttemptsExhausted)]);
    assert_eq!(receiver.requests(&browser), 4);
}

#[tokio::test]
async fn a_hung_push_service_times_out_while_other_sends_go_through() {
    let receiver = PushReceiver::start().await;
    let (hung, healthy) = (receiver.subscribe(), receiver.subscribe());
    receiver.reply(&hung, Reply::Hang);
    let timeout = Duration::from_millis(1500);
    let sender = std::sync::Arc::new(sender_with_timeout(timeout));

    let stuck = tokio::spawn({
        let (sender, subscription) = (sender.clone(), subscription(&hung));
        async move { sender.send(&subscription, &message("hello"), now()).await }
    });
    receiver.wait_for_requests(&hung, 1, Duration::from_secs(5)).await;
    let report = sender.send(&subscription(&healthy), &message("hello"), now()).await;
    assert_eq!(report.outcome, DeliveryOutcome::Sent);
    assert!(!stuck.is_finished(), "the healthy send finished while the hung one was still waiting");
    assert_eq!(receiver.received(&healthy)[0].text(), "hello");

    let report = stuck.await.expect("send task");
    assert_eq!(report.failure, Some(SendFailure::Timeout), "{report:?}");
    assert_eq!(report.outcome, DeliveryOutcome::RetryLater { not_before: None });
    assert_eq!(report.status, None);
    assert!(report.elapsed >= timeout, "{:?}", report.elapsed);
    assert!(report.elapsed < timeout * 4, "{:?}", report.elapsed);
}

#[tokio::test]
async fn a_push_service_that_is_not_listening_is_retried() {
    let receiver = PushReceiver::start().await;
    let browser = receiver.subscribe();
    let subscription = subscription(&browser);
    drop(receiver);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let report = sender().send(&subscription, &message("hello"), now()).await;
    assert_eq!(report.outcome, DeliveryOutcome::RetryLater { not_before: None }, "{report:?}");
    assert!(matches!(report.failure, Some(SendFailure::Connect | SendFailure::Transport)), "{report:?}");
}

#[tokio::test]
async fn invalid_keys_and_endpoints_are_refused() {
    let receiver = PushReceiver::start().await;
    let browser = receiver.subscribe();
    let production = EndpointPolicy::default();

    let refused = Subscription::parse(&browser.endpoint, &browser.p256dh, &browser.auth, &production).unwrap_err();
    assert_eq!(refused, SubscriptionProblem::Endpoint(EndpointProblem::NotHttps));
    for (endpoint, problem) in [
        ("https://10.1.2.3/push/1", EndpointProblem::PrivateAddress),
        ("https://[fe80::1]/push/1", EndpointProblem::PrivateAddress),
        ("https://203.0.113.7/push/1", EndpointProblem::PrivateAddress),
        ("https://93.184.215.14/push/1", EndpointProblem::IpLiteral),
        ("https://push.evil.example/x", EndpointProblem::HostNotAllowed),
        ("https://user@fcm.googleapis.com/fcm/send/x", EndpointProblem::Userinfo),
    ] {
        let err = Subscription::parse(endpoint, &browser.p256dh, &browser.auth, &loopback()).unwrap_err();
        assert_eq!(err, SubscriptionProblem::Endpoint(problem), "{endpoint}");
    }
    let short_auth = URL_SAFE_NO_PAD.encode([7u8; 12]);
    let err = Subscription::parse(&browser.endpoint, &browser.p256dh, &short_auth, &loopback()).unwrap_err();
    assert_eq!(err.field(), "keys.auth");
    let err = Subscription::parse(&browser.endpoint, &browser.auth, &browser.auth, &loopback()).unwrap_err();
    assert_eq!(err.field(), "keys.p256dh");

    // A subscription stored under a looser policy is not sent to once the policy refuses it.
    let strict = PushSender::new(
        VapidSigner::new(VapidKeys::generate(), VapidSubject::parse(SUBJECT).unwrap()),
        production,
        Duration::from_secs(2),
        Duration::from_secs(5),
    )
    .unwrap();
    let report = strict.send(&subscription(&browser), &message("hello"), now()).await;
    assert_eq!(report.outcome, DeliveryOutcome::Rejected);
    assert_eq!(report.failure, Some(SendFailure::EndpointRefused(EndpointProblem::NotHttps)));
    assert_eq!(receiver.total_requests(), 0);
}

#[tokio::test]
async fn a_sender_from_settings_creates_its_key_file_and_delivers() {
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("vapid_private_key");
    let settings = test_settings(
        "sqlite::memory:",
        "",
        &[
            ("push.allow_loopback", json!(true)),
            ("push.vapid_private_key", json!("")),
            ("push.vapid_private_key_file", json!(key_file)),
            ("push.vapid_subject", json!("https://aftercare.example/contact")),
            ("push.request_timeout_ms", json!(3000)),
        ],
    );
    let sender = PushSender::from_settings(&settings.push).expect("sender");
    let kept = VapidKeys::load_or_create(&key_file).expect("the key file was written");
    assert_eq!(kept.public_key_base64url(), sender.vapid_public_key());
    assert_eq!(PushSender::from_settings(&settings.push).unwrap().vapid_public_key(), sender.vapid_public_key());

    let receiver = PushReceiver::start().await;
    let browser = receiver.subscribe();
    let subscription = Subscription::parse(&browser.endpoint, &browser.p256dh, &browser.auth, sender.policy()).unwrap();
    let report = sender.send(&subscription, &message("from settings"), now()).await;
    assert_eq!(report.outcome, DeliveryOutcome::Sent, "{report:?}");
    let got = &receiver.received(&browser)[0];
    assert_eq!(got.text(), "from settings");
    assert_eq!(got.vapid.as_ref().unwrap().sub, "https://aftercare.example/contact");
    let policy = RetryPolicy::from_settings(&settings.push);
    assert_eq!((policy.max_attempts, policy.base), (8, Duration::from_secs(30)));
}

mod receiver {
    //! The receiver is only a cross-check if it is right on its own.
    use p256::SecretKey;

    use super::*;

    fn b64(text: &str) -> Vec<u8> {
        URL_SAFE_NO_PAD.decode(text).unwrap()
    }

    #[test]
    fn it_decrypts_the_worked_example_of_rfc_8291() {
        // RFC 8291 §5, with every intermediate value it publishes.
        let ua_private = SecretKey::from_slice(&b64("q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94")).unwrap();
        let as_public = b64("BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8");
        let auth = b64("BTBZMqHH6r4Tts7J_aSIgg");
        let salt = b64("DGv6ra1nlYgDCS1FRnbzlw");
        let message = b64(
            "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN",
        );
        use p256::elliptic_curve::sec1::ToEncodedPoint as _;
        assert_eq!(
            URL_SAFE_NO_PAD.encode(ua_private.public_key().to_encoded_point(false).as_bytes()),
            "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"
        );

        let keys = derive_keys(&ua_private, &auth, &salt, &as_public).unwrap();
        assert_eq!(URL_SAFE_NO_PAD.encode(&keys.ecdh_secret), "kyrL1jIIOHEzg3sM2ZWRHDRB62YACZhhSlknJ672kSs");
        assert_eq!(URL_SAFE_NO_PAD.encode(&keys.prk_key), "Snr3JMxaHVDXHWJn5wdC52WjpCtd2EIEGBykDcZW32k");
        assert_eq!(URL_SAFE_NO_PAD.encode(&keys.ikm), "S4lYMb_L0FxCeq0WhDx813KgSYqU26kOyzWUdsXYyrg");
        assert_eq!(URL_SAFE_NO_PAD.encode(&keys.prk), "09_eUZGrsvxChDCGRCdkLiDXrReGOEVeSCdCcPBSJSc");
        assert_eq!(URL_SAFE_NO_PAD.encode(keys.cek), "oIhVW04MRdy2XN9CiKLxTg");
        assert_eq!(URL_SAFE_NO_PAD.encode(keys.nonce), "4h_95klXJ5E_qnoN");

        let plaintext = decrypt(&ua_private, &auth, &message).unwrap();
        assert_eq!(plaintext, b"When I grow up, I want to be a watermelon");
        assert_eq!(URL_SAFE_NO_PAD.encode(&plaintext), "V2hlbiBJIGdyb3cgdXAsIEkgd2FudCB0byBiZSBhIHdhdGVybWVsb24");

        // Any other auth secret, or a flipped bit, fails authentication.
        assert!(decrypt(&ua_private, &[0u8; 16], &message).is_err());
        let mut tampered = message.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(decrypt(&ua_private, &auth, &tampered).is_err());
        assert!(decrypt(&ua_private, &auth, &message[..40]).is_err());
    }

    #[test]
    fn it_refuses_tokens_a_push_service_would_refuse() {
        let signer = VapidSigner::new(VapidKeys::generate(), VapidSubject::parse(SUBJECT).unwrap());
        let at = now();
        let endpoint = url::Url::parse("http://127.0.0.1:4000/push/1").unwrap();
        let value = signer.authorization_header(&endpoint, at);
        let header = value.to_str().unwrap().to_owned();
        assert!(verify_vapid(&header, "http://127.0.0.1:4000", at).is_ok());
        assert!(verify_vapid(&header, "http://127.0.0.1", at).unwrap_err().contains("aud"));
        assert!(
            verify_vapid(&header, "http://127.0.0.1:4000", at + TimeDelta::hours(13)).unwrap_err().contains("expired")
        );
        assert!(
            verify_vapid(&header, "http://127.0.0.1:4000", at - TimeDelta::hours(13)).unwrap_err().contains("24 hours")
        );
        let foreign_key = VapidKeys::generate().public_key_base64url();
        let swapped = format!("{}k={foreign_key}", header.split("k=").next().unwrap());
        assert!(verify_vapid(&swapped, "http://127.0.0.1:4000", at).unwrap_err().contains("signature"));
        assert!(verify_vapid("Bearer x", "http://127.0.0.1:4000", at).is_err());
    }
}
