//! `spawn_app()`: the whole service on port 0 with a fresh database, plus typed helpers.

use std::sync::Arc;
use std::time::Duration;

use aftercare::clock::ManualClock;
use aftercare::config::Settings;
use aftercare::service::AppState;
use aftercare::startup::Application;
use chrono::Utc;
use figment::providers::Serialized;
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};
use sqlx::{Connection, Executor, PgConnection};
use tokio::sync::oneshot;

pub const PASSWORD: &str = "correct horse battery";

/// One VAPID key for the whole test run.
pub static VAPID_TEST_KEY: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| aftercare::push::VapidKeys::generate().private_key_base64url());

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs an async test body once per backend: `sqlite` always, `postgres` when configured.
/// `async fn name(app) with OVERRIDES { … }` applies a constant list of settings.
macro_rules! on_both_backends {
    ($(async fn $name:ident($app:ident) $(with $overrides:ident)? $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                async fn run($app: $crate::helpers::TestApp) $body

                fn overrides() -> Vec<(&'static str, serde_json::Value)> {
                    #[allow(unused_mut)]
                    let mut overrides = Vec::new();
                    $(overrides.extend($overrides.iter().cloned());)?
                    overrides
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let app = $crate::helpers::spawn_app_with($crate::helpers::Backend::Sqlite, &overrides()).await;
                    run(app.expect("sqlite app")).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(app) = $crate::helpers::spawn_app_with($crate::helpers::Backend::Postgres, &overrides()).await {
                        run(app).await;
                    }
                }
            }
        )*
    };
}
pub(crate) use on_both_backends;

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// An environment variable that CI must provide; elsewhere its absence skips the test.
pub fn required_env(name: &str) -> Option<String> {
    match std::env::var(name) {
        Ok(value) if !value.is_empty() => Some(value),
        _ if in_ci() => panic!("{name} must be set when CI=true: these tests may not be skipped"),
        _ => {
            eprintln!("skipped: {name} is not set");
            None
        }
    }
}

/// A PostgreSQL database of its own, dropped when the test ends.
pub struct PgDatabase {
    admin_url: String,
    name: String,
    pub url: String,
}

impl PgDatabase {
    pub async fn create() -> Option<Self> {
        let admin_url = required_env("TEST_DATABASE_URL")?;
        let name = format!("aftercare_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::connect(&admin_url).await.expect("connect to TEST_DATABASE_URL");
        admin.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\""))).await.expect("create test database");
        let mut url = url::Url::parse(&admin_url).expect("TEST_DATABASE_URL is a URL");
        url.set_path(&name);
        Some(Self { admin_url, name, url: url.to_string() })
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        // Drop runs inside the test's runtime, which cannot be blocked on; use a thread of its own.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            runtime.block_on(async move {
                if let Ok(mut admin) = PgConnection::connect(&admin_url).await {
                    let _ = admin
                        .execute(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")))
                        .await;
                }
            });
        })
        .join();
    }
}

enum Database {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres(#[allow(dead_code)] PgDatabase),
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub state: AppState,
    pub clock: Arc<ManualClock>,
    pub backend: Backend,
    pub database_url: String,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    _database: Database,
}

/// Test settings: port 0, cheap password hashing, quiet logs.
pub fn test_settings(database_url: &str, redis_url: &str, overrides: &[(&str, Value)]) -> Settings {
    let mut figment = Settings::defaults()
        .merge(Serialized::default("server.bind", "127.0.0.1:0"))
        .merge(Serialized::default("database.url", database_url))
        .merge(Serialized::default("database.max_connections", 5))
        .merge(Serialized::default("redis.url", redis_url))
        .merge(Serialized::default("redis.key_prefix", format!("aftercare-test:{}:", uuid::Uuid::new_v4().simple())))
        .merge(Serialized::default("auth.argon2_memory_kib", 1024))
        .merge(Serialized::default("auth.argon2_iterations", 1))
        .merge(Serialized::default("log.level", "warn"))
        .merge(Serialized::default("push.vapid_private_key", VAPID_TEST_KEY.as_str()))
        .merge(Serialized::default("push.vapid_subject", "mailto:operations@aftercare.example.org"))
        .merge(Serialized::default("push.allow_loopback", true))
        .merge(Serialized::default("dispatcher.idle_poll_seconds", 1))
        // Tests step the background alert evaluation themselves (`TestApp::put_entry`).
        .merge(Serialized::default("alerts.background_evaluation", false));
    for (key, value) in overrides {
        figment = figment.merge(Serialized::default(key, value));
    }
    Settings::from_figment(figment).expect("valid test settings")
}

/// `None` when the backend is not configured here (never in CI).
pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, &[]).await
}

