use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{PASSWORD, assert_problem, on_both_backends, problem_fields};

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

    async fn deleted_account_cannot_sign_in_and_its_data_is_gone(app) {
        let tokens = app.patient("ana@example.org").await;
        let other_device = app.sign_in("ana@example.org").await;
        let profile: serde_json::Value = app.get("/v1/me", &tokens.access).await.json().await.unwrap();
        let id: uuid::Uuid = profile["id"].as_str().unwrap().parse().unwrap();
        let bob = app.patient("bob@example.org").await;

        let response = app.request(Method::DELETE, "/v1/me", Some(&tokens.access), None).await;
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
