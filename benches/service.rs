//! The benchmark harness: `cargo bench --bench service` prints a table of the service's speed on
//! the real stack (HTTP, SQLite, and PostgreSQL when BENCH_DATABASE_URL or TEST_DATABASE_URL is
//! set). Results are recorded in BENCHMARKS.md; nothing here asserts a time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aftercare::clock::ManualClock;
use aftercare::config::Settings;
use aftercare::domain::journal::Symptom;
use aftercare::domain::{Role, TimeZone};
use aftercare::startup::Application;
use chrono::{DateTime, TimeDelta, Utc};
use figment::providers::Serialized;
use serde_json::{Value, json};
use sqlx::{Connection, Executor};
use uuid::Uuid;

#[path = "../tests/support/seed.rs"]
mod seed;

const PASSWORD: &str = "correct horse battery";

struct Database {
    url: String,
    label: &'static str,
    cleanup: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

/// A fresh, empty database of the same kind as `db`: a new SQLite file, or a new PostgreSQL
/// database on the same server.
async fn beside(db: &Database, name: &str) -> Database {
    match &db.cleanup {
        None => {
            let dir = tempfile::tempdir().unwrap();
            Database {
                url: format!("sqlite://{}/{name}.db", dir.path().display()),
                label: db.label,
                cleanup: None,
                _dir: Some(dir),
            }
        }
        Some((admin, _)) => postgres_database(admin).await,
    }
}

/// A new database on the PostgreSQL server `admin` connects to.
async fn postgres_database(admin: &str) -> Database {
    let name = format!("aftercare_bench_{}", Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(admin).await.expect("PostgreSQL");
    conn.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\""))).await.expect("create database");
    let mut url = url::Url::parse(admin).expect("URL");
    url.set_path(&name);
    Database { url: url.to_string(), label: "PostgreSQL", cleanup: Some((admin.to_owned(), name)), _dir: None }
}

/// Drops a PostgreSQL database made for the run; a SQLite file goes with its directory.
async fn drop_database(db: Database) {
    if let Some((admin, name)) = db.cleanup
        && let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await
    {
        let _ = conn.execute(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))).await;
    }
}

async fn databases() -> Vec<Database> {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut out = vec![Database {
        url: format!("sqlite://{}/bench.db", dir.path().display()),
        label: "SQLite",
        cleanup: None,
        _dir: Some(dir),
    }];
    if let Ok(admin) = std::env::var("BENCH_DATABASE_URL").or_else(|_| std::env::var("TEST_DATABASE_URL")) {
        out.push(postgres_database(&admin).await);
    }
    out
}

