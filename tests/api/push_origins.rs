//! One push service that never answers, with many deliveries due before the others: it holds
//! only its own share of the dispatcher, and once it keeps timing out its deliveries wait,
//! unspent and in their order, instead of taking turns at timing out.

use std::time::Duration;

use aftercare::domain::notifications::Kind;
use aftercare::service::notifications::Notice;
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};

use crate::helpers::{TestApp, on_both_backends};
use crate::notifications::aftercare_notification;
use crate::push_receiver::{BrowserSubscription, PushReceiver, Reply};

const HUNG_DUE: usize = 200;
const FINE_DUE: usize = 40;
/// A hang guard: what arrives at all arrives long before this.
const GUARD: Duration = Duration::from_secs(30);

/// The dispatcher is started by each test, after the queue is set up.
const MANUAL: [(&str, Value); 1] = [("dispatcher.enabled", Value::Bool(false))];

/// `count` aftercare notifications for the account of `tokens`, all handed to the queue at `at`.
async fn due(app: &TestApp, account_id: uuid::Uuid, label: &str, count: usize, at: DateTime<Utc>) {
    for n in 0..count {
        let notice = Notice {
            account_id,
            kind: Kind::Aftercare,
            dedupe_key: format!("aftercare:{label}:{n}"),
            link: "/".into(),
            due_at: at - TimeDelta::minutes(1),
            subject_date: None,
        };
        app.state.store.schedule(&aftercare_notification(&notice, at), false).await.unwrap();
    }
    let fanned = app.state.store.fan_out_due(at, app.state.push.vapid_public_key()).await.unwrap();
    assert_eq!(fanned as usize, count);
}

/// Two push services: one hangs, with its deliveries due first; the other answers.
async fn two_push_services(app: &TestApp) -> (PushReceiver, BrowserSubscription, PushReceiver, BrowserSubscription) {
    let (hung, fine) = (PushReceiver::start().await, PushReceiver::start().await);
    for receiver in [&hung, &fine] {
        receiver.set_now(app.clock_now());
    }
    let (ana, bo) = (app.patient("ana@example.org").await, app.patient("bo@example.org").await);
    let (ana_phone, bo_phone) = (hung.subscribe(), fine.subscribe());
    app.register_device(&ana, &ana_phone).await;
    app.register_device(&bo, &bo_phone).await;
    hung.reply(&ana_phone, Reply::Hang);
    let now = app.clock_now();
    due(app, app.account_id(&ana).await, "ana", HUNG_DUE, now - TimeDelta::minutes(5)).await;
    due(app, app.account_id(&bo).await, "bo", FINE_DUE, now).await;
    (hung, ana_phone, fine, bo_phone)
}

on_both_backends! {
    async fn a_hung_push_service_holds_only_its_share_of_the_dispatcher(app) with MANUAL {
        let (hung, ana_phone, fine, bo_phone) = two_push_services(&app).await;
        // Sends to the hung service wait far longer than the test; 32 in flight, half per service.
        let dispatcher = app
            .another_instance(&[
                ("push.request_timeout_ms", json!(60_000)),
                ("dispatcher.max_in_flight", json!(32)),
                ("dispatcher.origin_share_percent", json!(50)),
                ("dispatcher.shutdown_grace_seconds", json!(1)),
            ])
            .await;
        fine.wait_for_requests(&bo_phone, FINE_DUE, GUARD).await;
        assert_eq!(fine.received(&bo_phone).len(), FINE_DUE, "every other delivery arrived, each once");
        let stuck = hung.requests(&ana_phone);
        assert!(stuck > 0 && stuck <= 16, "the hung service holds at most its share: {stuck}");
        drop(dispatcher);
    }

    async fn a_push_service_that_keeps_timing_out_is_paused_without_spending_attempts(app) with MANUAL {
        let (hung, ana_phone, fine, bo_phone) = two_push_services(&app).await;
        let dispatcher = app
            .another_instance(&[
                ("push.request_timeout_ms", json!(1_000)),
                ("dispatcher.max_in_flight", json!(32)),
                ("dispatcher.origin_share_percent", json!(50)),
                ("dispatcher.origin_breaker_timeouts", json!(3)),
                ("dispatcher.origin_breaker_seconds", json!(600)),
                ("dispatcher.shutdown_grace_seconds", json!(1)),
            ])
            .await;
        fine.wait_for_requests(&bo_phone, FINE_DUE, GUARD).await;

        // The hung service's deliveries are back in the queue: not leased, their attempt given
        // back, and still due at their original time, ahead of anything due later.
        let unspent = "SELECT count(*) FROM push_deliveries
                       WHERE state = 'pending' AND attempts = 0 AND lease_owner IS NULL
                         AND next_attempt_at = (SELECT min(next_attempt_at) FROM push_deliveries)";
        let leased = "SELECT count(*) FROM push_deliveries WHERE state = 'leased'";
        let mut paused = false;
        for _ in 0..300 {
            if app.count(leased, None).await == 0 && app.count(unspent, None).await >= (HUNG_DUE - 20) as i64 {
                paused = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(paused, "unspent: {}, leased: {}", app.count(unspent, None).await, app.count(leased, None).await);
        let tried = hung.requests(&ana_phone);
        assert!(tried <= 20, "tried about a share's worth before pausing: {tried}");
        // Paused: nothing more is sent to it (a second is many dispatch rounds).
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(hung.requests(&ana_phone), tried);
        assert_eq!(app.count("SELECT count(*) FROM push_deliveries WHERE state = 'sent'", None).await, FINE_DUE as i64);
        drop(dispatcher);
    }
}
