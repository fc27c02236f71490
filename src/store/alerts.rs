use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use super::{AccessRecord, StoreResult};
use crate::domain::alerts::lifecycle::AutoResolve;
use crate::domain::alerts::{Alert, CheckIn, Finding, Status, Tier};
use crate::domain::rollup::RollupInput;
use crate::domain::{Account, Locale, QuietHours, TimeZone};

/// Someone to evaluate or notify, with what local time needs: a patient, or a therapist.
#[derive(Debug, Clone, PartialEq)]
pub struct Recipient {
    pub account_id: Uuid,
    pub time_zone: TimeZone,
    pub quiet_hours: QuietHours,
    /// Its region chooses the emergency number named in a patient's alerts.
    pub locale: Locale,
}

impl From<&Account> for Recipient {
    fn from(account: &Account) -> Self {
        Self {
            account_id: account.id,
            time_zone: account.time_zone,
            quiet_hours: account.quiet_hours,
            locale: account.locale.clone(),
        }
    }
}

/// A finding to record for a patient: it opens an alert with `id`, or refreshes the patient's
/// unresolved alert of the same rule.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertUpsert {
    pub id: Uuid,
    pub patient_id: Uuid,
    pub finding: Finding,
}

/// What recording an evaluation did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecordedEvaluation {
    /// Every upserted alert as stored now, with whether this evaluation opened it.
    pub alerts: Vec<(Alert, bool)>,
    /// How many alerts were resolved automatically.
    pub resolved: u64,
}

/// A patient whose journal changed since their alerts were last evaluated (migration 0014), as
/// an evaluator claimed them: `generation` tells whether a write marked them again meanwhile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DueEvaluation {
    pub patient_id: Uuid,
    pub generation: i64,
}

/// The patients a set-based read covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Patients<'a> {
    /// Every patient with an id in `first..=last`: a page of the sweep, or one patient.
    Between(Uuid, Uuid),
    /// These patients (those journal writes marked, wherever their ids fall). Not empty.
    Only(&'a [Uuid]),
}

impl Patients<'_> {
    /// The least and the greatest id of the set.
    pub fn bounds(&self) -> (Uuid, Uuid) {
        match *self {
            Self::Between(first, last) => (first, last),
            // Worked out rather than read off the ends: a bound that missed an id of the list
            // would leave that patient unevaluated, with no error anywhere.
            Self::Only(ids) => {
                (ids.iter().min().copied().unwrap_or_default(), ids.iter().max().copied().unwrap_or_default())
            }
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AlertFilter {
    pub status: Option<Status>,
    pub tier: Option<Tier>,
}

/// Alerts, and the set-based reads the alert sweep and the background evaluator need. Reads for
/// many patients take an inclusive id range (the sweep pages through patients in id order, so one
/// page is one range and each read is one query) or the list of a batch of marked patients.
#[async_trait]
pub trait AlertRepo {
    /// Patients after `after` in id order that have journal entries or check-in answers dated
    /// `since` or later, or an unresolved alert: the ones an evaluation can change.
    async fn alert_sweep_targets(&self, since: NaiveDate, after: Uuid, limit: u32) -> StoreResult<Vec<Recipient>>;
    /// The patients among `ids` (ascending), as evaluations need them; other accounts and ids
    /// of no account are left out.
    async fn patient_recipients(&self, ids: &[Uuid]) -> StoreResult<Vec<Recipient>>;
    /// What daily roll-ups need, for the live entries dated `from..=to` of `patients`, with
    /// each entry's patient.
    async fn rollup_inputs_between(
        &self,
        patients: Patients<'_>,
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<Vec<(Uuid, RollupInput)>>;
    /// Check-in answers dated `from..=to` of `patients`, with each one's patient and the pain
    /// recorded before its session.
    async fn check_ins_between(
        &self,
        patients: Patients<'_>,
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<Vec<(Uuid, CheckIn)>>;
    /// The unresolved alerts of `patients`, and those resolved since `resolved_since`.
    async fn alerts_under_review(
        &self,
        patients: Patients<'_>,
        resolved_since: DateTime<Utc>,
    ) -> StoreResult<Vec<Alert>>;
    /// In one transaction: resolves (`auto`, with its reason) each alert of `resolve` that is
    /// still unresolved and was last seen at the given instant, cancelling the scheduled
    /// notifications of those withdrawn, then opens or refreshes an alert per upsert (never a
    /// second unresolved alert for one patient and rule).
    async fn record_alert_evaluation(
        &self,
        upserts: &[AlertUpsert],
        resolve: &[AutoResolve],
        now: DateTime<Utc>,
    ) -> StoreResult<RecordedEvaluation>;
    /// Claims up to `limit` patients marked for evaluation (only `patient`, when given) whose
    /// mark nobody holds, in id order, until `lease_until`; several evaluators (instances) claim
    /// disjoint sets. A mark whose evaluator died is claimed again once its lease ran out.
    async fn claim_due_evaluations(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
        patient: Option<Uuid>,
    ) -> StoreResult<Vec<DueEvaluation>>;
    /// Clears the marks of evaluated patients, except those marked again since they were claimed
    /// (a later write): those wait, unclaimed, for the next evaluation.
    async fn finish_due_evaluations(&self, done: &[DueEvaluation]) -> StoreResult<()>;
    /// Records that notification `number` went out (or will at `at`), telling of `facts`.
    /// False when another evaluation recorded it first.
    async fn mark_alert_notified(
        &self,
        id: Uuid,
        number: u32,
        at: DateTime<Utc>,
        facts: &[String],
    ) -> StoreResult<bool>;

    /// A patient's alerts, newest first (by opening), before `before`.
    async fn alerts(
        &self,
        patient_id: Uuid,
        filter: AlertFilter,
        before: Option<(DateTime<Utc>, Uuid)>,
        limit: u32,
        audit: Option<&AccessRecord>,
    ) -> StoreResult<Vec<Alert>>;
    async fn alert(&self, patient_id: Uuid, id: Uuid, audit: Option<&AccessRecord>) -> StoreResult<Option<Alert>>;
    /// Records `by`'s acknowledgement of an alert; returns the alert as it is now, whatever it
    /// was. The patient's own (`by == patient_id`) is recorded once, on an open alert; a
    /// therapist is added to those who have seen an unresolved alert (once each), leaving the
    /// patient's acknowledgement untouched.
    async fn acknowledge_alert(
        &self,
        patient_id: Uuid,
        id: Uuid,
        by: Uuid,
        now: DateTime<Utc>,
        audit: Option<&AccessRecord>,
    ) -> StoreResult<Option<Alert>>;
    /// Resolves an unresolved alert by hand; returns the alert as it is now, whatever it was.
    async fn resolve_alert(
        &self,
        patient_id: Uuid,
        id: Uuid,
        by: Uuid,
        now: DateTime<Utc>,
        audit: Option<&AccessRecord>,
    ) -> StoreResult<Option<Alert>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_of_patients_is_bounded_by_its_least_and_greatest_id_in_any_order() {
        let mut ids: Vec<Uuid> = (0..5).map(|_| Uuid::new_v4()).collect();
        let (least, greatest) = (*ids.iter().min().unwrap(), *ids.iter().max().unwrap());
        ids.reverse();
        ids.swap(0, 3);
        assert_eq!(Patients::Only(&ids).bounds(), (least, greatest));
        let one = [least];
        assert_eq!(Patients::Only(&one).bounds(), (least, least));
        assert_eq!(Patients::Between(least, greatest).bounds(), (least, greatest));
    }
}
