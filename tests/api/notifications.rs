//! Push subscriptions, the outbox dispatcher and reminders, end to end through a real Web Push
//! receiver that decrypts every message and verifies its VAPID token.

use std::time::Duration;

use aftercare::domain::notifications::Kind;
use aftercare::service::notifications::Notice;
use aftercare::store::DeliveryResult;
use aftercare::worker::dispatcher::dispatch_once;
use chrono::{DateTime, TimeDelta, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{Backend, TestApp, Tokens, assert_problem, on_both_backends, problem_fields, spawn_app_with};
use crate::push_receiver::{BrowserSubscription, PushReceiver, Reply};

impl TestApp {
    /// Registers a receiver subscription for the account, as the app would.
    pub async fn register_device(&self, tokens: &Tokens, browser: &BrowserSubscription) -> Value {
        let body = json!({
            "endpoint": browser.endpoint,
            "keys": {"p256dh": browser.p256dh, "auth": browser.auth},
            "expirationTime": null,
            "device_label": "test phone",
        });
        let response = self.post("/v1/push/subscriptions", Some(&tokens.access), &body).await;
        assert!(response.status().is_success(), "{}", response.status());
        response.json().await.unwrap()
    }

    pub async fn inbox(&self, tokens: &Tokens) -> Vec<Value> {
        let page = self.get("/v1/notifications", &tokens.access).await.json::<Value>().await.unwrap();
        page["items"].as_array().unwrap().clone()
    }

    /// Moves the clock and lets the dispatcher look again.
    pub fn advance(&self, by: TimeDelta) {
        self.clock.advance(by);
        self.state.wake_dispatcher();
    }

    pub async fn round(&self) {
        dispatch_once(&self.state, "test-dispatcher").await.expect("dispatch round");
    }

    pub async fn account_id(&self, tokens: &Tokens) -> Uuid {
        let me: Value = self.get("/v1/me", &tokens.access).await.json().await.unwrap();
        me["id"].as_str().unwrap().parse().unwrap()
    }
}

/// A push service that never answers outlasts the dispatcher's shutdown grace, not the test.
static SHORT_SHUTDOWN_GRACE: std::sync::LazyLock<[(&str, Value); 3]> = std::sync::LazyLock::new(|| {
    [
        ("dispatcher.shutdown_grace_seconds", json!(1)),
        ("push.request_timeout_ms", json!(60_000)),
        ("dispatcher.idle_poll_seconds", json!(IDLE_POLL)),
    ]
});

/// A background dispatcher that would sleep for five minutes when nothing is due: what arrives
/// within seconds was brought by a wake-up, not by its poll.
const IDLE_POLL: u64 = 300;
static WOKEN: std::sync::LazyLock<[(&str, Value); 1]> =
    std::sync::LazyLock::new(|| [("dispatcher.idle_poll_seconds", json!(IDLE_POLL))]);
/// How long a woken dispatcher may take to deliver: a bound on liveness, far below the poll.
const PROMPTLY: Duration = Duration::from_secs(5);

/// Tests that step the dispatcher by hand turn the background one off.
const MANUAL: [(&str, Value); 1] = [("dispatcher.enabled", Value::Bool(false))];

fn payload(received: &crate::push_receiver::Received) -> Value {
    serde_json::from_str(&received.text()).expect("JSON payload")
}

async fn patient_with_device(app: &TestApp, receiver: &PushReceiver, email: &str) -> (Tokens, BrowserSubscription) {
    let tokens = app.patient(email).await;
    let browser = receiver.subscribe();
    app.register_device(&tokens, &browser).await;
    (tokens, browser)
}

on_both_backends! {
    async fn a_test_notification_arrives_decrypted_with_the_right_headers(app) with WOKEN {
        let receiver = PushReceiver::start().await;
        receiver.set_now(app.clock_now());
        let (ana, phone) = patient_with_device(&app, &receiver, "ana@example.org").await;
        let response = app.post("/v1/notifications/test", Some(&ana.access), &json!({})).await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        assert!(response.headers().get("cache-control").is_some());
        let id = response.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();

        // The background dispatcher is woken at once; no polling interval to wait out.
        receiver.wait_for_requests(&phone, 1, PROMPTLY).await;
        let got = &receiver.received(&phone)[0];
        let claims = got.vapid.as_ref().expect("valid VAPID token");
        assert_eq!(claims.aud, receiver.origin(), "aud carries the port");
        assert_eq!(claims.sub, "mailto:operations@aftercare.example.org");
        assert_eq!(got.content_encoding.as_deref(), Some("aes128gcm"));
        assert_eq!(got.ttl.as_deref(), Some("300"));
        assert_eq!(got.urgency.as_deref(), Some("normal"));
        assert_eq!(got.topic.as_ref().map(String::len), Some(32));
        let body = payload(got);
        assert_eq!(body["kind"], "test");
        assert_eq!(body["id"], id.as_str());
        assert_eq!(body["link"], "/notifications");

        let mut sent = false;
        for _ in 0..100 {
            let items = app.inbox(&ana).await;
            if items.iter().any(|n| n["id"] == id.as_str() && n["status"] == "sent") {
                sent = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        assert!(sent, "the inbox shows the test as sent");
        let response = app.request(Method::POST, &format!("/v1/notifications/{id}/read"), Some(&ana.access), None).await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        let item = app.inbox(&ana).await.into_iter().find(|n| n["id"] == id.as_str()).unwrap();
        assert_eq!(item["read"], true);
        let vapid: Value = app.client.get(app.url("/v1/push/vapid-public-key")).send().await.unwrap().json().await.unwrap();
        assert_eq!(vapid["public_key"].as_str(), Some(claims.public_key.as_str()));
    }

    async fn the_same_dedupe_key_twice_is_one_push(app) with WOKEN {
        let receiver = PushReceiver::start().await;
        receiver.set_now(app.clock_now());
        let (ana, phone) = patient_with_device(&app, &receiver, "ana@example.org").await;
        let account_id = app.account_id(&ana).await;
        let notice = Notice {
            account_id,
            kind: Kind::Aftercare,
            dedupe_key: "aftercare:step-1".into(),
            link: "/aftercare".into(),
            due_at: app.clock_now(),
            subject_date: None,
        };
        assert!(app.state.notify(notice.clone(), false).await.unwrap().is_some());
        assert!(app.state.notify(notice, false).await.unwrap().is_none());
        receiver.wait_for_requests(&phone, 1, PROMPTLY).await;
        app.round().await;
        app.round().await;
        assert_eq!(receiver.requests(&phone), 1);
        assert_eq!(app.inbox(&ana).await.iter().filter(|n| n["kind"] == "aftercare").count(), 1);
    }

    async fn gone_subscriptions_are_removed(app) with WOKEN {
        let receiver = PushReceiver::start().await;
        receiver.set_now(app.clock_now());
        let (ana, phone) = patient_with_device(&app, &receiver, "ana@example.org").await;
        receiver.reply(&phone, Reply::status(410));
        app.post("/v1/notifications/test", Some(&ana.access), &json!({})).await;
        receiver.wait_for_requests(&phone, 1, PROMPTLY).await;
        for _ in 0..100 {
            let list: Value = app.get("/v1/push/subscriptions", &ana.access).await.json().await.unwrap();
            if list["items"].as_array().unwrap().is_empty() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the 410 subscription was not removed");
    }

    async fn too_many_requests_waits_for_retry_after(app) with MANUAL {
        let receiver = PushReceiver::start().await;
        receiver.set_now(app.clock_now());
        let (ana, phone) = patient_with_device(&app, &receiver, "ana@example.org").await;
        receiver.reply(&phone, Reply::retry_after(429, "120"));
        app.post("/v1/notifications/test", Some(&ana.access), &json!({})).await;
        app.round().await;
        assert_eq!(receiver.requests(&phone), 1);
        receiver.reply(&phone, Reply::status(201));
        // Not before the two minutes are up.
        app.advance(TimeDelta::seconds(110));
        app.round().await;
        assert_eq!(receiver.requests(&phone), 1);
        app.advance(TimeDelta::seconds(11));
        receiver.set_now(app.clock_now());
        app.round().await;
        assert_eq!(receiver.requests(&phone), 2);
        assert!(receiver.received(&phone).last().unwrap().vapid.is_ok());
    }

    async fn server_errors_back_off_and_finally_go_dead(app) with MANUAL {
        let receiver = PushReceiver::start().await;
        receiver.set_now(app.clock_now());
        let (ana, phone) = patient_with_device(&app, &receiver, "ana@example.org").await;
        receiver.reply(&phone, Reply::status(500));
        app.post("/v1/notifications/test", Some(&ana.access), &json!({})).await;
        app.round().await;
        assert_eq!(receiver.requests(&phone), 1);
        // Each retry waits longer; advancing an hour at a time outruns the capped backoff.
        // (The evening's daily reminder comes due on the way: count the test message only.)
        let tests_sent = || receiver.received(&phone).iter().filter(|r| payload(r)["kind"] == "test").count();
        for attempt in 2..=8 {
            app.advance(TimeDelta::hours(1));
            receiver.set_now(app.clock_now());
            app.round().await;
            assert_eq!(tests_sent(), attempt, "attempt {attempt}");
        }
        app.advance(TimeDelta::hours(2));
        receiver.set_now(app.clock_now());
        app.round().await;
        assert_eq!(tests_sent(), 8, "eight attempts, then it is dead");
        let ana = app.sign_in("ana@example.org").await;
        let items = app.inbox(&ana).await;
        assert_eq!(items.iter().find(|n| n["kind"] == "test").unwrap()["status"], "failed");
        // The subscription itself is kept: a 500 is not the device's fault.
        let list: Value = app.get("/v1/push/subscriptions", &ana.access).await.json().await.unwrap();
        assert_eq!(list["items"].as_array().unwrap().len(), 1);
    }

    async fn a_crashed_dispatchers_lease_is_rescued(app) with MANUAL {
        let receiver = PushReceiver::start().await;
        receiver.set_now(app.clock_now());
        let (ana, phone) = patient_with_device(&app, &receiver, "ana@example.org").await;
        let account_id = app.account_id(&ana).await;
        let now = app.clock_now();
        // Scheduled a minute ago, then claimed by a dispatcher that died holding the lease.
        let notice = Notice { account_id, kind: Kind::Aftercare, dedupe_key: "aftercare:x".into(), link: "/".into(), due_at: now - TimeDelta::minutes(1), subject_date: None };
        app.state.store.schedule(&aftercare_notification(&notice, now), false).await.unwrap();
        app.state.store.fan_out_due(now, app.state.push.vapid_public_key()).await.unwrap();
        let claimed = app.state.store.claim_deliveries(now, now + TimeDelta::seconds(120), "crashed", 10).await.unwrap();
        assert_eq!(claimed.len(), 1);
        app.round().await;
        assert_eq!(receiver.requests(&phone), 0, "the lease still holds");
        app.advance(TimeDelta::seconds(121));
        receiver.set_now(app.clock_now());
        app.round().await;
        assert_eq!(receiver.requests(&phone), 1, "delivered after the lease expired");
    }

    async fn shutdown_hands_back_a_delivery_stuck_on_a_hung_push_service(app) with SHORT_SHUTDOWN_GRACE {
        let mut app = app;
        let receiver = PushReceiver::start().await;
        receiver.set_now(app.clock_now());
        let (ana, phone) = patient_with_device(&app, &receiver, "ana@example.org").await;
        receiver.reply(&phone, Reply::Hang);
        app.post("/v1/notifications/test", Some(&ana.access), &json!({})).await;
        receiver.wait_for_requests(&phone, 1, PROMPTLY).await;
        let leased = "SELECT count(*) FROM push_deliveries WHERE state = 'leased' AND lease_owner IS NOT NULL";
        assert_eq!(app.count(leased, None).await, 1, "the send is under way");

        // The push service never answers; shutdown does not wait out the 60 s request timeout
        // (the test would), and the delivery is queued again as if it had never been tried.
        app.stop().await.expect("clean stop");
        let handed_back = "SELECT count(*) FROM push_deliveries
                           WHERE state = 'pending' AND lease_owner IS NULL AND lease_until IS NULL
                             AND attempts = 0 AND last_error IS NULL";
        assert_eq!(app.count(handed_back, None).await, 1);
        assert_eq!(app.count("SELECT count(*) FROM push_deliveries", None).await, 1);
    }

    async fn a_device_label_longer_than_100_or_with_control_characters_is_refused(app) {
        let ana = app.patient("ana@example.org").await;
        let receiver = PushReceiver::start().await;
        let good = receiver.subscribe();
        for label in ["x".repeat(101), "Ana's\u{7}phone".to_owned()] {
            let body = json!({"endpoint": "https://fcm.googleapis.com/fcm/send/abc", "keys": {"p256dh": good.p256dh, "auth": good.auth}, "device_label": label});
            let problem = assert_problem(app.post("/v1/push/subscriptions", Some(&ana.access), &body).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
            assert_eq!(problem_fields(&problem), ["device_label"], "{label:?}");
        }
        let list: Value = app.get("/v1/push/subscriptions", &ana.access).await.json().await.unwrap();
        assert!(list["items"].as_array().unwrap().is_empty(), "nothing was registered");
        let body = json!({"endpoint": "https://fcm.googleapis.com/fcm/send/abc", "keys": {"p256dh": good.p256dh, "auth": good.auth}, "device_label": "x".repeat(100)});
        assert_eq!(app.post("/v1/push/subscriptions", Some(&ana.access), &body).await.status(), StatusCode::CREATED);
    }

    async fn subscriptions_are_validated_against_the_ssrf_guard(app) {
        let ana = app.patient("ana@example.org").await;
        let receiver = PushReceiver::start().await;
        let good = receiver.subscribe();
        for endpoint in [
            "http://fcm.googleapis.com/fcm/send/abc",
            "https://10.0.0.1/push/abc",
            "https://192.168.1.20/push/abc",
            "https://[fd00::1]/push/abc",
            // Public addresses too: a push service is reached by its name, never by an address.
            "https://8.8.8.8/push/abc",
            "https://[2001:4860:4860::8888]/push/abc",
            "https://push.evil.example/abc",
            "https://fcm.googleapis.com.evil.example/abc",
            "https://user:pw@fcm.googleapis.com/abc",
            "ftp://fcm.googleapis.com/abc",
        ] {
            let body = json!({"endpoint": endpoint, "keys": {"p256dh": good.p256dh, "auth": good.auth}});
            let problem = assert_problem(app.post("/v1/push/subscriptions", Some(&ana.access), &body).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
            assert_eq!(problem_fields(&problem), ["endpoint"], "{endpoint}");
        }
        let allowed = json!({"endpoint": "https://fcm.googleapis.com/fcm/send/abc123", "keys": {"p256dh": good.p256dh, "auth": good.auth}});
        assert_eq!(app.post("/v1/push/subscriptions", Some(&ana.access), &allowed).await.status(), StatusCode::CREATED);
        assert_eq!(app.post("/v1/push/subscriptions", Some(&ana.access), &allowed).await.status(), StatusCode::OK, "re-registering updates");
        for (keys, field) in [
            (json!({"p256dh": "not-a-key", "auth": good.auth}), "keys.p256dh"),
            (json!({"p256dh": good.p256dh, "auth": "AAAA"}), "keys.auth"),
        ] {
            let body = json!({"endpoint": "https://fcm.googleapis.com/fcm/send/x", "keys": keys});
            let problem = assert_problem(app.post("/v1/push/subscriptions", Some(&ana.access), &body).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
            assert_eq!(problem_fields(&problem), [field]);
        }
        let list: Value = app.get("/v1/push/subscriptions", &ana.access).await.json().await.unwrap();
        let items = list["items"].as_array().unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0]["push_service"], "https://fcm.googleapis.com");
        assert!(!list.to_string().contains("abc123"), "the endpoint secret is not echoed");
        // Another patient cannot remove it.
        let bob = app.patient("bob@example.org").await;
        let id = items[0]["id"].as_str().unwrap();
        let response = app.request(Method::DELETE, &format!("/v1/push/subscriptions/{id}"), Some(&bob.access), None).await;
        assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
        let response = app.request(Method::DELETE, &format!("/v1/push/subscriptions/{id}"), Some(&ana.access), None).await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
    }

    async fn the_daily_reminder_fires_at_20_local_unless_the_day_is_logged(app) with MANUAL {
        // Sunday 2026-03-08 in New York: clocks spring forward at 02:00; 20:00 EDT is 00:00Z.
        app.clock.set("2026-03-08T12:00:00Z".parse().unwrap());
        let receiver = PushReceiver::start().await;
        let ana = app.patient_in("ana@example.org", "America/New_York").await;
        let phone = receiver.subscribe();
        app.register_device(&ana, &phone).await;
        let items = app.inbox(&ana).await;
        let daily: Vec<&Value> = items.iter().filter(|n| n["kind"] == "daily_reminder").collect();
        let due: Vec<&str> = daily.iter().map(|n| n["due_at"].as_str().unwrap()).collect();
        let due: Vec<DateTime<Utc>> = due.iter().map(|d| d.parse().unwrap()).collect();
        assert!(due.contains(&"2026-03-09T00:00:00Z".parse().unwrap()), "{due:?}");
        assert!(daily.iter().all(|n| n["status"] == "scheduled"));

        app.clock.set("2026-03-09T00:00:05Z".parse().unwrap());
        receiver.set_now(app.clock_now());
        app.round().await;
        assert_eq!(receiver.requests(&phone), 1);
        let got = payload(&receiver.received(&phone)[0]);
        assert_eq!(got["kind"], "daily_reminder");
        assert_eq!(got["link"], "/journal/new?date=2026-03-08");
        assert!(!got.to_string().contains("pain"), "no health details on the lock screen");

        // The planner's next run adds the next day's; logging that day first skips it.
        app.state.plan_all_reminders().await.unwrap();
        let entry = json!({"recorded_at": "2026-03-09T22:00:00Z", "pain": 3}); // 18:00 EDT on the 9th
        app.clock.set("2026-03-09T22:30:00Z".parse().unwrap());
        let ana = app.sign_in("ana@example.org").await;
        assert_eq!(app.put_entry(&ana.access, Uuid::new_v4(), &entry).await.status(), StatusCode::CREATED);
        app.clock.set("2026-03-10T00:00:05Z".parse().unwrap());
        receiver.set_now(app.clock_now());
        app.round().await;
        assert_eq!(receiver.requests(&phone), 1, "no reminder for a day already logged");
        let ana = app.sign_in("ana@example.org").await;
        let items = app.inbox(&ana).await;
        assert!(!items.iter().any(|n| n["link"] == "/journal/new?date=2026-03-09"), "skipped reminders leave the inbox");

        // Reminders off: planned ones are cancelled.
        let off = json!({"daily_enabled": false, "daily_time": "20:00", "weekly_peg_enabled": false, "weekly_peg_weekday": "sunday", "weekly_peg_time": "18:00"});
        let response = app.request(Method::PUT, "/v1/me/reminders", Some(&ana.access), Some(&off)).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(app.inbox(&ana).await.iter().all(|n| n["status"] != "scheduled"));
        let bad = json!({"daily_enabled": true, "daily_time": "8pm", "weekly_peg_enabled": false, "weekly_peg_weekday": "caturday", "weekly_peg_time": "18:00"});
        let problem = assert_problem(app.request(Method::PUT, "/v1/me/reminders", Some(&ana.access), Some(&bad)).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(problem_fields(&problem), ["weekly_peg_weekday"]);
    }
}

pub fn aftercare_notification(notice: &Notice, now: DateTime<Utc>) -> aftercare::store::NewNotification {
    aftercare::store::NewNotification {
        id: Uuid::now_v7(),
        account_id: notice.account_id,
        dedupe_key: notice.dedupe_key.clone(),
        kind: notice.kind,
        title: notice.kind.title().into(),
        body: notice.kind.body().into(),
        link: notice.link.clone(),
        ttl: notice.kind.ttl(),
        urgency: notice.kind.urgency(),
        topic: aftercare::push::Topic::derive(&notice.dedupe_key).as_str().to_owned(),
        due_at: notice.due_at,
        subject_date: notice.subject_date,
        about_patient_id: None,
        created_at: now,
    }
}

/// Long enough that the hung send is still waiting when the healthy one arrives.
static HUNG_SERVICE_TIMEOUT: std::sync::LazyLock<[(&str, Value); 2]> = std::sync::LazyLock::new(|| {
    [("push.request_timeout_ms", json!(4000)), ("dispatcher.idle_poll_seconds", json!(IDLE_POLL))]
});

on_both_backends! {
    async fn a_hung_push_service_does_not_stall_other_deliveries(app) with HUNG_SERVICE_TIMEOUT {
        let receiver = PushReceiver::start().await;
        receiver.set_now(app.clock_now());
        let (ana, stuck) = patient_with_device(&app, &receiver, "ana@example.org").await;
        let (bob, fine) = patient_with_device(&app, &receiver, "bob@example.org").await;
        receiver.reply(&stuck, Reply::Hang);
        app.post("/v1/notifications/test", Some(&ana.access), &json!({})).await;
        receiver.wait_for_requests(&stuck, 1, PROMPTLY).await;
        app.post("/v1/notifications/test", Some(&bob.access), &json!({})).await;
        receiver.wait_for_requests(&fine, 1, PROMPTLY).await;
        // Bob's phone was served while Ana's send still held its lease.
        let still_leased = "SELECT count(*) FROM push_deliveries d JOIN notifications n ON n.id = d.notification_id
                            WHERE d.state = 'leased' AND d.attempts = 1 AND n.account_id = $1";
        let ana_id = app.account_id(&ana).await;
        assert_eq!(app.count(still_leased, Some(ana_id)).await, 1, "the healthy device did not wait for the hung one");

        // The hung one times out and waits for a retry, not stuck in a lease.
        let retrying =
            "SELECT count(*) FROM push_deliveries WHERE state = 'pending' AND attempts = 1 AND last_error IS NOT NULL";
        for _ in 0..200 {
            if app.count(retrying, None).await == 1 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the hung delivery never timed out");
    }
}

on_both_backends! {
    async fn a_burst_larger_than_a_fan_out_batch_is_delivered_in_full_by_the_running_dispatcher(app) with WOKEN {
        let receiver = PushReceiver::start().await;
        receiver.set_now(app.clock_now());
        let mut devices = Vec::new();
        for i in 0..2 {
            let (tokens, browser) = patient_with_device(&app, &receiver, &format!("p{i}@example.org")).await;
            devices.push((app.account_id(&tokens).await, browser));
        }
        // 1,100 due at once: three fan-out transactions of at most 500, the dispatcher sending
        // from the first while the next ones commit.
        let now = app.clock_now();
        let notifications: Vec<_> = devices
            .iter()
            .flat_map(|(account_id, _)| (0..550).map(move |n| (*account_id, n)))
            .map(|(account_id, n)| {
                let notice = Notice {
                    account_id,
                    kind: Kind::Aftercare,
                    dedupe_key: format!("aftercare:{n}"),
                    link: "/".into(),
                    due_at: now,
                    subject_date: None,
                };
                aftercare_notification(&notice, now)
            })
            .collect();
        assert_eq!(app.state.store.schedule_many(&notifications, false).await.unwrap(), 1100);
        app.state.dispatcher_wake.wake();
        for (_, browser) in &devices {
            receiver.wait_for_requests(browser, 550, Duration::from_secs(60)).await;
            let ids: std::collections::HashSet<String> =
                receiver.received(browser).iter().map(|r| payload(r)["id"].as_str().unwrap().to_owned()).collect();
            assert_eq!(ids.len(), 550, "each notification once");
        }
        assert_eq!(receiver.total_requests(), 1100);
        let left = "SELECT count(*) FROM notifications WHERE kind = 'aftercare' AND state = 'scheduled'";
        assert_eq!(app.count(left, None).await, 0);
    }
}

#[tokio::test]
async fn two_dispatchers_deliver_500_due_notifications_exactly_once() {
    let Some(app) = spawn_app_with(Backend::Postgres, &MANUAL).await else { return };
    let receiver = PushReceiver::start().await;
    receiver.set_now(app.clock_now());
    let mut devices = Vec::new();
    for i in 0..10 {
        let (tokens, browser) = patient_with_device(&app, &receiver, &format!("p{i}@example.org")).await;
        devices.push((app.account_id(&tokens).await, browser));
    }
    let now = app.clock_now();
    for (account_id, _) in &devices {
        for n in 0..50 {
            let notice = Notice {
                account_id: *account_id,
                kind: Kind::Aftercare,
                dedupe_key: format!("aftercare:{n}"),
                link: "/".into(),
                due_at: now,
                subject_date: None,
            };
            app.state.store.schedule(&aftercare_notification(&notice, now), false).await.unwrap();
        }
    }
    // Two dispatchers with their own connection pools, racing on one database.
    let second = aftercare::startup::Application::build_with_clock(
        crate::helpers::test_settings(&app.database_url, &std::env::var("TEST_REDIS_URL").unwrap(), &[]),
        app.clock.clone(),
    )
    .await
    .unwrap();
    let (a, b) = (app.state.clone(), second.state().clone());
    let run = |state: aftercare::service::AppState, owner: &'static str| async move {
        // Until neither this one found work nor anything is left pending or leased elsewhere.
        loop {
            let round = dispatch_once(&state, owner).await.unwrap();
            if round.sent == 0 && state.store.queue_stats().await.unwrap().depth == 0 {
                break;
            }
        }
    };
    tokio::join!(run(a, "dispatcher-a"), run(b, "dispatcher-b"));
    assert_eq!(receiver.total_requests(), 500);
    for (_, browser) in &devices {
        let ids: std::collections::HashSet<String> =
            receiver.received(browser).iter().map(|r| payload(r)["id"].as_str().unwrap().to_owned()).collect();
        assert_eq!(ids.len(), 50, "each notification once");
    }
    assert_eq!(app.count("SELECT count(*) FROM push_deliveries WHERE state = 'sent'", None).await, 500);
}

#[tokio::test]
async fn notifications_produced_while_fan_out_runs_all_get_their_delivery() {
    let Some(app) = spawn_app_with(Backend::Postgres, &MANUAL).await else { return };
    let receiver = PushReceiver::start().await;
    let (ana, _phone) = patient_with_device(&app, &receiver, "ana@example.org").await;
    let account_id = app.account_id(&ana).await;
    let now = app.clock_now();
    let key = app.state.push.vapid_public_key().to_owned();
    let producing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    // Fan-out runs over and over while four producers commit notifications that are already due.
    let fan_out = tokio::spawn({
        let (store, producing, key) = (app.state.store.clone(), producing.clone(), key.clone());
        async move {
            let mut rounds = 0u32;
            while producing.load(std::sync::atomic::Ordering::SeqCst) {
                store.fan_out_due(now, &key).await.unwrap();
                rounds += 1;
            }
            rounds
        }
    });
    let producers: Vec<_> = (0..4)
        .map(|p| {
            let store = app.state.store.clone();
            tokio::spawn(async move {
                for n in 0..100 {
                    let notice = Notice {
                        account_id,
                        kind: Kind::Aftercare,
                        dedupe_key: format!("aftercare:{p}:{n}"),
                        link: "/".into(),
                        due_at: now - TimeDelta::seconds(1),
                        subject_date: None,
                    };
                    assert!(store.schedule(&aftercare_notification(&notice, now), false).await.unwrap());
                }
            })
        })
        .collect();
    for producer in producers {
        producer.await.unwrap();
    }
    producing.store(false, std::sync::atomic::Ordering::SeqCst);
    assert!(fan_out.await.unwrap() > 1, "fan-out ran while the producers did");
    app.state.store.fan_out_due(now, &key).await.unwrap();

    let without_delivery = "SELECT count(*) FROM notifications n WHERE n.kind = 'aftercare'
                              AND NOT EXISTS (SELECT 1 FROM push_deliveries d WHERE d.notification_id = n.id)";
    assert_eq!(app.count(without_delivery, None).await, 0, "every notification has its delivery");
    let dispatched = "SELECT count(*) FROM notifications WHERE kind = 'aftercare' AND state = 'dispatched'";
    assert_eq!(app.count(dispatched, None).await, 400);
    assert_eq!(app.count("SELECT count(*) FROM push_deliveries", None).await, 400);
}

on_both_backends! {
    async fn a_notification_that_comes_due_after_a_round_is_delivered_by_a_later_one(app) with MANUAL {
        let receiver = PushReceiver::start().await;
        receiver.set_now(app.clock_now());
        let (ana, phone) = patient_with_device(&app, &receiver, "ana@example.org").await;
        let account_id = app.account_id(&ana).await;
        let now = app.clock_now();
        let notice = |key: &str, due_at| Notice { account_id, kind: Kind::Aftercare, dedupe_key: key.into(), link: "/".into(), due_at, subject_date: None };
        // Only aftercare pushes count: the ten minutes the clock moves may cross the time of the
        // patient's daily journal reminder, which then arrives too.
        let aftercare = || receiver.received(&phone).iter().filter(|r| payload(r)["kind"] == "aftercare").count();
        app.state.notify(notice("aftercare:soon", now + TimeDelta::minutes(10)), false).await.unwrap();
        app.round().await;
        assert_eq!(aftercare(), 0, "not due yet");
        // Produced after that round, already due: the next round still finds it.
        app.state.store.schedule(&aftercare_notification(&notice("aftercare:late", now - TimeDelta::minutes(1)), now), false).await.unwrap();
        app.round().await;
        assert_eq!(aftercare(), 1);
        app.advance(TimeDelta::minutes(10));
        receiver.set_now(app.clock_now());
        app.round().await;
        assert_eq!(aftercare(), 2);
        let without_delivery = "SELECT count(*) FROM notifications n WHERE n.kind = 'aftercare' AND n.state = 'dispatched'
                                  AND NOT EXISTS (SELECT 1 FROM push_deliveries d WHERE d.notification_id = n.id)";
        assert_eq!(app.count(without_delivery, None).await, 0);
    }

    async fn a_late_outcome_of_a_lease_taken_over_does_not_overwrite_the_newer_one(app) with MANUAL {
        let receiver = PushReceiver::start().await;
        let (ana, _phone) = patient_with_device(&app, &receiver, "ana@example.org").await;
        let account_id = app.account_id(&ana).await;
        let store = &app.state.store;
        let now = app.clock_now();
        let notice = Notice { account_id, kind: Kind::Aftercare, dedupe_key: "aftercare:slow".into(), link: "/".into(), due_at: now - TimeDelta::minutes(1), subject_date: None };
        store.schedule(&aftercare_notification(&notice, now), false).await.unwrap();
        store.fan_out_due(now, app.state.push.vapid_public_key()).await.unwrap();
        let first = store.claim_deliveries(now, now + TimeDelta::seconds(120), "first", 10).await.unwrap().remove(0);

        // The first send hangs past its lease; another dispatcher takes the delivery over.
        let later = now + TimeDelta::seconds(121);
        assert_eq!(store.rescue_expired_leases(later).await.unwrap(), 1);
        let second = store.claim_deliveries(later, later + TimeDelta::seconds(120), "second", 10).await.unwrap().remove(0);
        assert_eq!(second.id, first.id);
        assert_ne!(second.lease_owner, first.lease_owner);
        let dead = DeliveryResult::Dead { status: Some(400), error: "late".into() };
        let retry = DeliveryResult::Retry { at: later, status: Some(503), error: "late".into() };
        assert!(!store.complete_delivery(&first, &dead, later).await.unwrap(), "the old holder's failure is dropped");
        assert!(!store.complete_delivery(&first, &retry, later).await.unwrap());
        let held_by_second = "SELECT count(*) FROM push_deliveries WHERE state = 'leased' AND attempts = 2 AND last_error IS NULL AND lease_owner LIKE 'second:%'";
        assert_eq!(app.count(held_by_second, None).await, 1, "the new lease is untouched");

        // The holder's own outcome is recorded.
        let backoff = DeliveryResult::Retry { at: later + TimeDelta::seconds(30), status: Some(500), error: "500".into() };
        assert!(store.complete_delivery(&second, &backoff, later).await.unwrap());
        assert!(!store.complete_delivery(&second, &dead, later).await.unwrap(), "a lease is completed once");
        // The push service did take the first, slow message: the waiting retry is not needed.
        assert!(store.complete_delivery(&first, &DeliveryResult::Sent { status: 201 }, later).await.unwrap());
        assert_eq!(app.count("SELECT count(*) FROM push_deliveries WHERE state = 'sent' AND last_status = 201", None).await, 1);
        // Nothing late reopens a sent delivery.
        assert!(!store.complete_delivery(&second, &retry, later).await.unwrap());
        assert_eq!(app.count("SELECT count(*) FROM push_deliveries WHERE state = 'sent'", None).await, 1);
    }

    async fn the_weekly_peg_reminder_arrives_at_its_local_time(app) with MANUAL {
        // Wednesday 2026-03-25; Berlin moves to summer time on Sunday the 29th at 02:00, so
        // 18:00 that Sunday is 16:00Z where it was 17:00Z the Sunday before.
        app.clock.set("2026-03-25T12:00:00Z".parse().unwrap());
        let receiver = PushReceiver::start().await;
        let ana = app.patient_in("ana@example.org", "Europe/Berlin").await;
        let phone = receiver.subscribe();
        app.register_device(&ana, &phone).await;
        let weekly = json!({"daily_enabled": false, "daily_time": "20:00", "weekly_peg_enabled": true, "weekly_peg_weekday": "sunday", "weekly_peg_time": "18:00"});
        let response = app.request(Method::PUT, "/v1/me/reminders", Some(&ana.access), Some(&weekly)).await;
        assert_eq!(response.status(), StatusCode::OK);
        let planned: Vec<Value> = app.inbox(&ana).await.into_iter().filter(|n| n["kind"] == "weekly_peg").collect();
        assert_eq!(planned.len(), 1, "{planned:?}");
        assert_eq!(planned[0]["due_at"].as_str().unwrap().parse::<DateTime<Utc>>().unwrap(), "2026-03-29T16:00:00Z".parse::<DateTime<Utc>>().unwrap());
        assert_eq!(planned[0]["status"], "scheduled");

        app.clock.set("2026-03-29T15:59:00Z".parse().unwrap());
        app.round().await;
        assert_eq!(receiver.requests(&phone), 0, "not before 18:00 local");
        app.clock.set("2026-03-29T16:00:02Z".parse().unwrap());
        receiver.set_now(app.clock_now());
        app.round().await;
        assert_eq!(receiver.requests(&phone), 1);
        let got = &receiver.received(&phone)[0];
        assert_eq!(got.urgency.as_deref(), Some("low"));
        assert_eq!(got.ttl.as_deref(), Some("43200"));
        let body = payload(got);
        assert_eq!(body["kind"], "weekly_peg");
        assert_eq!(body["link"], "/questionnaires/peg");
        assert_eq!(body["id"], planned[0]["id"]);

        // The planner then plans the next Sunday's.
        app.state.plan_all_reminders().await.unwrap();
        let ana = app.sign_in("ana@example.org").await;
        let next: Vec<Value> = app.inbox(&ana).await.into_iter().filter(|n| n["kind"] == "weekly_peg" && n["status"] == "scheduled").collect();
        assert_eq!(next.len(), 1);
        assert_eq!(next[0]["due_at"].as_str().unwrap().parse::<DateTime<Utc>>().unwrap(), "2026-04-05T16:00:00Z".parse::<DateTime<Utc>>().unwrap());
    }

    async fn planning_more_patients_than_a_batch_plans_each_once(app) with MANUAL {
        use aftercare::domain::TimeZone;

        use crate::seed;
        app.clock.set("2026-03-10T12:00:00Z".parse().unwrap());
        let now = app.clock_now();
        // Straight to the store: 520 sign-ups over HTTP would only test the password hasher.
        let mut ids = Vec::new();
        for i in 0..520u32 {
            let zone = TimeZone::parse(if i % 2 == 0 { "Europe/Berlin" } else { "America/New_York" }).unwrap();
            ids.push(seed::create_patient(app.state.store.as_ref(), &format!("p{i}@example.org"), zone, None, now).await);
        }
        assert_eq!(app.state.plan_all_reminders().await.unwrap(), 520);
        let planned = |id: Uuid| {
            let store = app.state.store.clone();
            async move {
                let inbox = store.inbox(id, None, 50).await.unwrap();
                inbox.iter().filter(|n| n.kind == Kind::DailyReminder).map(|n| n.due_at).collect::<Vec<_>>()
            }
        };
        // Tonight at 20:00 local, whichever batch the patient fell into.
        let berlin = planned(ids[0]).await;
        assert!(berlin.contains(&"2026-03-10T19:00:00Z".parse().unwrap()), "{berlin:?}");
        let new_york = planned(ids[519]).await;
        assert!(new_york.contains(&"2026-03-11T00:00:00Z".parse().unwrap()), "{new_york:?}");
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(planned(*id).await, if i % 2 == 0 { berlin.clone() } else { new_york.clone() }, "patient {i}");
        }
        // A second pass changes nothing and duplicates nothing.
        assert_eq!(app.state.plan_all_reminders().await.unwrap(), 520);
        assert_eq!(planned(ids[0]).await, berlin);
        assert_eq!(planned(ids[519]).await, new_york);
    }
}

/// The value of the sample `name{labels}` (labels in any order) in a Prometheus text page; 0
/// when the series has not appeared yet.
fn sample(page: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    let mut wanted: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    wanted.sort();
    page.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (metric, found) = match series.split_once('{') {
                Some((metric, rest)) => {
                    (metric, rest.strip_suffix('}')?.split(',').map(str::to_owned).collect::<Vec<_>>())
                }
                None => (series, Vec::new()),
            };
            let mut found = found;
            found.sort();
            (metric == name && found == wanted).then(|| value.parse().ok()).flatten()
        })
        .unwrap_or(0.0)
}

static TWO_ATTEMPTS: std::sync::LazyLock<[(&str, Value); 2]> =
    std::sync::LazyLock::new(|| [("dispatcher.enabled", json!(false)), ("push.max_attempts", json!(2))]);

#[tokio::test]
async fn metrics_say_why_deliveries_failed() {
    let app = spawn_app_with(Backend::Sqlite, &*TWO_ATTEMPTS).await.unwrap();
    let receiver = PushReceiver::start().await;
    receiver.set_now(app.clock_now());
    let ana = app.patient("ana@example.org").await;
    let (gone, broken, too_large) = (receiver.subscribe(), receiver.subscribe(), receiver.subscribe());
    for (device, reply) in [(&gone, 410), (&broken, 500), (&too_large, 413)] {
        app.register_device(&ana, device).await;
        receiver.reply(device, Reply::status(reply));
    }
    let metrics = || async { app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap() };
    // Other tests in this process count too: compare with before, never with absolute values.
    let before = metrics().await;
    app.post("/v1/notifications/test", Some(&ana.access), &json!({})).await;
    app.round().await;
    app.advance(TimeDelta::hours(1));
    receiver.set_now(app.clock_now());
    app.round().await;
    // (Counting the test message only: the evening's daily reminder may come due on the way.)
    let tests_to = |device| receiver.received(device).iter().filter(|r| payload(r)["kind"] == "test").count();
    assert_eq!(tests_to(&broken), 2, "the 500 was tried twice, then given up");
    assert_eq!(receiver.requests(&gone), 1);
    let after = metrics().await;

    let grew = |name: &str, labels: &[(&str, &str)], by: f64| {
        let (was, is) = (sample(&before, name, labels), sample(&after, name, labels));
        assert!(is >= was + by, "{name}{labels:?} went from {was} to {is}, expected +{by}:\n{after}");
    };
    grew("push_deliveries_total", &[("outcome", "gone"), ("reason", "gone")], 1.0);
    grew("push_deliveries_total", &[("outcome", "retry"), ("reason", "server_error")], 2.0);
    grew("push_deliveries_total", &[("outcome", "rejected"), ("reason", "payload_too_large")], 1.0);
    grew("push_subscriptions_removed_total", &[], 1.0);
    grew("push_retries_total", &[("reason", "server_error")], 1.0);
    grew("push_dead_total", &[("reason", "attempts_exhausted")], 1.0);
    grew("push_dead_total", &[("reason", "payload_too_large")], 1.0);
    for gauge in ["push_queue_depth", "push_queue_oldest_due_seconds"] {
        assert!(after.lines().any(|l| l.starts_with(&format!("{gauge} "))), "{gauge}: {after}");
    }
    assert!(!after.contains(&receiver.origin()[7..]), "no endpoints in labels");
}

/// No key configured, and each instance with a key file path of its own: if the file were used,
/// every instance would make a key of its own.
fn without_a_configured_key(dir: &std::path::Path) -> Vec<(&'static str, Value)> {
    vec![("push.vapid_private_key", json!("")), ("push.vapid_private_key_file", json!(dir.join("vapid_private_key")))]
}

async fn served_vapid_key(client: &reqwest::Client, url: String) -> String {
    let body: Value = client.get(url).send().await.unwrap().json().await.unwrap();
    body["public_key"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn instances_on_one_postgres_database_serve_one_vapid_key() {
    let (dir_a, dir_b, dir_c) =
        (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let Some(app) = spawn_app_with(Backend::Postgres, &without_a_configured_key(dir_a.path())).await else { return };
    // Two more starting at the same moment.
    let (settings_b, settings_c) = (without_a_configured_key(dir_b.path()), without_a_configured_key(dir_c.path()));
    let (b, c) = tokio::join!(app.another_instance(&settings_b), app.another_instance(&settings_c));
    let key = served_vapid_key(&app.client, app.url("/v1/push/vapid-public-key")).await;
    assert_eq!(served_vapid_key(&app.client, b.url("/v1/push/vapid-public-key")).await, key);
    assert_eq!(served_vapid_key(&app.client, c.url("/v1/push/vapid-public-key")).await, key);
    let configured = aftercare::push::VapidKeys::parse(&crate::helpers::VAPID_TEST_KEY).unwrap().public_key_base64url();
    assert_ne!(key, configured, "a key of the deployment's own");
    for dir in [&dir_a, &dir_b, &dir_c] {
        assert!(!dir.path().join("vapid_private_key").exists(), "no key files: the database holds the key");
    }

    // A browser subscribed through one instance gets messages signed by another.
    let receiver = PushReceiver::start().await;
    receiver.set_now(app.clock_now());
    let (ana, phone) = patient_with_device(&app, &receiver, "ana@example.org").await;
    let account_id = app.account_id(&ana).await;
    let notice = Notice {
        account_id,
        kind: Kind::Aftercare,
        dedupe_key: "aftercare:via-b".into(),
        link: "/".into(),
        due_at: app.clock_now(),
        subject_date: None,
    };
    b.state.store.schedule(&aftercare_notification(&notice, app.clock_now()), false).await.unwrap();
    dispatch_once(&b.state, "dispatcher-b").await.unwrap();
    // The running dispatchers of the instances may have taken it first; one of them sends it.
    receiver.wait_for_requests(&phone, 1, Duration::from_secs(10)).await;
    assert_eq!(receiver.requests(&phone), 1);
    let claims = receiver.received(&phone)[0].vapid.clone().expect("a valid VAPID token");
    assert_eq!(claims.public_key, key);
}

#[tokio::test]
async fn a_key_file_from_a_single_instance_becomes_the_shared_key() {
    let dir = tempfile::tempdir().unwrap();
    let old = aftercare::push::VapidKeys::load_or_create(&dir.path().join("vapid_private_key")).unwrap();
    let Some(app) = spawn_app_with(Backend::Postgres, &without_a_configured_key(dir.path())).await else { return };
    let other_dir = tempfile::tempdir().unwrap();
    let other = app.another_instance(&without_a_configured_key(other_dir.path())).await;
    // Browsers subscribed with the old key keep receiving.
    assert_eq!(served_vapid_key(&app.client, app.url("/v1/push/vapid-public-key")).await, old.public_key_base64url());
    assert_eq!(served_vapid_key(&app.client, other.url("/v1/push/vapid-public-key")).await, old.public_key_base64url());
}

#[tokio::test]
async fn the_embedded_deployment_keeps_its_vapid_key_in_the_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_with(Backend::Sqlite, &without_a_configured_key(dir.path())).await.unwrap();
    let key = served_vapid_key(&app.client, app.url("/v1/push/vapid-public-key")).await;
    let kept = aftercare::push::VapidKeys::load_existing(&dir.path().join("vapid_private_key"))
        .unwrap()
        .expect("the key file");
    assert_eq!(kept.public_key_base64url(), key);
    assert_eq!(app.count("SELECT count(*) FROM vapid_keys", None).await, 0);
}

#[tokio::test]
async fn an_api_only_instance_wakes_another_instances_dispatcher_through_redis() {
    // The dispatching instance would sleep five minutes; only a wake-up brings the message sooner.
    let Some(app) = spawn_app_with(Backend::Postgres, &*WOKEN).await else { return };
    let api_only = app.another_instance(&[("dispatcher.enabled", json!(false))]).await;
    assert!(app.state.dispatcher_wake.is_shared());
    let receiver = PushReceiver::start().await;
    receiver.set_now(app.clock_now());
    let (ana, phone) = patient_with_device(&app, &receiver, "ana@example.org").await;
    let account_id = app.account_id(&ana).await;

    // An alert raised on the API-only instance.
    let notice = Notice {
        account_id,
        kind: Kind::UrgentAlert,
        dedupe_key: "alert:red-flag:1".into(),
        link: "/alerts".into(),
        due_at: app.clock_now(),
        subject_date: None,
    };
    api_only.state.notify(notice, false).await.unwrap().expect("created");
    receiver.wait_for_requests(&phone, 1, PROMPTLY).await;
    let got = &receiver.received(&phone)[0];
    assert_eq!(got.urgency.as_deref(), Some("high"));
    assert_eq!(payload(got)["kind"], "urgent_alert");
}

#[tokio::test]
async fn redis_wake_ups_reach_every_listening_instance_and_survive_a_lost_connection() {
    use aftercare::coordination::{RedisLink, RedisTimeouts, RedisWakeups, Wakeups as _};
    let Some(url) = crate::helpers::required_env("TEST_REDIS_URL") else { return };
    let timeouts = RedisTimeouts { connection: Duration::from_secs(2), response: Duration::from_secs(2) };
    let prefix = format!("aftercare-test:{}:", Uuid::new_v4().simple());
    let link = || RedisLink::standalone(&url.as_str().into(), timeouts).unwrap();
    let producer = RedisWakeups::new(link(), &prefix);
    let listener = std::sync::Arc::new(RedisWakeups::new(link(), &prefix));
    let elsewhere = RedisWakeups::new(link(), "aftercare-test:another-deployment:");
    let mut admin = redis::Client::open(url.as_str()).unwrap().get_multiplexed_async_connection().await.unwrap();
    let subscribers = || {
        let mut admin = admin.clone();
        async move {
            let list: String =
                redis::cmd("CLIENT").arg("LIST").arg("TYPE").arg("pubsub").query_async(&mut admin).await.unwrap();
            list.lines()
                .filter_map(|line| line.split(' ').find_map(|field| field.strip_prefix("id=")).map(str::to_owned))
                .collect::<std::collections::HashSet<String>>()
        }
    };
    let others = subscribers().await;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let listening = tokio::spawn({
        let listener = listener.clone();
        async move { listener.listen(stopped).await }
    });
    // Subscribing wakes once by itself (for what was published while nobody listened).
    tokio::time::timeout(PROMPTLY, listener.wait()).await.expect("woken on subscribing");

    elsewhere.wake();
    producer.wake();
    tokio::time::timeout(PROMPTLY, listener.wait()).await.expect("woken by the other instance");

    // Redis drops the subscriber's connection (and those of other tests that started listening
    // meanwhile, which reconnect as well); it subscribes again and hears the next one.
    let ours: Vec<String> = subscribers().await.difference(&others).cloned().collect();
    assert!(!ours.is_empty());
    for id in ours {
        let _: i64 = redis::cmd("CLIENT").arg("KILL").arg("ID").arg(&id).query_async(&mut admin).await.unwrap();
    }
    let mut heard = false;
    for _ in 0..20 {
        producer.wake();
        if tokio::time::timeout(Duration::from_millis(500), listener.wait()).await.is_ok() {
            heard = true;
            break;
        }
    }
    assert!(heard, "the listener came back");
    stop.send(true).unwrap();
    tokio::time::timeout(PROMPTLY, listening).await.expect("the listener stops on shutdown").unwrap();
}

/// Indexes over the live queue only: scanning one whole reads what is due or leased, not the
/// table's history.
const QUEUE_INDEXES: [&str; 3] = ["push_deliveries_due", "push_deliveries_leases", "notifications_due"];
const OUTBOX_TABLES: [&str; 3] = ["notifications", "push_deliveries", "push_subscriptions"];

/// The places where a plan reads a whole outbox table: on SQLite a `SCAN` of it (or of its alias
/// d, n or s) other than of a queue index; on PostgreSQL (sequential scans disfavoured, so one
/// that remains had no index to use) a sequential scan, or an index read without a condition
/// that is not a queue index.
fn full_scans(plan: &str, sqlite: bool) -> Vec<String> {
    let partial = |line: &str| QUEUE_INDEXES.iter().any(|index| line.contains(&format!("INDEX {index}")));
    if sqlite {
        return plan
            .lines()
            .filter(|line| {
                let Some(name) = line.trim().strip_prefix("SCAN ").and_then(|rest| rest.split_whitespace().next())
                else {
                    return false;
                };
                (OUTBOX_TABLES.contains(&name) || ["d", "n", "s"].contains(&name)) && !partial(line)
            })
            .map(str::to_owned)
            .collect();
    }
    pg_plan_nodes(plan, |node| {
        let kind = node["Node Type"].as_str().unwrap_or_default();
        let relation = node["Relation Name"].as_str().unwrap_or_default();
        let index = node["Index Name"].as_str().unwrap_or_default();
        let outbox = OUTBOX_TABLES.contains(&relation);
        let conditioned = node.get("Index Cond").is_some() || QUEUE_INDEXES.contains(&index);
        ((outbox && kind == "Seq Scan")
            || (outbox && kind.starts_with("Index") && !conditioned)
            || (kind == "Bitmap Index Scan" && !conditioned && OUTBOX_TABLES.iter().any(|t| index.starts_with(t))))
        .then(|| format!("{kind} on {relation} {index}"))
    })
}

/// What `pick` says of each node of a PostgreSQL `EXPLAIN (FORMAT JSON)` plan, every statement's
/// plan walked whole.
fn pg_plan_nodes(plan: &str, pick: impl Fn(&Value) -> Option<String>) -> Vec<String> {
    fn walk(node: &Value, pick: &dyn Fn(&Value) -> Option<String>, found: &mut Vec<String>) {
        found.extend(pick(node));
        for child in node["Plans"].as_array().into_iter().flatten() {
            walk(child, pick, found);
        }
    }
    let mut found = Vec::new();
    let parsed: Value = serde_json::from_str(plan).expect("a JSON plan");
    for statement in parsed.as_array().into_iter().flatten() {
        walk(&statement["Plan"], &pick, &mut found);
    }
    found
}

on_both_backends! {
    async fn every_hot_dispatcher_statement_uses_an_index(app) with MANUAL {
        let sqlite = app.state.store.backend() == aftercare::store::Backend::Sqlite;
        // Some history and a queue, so that the plans are not those of empty tables.
        let receiver = PushReceiver::start().await;
        receiver.set_now(app.clock_now());
        let (ana, _phone) = patient_with_device(&app, &receiver, "ana@example.org").await;
        let account_id = app.account_id(&ana).await;
        let now = app.clock_now();
        for n in 0..60 {
            let notice = Notice {
                account_id,
                kind: Kind::Aftercare,
                dedupe_key: format!("aftercare:{n}"),
                link: "/".into(),
                due_at: now - TimeDelta::minutes(1),
                subject_date: None,
            };
            app.state.store.schedule(&aftercare_notification(&notice, now), false).await.unwrap();
        }
        app.round().await;

        let plans = app.state.store.dispatcher_query_plans().await.expect("the plans");
        let names: Vec<&str> = plans.iter().map(|(name, _)| name.as_str()).collect();
        for hot in ["claim", "completion", "hand-back", "consent check", "fan-out: due", "fan-out: deliveries", "rescue", "next wake", "queue stats"] {
            assert!(names.contains(&hot), "{hot} is among {names:?}");
        }
        if sqlite {
            assert!(names.contains(&"claim read-back"));
        }
        for (name, plan) in &plans {
            // Shown with --nocapture.
            println!("{name}:\n{plan}\n");
            let scans = full_scans(plan, sqlite);
            assert!(scans.is_empty(), "{name} reads a whole table: {scans:?}\n{plan}");
        }
    }
}

/// The places where a plan of the reminder planner's batch statements reads a whole table or
/// sorts: on SQLite a `SCAN` or a temporary B-tree, on PostgreSQL a sequential scan of one of the
/// planner's tables, a sort, or a hash join (which reads one side whole).
fn planner_full_reads(plan: &str, sqlite: bool) -> Vec<String> {
    const TABLES: [&str; 3] = ["accounts", "reminder_settings", "notifications"];
    if sqlite {
        return plan
            .lines()
            .filter(|line| line.trim().starts_with("SCAN ") || line.contains("TEMP B-TREE"))
            .map(str::to_owned)
            .collect();
    }
    pg_plan_nodes(plan, |node| {
        let kind = node["Node Type"].as_str().unwrap_or_default();
        let relation = node["Relation Name"].as_str().unwrap_or_default();
        ((kind == "Seq Scan" && TABLES.contains(&relation)) || kind.contains("Sort") || kind == "Hash Join")
            .then(|| format!("{kind} {relation}"))
    })
}

on_both_backends! {
    async fn every_planner_batch_statement_walks_an_index_on_fresh_statistics(app) with MANUAL {
        let sqlite = app.state.store.backend() == aftercare::store::Backend::Sqlite;
        // A bulk load the statistics have not seen yet (no analyze has run since: autovacuum is
        // kept off these tables), as after an import: 20,000 patients, their settings and two
        // reminders each.
        let series = if sqlite {
            "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 20000)"
        } else {
            "WITH s(n) AS (SELECT generate_series(1, 20000))"
        };
        let (uuid, now, yes, no) = if sqlite {
            ("randomblob(16)", "strftime('%Y-%m-%dT%H:%M:%S.000000Z', 'now')", "1", "0")
        } else {
            ("gen_random_uuid()", "now()", "TRUE", "FALSE")
        };
        if !sqlite {
            for table in ["accounts", "reminder_settings", "notifications"] {
                app.execute(&format!("ALTER TABLE {table} SET (autovacuum_enabled = false)")).await.unwrap();
            }
        }
        app.execute(&format!(
            "{series} INSERT INTO accounts (id, email, password_hash, role, time_zone, quiet_start, quiet_end, locale,
                                            created_at, updated_at)
             SELECT {uuid}, 'bulk' || n || '@example.org', 'x', 'patient', 'Europe/Berlin', '21:30', '08:00', 'en', {now}, {now}
             FROM s"
        ))
        .await
        .unwrap();
        app.execute(&format!(
            "INSERT INTO reminder_settings (account_id, daily_enabled, daily_time, weekly_peg_enabled, weekly_peg_weekday,
                                            weekly_peg_time, updated_at)
             SELECT id, {yes}, '20:00', {no}, 7, '18:00', {now} FROM accounts"
        ))
        .await
        .unwrap();
        for day in ["2026-03-10", "2026-03-11"] {
            app.execute(&format!(
                "INSERT INTO notifications (id, account_id, dedupe_key, kind, title, body, link, ttl_seconds, urgency, topic,
                                            due_at, state, created_at)
                 SELECT {uuid}, id, 'daily:{day}', 'daily_reminder', 't', 'b', '/', 3600, 'normal', 'x', {now}, 'scheduled', {now}
                 FROM accounts"
            ))
            .await
            .unwrap();
        }

        let plans = app.state.store.planner_query_plans().await.expect("the plans");
        let names: Vec<&str> = plans.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, ["accounts walk", "reminder settings", "existing reminders", "cancellations"]);
        for (name, plan) in &plans {
            // Shown with --nocapture.
            println!("{name}:\n{plan}\n");
            let reads = planner_full_reads(plan, sqlite);
            assert!(reads.is_empty(), "{name} reads a whole table or sorts: {reads:?}\n{plan}");
        }
        let walk = &plans[0].1;
        if sqlite {
            assert!(walk.contains("SEARCH accounts USING"), "{walk}");
        } else {
            assert!(walk.contains("\"Index Name\": \"accounts_pkey\""), "{walk}");
        }

        // The walk still finds every patient once, a batch at a time.
        assert_eq!(app.state.plan_all_reminders().await.unwrap(), 20_000);
    }
}
