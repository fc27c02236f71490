//! Redis and PostgreSQL going away under a running service, for real: each test starts its own
//! redis-server or PostgreSQL cluster on a spare port so it can stop, freeze and restart it.
//! Time-outs here are hang guards, generous against the configured time-outs, never measurements.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use aftercare::clock::ManualClock;
use aftercare::startup::Application;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Backend, Instance, TestApp, required_env, spawn_app_with, test_settings};
use crate::push_receiver::PushReceiver;

/// Redis time-outs of these tests: short, so that a guard of a few of them is still quick.
const REDIS_TIMEOUT_MS: u64 = 500;
/// Longer than any call bounded by the time-outs above may take, far shorter than what an
/// unbounded one did (seconds of reconnect retries).
const GUARD: Duration = Duration::from_secs(3);

/// A redis-server of the test's own.
struct RedisServer {
    port: u16,
    dir: tempfile::TempDir,
}

impl RedisServer {
    fn start(port: u16) -> Self {
        let server = Self { port, dir: tempfile::tempdir().expect("temp dir") };
        server.launch();
        server
    }

    fn pidfile(&self) -> PathBuf {
        self.dir.path().join("redis.pid")
    }

    fn launch(&self) {
        let status = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--daemonize", "yes", "--pidfile"])
            .arg(self.pidfile())
            .arg("--dir")
            .arg(self.dir.path())
            .status()
            .expect("redis-server runs");
        assert!(status.success());
        for _ in 0..100 {
            if self.cli(&["PING"]).is_some_and(|out| out.trim() == "PONG") {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("redis-server on {} did not start", self.port);
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn cli(&self, args: &[&str]) -> Option<String> {
        let output = Command::new("redis-cli").args(["-p", &self.port.to_string()]).args(args).output().ok()?;
        output.status.success().then(|| String::from_utf8_lossy(&output.stdout).into_owned())
    }

    fn pid(&self) -> String {
        std::fs::read_to_string(self.pidfile()).expect("pid file").trim().to_owned()
    }

    fn signal(&self, signal: &str) {
        let _ = Command::new("kill").args([signal, &self.pid()]).status();
    }

    /// Connections are then refused.
    fn stop(&self) {
        let pid = self.pid();
        let _ = self.cli(&["SHUTDOWN", "NOSAVE"]);
        for _ in 0..100 {
            if !PathBuf::from(format!("/proc/{pid}")).exists() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("redis-server on {} did not stop", self.port);
    }

    /// Accepts connections (the kernel does) but never answers.
    fn freeze(&self) {
        self.signal("-STOP");
    }

    fn thaw(&self) {
        self.signal("-CONT");
    }

    fn keys(&self, pattern: &str) -> usize {
        self.cli(&["--no-raw", "KEYS", pattern]).map_or(0, |out| out.lines().filter(|l| l.contains('"')).count())
    }

    fn subscribers(&self, channel: &str) -> u64 {
        let out = self.cli(&["PUBSUB", "NUMSUB", channel]).unwrap_or_default();
        out.lines().nth(1).and_then(|n| n.trim().parse().ok()).unwrap_or(0)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(self.pidfile()) {
            let pid = pid.trim().to_owned();
            let _ = Command::new("kill").args(["-CONT", &pid]).status();
            let _ = Command::new("kill").args(["-KILL", &pid]).status();
        }
    }
}

fn redis_overrides(server: &RedisServer) -> Vec<(&'static str, Value)> {
    vec![
        ("redis.url", json!(server.url())),
        ("redis.response_timeout_ms", json!(REDIS_TIMEOUT_MS)),
        ("redis.connection_timeout_ms", json!(REDIS_TIMEOUT_MS)),
        ("redis.retry_after_failure_ms", json!(200)),
    ]
}

async fn ready(app_url: &str) -> (StatusCode, Value) {
    let client = reqwest::Client::new();
    let response = tokio::time::timeout(GUARD, client.get(format!("{app_url}/readyz")).send())
        .await
        .expect("/readyz answers within the guard")
        .expect("/readyz answers");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Polls until `/readyz` reports Redis as `state`.
async fn redis_becomes(app_url: &str, state: &str) {
    for _ in 0..100 {
        if ready(app_url).await.1["redis"] == state {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("/readyz never reported Redis as {state}");
}

/// Wrong passwords for `email`, each answered within the guard; their statuses.
async fn wrong_passwords(app: &TestApp, email: &str, times: usize) -> Vec<u16> {
    let mut statuses = Vec::new();
    for _ in 0..times {
        let response = tokio::time::timeout(GUARD, app.password_grant(email, "not the password"))
            .await
            .expect("a sign-in is answered within the guard");
        statuses.push(response.status().as_u16());
    }
    statuses
}

fn assert_limited(statuses: &[u16]) {
    // login_failures_per_account = 10: ten wrong passwords are told so, the rest are refused.
    assert_eq!(statuses.iter().filter(|&&s| s == 401).count(), 10, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|&&s| s == 429).count(), statuses.len() - 10, "{statuses:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_redis_refuses_connections_sign_ins_are_limited_in_process_and_answered_quickly() {
    let redis = RedisServer::start(62011);
    let app = spawn_app_with(Backend::Sqlite, &redis_overrides(&redis)).await.unwrap();
    app.register_patient("ana@example.org").await;
    let (status, body) = ready(&app.address).await;
    assert_eq!((status, body["status"].as_str(), body["redis"].as_str()), (StatusCode::OK, Some("ready"), Some("ok")));

    redis.stop();
    assert_limited(&wrong_passwords(&app, "ana@example.org", 15).await);
    // Readiness names Redis but stays up: the API works without it.
    let (status, body) = ready(&app.address).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!((body["status"].as_str(), body["database"].as_str()), (Some("degraded"), Some("ok")));
    assert_eq!(body["redis"], "unavailable");
    let text = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(text.contains("rate_limiter_fallbacks_total"), "{text}");

    // Back: the counters are shared in Redis again.
    redis.launch();
    redis_becomes(&app.address, "ok").await;
    app.register_patient("bo@example.org").await;
    let prefix = format!("{}ratelimit:*", app.state.settings.redis.key_prefix);
    let before = redis.keys(&prefix);
    wrong_passwords(&app, "bo@example.org", 1).await;
    assert!(redis.keys(&prefix) > before, "a failed sign-in is counted in Redis again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_redis_is_frozen_sign_ins_are_limited_in_process_and_answered_quickly() {
    let redis = RedisServer::start(62012);
    let app = spawn_app_with(Backend::Sqlite, &redis_overrides(&redis)).await.unwrap();
    app.register_patient("ana@example.org").await;
    let tokens = app.sign_in("ana@example.org").await;
    assert!(!tokens.access.is_empty());

    redis.freeze();
    assert_limited(&wrong_passwords(&app, "ana@example.org", 15).await);
    let (status, body) = ready(&app.address).await;
    assert_eq!((status, body["redis"].as_str()), (StatusCode::OK, Some("unavailable")), "{body}");

    redis.thaw();
    redis_becomes(&app.address, "ok").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_starts_while_redis_is_down_and_connects_when_it_comes() {
    // Nothing listens on the port yet.
    let redis = RedisServer { port: 62013, dir: tempfile::tempdir().unwrap() };
    let app = tokio::time::timeout(Duration::from_secs(20), spawn_app_with(Backend::Sqlite, &redis_overrides(&redis)))
        .await
        .expect("starts without waiting on Redis")
        .unwrap();
    let (status, body) = ready(&app.address).await;
    assert_eq!((status, body["redis"].as_str()), (StatusCode::OK, Some("unavailable")), "{body}");
    app.register_patient("ana@example.org").await;
    assert_limited(&wrong_passwords(&app, "ana@example.org", 12).await);

    redis.launch();
    redis_becomes(&app.address, "ok").await;
}

/// Each instance counting on its own while Redis is away would allow the limit once per
/// instance: the counters are kept in the database meanwhile, which every instance shares.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_redis_is_down_a_limit_holds_across_instances() {
    let redis = RedisServer::start(65301);
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(app) = spawn_app_with(backend, &redis_overrides(&redis)).await else { continue };
        let other = app.another_instance(&redis_overrides(&redis)).await;
        app.register_patient("ana@example.org").await;
        redis.stop();
        let mut statuses = Vec::new();
        for n in 0..16 {
            let address = if n % 2 == 0 { &app.address } else { &other.address };
            let response = tokio::time::timeout(
                Duration::from_secs(10), // a hang guard only: every limiter call goes to the database here
                app.client
                    .post(format!("{address}/v1/auth/token"))
                    .json(&json!({
                        "grant_type": "password", "email": "ana@example.org", "password": "not the password",
                        "device_label": "x"
                    }))
                    .send(),
            )
            .await
            .expect("a sign-in is answered within the guard")
            .unwrap();
            statuses.push(response.status().as_u16());
        }
        assert_limited(&statuses);
        // As with Redis: the account is locked for the window, the right password included.
        assert_eq!(app.password_grant("ana@example.org", crate::helpers::PASSWORD).await.status(), 429);
        redis.launch();
        redis_becomes(&app.address, "ok").await;
    }
}

/// Redis restarted while an instance had nothing to ask it: the instance's connection is closed,
/// and its first call after the restart must not fail on it (and so stop using Redis until the
/// next probe); it is made again on a fresh connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_call_after_a_redis_restart_succeeds() {
    use aftercare::coordination::{RateLimiter as _, RedisLimiter, RedisLink, RedisTimeouts};
    let redis = RedisServer::start(65302);
    let timeouts = RedisTimeouts {
        connection: Duration::from_millis(REDIS_TIMEOUT_MS),
        response: Duration::from_millis(REDIS_TIMEOUT_MS),
    };
    let limiter = RedisLimiter::new(RedisLink::standalone(&redis.url().as_str().into(), timeouts).unwrap(), "t:");
    assert_eq!(limiter.hit("k", Duration::from_secs(60)).await.unwrap().count, 1);
    redis.stop();
    redis.launch();
    let window = limiter.hit("k", Duration::from_secs(60)).await.expect("answered on a fresh connection");
    assert_eq!(window.count, 1, "a restarted Redis without persistence starts counting again");
    assert_eq!(limiter.state().as_str(), "ok");
}

/// An API-only instance produces a notification; the dispatcher of another instance, which
/// would otherwise sleep for five minutes, is woken through Redis, also right after a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_redis_restart_wake_ups_cross_instances_again() {
    let redis = RedisServer::start(62014);
    let mut overrides = redis_overrides(&redis);
    overrides.push(("dispatcher.idle_poll_seconds", json!(300)));
    let app = spawn_app_with(Backend::Sqlite, &overrides).await.unwrap();
    let api_only = app.another_instance(&[("dispatcher.enabled", json!(false))]).await;
    let receiver = PushReceiver::start().await;
    receiver.set_now(app.clock_now());
    let ana = app.patient("ana@example.org").await;
    let phone = receiver.subscribe();
    app.register_device(&ana, &phone).await;
    let channel = format!("{}dispatcher:wake", app.state.settings.redis.key_prefix);
    let send_test = || async {
        let response = app
            .client
            .post(api_only.url("/v1/notifications/test"))
            .bearer_auth(&ana.access)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::ACCEPTED);
    };
    let subscribed = |redis: &RedisServer| {
        let listening = redis.subscribers(&channel) > 0;
        async move { listening }
    };
    let wait_subscribed = async |redis: &RedisServer| {
        for _ in 0..200 {
            if subscribed(redis).await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the dispatcher never subscribed");
    };
    wait_subscribed(&redis).await;
    send_test().await;
    receiver.wait_for_requests(&phone, 1, Duration::from_secs(5)).await;

    redis.stop();
    redis.launch();
    // The dispatcher is listening again before anything is produced, so only the wake-up
    // itself can bring the next notification.
    wait_subscribed(&redis).await;
    send_test().await;
    receiver.wait_for_requests(&phone, 2, Duration::from_secs(5)).await;
    drop(api_only);
}

/// A PostgreSQL cluster of the test's own, with trust authentication on loopback.
struct PgCluster {
    name: String,
    port: u16,
}

impl PgCluster {
    fn create(port: u16) -> Self {
        let name = format!("aftercare-outage-{port}");
        let _ = Command::new("pg_dropcluster").args(["--stop", "15", &name]).output();
        let status = Command::new("pg_createcluster")
            .args(["15", &name, "-p", &port.to_string(), "--", "--auth=trust"])
            .output()
            .expect("pg_createcluster runs");
        assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
        let cluster = Self { name, port };
        cluster.ctl("start");
        cluster
    }

    fn ctl(&self, action: &str) {
        let output = Command::new("pg_ctlcluster").args(["15", &self.name, action]).output().expect("pg_ctlcluster");
        assert!(output.status.success(), "{action}: {}", String::from_utf8_lossy(&output.stderr));
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let _ = Command::new("pg_dropcluster").args(["--stop", "15", &self.name]).output();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_the_database_is_down_requests_answer_503_at_once_and_recover_on_their_own() {
    // Runs where PostgreSQL runs; the cluster is the test's own.
    if required_env("TEST_DATABASE_URL").is_none() {
        return;
    }
    let cluster = PgCluster::create(62101);
    let settings = test_settings(
        &cluster.url(),
        "",
        &[
            ("database.acquire_timeout_seconds", json!(10)),
            ("database.outage_probe_ms", json!(200)),
            ("dispatcher.enabled", json!(false)),
        ],
    );
    let clock = std::sync::Arc::new(ManualClock::new(chrono::Utc::now()));
    let instance = Instance::serve(Application::build_with_clock(settings, clock).await.expect("app starts"));
    let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
    let sign_in = || {
        client.post(instance.url("/v1/auth/token")).json(
            &json!({"grant_type": "password", "email": "nobody@example.org", "password": "whatever it is", "device_label": "x"}),
        )
    };
    assert_eq!(sign_in().send().await.unwrap().status(), StatusCode::UNAUTHORIZED);

    cluster.ctl("stop");
    // The very first request of the outage is answered 503 at once too, not after the pool's
    // 10 s acquire time-out (during which the pool keeps retrying the refused connection).
    let first =
        tokio::time::timeout(GUARD, sign_in().send()).await.expect("the first answered within the guard").unwrap();
    assert_eq!(first.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(first.headers().contains_key("retry-after"), "{:?}", first.headers());
    let readiness = tokio::time::timeout(GUARD, client.get(instance.url("/readyz")).send()).await.unwrap().unwrap();
    assert_eq!(readiness.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = readiness.json().await.unwrap();
    assert!(body["detail"].as_str().unwrap().contains("database"), "{body}");
    // Time for the probe behind that answer to confirm the outage.
    tokio::time::sleep(Duration::from_secs(2)).await;
    // Once known, every request is answered at once, far inside the 10 s acquire time-out.
    for _ in 0..20 {
        let response = tokio::time::timeout(GUARD, sign_in().send()).await.expect("answered within the guard").unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        let health = client.request(Method::GET, instance.url("/healthz")).send().await.unwrap();
        assert_eq!(health.status(), StatusCode::OK, "liveness does not depend on the database");
    }

    cluster.ctl("start");
    for _ in 0..150 {
        let status = tokio::time::timeout(Duration::from_secs(15), sign_in().send()).await.unwrap().unwrap().status();
        if status == StatusCode::UNAUTHORIZED {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("requests never recovered after the database came back");
}
