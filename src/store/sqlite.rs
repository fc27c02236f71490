//! The embedded deployment's database: one SQLite file in WAL mode.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, Transaction};

use super::sql::{
    account_repo, alert_repo, care_repo, journal_repo, massage_repo, note_repo, notification_repo, rate_limit_repo,
    session_repo, share_link_repo,
};
use super::{Backend, PoolOptions, Store, StoreError, StoreResult};

pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    pub async fn connect(url: &str, options: &PoolOptions) -> StoreResult<Self> {
        let connect = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Unavailable(format!("bad SQLite URL: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5))
            // After a checkpoint has reset the WAL, SQLite truncates the file back to this size.
            .pragma("journal_size_limit", WAL_SIZE_LIMIT_BYTES.to_string());
        if let Some(dir) = connect.get_filename().parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Unavailable(format!("cannot create {}: {e}", dir.display())))?;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect)
            .await?;
        tokio::spawn(checkpoint_periodically(pool.clone()));
        Ok(Self { pool })
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Takes the write lock up front: a deferred transaction that reads and then writes can fail
    /// with SQLITE_BUSY at once instead of waiting for the busy timeout.
    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
        self.pool.begin_with("BEGIN IMMEDIATE").await
    }
}

/// The WAL file is cut back to this size after a checkpoint.
const WAL_SIZE_LIMIT_BYTES: u64 = 64 * 1024 * 1024;
/// How often the WAL is checkpointed and truncated.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(10);

/// SQLite's automatic checkpoints are passive: under constant load a reader is always inside the
/// WAL, the checkpoint never reaches its end, and the file grows without bound (840 MB in a
/// benchmark). A TRUNCATE checkpoint waits (up to the busy timeout) for those readers and
/// writers, copies everything back and empties the file; it runs until the pool closes.
async fn checkpoint_periodically(pool: SqlitePool) {
    let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        if pool.is_closed() {
            return;
        }
        if let Err(error) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&pool).await {
            if pool.is_closed() {
                return;
            }
            tracing::debug!(%error, "WAL checkpoint failed; will retry");
        }
    }
}

account_repo!(SqliteStore, Sqlite);
alert_repo!(SqliteStore, Sqlite);
session_repo!(SqliteStore);
rate_limit_repo!(SqliteStore);
massage_repo!(SqliteStore, Sqlite);
journal_repo!(SqliteStore, Sqlite, for_update = "");
notification_repo!(
    SqliteStore,
    Sqlite,
    new_uuid = "randomblob(16)",
    // One statement takes SQLite's single write lock for its whole run, so the rows its subquery
    // picks cannot be claimed by another connection in between; it returns the ids it leased,
    // read back by primary key. $5 is a JSON array of push-service
    // origins to leave out (saturated or failing ones).
    claim = "UPDATE push_deliveries SET state = 'leased', lease_until = $2, lease_owner = $3, attempts = attempts + 1,
                updated_at = $1
         WHERE id IN (SELECT id FROM push_deliveries WHERE state = 'pending' AND next_attempt_at <= $1
                        AND NOT EXISTS (SELECT 1 FROM push_subscriptions s, json_each($5) AS skip
                                        WHERE s.id = push_deliveries.subscription_id
                                          AND substr(s.endpoint, 1, length(skip.value) + 1) = skip.value || '/')
                      ORDER BY next_attempt_at LIMIT $4)
         RETURNING id",
    claim_reads_back = false,
    // BEGIN IMMEDIATE holds the one write lock from the start, so nothing can be committed
    // between reading the due notifications and marking them.
    claim_due_lock = ""
);
note_repo!(SqliteStore, Sqlite);
care_repo!(SqliteStore, Sqlite, for_update = "");
share_link_repo!(SqliteStore, Sqlite);

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn reachable(&self) -> StoreResult<()> {
        // A file on this machine: there is no server to lose.
        self.ping().await
    }

    async fn migrate(&self) -> StoreResult<()> {
        sqlx::migrate!("./migrations/sqlite")
            .run(&self.pool)
            .await
            .map_err(|e| StoreError::Unavailable(format!("migration failed: {e}")))
    }

    async fn close(&self) {
        self.pool.close().await;
    }

    fn backend(&self) -> Backend {
        Backend::Sqlite
    }
}
