//! Escalation you can trust, end to end over HTTP with the real push receiver: a new red flag is
//! always announced (whatever was acknowledged before), an emergency is repeated until the
//! patient acknowledges it and outlives a phone that is off for hours, the order in which a
//! backlog syncs decides nothing, and a patient who stops logging is neither "recovered" nor
//! forgotten. Time moves through the injectable clock (and the receiver's idea of now); nothing
//! sleeps.

use chrono::{DateTime, TimeDelta, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::alerts::{MANUAL, at, entry, patient_with_device, pushes};
use crate::care::Who;
use crate::helpers::{TestApp, Tokens, on_both_backends};
use crate::push_receiver::{BrowserSubscription, PushReceiver};

impl TestApp {
    /// Writes an entry (new or not) and returns the response: the entry with the alerts it raised.
    async fn write(&self, tokens: &Tokens, body: &Value) -> Value {
        let response = self.put_entry(&tokens.access, Uuid::new_v4(), body).await;
        assert_eq!(response.status(), StatusCode::CREATED, "{body}");
        response.json().await.unwrap()
    }

    /// Moves the clock (and the receiver's now) to `to`.
    fn move_to(&self, receiver: &PushReceiver, to: DateTime<Utc>) {
        self.clock.set(to);
        receiver.set_now(to);
    }
}

/// The rules of the alerts a write returned.
fn raised(written: &Value) -> Vec<String> {
    written["alerts"].as_array().unwrap().iter().map(|a| a["rule"].as_str().unwrap().to_owned()).collect()
}

/// Pushes a device would get if it were switched off from `off` to `back`: those the push
/// service accepted before it came back and still kept (TTL) when it did.
fn delivered_when_back(receiver: &PushReceiver, device: &BrowserSubscription, back: DateTime<Utc>) -> usize {
    alert_pushes(receiver, device)
        .iter()
        .filter(|r| {
            let ttl: i64 = r.ttl.as_deref().unwrap().parse().unwrap();
            r.at <= back && r.at + TimeDelta::seconds(ttl) >= back
        })
        .count()
}

/// The alert pushes a device received (daily reminders may go out as the clock moves).
fn alert_pushes(receiver: &PushReceiver, device: &BrowserSubscription) -> Vec<crate::push_receiver::Received> {
    let is_alert = |r: &crate::push_receiver::Received| {
        let kind = crate::alerts::payload(r)["kind"].clone();
        ["urgent_alert", "alert", "client_urgent_alert", "client_alert"].iter().any(|k| kind == *k)
    };
    receiver.received(device).into_iter().filter(is_alert).collect()
}

/// One entry a day at 09:00 UTC on these November 2026 days, with these pains.
fn november(days: &[(u32, u8)]) -> Vec<Value> {
    days.iter().map(|(day, pain)| entry(&format!("2026-11-{day:02}T09:00:00Z"), *pain, &[])).collect()
}

on_both_backends! {
    async fn an_acknowledged_emergency_followed_by_a_new_red_flag_pushes_again_to_patient_and_therapists(app) with MANUAL {
        // Midday in Berlin: nobody is in quiet hours.
        let receiver = PushReceiver::start().await;
        app.move_to(&receiver, at("2026-11-21T11:00:00Z"));
        let ana = app.named_patient("ana@example.org", "Ana").await;
        let tom = app.therapist("tom@example.org", "Tom").await;
        let una = app.therapist("una@example.org", "Una").await;
        app.link(&ana, &tom, &["read_journal", "receive_alerts"]).await;
        app.link(&ana, &una, &["read_journal", "receive_alerts"]).await;
        let phones: Vec<BrowserSubscription> = (0..3).map(|_| receiver.subscribe()).collect();
        for (who, phone) in [&ana, &tom, &una].into_iter().zip(&phones) {
            app.register_device(&who.tokens, phone).await;
        }
        let pushed = |receiver: &PushReceiver| {
            (
                pushes(receiver, &phones[0], "urgent_alert").len(),
                pushes(receiver, &phones[1], "client_urgent_alert").len(),
                pushes(receiver, &phones[2], "client_urgent_alert").len(),
            )
        };

        // Saddle numbness: the write itself answers with the emergency advice, and everyone hears.
        let written = app.write(&ana.tokens, &entry("2026-11-21T10:55:00Z", 6, &["saddle_numbness"])).await;
        assert_eq!(raised(&written), ["cauda_equina_signs"]);
        let alert = &written["alerts"][0];
        assert_eq!(alert["tier"], "emergency");
        assert!(alert["advice"].as_str().unwrap().starts_with("Call emergency services now"), "{alert}");
        let id = alert["id"].as_str().unwrap().to_owned();
        app.round().await;
        assert_eq!(pushed(&receiver), (1, 1, 1));

        // Tom has seen it: Ana and Una see that he has, and Ana is not silenced by it.
        let tom_ack = format!("/v1/patients/{}/alerts/{id}/acknowledge", ana.id);
        let response = app.send(Method::POST, &tom_ack, &tom, None).await;
        assert_eq!(response.status(), StatusCode::OK);
        let seen: Value = response.json().await.unwrap();
        assert_eq!(seen["status"], "open", "a therapist's acknowledgement is not the patient's");
        assert_eq!(seen["seen_by_therapists"][0]["therapist_id"], tom.id.as_str());
        assert_eq!(app.send(Method::POST, &tom_ack, &tom, None).await.status(), StatusCode::OK, "again changes nothing");
        let for_ana = app.json(ana.token(), &format!("/v1/alerts/{id}")).await;
        assert_eq!(for_ana["seen_by_therapists"].as_array().unwrap().len(), 1);
        let for_una = app.json(una.token(), &format!("/v1/patients/{}/alerts/{id}", ana.id)).await;
        assert_eq!(for_una["seen_by_therapists"][0]["therapist_id"], tom.id.as_str());
        // An hour on, the unacknowledged emergency is repeated to Ana alone.
        app.move_to(&receiver, at("2026-11-21T12:00:00Z"));
        assert_eq!(app.sweep().await.notified, 1);
        app.round().await;
        assert_eq!(pushed(&receiver), (2, 1, 1), "the repeat is the patient's");

        // Ana acknowledges: no more repeats, even 12 hours later.
        let ana = app.again(&ana, "ana@example.org").await;
        let response = app.send(Method::POST, &format!("/v1/alerts/{id}/acknowledge"), &ana, None).await;
        assert_eq!(response.json::<Value>().await.unwrap()["status"], "acknowledged");
        app.move_to(&receiver, at("2026-11-22T00:00:00Z"));
        assert_eq!(app.sweep().await.notified, 0);

        // Two days later she logs loss of bladder control: new evidence, told to everyone at
        // once, and returned by the write.
        app.move_to(&receiver, at("2026-11-23T11:00:00Z"));
        let ana = app.again(&ana, "ana@example.org").await;
        let written = app.write(&ana.tokens, &entry("2026-11-23T10:55:00Z", 7, &["bladder_or_bowel_change"])).await;
        assert_eq!(raised(&written), ["cauda_equina_signs"]);
        assert_eq!(written["alerts"][0]["id"], id.as_str(), "the same alert, escalated");
        assert_eq!(written["alerts"][0]["notification_count"], 3);
        app.round().await;
        assert_eq!(pushed(&receiver), (3, 2, 2));
        // (Daily reminders may have gone out meanwhile: only the alert pushes count here.)
        let urgent: Vec<_> =
            receiver.received(&phones[0]).into_iter().filter(|r| crate::alerts::payload(r)["kind"] == "urgent_alert").collect();
        assert!(urgent.iter().all(|r| r.urgency.as_deref() == Some("high")));

        // Saddle numbness ticked again the next day is the same evidence: held back.
        app.move_to(&receiver, at("2026-11-24T11:00:00Z"));
        let ana = app.again(&ana, "ana@example.org").await;
        let written = app.write(&ana.tokens, &entry("2026-11-24T10:55:00Z", 6, &["saddle_numbness"])).await;
        assert_eq!(raised(&written), Vec::<String>::new());
        app.round().await;
        assert_eq!(pushed(&receiver), (3, 2, 2));
    }

    async fn an_emergency_reaches_a_phone_that_comes_back_after_six_hours(app) with MANUAL {
        // 23:30 in Berlin, in everyone's quiet hours.
        let receiver = PushReceiver::start().await;
        let start = at("2026-11-21T22:30:00Z");
        app.move_to(&receiver, start);
        let (ana, phone) = patient_with_device(&app, &receiver, "ana@example.org").await;
        let ana_who = Who { tokens: ana.clone(), id: app.account_id(&ana).await.to_string() };
        let tom = app.therapist("tom@example.org", "Tom").await;
        app.link(&ana_who, &tom, &["read_journal", "receive_alerts"]).await;
        let tom_phone = receiver.subscribe();
        app.register_device(&tom.tokens, &tom_phone).await;

        // The phone is switched off right after the entry is written, until 05:30 local.
        app.log(&ana, &entry("2026-11-21T22:25:00Z", 6, &["saddle_numbness"])).await;
        app.round().await;
        let back = start + TimeDelta::hours(6);
        let first: Vec<_> =
            receiver.received(&phone).into_iter().filter(|r| crate::alerts::payload(r)["kind"] == "urgent_alert").collect();
        assert_eq!(first.len(), 1);
        assert_eq!((first[0].urgency.as_deref(), first[0].ttl.as_deref()), (Some("high"), Some("172800")));

        // Repeated after 1 hour and 4 more hours (not a minute before), while the phone is off.
        for (minutes, expected) in [(59, 1), (60, 2), (60 + 239, 2), (60 + 240, 3)] {
            app.move_to(&receiver, start + TimeDelta::minutes(minutes));
            app.sweep().await;
            app.round().await;
            assert_eq!(pushes(&receiver, &phone, "urgent_alert").len(), expected, "{minutes} minutes on");
        }
        // When it comes back the push service still holds all three: the first push alone
        // would have been lost with the old one-hour TTL.
        assert_eq!(delivered_when_back(&receiver, &phone, back), 3);
        assert!(alert_pushes(&receiver, &phone).iter().all(|r| r.urgency.as_deref() == Some("high")));
        // The therapist's copy waited for 08:00 and was not repeated.
        assert_eq!(alert_pushes(&receiver, &tom_phone).len(), 0);
        app.move_to(&receiver, at("2026-11-22T07:00:01Z"));
        app.round().await;
        let copies = alert_pushes(&receiver, &tom_phone);
        assert_eq!(copies.len(), 1, "one copy, no repeats");
        assert_eq!((copies[0].urgency.as_deref(), copies[0].ttl.as_deref()), (Some("normal"), Some("172800")));

        // Once Ana acknowledges, the repeats stop (the next was due 12 hours after the third).
        let ana = app.sign_in("ana@example.org").await;
        let id = app.only_alert(&ana).await["id"].as_str().unwrap().to_owned();
        assert_eq!(app.alert_action(&ana, &id, "acknowledge").await.status(), StatusCode::OK);
        app.move_to(&receiver, start + TimeDelta::hours(5 + 12));
        assert_eq!(app.sweep().await.notified, 0);
        app.round().await;
        assert_eq!(pushes(&receiver, &phone, "urgent_alert").len(), 3);
    }

    async fn a_see_a_physiotherapist_alert_waits_the_settling_minutes_before_it_is_pushed(app) with MANUAL {
        // Midday in Berlin: only the settling delay (10 minutes) holds it back.
        let receiver = PushReceiver::start().await;
        let now = at("2026-11-21T11:00:00Z");
        app.move_to(&receiver, now);
        let (ana, phone) = patient_with_device(&app, &receiver, "ana@example.org").await;
        let written = app.write(&ana, &entry("2026-11-21T10:55:00Z", 4, &["tingling_left_leg"])).await;
        assert_eq!(raised(&written), ["neurological"], "the write shows it at once");
        let inbox = app.inbox(&ana).await;
        let item = inbox.iter().find(|n| n["kind"] == "alert").unwrap();
        assert_eq!(crate::alerts::instant(&item["due_at"]), now + TimeDelta::minutes(10));
        // Below, at and above the delay.
        for (seconds, expected) in [(599, 0), (600, 1), (660, 1)] {
            app.move_to(&receiver, now + TimeDelta::seconds(seconds));
            app.round().await;
            assert_eq!(pushes(&receiver, &phone, "alert").len(), expected, "{seconds} s after");
        }
    }

    async fn the_same_backlog_in_three_orders_gives_the_same_alerts_and_pushes(app) with MANUAL {
        let receiver = PushReceiver::start().await;
        let now = at("2026-11-21T11:00:00Z");
        app.move_to(&receiver, now);
        // Three backlogs, each synced oldest first, newest first, and the last week first then
        // the rest oldest first.
        // - pain 6, 5, 4 a week each: better every week; the last week alone is no finding.
        // - pain 3 on the 8th-10th, 6 on the 11th-14th, 7 from the 15th: the last week first,
        //   then the 8th-11th make "worsening" fire mid-sync on a partial week (3, 3, 3, 6
        //   against 7s); the 12th takes it back (median 6) before anyone is told.
        // - pain 6 every day for three weeks: "persistent", in every order.
        let improving = november(&(1..=21).map(|d| (d, if d <= 7 { 6 } else if d <= 14 { 5 } else { 4 })).collect::<Vec<_>>());
        let partial: Vec<(u32, u8)> = (8..=21).map(|d| (d, match d { 8..=10 => 3, 11..=14 => 6, _ => 7 })).collect();
        let partial = november(&partial);
        let steady = november(&(1..=21).map(|d| (d, 6)).collect::<Vec<_>>());
        let mut outcomes: Vec<(String, Vec<Vec<String>>, Vec<usize>)> = Vec::new();
        for (name, backlog) in [("improving", improving), ("partial", partial), ("steady", steady)] {
            let last_week_first: Vec<Value> = {
                let (older, last) = backlog.split_at(backlog.len() - 7);
                last.iter().chain(older).cloned().collect()
            };
            let orders = [backlog.clone(), backlog.iter().rev().cloned().collect(), last_week_first];
            let mut open = Vec::new();
            let mut pushed = Vec::new();
            for (n, order) in orders.iter().enumerate() {
                app.move_to(&receiver, now);
                let (tokens, phone) = patient_with_device(&app, &receiver, &format!("{name}{n}@example.org")).await;
                for body in order {
                    app.write(&tokens, body).await;
                }
                // Past the settling delay (10 minutes), in the daytime: whatever is due goes out.
                app.move_to(&receiver, now + TimeDelta::minutes(11));
                app.sweep().await;
                app.round().await;
                let tokens = app.sign_in(&format!("{name}{n}@example.org")).await;
                let alerts = app.alerts(&tokens, "").await;
                let unresolved: Vec<String> = alerts.iter().filter(|a| a["status"] != "resolved").map(|a| a["rule"].as_str().unwrap().to_owned()).collect();
                // Whatever opened mid-sync and was taken back is withdrawn, never pushed.
                for withdrawn in alerts.iter().filter(|a| a["status"] == "resolved") {
                    assert_eq!(withdrawn["resolution_reason"], "withdrawn", "{withdrawn}");
                    assert_eq!(withdrawn["rule"], "worsening");
                    assert!(withdrawn["resolution_note"].as_str().unwrap().contains("withdrawn before you were notified"));
                }
                if name == "partial" && n == 2 {
                    assert_eq!(alerts.len(), 1, "worsening fired mid-sync in this order: {alerts:?}");
                }
                open.push(unresolved);
                pushed.push(alert_pushes(&receiver, &phone).len());
            }
            outcomes.push((name.to_owned(), open, pushed));
        }
        for (name, open, pushed) in &outcomes {
            assert!(open.iter().all(|o| o == &open[0]), "{name}: the same alerts in every order: {open:?}");
            assert!(pushed.iter().all(|p| *p == pushed[0]), "{name}: the same pushes in every order: {pushed:?}");
        }
        let summary: Vec<(&str, &Vec<String>, usize)> = outcomes.iter().map(|(n, o, p)| (n.as_str(), &o[0], p[0])).collect();
        let persistent = vec!["persistent".to_owned()];
        assert_eq!(summary, [("improving", &vec![], 0), ("partial", &vec![], 0), ("steady", &persistent, 1)]);
    }

    async fn a_patient_who_stops_logging_keeps_their_open_alert_and_shows_as_no_entries_in_the_caseload(app) {
        app.clock.set(at("2026-11-21T11:00:00Z"));
        let tom = app.therapist("tom@example.org", "Tom").await;
        // Ana: pain 6 for three weeks, a persistent alert. Bob: pain 3 for a week, no alert
        // (below the pain threshold of 4); Cleo: 4 (at it); Dan: 5 (above it).
        let mut clients = Vec::new();
        for (name, pain) in [("ana", 6), ("bob", 3), ("cleo", 4), ("dan", 5)] {
            let who = app.named_patient(&format!("{name}@example.org"), name).await;
            app.link(&who, &tom, &["read_journal", "receive_alerts"]).await;
            let days: Vec<(u32, u8)> = if pain == 6 { (1..=21).map(|d| (d, pain)).collect() } else { (15..=21).map(|d| (d, pain)).collect() };
            for body in november(&days) {
                app.write(&who.tokens, &body).await;
            }
            clients.push(who);
        }
        assert_eq!(app.only_alert(&clients[0].tokens).await["rule"], "persistent");
        // Only alert notifications: the reminder planner may add reminders as the days pass.
        let alert_kinds = |inbox: Vec<Value>| inbox.iter().filter(|n| n["kind"] == "alert" || n["kind"] == "urgent_alert").count();
        let inbox_before = alert_kinds(app.inbox(&clients[0].tokens).await);

        // Days without an entry: 2 (below the 3 of `no_entries_flag_days`), 3 (at), 7 (above).
        for (day, silent, flagged) in [(23, 2, false), (24, 3, true), (28, 7, true)] {
            app.clock.set(at(&format!("2026-11-{day}T11:00:00Z")));
            app.sweep().await;
            let ana = app.sign_in("ana@example.org").await;
            let alert = app.only_alert(&ana).await;
            assert_eq!(alert["status"], "open", "silence is not recovery (day {day})");
            let tom = app.again(&tom, "tom@example.org").await;
            let caseload = app.json(tom.token(), "/v1/caseload").await;
            let item = |name: &str| {
                caseload["items"].as_array().unwrap().iter().find(|i| i["patient"]["display_name"] == name).unwrap().clone()
            };
            let expected = if flagged { json!(silent) } else { Value::Null };
            assert_eq!(item("ana")["no_entries_for_days"], expected, "ana, day {day}");
            assert_eq!(item("cleo")["no_entries_for_days"], expected, "cleo: recent pain 4, day {day}");
            assert_eq!(item("dan")["no_entries_for_days"], expected, "dan: recent pain 5, day {day}");
            assert_eq!(item("bob")["no_entries_for_days"], Value::Null, "bob: pain 3 and no alert, day {day}");
        }
        // The patient is not told about it.
        let ana = app.sign_in("ana@example.org").await;
        assert_eq!(alert_kinds(app.inbox(&ana).await), inbox_before);
    }
}
