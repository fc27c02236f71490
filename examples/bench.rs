//! The Rust side of `bench/run`: seeding, the anchors that need our own code (a plain sqlx insert
//! loop on SQLite, a bare `PushSender` loop), and the figures measured inside the library (the
//! reminder planner). Every subcommand prints one line of `key=value` pairs for the script.
//! Nothing here is a test; nothing asserts a time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aftercare::clock::ManualClock;
use aftercare::config::Settings;
use aftercare::domain::journal::EntryContent;
use aftercare::domain::notifications::{Kind, Urgency};
use aftercare::push::{PushMessage, PushSender, Subscription, VapidKeys};
use aftercare::startup::Application;
use aftercare::store::types::Ts;
use aftercare::store::{NewNotification, NewSubscription, PoolOptions, SqliteStore, Store};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, TimeDelta, Utc};
use clap::{Parser, Subcommand};
use figment::providers::Serialized;
use futures::StreamExt as _;
use serde_json::{Value, json};
use uuid::Uuid;

#[path = "../tests/support/seed.rs"]
mod seed;

const PASSWORD: &str = "correct horse battery";

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Registers `count` patients through the API and signs each in, all at once; writes
    /// `email token` lines to `out`.
    Users {
        #[arg(long)]
        base: String,
        #[arg(long)]
        count: usize,
        #[arg(long)]
        prefix: String,
        #[arg(long)]
        out: String,
    },
    /// Writes `days` days of three entries a day through the API for one patient.
    Fill {
        #[arg(long)]
        base: String,
        #[arg(long)]
        token: String,
        #[arg(long, default_value_t = 90)]
        days: i64,
    },
    /// Creates `count` patients, each with one push subscription at `endpoint`/n and one
    /// notification due now, straight through the store.
    SeedPush {
        #[arg(long)]
        db: String,
        #[arg(long)]
        vapid_private_key: String,
        #[arg(long)]
        endpoint: String,
        #[arg(long)]
        count: usize,
    },
    /// Waits until `count` deliveries are sent (or failed for good); prints the time taken.
    WaitSent {
        #[arg(long)]
        db: String,
        #[arg(long)]
        count: i64,
        #[arg(long, default_value_t = 600)]
        timeout_seconds: u64,
    },
    /// The SQLite anchor: the journal's INSERT in a plain sqlx loop, `connections` at once.
    SqliteInserts {
        #[arg(long)]
        db: String,
        #[arg(long, default_value_t = 32)]
        connections: usize,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
    /// The push anchor: a bare loop over `PushSender`, `concurrency` sends at once.
    PushLoop {
        #[arg(long)]
        endpoint: String,
        #[arg(long)]
        count: usize,
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
    },
    /// Seeds `patients` patients with `days` days of one entry a day straight in SQL (a twentieth
    /// with persistent pain, a twentieth with a fever, a twentieth worsening) and times two
    /// alert sweeps: the first opens and notifies, the second is the steady state.
    Sweep {
        #[arg(long)]
        db: String,
        #[arg(long)]
        patients: usize,
        #[arg(long, default_value_t = 28)]
        days: u32,
    },
    /// Seeds `patients` patients and times two passes of reminder planning.
    Plan {
        #[arg(long)]
        db: String,
        #[arg(long)]
        patients: usize,
    },
}

/// A browser's subscription keys: a P-256 public key and a 16-byte secret.
fn browser_keys() -> (String, String) {
    let secret = p256::SecretKey::random(&mut rand::thread_rng());
    let public = secret.public_key();
    use p256::elliptic_curve::sec1::ToEncodedPoint as _;
    let p256dh = URL_SAFE_NO_PAD.encode(public.to_encoded_point(false).as_bytes());
    let auth = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>());
    (p256dh, auth)
}

