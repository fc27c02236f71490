use chrono::{DateTime, TimeDelta, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{PASSWORD, TestApp, Tokens, assert_problem, on_both_backends, problem_fields};
use crate::push_receiver::PushReceiver;

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
        assert_eq!(keys, ["hydrate", "morning_stretches", "soreness_24h"], "the lighter Swedish plan");
        assert_eq!(
            due_times(&recorded),
            [
                at("2026-11-19T02:15:00Z"), // 21:15 EST: before quiet hours
                at("2026-11-19T14:00:00Z"), // 09:00 EST
                at("2026-11-20T02:00:00Z"), // end + 24 h is 21:00 EST, before 21:30
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
}
