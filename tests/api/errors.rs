//! Every kind of bad request gets the right problem+json and leaves the data as it was.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{PASSWORD, assert_problem, on_both_backends, problem_fields};

async fn accounts_stored(app: &crate::helpers::TestApp) -> i64 {
    app.count("SELECT count(*) FROM accounts", None).await
}

on_both_backends! {
    async fn malformed_json_is_400(app) {
        for body in [&b"{\"email\": \"ana@example.org\","[..], b"not json at all", b""] {
            let problem = assert_problem(app.post_raw("/v1/accounts", body.to_vec()).await, StatusCode::BAD_REQUEST, "malformed_request").await;
            assert!(problem["detail"].as_str().unwrap().contains("JSON"), "{problem}");
        }
        assert_eq!(accounts_stored(&app).await, 0);
    }

    async fn wrong_types_unknown_and_missing_fields_are_422_naming_the_field(app) {
        let cases = [
            (json!({"email": 42, "password": PASSWORD, "role": "patient", "time_zone": "UTC"}), "email", "invalid_type"),
            (json!({"email": "a@example.org", "password": PASSWORD, "role": "doctor", "time_zone": "UTC"}), "role", "invalid_value"),
            (json!({"email": "a@example.org", "password": PASSWORD, "role": "patient", "time_zone": "UTC", "is_admin": true}), "is_admin", "unknown_field"),
            (json!({"email": "a@example.org", "password": PASSWORD, "role": "patient", "time_zone": "UTC", "quiet_hours": {"start": "22:00", "end": "07:00", "days": 5}}), "quiet_hours.days", "unknown_field"),
            (json!({"email": "a@example.org", "password": PASSWORD, "role": "patient"}), "time_zone", "required"),
            (json!({"email": "a@example.org", "password": PASSWORD, "role": "patient", "time_zone": "UTC", "quiet_hours": {"start": 2200, "end": "07:00"}}), "quiet_hours.start", "invalid_type"),
            (json!(["a", "list"]), "body", "invalid_type"),
        ];
        for (body, field, code) in cases {
            let problem = assert_problem(app.register(&body).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
            assert_eq!(problem_fields(&problem), [field], "{body}");
            assert_eq!(problem["errors"][0]["code"], code, "{body}");
        }
        assert_eq!(accounts_stored(&app).await, 0);
    }

    async fn out_of_range_values_are_422(app) {
        let too_long_name = "x".repeat(81);
        let cases = [
            (json!({"email": "a@example.org", "password": PASSWORD, "role": "patient", "time_zone": "UTC", "display_name": too_long_name}), "display_name"),
            (json!({"email": "a@example.org", "password": PASSWORD, "role": "patient", "time_zone": "UTC", "quiet_hours": {"start": "24:00", "end": "07:00"}}), "quiet_hours.start"),
            (json!({"email": format!("{}@example.org", "a".repeat(250)), "password": PASSWORD, "role": "patient", "time_zone": "UTC"}), "email"),
        ];
        for (body, field) in cases {
            let problem = assert_problem(app.register(&body).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
            assert_eq!(problem_fields(&problem), [field]);
        }
        assert_eq!(accounts_stored(&app).await, 0);
    }

    async fn oversized_bodies_are_413_with_or_without_content_length(app) {
        // About four times the default 256 KiB limit.
        let huge = format!("{{\"email\": \"a@example.org\", \"notes\": \"{}\"}}", "x".repeat(1_000_000));
        assert_problem(app.post_raw("/v1/accounts", huge.clone()).await, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
        // Chunked, so no Content-Length announces the size.
        let stream = futures::stream::iter(huge.into_bytes().chunks(16_384).map(|c| Ok::<_, std::io::Error>(c.to_vec())).collect::<Vec<_>>());
        let response = app
            .client
            .post(app.url("/v1/accounts"))
            .header("content-type", "application/json")
            .body(reqwest::Body::wrap_stream(stream))
            .send()
            .await
            .unwrap();
        assert_problem(response, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
        assert_eq!(accounts_stored(&app).await, 0);
    }

    async fn other_protocol_errors_are_problems_too(app) {
        let response = app
            .client
            .post(app.url("/v1/accounts"))
            .header("content-type", "text/plain")
            .body("email=a@example.org")
            .send()
            .await
            .unwrap();
        assert_problem(response, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type").await;
        let response = app.request(Method::GET, "/v1/no-such-thing", None, None).await;
        assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
        let response = app.request(Method::PUT, "/v1/accounts", None, Some(&json!({}))).await;
        assert_problem(response, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;
    }

    async fn a_client_request_id_is_echoed(app) {
        let response = app.client.get(app.url("/v1/me")).header("x-request-id", "phone-1234-abcd").send().await.unwrap();
        assert_eq!(response.headers()["x-request-id"], "phone-1234-abcd");
        let problem = assert_problem(response, StatusCode::UNAUTHORIZED, "invalid_token").await;
        assert_eq!(problem["request_id"], "phone-1234-abcd");
        // Anything odd is replaced with an id of our own.
        let response = app.client.get(app.url("/healthz")).header("x-request-id", "<script>").send().await.unwrap();
        assert_ne!(response.headers()["x-request-id"], "<script>");
    }

    async fn database_outage_is_503(app) {
        let tokens = app.patient("ana@example.org").await;
        app.state.store.close().await;
        let response = app.get("/v1/me", &tokens.access).await;
        assert!(response.headers().contains_key("retry-after"));
        let problem = assert_problem(response, StatusCode::SERVICE_UNAVAILABLE, "service_unavailable").await;
        let detail = problem["detail"].as_str().unwrap();
        assert!(!detail.to_lowercase().contains("pool") && !detail.contains("sqlx"), "no internals leak: {detail}");
        assert_problem(app.request(Method::GET, "/readyz", None, None).await, StatusCode::SERVICE_UNAVAILABLE, "service_unavailable").await;
        let response = app.password_grant("ana@example.org", PASSWORD).await;
        assert_problem(response, StatusCode::SERVICE_UNAVAILABLE, "service_unavailable").await;
        // Liveness does not depend on the database.
        assert_eq!(app.request(Method::GET, "/healthz", None, None).await.status(), StatusCode::OK);
    }
}
