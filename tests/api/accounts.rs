use chrono::TimeDelta;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::Connection as _;

use crate::helpers::{Backend, PASSWORD, TestApp, assert_problem, on_both_backends, problem_fields};
use crate::push_receiver::PushReceiver;

impl TestApp {
    /// Every `table.column` of the schema that can hold an account id: on PostgreSQL the `uuid`
    /// columns, on SQLite (which stores uuids as 16-byte blobs in columns of any declared type)
    /// every column. Read from the catalogue, so a table added later is covered without naming it.
    async fn id_columns(&self) -> Vec<(String, String)> {
        let sql = match self.backend {
            Backend::Sqlite => {
                "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '_sqlx_migrations'"
            }
            Backend::Postgres => {
                "SELECT table_name::text, column_name::text FROM information_schema.columns
                 WHERE table_schema = current_schema() AND data_type = 'uuid'"
            }
        };
        match self.backend {
            Backend::Sqlite => {
                let mut conn = sqlx::SqliteConnection::connect(&self.database_url).await.unwrap();
                sqlx::query_as(sql).fetch_all(&mut conn).await.unwrap()
            }
            Backend::Postgres => {
                let mut conn = sqlx::PgConnection::connect(&self.database_url).await.unwrap();
                sqlx::query_as(sql).fetch_all(&mut conn).await.unwrap()
            }
        }
    }

    /// `table.column (rows)` for every column holding `id`.
    pub(crate) async fn where_id_remains(&self, id: uuid::Uuid) -> Vec<String> {
        let mut found = Vec::new();
        for (table, column) in self.id_columns().await {
            let rows = self.count(&format!("SELECT count(*) FROM \"{table}\" WHERE \"{column}\" = $1"), Some(id)).await;
            if rows > 0 {
                found.push(format!("{table}.{column} ({rows})"));
            }
        }
        found
    }
}

