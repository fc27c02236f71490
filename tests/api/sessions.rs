use chrono::{DateTime, TimeDelta, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{Backend, PASSWORD, TestApp, Tokens, assert_problem, on_both_backends, problem_fields};
use crate::push_receiver::{BrowserSubscription, PushReceiver};

const MANUAL: [(&str, Value); 1] = [("dispatcher.enabled", Value::Bool(false))];

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn session(started_at: &str, kind: &str) -> Value {
    json!({"started_at": started_at, "duration_minutes": 60, "kind": kind, "regions": ["lower_back"], "pressure": "firm", "pain_before": 6})
}

impl TestApp {
    pub async fn record_session(&self, tokens: &Tokens, body: &Value) -> Value {
        let response = self.post("/v1/sessions", Some(&tokens.access), body).await;
        assert_eq!(response.status(), StatusCode::CREATED, "recording a session");
        response.json().await.unwrap()
    }

    /// Due times of scheduled aftercare notifications, in order.
    pub async fn scheduled_aftercare(&self, tokens: &Tokens) -> Vec<DateTime<Utc>> {
        let mut due: Vec<DateTime<Utc>> = self
            .inbox(tokens)
            .await
            .iter()
            .filter(|n| n["kind"] == "aftercare" && n["status"] == "scheduled")
            .map(|n| n["due_at"].as_str().unwrap().parse().unwrap())
            .collect();
        due.sort();
        due
    }
}

impl TestApp {
    /// Makes the database refuse every `INSERT` or `UPDATE` of a notification, as a full disk or
    /// a broken constraint would, until [`TestApp::accept_notifications`].
    async fn refuse_notifications(&self, operation: &str) {
        match self.backend {
            Backend::Sqlite => {
                self.execute(&format!(
                    "CREATE TRIGGER refuse_notifications BEFORE {operation} ON notifications
                     BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
                ))
                .await
                .unwrap();
            }
            Backend::Postgres => {
                self.execute(
                    "CREATE OR REPLACE FUNCTION refuse_write() RETURNS trigger LANGUAGE plpgsql
                     AS $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$",
                )
                .await
                .unwrap();
                self.execute(&format!(
                    "CREATE TRIGGER refuse_notifications BEFORE {operation} ON notifications
                     FOR EACH ROW EXECUTE FUNCTION refuse_write()"
                ))
                .await
                .unwrap();
            }
        }
    }

    async fn accept_notifications(&self) {
        let sql = match self.backend {
            Backend::Sqlite => "DROP TRIGGER refuse_notifications",
            Backend::Postgres => "DROP TRIGGER refuse_notifications ON notifications",
        };
        self.execute(sql).await.unwrap();
    }

    /// The patient's alerts, newest first.
    async fn session_alerts(&self, tokens: &Tokens) -> Vec<Value> {
        self.json(&tokens.access, "/v1/alerts").await["items"].as_array().unwrap().clone()
    }

    /// `started_at` of every session a listing gives, following `next_cursor` a page at a time.
    async fn session_pages(&self, token: &str, path: &str, page: u32) -> Vec<DateTime<Utc>> {
        let mut starts = Vec::new();
        let mut cursor = String::new();
        loop {
            let body = self.json(token, &format!("{path}?limit={page}&cursor={cursor}")).await;
            let items = body["items"].as_array().unwrap();
            assert!(items.len() <= page as usize);
            starts.extend(items.iter().map(|s| at(s["started_at"].as_str().unwrap())));
            match body["next_cursor"].as_str() {
                Some(next) => cursor = next.to_owned(),
                None => return starts,
            }
        }
    }
}

fn keys(view: &Value) -> Vec<&str> {
    view["steps"].as_array().unwrap().iter().map(|s| s["key"].as_str().unwrap()).collect()
}

fn states(view: &Value) -> Vec<&str> {
    view["steps"].as_array().unwrap().iter().map(|s| s["state"].as_str().unwrap()).collect()
}

fn step<'a>(view: &'a Value, key: &str) -> &'a Value {
    view["steps"].as_array().unwrap().iter().find(|s| s["key"] == key).unwrap_or_else(|| panic!("no step {key}"))
}

/// The pushes of one notification kind a device received.
fn pushed(
    receiver: &PushReceiver,
    device: &BrowserSubscription,
    kind: &str,
) -> Vec<(crate::push_receiver::Received, Value)> {
    receiver
        .received(device)
        .into_iter()
        .map(|r| {
            let payload: Value = serde_json::from_str(&r.text()).unwrap();
            (r, payload)
        })
        .filter(|(_, p)| p["kind"] == kind)
        .collect()
}

fn due_times(recorded: &Value) -> Vec<DateTime<Utc>> {
    recorded["steps"].as_array().unwrap().iter().map(|s| s["due_at"].as_str().unwrap().parse().unwrap()).collect()
}