fn settings(db: &str, vapid_private_key: &str) -> Settings {
    Settings::from_figment(
        Settings::defaults()
            .merge(Serialized::default("server.bind", "127.0.0.1:0"))
            .merge(Serialized::default("database.url", db))
            .merge(Serialized::default("log.level", "error"))
            .merge(Serialized::default("push.vapid_private_key", vapid_private_key))
            .merge(Serialized::default("push.vapid_subject", "mailto:operations@aftercare.example.org"))
            .merge(Serialized::default("push.allow_loopback", true))
            .merge(Serialized::default("dispatcher.enabled", false)),
    )
    .expect("settings")
}

async fn store(db: &str) -> Arc<dyn Store> {
    let store = aftercare::startup::open_store(&settings(db, "")).await.expect("database");
    store.migrate().await.expect("migrations");
    store
}

async fn post(client: &reqwest::Client, url: String, body: Value, token: Option<&str>) -> Value {
    let mut request = client.post(url).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("request");
    assert!(response.status().is_success(), "{}", response.status());
    response.json().await.unwrap_or(Value::Null)
}

async fn users(base: &str, count: usize, prefix: &str, out: &str) {
    let client = reqwest::Client::new();
    let started = Instant::now();
    let lines: Vec<String> = futures::stream::iter(0..count)
        .map(|n| {
            let client = client.clone();
            async move {
                let email = format!("{prefix}{n}@example.org");
                let account =
                    json!({"email": email, "password": PASSWORD, "role": "patient", "time_zone": "Europe/Berlin"});
                post(&client, format!("{base}/v1/accounts"), account, None).await;
                let grant = json!({"grant_type": "password", "email": email, "password": PASSWORD});
                let tokens = post(&client, format!("{base}/v1/auth/token"), grant, None).await;
                format!("{email} {}", tokens["access_token"].as_str().expect("an access token"))
            }
        })
        .buffer_unordered(count.max(1))
        .collect()
        .await;
    std::fs::write(out, lines.join("\n") + "\n").expect("writing tokens");
    println!("users={count} seconds={:.2}", started.elapsed().as_secs_f64());
}

async fn fill(base: &str, token: &str, days: i64) {
    let client = reqwest::Client::new();
    let now = Utc::now();
    futures::stream::iter(0..days * 3)
        .map(|i| {
            let at = now - TimeDelta::hours(8 * i + 1);
            let body = json!({"recorded_at": at.to_rfc3339(), "pain": i % 11, "symptoms": ["tingling_left_leg"], "notes": "bench"});
            client.put(format!("{base}/v1/journal/entries/{}", Uuid::new_v4())).bearer_auth(token).json(&body).send()
        })
        .buffer_unordered(4)
        .for_each(|response| async move {
            assert!(response.expect("request").status().is_success());
        })
        .await;
    println!("entries={}", days * 3);
}

