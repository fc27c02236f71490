//! What the API document promises and the service once did otherwise (found by the schemathesis
//! contract run in `contract/`).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{PASSWORD, assert_problem, on_both_backends, problem_fields};

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

on_both_backends! {
    async fn problems_without_field_errors_leave_errors_out(app) {
        // The document marks `errors` optional: only 422 lists fields.
        let problem = assert_problem(app.request(Method::GET, "/v1/me", None, None).await, StatusCode::UNAUTHORIZED, "invalid_token").await;
        assert!(problem.get("errors").is_none(), "{problem}");
        let problem = assert_problem(app.register(&json!({"email": 1})).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert!(problem["errors"].as_array().is_some_and(|e| !e.is_empty()), "{problem}");
    }

    async fn a_therapist_has_no_journal_and_is_told_so(app) {
        let response = app.register(&json!({
            "email": "tom@example.org", "password": PASSWORD, "role": "therapist",
            "discipline": "physiotherapist", "time_zone": "Europe/Berlin"
        })).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let tom = app.sign_in("tom@example.org").await;
        for path in ["/v1/journal/entries", "/v1/journal/changes", "/v1/journal/days", "/v1/journal/summary", "/v1/questionnaires"] {
            assert_problem(app.get(path, &tom.access).await, StatusCode::FORBIDDEN, "forbidden").await;
        }
        let response = app.request(Method::PUT, &format!("/v1/journal/entries/{}", Uuid::new_v4()), Some(&tom.access), Some(&json!({"recorded_at": now(), "pain": 3}))).await;
        assert_problem(response, StatusCode::FORBIDDEN, "forbidden").await;
    }

    async fn the_location_of_a_questionnaire_can_be_read_by_its_patient_only(app) {
        let ana = app.patient("ana@example.org").await;
        let bob = app.patient("bob@example.org").await;
        let response = app.post("/v1/questionnaires", Some(&ana.access), &json!({"kind": "peg", "pain": 6, "enjoyment": 5, "activity": 7})).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        let created: Value = response.json().await.unwrap();
        assert_eq!(location, format!("/v1/questionnaires/{}", created["id"].as_str().unwrap()));
        let read = app.get(&location, &ana.access).await;
        assert_eq!(read.status(), StatusCode::OK);
        assert_eq!(read.json::<Value>().await.unwrap(), created);
        assert_problem(app.get(&location, &bob.access).await, StatusCode::NOT_FOUND, "not_found").await;
        let unknown = format!("/v1/questionnaires/{}", Uuid::new_v4());
        assert_problem(app.get(&unknown, &ana.access).await, StatusCode::NOT_FOUND, "not_found").await;
    }

    async fn query_parameters_outside_their_documented_range_are_422(app) {
        let ana = app.patient("ana@example.org").await;
        for path in [
            "/v1/journal/entries?limit=0",
            "/v1/journal/entries?limit=201",
            "/v1/journal/changes?limit=0",
            "/v1/journal/summary?days=14",
            &format!("/v1/journal/entries/{}?base_version=0", Uuid::new_v4()),
        ] {
            let method = if path.contains("base_version") { Method::DELETE } else { Method::GET };
            let response = app.request(method, path, Some(&ana.access), None).await;
            let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
            assert_eq!(problem_fields(&problem).len(), 1, "{path}: {problem}");
        }
        let summary = app.get("/v1/journal/summary?days=90", &ana.access).await;
        assert_eq!(summary.status(), StatusCode::OK);
    }

    async fn null_is_read_as_absent_where_the_document_says_nullable(app) {
        let ana = app.patient("ana@example.org").await;
        let body = json!({"recorded_at": now(), "pain": 4, "notes": null, "stress": null, "base_version": null});
        let response = app.request(Method::PUT, &format!("/v1/journal/entries/{}", Uuid::new_v4()), Some(&ana.access), Some(&body)).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let entry: Value = response.json().await.unwrap();
        assert!(entry["notes"].is_null() && entry["stress"].is_null(), "{entry}");
    }

    async fn lengths_count_what_was_sent_and_clock_times_are_exactly_hh_mm(app) {
        let base = json!({"email": "ana@example.org", "password": PASSWORD, "role": "patient", "time_zone": "UTC"});
        let with = |field: &str, value: Value| {
            let mut body = base.clone();
            body[field] = value;
            body
        };
        let cases = [
            // 80 characters inside spaces: 82 as sent, more than the documented 80.
            (with("display_name", json!(format!(" {} ", "a".repeat(80)))), "display_name"),
            (with("display_name", json!("Ana\n")), "display_name"),
            (with("quiet_hours", json!({"start": " 9:30", "end": "07:00"})), "quiet_hours.start"),
            (with("quiet_hours", json!({"start": "21:30", "end": "7:00 "})), "quiet_hours.end"),
            (with("password", json!("é".repeat(1025))), "password"),
        ];
        for (body, field) in cases {
            let problem = assert_problem(app.register(&body).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
            assert_eq!(problem_fields(&problem), [field], "{body}");
        }
        // 600 two-byte characters are within the documented 1024 characters.
        let response = app.register(&with("password", json!("é".repeat(600)))).await;
        assert_eq!(response.status(), StatusCode::CREATED);
    }
}
