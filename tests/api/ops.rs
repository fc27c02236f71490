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
        let with_redis = std::env::var("TEST_REDIS_URL").is_ok_and(|url| !url.is_empty());
        let expected_redis = match app.backend {
            Backend::Postgres if with_redis => "ok",
            _ => "in_process",
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
    assert!(
        text.lines().any(|l| l.starts_with("http_request_duration_seconds_bucket{")
            && l.contains("route=\"/v1/me/sessions/:param0\"")
            && l.contains("status=\"204\"")),
        "latency histogram by route template and status: {text}"
    );
}

/// A request whose body is still arriving when shutdown begins is answered in full.
#[tokio::test]
async fn graceful_shutdown_finishes_the_request_in_flight() {
    let mut app = spawn_app(Backend::Sqlite).await.unwrap();
    let (chunks, body) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(1);
    let body = futures::stream::unfold(body, |mut body| async move { body.recv().await.map(|chunk| (chunk, body)) });
    let request = app
        .client
        .post(app.url("/v1/accounts"))
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(body))
        .send();
    // The request goes out on a connection the server has already accepted (kept alive from this
    // health check), so it is in flight, not waiting in the listen queue, when shutdown starts.
    assert_eq!(app.client.get(app.url("/healthz")).send().await.unwrap().status(), StatusCode::OK);
    let in_flight = tokio::spawn(request);
    chunks.send(Ok(br#"{"email": "late@example.org", "#.to_vec())).await.unwrap();
    while chunks.capacity() < chunks.max_capacity() {
        tokio::task::yield_now().await;
    }
    // Time for the server to read the request line and headers that went out with that chunk.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let url = app.url("/healthz");
    let stopping = tokio::spawn(async move { app.stop().await });
    // Shutdown has begun once the listener is gone: new connections are refused.
    let fresh = reqwest::Client::new();
    for _ in 0..200 {
        if fresh.get(&url).send().await.is_err() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(fresh.get(&url).send().await.is_err(), "the listener is closed");
    assert!(!stopping.is_finished(), "waits for the request in flight");
    let rest = format!(r#""password": "{}", "role": "patient", "time_zone": "UTC"}}"#, crate::helpers::PASSWORD);
    chunks.send(Ok(rest.into_bytes())).await.unwrap();
    drop(chunks);
    let response = in_flight.await.unwrap().expect("answered");
    assert_eq!(response.status(), StatusCode::CREATED);
    stopping.await.unwrap().expect("clean stop");
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
