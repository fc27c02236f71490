//! The pain journal use cases: offline-first entry sync, roll-ups, summaries, questionnaires.

use chrono::{DateTime, Days, NaiveDate, Utc};
use uuid::Uuid;

use super::authz::Action;
use super::{AppState, Error, Result};
use crate::domain::ValidationErrors;
use crate::domain::alerts::{Alert, may_raise_red_flag};
use crate::domain::journal::{Entry, EntryContent, check_recorded_at};
use crate::domain::questionnaires::{Peg, RolandMorris};
use crate::domain::rollup::{self, DailyRollup, Summary};
use crate::store::{
    Change, EntryDeletion, EntryPosition, EntryState, EntryWrite, IdempotencyClaim, Principal, QuestionnaireAnswers,
    QuestionnairePage, QuestionnairePosition, QuestionnaireRecord, Tombstone,
};

/// The longest range roll-ups and summaries cover in one request.
pub const MAX_RANGE_DAYS: u64 = 366;

#[derive(Debug, Clone)]
pub enum Saved {
    Created(Entry),
    Updated(Entry),
    Unchanged(Entry),
}

impl AppState {
    /// Creates or updates an entry by its client-made id. Replaying the same write changes
    /// nothing and answers with the alerts the first write raised; a write based on an old
    /// version is refused with the server's copy.
    ///
    /// A change that names a red-flag symptom re-evaluates the patient's alerts before it
    /// answers, and the alerts it raised or escalated come with the entry. Any other change
    /// (pain, the window rules) is marked, in the writing statement, for the background
    /// evaluator, which this wakes: one evaluation per patient however many entries a sync
    /// brings, seconds later.
    pub async fn put_entry(
        &self,
        principal: &Principal,
        patient_id: Uuid,
        id: Uuid,
        content: EntryContent,
        base_version: Option<i64>,
    ) -> Result<(Saved, Vec<Alert>)> {
        self.authorize(principal, Action::WriteJournalEntry, patient_id).await?.patient_only();
        let now = self.clock.now();
        check_recorded_at(content.recorded_at, now)
            .map_err(|p| ValidationErrors::single("recorded_at", p.code, p.message))?;
        // Only the patient writes their journal, so the time zone authentication read is theirs.
        let local_date = content.journal_date(principal.time_zone);
        let saved = match self.store.write_entry(patient_id, id, &content, local_date, base_version, now).await? {
            EntryWrite::Created(entry) => {
                metrics::counter!("journal_entries_written_total", "outcome" => "created").increment(1);
                Saved::Created(entry)
            }
            EntryWrite::Updated(entry) => {
                metrics::counter!("journal_entries_written_total", "outcome" => "updated").increment(1);
                Saved::Updated(entry)
            }
            EntryWrite::Unchanged(entry, raised) => {
                let alerts = self.alerts_raised_before(patient_id, &raised).await?;
                return Ok((Saved::Unchanged(entry), alerts));
            }
            EntryWrite::Stale(current) => return Err(Error::Stale(Box::new(current))),
            EntryWrite::NotFound => return Err(Error::NotFound),
        };
        if !may_raise_red_flag(content.symptoms.iter().copied()) {
            self.alert_wake.notify_one();
            return Ok((saved, Vec::new()));
        }
        let raised = self.reevaluate_alerts(patient_id).await;
        if !raised.is_empty() {
            let ids: Vec<Uuid> = raised.iter().map(|a| a.id).collect();
            // Without it a replay answers without the alerts; the write itself stands.
            if let Err(error) = self.store.record_raised_alerts(id, &ids).await {
                tracing::warn!(%error, entry_id = %id, "could not remember the alerts an entry raised");
            }
        }
        Ok((saved, raised))
    }

    /// The alerts a write raised, as they are now, for the answer to its replay.
    async fn alerts_raised_before(&self, patient_id: Uuid, ids: &[Uuid]) -> Result<Vec<Alert>> {
        let mut alerts = Vec::with_capacity(ids.len());
        for id in ids {
            alerts.extend(self.store.alert(patient_id, *id, None).await?);
        }
        Ok(alerts)
    }

