//! Storage behaviour that the API does not show directly.

use aftercare::store::{PoolOptions, SqliteStore, Store, types::Ts};
use chrono::{DateTime, Utc};
use std::time::Duration;

use crate::helpers::PgDatabase;

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
