//! Alerts end to end: journals and check-ins written through the API (or, for check-ins and bulk
//! journals, straight into the database), evaluated on every change and by the sweep, read
//! through `/v1/alerts`, and pushed through the decrypting Web Push receiver.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{Backend, TestApp, Tokens, assert_problem, on_both_backends, problem_fields};
use crate::push_receiver::{BrowserSubscription, PushReceiver, Reply};

/// Tests that step the dispatcher by hand turn the background one off.
pub(crate) const MANUAL: [(&str, Value); 1] = [("dispatcher.enabled", Value::Bool(false))];

/// Test apps step the background alert evaluation by hand; this one runs it.
const BACKGROUND: [(&str, Value); 1] = [("alerts.background_evaluation", Value::Bool(true))];

pub(crate) fn at(instant: &str) -> DateTime<Utc> {
    instant.parse().unwrap()
}

/// An instant in a response.
pub(crate) fn instant(value: &Value) -> DateTime<Utc> {
    value.as_str().unwrap_or_else(|| panic!("{value} is not an instant")).parse().unwrap()
}

pub(crate) fn entry(recorded_at: &str, pain: u8, symptoms: &[&str]) -> Value {
    json!({"recorded_at": recorded_at, "pain": pain, "symptoms": symptoms})
}

/// An entry on a November 2026 day at 09:00 UTC (10:00 in Berlin).
fn november(day: u32, pain: u8, symptoms: &[&str]) -> Value {
    entry(&format!("2026-11-{day:02}T09:00:00Z"), pain, symptoms)
}

impl TestApp {
    /// Writes a new entry as a phone does, without stepping the background evaluation; the
    /// answer.
    async fn write_unstepped(&self, tokens: &Tokens, body: &Value) -> Value {
        let path = format!("/v1/journal/entries/{}", Uuid::new_v4());
        let response = self.request(Method::PUT, &path, Some(&tokens.access), Some(body)).await;
        assert_eq!(response.status(), StatusCode::CREATED, "{body}");
        response.json().await.unwrap()
    }

    /// Writes an entry, which must be new.
    pub(crate) async fn log(&self, tokens: &Tokens, body: &Value) -> Uuid {
        let id = Uuid::new_v4();
        let response = self.put_entry(&tokens.access, id, body).await;
        assert_eq!(response.status(), StatusCode::CREATED, "{body}");
        id
    }

    pub(crate) async fn alerts(&self, tokens: &Tokens, query: &str) -> Vec<Value> {
        let page = self.json(&tokens.access, &format!("/v1/alerts{query}")).await;
        page["items"].as_array().unwrap().clone()
    }

    /// The patient's only alert.
    pub(crate) async fn only_alert(&self, tokens: &Tokens) -> Value {
        let alerts = self.alerts(tokens, "").await;
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        alerts.into_iter().next().unwrap()
    }

    pub(crate) async fn alert_action(&self, tokens: &Tokens, id: &str, action: &str) -> reqwest::Response {
        self.request(Method::POST, &format!("/v1/alerts/{id}/{action}"), Some(&tokens.access), None).await
    }

    pub(crate) async fn sweep(&self) -> aftercare::service::alerts::AlertsReport {
        self.state.sweep_alerts().await.expect("sweep")
    }

    /// Runs SQL straight against the database (test data the API cannot write).
    pub async fn execute_ok(&self, sql: String) {
        self.execute(&sql).await.expect("test SQL");
    }

    /// A UUID as an SQL literal of this backend.
    fn uuid_literal(&self, id: Uuid) -> String {
        match self.backend {
            Backend::Sqlite => format!("X'{}'", id.simple()),
            Backend::Postgres => format!("'{id}'"),
        }
    }

    /// A soreness check-in answer, stored as the aftercare use case stores it, for a session
    /// that ended `hours_after` hours before `answered_at`; then the use case's call.
    async fn answer_check_in(
        &self,
        patient: Uuid,
        hours_after: u8,
        soreness: u8,
        leg_swelling: bool,
        pain_before: Option<u8>,
        answered_at: DateTime<Utc>,
    ) -> Uuid {
        let (session, step) = (Uuid::now_v7(), Uuid::now_v7());
        let ts = |t: DateTime<Utc>| format!("'{}'", t.format("%Y-%m-%dT%H:%M:%S%.6fZ"));
        let started = answered_at - TimeDelta::hours(i64::from(hours_after) + 1);
        let pain_before = pain_before.map_or("NULL".to_owned(), |p| p.to_string());
        let (s, p, st) = (self.uuid_literal(session), self.uuid_literal(patient), self.uuid_literal(step));
        let now = ts(answered_at);
        self.execute_ok(format!(
            "INSERT INTO massage_sessions (id, patient_id, started_at, duration_minutes, kind, techniques, regions,
                                           pain_before, template, created_at, updated_at)
             VALUES ({s}, {p}, {started}, 60, 'deep_tissue', '[]', '[]', {pain_before}, '{{}}', {now}, {now})",
            started = ts(started),
        ))
        .await;
        self.execute_ok(format!(
            "INSERT INTO aftercare_steps (id, session_id, patient_id, step_key, position, kind, title, body, due_at,
                                          state, completed_at)
             VALUES ({st}, {s}, {p}, 'check_in_{hours_after}h', 4, '{{}}', 'Soreness check-in', '', {now}, 'done', {now})"
        ))
        .await;
        self.execute_ok(format!(
            "INSERT INTO soreness_check_ins (step_id, session_id, patient_id, hours_after, soreness, leg_swelling,
                                             answered_at, answered_on)
             VALUES ({st}, {s}, {p}, {hours_after}, {soreness}, {leg_swelling}, {now}, '{on}')",
            on = answered_at.date_naive(),
        ))
        .await;
        self.state.check_in_answered(patient).await;
        session
    }
}

pub(crate) async fn patient_with_device(
    app: &TestApp,
    receiver: &PushReceiver,
    email: &str,
) -> (Tokens, BrowserSubscription) {
    let tokens = app.patient(email).await;
    let browser = receiver.subscribe();
    app.register_device(&tokens, &browser).await;
    (tokens, browser)
}

