use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use super::{AccessRecord, StoreResult};
use crate::domain::journal::{Entry, EntryContent};
use crate::domain::questionnaires::{Peg, RolandMorris};
use crate::domain::rollup::RollupInput;

/// What a change to an entry found.
#[derive(Debug, Clone, PartialEq)]
pub enum EntryWrite {
    Created(Entry),
    Updated(Entry),
    /// The same content was written before: nothing changed (an offline replay). With the ids of
    /// the alerts the write of this content raised, to answer with again.
    Unchanged(Entry, Vec<Uuid>),
    /// The client's base version is not the current one.
    Stale(EntryState),
    /// No entry with that id in this patient's journal.
    NotFound,
}

/// What deleting an entry found.
#[derive(Debug, Clone, PartialEq)]
pub enum EntryDeletion {
    Deleted(Tombstone),
    /// Deleted before (a replay): nothing changed.
    AlreadyDeleted(Tombstone),
    /// The client's base version is not the current one.
    Stale(Entry),
    NotFound,
}

/// The server's copy of an entry, for a client that has to reconcile.
#[derive(Debug, Clone, PartialEq)]
pub enum EntryState {
    Live(Entry),
    Deleted(Tombstone),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tombstone {
    pub id: Uuid,
    pub version: i64,
    pub deleted_at: DateTime<Utc>,
}

/// One item of the change feed.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub seq: i64,
    pub state: EntryState,
}

/// Where a time-ordered listing continues (newest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryPosition {
    pub recorded_at: DateTime<Utc>,
    pub id: Uuid,
}

/// Where a page of questionnaire responses ended, in `(completed_at, id)` order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuestionnairePosition {
    pub completed_at: DateTime<Utc>,
    pub id: Uuid,
}

/// One page of questionnaire responses, and the scores at both ends of the whole range.
#[derive(Debug, Clone, PartialEq)]
pub struct QuestionnairePage {
    pub items: Vec<QuestionnaireRecord>,
    /// Score of the oldest and of the newest response in the range (not just this page), when
    /// a kind was asked for and the range has at least two responses.
    pub first_and_latest: Option<(f64, f64)>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum QuestionnaireAnswers {
    Peg(Peg),
    RolandMorris(RolandMorris),
}

#[derive(Debug, Clone, PartialEq)]
pub struct QuestionnaireRecord {
    pub id: Uuid,
    pub patient_id: Uuid,
    pub answers: QuestionnaireAnswers,
    pub score: f64,
    pub completed_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

/// How long an unfinished claim on an Idempotency-Key holds. A request that died between its
/// claim and its result (a crash, a lost connection) must not block the key for days; anything
/// still running after this long has long since timed out for the client.
pub const IDEMPOTENCY_CLAIM_TIMEOUT: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

/// Start of an idempotent operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyClaim {
    /// First use of the key: do the work, then call `finish_idempotency`.
    Claimed,
    /// Done before: replay the resource it produced.
    Done { resource_id: Uuid },
    /// The first request with this key is still running (claimed less than
    /// [`IDEMPOTENCY_CLAIM_TIMEOUT`] ago).
    InProgress,
    /// The key was used with a different request.
    Mismatch,
}

#[async_trait]
pub trait JournalRepo {
    /// Creates or updates an entry by its client-made id, in one transaction. `base_version` is
    /// the version the client last saw (absent for a new entry).
    async fn write_entry(
        &self,
        patient_id: Uuid,
        id: Uuid,
        content: &EntryContent,
        local_date: NaiveDate,
        base_version: Option<i64>,
        now: DateTime<Utc>,
    ) -> StoreResult<EntryWrite>;
    /// Remembers the alerts the write of the entry's current content raised, for its replays.
    async fn record_raised_alerts(&self, id: Uuid, alert_ids: &[Uuid]) -> StoreResult<()>;
    /// Leaves a tombstone. Deleting a tombstone again changes nothing.
    async fn delete_entry(
        &self,
        patient_id: Uuid,
        id: Uuid,
        base_version: Option<i64>,
        now: DateTime<Utc>,
    ) -> StoreResult<EntryDeletion>;
    async fn entry(&self, patient_id: Uuid, id: Uuid, audit: Option<&AccessRecord>) -> StoreResult<Option<EntryState>>;
    /// Live entries with `from <= recorded_at < to`, newest first, after `after`.
    async fn entries(
        &self,
        patient_id: Uuid,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        after: Option<EntryPosition>,
        limit: u32,
        audit: Option<&AccessRecord>,
    ) -> StoreResult<Vec<Entry>>;
    /// Changes (entries and tombstones) with a sequence number above `since`, in order.
    async fn changes(
        &self,
        patient_id: Uuid,
        since: i64,
        limit: u32,
        audit: Option<&AccessRecord>,
    ) -> StoreResult<Vec<Change>>;
    /// What daily roll-ups need, for live entries dated `from..=to`.
    async fn rollup_inputs(
        &self,
        patient_id: Uuid,
        from: NaiveDate,
        to: NaiveDate,
        audit: Option<&AccessRecord>,
    ) -> StoreResult<Vec<RollupInput>>;

    async fn add_questionnaire(&self, record: &QuestionnaireRecord) -> StoreResult<()>;
    async fn questionnaire(
        &self,
        patient_id: Uuid,
        id: Uuid,
        audit: Option<&AccessRecord>,
    ) -> StoreResult<Option<QuestionnaireRecord>>;
    /// Oldest first, with `from <= completed_at < to`, after `after`; `kind` filters by `peg` /
    /// `roland_morris`. Read in one audited transaction with the range's first and latest scores.
    #[allow(clippy::too_many_arguments)]
    async fn questionnaires(
        &self,
        patient_id: Uuid,
        kind: Option<&str>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        after: Option<QuestionnairePosition>,
        limit: u32,
        audit: Option<&AccessRecord>,
    ) -> StoreResult<QuestionnairePage>;

    async fn claim_idempotency(
        &self,
        account_id: Uuid,
        key: &str,
        operation: &str,
        request_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<IdempotencyClaim>;
    async fn finish_idempotency(&self, account_id: Uuid, key: &str, resource_id: Uuid) -> StoreResult<()>;
    /// Frees a key whose operation failed, so the client may retry with it.
    async fn release_idempotency(&self, account_id: Uuid, key: &str) -> StoreResult<()>;
    async fn purge_idempotency(&self, older_than: DateTime<Utc>) -> StoreResult<u64>;
}