    /// Leaves a tombstone and re-evaluates the patient's alerts.
    pub async fn delete_entry(
        &self,
        principal: &Principal,
        patient_id: Uuid,
        id: Uuid,
        base_version: Option<i64>,
    ) -> Result<Tombstone> {
        self.authorize(principal, Action::DeleteJournalEntry, patient_id).await?.patient_only();
        match self.store.delete_entry(patient_id, id, base_version, self.clock.now()).await? {
            EntryDeletion::Deleted(tombstone) => {
                self.reevaluate_alerts(patient_id).await;
                Ok(tombstone)
            }
            EntryDeletion::AlreadyDeleted(tombstone) => Ok(tombstone),
            EntryDeletion::Stale(current) => Err(Error::Stale(Box::new(EntryState::Live(current)))),
            EntryDeletion::NotFound => Err(Error::NotFound),
        }
    }

    /// A live entry; a deleted one is gone for reading (the change feed reports its tombstone).
    pub async fn entry(&self, principal: &Principal, patient_id: Uuid, id: Uuid) -> Result<Entry> {
        let allowed = self.authorize(principal, Action::ReadJournalEntry, patient_id).await?;
        match self.store.entry(patient_id, id, allowed.audit()).await? {
            Some(EntryState::Live(entry)) => Ok(entry),
            _ => Err(Error::NotFound),
        }
    }

    /// Entries with `from <= recorded_at < to`, newest first; one more than `limit` is fetched to
    /// tell whether another page follows.
    pub async fn entries(
        &self,
        principal: &Principal,
        patient_id: Uuid,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        after: Option<EntryPosition>,
        limit: u32,
    ) -> Result<(Vec<Entry>, bool)> {
        let allowed = self.authorize(principal, Action::ListJournalEntries, patient_id).await?;
        if from >= to {
            return Err(ValidationErrors::single("from", "empty_range", "must be before `to`").into());
        }
        let mut entries = self.store.entries(patient_id, from, to, after, limit + 1, allowed.audit()).await?;
        let more = entries.len() > limit as usize;
        entries.truncate(limit as usize);
        Ok((entries, more))
    }

    /// Changes after `since`, oldest first, and whether more are waiting.
    pub async fn changes(
        &self,
        principal: &Principal,
        patient_id: Uuid,
        since: i64,
        limit: u32,
    ) -> Result<(Vec<Change>, bool)> {
        let allowed = self.authorize(principal, Action::ReadJournalChanges, patient_id).await?;
        let mut changes = self.store.changes(patient_id, since, limit + 1, allowed.audit()).await?;
        let more = changes.len() > limit as usize;
        changes.truncate(limit as usize);
        Ok((changes, more))
    }