pub(crate) fn payload(received: &crate::push_receiver::Received) -> Value {
    serde_json::from_str(&received.text()).expect("JSON payload")
}

/// The pushes of one notification kind a device received.
pub(crate) fn pushes(receiver: &PushReceiver, device: &BrowserSubscription, kind: &str) -> Vec<Value> {
    receiver.received(device).iter().map(payload).filter(|p| p["kind"] == kind).collect()
}

pub(crate) fn rules(alerts: &[Value]) -> Vec<&str> {
    alerts.iter().map(|a| a["rule"].as_str().unwrap()).collect()
}

on_both_backends! {
    async fn three_weeks_of_pain_open_one_persistent_alert_with_its_evidence(app) {
        app.clock.set(at("2026-11-21T11:00:00Z"));
        let ana = app.patient("ana@example.org").await;
        // 2026-11-01 to -21: nothing on the 4th, 11th and 18th; pain 2 on the 2nd, 9th and
        // 16th; 5 on the other 15 days. Each write evaluates the journal again.
        let mut logged = Vec::new();
        for day in 1..=21 {
            if [4, 11, 18].contains(&day) {
                continue;
            }
            let pain = if [2, 9, 16].contains(&day) { 2 } else { 5 };
            app.log(&ana, &november(day, pain, &[])).await;
            logged.push(day);
            if logged.len() == 11 {
                assert!(app.alerts(&ana, "").await.is_empty(), "11 logged days are not enough");
            }
        }
        let alert = app.only_alert(&ana).await;
        assert_eq!((alert["rule"].as_str(), alert["tier"].as_str(), alert["status"].as_str()), (Some("persistent"), Some("see_physio"), Some("open")));
        let evidence = alert["evidence"].as_array().unwrap();
        assert_eq!(evidence[0], json!({"kind": "days_at_or_above", "from": "2026-11-01", "to": "2026-11-21", "min_daily_max": 4, "days": 15, "logged_days": 18}));
        assert_eq!(evidence[1], json!({"kind": "median_daily_max", "from": "2026-11-01", "to": "2026-11-07", "logged_days": 6, "median": 5.0}));
        assert_eq!(evidence[2], json!({"kind": "median_daily_max", "from": "2026-11-15", "to": "2026-11-21", "logged_days": 6, "median": 5.0}));
        assert_eq!(evidence.len(), 3 + 15, "then the 15 days at 4 or more");
        assert_eq!(evidence[3], json!({"kind": "daily_max", "date": "2026-11-01", "max": 5}));
        assert!(alert["explanation"].as_str().unwrap().starts_with("Pain at 4 or more on 15 of 18 logged days (83%) in the last 3 weeks"), "{alert}");
        assert!(alert["advice"].as_str().unwrap().starts_with("Book an appointment with a physiotherapist"));
        assert!(alert["disclaimer"].as_str().unwrap().contains("not a diagnosis"));
        assert!(alert["source"].as_str().unwrap().starts_with("NHS, \"Back pain\", https://www.nhs.uk/conditions/back-pain/"), "{alert}");
        assert_eq!(alert["notification_count"], 1);

        // Another day logged re-evaluates: the same alert, with the new evidence.
        app.log(&ana, &november(18, 6, &[])).await;
        let again = app.only_alert(&ana).await;
        assert_eq!(again["id"], alert["id"]);
        assert_eq!(again["evidence"][0]["days"], 16);
        assert_eq!(again["evidence"][0]["logged_days"], 19);
        assert_eq!(app.count("SELECT count(*) FROM alerts", None).await, 1);
        let notices = app.inbox(&ana).await.into_iter().filter(|n| n["kind"] == "alert").count();
        assert_eq!(notices, 1, "one notification for one alert");
        // Read on its own, with the same evidence.
        let one = app.json(&ana.access, &format!("/v1/alerts/{}", alert["id"].as_str().unwrap())).await;
        assert_eq!(one, again);
    }

    async fn persistent_fires_at_nine_of_twelve_days_not_eight(app) {
        app.clock.set(at("2026-11-21T11:00:00Z"));
        let bob = app.patient("bob@example.org").await;
        // Twelve logged days; pain 4 (the threshold) on all but the 2nd, 10th and 12th (pain 3),
        // and at first on the 8th: 8 of 12 days, 66%.
        let mut eighth = None;
        for day in [1, 2, 3, 5, 8, 10, 12, 14, 15, 17, 19, 21] {
            let pain = if [2, 8, 10, 12].contains(&day) { 3 } else { 4 };
            let id = app.log(&bob, &november(day, pain, &[])).await;
            if day == 8 {
                eighth = Some(id);
            }
        }
        assert!(app.alerts(&bob, "").await.is_empty(), "8 of 12 days at 4 or more is below 70%");
        // The 8th corrected to 4: 9 of 12 days, 75%.
        let mut body = november(8, 4, &[]);
        body["base_version"] = json!(1);
        let response = app.put_entry(&bob.access, eighth.unwrap(), &body).await;
        assert_eq!(response.status(), StatusCode::OK);
        let alert = app.only_alert(&bob).await;
        assert_eq!(alert["rule"], "persistent");
        assert_eq!(alert["evidence"][0]["days"], 9);
        assert_eq!(alert["evidence"][0]["logged_days"], 12);
    }

    async fn pain_two_points_above_last_week_is_worsening(app) {
        app.clock.set(at("2026-11-21T11:00:00Z"));
        let cleo = app.patient("cleo@example.org").await;
        for day in [8, 10, 12, 14] {
            app.log(&cleo, &november(day, 3, &[])).await;
        }
        for day in [15, 17, 19] {
            app.log(&cleo, &november(day, 5, &[])).await;
        }
        assert!(app.alerts(&cleo, "").await.is_empty(), "three days are not a week");
        app.log(&cleo, &november(21, 5, &[])).await;
        let alert = app.only_alert(&cleo).await;
        assert_eq!((alert["rule"].as_str(), alert["tier"].as_str()), (Some("worsening"), Some("see_physio")));
        assert_eq!(alert["evidence"][0], json!({"kind": "median_daily_max", "from": "2026-11-08", "to": "2026-11-14", "logged_days": 4, "median": 3.0}));
        assert_eq!(alert["evidence"][1]["median"], 5.0);
    }

    async fn each_warning_symptom_raises_its_own_alert(app) {
        app.clock.set(at("2026-11-21T11:00:00Z"));
        let cases: [(&[&str], &str, &str, &str); 8] = [
            (&["saddle_numbness"], "cauda_equina_signs", "emergency", "Call emergency services now"),
            (&["numbness_left_leg", "tingling_right_leg"], "both_legs", "emergency", "Call emergency services now"),
            (&["fever"], "fever", "urgent", "Contact a doctor today"),
            (&["unexplained_weight_loss"], "unexplained_weight_loss", "urgent", "Contact a doctor today"),
            (&["night_pain_not_eased_by_rest"], "night_pain", "urgent", "Contact a doctor today"),
            (&["pain_after_fall_or_accident"], "pain_after_fall", "urgent", "Contact a doctor today"),
            (&["leg_swelling_redness_warmth"], "leg_swelling", "urgent", "Contact a doctor today"),
            (&["radiating_pain_left_leg"], "neurological", "see_physio", "Book an appointment with a physiotherapist"),
        ];
        for (n, (symptoms, rule, tier, advice)) in cases.into_iter().enumerate() {
            let tokens = app.patient(&format!("p{n}@example.org")).await;
            app.log(&tokens, &entry("2026-11-21T08:00:00Z", 3, symptoms)).await;
            let alert = app.only_alert(&tokens).await;
            assert_eq!((alert["rule"].as_str(), alert["tier"].as_str()), (Some(rule), Some(tier)), "{symptoms:?}");
            assert!(alert["advice"].as_str().unwrap().starts_with(advice), "{alert}");
            assert!(alert["disclaimer"].as_str().unwrap().contains("guidance"));
            for (i, symptom) in symptoms.iter().enumerate() {
                assert_eq!(alert["evidence"][i], json!({"kind": "symptom", "date": "2026-11-21", "symptom": symptom}));
            }
        }
    }

    async fn check_in_answers_raise_follow_up_and_leg_swelling_alerts(app) {
        app.clock.set(at("2026-11-21T11:00:00Z"));
        let now = app.clock_now();
        // Soreness 7 two days after a massage: the therapist should hear about it.
        let dana = app.patient("dana@example.org").await;
        let dana_id = app.account_id(&dana).await;
        app.answer_check_in(dana_id, 24, 9, false, None, now - TimeDelta::days(1)).await;
        assert!(app.alerts(&dana, "").await.is_empty(), "the 24-hour check-in does not fire");
        let session = app.answer_check_in(dana_id, 48, 7, false, None, now).await;
        let alert = app.only_alert(&dana).await;
        assert_eq!((alert["rule"].as_str(), alert["tier"].as_str()), (Some("soreness_after_massage"), Some("therapist_followup")));
        assert_eq!(alert["evidence"][0], json!({
            "kind": "check_in", "session_id": session.to_string(), "hours_after": 48, "soreness": 7,
            "leg_swelling_redness_warmth": false, "answered_on": "2026-11-21", "pain_before": null,
        }));
        // Soreness 6 is two above a pain of 4 before the session.
        let eli = app.patient("eli@example.org").await;
        let eli_id = app.account_id(&eli).await;
        app.answer_check_in(eli_id, 48, 6, false, Some(5), now).await;
        assert!(app.alerts(&eli, "").await.is_empty(), "one above the pain before");
        app.answer_check_in(eli_id, 48, 6, false, Some(4), now).await;
        assert_eq!(app.only_alert(&eli).await["evidence"][0]["pain_before"], 4);
        // A swollen, red or warm leg at any check-in is urgent.
        let finn = app.patient("finn@example.org").await;
        let finn_id = app.account_id(&finn).await;
        app.answer_check_in(finn_id, 24, 2, true, None, now).await;
        let alert = app.only_alert(&finn).await;
        assert_eq!((alert["rule"].as_str(), alert["tier"].as_str()), (Some("leg_swelling"), Some("urgent")));
        assert_eq!(alert["evidence"][0]["leg_swelling_redness_warmth"], true);
    }

    async fn an_emergency_is_pushed_with_high_urgency_at_once_even_at_night(app) with MANUAL {
        // 23:30 in Berlin: inside the default quiet hours.
        app.clock.set(at("2026-11-21T22:30:00Z"));
        let receiver = PushReceiver::start().await;
        receiver.set_now(app.clock_now());
        let (ana, phone) = patient_with_device(&app, &receiver, "ana@example.org").await;
        app.log(&ana, &entry("2026-11-21T22:20:00Z", 6, &["saddle_numbness"])).await;
        app.round().await;

        let urgent = receiver.received(&phone);
        assert_eq!(urgent.len(), 1, "one push within one dispatcher round");
        let push = &urgent[0];
        assert_eq!(push.urgency.as_deref(), Some("high"));
        assert_eq!(push.ttl.as_deref(), Some("172800"), "48 hours: the clinical window");
        assert!(push.vapid.is_ok(), "{:?}", push.vapid);
        let body = payload(push);
        let alert = app.only_alert(&ana).await;
        assert_eq!((alert["rule"].as_str(), alert["tier"].as_str()), (Some("cauda_equina_signs"), Some("emergency")));
        assert_eq!(body["kind"], "urgent_alert");
        assert_eq!(body["link"], format!("/alerts/{}", alert["id"].as_str().unwrap()));
        let text = body.to_string().to_lowercase();
        for private in ["numb", "saddle", "bladder", "pain", "emergency"] {
            assert!(!text.contains(private), "the lock screen shows no health details: {text}");
        }
        assert!(alert["advice"].as_str().unwrap().starts_with("Call emergency services now"));
        assert_eq!(alert["notification_count"], 1);
        assert_eq!(instant(&alert["notified_at"]), at("2026-11-21T22:30:00Z"));
        let inbox = app.inbox(&ana).await;
        let item = inbox.iter().find(|n| n["kind"] == "urgent_alert").unwrap();
        assert_eq!(item["status"], "sent");
    }

    async fn a_therapist_hears_of_a_clients_emergency_in_their_own_words_after_their_quiet_hours(app) with MANUAL {
        // 23:30 in Berlin for both.
        app.clock.set(at("2026-11-21T22:30:00Z"));
        let receiver = PushReceiver::start().await;
        receiver.set_now(app.clock_now());
        let ana = app.named_patient("ana@example.org", "Ana").await;
        let tom = app.therapist("tom@example.org", "Tom").await;
        app.link(&ana, &tom, &["read_journal", "receive_alerts"]).await;
        let (ana_phone, tom_phone) = (receiver.subscribe(), receiver.subscribe());
        app.register_device(&ana.tokens, &ana_phone).await;
        app.register_device(&tom.tokens, &tom_phone).await;
        app.log(&ana.tokens, &entry("2026-11-21T22:20:00Z", 6, &["saddle_numbness"])).await;
        app.round().await;
        assert_eq!(pushes(&receiver, &ana_phone, "urgent_alert").len(), 1, "the patient is told at once");
        assert_eq!(receiver.requests(&tom_phone), 0, "the therapist is not woken");

        let alert = app.only_alert(&ana.tokens).await;
        let inbox = app.inbox(&tom.tokens).await;
        assert_eq!(inbox.len(), 1, "{inbox:?}");
        assert_eq!(inbox[0]["kind"], "client_urgent_alert");
        assert_eq!(inbox[0]["status"], "scheduled");
        assert_eq!(instant(&inbox[0]["due_at"]), at("2026-11-22T07:00:00Z"));
        let link = format!("/clients/{}/alerts/{}", ana.id, alert["id"].as_str().unwrap());
        assert_eq!(inbox[0]["link"], link.as_str());

        app.clock.set(at("2026-11-22T07:00:01Z"));
        receiver.set_now(app.clock_now());
        app.round().await;
        let got = receiver.received(&tom_phone);
        assert_eq!(got.len(), 1);
        assert_eq!((got[0].urgency.as_deref(), got[0].ttl.as_deref()), (Some("normal"), Some("172800")));
        let body = payload(&got[0]);
        assert_eq!(body["kind"], "client_urgent_alert");
        assert_eq!(body["title"], "A client needs attention");
        let text = body.to_string().to_lowercase();
        for private in ["ana", "numb", "saddle", "bladder", "emergency", "you logged"] {
            assert!(!text.contains(private), "the lock screen names neither the client nor the symptom: {text}");
        }
        // The link opens the client's alert, which the grant lets the therapist read.
        let tom = app.again(&tom, "tom@example.org").await;
        let read = app.json(tom.token(), &format!("/v1/patients/{}/alerts/{}", ana.id, alert["id"].as_str().unwrap())).await;
        assert_eq!((read["id"].clone(), read["tier"].clone()), (alert["id"].clone(), json!("emergency")));
        assert!(read["advice"].as_str().unwrap().starts_with("Call emergency services now"));
    }

    async fn a_therapists_copy_of_an_alert_follows_the_consent_in_force_when_it_goes_out(app) with MANUAL {
        // Midday in Berlin: every copy is due at once, and goes out with the next round.
        app.clock.set(at("2026-11-21T11:00:00Z"));
        let receiver = PushReceiver::start().await;
        receiver.set_now(app.clock_now());
        let ana = app.named_patient("ana@example.org", "Ana").await;
        let both = ["read_journal", "receive_alerts"];
        let tom = app.therapist("tom@example.org", "Tom").await; // revoked
        let una = app.therapist("una@example.org", "Una").await; // expires
        let vic = app.therapist("vic@example.org", "Vic").await; // loses receive_alerts
        let wes = app.therapist("wes@example.org", "Wes").await; // keeps it
        let nia = app.therapist("nia@example.org", "Nia").await; // never had it
        let tom_grant = app.link(&ana, &tom, &both).await;
        let ends = (app.clock_now() + TimeDelta::minutes(10)).to_rfc3339();
        app.link_with(&ana, &una, json!({"scopes": both, "access_expires_at": ends})).await;
        let vic_grant = app.link(&ana, &vic, &both).await;
        app.link(&ana, &wes, &both).await;
        app.link(&ana, &nia, &["read_journal"]).await;
        let phones: Vec<_> = (0..6).map(|_| receiver.subscribe()).collect();
        for (who, phone) in [&ana, &tom, &una, &vic, &wes, &nia].into_iter().zip(&phones) {
            app.register_device(&who.tokens, phone).await;
        }

        // The alert fires; its copies are scheduled for everyone with the scope.
        app.log(&ana.tokens, &entry("2026-11-21T10:50:00Z", 6, &["fever"])).await;
        for who in [&tom, &una, &vic, &wes] {
            let inbox = app.inbox(&who.tokens).await;
            assert_eq!(inbox.iter().filter(|n| n["kind"] == "client_urgent_alert").count(), 1, "{}", who.id);
        }
        assert!(app.inbox(&nia.tokens).await.is_empty(), "no copy without receive_alerts");

        // Before the dispatcher runs, consent changes: revoked, narrowed, run out.
        let revoke = format!("/v1/care/grants/{}", tom_grant["id"].as_str().unwrap());
        assert_eq!(app.send(Method::DELETE, &revoke, &ana, None).await.status(), StatusCode::NO_CONTENT);
        let narrow = format!("/v1/care/grants/{}", vic_grant["id"].as_str().unwrap());
        let response = app.send(Method::PATCH, &narrow, &ana, Some(&json!({"scopes": ["read_journal"]}))).await;
        assert_eq!(response.status(), StatusCode::OK);
        app.clock.advance(TimeDelta::minutes(11));
        receiver.set_now(app.clock_now());
        app.round().await;

        assert_eq!(pushes(&receiver, &phones[0], "urgent_alert").len(), 1, "the patient still hears of it");
        for (label, phone) in [("revoked", &phones[1]), ("expired", &phones[2]), ("without the scope", &phones[3]), ("never had it", &phones[5])] {
            assert_eq!(receiver.requests(phone), 0, "a therapist whose grant is {label} is not pushed");
        }
        assert_eq!(pushes(&receiver, &phones[4], "client_urgent_alert").len(), 1, "the therapist who kept the scope is");
        for who in [&tom, &una, &vic] {
            assert!(app.inbox(&who.tokens).await.iter().all(|n| n["kind"] != "client_urgent_alert"), "{}", who.id);
        }
        // Caseloads show alerts only under a live grant with the scope.
        let wes_caseload = app.json(wes.token(), "/v1/caseload").await;
        assert_eq!(wes_caseload["items"][0]["open_alerts"]["count"], 1);
        let vic_caseload = app.json(vic.token(), "/v1/caseload").await;
        assert!(vic_caseload["items"][0]["open_alerts"].is_null(), "{vic_caseload}");
        let nia_caseload = app.json(nia.token(), "/v1/caseload").await;
        assert!(nia_caseload["items"][0]["open_alerts"].is_null(), "{nia_caseload}");
        for who in [&tom, &una] {
            assert_eq!(app.json(who.token(), "/v1/caseload").await["items"], json!([]));
        }
    }

    async fn a_copy_waiting_for_a_retry_is_not_sent_once_consent_is_withdrawn(app) with MANUAL {
        app.clock.set(at("2026-11-21T11:00:00Z"));
        let receiver = PushReceiver::start().await;
        receiver.set_now(app.clock_now());
        let ana = app.named_patient("ana@example.org", "Ana").await;
        let tom = app.therapist("tom@example.org", "Tom").await;
        let grant = app.link(&ana, &tom, &["read_journal", "receive_alerts"]).await;
        let (ana_phone, tom_phone) = (receiver.subscribe(), receiver.subscribe());
        app.register_device(&ana.tokens, &ana_phone).await;
        app.register_device(&tom.tokens, &tom_phone).await;
        receiver.reply(&tom_phone, Reply::retry_after(503, "60"));
        app.log(&ana.tokens, &entry("2026-11-21T10:50:00Z", 6, &["fever"])).await;
        app.round().await;
        assert_eq!(receiver.requests(&tom_phone), 1, "tried once, to be retried");

        let revoke = format!("/v1/care/grants/{}", grant["id"].as_str().unwrap());
        assert_eq!(app.send(Method::DELETE, &revoke, &ana, None).await.status(), StatusCode::NO_CONTENT);
        receiver.reply(&tom_phone, Reply::status(201));
        app.clock.advance(TimeDelta::minutes(5));
        receiver.set_now(app.clock_now());
        app.round().await;
        assert_eq!(receiver.requests(&tom_phone), 1, "the retry is given up on");
        assert_eq!(pushes(&receiver, &ana_phone, "urgent_alert").len(), 1);
    }

    async fn a_see_physio_alert_waits_for_the_end_of_quiet_hours(app) with MANUAL {
        app.clock.set(at("2026-11-21T22:30:00Z"));
        let receiver = PushReceiver::start().await;
        receiver.set_now(app.clock_now());
        let (ana, phone) = patient_with_device(&app, &receiver, "ana@example.org").await;
        app.log(&ana, &entry("2026-11-21T22:20:00Z", 4, &["tingling_left_leg"])).await;
        app.round().await;
        assert_eq!(receiver.requests(&phone), 0, "not during quiet hours");
        let alert = app.only_alert(&ana).await;
        assert_eq!(alert["rule"], "neurological");
        // 08:00 in Berlin.
        assert_eq!(instant(&alert["notified_at"]), at("2026-11-22T07:00:00Z"));
        let inbox = app.inbox(&ana).await;
        let item = inbox.iter().find(|n| n["kind"] == "alert").unwrap();
        assert_eq!(item["status"], "scheduled");
        assert_eq!(instant(&item["due_at"]), at("2026-11-22T07:00:00Z"));

        app.clock.set(at("2026-11-22T07:00:01Z"));
        receiver.set_now(app.clock_now());
        app.round().await;
        let sent = pushes(&receiver, &phone, "alert");
        assert_eq!(sent.len(), 1);
        assert_eq!(receiver.received(&phone)[0].urgency.as_deref(), Some("normal"));
    }

    async fn an_alert_is_notified_again_after_the_cooldown_until_acknowledged_then_resolves_itself(app) with MANUAL {
        let day0 = at("2026-11-02T11:00:00Z");
        let on = |day: i64| day0 + TimeDelta::days(day);
        app.clock.set(on(0));
        let receiver = PushReceiver::start().await;
        receiver.set_now(app.clock_now());
        let (ana, phone) = patient_with_device(&app, &receiver, "ana@example.org").await;
        // Moves to a day (access tokens last an hour) and signs in again.
        let day = |n: i64| {
            app.clock.set(on(n));
            receiver.set_now(on(n));
            app.sign_in("ana@example.org")
        };
        let fever_now = |app: &TestApp| entry(&(app.clock_now() - TimeDelta::minutes(5)).to_rfc3339(), 4, &["fever"]);

        app.log(&ana, &fever_now(&app)).await;
        app.log(&ana, &fever_now(&app)).await;
        app.round().await;
        let alert = app.only_alert(&ana).await;
        assert_eq!(alert["rule"], "fever");
        let id = alert["id"].as_str().unwrap().to_owned();
        assert_eq!(pushes(&receiver, &phone, "urgent_alert").len(), 1, "two reports, one alert, one push");

        // A fever again on day 6: the same alert, refreshed; the cooldown has not passed.
        let ana = day(6).await;
        app.log(&ana, &fever_now(&app)).await;
        app.round().await;
        assert_eq!(pushes(&receiver, &phone, "urgent_alert").len(), 1);
        assert_eq!(instant(&app.only_alert(&ana).await["last_seen_at"]), on(6));

        // Day 7: still firing (day 6's report), unacknowledged, a week since the push: exactly
        // one more, and no more on the next sweep.
        let ana = day(7).await;
        let report = app.sweep().await;
        assert_eq!((report.opened, report.notified), (0, 1));
        app.round().await;
        app.sweep().await;
        app.round().await;
        let sent = pushes(&receiver, &phone, "urgent_alert");
        assert_eq!(sent.len(), 2);
        assert!(sent.iter().all(|p| p["link"] == format!("/alerts/{id}")));
        let alert = app.only_alert(&ana).await;
        assert_eq!(alert["notification_count"], 2);
        assert_eq!(app.inbox(&ana).await.iter().filter(|n| n["kind"] == "urgent_alert").count(), 2);

        // Acknowledged: no more pushes, though it keeps firing past another cooldown.
        let response = app.alert_action(&ana, &id, "acknowledge").await;
        assert_eq!(response.status(), StatusCode::OK);
        let acknowledged: Value = response.json().await.unwrap();
        assert_eq!(acknowledged["status"], "acknowledged");
        assert_eq!(acknowledged["acknowledged_by"], app.account_id(&ana).await.to_string());
        assert_eq!(app.alert_action(&ana, &id, "acknowledge").await.status(), StatusCode::OK, "again changes nothing");
        let ana = day(13).await;
        app.log(&ana, &fever_now(&app)).await;
        day(14).await;
        app.sweep().await;
        app.round().await;
        assert_eq!(pushes(&receiver, &phone, "urgent_alert").len(), 2);

        // The last fever (day 13) keeps the rule firing to day 19; on day 26 it has been clear
        // for seven days, and not before. But the patient has not logged since: silence is not
        // recovery, so it stays.
        let ana = day(25).await;
        app.sweep().await;
        assert_eq!(app.only_alert(&ana).await["status"], "acknowledged");
        let ana = day(26).await;
        assert_eq!(app.sweep().await.resolved, 0, "no entries in the look-back: not enough data");
        // Two fever-free days logged are below the three needed; the third resolves it.
        for back in [4, 2] {
            app.log(&ana, &entry(&(on(26 - back) - TimeDelta::hours(1)).to_rfc3339(), 2, &[])).await;
        }
        assert_eq!(app.only_alert(&ana).await["status"], "acknowledged", "two logged days are not enough");
        app.log(&ana, &entry(&(on(26) - TimeDelta::hours(1)).to_rfc3339(), 2, &[])).await;
        let alert = app.only_alert(&ana).await;
        assert_eq!((alert["status"].as_str(), alert["resolution"].as_str()), (Some("resolved"), Some("auto")));
        assert_eq!(alert["resolution_reason"], "cleared");
        assert!(alert["resolution_note"].as_str().unwrap().contains("later entries show improvement"), "{alert}");
        assert_eq!(instant(&alert["resolved_at"]), on(26));
        // History stays; a new fever opens a new alert.
        app.log(&ana, &fever_now(&app)).await;
        let alerts = app.alerts(&ana, "").await;
        assert_eq!(alerts.len(), 2);
        assert_eq!((alerts[0]["status"].as_str(), alerts[1]["status"].as_str()), (Some("open"), Some("resolved")));
    }

    async fn deleting_the_entry_behind_an_alert_resolves_it(app) {
        app.clock.set(at("2026-11-21T11:00:00Z"));
        let ana = app.patient("ana@example.org").await;
        // Tingling in one leg (see a physiotherapist), not yet pushed (it waits to settle).
        let id = app.log(&ana, &entry("2026-11-21T10:00:00Z", 5, &["tingling_left_leg"])).await;
        assert_eq!(app.only_alert(&ana).await["status"], "open");
        let response = app.request(Method::DELETE, &format!("/v1/journal/entries/{id}"), Some(&ana.access), None).await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        let alert = app.only_alert(&ana).await;
        assert_eq!((alert["status"].as_str(), alert["resolution"].as_str()), (Some("resolved"), Some("auto")));
        assert_eq!(alert["resolution_reason"], "withdrawn");
        let inbox = app.inbox(&ana).await;
        assert!(inbox.iter().all(|n| n["kind"] != "alert"), "its pending notification is cancelled: {inbox:?}");

        // A red flag the patient has not acknowledged stays, even with its entry deleted; the
        // patient can resolve it by hand.
        let bob = app.patient("bob@example.org").await;
        let id = app.log(&bob, &entry("2026-11-21T10:00:00Z", 5, &["night_pain_not_eased_by_rest"])).await;
        let response = app.request(Method::DELETE, &format!("/v1/journal/entries/{id}"), Some(&bob.access), None).await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert_eq!(app.only_alert(&bob).await["status"], "open");
    }

    async fn an_alert_resolved_by_hand_comes_back_only_for_a_new_report(app) {
        app.clock.set(at("2026-11-21T11:00:00Z"));
        let ana = app.patient("ana@example.org").await;
        app.log(&ana, &entry("2026-11-21T10:00:00Z", 5, &["pain_after_fall_or_accident"])).await;
        let id = app.only_alert(&ana).await["id"].as_str().unwrap().to_owned();
        let response = app.alert_action(&ana, &id, "resolve").await;
        assert_eq!(response.status(), StatusCode::OK);
        let resolved: Value = response.json().await.unwrap();
        assert_eq!((resolved["status"].as_str(), resolved["resolution"].as_str()), (Some("resolved"), Some("manual")));
        assert_eq!(resolved["resolved_by"], app.account_id(&ana).await.to_string());
        assert_eq!(app.alert_action(&ana, &id, "resolve").await.status(), StatusCode::OK, "again changes nothing");
        let problem = assert_problem(app.alert_action(&ana, &id, "acknowledge").await, StatusCode::CONFLICT, "alert_resolved").await;
        assert!(problem["detail"].as_str().unwrap().contains("resolved"));

        // Another entry the same day re-evaluates, and the resolved report does not come back.
        app.log(&ana, &entry("2026-11-21T10:30:00Z", 3, &[])).await;
        app.sweep().await;
        assert_eq!(app.alerts(&ana, "").await.len(), 1);
        // The next day the fall is reported again: a new alert.
        app.clock.set(at("2026-11-22T11:00:00Z"));
        let ana = app.sign_in("ana@example.org").await;
        app.log(&ana, &entry("2026-11-22T10:00:00Z", 5, &["pain_after_fall_or_accident"])).await;
        let alerts = app.alerts(&ana, "").await;
        assert_eq!(alerts.len(), 2);
        assert_eq!(alerts[0]["status"], "open");
        assert_ne!(alerts[0]["id"].as_str(), Some(id.as_str()));
    }

    async fn alerts_are_listed_filtered_and_paged_and_private(app) {
        app.clock.set(at("2026-11-21T11:00:00Z"));
        let ana = app.patient("ana@example.org").await;
        app.log(&ana, &entry("2026-11-21T08:00:00Z", 5, &["fever"])).await;
        app.clock.set(at("2026-11-21T11:02:00Z"));
        app.log(&ana, &entry("2026-11-21T11:00:00Z", 5, &["fever", "tingling_left_leg"])).await;
        app.clock.set(at("2026-11-21T11:05:00Z"));
        app.log(&ana, &entry("2026-11-21T11:04:00Z", 7, &["saddle_numbness"])).await;
        let all = app.alerts(&ana, "").await;
        assert_eq!(rules(&all), ["cauda_equina_signs", "neurological", "fever"], "newest first");
        assert_eq!(rules(&app.alerts(&ana, "?tier=urgent").await), ["fever"]);
        let fever = all[2]["id"].as_str().unwrap();
        assert_eq!(app.alert_action(&ana, fever, "acknowledge").await.status(), StatusCode::OK);
        assert_eq!(rules(&app.alerts(&ana, "?status=open").await), ["cauda_equina_signs", "neurological"]);
        assert_eq!(rules(&app.alerts(&ana, "?status=acknowledged").await), ["fever"]);
        assert!(app.alerts(&ana, "?status=resolved").await.is_empty());
        assert_eq!(rules(&app.alerts(&ana, "?status=open&tier=see_physio").await), ["neurological"]);

        let mut seen = Vec::new();
        let mut cursor = String::new();
        loop {
            let page = app.json(&ana.access, &format!("/v1/alerts?limit=1&cursor={cursor}")).await;
            seen.extend(rules(page["items"].as_array().unwrap()).into_iter().map(str::to_owned));
            match page["next_cursor"].as_str() {
                Some(next) => cursor = next.to_owned(),
                None => break,
            }
        }
        assert_eq!(seen, ["cauda_equina_signs", "neurological", "fever"]);

        let problem = assert_problem(app.get("/v1/alerts?tier=severe", &ana.access).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(problem_fields(&problem), ["tier"]);
        let problem = assert_problem(app.get("/v1/alerts?status=closed", &ana.access).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(problem_fields(&problem), ["status"]);

        // Another patient sees none of it, and cannot touch it.
        let bob = app.patient("bob@example.org").await;
        assert!(app.alerts(&bob, "").await.is_empty());
        assert_problem(app.get(&format!("/v1/alerts/{fever}"), &bob.access).await, StatusCode::NOT_FOUND, "not_found").await;
        for action in ["acknowledge", "resolve"] {
            assert_problem(app.alert_action(&bob, fever, action).await, StatusCode::NOT_FOUND, "not_found").await;
        }
        let fever_now = app.json(&ana.access, &format!("/v1/alerts/{fever}")).await;
        assert_eq!(fever_now["status"], "acknowledged");
        let response = app.client.get(app.url("/v1/alerts")).send().await.unwrap();
        assert_problem(response, StatusCode::UNAUTHORIZED, "invalid_token").await;
    }

    async fn a_sweep_over_ten_thousand_patients_fires_the_expected_alerts_once(app) {
        let now = at("2026-11-21T11:00:00Z");
        app.clock.set(now);
        let today: NaiveDate = "2026-11-21".parse().unwrap();
        const PATIENTS: usize = 10_000;
        let ids: Vec<Uuid> = (0..PATIENTS).map(|_| Uuid::now_v7()).collect();
        let ts = |t: DateTime<Utc>| format!("'{}'", t.format("%Y-%m-%dT%H:%M:%S%.6fZ"));
        for (chunk_no, chunk) in ids.chunks(2000).enumerate() {
            let rows: Vec<String> = chunk.iter().enumerate().map(|(i, id)| format!(
                "({}, 'bulk{}@example.org', 'x', 'patient', 'Europe/Berlin', '21:30', '08:00', 'en', {now}, {now})",
                app.uuid_literal(*id), chunk_no * 2000 + i, now = ts(now),
            )).collect();
            app.execute_ok(format!(
                "INSERT INTO accounts (id, email, password_hash, role, time_zone, quiet_start, quiet_end, locale, created_at, updated_at)
                 VALUES {}", rows.join(",\n"))).await;
        }
        // Every tenth patient (n % 10 == 0) has had pain 5 every day for three weeks: `persistent`.
        // n % 10 == 3 has a fever today: `fever`. n % 10 == 5 last wrote 30 days ago: not even
        // looked at. Everyone else logged a mild day today: nothing fires.
        let mut rows = Vec::new();
        for (n, id) in ids.iter().enumerate() {
            let days: Vec<(i64, u8, &str)> = match n % 10 {
                0 => (0..21).map(|back| (back, 5, "")).collect(),
                3 => vec![(0, 3, ",fever,")],
                5 => vec![(30, 6, ",fever,")],
                _ => vec![(0, 2, "")],
            };
            for (seq, (back, pain, symptoms)) in days.into_iter().enumerate() {
                let date = today - TimeDelta::days(back);
                let recorded = ts(now - TimeDelta::days(back) - TimeDelta::hours(1));
                rows.push(format!(
                    "({}, {}, {recorded}, '{date}', {pain}, '{symptoms}', '{{}}', 1, {}, FALSE, {recorded}, {recorded})",
                    app.uuid_literal(Uuid::new_v4()), app.uuid_literal(*id), seq + 1,
                ));
            }
        }
        for chunk in rows.chunks(2000) {
            app.execute_ok(format!(
                "INSERT INTO journal_entries (id, patient_id, recorded_at, local_date, pain, symptoms, content, version,
                                              change_seq, deleted, created_at, updated_at)
                 VALUES {}", chunk.join(",\n"))).await;
        }

        // Two sweeps at once, as two instances would run them: each alert opens and is
        // notified exactly once.
        let (a, b) = tokio::join!(app.state.sweep_alerts(), app.state.sweep_alerts());
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!((a.patients, b.patients), (9_000, 9_000));
        assert_eq!(a.opened + b.opened, 2_000);
        assert_eq!(a.notified + b.notified, 2_000);
        let open = "SELECT count(*) FROM alerts WHERE resolved_at IS NULL AND rule = ";
        assert_eq!(app.count(&format!("{open}'persistent'"), None).await, 1_000);
        assert_eq!(app.count(&format!("{open}'fever'"), None).await, 1_000);
        assert_eq!(app.count("SELECT count(*) FROM alerts", None).await, 2_000);
        assert_eq!(app.count("SELECT count(*) FROM notifications WHERE dedupe_key LIKE 'alert:%:1'", None).await, 2_000);
        let urgent = app.count("SELECT count(*) FROM notifications WHERE kind = 'urgent_alert'", None).await;
        assert_eq!(urgent, 1_000, "fevers are urgent; persistent pain is not");

        // The next sweep refreshes the same alerts and sends nothing new.
        let again = app.sweep().await;
        assert_eq!((again.patients, again.opened, again.refreshed, again.notified, again.resolved), (9_000, 0, 2_000, 0, 0));
        assert_eq!(app.count("SELECT count(*) FROM alerts", None).await, 2_000);
        assert_eq!(app.count("SELECT count(*) FROM notifications WHERE dedupe_key LIKE 'alert:%'", None).await, 2_000);
    }

    async fn a_sync_marks_its_patient_once_and_one_background_evaluation_opens_the_window_alert(app) {
        app.clock.set(at("2026-11-21T11:00:00Z"));
        let ana = app.patient("ana@example.org").await;
        // Three weeks of pain 6, synced as a phone does: each answer is immediate, since pain
        // alone can raise only the rules over a window of days.
        for day in 1..=21 {
            let written = app.write_unstepped(&ana, &november(day, 6, &[])).await;
            assert_eq!(written["alerts"], json!([]), "day {day}");
        }
        assert!(app.alerts(&ana, "").await.is_empty(), "not evaluated yet");
        assert_eq!(app.count("SELECT count(*) FROM alert_evaluations_due", None).await, 1, "one mark for the sync");
        assert_eq!(app.count("SELECT max(generation) FROM alert_evaluations_due", None).await, 21);

        // One evaluation for the 21 entries opens the alert, notifies it, and clears the mark.
        let report = app.state.evaluate_due_alerts(None).await.unwrap();
        assert_eq!((report.patients, report.opened, report.notified), (1, 1, 1));
        let alert = app.only_alert(&ana).await;
        assert_eq!((alert["rule"].as_str(), alert["notification_count"].as_i64()), (Some("persistent"), Some(1)));
        assert_eq!(app.count("SELECT count(*) FROM alert_evaluations_due", None).await, 0);
        assert_eq!(app.state.evaluate_due_alerts(None).await.unwrap().patients, 0, "nothing left to do");

        // A red flag is evaluated while the patient waits; the write answers with it.
        let written = app.write_unstepped(&ana, &november(21, 6, &["saddle_numbness"])).await;
        assert_eq!(rules(written["alerts"].as_array().unwrap()), ["cauda_equina_signs"]);
    }

    async fn marks_are_claimed_by_one_evaluator_and_a_write_meanwhile_keeps_its_mark(app) {
        let now = app.clock_now();
        let recorded = (now - TimeDelta::hours(1)).to_rfc3339();
        let (ana, bob) = (app.patient("ana@example.org").await, app.patient("bob@example.org").await);
        let ana_id = app.account_id(&ana).await;
        app.write_unstepped(&ana, &entry(&recorded, 3, &[])).await;
        app.write_unstepped(&bob, &entry(&recorded, 3, &[])).await;
        let store = &app.state.store;
        let lease = now + TimeDelta::seconds(60);

        // Two evaluators (instances) claim disjoint sets; a held mark is nobody else's.
        let first = store.claim_due_evaluations(now, lease, 1, None).await.unwrap();
        let second = store.claim_due_evaluations(now, lease, 10, None).await.unwrap();
        assert_eq!((first.len(), second.len()), (1, 1));
        assert_ne!(first[0].patient_id, second[0].patient_id);
        assert!(store.claim_due_evaluations(now, lease, 10, None).await.unwrap().is_empty());

        // Ana writes again while she is being evaluated: her mark outlives that evaluation and
        // is free for the next one, which sees the new entry.
        app.write_unstepped(&ana, &entry(&recorded, 4, &[])).await;
        store.finish_due_evaluations(&[first[0], second[0]]).await.unwrap();
        let left = store.claim_due_evaluations(now, lease, 10, None).await.unwrap();
        assert_eq!(left.iter().map(|d| d.patient_id).collect::<Vec<_>>(), [ana_id]);

        // An evaluator that died holds its claim until the lease runs out; then it is taken again.
        assert!(store.claim_due_evaluations(now, lease, 10, None).await.unwrap().is_empty());
        let retaken = store.claim_due_evaluations(lease, lease + TimeDelta::seconds(60), 10, None).await.unwrap();
        assert_eq!(retaken, left);
        store.finish_due_evaluations(&retaken).await.unwrap();
        assert_eq!(app.count("SELECT count(*) FROM alert_evaluations_due", None).await, 0);
    }

    async fn the_background_evaluator_opens_a_window_alert_after_the_sync(app) with BACKGROUND {
        app.clock.set(at("2026-11-21T11:00:00Z"));
        let ana = app.patient("ana@example.org").await;
        for day in 1..=21 {
            app.write_unstepped(&ana, &november(day, 6, &[])).await;
        }
        // Woken by the writes, this instance's evaluator gets to it; waited for, not timed.
        let mut alerts = Vec::new();
        for _ in 0..600 {
            alerts = app.alerts(&ana, "").await;
            if !alerts.is_empty() && app.count("SELECT count(*) FROM alert_evaluations_due", None).await == 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(rules(&alerts), ["persistent"]);
    }
}
