//! Persistence behind repository traits, with one adapter per database chosen from the URL
//! scheme. SQL that reads the same on both databases is written once (see `sql/`); the adapters
//! add what differs (connection set-up, migrations, locking).

mod accounts;
mod alerts;
mod audited;
mod care;
pub mod codec;
mod journal;
mod massage;
mod notes;
mod notifications;
mod postgres;
mod rate_limits;
mod sessions;
mod share_links;
mod sql;
mod sqlite;
pub mod types;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

pub use accounts::{AccountRepo, NewAccount};
pub use alerts::{AlertFilter, AlertRepo, AlertUpsert, DueEvaluation, Patients, Recipient, RecordedEvaluation};
pub use audited::Audited;
pub use care::{
    AccessLogItem, AccessRecord, CareRepo, CaseloadAccess, CaseloadClient, CaseloadRows, CaseloadScopes, GrantChange,
    GrantParty, GrantRecord, InviteRecord, LastSession, LogPosition, NewInvite, Party, RedeemOutcome, Redemption,
    SummaryStart,
};
pub use journal::{
    Change, EntryDeletion, EntryPosition, EntryState, EntryWrite, IDEMPOTENCY_CLAIM_TIMEOUT, IdempotencyClaim,
    JournalRepo, QuestionnaireAnswers, QuestionnairePage, QuestionnairePosition, QuestionnaireRecord, Tombstone,
};
pub use massage::{
    CheckInAnswer, MassageRepo, MassageSession, PlanChanges, SessionPosition, SessionRead, StepNotification,
    StepRecord, StepState, TemplateRecord,
};
pub use notes::{NewNote, NotePosition, NoteRepo, NoteTarget, NoteWrite};
pub use notifications::{
    ClaimedDelivery, DeliveryResult, NewNotification, NewSubscription, NotificationRecord, NotificationRepo,
    NotificationStatus, QueueStats, ReminderPage, ReminderTarget, SubscriptionRecord,
};
pub use postgres::PgStore;
pub use rate_limits::{RateLimitRepo, RateWindow};
pub use sessions::{NewSession, NewToken, Principal, RefreshOutcome, SessionRecord, SessionRepo};
pub use share_links::ShareLinkRepo;
pub use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached or is saturated; worth retrying later.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A uniqueness rule was broken (e.g. an email already registered).
    #[error("conflicting row")]
    Conflict,
    /// A stored value no longer parses: a bug or a manual edit, never the client's fault.
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Other(sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match error {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_) => {
                StoreError::Unavailable(error.to_string())
            }
            sqlx::Error::Database(ref db) if db.is_unique_violation() => StoreError::Conflict,
            sqlx::Error::Database(ref db) if is_busy(db.code().as_deref()) => {
                StoreError::Unavailable(error.to_string())
            }
            other => StoreError::Other(other),
        }
    }
}

/// SQLite's "database is locked" codes, and PostgreSQL's "cannot connect now" / "too many
/// connections" / "admin shutdown": load or outage, not a bug.
fn is_busy(code: Option<&str>) -> bool {
    matches!(code, Some("5" | "6" | "517" | "57P01" | "57P03" | "53300"))
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Everything the service needs from a database.
#[async_trait]
pub trait Store:
    AccountRepo
    + SessionRepo
    + JournalRepo
    + NotificationRepo
    + MassageRepo
    + CareRepo
    + AlertRepo
    + RateLimitRepo
    + NoteRepo
    + ShareLinkRepo
    + Send
    + Sync
    + 'static
{
    /// Cheap round trip used by the readiness probe.
    async fn ping(&self) -> StoreResult<()>;
    /// Whether the database server answers, asked on a connection of its own outside the pool:
    /// the pool's waits for a connection would hide an outage (it keeps retrying a refused
    /// connection until its acquire time-out) or pass load off as one. A server that answers
    /// with an error (too many connections, a bad password) is there; one that is starting up
    /// or shutting down is not.
    async fn reachable(&self) -> StoreResult<()>;
    /// Applies pending migrations; safe when several instances start at once.
    async fn migrate(&self) -> StoreResult<()>;
    /// Closes the pool (used on shutdown, and by tests that simulate an outage).
    async fn close(&self);
    fn backend(&self) -> Backend;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone)]
pub struct PoolOptions {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

/// Opens the database named by `url`: `sqlite:` or `postgres(ql)://`.
pub async fn connect(url: &str, options: &PoolOptions) -> StoreResult<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::connect(url, options).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PgStore::connect(url, options).await?))
    } else {
        Err(StoreError::Unavailable("unsupported database URL scheme".into()))
    }
}