    /// Roll-ups of `from..=to`; by default the 30 days up to the patient's today.
    pub async fn daily_rollups(
        &self,
        principal: &Principal,
        patient_id: Uuid,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Result<Vec<DailyRollup>> {
        let allowed = self.authorize(principal, Action::ReadJournalDays, patient_id).await?;
        let (from, to) = self.date_range(patient_id, from, to, 30).await?;
        check_date_range(from, to)?;
        Ok(rollup::daily_rollups(self.store.rollup_inputs(patient_id, from, to, allowed.audit()).await?))
    }

    /// Summary of `from..=to` (by default the `days` days up to the patient's today) and its
    /// comparison with the equally long window before.
    pub async fn summary(
        &self,
        principal: &Principal,
        patient_id: Uuid,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
        days: u32,
    ) -> Result<Summary> {
        let allowed = self.authorize(principal, Action::ReadJournalSummary, patient_id).await?;
        let (from, to) = self.date_range(patient_id, from, to, days).await?;
        check_date_range(from, to)?;
        let length = (to - from).num_days() as u64 + 1;
        let previous_start = from.checked_sub_days(Days::new(length)).unwrap_or(from);
        let rollups =
            rollup::daily_rollups(self.store.rollup_inputs(patient_id, previous_start, to, allowed.audit()).await?);
        Ok(rollup::summarize(&rollups, from, to))
    }

    /// Fills in a local date range: `to` defaults to the patient's today, `from` to
    /// `default_days` days up to `to`.
    async fn date_range(
        &self,
        patient_id: Uuid,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
        default_days: u32,
    ) -> Result<(NaiveDate, NaiveDate)> {
        let to = match to {
            Some(to) => to,
            None => self.patient_today(patient_id).await?,
        };
        let back = Days::new(u64::from(default_days.max(1)) - 1);
        Ok((from.unwrap_or_else(|| to.checked_sub_days(back).unwrap_or(to)), to))
    }

    /// Stores a questionnaire. With an idempotency key, a repeated submission returns the
    /// first one's result instead of storing it twice.
    pub async fn submit_questionnaire(
        &self,
        principal: &Principal,
        patient_id: Uuid,
        answers: QuestionnaireAnswers,
        completed_at: Option<DateTime<Utc>>,
        idempotency: Option<(&str, String)>,
    ) -> Result<(QuestionnaireRecord, bool)> {
        self.authorize(principal, Action::SubmitQuestionnaire, patient_id).await?.patient_only();
        let now = self.clock.now();
        let completed_at = completed_at.unwrap_or(now);
        check_recorded_at(completed_at, now)
            .map_err(|p| ValidationErrors::single("completed_at", p.code, p.message))?;
        let record = QuestionnaireRecord {
            id: Uuid::now_v7(),
            patient_id,
            score: match &answers {
                QuestionnaireAnswers::Peg(peg) => Peg::score(*peg),
                QuestionnaireAnswers::RolandMorris(rm) => f64::from(RolandMorris::score(rm)),
            },
            answers,
            completed_at,
            created_at: now,
        };
        let Some((key, request_hash)) = idempotency else {
            self.store.add_questionnaire(&record).await?;
            return Ok((record, true));
        };
        match self
            .store
            .claim_idempotency(principal.account_id, key, "submit_questionnaire", &request_hash, now)
            .await?
        {
            IdempotencyClaim::Claimed => match self.store.add_questionnaire(&record).await {
                Ok(()) => {
                    self.store.finish_idempotency(principal.account_id, key, record.id).await?;
                    Ok((record, true))
                }
                Err(error) => {
                    self.store.release_idempotency(principal.account_id, key).await?;
                    Err(error.into())
                }
            },
            IdempotencyClaim::Done { resource_id } => {
                let first = self.store.questionnaire(patient_id, resource_id, None).await?.ok_or(Error::NotFound)?;
                Ok((first, false))
            }
            IdempotencyClaim::InProgress => Err(Error::Conflict("idempotency_key_in_use")),
            IdempotencyClaim::Mismatch => Err(ValidationErrors::single(
                "Idempotency-Key",
                "reused_with_different_request",
                "was already used for a different request",
            )
            .into()),
        }
    }

    pub async fn questionnaire(
        &self,
        principal: &Principal,
        patient_id: Uuid,
        id: Uuid,
    ) -> Result<QuestionnaireRecord> {
        let allowed = self.authorize(principal, Action::ReadQuestionnaires, patient_id).await?;
        self.store.questionnaire(patient_id, id, allowed.audit()).await?.ok_or(Error::NotFound)
    }

    /// A page of responses with `from <= completed_at < to`, oldest first, and whether another
    /// page follows; with `kind`, the first and latest score of the whole range too.
    #[allow(clippy::too_many_arguments)]
    pub async fn questionnaires(
        &self,
        principal: &Principal,
        patient_id: Uuid,
        kind: Option<&str>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        after: Option<QuestionnairePosition>,
        limit: u32,
    ) -> Result<(QuestionnairePage, bool)> {
        let allowed = self.authorize(principal, Action::ReadQuestionnaires, patient_id).await?;
        if from >= to {
            return Err(ValidationErrors::single("from", "empty_range", "must be before `to`").into());
        }
        let mut page = self.store.questionnaires(patient_id, kind, from, to, after, limit + 1, allowed.audit()).await?;
        let more = page.items.len() > limit as usize;
        page.items.truncate(limit as usize);
        Ok((page, more))
    }
}

fn check_date_range(from: NaiveDate, to: NaiveDate) -> Result<()> {
    let mut errors = ValidationErrors::new();
    if from > to {
        errors.add("from", "empty_range", "must not be after `to`");
    } else if (to - from).num_days() as u64 >= MAX_RANGE_DAYS {
        errors.add("to", "range_too_long", format!("the range may cover at most {MAX_RANGE_DAYS} days"));
    }
    errors.finish(|| ())?;
    Ok(())
}
