//! The scaled deployment's database.

use std::str::FromStr;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::{Connection as _, Postgres, Transaction};

use super::sql::{
    account_repo, alert_repo, care_repo, journal_repo, massage_repo, note_repo, notification_repo, rate_limit_repo,
    session_repo, share_link_repo,
};
use super::{Backend, PoolOptions, Store, StoreError, StoreResult};

/// How long a pooled connection may sit idle and still be handed out without a check.
const CHECK_IDLE_AFTER: std::time::Duration = std::time::Duration::from_secs(1);

pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    pub async fn connect(url: &str, options: &PoolOptions) -> StoreResult<Self> {
        let connect = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Unavailable(format!("bad PostgreSQL URL: {e}")))?
            .application_name("aftercare");
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(options.acquire_timeout)
            // A connection is checked (a round trip) before it is handed out only when it sat
            // idle for a while: one that answered a moment ago is used as it is. Checking every
            // time doubled the round trips of a request (two statements, two checks).
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= CHECK_IDLE_AFTER {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            })
            .connect_with(connect)
            .await?;
        Ok(Self { pool })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Where writes go; PostgreSQL has no single write lock, so it is the one pool.
    pub fn writer(&self) -> &PgPool {
        &self.pool
    }

    async fn begin_write(&self) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        self.pool.begin().await
    }
}

account_repo!(PgStore, Postgres);
alert_repo!(PgStore, Postgres);
session_repo!(PgStore);
rate_limit_repo!(PgStore);
massage_repo!(PgStore, Postgres);
journal_repo!(PgStore, Postgres, for_update = " FOR UPDATE");
notification_repo!(
    PgStore,
    Postgres,
    new_uuid = "gen_random_uuid()",
    // SKIP LOCKED lets several dispatchers claim disjoint batches without waiting on each other;
    // MATERIALIZED keeps the planner from re-running the locking subquery. $5 is a JSON array of
    // push-service origins to leave out (saturated or failing ones). The claimed rows come back
    // with what sending them needs in the same statement, in due order.
    claim = "WITH due AS MATERIALIZED (
            SELECT id FROM push_deliveries WHERE state = 'pending' AND next_attempt_at <= $1
              AND NOT EXISTS (SELECT 1 FROM push_subscriptions s, jsonb_array_elements_text($5::jsonb) AS skip(origin)
                              WHERE s.id = push_deliveries.subscription_id
                                AND left(s.endpoint, length(skip.origin) + 1) = skip.origin || '/')
            ORDER BY next_attempt_at LIMIT $4 FOR UPDATE SKIP LOCKED),
         claimed AS (
            UPDATE push_deliveries d SET state = 'leased', lease_until = $2, lease_owner = $3, attempts = d.attempts + 1,
                   updated_at = $1
            FROM due WHERE d.id = due.id
            RETURNING d.id, d.attempts, d.notification_id, d.subscription_id, d.next_attempt_at)
         SELECT d.id, d.attempts, d.notification_id, d.subscription_id, n.kind, n.title, n.body, n.link,
                n.ttl_seconds, n.urgency, n.topic, n.about_patient_id, s.endpoint, s.p256dh, s.auth
         FROM claimed d
         JOIN notifications n ON n.id = d.notification_id
         JOIN push_subscriptions s ON s.id = d.subscription_id
         ORDER BY d.next_attempt_at, d.id",
    claim_reads_back = true,
    // Another instance's fan-out skips what this one holds, and a producer's concurrent reschedule
    // waits for it.
    claim_due_lock = " FOR UPDATE SKIP LOCKED"
);
note_repo!(PgStore, Postgres);
care_repo!(PgStore, Postgres, for_update = " FOR UPDATE");
share_link_repo!(PgStore, Postgres);

#[async_trait]
impl Store for PgStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn reachable(&self) -> StoreResult<()> {
        let options = self.pool.connect_options();
        let answered = match PgConnection::connect_with(&options).await {
            Ok(mut connection) => {
                let answered = sqlx::query("SELECT 1").execute(&mut connection).await.map(drop);
                let _ = connection.close().await;
                answered
            }
            Err(error) => Err(error),
        };
        match answered {
            // admin_shutdown, crash_shutdown, cannot_connect_now: going away or not there yet.
            Err(sqlx::Error::Database(db)) if !matches!(db.code().as_deref(), Some("57P01" | "57P02" | "57P03")) => {
                Ok(())
            }
            other => Ok(other?),
        }
    }

    async fn migrate(&self) -> StoreResult<()> {
        // sqlx holds a PostgreSQL advisory lock while migrating, so instances starting together
        // apply each migration once.
        sqlx::migrate!("./migrations/postgres")
            .run(&self.pool)
            .await
            .map_err(|e| StoreError::Unavailable(format!("migration failed: {e}")))
    }

    async fn close(&self) {
        self.pool.close().await;
    }

    fn backend(&self) -> Backend {
        Backend::Postgres
    }
}