async fn seed_push(db: &str, vapid_private_key: &str, endpoint: &str, count: usize) {
    let store = store(db).await;
    let now = Utc::now();
    let vapid_public = VapidKeys::from_base64url(vapid_private_key).expect("VAPID key").public_key_base64url();
    let ids = seed::patients(&store, count, "push", now).await;
    let started = Instant::now();
    futures::stream::iter(ids.into_iter().enumerate())
        .map(|(n, account_id)| {
            let store = store.clone();
            let vapid_key = vapid_public.clone();
            let (p256dh, auth) = browser_keys();
            async move {
                let subscription = NewSubscription {
                    id: Uuid::now_v7(),
                    account_id,
                    endpoint: format!("{endpoint}/{n}"),
                    p256dh,
                    auth,
                    device_label: None,
                    expires_at: None,
                    vapid_key,
                    now,
                };
                store.upsert_subscription(&subscription).await.expect("subscription");
                let notification = NewNotification {
                    id: Uuid::now_v7(),
                    account_id,
                    dedupe_key: format!("bench:{n}"),
                    kind: Kind::Test,
                    title: "Time for your journal".into(),
                    body: "How is your back today?".into(),
                    link: "/journal/new".into(),
                    ttl: Duration::from_secs(3600),
                    urgency: Urgency::Normal,
                    topic: "bench".into(),
                    due_at: now - TimeDelta::seconds(1),
                    subject_date: None,
                    about_patient_id: None,
                    created_at: now,
                };
                store.schedule(&notification, false).await.expect("notification");
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<()>>()
        .await;
    println!("seeded={count} seconds={:.2}", started.elapsed().as_secs_f64());
}

async fn wait_sent(db: &str, count: i64, timeout: Duration) {
    const QUERY: &str = "SELECT COUNT(*) FROM push_deliveries WHERE state IN ('sent', 'dead')";
    const DEAD: &str = "SELECT COUNT(*) FROM push_deliveries WHERE state = 'dead'";
    let started = Instant::now();
    let count_of = |query: &'static str| {
        let db = db.to_owned();
        async move {
            if db.starts_with("sqlite") {
                let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&db).await.expect("database");
                sqlx::query_scalar::<_, i64>(query).fetch_one(&mut conn).await.unwrap_or(0)
            } else {
                let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&db).await.expect("database");
                sqlx::query_scalar::<_, i64>(query).fetch_one(&mut conn).await.unwrap_or(0)
            }
        }
    };
    // Each poll is one transaction of its own; the script subtracts them from the database's
    // count of committed transactions to get the service's per delivery.
    let mut queries = 0u64;
    loop {
        let done = count_of(QUERY).await;
        queries += 1;
        if done >= count || started.elapsed() > timeout {
            let seconds = started.elapsed().as_secs_f64();
            let dead = count_of(DEAD).await;
            queries += 1;
            println!(
                "done={done} dead={dead} seconds={seconds:.2} per_second={:.0} queries={queries}",
                done as f64 / seconds
            );
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn sqlite_inserts(db: &str, connections: usize, seconds: u64) {
    // Migrated by the service's own code, then written to only by the plain loop.
    store(db).await.close().await;
    let options = PoolOptions { max_connections: 10, acquire_timeout: Duration::from_secs(30) };
    let sqlite = SqliteStore::connect(db, &options).await.expect("database");
    let dyn_store: Arc<dyn Store> = Arc::new(SqliteStore::connect(db, &options).await.expect("database"));
    let now = Utc::now();
    let patients = seed::patients(&dyn_store, connections, "raw", now).await;
    let content = EntryContent { notes: Some("bench".into()), ..seed::entry(now, 4, []) };
    let stored = aftercare::store::codec::encode_content(&content);
    let symptoms = aftercare::store::codec::encode_symptoms(&content.symptoms);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let pool = sqlite.pool().clone();
    let started = Instant::now();
    let tasks: Vec<_> = patients
        .into_iter()
        .map(|patient_id| {
            let (pool, stored, symptoms) = (pool.clone(), stored.clone(), symptoms.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut seq = 0i64;
                while Instant::now() < deadline {
                    seq += 1;
                    let t = Instant::now();
                    sqlx::query(
                        "INSERT INTO journal_entries (id, patient_id, recorded_at, local_date, pain, symptoms, content,
                                                      version, change_seq, deleted, created_at, updated_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, FALSE, $9, $9)
                         RETURNING *",
                    )
                    .bind(Uuid::now_v7())
                    .bind(patient_id)
                    .bind(Ts::from(now))
                    .bind(now.date_naive())
                    .bind(4i16)
                    .bind(&symptoms)
                    .bind(&stored)
                    .bind(seq)
                    .bind(Ts::from(now))
                    .fetch_one(&pool)
                    .await
                    .expect("insert");
                    latencies.push(t.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.expect("insert loop"));
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    let p99 = latencies[((latencies.len() as f64 - 1.0) * 0.99).round() as usize];
    println!(
        "inserts={} per_second={:.0} p99_ms={:.1}",
        latencies.len(),
        latencies.len() as f64 / elapsed,
        p99.as_secs_f64() * 1000.0
    );
}

async fn push_loop(endpoint: &str, count: usize, concurrency: usize) {
    let keys = VapidKeys::generate();
    let settings = settings("sqlite::memory:", &keys.private_key_base64url());
    let sender = Arc::new(PushSender::with_keys(&settings.push, keys).expect("sender"));
    let payload = json!({"id": Uuid::now_v7(), "kind": "test", "title": "Time for your journal",
                         "body": "How is your back today?", "link": "/journal/new"})
    .to_string();
    let message = Arc::new(PushMessage::new(payload, Duration::from_secs(3600)).expect("message"));
    let subscriptions: Vec<Subscription> = (0..concurrency)
        .map(|n| {
            let (p256dh, auth) = browser_keys();
            Subscription::parse(&format!("{endpoint}/{n}"), &p256dh, &auth, sender.policy()).expect("subscription")
        })
        .collect();
    let started = Instant::now();
    let outcomes: Vec<bool> = futures::stream::iter(0..count)
        .map(|n| {
            let (sender, message) = (sender.clone(), message.clone());
            let subscription = subscriptions[n % concurrency].clone();
            async move { sender.send(&subscription, &message, Utc::now()).await.status == Some(201) }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let seconds = started.elapsed().as_secs_f64();
    let sent = outcomes.iter().filter(|ok| **ok).count();
    println!("sent={sent} failed={} seconds={seconds:.2} per_second={:.0}", count - sent, sent as f64 / seconds);
}

async fn plan(db: &str, patients: usize) {
    let keys = VapidKeys::generate();
    let now = Utc::now();
    let store = store(db).await;
    let seeding = Instant::now();
    seed::patients(&store, patients, "plan", now).await;
    store.close().await;
    analyze(db).await;
    let seed_seconds = seeding.elapsed().as_secs_f64();
    let app =
        Application::build_with_clock(settings(db, &keys.private_key_base64url()), Arc::new(ManualClock::new(now)))
            .await
            .expect("app");
    let state = app.state().clone();
    let before = Counters::read(db).await;
    let started = Instant::now();
    let planned = state.plan_all_reminders().await.expect("planning");
    let first = started.elapsed().as_secs_f64();
    let between = Counters::read(db).await;
    let started = Instant::now();
    state.plan_all_reminders().await.expect("planning");
    let second = started.elapsed().as_secs_f64();
    let after = Counters::read(db).await;
    let (first_work, steady_work) = (between.since(&before), after.since(&between));
    println!(
        "patients={planned} seed_seconds={seed_seconds:.1} first_seconds={first:.2} steady_seconds={second:.2} per_patient_ms={:.3} \
         first_cpu_seconds={:.2} steady_cpu_seconds={:.2} first_pg_transactions={} steady_pg_transactions={} \
         first_pg_rows_written={} steady_pg_rows_written={}",
        first * 1000.0 / planned.max(1) as f64,
        first_work.cpu_seconds,
        steady_work.cpu_seconds,
        first_work.transactions,
        steady_work.transactions,
        first_work.rows_written,
        steady_work.rows_written,
    );
}

/// What a stretch of work cost, counted rather than timed: this process's CPU time (user and
/// system, so on SQLite the database's work too) and, on PostgreSQL, the transactions committed
/// in the database and the rows inserted or updated (-1 on SQLite).
struct Counters {
    cpu_seconds: f64,
    transactions: i64,
    rows_written: i64,
}

impl Counters {
    async fn read(db: &str) -> Self {
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
        let fields: Vec<&str> =
            stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
        // utime and stime, fields 14 and 15 of the line (the 12th and 13th after the name), in
        // clock ticks of 1/100 s.
        let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        let cpu_seconds = (ticks(11) + ticks(12)) / 100.0;
        let (transactions, rows_written) = if db.starts_with("postgres") {
            // An idle backend flushes its statistics within ten seconds (PostgreSQL 15).
            tokio::time::sleep(Duration::from_secs(11)).await;
            let pool = sqlx::PgPool::connect(db).await.expect("postgres");
            let counts: (i64, i64) = sqlx::query_as(
                "SELECT xact_commit, tup_inserted + tup_updated FROM pg_stat_database WHERE datname = current_database()",
            )
            .fetch_one(&pool)
            .await
            .expect("statistics");
            pool.close().await;
            counts
        } else {
            (-1, -1)
        };
        Self { cpu_seconds, transactions, rows_written }
    }

    fn since(&self, earlier: &Self) -> Self {
        let delta = |now: i64, then: i64| if now < 0 { -1 } else { now - then };
        Self {
            cpu_seconds: self.cpu_seconds - earlier.cpu_seconds,
            transactions: delta(self.transactions, earlier.transactions),
            rows_written: delta(self.rows_written, earlier.rows_written),
        }
    }
}

/// Brings the planner's statistics up to date after a bulk load, as autovacuum's analyze does
/// in production a little later.
async fn analyze(db: &str) {
    if db.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(db).await.expect("postgres");
        sqlx::query("ANALYZE").execute(&pool).await.expect("analyze");
        pool.close().await;
    } else {
        let pool = sqlx::SqlitePool::connect(db).await.expect("sqlite");
        sqlx::query("ANALYZE").execute(&pool).await.expect("analyze");
        pool.close().await;
    }
}

/// The sweep's population, straight in SQL: patient `n` is `sweep<n>@example.org`; a day's
/// entry is at 09:00 UTC.
async fn seed_sweep(db: &str, patients: usize, days: u32, now: DateTime<Utc>) {
    let postgres = db.starts_with("postgres");
    let today = now.date_naive();
    let ts = Ts::from(now);
    let store = store(db).await;
    store.close().await;
    let (series, uuid, n_of_email, recorded_at, bool_false) = if postgres {
        (
            "SELECT generate_series($2::bigint, $3::bigint - 1) AS n".to_owned(),
            "gen_random_uuid()",
            "split_part(substr(a.email, 6), '@', 1)::bigint",
            "(($4::date - d.n::int) + time '09:00') AT TIME ZONE 'UTC'",
            "FALSE",
        )
    } else {
        (
            "WITH RECURSIVE s(n) AS (SELECT $2 UNION ALL SELECT n + 1 FROM s WHERE n + 1 < $3) SELECT n FROM s"
                .to_owned(),
            "randomblob(16)",
            "CAST(substr(a.email, 6, instr(a.email, '@') - 6) AS INTEGER)",
            "strftime('%Y-%m-%dT09:00:00.000000Z', date($4, '-' || d.n || ' days'))",
            "0",
        )
    };
    let local_date = if postgres { "$4::date - d.n::int" } else { "date($4, '-' || d.n || ' days')" };
    let days_series = if postgres {
        format!("SELECT generate_series(0, {}) AS n", days - 1)
    } else {
        format!("WITH RECURSIVE s(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM s WHERE n + 1 < {days}) SELECT n FROM s")
    };
    let accounts = format!(
        "INSERT INTO accounts (id, email, password_hash, role, time_zone, quiet_start, quiet_end, locale, created_at, updated_at)
         SELECT {uuid}, 'sweep' || p.n || '@example.org', 'x', 'patient',
                CASE p.n % 3 WHEN 0 THEN 'Europe/Berlin' WHEN 1 THEN 'America/New_York' ELSE 'Asia/Tokyo' END,
                '21:30', '08:00', 'en', $1, $1
         FROM ({series}) p"
    );
    // Classes by n % 20: 0 pain 6 every day (persistent), 1 a fever two days ago (urgent),
    // 2 pain 3 then 6 in the last week (worsening); the rest pain 2 or 3.
    let entries = format!(
        "INSERT INTO journal_entries (id, patient_id, recorded_at, local_date, pain, symptoms, content, version,
                                      change_seq, deleted, created_at, updated_at)
         SELECT {uuid}, a.id, {recorded_at}, {local_date},
                CASE WHEN {n} % 20 = 0 THEN 6 WHEN {n} % 20 = 2 THEN (CASE WHEN d.n < 7 THEN 6 ELSE 3 END)
                     ELSE 2 + d.n % 2 END,
                CASE WHEN {n} % 20 = 1 AND d.n = 2 THEN ',fever,' ELSE '' END,
                '{{}}', 1, {days} - d.n, {bool_false}, $1, $1
         FROM accounts a CROSS JOIN ({days_series}) d
         WHERE a.email LIKE 'sweep%' AND {n} >= $2 AND {n} < $3",
        n = n_of_email,
    );
    let chunk = 10_000usize;
    for start in (0..patients).step_by(chunk) {
        let end = (start + chunk).min(patients);
        for sql in [&accounts, &entries] {
            let sql = sqlx::AssertSqlSafe(sql.clone());
            if postgres {
                let pool = sqlx::PgPool::connect(db).await.expect("postgres");
                sqlx::query(sql)
                    .bind(ts)
                    .bind(start as i64)
                    .bind(end as i64)
                    .bind(today)
                    .execute(&pool)
                    .await
                    .expect("seed");
                pool.close().await;
            } else {
                let pool = sqlx::SqlitePool::connect(db).await.expect("sqlite");
                let today = today.to_string();
                sqlx::query(sql)
                    .bind(ts)
                    .bind(start as i64)
                    .bind(end as i64)
                    .bind(today)
                    .execute(&pool)
                    .await
                    .expect("seed");
                pool.close().await;
            }
        }
    }
    // The seeded entries marked their patients for the background evaluator; the sweep is
    // measured on its own.
    let clear = "DELETE FROM alert_evaluations_due";
    if postgres {
        let pool = sqlx::PgPool::connect(db).await.expect("postgres");
        sqlx::query(clear).execute(&pool).await.expect("clear");
        sqlx::query("VACUUM ANALYZE").execute(&pool).await.expect("analyze");
        pool.close().await;
    } else {
        let pool = sqlx::SqlitePool::connect(db).await.expect("sqlite");
        sqlx::query(clear).execute(&pool).await.expect("clear");
        sqlx::query("ANALYZE").execute(&pool).await.expect("analyze");
        pool.close().await;
    }
}

async fn sweep(db: &str, patients: usize, days: u32) {
    let keys = VapidKeys::generate();
    let now = Utc::now();
    let seeding = Instant::now();
    seed_sweep(db, patients, days, now).await;
    let seed_seconds = seeding.elapsed().as_secs_f64();
    let app =
        Application::build_with_clock(settings(db, &keys.private_key_base64url()), Arc::new(ManualClock::new(now)))
            .await
            .expect("app");
    let state = app.state().clone();
    let started = Instant::now();
    let first = state.sweep_alerts().await.expect("sweep");
    let first_seconds = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let steady = state.sweep_alerts().await.expect("sweep");
    let steady_seconds = started.elapsed().as_secs_f64();
    println!(
        "patients={} entries_per_patient={days} seed_seconds={seed_seconds:.1} first_seconds={first_seconds:.2} opened={} notified={} steady_seconds={steady_seconds:.2} refreshed={}",
        first.patients, first.opened, first.notified, steady.refreshed
    );
}

#[tokio::main]
async fn main() {
    match Cli::parse().command {
        Command::Users { base, count, prefix, out } => users(&base, count, &prefix, &out).await,
        Command::Fill { base, token, days } => fill(&base, &token, days).await,
        Command::SeedPush { db, vapid_private_key, endpoint, count } => {
            seed_push(&db, &vapid_private_key, &endpoint, count).await
        }
        Command::WaitSent { db, count, timeout_seconds } => {
            wait_sent(&db, count, Duration::from_secs(timeout_seconds)).await
        }
        Command::SqliteInserts { db, connections, seconds } => sqlite_inserts(&db, connections, seconds).await,
        Command::PushLoop { endpoint, count, concurrency } => push_loop(&endpoint, count, concurrency).await,
        Command::Plan { db, patients } => plan(&db, patients).await,
        Command::Sweep { db, patients, days } => sweep(&db, patients, days).await,
    }
}
