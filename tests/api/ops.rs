use reqwest::{Method, StatusCode};

use crate::helpers::{Backend, on_both_backends, spawn_app};

on_both_backends! {
    async fn probes(app) {
        let response = app.request(Method::GET, "/healthz", None, None).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.json::<serde_json::Value>().await.unwrap()["status"], "ok");
        let response = app.request(Method::GET, "/readyz", None, None).await;
        assert_eq!(response.status(), StatusCode::OK);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["database"], "ok");
        let expected_redis = match app.backend {
            Backend::Sqlite => "in_process",
            Backend::Postgres => "ok",
        };
        assert_eq!(body["redis"], expected_redis);
    }
}

#[tokio::test]
async fn metrics_count_requests_by_route_template_and_status() {
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    let tokens = app.patient("ana@example.org").await;
    let id = tokens.session_id.clone();
    let _ = app.request(Method::DELETE, &format!("/v1/me/sessions/{id}"), Some(&tokens.access), None).await;
    let text = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(text.contains("http_requests_total{"), "{text}");
    assert!(
        text.lines().any(|l| l.starts_with("http_requests_total{")
            && l.contains("operation=\"revokeDeviceSession\"")
            && l.contains("status=\"204\"")),
        "route templates, not raw paths: {text}"
    );
    assert!(!text.contains(&id), "no ids in labels");
    assert!(text.contains("http_request_duration_seconds_bucket{"), "latency histogram: {text}");
}

#[tokio::test]
async fn graceful_shutdown_stops_the_server() {
    let mut app = spawn_app(Backend::Sqlite).await.unwrap();
    let url = app.url("/healthz");
    assert_eq!(app.client.get(&url).send().await.unwrap().status(), StatusCode::OK);
    let client = app.client.clone();
    app.stop().await.expect("clean stop");
    assert!(client.get(&url).send().await.is_err(), "nothing listens any more");
}