on_both_backends! {
    async fn register_sign_in_read_profile(app) {
        let response = app
            .register(&json!({
                "email": "  Ana.Silva@Example.ORG ",
                "password": PASSWORD,
                "role": "patient",
                "display_name": "Ana",
                "time_zone": "Pacific/Auckland",
                "locale": "pt-br",
            }))
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        assert_eq!(response.headers()["location"], "/v1/me");
        let created: serde_json::Value = response.json().await.unwrap();
        assert_eq!(created["email"], "ana.silva@example.org");
        assert_eq!(created["role"], "patient");
        assert_eq!(created["locale"], "pt-BR");
        assert_eq!(created["quiet_hours"], json!({"start": "21:30", "end": "08:00"}));

        // Signing in is case-insensitive on the email.
        let tokens = app.sign_in("ANA.SILVA@example.org").await;
        let response = app.get("/v1/me", &tokens.access).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["cache-control"], "no-store");
        let profile: serde_json::Value = response.json().await.unwrap();
        assert_eq!(profile, created, "a read returns what registration returned");
    }

    async fn therapists_give_a_discipline_and_patients_do_not(app) {
        let therapist = json!({"email": "tom@example.org", "password": PASSWORD, "role": "therapist", "time_zone": "Europe/London"});
        let body = assert_problem(app.register(&therapist).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(problem_fields(&body), ["discipline"]);

        let mut with_discipline = therapist.clone();
        with_discipline["discipline"] = json!("physiotherapist");
        let response = app.register(&with_discipline).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let profile: serde_json::Value = response.json().await.unwrap();
        assert_eq!(profile["discipline"], "physiotherapist");

        let patient = json!({"email": "pat@example.org", "password": PASSWORD, "role": "patient", "discipline": "other", "time_zone": "UTC"});
        let body = assert_problem(app.register(&patient).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(problem_fields(&body), ["discipline"]);
    }

    async fn every_bad_field_is_listed_and_nothing_is_stored(app) {
        let response = app
            .register(&json!({
                "email": "not-an-email",
                "password": "short",
                "role": "patient",
                "display_name": "   ",
                "time_zone": "Europe/Atlantis",
                "quiet_hours": {"start": "25:00", "end": "8am"},
                "locale": "english",
            }))
            .await;
        let body = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        let mut fields = problem_fields(&body);
        fields.sort();
        assert_eq!(fields, ["display_name", "email", "locale", "password", "quiet_hours.end", "quiet_hours.start", "time_zone"]);
        assert!(app.state.store.credentials(&aftercare::domain::Email::parse("not-an-email@x.org").unwrap()).await.unwrap().is_none());

        // A valid email with a bad time zone: still nothing stored, so the address stays free.
        let response = app
            .register(&json!({"email": "ana@example.org", "password": PASSWORD, "role": "patient", "time_zone": "Nowhere/Special"}))
            .await;
        let body = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(problem_fields(&body), ["time_zone"]);
        assert_problem(app.password_grant("ana@example.org", PASSWORD).await, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
        app.register_patient("ana@example.org").await;
    }

    async fn password_rules(app) {
        for (password, code) in [("ninechars", "too_short"), ("ana@example.org", "equals_email")] {
            let response = app
                .register(&json!({"email": "ana@example.org", "password": password, "role": "patient", "time_zone": "UTC"}))
                .await;
            let body = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
            assert_eq!(body["errors"][0]["field"], "password");
            assert_eq!(body["errors"][0]["code"], code);
        }
    }

    async fn duplicate_email_is_a_conflict(app) {
        app.register_patient("ana@example.org").await;
        let response = app
            .register(&json!({"email": "ANA@example.org", "password": "another password", "role": "patient", "time_zone": "UTC"}))
            .await;
        assert_problem(response, StatusCode::CONFLICT, "email_taken").await;
        // The first account's password still works; the second never existed.
        app.sign_in("ana@example.org").await;
        assert_problem(app.password_grant("ana@example.org", "another password").await, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    }

    async fn profile_updates(app) {
        let tokens = app.patient("ana@example.org").await;
        let patch = |body: serde_json::Value| {
            let token = tokens.access.clone();
            let app = &app;
            async move { app.request(Method::PATCH, "/v1/me", Some(&token), Some(&body)).await }
        };

        let response = patch(json!({"display_name": "Ana S.", "time_zone": "America/New_York", "quiet_hours": {"start": "22:00", "end": "07:00"}, "locale": "en-us"})).await;
        assert_eq!(response.status(), StatusCode::OK);
        let profile: serde_json::Value = response.json().await.unwrap();
        assert_eq!(profile["display_name"], "Ana S.");
        assert_eq!(profile["time_zone"], "America/New_York");
        assert_eq!(profile["quiet_hours"], json!({"start": "22:00", "end": "07:00"}));
        assert_eq!(profile["locale"], "en-US");

        // Left-out fields stay; null clears the name.
        let response = patch(json!({"display_name": null})).await;
        let profile: serde_json::Value = response.json().await.unwrap();
        assert_eq!(profile["display_name"], serde_json::Value::Null);
        assert_eq!(profile["time_zone"], "America/New_York");

        // A bad zone changes nothing, not even the valid fields beside it.
        let response = patch(json!({"time_zone": "Europe/Gondor", "locale": "de"})).await;
        let body = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(problem_fields(&body), ["time_zone"]);
        let profile: serde_json::Value = app.get("/v1/me", &tokens.access).await.json().await.unwrap();
        assert_eq!(profile["time_zone"], "America/New_York");
        assert_eq!(profile["locale"], "en-US");

        let response = patch(json!({"quiet_hours": {"start": "08:00", "end": "08:00"}})).await;
        let body = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(problem_fields(&body), ["quiet_hours"]);
    }

    async fn erasing_a_patient_leaves_nothing_with_their_id_in_any_table(app) {
        let ana = app.named_patient("ana@example.org", "Ana").await;
        let tom = app.therapist("tom@example.org", "Tom").await;
        let id: uuid::Uuid = ana.id.parse().unwrap();
        let receiver = PushReceiver::start().await;
        app.register_device(&ana.tokens, &receiver.subscribe()).await;

        // Something in every part of the service: consent and what the therapist did with it,
        // the journal with an idempotent write and a red flag, a session with its plan and a
        // check-in, settings, and a pending invite.
        app.link(&ana, &tom, &["read_journal", "record_sessions", "manage_aftercare", "receive_alerts"]).await;
        let template = json!({"name": "Lower back", "steps": [
            {"key": "walk", "kind": {"type": "custom"}, "timing": {"type": "after_end", "minutes": 60}, "title": "A short walk", "body": "Walk for 10 minutes."},
            {"key": "check_24h", "kind": {"type": "soreness_check_in", "hours_after": 24}, "timing": {"type": "after_end", "minutes": 1440}, "title": "How do you feel?", "body": "Rate your soreness."}
        ]});
        let created: Value = app.post("/v1/aftercare/templates", Some(tom.token()), &template).await.json().await.unwrap();
        let assignment = format!("/v1/patients/{id}/aftercare-template");
        let assign = json!({"template_id": created["id"]});
        assert_eq!(app.send(Method::PUT, &assignment, &tom, Some(&assign)).await.status(), StatusCode::NO_CONTENT);
        let started = (app.clock_now() - TimeDelta::hours(30)).to_rfc3339();
        let session = json!({"started_at": started, "duration_minutes": 60, "kind": "deep_tissue", "pain_before": 6});
        let response = app.send(Method::POST, &format!("/v1/patients/{id}/sessions"), &tom, Some(&session)).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let recorded: Value = response.json().await.unwrap();
        let check_in = recorded["steps"].as_array().unwrap().iter().find(|s| s["kind"] == "soreness_check_in").unwrap();
        let path = format!("/v1/sessions/{}/steps/{}/check-in", recorded["session"]["id"].as_str().unwrap(), check_in["id"].as_str().unwrap());
        let answer = json!({"soreness": 4, "leg_swelling_redness_warmth": false});
        assert_eq!(app.send(Method::PUT, &path, &ana, Some(&answer)).await.status(), StatusCode::OK);

        let entry = json!({"recorded_at": app.clock_now().to_rfc3339(), "pain": 7, "symptoms": ["saddle_numbness"]});
        let path = format!("/v1/journal/entries/{}", uuid::Uuid::new_v4());
        assert_eq!(app.send(Method::PUT, &path, &ana, Some(&entry)).await.status(), StatusCode::CREATED);
        let peg = json!({"kind": "peg", "pain": 6, "enjoyment": 5, "activity": 6});
        let response = app.client.post(app.url("/v1/questionnaires")).bearer_auth(ana.token()).header("Idempotency-Key", "peg-1").json(&peg).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        let screen = json!({"fever": {"present": false, "confirmed_on": app.clock_now().date_naive()}});
        assert_eq!(app.send(Method::PUT, "/v1/me/health-screen", &ana, Some(&screen)).await.status(), StatusCode::OK);
        let reminders = json!({"daily_enabled": true, "daily_time": "20:00", "weekly_peg_enabled": true, "weekly_peg_weekday": "sunday", "weekly_peg_time": "18:00"});
        assert_eq!(app.send(Method::PUT, "/v1/me/reminders", &ana, Some(&reminders)).await.status(), StatusCode::OK);
        assert_eq!(app.get(&format!("/v1/patients/{id}/journal/entries"), tom.token()).await.status(), StatusCode::OK);
        // A thread of notes about the session: Tom's note, Ana's answer (which tells Tom).
        let notes = format!("/v1/patients/{id}/notes");
        let note = json!({"subject": {"kind": "session", "id": recorded["session"]["id"]}, "body": "How was the day after?"});
        let response = app.send(Method::POST, &notes, &tom, Some(&note)).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let note_id = response.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
        let answer = json!({"body": "Sore, then much better."});
        assert_eq!(app.send(Method::POST, &format!("/v1/notes/{note_id}/replies"), &ana, Some(&answer)).await.status(), StatusCode::CREATED);
        assert!(app.inbox(&tom.tokens).await.iter().any(|n| n["kind"] == "client_note_reply"));
        app.create_invite(&ana, json!({"scopes": ["read_journal"]})).await;
        // A share link, opened once (its open is in the access log with the client address).
        let today = app.clock_now().date_naive();
        let link: Value = app.post("/v1/me/share-links", Some(ana.token()), &json!({"from": today - TimeDelta::days(7), "to": today})).await.json().await.unwrap();
        let page = app.client.get(app.url(link["path"].as_str().unwrap())).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        assert_eq!(app.get("/v1/alerts", ana.token()).await.json::<Value>().await.unwrap()["items"].as_array().unwrap().len(), 1);
        // The catalogue walk sees the tables this filled (a guard against a walk that finds nothing).
        let before = app.where_id_remains(id).await;
        for table in ["accounts", "journal_entries", "alerts", "care_grants", "access_log", "notifications", "soreness_check_ins", "notes", "share_links"] {
            assert!(before.iter().any(|c| c.starts_with(&format!("{table}."))), "{table} not in {before:?}");
        }

        let response = app.request(Method::DELETE, "/v1/me", Some(ana.token()), Some(&json!({"password": PASSWORD}))).await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert_eq!(app.where_id_remains(id).await, Vec::<String>::new(), "the patient's id is still stored");
        // The share link went with the account.
        let page = app.client.get(app.url(link["path"].as_str().unwrap())).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::NOT_FOUND);
        // The therapist keeps their account and templates, without the client.
        let caseload: Value = app.get("/v1/caseload", tom.token()).await.json().await.unwrap();
        assert_eq!(caseload["items"], json!([]));
        assert_eq!(app.get("/v1/aftercare/templates", tom.token()).await.status(), StatusCode::OK);
        // Nor anything of the notes: Tom's "a client answered" went with them.
        assert_eq!(app.count("SELECT count(*) FROM notes", None).await, 0);
        assert!(app.inbox(&tom.tokens).await.iter().all(|n| n["kind"] != "client_note_reply"));
    }

    async fn erasing_an_account_needs_its_password(app) {
        let ana = app.patient("ana@example.org").await;
        // A token alone (a phone left unlocked, a stolen token) erases nothing.
        let without = app.request(Method::DELETE, "/v1/me", Some(&ana.access), None).await;
        assert!(without.status().is_client_error(), "{}", without.status());
        let wrong = app.request(Method::DELETE, "/v1/me", Some(&ana.access), Some(&json!({"password": "not my password"}))).await;
        let body = assert_problem(wrong, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(problem_fields(&body), ["password"]);
        assert_eq!(app.get("/v1/me", &ana.access).await.status(), StatusCode::OK, "still there");
        // Wrong passwords count as failed sign-ins: the token is no way around the limit.
        for _ in 0..9 {
            let wrong = app.request(Method::DELETE, "/v1/me", Some(&ana.access), Some(&json!({"password": "not my password"}))).await;
            assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
        }
        let limited = app.request(Method::DELETE, "/v1/me", Some(&ana.access), Some(&json!({"password": PASSWORD}))).await;
        assert_problem(limited, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
        assert_eq!(app.get("/v1/me", &ana.access).await.status(), StatusCode::OK, "still there");
    }

    async fn deleted_account_cannot_sign_in_and_its_data_is_gone(app) {
        let tokens = app.patient("ana@example.org").await;
        let other_device = app.sign_in("ana@example.org").await;
        let profile: serde_json::Value = app.get("/v1/me", &tokens.access).await.json().await.unwrap();
        let id: uuid::Uuid = profile["id"].as_str().unwrap().parse().unwrap();
        let bob = app.patient("bob@example.org").await;

        let response = app.request(Method::DELETE, "/v1/me", Some(&tokens.access), Some(&json!({"password": PASSWORD}))).await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);

        assert_problem(app.password_grant("ana@example.org", PASSWORD).await, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
        assert_problem(app.get("/v1/me", &other_device.access).await, StatusCode::UNAUTHORIZED, "invalid_token").await;
        assert_problem(app.refresh_grant(&other_device.refresh).await, StatusCode::UNAUTHORIZED, "invalid_grant").await;
        assert_eq!(app.count("SELECT count(*) FROM accounts WHERE id = $1", Some(id)).await, 0);
        assert_eq!(app.count("SELECT count(*) FROM device_sessions WHERE account_id = $1", Some(id)).await, 0);
        for table in ["access_tokens", "refresh_tokens"] {
            let orphans = format!("SELECT count(*) FROM {table} WHERE session_id NOT IN (SELECT id FROM device_sessions)");
            assert_eq!(app.count(&orphans, None).await, 0, "{table}");
        }
        // Other people are untouched, and the email can be used again.
        assert_eq!(app.get("/v1/me", &bob.access).await.status(), StatusCode::OK);
        app.register_patient("ana@example.org").await;
    }
}
