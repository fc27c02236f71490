//! Storage behaviour that the API does not show directly.

use aftercare::store::{PoolOptions, SqliteStore, Store, types::Ts};
use chrono::{DateTime, TimeDelta, Utc};
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::time::Duration;

use crate::helpers::{Backend, PASSWORD, PgDatabase, spawn_app};

fn options() -> PoolOptions {
    PoolOptions { max_connections: 3, acquire_timeout: Duration::from_secs(5) }
}

#[tokio::test]
async fn migrations_are_safe_when_instances_start_together() {
    let Some(db) = PgDatabase::create().await else { return };
    let options = options();
    let stores: Vec<_> = futures::future::join_all((0..4).map(|_| aftercare::store::connect(&db.url, &options)))
        .await
        .into_iter()
        .map(|s| s.expect("connect"))
        .collect();
    let results = futures::future::join_all(stores.iter().map(|s| s.migrate())).await;
    for result in results {
        result.expect("every instance migrates cleanly");
    }
    // And again, as on the next deploy.
    stores[0].migrate().await.unwrap();
}

#[tokio::test]
async fn the_embedded_database_is_a_wal_mode_file() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/nested/dir/aftercare.db", dir.path().display());
    let store = SqliteStore::connect(&url, &options()).await.unwrap();
    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(store.pool()).await.unwrap();
    assert_eq!(mode, "wal");
    assert!(dir.path().join("nested/dir/aftercare.db").exists());
}

#[tokio::test]
async fn sqlite_instants_sort_in_time_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::connect(&format!("sqlite://{}/t.db", dir.path().display()), &options()).await.unwrap();
    let instants: Vec<DateTime<Utc>> = [
        "2026-03-29T10:00:00Z",
        "2026-03-29T10:00:00.5Z",
        "2026-03-29T09:59:59.999999Z",
        "2026-03-29T10:00:00.000001Z",
    ]
    .iter()
    .map(|s| s.parse().unwrap())
    .collect();
    sqlx::query("CREATE TABLE t (at TEXT NOT NULL)").execute(store.pool()).await.unwrap();
    for instant in &instants {
        sqlx::query("INSERT INTO t (at) VALUES ($1)").bind(Ts::from(*instant)).execute(store.pool()).await.unwrap();
    }
    let sorted: Vec<Ts> = sqlx::query_scalar("SELECT at FROM t ORDER BY at").fetch_all(store.pool()).await.unwrap();
    let mut expected = instants.clone();
    expected.sort();
    assert_eq!(sorted.into_iter().map(|t| t.0).collect::<Vec<_>>(), expected);
}

#[tokio::test]
async fn sqlite_writes_go_through_one_connection_and_reads_through_the_pool() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::connect(&format!("sqlite://{}/t.db", dir.path().display()), &options()).await.unwrap();
    assert_eq!(store.writer().options().get_max_connections(), 1);
    assert_eq!(store.pool().options().get_max_connections(), options().max_connections);
    store.migrate().await.unwrap();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(store.writer()).await.unwrap();
    assert_eq!(mode, "wal");
    let timeout: i64 = sqlx::query_scalar("PRAGMA busy_timeout").fetch_one(store.writer()).await.unwrap();
    assert!(timeout > 0, "the writer still waits for other processes holding the file");
}

/// With one writer connection, a path that held it and asked for it again would wait for ever
/// (until the acquire timeout, then a 503). Many writes of every kind at once, from many
/// patients, all succeed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_concurrent_writes_of_every_kind_succeed_on_sqlite() {
    let app = spawn_app(Backend::Sqlite).await.expect("sqlite app");
    let patients = futures::future::join_all((0..12).map(|i| {
        let app = &app;
        async move { app.patient(&format!("p{i}@example.org")).await }
    }))
    .await;
    let now = app.clock_now();
    let work = patients.iter().enumerate().map(|(i, tokens)| {
        let app = &app;
        async move {
            let email = format!("p{i}@example.org");
            let mut statuses = Vec::new();
            // Sign-ins: a new device session, a refresh, a wrong password (counted).
            let signed_in = app.sign_in(&email).await;
            statuses.push(("refresh", app.refresh_grant(&signed_in.refresh).await.status(), StatusCode::OK));
            statuses.push((
                "wrong password",
                app.password_grant(&email, &format!("{PASSWORD}-not")).await.status(),
                StatusCode::UNAUTHORIZED,
            ));
            // An offline batch pushed at once: new entries, one updated, one deleted.
            let ids: Vec<uuid::Uuid> = (0..8).map(|_| uuid::Uuid::new_v4()).collect();
            let puts = ids.iter().enumerate().map(|(n, id)| {
                let body =
                    json!({"recorded_at": (now - TimeDelta::hours(n as i64 + 1)).to_rfc3339(), "pain": 3 + n % 5});
                async move {
                    let path = format!("/v1/journal/entries/{id}");
                    app.request(Method::PUT, &path, Some(&tokens.access), Some(&body)).await.status()
                }
            });
            for status in futures::future::join_all(puts).await {
                statuses.push(("new entry", status, StatusCode::CREATED));
            }
            let update = json!({"recorded_at": (now - TimeDelta::hours(1)).to_rfc3339(), "pain": 2, "base_version": 1});
            let path = format!("/v1/journal/entries/{}", ids[0]);
            let (updated, deleted, peg, reminders, changes) = futures::future::join5(
                app.request(Method::PUT, &path, Some(&tokens.access), Some(&update)),
                app.request(Method::DELETE, &format!("/v1/journal/entries/{}", ids[1]), Some(&tokens.access), None),
                app.client
                    .post(app.url("/v1/questionnaires"))
                    .bearer_auth(&tokens.access)
                    .header("Idempotency-Key", format!("peg-{i}"))
                    .json(&json!({"kind": "peg", "pain": 6, "enjoyment": 5, "activity": 6}))
                    .send(),
                app.request(
                    Method::PUT,
                    "/v1/me/reminders",
                    Some(&tokens.access),
                    Some(&json!({"daily_enabled": true, "daily_time": "20:00", "weekly_peg_enabled": true,
                                 "weekly_peg_weekday": "sunday", "weekly_peg_time": "18:00"})),
                ),
                app.request(Method::GET, "/v1/journal/changes?limit=50", Some(&tokens.access), None),
            )
            .await;
            statuses.push(("update", updated.status(), StatusCode::OK));
            statuses.push(("delete", deleted.status(), StatusCode::NO_CONTENT));
            statuses.push(("questionnaire", peg.unwrap().status(), StatusCode::CREATED));
            statuses.push(("reminders", reminders.status(), StatusCode::OK));
            statuses.push(("changes", changes.status(), StatusCode::OK));
            statuses
        }
    });
    // The background alert evaluation claims and records at the same time.
    let sweeps = futures::future::join_all((0..4).map(|_| app.state.evaluate_due_alerts(None)));
    let (statuses, sweeps) = futures::future::join(futures::future::join_all(work), sweeps).await;
    for sweep in sweeps {
        sweep.expect("alert evaluation");
    }
    for (what, status, expected) in statuses.into_iter().flatten() {
        assert_eq!(status, expected, "{what}");
    }
    assert_eq!(app.count("SELECT count(*) FROM journal_entries WHERE NOT deleted", None).await, 12 * 7);
}