pub async fn spawn_app_with(backend: Backend, overrides: &[(&str, Value)]) -> Option<TestApp> {
    spawn_app_with_database_params(backend, "", overrides).await
}

/// Like [`spawn_app_with`], with `params` (e.g. `sslmode=require`) added to a PostgreSQL URL.
pub async fn spawn_app_with_database_params(
    backend: Backend,
    params: &str,
    overrides: &[(&str, Value)],
) -> Option<TestApp> {
    let (database, database_url, redis_url) = match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!("sqlite://{}/aftercare.db", dir.path().display());
            (Database::Sqlite(dir), url, String::new())
        }
        Backend::Postgres => {
            let db = PgDatabase::create().await?;
            // Without Redis (outside CI) the PostgreSQL runs use the in-process fallbacks.
            let redis = if in_ci() {
                required_env("TEST_REDIS_URL").unwrap_or_default()
            } else {
                std::env::var("TEST_REDIS_URL").unwrap_or_default()
            };
            let url = match (params.is_empty(), db.url.contains('?')) {
                (true, _) => db.url.clone(),
                (false, true) => format!("{}&{params}", db.url),
                (false, false) => format!("{}?{params}", db.url),
            };
            (Database::Postgres(db), url, redis)
        }
    };
    let settings = test_settings(&database_url, &redis_url, overrides);
    let database_url = database_url.clone();
    aftercare::telemetry::init_logging(&settings.log);
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let application = Application::build_with_clock(settings, clock.clone()).await.expect("app starts");
    let address = format!("http://{}", application.local_addr());
    let state = application.state().clone();
    let (shutdown, stopped) = oneshot::channel();
    let server = tokio::spawn(application.run_until(async {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    Some(TestApp {
        address,
        client,
        state,
        clock,
        backend,
        database_url,
        shutdown: Some(shutdown),
        server: Some(server),
        _database: database,
    })
}

/// One more instance of the service, as behind a load balancer: the same database, the same Redis
/// (and key prefix) and clock as the app it was started beside, its own listener and workers.
pub struct Instance {
    pub address: String,
    pub state: AppState,
    shutdown: Option<oneshot::Sender<()>>,
    _server: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Instance {
    /// Serves a built application until stopped or dropped.
    pub fn serve(application: Application) -> Self {
        let address = format!("http://{}", application.local_addr());
        let state = application.state().clone();
        let (shutdown, stopped) = oneshot::channel();
        let server = tokio::spawn(application.run_until(async {
            let _ = stopped.await;
        }));
        Self { address, state, shutdown: Some(shutdown), _server: server }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

impl TestApp {
    /// The settings another instance of this app would have: the test defaults, the same
    /// database, Redis and key prefix, then `overrides`.
    pub fn instance_settings(&self, overrides: &[(&str, Value)]) -> Settings {
        let redis = &self.state.settings.redis;
        let mut all: Vec<(&str, Value)> = vec![("redis.key_prefix", Value::String(redis.key_prefix.clone()))];
        all.extend(overrides.iter().cloned());
        test_settings(&self.database_url, &redis.url, &all)
    }

    /// Starts another instance beside this one.
    pub async fn another_instance(&self, overrides: &[(&str, Value)]) -> Instance {
        let application = Application::build_with_clock(self.instance_settings(overrides), self.clock.clone())
            .await
            .expect("the other instance starts");
        Instance::serve(application)
    }
}

/// Tokens as the token endpoint returns them.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub access: String,
    pub refresh: String,
    pub session_id: String,
}

impl Tokens {
    pub fn from_json(body: &Value) -> Self {
        Self {
            access: body["access_token"].as_str().expect("access_token").to_owned(),
            refresh: body["refresh_token"].as_str().expect("refresh_token").to_owned(),
            session_id: body["session_id"].as_str().expect("session_id").to_owned(),
        }
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn request(&self, method: Method, path: &str, token: Option<&str>, body: Option<&Value>) -> Response {
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        request.send().await.expect("request sent")
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.request(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        self.request(Method::POST, path, token, Some(body)).await
    }

    /// Sends raw bytes with a JSON content type.
    pub async fn post_raw(&self, path: &str, body: impl Into<reqwest::Body>) -> Response {
        self.client
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn register(&self, body: &Value) -> Response {
        self.post("/v1/accounts", None, body).await
    }

    pub async fn register_patient(&self, email: &str) -> Value {
        let response = self
            .register(&json!({"email": email, "password": PASSWORD, "role": "patient", "time_zone": "Europe/Berlin"}))
            .await;
        assert_eq!(response.status(), StatusCode::CREATED, "registering {email}");
        response.json().await.expect("profile")
    }

    pub async fn password_grant(&self, email: &str, password: &str) -> Response {
        self.post(
            "/v1/auth/token",
            None,
            &json!({"grant_type": "password", "email": email, "password": password, "device_label": "test phone"}),
        )
        .await
    }

    pub async fn refresh_grant(&self, refresh_token: &str) -> Response {
        self.post("/v1/auth/token", None, &json!({"grant_type": "refresh_token", "refresh_token": refresh_token})).await
    }

    pub async fn sign_in(&self, email: &str) -> Tokens {
        let response = self.password_grant(email, PASSWORD).await;
        assert_eq!(response.status(), StatusCode::OK, "signing in {email}");
        Tokens::from_json(&response.json().await.expect("tokens"))
    }

    /// A new patient, signed in.
    pub async fn patient(&self, email: &str) -> Tokens {
        self.register_patient(email).await;
        self.sign_in(email).await
    }

    pub fn clock_now(&self) -> chrono::DateTime<chrono::Utc> {
        use aftercare::clock::Clock as _;
        self.clock.now()
    }

    /// Runs a counting query straight against the database, past the service, to check what
    /// is really stored. `$1` is bound to `id` when given.
    pub async fn count(&self, sql: &str, id: Option<uuid::Uuid>) -> i64 {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match self.backend {
            Backend::Sqlite => {
                let mut conn = sqlx::SqliteConnection::connect(&self.database_url).await.expect("sqlite");
                let mut query = sqlx::query_scalar::<_, i64>(sql);
                if let Some(id) = id {
                    query = query.bind(id);
                }
                query.fetch_one(&mut conn).await.expect("count")
            }
            Backend::Postgres => {
                let mut conn = PgConnection::connect(&self.database_url).await.expect("postgres");
                let mut query = sqlx::query_scalar::<_, i64>(sql);
                if let Some(id) = id {
                    query = query.bind(id);
                }
                query.fetch_one(&mut conn).await.expect("count")
            }
        }
    }

    /// Runs one statement straight against the database.
    pub async fn execute(&self, sql: &str) -> Result<u64, sqlx::Error> {
        use sqlx::Connection as _;
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match self.backend {
            Backend::Sqlite => {
                let mut conn = sqlx::SqliteConnection::connect(&self.database_url).await?;
                Ok(sqlx::query(sql).execute(&mut conn).await?.rows_affected())
            }
            Backend::Postgres => {
                let mut conn = sqlx::PgConnection::connect(&self.database_url).await?;
                Ok(sqlx::query(sql).execute(&mut conn).await?.rows_affected())
            }
        }
    }

    /// Stops the server as SIGTERM would and waits for it; the database stays for inspection.
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        self.server.take().expect("running").await.expect("server task")
    }
}

/// Asserts an RFC 9457 problem with `status` and `code`, whose request id matches the header;
/// returns the body.
pub async fn assert_problem(response: Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(response.status(), status, "status");
    let content_type =
        response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert_eq!(content_type, "application/problem+json");
    let header_id = response.headers().get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
    assert!(header_id.as_deref().is_some_and(|id| !id.is_empty()), "x-request-id header");
    let body: Value = response.json().await.expect("problem body");
    assert_eq!(body["status"], status.as_u16(), "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert!(body["type"].as_str().is_some_and(|t| !t.is_empty()), "{body}");
    assert!(body["title"].as_str().is_some_and(|t| !t.is_empty()), "{body}");
    assert_eq!(body["request_id"].as_str(), header_id.as_deref(), "request id in body and header");
    body
}

/// The fields named in a 422 problem.
pub fn problem_fields(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|errors| errors.iter().map(|e| e["field"].as_str().unwrap_or_default().to_owned()).collect())
        .unwrap_or_default()
}