async fn start(db: &Database, now: DateTime<Utc>) -> (Application, Arc<ManualClock>) {
    let settings = Settings::from_figment(
        Settings::defaults()
            .merge(Serialized::default("server.bind", "127.0.0.1:0"))
            .merge(Serialized::default("database.url", &db.url))
            .merge(Serialized::default("log.level", "error"))
            .merge(Serialized::default(
                "push.vapid_private_key",
                aftercare::push::VapidKeys::generate().private_key_base64url(),
            ))
            .merge(Serialized::default("push.vapid_subject", "mailto:operations@aftercare.example.org"))
            .merge(Serialized::default("rate_limit.registrations_per_address", 1_000_000))
            .merge(Serialized::default("dispatcher.enabled", false)),
    )
    .expect("settings");
    aftercare::telemetry::init_logging(&settings.log);
    let clock = Arc::new(ManualClock::new(now));
    (Application::build_with_clock(settings, clock.clone()).await.expect("app"), clock)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

struct Row {
    scenario: String,
    backend: &'static str,
    result: String,
}

async fn timed_requests(
    client: &reqwest::Client,
    requests: Vec<reqwest::RequestBuilder>,
    concurrency: usize,
) -> (Vec<Duration>, Duration) {
    use futures::StreamExt as _;
    let started = Instant::now();
    let mut latencies: Vec<Duration> = futures::stream::iter(requests)
        .map(|request| async move {
            let t = Instant::now();
            let response = request.send().await.expect("request");
            assert!(response.status().is_success(), "{}", response.status());
            t.elapsed()
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let _ = client;
    latencies.sort();
    (latencies, started.elapsed())
}

fn describe(latencies: &[Duration], total: Duration) -> String {
    format!(
        "{:.0} req/s; p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms",
        latencies.len() as f64 / total.as_secs_f64(),
        percentile(latencies, 0.5).as_secs_f64() * 1000.0,
        percentile(latencies, 0.95).as_secs_f64() * 1000.0,
        percentile(latencies, 0.99).as_secs_f64() * 1000.0,
    )
}

async fn post_json(request: reqwest::RequestBuilder, body: Value) -> Value {
    let response = request.json(&body).send().await.expect("request");
    assert!(response.status().is_success(), "{}", response.status());
    response.json().await.expect("JSON answer")
}

/// Registers an account and signs it in; its access token.
async fn sign_up(client: &reqwest::Client, base: &str, account: Value) -> String {
    post_json(client.post(format!("{base}/v1/accounts")), account.clone()).await;
    let credentials = json!({"grant_type": "password", "email": account["email"], "password": account["password"]});
    let tokens = post_json(client.post(format!("{base}/v1/auth/token")), credentials).await;
    tokens["access_token"].as_str().expect("an access token").to_owned()
}

async fn http_scenarios(db: &Database, rows: &mut Vec<Row>) {
    let now: DateTime<Utc> = "2026-11-21T12:00:00Z".parse().unwrap();
    let (app, _clock) = start(db, now).await;
    let base = format!("http://{}", app.local_addr());
    tokio::spawn(app.run_until(std::future::pending()));
    let client = reqwest::Client::new();
    let patient =
        json!({"email": "bench@example.org", "password": PASSWORD, "role": "patient", "time_zone": "Europe/Berlin"});
    let token = sign_up(&client, &base, patient).await;

    // 90 days, three entries a day, written by 8 phones syncing at once.
    let writes: Vec<_> = (0..270)
        .map(|i| {
            let at = now - TimeDelta::hours(8 * i + 1);
            let body = json!({"recorded_at": at.to_rfc3339(), "pain": i % 11, "symptoms": ["tingling_left_leg"], "notes": "bench"});
            client.put(format!("{base}/v1/journal/entries/{}", Uuid::new_v4())).bearer_auth(&token).json(&body)
        })
        .collect();
    let (latencies, total) = timed_requests(&client, writes, 8).await;
    rows.push(Row {
        scenario: "PUT journal entry (8 concurrent, 270 new entries)".into(),
        backend: db.label,
        result: describe(&latencies, total),
    });

    let summaries: Vec<_> =
        (0..200).map(|_| client.get(format!("{base}/v1/journal/summary?days=90")).bearer_auth(&token)).collect();
    let (latencies, total) = timed_requests(&client, summaries, 4).await;
    rows.push(Row {
        scenario: "GET 90-day summary over 270 entries (4 concurrent)".into(),
        backend: db.label,
        result: describe(&latencies, total),
    });

    let changes: Vec<_> =
        (0..200).map(|_| client.get(format!("{base}/v1/journal/changes?limit=200")).bearer_auth(&token)).collect();
    let (latencies, total) = timed_requests(&client, changes, 4).await;
    rows.push(Row {
        scenario: "GET change feed, full page of 200 (4 concurrent)".into(),
        backend: db.label,
        result: describe(&latencies, total),
    });

    // The same summary read by the patient's therapist: each read also appends an access log
    // line, in the same transaction.
    let therapist = json!({"email": "tom@example.org", "password": PASSWORD, "role": "therapist",
                           "discipline": "physiotherapist", "time_zone": "Europe/Berlin"});
    let therapist_token = sign_up(&client, &base, therapist).await;
    let invite = post_json(
        client.post(format!("{base}/v1/care/invites")).bearer_auth(&token),
        json!({"scopes": ["read_journal"]}),
    )
    .await;
    let redeem = client.post(format!("{base}/v1/care/invites/redeem")).bearer_auth(&therapist_token);
    let grant = post_json(redeem, json!({"code": invite["code"]})).await;
    let patient_id = grant["patient"]["id"].as_str().expect("a grant").to_owned();
    let reads: Vec<_> = (0..200)
        .map(|_| {
            client.get(format!("{base}/v1/patients/{patient_id}/journal/summary?days=90")).bearer_auth(&therapist_token)
        })
        .collect();
    let (latencies, total) = timed_requests(&client, reads, 4).await;
    rows.push(Row {
        scenario: "GET a client's 90-day summary as their therapist, logged (4 concurrent)".into(),
        backend: db.label,
        result: describe(&latencies, total),
    });
}

/// 10,000 patients, as the alert sweep and the reminder planner meet them in production: a
/// tenth with two weeks of moderate pain, a tenth with a fever today, the rest a mild day.
async fn population_scenarios(db: &Database, rows: &mut Vec<Row>) {
    const PATIENTS: usize = 10_000;
    let now: DateTime<Utc> = "2026-11-21T11:00:00Z".parse().unwrap();
    let (app, _clock) = start(db, now).await;
    let state = app.state().clone();
    let zone = TimeZone::parse("Europe/Berlin").unwrap();
    let seeding = Instant::now();
    for n in 0..PATIENTS {
        let id = seed::create_patient(state.store.as_ref(), &format!("p{n}@example.org"), zone, None, now).await;
        let days: Vec<(i64, i64, Vec<Symptom>)> = match n % 10 {
            0 => (0..14).map(|back| (back, 5, vec![])).collect(),
            3 => vec![(0, 3, vec![Symptom::Fever])],
            _ => vec![(0, 2, vec![])],
        };
        for (back, pain, symptoms) in days {
            let recorded_at = now - TimeDelta::days(back) - TimeDelta::hours(1);
            let content = seed::entry(recorded_at, pain, symptoms);
            state
                .store
                .write_entry(id, Uuid::new_v4(), &content, zone.local_date(recorded_at), None, now)
                .await
                .unwrap();
        }
    }
    rows.push(Row {
        scenario: format!("seed {PATIENTS} patients, 23,000 entries (store calls)"),
        backend: db.label,
        result: format!("{:.1} s", seeding.elapsed().as_secs_f64()),
    });

    let started = Instant::now();
    let report = state.sweep_alerts().await.unwrap();
    rows.push(Row {
        scenario: format!("alert sweep, first pass ({} patients, {} alerts opened)", report.patients, report.opened),
        backend: db.label,
        result: format!("{:.2} s", started.elapsed().as_secs_f64()),
    });
    let started = Instant::now();
    let report = state.sweep_alerts().await.unwrap();
    rows.push(Row {
        scenario: format!("alert sweep, steady state ({} refreshed)", report.refreshed),
        backend: db.label,
        result: format!("{:.2} s", started.elapsed().as_secs_f64()),
    });
    let started = Instant::now();
    let planned = state.plan_all_reminders().await.unwrap();
    rows.push(Row {
        scenario: format!("reminder planning ({planned} patients)"),
        backend: db.label,
        result: format!("{:.2} s", started.elapsed().as_secs_f64()),
    });
}

/// A therapist with 300 clients who each kept a journal for two months (~60 entries), a third
/// of them with a session ten days ago: the caseload reads every client's window since their
/// last session (or of the last two weeks) and appends 300 access log lines, per request.
async fn caseload_scenario(db: &Database, rows: &mut Vec<Row>) {
    use aftercare::domain::care::{InviteCode, Scope, Scopes};
    use aftercare::domain::massage::SessionKind;
    use aftercare::service::massage::SessionDraft;
    use aftercare::store::Principal;
    const CLIENTS: usize = 300;
    const DAYS: i64 = 60;
    let now: DateTime<Utc> = "2026-11-21T12:00:00Z".parse().unwrap();
    let (app, _clock) = start(db, now).await;
    let base = format!("http://{}", app.local_addr());
    let state = app.state().clone();
    tokio::spawn(app.run_until(std::future::pending()));
    let client = reqwest::Client::new();
    let therapist = json!({"email": "tess@example.org", "password": PASSWORD, "role": "therapist",
                           "discipline": "massage_therapist", "time_zone": "Europe/Berlin"});
    let token = sign_up(&client, &base, therapist).await;
    let me: Value = client.get(format!("{base}/v1/me")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    let tess = Principal {
        account_id: me["id"].as_str().unwrap().parse().unwrap(),
        session_id: Uuid::now_v7(),
        role: Role::Therapist,
        time_zone: TimeZone::parse("Europe/Berlin").unwrap(),
    };
    let zone = TimeZone::parse("Europe/Berlin").unwrap();
    let scopes = Scopes::new([Scope::ReadJournal, Scope::ReceiveAlerts]).unwrap();
    let seeding = Instant::now();
    for n in 0..CLIENTS {
        let id = seed::create_patient(state.store.as_ref(), &format!("client{n}@example.org"), zone, None, now).await;
        let patient = Principal { account_id: id, session_id: Uuid::now_v7(), role: Role::Patient, time_zone: zone };
        let (_, code) = state.create_invite(&patient, scopes.clone(), None).await.unwrap();
        state.redeem_invite(&tess, &InviteCode::parse(&code.display()).unwrap(), None, None, None).await.unwrap();
        for back in 0..DAYS {
            let recorded_at = now - TimeDelta::days(back) - TimeDelta::hours(2);
            let content = seed::entry(recorded_at, (back + n as i64) % 8, []);
            state
                .store
                .write_entry(id, Uuid::new_v4(), &content, zone.local_date(recorded_at), None, now)
                .await
                .unwrap();
        }
        if n % 3 == 0 {
            let draft = SessionDraft {
                started_at: now - TimeDelta::days(10),
                duration_minutes: 60,
                kind: SessionKind::DeepTissue,
                techniques: vec![],
                regions: vec![],
                pressure: None,
                pain_before: Some(5),
                pain_after: Some(3),
                notes: None,
            };
            state.record_session(&patient, id, draft, None).await.unwrap();
        }
    }
    rows.push(Row {
        scenario: format!("seed {CLIENTS} clients of one therapist, {} entries (store calls)", CLIENTS * DAYS as usize),
        backend: db.label,
        result: format!("{:.1} s", seeding.elapsed().as_secs_f64()),
    });
    let reads: Vec<_> = (0..50).map(|_| client.get(format!("{base}/v1/caseload")).bearer_auth(&token)).collect();
    let (latencies, total) = timed_requests(&client, reads, 1).await;
    rows.push(Row {
        scenario: format!("GET caseload of {CLIENTS} clients × {DAYS} entries, logged (1 at a time)"),
        backend: db.label,
        result: describe(&latencies, total),
    });
}

fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib: f64 = status.lines().find(|l| l.starts_with("VmHWM:"))?.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    // `BENCH_SCENARIOS=caseload` (a comma-separated list of http, population, caseload) runs
    // only those; all of them by default.
    let only = std::env::var("BENCH_SCENARIOS").ok();
    let wanted = |name: &str| only.as_deref().is_none_or(|list| list.split(',').any(|s| s.trim() == name));
    let mut rows = Vec::new();
    for db in databases().await {
        if wanted("http") {
            http_scenarios(&db, &mut rows).await;
        }
        if wanted("caseload") {
            let fresh = beside(&db, "caseload").await;
            caseload_scenario(&fresh, &mut rows).await;
            drop_database(fresh).await;
        }
        if wanted("population") {
            let population = beside(&db, "population").await;
            population_scenarios(&population, &mut rows).await;
            drop_database(population).await;
        }
        drop_database(db).await;
    }
    println!("| scenario | database | result |\n| --- | --- | --- |");
    for row in &rows {
        println!("| {} | {} | {} |", row.scenario, row.backend, row.result);
    }
    if let Some(rss) = peak_rss_mib() {
        println!("\nPeak resident memory of the whole run (server and load in one process): {rss:.0} MiB");
    }
}
