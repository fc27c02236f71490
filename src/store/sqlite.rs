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

/// SQLite lets one connection write at a time. With every connection of one pool free to write,
/// writers met at the file lock and waited in the busy handler, which sleeps in growing steps
/// (up to 100 ms) instead of queueing: the long tail of concurrent writes. So all writes (every
/// write transaction, every single-statement write, the WAL truncation) go through `writer`, a
/// pool of exactly one connection, and wait their turn in its fair queue; reads use `pool`.
/// The busy timeout stays for other processes (the CLI) opening the same file.
///
/// With one writer connection, code that holds it (a transaction, an audited connection) must
/// never ask for it again: that waits until the acquire timeout. Nothing in the repositories
/// calls back into the store while holding a connection.
pub struct SqliteStore {
    pool: SqlitePool,
    writer: SqlitePool,
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
        // The writer first: it creates the file and switches it to WAL before readers open it.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect.clone())
            .await?;
        let pool = SqlitePoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect)
            .await?;
        tokio::spawn(checkpoint_periodically(pool.clone(), writer.clone()));
        Ok(Self { pool, writer })
    }

    /// The readers' pool.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// The one connection that writes.
    pub fn writer(&self) -> &SqlitePool {
        &self.writer
    }

    /// A write transaction on the writer connection. It takes the write lock up front, so a
    /// transaction that reads and then writes cannot fail with SQLITE_BUSY against another
    /// process writing to the file; it waits for the busy timeout instead.
    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
        self.writer.begin_with("BEGIN IMMEDIATE").await
    }
}

/// The WAL file is cut back to this size after a checkpoint.
const WAL_SIZE_LIMIT_BYTES: u64 = 64 * 1024 * 1024;
/// How often the WAL's length is looked at (with a passive checkpoint, which also copies back
/// whatever no reader still needs).
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);
/// A WAL this many frames long (4 KiB pages, so 16 MiB) is checkpointed with TRUNCATE.
const TRUNCATE_AT_FRAMES: i64 = 4096;

/// SQLite's automatic checkpoints are passive: under constant load a reader is always inside the
/// WAL, the checkpoint never reaches its end, and the file grows without bound (840 MB in a
/// benchmark). A write of a journal entry adds about 32 KiB of pages to the WAL (the row, its
/// indexes, the head and the evaluation mark), so at a few thousand writes a second the file
/// grows by more than 100 MiB a second; a TRUNCATE checkpoint every ten seconds let it reach
/// 1.4 GB. So the length is looked at twice a second, and a WAL past `TRUNCATE_AT_FRAMES` is
/// checkpointed with TRUNCATE, which waits (up to the busy timeout) for readers still on an older
/// snapshot, copies everything back and empties the file. The passive look runs on a reader (it
/// takes no write lock, so writes go on while it copies); TRUNCATE needs the write lock and runs
/// on the writer connection, queued behind the writes instead of racing them for the lock. Runs
/// until the pools close.
async fn checkpoint_periodically(pool: SqlitePool, writer: SqlitePool) {
    let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        if pool.is_closed() || writer.is_closed() {
            return;
        }
        let passive: Result<(i64, i64, i64), _> =
            sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)").fetch_one(&pool).await;
        let checkpoint = match passive {
            Ok((_, log_frames, _)) if !wal_needs_truncating(log_frames) => continue,
            Ok(_) => sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&writer).await.map(drop),
            Err(error) => Err(error),
        };
        if let Err(error) = checkpoint {
            if pool.is_closed() || writer.is_closed() {
                return;
            }
            tracing::debug!(%error, "WAL checkpoint failed; will retry");
        }
    }
}

/// Whether a WAL of `log_frames` frames (as a passive checkpoint reports it) is long enough to be
/// emptied now.
fn wal_needs_truncating(log_frames: i64) -> bool {
    log_frames >= TRUNCATE_AT_FRAMES
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
            .run(&self.writer)
            .await
            .map_err(|e| StoreError::Unavailable(format!("migration failed: {e}")))
    }

    async fn close(&self) {
        self.writer.close().await;
        self.pool.close().await;
    }

    fn backend(&self) -> Backend {
        Backend::Sqlite
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wal_is_emptied_once_it_reaches_sixteen_mebibytes() {
        assert!(!wal_needs_truncating(0));
        assert!(!wal_needs_truncating(TRUNCATE_AT_FRAMES - 1));
        assert!(wal_needs_truncating(TRUNCATE_AT_FRAMES));
        assert!(wal_needs_truncating(TRUNCATE_AT_FRAMES + 1));
        // A passive checkpoint reports -1 frames when the database is not in WAL mode.
        assert!(!wal_needs_truncating(-1));
        assert_eq!(TRUNCATE_AT_FRAMES * 4096, 16 * 1024 * 1024);
    }
}