on_both_backends! {
    async fn more_regions_than_the_body_has_are_refused(app) {
        app.clock.set(at("2026-11-18T17:05:00Z"));
        let ana = app.patient("ana@example.org").await;
        let regions = vec!["neck"; 12];
        let mut body = session("2026-11-18T16:00:00Z", "swedish");
        body["regions"] = json!(regions);
        let problem = assert_problem(app.post("/v1/sessions", Some(&ana.access), &body).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(problem_fields(&problem), ["regions"]);
        let planned = json!({"kind": "swedish", "regions": regions});
        let problem = assert_problem(app.post("/v1/sessions/screen", Some(&ana.access), &planned).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(problem_fields(&problem), ["regions"]);
        // Eleven, repeated or not, are fine.
        body["regions"] = json!(vec!["neck"; 11]);
        assert_eq!(app.post("/v1/sessions", Some(&ana.access), &body).await.status(), StatusCode::CREATED);
    }

    async fn a_deep_tissue_session_at_17_in_berlin_gets_five_prompts_at_the_right_times(app) with MANUAL {
        app.clock.set(at("2026-11-18T17:05:00Z"));
        let receiver = PushReceiver::start().await;
        let ana = app.patient_in("ana@example.org", "Europe/Berlin").await;
        let phone = receiver.subscribe();
        app.register_device(&ana, &phone).await;
        // 17:00–18:00 CET (16:00–17:00Z) on Wednesday 2026-11-18.
        let recorded = app.record_session(&ana, &session("2026-11-18T16:00:00Z", "deep_tissue")).await;
        let keys: Vec<&str> = recorded["steps"].as_array().unwrap().iter().map(|s| s["key"].as_str().unwrap()).collect();
        assert_eq!(keys, ["hydrate", "warm_bath", "morning_stretches", "soreness_24h", "soreness_48h"]);
        let expected = [
            at("2026-11-18T17:15:00Z"), // end + 15 min: 18:15 CET
            at("2026-11-18T19:00:00Z"), // 20:00 CET: end + 2 h is later than 19:00
            at("2026-11-19T08:00:00Z"), // 09:00 CET next morning
            at("2026-11-19T17:00:00Z"), // end + 24 h
            at("2026-11-20T17:00:00Z"), // end + 48 h
        ];
        assert_eq!(due_times(&recorded), expected);
        assert_eq!(app.scheduled_aftercare(&ana).await, expected, "each step is a scheduled notification");
        assert_eq!(recorded["session"]["plan_name"].as_str().map(|n| !n.is_empty()), Some(true));

        // The phone gets each prompt when it is due, and not before.
        for (i, due) in expected.iter().enumerate() {
            app.clock.set(*due - TimeDelta::seconds(1));
            app.round().await;
            let aftercare = |r: &crate::push_receiver::Received| serde_json::from_str::<Value>(&r.text()).unwrap()["kind"] == "aftercare";
            assert_eq!(receiver.received(&phone).iter().filter(|r| aftercare(r)).count(), i);
            app.clock.set(*due + TimeDelta::seconds(1));
            receiver.set_now(app.clock_now());
            app.round().await;
            assert_eq!(receiver.received(&phone).iter().filter(|r| aftercare(r)).count(), i + 1, "step {i}");
        }
    }

    async fn late_evening_sessions_wait_for_the_end_of_quiet_hours(app) {
        app.clock.set(at("2026-11-19T02:05:00Z"));
        let ana = app.patient_in("ana@example.org", "America/New_York").await;
        // 20:00–21:00 EST (01:00–02:00Z on the 19th), quiet hours 21:30–08:00.
        let recorded = app.record_session(&ana, &session("2026-11-19T01:00:00Z", "swedish")).await;
        let keys: Vec<&str> = recorded["steps"].as_array().unwrap().iter().map(|s| s["key"].as_str().unwrap()).collect();
        assert_eq!(keys, ["hydrate", "morning_stretches", "soreness_24h", "soreness_48h"], "the lighter Swedish plan");
        assert_eq!(
            due_times(&recorded),
            [
                at("2026-11-19T02:15:00Z"), // 21:15 EST: before quiet hours
                at("2026-11-19T14:00:00Z"), // 09:00 EST
                at("2026-11-20T02:00:00Z"), // end + 24 h is 21:00 EST, before 21:30
                at("2026-11-21T02:00:00Z"), // end + 48 h, the same
            ]
        );
        // Quiet hours from 21:00: the hydrate prompt waits until 08:00.
        let body = json!({"quiet_hours": {"start": "21:00", "end": "08:00"}});
        app.request(Method::PATCH, "/v1/me", Some(&ana.access), Some(&body)).await;
        let recorded = app.record_session(&ana, &session("2026-11-19T01:00:00Z", "swedish")).await;
        assert_eq!(due_times(&recorded)[0], at("2026-11-19T13:00:00Z"));
        assert_eq!(due_times(&recorded)[2], at("2026-11-20T13:00:00Z"), "21:00 EST is quiet now too");
    }

    async fn resaving_moving_and_deleting_a_session_keep_the_outbox_in_step(app) {
        app.clock.set(at("2026-11-18T12:05:00Z"));
        let ana = app.patient_in("ana@example.org", "Europe/Berlin").await;
        let body = session("2026-11-18T11:00:00Z", "deep_tissue"); // 12:00–13:00 CET
        let recorded = app.record_session(&ana, &body).await;
        let id = recorded["session"]["id"].as_str().unwrap().to_owned();
        let before = app.scheduled_aftercare(&ana).await;
        assert_eq!(
            before,
            [
                at("2026-11-18T12:15:00Z"),
                at("2026-11-18T18:00:00Z"), // 19:00 CET, later than end + 2 h
                at("2026-11-19T08:00:00Z"),
                at("2026-11-19T12:00:00Z"),
                at("2026-11-20T12:00:00Z"),
            ]
        );

        // Saving the same details again changes nothing and doubles nothing.
        let response = app.request(Method::PUT, &format!("/v1/sessions/{id}"), Some(&ana.access), Some(&body)).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(app.scheduled_aftercare(&ana).await, before);
        assert_eq!(app.count("SELECT count(*) FROM notifications WHERE kind = 'aftercare'", None).await, 5);

        // It really was an hour earlier: pending prompts move; the hydrate prompt, now 50
        // minutes in the past, is dropped rather than sent late.
        let moved = session("2026-11-18T10:00:00Z", "deep_tissue"); // 11:00–12:00 CET
        let response: Value = app.request(Method::PUT, &format!("/v1/sessions/{id}"), Some(&ana.access), Some(&moved)).await.json().await.unwrap();
        assert_eq!(due_times(&response)[0], at("2026-11-18T11:15:00Z"));
        let expected = [at("2026-11-18T18:00:00Z"), at("2026-11-19T08:00:00Z"), at("2026-11-19T11:00:00Z"), at("2026-11-20T11:00:00Z")];
        assert_eq!(app.scheduled_aftercare(&ana).await, expected);
        assert_eq!(app.count("SELECT count(*) FROM notifications WHERE kind = 'aftercare'", None).await, 5, "moved, not added");

        // A step done early cancels its prompt.
        let step_id = response["steps"][2]["id"].as_str().unwrap();
        let done = app.request(Method::PUT, &format!("/v1/sessions/{id}/steps/{step_id}/completion"), Some(&ana.access), Some(&json!({"outcome": "done"}))).await;
        assert_eq!(done.json::<Value>().await.unwrap()["state"], "done");
        assert_eq!(app.scheduled_aftercare(&ana).await.len(), 3);

        let response = app.request(Method::DELETE, &format!("/v1/sessions/{id}"), Some(&ana.access), None).await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert!(app.scheduled_aftercare(&ana).await.is_empty(), "pending prompts are cancelled");
        assert_eq!(app.count("SELECT count(*) FROM aftercare_steps", None).await, 0, "nothing orphaned");
        assert_eq!(app.count("SELECT count(*) FROM notifications WHERE kind = 'aftercare' AND state = 'scheduled'", None).await, 0);
        assert_problem(app.get(&format!("/v1/sessions/{id}"), &ana.access).await, StatusCode::NOT_FOUND, "not_found").await;
    }

    async fn the_health_screen_warns_before_unsafe_massage(app) {
        let ana = app.patient("ana@example.org").await;
        let today = app.clock_now().date_naive().to_string();
        let screen = json!({
            "blood_clots": {"present": true, "note": "DVT in 2025", "confirmed_on": today},
            "osteoporosis": {"present": true, "severe": false, "confirmed_on": today},
            "pregnancy": {"present": false, "confirmed_on": today},
        });
        let response = app.request(Method::PUT, "/v1/me/health-screen", Some(&ana.access), Some(&screen)).await;
        assert_eq!(response.status(), StatusCode::OK);
        let saved: Value = response.json().await.unwrap();
        assert_eq!(saved["screen"]["blood_clots"]["note"], "DVT in 2025");
        assert!(saved["unanswered"].as_array().unwrap().iter().any(|c| c == "fever"));

        let planned = |kind: &str, pressure: &str| json!({"kind": kind, "pressure": pressure, "regions": ["lower_back"]});
        let deep: Value = app.post("/v1/sessions/screen", Some(&ana.access), &planned("deep_tissue", "firm")).await.json().await.unwrap();
        let outcomes: Vec<(String, String)> = deep["warnings"].as_array().unwrap().iter()
            .map(|w| (w["condition"].as_str().unwrap().to_owned(), w["outcome"].as_str().unwrap().to_owned())).collect();
        assert_eq!(outcomes, [("blood_clots".to_owned(), "avoid".to_owned()), ("osteoporosis".to_owned(), "modify".to_owned())]);
        let light: Value = app.post("/v1/sessions/screen", Some(&ana.access), &planned("swedish", "light")).await.json().await.unwrap();
        let osteo = light["warnings"].as_array().unwrap().iter().find(|w| w["condition"] == "osteoporosis").unwrap();
        assert_eq!(osteo["outcome"], "consult", "gentle massage weighs less");
        // Recording a session returns the same warnings.
        let recorded = app.record_session(&ana, &session(&(app.clock_now() - TimeDelta::hours(2)).to_rfc3339(), "deep_tissue")).await;
        assert_eq!(recorded["warnings"][0]["outcome"], "avoid");
        // Validation names the field.
        let bad = json!({"fever": {"present": false, "confirmed_on": "2999-01-01"}});
        let problem = assert_problem(app.request(Method::PUT, "/v1/me/health-screen", Some(&ana.access), Some(&bad)).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(problem_fields(&problem), ["fever.confirmed_on"]);
    }

    async fn check_ins_are_stored_with_the_session(app) {
        let ana = app.patient("ana@example.org").await;
        let recorded = app.record_session(&ana, &session(&(app.clock_now() - TimeDelta::hours(30)).to_rfc3339(), "deep_tissue")).await;
        let id = recorded["session"]["id"].as_str().unwrap();
        let steps = recorded["steps"].as_array().unwrap();
        let check_in = steps.iter().find(|s| s["key"] == "soreness_24h").unwrap();
        assert_eq!((check_in["kind"].as_str(), check_in["hours_after"].as_u64()), (Some("soreness_check_in"), Some(24)));
        let path = format!("/v1/sessions/{id}/steps/{}/check-in", check_in["id"].as_str().unwrap());
        let answer = json!({"soreness": 7, "leg_swelling_redness_warmth": true});
        let response = app.request(Method::PUT, &path, Some(&ana.access), Some(&answer)).await;
        assert_eq!(response.status(), StatusCode::OK);
        let step: Value = response.json().await.unwrap();
        assert_eq!(step["state"], "done");
        assert_eq!(step["check_in"]["soreness"], 7);
        assert_eq!(step["check_in"]["leg_swelling_redness_warmth"], true);
        // The swollen leg's urgent alert comes back with the answer, advice in full.
        let raised = step["alerts"].as_array().unwrap();
        assert_eq!(raised.len(), 1, "{raised:?}");
        assert_eq!((raised[0]["rule"].as_str(), raised[0]["tier"].as_str()), (Some("leg_swelling"), Some("urgent")));
        assert!(raised[0]["advice"].as_str().unwrap().len() > 40, "{}", raised[0]);
        let again = json!({"soreness": 5, "leg_swelling_redness_warmth": false});
        app.request(Method::PUT, &path, Some(&ana.access), Some(&again)).await;
        let session: Value = app.json(&ana.access, &format!("/v1/sessions/{id}")).await;
        let stored = session["steps"].as_array().unwrap().iter().find(|s| s["key"] == "soreness_24h").unwrap();
        assert_eq!(stored["check_in"]["soreness"], 5, "answering again replaces the answer");
        assert_eq!(app.count("SELECT count(*) FROM soreness_check_ins", None).await, 1);

        let hydrate = steps.iter().find(|s| s["key"] == "hydrate").unwrap();
        let path = format!("/v1/sessions/{id}/steps/{}/check-in", hydrate["id"].as_str().unwrap());
        let problem = assert_problem(app.request(Method::PUT, &path, Some(&ana.access), Some(&answer)).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(problem_fields(&problem), ["step_id"]);
        let problem = assert_problem(app.request(Method::PUT, &format!("/v1/sessions/{id}/steps/{}/check-in", check_in["id"].as_str().unwrap()), Some(&ana.access), Some(&json!({"soreness": 11, "leg_swelling_redness_warmth": false}))).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(problem_fields(&problem), ["soreness"]);
    }

    async fn another_patient_cannot_see_or_change_a_session(app) {
        let ana = app.patient("ana@example.org").await;
        let bob = app.patient("bob@example.org").await;
        let recorded = app.record_session(&ana, &session(&(app.clock_now() - TimeDelta::hours(3)).to_rfc3339(), "sports")).await;
        let id = recorded["session"]["id"].as_str().unwrap();
        let step = recorded["steps"][0]["id"].as_str().unwrap();
        assert_problem(app.get(&format!("/v1/sessions/{id}"), &bob.access).await, StatusCode::NOT_FOUND, "not_found").await;
        let body = session(&(app.clock_now() - TimeDelta::hours(3)).to_rfc3339(), "swedish");
        assert_problem(app.request(Method::PUT, &format!("/v1/sessions/{id}"), Some(&bob.access), Some(&body)).await, StatusCode::NOT_FOUND, "not_found").await;
        assert_problem(app.request(Method::DELETE, &format!("/v1/sessions/{id}"), Some(&bob.access), None).await, StatusCode::NOT_FOUND, "not_found").await;
        let done = json!({"outcome": "done"});
        assert_problem(app.request(Method::PUT, &format!("/v1/sessions/{id}/steps/{step}/completion"), Some(&bob.access), Some(&done)).await, StatusCode::NOT_FOUND, "not_found").await;
        assert_eq!(app.json(&bob.access, "/v1/sessions").await["items"], json!([]));
        assert_eq!(app.json(&ana.access, "/v1/sessions").await["items"].as_array().unwrap().len(), 1);
    }

    async fn recording_is_idempotent_and_validated(app) {
        let ana = app.patient("ana@example.org").await;
        let body = session(&(app.clock_now() - TimeDelta::hours(1)).to_rfc3339(), "trigger_point");
        let send = |key: &'static str, body: Value| {
            app.client.post(app.url("/v1/sessions")).bearer_auth(&ana.access).header("Idempotency-Key", key).json(&body).send()
        };
        let first: Value = send("visit-1", body.clone()).await.unwrap().json().await.unwrap();
        let retry: Value = send("visit-1", body.clone()).await.unwrap().json().await.unwrap();
        assert_eq!(first["session"]["id"], retry["session"]["id"]);
        assert_eq!(app.count("SELECT count(*) FROM massage_sessions", None).await, 1);
        assert_eq!(app.count("SELECT count(*) FROM aftercare_steps", None).await, 5);
        let cases = [
            (json!({"started_at": (app.clock_now() + TimeDelta::hours(2)).to_rfc3339(), "duration_minutes": 60, "kind": "swedish"}), "started_at"),
            (json!({"started_at": "2026-01-01T10:00:00Z", "duration_minutes": 0, "kind": "swedish"}), "duration_minutes"),
            (json!({"started_at": "2026-01-01T10:00:00Z", "duration_minutes": 60, "kind": "shiatsu"}), "kind"),
            (json!({"started_at": "2026-01-01T10:00:00Z", "duration_minutes": 60, "kind": "swedish", "pain_before": 12}), "pain_before"),
            (json!({"started_at": "2026-01-01T10:00:00Z", "duration_minutes": 60, "kind": "swedish", "pressure": "brutal"}), "pressure"),
            (json!({"started_at": "2026-01-01T10:00:00Z", "duration_minutes": 60, "kind": "swedish", "techniques": [""]}), "techniques[0]"),
        ];
        for (body, field) in cases {
            let problem = assert_problem(app.post("/v1/sessions", Some(&ana.access), &body).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
            assert_eq!(problem_fields(&problem), [field], "{body}");
        }
        assert_eq!(app.count("SELECT count(*) FROM massage_sessions", None).await, 1);
    }

    async fn therapists_keep_their_own_templates(app) {
        let response = app.register(&json!({"email": "tom@example.org", "password": PASSWORD, "role": "therapist", "discipline": "massage_therapist", "time_zone": "UTC"})).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let tom = app.sign_in("tom@example.org").await;
        let ana = app.patient("ana@example.org").await;
        let template = json!({"name": "Gentle sports recovery", "steps": [
            {"key": "hydrate", "kind": {"type": "hydrate"}, "timing": {"type": "after_end", "minutes": 30}, "title": "Water", "body": "Drink water if you are thirsty. Stop any stretch that causes sharp pain."},
            {"key": "check_48h", "kind": {"type": "soreness_check_in", "hours_after": 48}, "timing": {"type": "after_end", "minutes": 2880}, "title": "How do you feel?", "body": "Rate your soreness."}
        ]});
        let response = app.post("/v1/aftercare/templates", Some(&tom.access), &template).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let created: Value = response.json().await.unwrap();
        assert_eq!(created["template"]["steps"][1]["kind"], json!({"type": "soreness_check_in", "hours_after": 48}));
        let id = created["id"].as_str().unwrap();
        assert_eq!(app.json(&tom.access, "/v1/aftercare/templates").await["items"].as_array().unwrap().len(), 1);
        assert_problem(app.post("/v1/aftercare/templates", Some(&ana.access), &template).await, StatusCode::FORBIDDEN, "forbidden").await;
        let mut bad = template.clone();
        bad["steps"][0]["body"] = json!("This flushes toxins out of your muscles.");
        let problem = assert_problem(app.post("/v1/aftercare/templates", Some(&tom.access), &bad).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(problem_fields(&problem), ["steps[0].body"]);
        let renamed = json!({"name": "Renamed", "steps": template["steps"]});
        let response = app.request(Method::PUT, &format!("/v1/aftercare/templates/{id}"), Some(&tom.access), Some(&renamed)).await;
        assert_eq!(response.json::<Value>().await.unwrap()["template"]["name"], "Renamed");
        // Without a grant from the patient, assigning it looks like no such patient.
        let me: Value = app.get("/v1/me", &ana.access).await.json().await.unwrap();
        let assign = json!({"template_id": id});
        let response = app.request(Method::PUT, &format!("/v1/patients/{}/aftercare-template", me["id"].as_str().unwrap()), Some(&tom.access), Some(&assign)).await;
        assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
        let response = app.request(Method::DELETE, &format!("/v1/aftercare/templates/{id}"), Some(&tom.access), None).await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        let unknown = Uuid::new_v4();
        assert_problem(app.request(Method::DELETE, &format!("/v1/aftercare/templates/{unknown}"), Some(&tom.access), None).await, StatusCode::NOT_FOUND, "not_found").await;
    }
    async fn a_session_and_its_prompts_are_stored_together_or_not_at_all(app) with MANUAL {
        app.clock.set(at("2026-11-18T12:05:00Z"));
        let ana = app.patient_in("ana@example.org", "Europe/Berlin").await;
        let body = session("2026-11-18T11:00:00Z", "deep_tissue");
        let send = |body: &Value| {
            app.client.post(app.url("/v1/sessions")).bearer_auth(&ana.access).header("Idempotency-Key", "visit-1").json(body).send()
        };

        // The prompts cannot be written: neither is the session nor its plan.
        app.refuse_notifications("INSERT").await;
        assert_problem(send(&body).await.unwrap(), StatusCode::INTERNAL_SERVER_ERROR, "internal_error").await;
        for table in ["massage_sessions", "aftercare_steps", "notifications WHERE kind = 'aftercare'"] {
            assert_eq!(app.count(&format!("SELECT count(*) FROM {table}"), None).await, 0, "{table}");
        }
        // The same key records it once the database takes it again, and only once.
        app.accept_notifications().await;
        let first = send(&body).await.unwrap();
        assert_eq!(first.status(), StatusCode::CREATED);
        let first: Value = first.json().await.unwrap();
        let retry: Value = send(&body).await.unwrap().json().await.unwrap();
        assert_eq!(first["session"]["id"], retry["session"]["id"]);
        assert_eq!(app.count("SELECT count(*) FROM massage_sessions", None).await, 1);
        assert_eq!(app.count("SELECT count(*) FROM aftercare_steps", None).await, 5);
        assert_eq!(app.count("SELECT count(*) FROM notifications WHERE kind = 'aftercare' AND state = 'scheduled'", None).await, 5);
        let id = first["session"]["id"].as_str().unwrap().to_owned();
        let path = format!("/v1/sessions/{id}");
        let stored = app.json(&ana.access, &path).await;
        let prompts = app.scheduled_aftercare(&ana).await;
        assert_eq!(prompts, due_times(&stored));

        // Moving it fails with its prompts: the session keeps its time, its plan and its prompts.
        app.refuse_notifications("INSERT").await;
        let moved = session("2026-11-18T10:30:00Z", "deep_tissue");
        let response = app.request(Method::PUT, &path, Some(&ana.access), Some(&moved)).await;
        assert_problem(response, StatusCode::INTERNAL_SERVER_ERROR, "internal_error").await;
        assert_eq!(app.json(&ana.access, &path).await, stored);
        assert_eq!(app.scheduled_aftercare(&ana).await, prompts);
        app.accept_notifications().await;

        // Cancelling the prompts fails: the session is not deleted, and a step is not marked done.
        app.refuse_notifications("UPDATE").await;
        let response = app.request(Method::DELETE, &path, Some(&ana.access), None).await;
        assert_problem(response, StatusCode::INTERNAL_SERVER_ERROR, "internal_error").await;
        let stretches = step(&stored, "morning_stretches")["id"].as_str().unwrap().to_owned();
        let completion = format!("{path}/steps/{stretches}/completion");
        let response = app.request(Method::PUT, &completion, Some(&ana.access), Some(&json!({"outcome": "done"}))).await;
        assert_problem(response, StatusCode::INTERNAL_SERVER_ERROR, "internal_error").await;
        assert_eq!(app.json(&ana.access, &path).await, stored);
        assert_eq!(app.scheduled_aftercare(&ana).await, prompts);
        app.accept_notifications().await;

        // With the database back, each change takes its prompts with it.
        let response = app.request(Method::PUT, &completion, Some(&ana.access), Some(&json!({"outcome": "done"}))).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(app.scheduled_aftercare(&ana).await.len(), 4);
        let response = app.request(Method::DELETE, &path, Some(&ana.access), None).await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert!(app.scheduled_aftercare(&ana).await.is_empty());
        assert_eq!(app.count("SELECT count(*) FROM aftercare_steps", None).await, 0);
        assert_eq!(app.count("SELECT count(*) FROM notifications WHERE kind = 'aftercare' AND state = 'cancelled'", None).await, 5);
    }

    async fn a_prompt_moved_into_the_past_and_back_is_sent_after_all(app) with MANUAL {
        app.clock.set(at("2026-11-18T12:05:00Z"));
        let receiver = PushReceiver::start().await;
        let ana = app.patient_in("ana@example.org", "Europe/Berlin").await;
        let phone = receiver.subscribe();
        app.register_device(&ana, &phone).await;
        let body = session("2026-11-18T11:00:00Z", "deep_tissue"); // ends 12:00Z: hydrate at 12:15Z
        let recorded = app.record_session(&ana, &body).await;
        let path = format!("/v1/sessions/{}", recorded["session"]["id"].as_str().unwrap());
        let hydrate = step(&recorded, "hydrate")["id"].as_str().unwrap().to_owned();

        // Entered an hour early by mistake: the hydrate prompt would be 50 minutes late, so it is
        // cancelled rather than sent.
        let early = session("2026-11-18T10:00:00Z", "deep_tissue");
        assert_eq!(app.request(Method::PUT, &path, Some(&ana.access), Some(&early)).await.status(), StatusCode::OK);
        assert_eq!(app.scheduled_aftercare(&ana).await.len(), 4);
        // Put right: the prompt is back, once.
        assert_eq!(app.request(Method::PUT, &path, Some(&ana.access), Some(&body)).await.status(), StatusCode::OK);
        assert_eq!(app.scheduled_aftercare(&ana).await, due_times(&recorded));
        assert_eq!(app.count("SELECT count(*) FROM notifications WHERE kind = 'aftercare'", None).await, 5);

        app.clock.set(at("2026-11-18T12:15:01Z"));
        receiver.set_now(app.clock_now());
        app.round().await;
        let got = pushed(&receiver, &phone, "aftercare");
        assert_eq!(got.len(), 1, "the hydrate prompt is delivered");
        assert!(got[0].1["link"].as_str().unwrap().ends_with(&format!("/steps/{hydrate}")), "{}", got[0].1);

        // One already sent is not sent again, however the session moves.
        assert_eq!(app.request(Method::PUT, &path, Some(&ana.access), Some(&early)).await.status(), StatusCode::OK);
        assert_eq!(app.request(Method::PUT, &path, Some(&ana.access), Some(&body)).await.status(), StatusCode::OK);
        app.round().await;
        assert_eq!(pushed(&receiver, &phone, "aftercare").len(), 1);
        let sent = app.inbox(&ana).await.into_iter().filter(|n| n["kind"] == "aftercare" && n["status"] == "sent").count();
        assert_eq!(sent, 1);
    }

    async fn a_new_kind_brings_that_kinds_default_plan(app) with MANUAL {
        app.clock.set(at("2026-11-18T12:05:00Z"));
        let ana = app.patient_in("ana@example.org", "Europe/Berlin").await;
        let recorded = app.record_session(&ana, &session("2026-11-18T11:00:00Z", "swedish")).await;
        assert_eq!(keys(&recorded), ["hydrate", "morning_stretches", "soreness_24h", "soreness_48h"]);
        let path = format!("/v1/sessions/{}", recorded["session"]["id"].as_str().unwrap());
        let hydrate = step(&recorded, "hydrate").clone();
        let done = json!({"outcome": "done"});
        let response = app.request(Method::PUT, &format!("{path}/steps/{}/completion", hydrate["id"].as_str().unwrap()), Some(&ana.access), Some(&done)).await;
        assert_eq!(response.status(), StatusCode::OK);

        // It was deep tissue: the deep-tissue plan, with the step already done kept as it was.
        let deep = session("2026-11-18T11:00:00Z", "deep_tissue");
        let changed: Value = app.request(Method::PUT, &path, Some(&ana.access), Some(&deep)).await.json().await.unwrap();
        assert_eq!(keys(&changed), ["hydrate", "warm_bath", "morning_stretches", "soreness_24h", "soreness_48h"]);
        assert_eq!(states(&changed), ["done", "pending", "pending", "pending", "pending"]);
        assert_eq!(changed["session"]["plan_name"], "Deep tissue aftercare");
        assert_eq!(step(&changed, "hydrate"), &{
            let mut done = hydrate.clone();
            done["state"] = json!("done");
            done["completed_at"] = step(&changed, "hydrate")["completed_at"].clone();
            done
        });
        let stretches = step(&changed, "morning_stretches");
        assert_eq!(stretches["id"], step(&recorded, "morning_stretches")["id"], "the same step, with the new text");
        assert!(stretches["body"].as_str().unwrap().contains("hip-flexor"));
        assert_eq!(step(&changed, "soreness_48h")["hours_after"], 48);
        let expected = [
            at("2026-11-18T12:15:00Z"),
            at("2026-11-18T18:00:00Z"),
            at("2026-11-19T08:00:00Z"),
            at("2026-11-19T12:00:00Z"),
            at("2026-11-20T12:00:00Z"),
        ];
        assert_eq!(due_times(&changed), expected);
        assert_eq!(app.scheduled_aftercare(&ana).await, expected[1..], "a prompt for each pending step");
        let mut read_back = changed.clone();
        assert_eq!(read_back.as_object_mut().unwrap().remove("alerts"), Some(json!([])), "the change raised nothing");
        assert_eq!(app.json(&ana.access, &path).await, read_back);

        // Two days on the 48-hour check-in is answered; then the kind goes back to Swedish. The
        // pending warm bath goes with the deep-tissue plan, the answered check-in stays.
        app.clock.set(at("2026-11-20T12:30:00Z"));
        let ana = app.sign_in("ana@example.org").await;
        let check_in = format!("{path}/steps/{}/check-in", step(&changed, "soreness_48h")["id"].as_str().unwrap());
        let answer = json!({"soreness": 2, "leg_swelling_redness_warmth": false});
        assert_eq!(app.request(Method::PUT, &check_in, Some(&ana.access), Some(&answer)).await.status(), StatusCode::OK);
        let swedish = session("2026-11-18T11:00:00Z", "swedish");
        let back: Value = app.request(Method::PUT, &path, Some(&ana.access), Some(&swedish)).await.json().await.unwrap();
        assert_eq!(keys(&back), ["hydrate", "morning_stretches", "soreness_24h", "soreness_48h"]);
        assert_eq!(states(&back), ["done", "pending", "pending", "done"]);
        assert_eq!(step(&back, "soreness_48h")["check_in"]["soreness"], 2);
        assert_eq!(back["session"]["plan_name"], "Gentle aftercare");
        assert!(!step(&back, "morning_stretches")["body"].as_str().unwrap().contains("hip-flexor"));
        assert_eq!(app.scheduled_aftercare(&ana).await, [at("2026-11-19T08:00:00Z"), at("2026-11-19T12:00:00Z")]);
        // Done, answered, and the removed warm bath.
        assert_eq!(app.count("SELECT count(*) FROM notifications WHERE kind = 'aftercare' AND state = 'cancelled'", None).await, 3);
        assert_eq!(app.count("SELECT count(*) FROM aftercare_steps", None).await, 4);
    }

    async fn a_therapist_assigns_a_template_for_the_clients_next_sessions(app) {
        app.clock.set(at("2026-11-18T12:05:00Z"));
        let ana = app.named_patient("ana@example.org", "Ana").await;
        let tom = app.therapist("tom@example.org", "Tom").await;
        let grant = app.link(&ana, &tom, &["read_journal", "manage_aftercare"]).await;
        let grant_path = format!("/v1/care/grants/{}", grant["id"].as_str().unwrap());
        let earlier = app.record_session(&ana.tokens, &session("2026-11-18T08:00:00Z", "deep_tissue")).await;
        let template = json!({"name": "Lower back recovery", "steps": [
            {"key": "walk", "kind": {"type": "custom"}, "timing": {"type": "after_end", "minutes": 120}, "title": "A short walk", "body": "Walk for 10 minutes at an easy pace."},
            {"key": "check_48h", "kind": {"type": "soreness_check_in", "hours_after": 48}, "timing": {"type": "after_end", "minutes": 2880}, "title": "How do you feel?", "body": "Rate your soreness from 0 to 10."}
        ]});
        let created: Value = app.post("/v1/aftercare/templates", Some(tom.token()), &template).await.json().await.unwrap();
        let assign = json!({"template_id": created["id"]});
        let assignment = format!("/v1/patients/{}/aftercare-template", ana.id);
        assert_eq!(app.send(Method::PUT, &assignment, &tom, Some(&assign)).await.status(), StatusCode::NO_CONTENT);

        // The next session follows it, with the wording no plan goes without.
        let next = app.record_session(&ana.tokens, &session("2026-11-18T09:00:00Z", "swedish")).await;
        assert_eq!(next["session"]["plan_name"], "Lower back recovery");
        assert_eq!(keys(&next), ["walk", "check_48h"]);
        assert_eq!(due_times(&next), [at("2026-11-18T12:00:00Z"), at("2026-11-20T10:00:00Z")]);
        let walk = step(&next, "walk")["body"].as_str().unwrap();
        assert!(walk.starts_with("Walk for 10 minutes at an easy pace.\n\n"), "{walk}");
        assert!(walk.contains("sharp pain") && walk.contains("contact a doctor"), "{walk}");
        let check_in = step(&next, "check_48h")["body"].as_str().unwrap();
        assert!(check_in.contains("sharp pain") && check_in.contains("swollen, red, warm or painful") && check_in.contains("get medical help today"), "{check_in}");
        assert_eq!(app.scheduled_aftercare(&ana.tokens).await.iter().filter(|d| **d == at("2026-11-20T10:00:00Z")).count(), 1);
        // What was recorded before keeps its plan, and so does this session when the template
        // changes or the session's kind does.
        let path = |view: &Value| format!("/v1/sessions/{}", view["session"]["id"].as_str().unwrap());
        let before = app.json(ana.token(), &path(&earlier)).await;
        assert_eq!(before["session"]["plan_name"], "Deep tissue aftercare");
        assert_eq!(keys(&before).len(), 5);
        let edited = json!({"name": "Renamed recovery", "steps": [template["steps"][0]]});
        let response = app.send(Method::PUT, &format!("/v1/aftercare/templates/{}", created["id"].as_str().unwrap()), &tom, Some(&edited)).await;
        assert_eq!(response.status(), StatusCode::OK);
        let rekinded: Value = app.request(Method::PUT, &path(&next), Some(ana.token()), Some(&session("2026-11-18T09:00:00Z", "deep_tissue"))).await.json().await.unwrap();
        assert_eq!(rekinded["session"]["plan_name"], "Lower back recovery");
        assert_eq!(keys(&rekinded), ["walk", "check_48h"]);

        let plan_name = |start: &'static str| {
            let (app, tokens) = (&app, &ana.tokens);
            async move { app.record_session(tokens, &session(start, "swedish")).await["session"]["plan_name"].as_str().unwrap().to_owned() }
        };
        assert_eq!(plan_name("2026-11-18T09:30:00Z").await, "Renamed recovery", "the template as it is now");
        // Without the scope, the therapist's template no longer shapes the plan; with it back, it does.
        let scopes = |scopes: &[&str]| json!({"scopes": scopes});
        assert_eq!(app.send(Method::PATCH, &grant_path, &ana, Some(&scopes(&["read_journal"]))).await.status(), StatusCode::OK);
        assert_eq!(plan_name("2026-11-18T10:00:00Z").await, "Gentle aftercare");
        assert_eq!(app.send(Method::PATCH, &grant_path, &ana, Some(&scopes(&["read_journal", "manage_aftercare"]))).await.status(), StatusCode::OK);
        assert_eq!(plan_name("2026-11-18T10:30:00Z").await, "Renamed recovery");
        // Nor once the grant has expired, or been revoked.
        let soon = json!({"expires_at": (app.clock_now() + TimeDelta::minutes(5)).to_rfc3339()});
        assert_eq!(app.send(Method::PATCH, &grant_path, &ana, Some(&soon)).await.status(), StatusCode::OK);
        app.clock.advance(TimeDelta::minutes(5));
        assert_eq!(plan_name("2026-11-18T11:00:00Z").await, "Gentle aftercare");
        assert_eq!(app.send(Method::PATCH, &grant_path, &ana, Some(&json!({"expires_at": null}))).await.status(), StatusCode::OK);
        assert_eq!(plan_name("2026-11-18T11:10:00Z").await, "Renamed recovery");
        assert_eq!(app.send(Method::DELETE, &grant_path, &ana, None).await.status(), StatusCode::NO_CONTENT);
        assert_eq!(plan_name("2026-11-18T11:20:00Z").await, "Gentle aftercare");
    }

    async fn a_therapist_records_a_session_that_schedules_the_clients_plan(app) {
        app.clock.set(at("2026-11-18T17:05:00Z"));
        let ana = app.named_patient("ana@example.org", "Ana").await;
        let tom = app.therapist("tom@example.org", "Tom").await;
        app.link(&ana, &tom, &["read_journal", "record_sessions"]).await;
        let response = app.send(Method::POST, &format!("/v1/patients/{}/sessions", ana.id), &tom, Some(&session("2026-11-18T16:00:00Z", "deep_tissue"))).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        let recorded: Value = response.json().await.unwrap();
        let id = recorded["session"]["id"].as_str().unwrap();
        assert_eq!(location, format!("/v1/patients/{}/sessions/{id}", ana.id));
        assert_eq!(recorded["session"]["recorded_by"], tom.id.as_str());
        // The plan is the patient's: in their time zone (17:00 CET), as prompts on their phone.
        let expected = [
            at("2026-11-18T17:15:00Z"),
            at("2026-11-18T19:00:00Z"),
            at("2026-11-19T08:00:00Z"),
            at("2026-11-19T17:00:00Z"),
            at("2026-11-20T17:00:00Z"),
        ];
        assert_eq!(due_times(&recorded), expected);
        assert_eq!(app.scheduled_aftercare(&ana.tokens).await, expected);
        assert!(app.inbox(&tom.tokens).await.is_empty(), "the therapist gets none of them");
        let own = app.json(ana.token(), &format!("/v1/sessions/{id}")).await;
        assert_eq!(own["session"]["recorded_by"], tom.id.as_str());
        assert_eq!(app.json(tom.token(), &location).await["steps"], own["steps"]);
        let link = app.inbox(&ana.tokens).await[0]["link"].as_str().unwrap().to_owned();
        assert!(link.starts_with(&format!("/sessions/{id}/steps/")), "{link}");
    }

    async fn sessions_are_listed_by_range_a_page_at_a_time(app) {
        app.clock.set(at("2026-11-21T12:00:00Z"));
        let ana = app.named_patient("ana@example.org", "Ana").await;
        let tom = app.therapist("tom@example.org", "Tom").await;
        app.link(&ana, &tom, &["read_journal"]).await;
        let starts = ["2026-11-16T10:00:00Z", "2026-11-17T10:00:00Z", "2026-11-18T10:00:00Z", "2026-11-19T10:00:00Z", "2026-11-20T10:00:00Z"];
        for start in starts {
            app.record_session(&ana.tokens, &session(start, "swedish")).await;
        }
        let listed = |body: &Value| -> Vec<DateTime<Utc>> {
            body["items"].as_array().unwrap().iter().map(|s| at(s["started_at"].as_str().unwrap())).collect()
        };
        let newest_first: Vec<DateTime<Utc>> = starts.iter().rev().map(|s| at(s)).collect();
        let all = app.json(ana.token(), "/v1/sessions").await;
        assert_eq!(listed(&all), newest_first);
        assert!(all["next_cursor"].is_null());
        // `from` inclusive, `to` exclusive.
        let range = app.json(ana.token(), "/v1/sessions?from=2026-11-17T10:00:00Z&to=2026-11-19T10:00:00Z").await;
        assert_eq!(listed(&range), [at("2026-11-18T10:00:00Z"), at("2026-11-17T10:00:00Z")]);
        let since = app.json(ana.token(), "/v1/sessions?from=2026-11-19T09:00:00Z").await;
        assert_eq!(listed(&since), [at("2026-11-20T10:00:00Z"), at("2026-11-19T10:00:00Z")]);
        let until = app.json(ana.token(), "/v1/sessions?to=2026-11-17T00:00:00Z").await;
        assert_eq!(listed(&until), [at("2026-11-16T10:00:00Z")]);
        for query in ["from=2026-11-19T10:00:00Z&to=2026-11-19T10:00:00Z", "from=2026-11-20T00:00:00Z&to=2026-11-17T00:00:00Z"] {
            for (path, who) in [("/v1/sessions".to_owned(), &ana), (format!("/v1/patients/{}/sessions", ana.id), &tom)] {
                let response = app.get(&format!("{path}?{query}"), who.token()).await;
                let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
                assert_eq!(problem_fields(&problem), ["from"], "{path}?{query}");
            }
        }
        // A page at a time, for the patient and for their therapist, nothing twice or left out.
        for page in [1, 2, 5] {
            assert_eq!(app.session_pages(ana.token(), "/v1/sessions", page).await, newest_first, "pages of {page}");
            assert_eq!(app.session_pages(tom.token(), &format!("/v1/patients/{}/sessions", ana.id), page).await, newest_first);
        }
        let first = app.json(ana.token(), "/v1/sessions?limit=2&from=2026-11-17T00:00:00Z").await;
        let cursor = first["next_cursor"].as_str().unwrap();
        let rest = app.json(ana.token(), &format!("/v1/sessions?limit=2&from=2026-11-17T00:00:00Z&cursor={cursor}")).await;
        assert_eq!(listed(&rest), [at("2026-11-18T10:00:00Z"), at("2026-11-17T10:00:00Z")], "the range holds across pages");
        assert!(rest["next_cursor"].is_null());
        let problem = assert_problem(app.get("/v1/sessions?cursor=bm9wZQ", ana.token()).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(problem_fields(&problem), ["cursor"]);
    }

    async fn a_high_48_hour_soreness_answered_in_the_app_asks_for_a_follow_up(app) {
        app.clock.set(at("2026-11-18T12:05:00Z"));
        let ana = app.patient_in("ana@example.org", "Europe/Berlin").await;
        let mut body = session("2026-11-18T11:00:00Z", "deep_tissue");
        body["pain_before"] = json!(5);
        let recorded = app.record_session(&ana, &body).await;
        let id = recorded["session"]["id"].as_str().unwrap().to_owned();
        let check_in = format!("/v1/sessions/{id}/steps/{}/check-in", step(&recorded, "soreness_48h")["id"].as_str().unwrap());

        // Two days on, soreness 6: neither 7 nor two above the pain of 5 before the session.
        app.clock.set(at("2026-11-20T12:10:00Z"));
        let ana = app.sign_in("ana@example.org").await;
        let answer = json!({"soreness": 6, "leg_swelling_redness_warmth": false});
        assert_eq!(app.request(Method::PUT, &check_in, Some(&ana.access), Some(&answer)).await.status(), StatusCode::OK);
        assert!(app.session_alerts(&ana).await.is_empty());
        // The pain before was 4 after all: two above it, so the therapist should follow up.
        body["pain_before"] = json!(4);
        let response = app.request(Method::PUT, &format!("/v1/sessions/{id}"), Some(&ana.access), Some(&body)).await;
        assert_eq!(response.status(), StatusCode::OK);
        let alerts = app.session_alerts(&ana).await;
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        assert_eq!((alerts[0]["rule"].as_str(), alerts[0]["tier"].as_str()), (Some("soreness_after_massage"), Some("therapist_followup")));
        assert_eq!(alerts[0]["evidence"][0], json!({
            "kind": "check_in", "session_id": id, "hours_after": 48, "soreness": 6,
            "leg_swelling_redness_warmth": false, "answered_on": "2026-11-20", "pain_before": 4,
        }));
        // Soreness 7 fires whatever the pain before.
        let second = app.record_session(&ana, &session("2026-11-18T09:00:00Z", "sports")).await;
        let path = format!("/v1/sessions/{}/steps/{}/check-in", second["session"]["id"].as_str().unwrap(), step(&second, "soreness_48h")["id"].as_str().unwrap());
        let answer = json!({"soreness": 7, "leg_swelling_redness_warmth": false});
        assert_eq!(app.request(Method::PUT, &path, Some(&ana.access), Some(&answer)).await.status(), StatusCode::OK);
        let alerts = app.session_alerts(&ana).await;
        assert_eq!(alerts.len(), 1, "one open alert per rule");
        assert!(alerts[0]["evidence"].as_array().unwrap().iter().any(|e| e["soreness"] == 7), "{:#?}", alerts[0]);
    }

    async fn a_swollen_leg_at_a_check_in_is_pushed_at_once_with_high_urgency(app) with MANUAL {
        app.clock.set(at("2026-11-18T12:05:00Z"));
        let receiver = PushReceiver::start().await;
        let ana = app.patient_in("ana@example.org", "Europe/Berlin").await;
        let phone = receiver.subscribe();
        app.register_device(&ana, &phone).await;
        let recorded = app.record_session(&ana, &session("2026-11-18T11:00:00Z", "deep_tissue")).await;
        let id = recorded["session"]["id"].as_str().unwrap();
        let check_in = format!("/v1/sessions/{id}/steps/{}/check-in", step(&recorded, "soreness_24h")["id"].as_str().unwrap());

        app.clock.set(at("2026-11-19T12:10:00Z"));
        receiver.set_now(app.clock_now());
        let ana = app.sign_in("ana@example.org").await;
        let answer = json!({"soreness": 3, "leg_swelling_redness_warmth": true});
        assert_eq!(app.request(Method::PUT, &check_in, Some(&ana.access), Some(&answer)).await.status(), StatusCode::OK);
        let alerts = app.session_alerts(&ana).await;
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        assert_eq!((alerts[0]["rule"].as_str(), alerts[0]["tier"].as_str()), (Some("leg_swelling"), Some("urgent")));
        assert_eq!(alerts[0]["evidence"][0]["leg_swelling_redness_warmth"], true);
        assert!(alerts[0]["advice"].as_str().unwrap().starts_with("Contact a doctor today"));

        app.round().await;
        let urgent = pushed(&receiver, &phone, "urgent_alert");
        assert_eq!(urgent.len(), 1, "one push within one dispatcher round");
        assert_eq!(urgent[0].0.urgency.as_deref(), Some("high"));
        assert_eq!(urgent[0].1["link"], format!("/alerts/{}", alerts[0]["id"].as_str().unwrap()));
    }
}
