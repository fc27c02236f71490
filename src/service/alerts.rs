//! Alerts: evaluating the rules when a journal or check-in changes and in the periodic sweep,
//! notifying the patient (and, with the care team, their therapists), and what patients do with
//! their alerts. The rules and the lifecycle are pure (`domain::alerts`); this runs them.
//!
//! The sweep takes no lock: several instances may sweep at once and the result is the same. An
//! alert is opened with an upsert on the one-unresolved-alert-per-rule index (never a duplicate),
//! an automatic resolution only applies to an alert nobody has seen firing since it was read, and
//! notification `n` of an alert has the dedupe key `alert:<id>:<n>` and is recorded with a
//! compare-and-set on the count, so a second sweeper produces nothing twice — it only repeats
//! the reading.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Days, NaiveDate, TimeDelta, Utc};
use futures::StreamExt as _;
use uuid::Uuid;

use super::authz::Action;
use super::notifications::Notice;
use super::{AppState, Error, Result};
use crate::domain::Role;
use crate::domain::alerts::lifecycle::{
    self, Due, DueReason, evaluation_days, facts, notification_due, resolutions_held_since,
};
use crate::domain::alerts::{Alert, CheckIn, EmergencyContact};
use crate::domain::care::Scope;
use crate::domain::notifications::Kind;
use crate::domain::rollup::{RollupInput, daily_rollups};
use crate::domain::time::after_quiet_hours;
use crate::store::GrantParty;
use crate::store::{AlertFilter, AlertUpsert, Patients, Principal, Recipient};

/// Patients per sweep page: each page is four reads and one write transaction.
const SWEEP_BATCH: u32 = 500;
/// Alert notifications of one evaluation in flight at once: a few of the pool's connections,
/// the others left to requests.
const NOTIFY_CONCURRENCY: usize = 4;
/// Patients per claim of the background evaluator.
pub const DUE_BATCH: u32 = 100;
/// How long a claim on a patient's mark holds: an evaluator that died frees it after this.
const DUE_LEASE: TimeDelta = TimeDelta::seconds(60);

/// What an evaluation (of one patient, or a sweep over all) did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AlertsReport {
    pub patients: u64,
    pub opened: u64,
    /// Unresolved alerts found firing again (their evidence and `last_seen_at` refreshed).
    pub refreshed: u64,
    pub resolved: u64,
    /// Alerts notified (to the patient and their therapists).
    pub notified: u64,
}

impl std::ops::AddAssign for AlertsReport {
    fn add_assign(&mut self, other: Self) {
        self.patients += other.patients;
        self.opened += other.opened;
        self.refreshed += other.refreshed;
        self.resolved += other.resolved;
        self.notified += other.notified;
    }
}

impl AppState {
    /// Evaluates one patient's alerts now: after a journal write or deletion, and after a
    /// check-in answer. Reads only the days the rules need.
    pub async fn evaluate_alerts(&self, patient_id: Uuid) -> Result<AlertsReport> {
        Ok(self.evaluate_patient(patient_id).await?.0)
    }

    async fn evaluate_patient(&self, patient_id: Uuid) -> Result<(AlertsReport, Vec<Alert>)> {
        match self.store.account(patient_id).await? {
            Some(account) if account.role == Role::Patient => {
                self.evaluate_patients(&[(&account).into()], Patients::Between(patient_id, patient_id)).await
            }
            _ => Ok(Default::default()),
        }
    }

    /// [`AppState::evaluate_alerts`] for use cases whose own change is already saved: a failure
    /// is logged instead of failing them, and the next sweep evaluates the patient again.
    /// Returns the alerts this change raised or escalated (opened, or with a report not yet
    /// notified), for the response of the write that caused them.
    pub async fn reevaluate_alerts(&self, patient_id: Uuid) -> Vec<Alert> {
        log_failure(self.evaluate_patient(patient_id).await)
    }

    /// Evaluates patients whose journal changed since their last evaluation (the marks journal
    /// writes leave, migration 0014): a batch of them, or only `patient`, each once however many
    /// entries marked them. A mark is cleared only if no write marked it again meanwhile; a
    /// failed evaluation keeps its mark, which is claimed again when its lease runs out. The
    /// background evaluator calls this until it finds none.
    pub async fn evaluate_due_alerts(&self, patient: Option<Uuid>) -> Result<AlertsReport> {
        let now = self.clock.now();
        let claimed = self.store.claim_due_evaluations(now, now + DUE_LEASE, DUE_BATCH, patient).await?;
        if claimed.is_empty() {
            return Ok(AlertsReport::default());
        }
        // The batch is evaluated as the sweep evaluates a page: one read per kind of input for
        // all of its patients and one write transaction, wherever their ids fall.
        let ids: Vec<Uuid> = claimed.iter().map(|due| due.patient_id).collect();
        let evaluated = match self.store.patient_recipients(&ids).await {
            Ok(patients) => self.evaluate_patients(&patients, Patients::Only(&ids)).await.map(|(report, _)| report),
            Err(error) => Err(error.into()),
        };
        match evaluated {
            Ok(report) => {
                self.store.finish_due_evaluations(&claimed).await?;
                Ok(AlertsReport { patients: claimed.len() as u64, ..report })
            }
            Err(error) => {
                metrics::counter!("alert_evaluations_failed_total").increment(claimed.len() as u64);
                tracing::warn!(%error, patients = claimed.len(), "alert evaluation failed; it is retried when its claim runs out");
                Ok(AlertsReport::default())
            }
        }
    }

    /// The check-in use case calls this once a soreness check-in answer is stored; the alerts it
    /// raised or escalated.
    pub async fn check_in_answered(&self, patient_id: Uuid) -> Vec<Alert> {
        self.reevaluate_alerts(patient_id).await
    }

    /// Evaluates every patient with journal entries or check-ins in the evaluation window, or an
    /// unresolved alert, a page of patients at a time: what moves with the calendar (windows,
    /// re-notification, automatic resolution) happens here.
    pub async fn sweep_alerts(&self) -> Result<AlertsReport> {
        let thresholds = self.settings.alerts.thresholds();
        // A day before the window of the earliest time zone's date.
        let since = self.clock.now().date_naive() - Days::new(evaluation_days(&thresholds).into());
        let mut report = AlertsReport::default();
        let mut after = Uuid::nil();
        loop {
            let targets = self.store.alert_sweep_targets(since, after, SWEEP_BATCH).await?;
            let Some(last) = targets.last() else { break };
            after = last.account_id;
            match self.evaluate_patients(&targets, Patients::Between(targets[0].account_id, last.account_id)).await {
                Ok((page, _)) => report += page,
                Err(error) => {
                    metrics::counter!("alert_evaluations_failed_total").increment(targets.len() as u64);
                    tracing::warn!(%error, patients = targets.len(), "alert sweep page failed; the next sweep retries it");
                }
            }
            if targets.len() < SWEEP_BATCH as usize {
                break;
            }
        }
        Ok(report)
    }

    /// Evaluates `patients` (in id order; `set` covers them) with one read per kind of input for
    /// all of them, and one write transaction.
    async fn evaluate_patients(&self, patients: &[Recipient], set: Patients<'_>) -> Result<(AlertsReport, Vec<Alert>)> {
        if patients.is_empty() {
            return Ok(Default::default());
        }
        let thresholds = self.settings.alerts.thresholds();
        let now = self.clock.now();
        let todays: Vec<NaiveDate> = patients.iter().map(|p| p.time_zone.local_date(now)).collect();
        let to = todays.iter().copied().max().unwrap_or(now.date_naive());
        let earliest = todays.iter().copied().min().unwrap_or(to);
        let from = earliest - Days::new(u64::from(evaluation_days(&thresholds)) - 1);

        let mut entries: HashMap<Uuid, Vec<RollupInput>> =
            by_patient(self.store.rollup_inputs_between(set, from, to).await?);
        let check_ins: HashMap<Uuid, Vec<CheckIn>> = by_patient(self.store.check_ins_between(set, from, to).await?);
        let alerts: HashMap<Uuid, Vec<Alert>> = by_patient(
            self.store
                .alerts_under_review(set, resolutions_held_since(now, &thresholds))
                .await?
                .into_iter()
                .map(|alert| (alert.patient_id, alert)),
        );

        let mut upserts = Vec::new();
        let mut resolve = Vec::new();
        for (patient, today) in patients.iter().zip(todays) {
            let id = patient.account_id;
            let rollups = daily_rollups(entries.remove(&id).unwrap_or_default());
            let review = lifecycle::review(
                alerts.get(&id).map_or(&[], Vec::as_slice),
                &rollups,
                check_ins.get(&id).map_or(&[], Vec::as_slice),
                today,
                now,
                &thresholds,
            );
            let contact = EmergencyContact::for_patient(&patient.locale, patient.time_zone);
            upserts.extend(review.record.into_iter().map(|mut finding| {
                finding.localize(&contact);
                AlertUpsert { id: Uuid::now_v7(), patient_id: id, finding }
            }));
            resolve.extend(review.resolve);
        }
        let recorded = self.store.record_alert_evaluation(&upserts, &resolve, now).await?;

        let mut report =
            AlertsReport { patients: patients.len() as u64, resolved: recorded.resolved, ..Default::default() };
        if recorded.resolved > 0 {
            metrics::counter!("alerts_resolved_total", "how" => "auto").increment(recorded.resolved);
        }
        let recipients: HashMap<Uuid, &Recipient> = patients.iter().map(|p| (p.account_id, p)).collect();
        let mut due_now = Vec::new();
        for (alert, opened) in recorded.alerts {
            if opened {
                report.opened += 1;
                metrics::counter!("alerts_opened_total", "rule" => alert.rule.as_str()).increment(1);
            } else {
                report.refreshed += 1;
            }
            if let (Some(due), Some(patient)) =
                (notification_due(&alert, now, &thresholds), recipients.get(&alert.patient_id))
            {
                due_now.push((alert, due, *patient));
            }
        }
        // Each alert's notification is a few round trips of its own; a page's are overlapped so
        // that a sweep opening thousands of alerts waits for the database a few at a time.
        let notifying: Vec<_> =
            due_now.into_iter().map(|(alert, due, patient)| self.notify_alert_owned(alert, due, patient)).collect();
        let outcomes: Vec<_> = futures::stream::iter(notifying).buffered(NOTIFY_CONCURRENCY).collect().await;
        let mut raised = Vec::new();
        for (alert, due, outcome) in outcomes {
            match outcome {
                Ok(Some(notified)) => {
                    report.notified += 1;
                    if due.reason.raises() {
                        raised.push(notified);
                    }
                }
                Ok(None) => {}
                // Not recorded as sent, so the next evaluation tries again.
                Err(error) => tracing::warn!(%error, alert_id = %alert.id, "alert notification failed"),
            }
        }
        Ok((report, raised))
    }

    /// Produces notification `due.number` of an alert for the patient and, unless it is an
    /// emergency repeat, for every therapist who hears about their alerts, then records it with
    /// the reports it told of. The alert as recorded; none when another evaluation recorded it
    /// first (the dedupe key made this one a no-op).
    async fn notify_alert(&self, alert: &Alert, due: Due, patient: &Recipient) -> Result<Option<Alert>> {
        let therapists =
            if due.reason.reaches_therapists() { self.alert_therapists(alert.patient_id).await? } else { Vec::new() };
        let notified_at = self.send_alert_notification(alert, due.number, patient, &therapists).await?;
        let facts = facts(&alert.evidence);
        let recorded = self.store.mark_alert_notified(alert.id, due.number, notified_at, &facts).await?;
        if !recorded {
            return Ok(None);
        }
        metrics::counter!("alert_notifications_total", "tier" => alert.tier.as_str(), "reason" => due_label(due.reason))
            .increment(1);
        Ok(Some(Alert {
            notification_count: due.number,
            notified_at: Some(notified_at),
            notified_facts: facts,
            ..alert.clone()
        }))
    }

    /// [`Self::notify_alert`] as one future that owns its alert, for overlapping several.
    fn notify_alert_owned<'a>(
        &'a self,
        alert: Alert,
        due: Due,
        patient: &'a Recipient,
    ) -> futures::future::BoxFuture<'a, (Alert, Due, Result<Option<Alert>>)> {
        Box::pin(async move {
            let outcome = self.notify_alert(&alert, due, patient).await;
            (alert, due, outcome)
        })
    }

    /// The therapists who hear about a patient's alerts: those holding a live grant with the
    /// `receive_alerts` scope, from one grant lookup.
    pub async fn alert_therapists(&self, patient_id: Uuid) -> Result<Vec<Recipient>> {
        let now = self.clock.now();
        let mut recipients = Vec::new();
        for record in self.store.open_grants(GrantParty::Patient(patient_id)).await? {
            if record.grant.allows(Scope::ReceiveAlerts, now)
                && let Some(therapist) = self.store.account(record.grant.therapist_id).await?
            {
                recipients.push(Recipient::from(&therapist));
            }
        }
        Ok(recipients)
    }

    /// The fan-out: notification `number` of `alert` to the patient and to each of `therapists`,
    /// each in words meant for them. Returns when the patient's goes out.
    ///
    /// - The patient hears about a red flag (emergency, urgent) at once, even in quiet hours,
    ///   with high urgency and a TTL covering the clinical window (`red_flag_ttl_hours`), so a
    ///   phone that is off for hours still gets it when it comes back.
    /// - Other alerts wait `notify_settle_minutes` and the end of the patient's quiet hours, so
    ///   one that entries synced later cancel is withdrawn before it is pushed.
    /// - A therapist's copy waits for the end of the therapist's quiet hours with normal urgency
    ///   (the client has already been told where to get help, and a therapist cannot act on it
    ///   in the night); a red flag's copy keeps the long TTL so that it is not lost either.
    pub async fn send_alert_notification(
        &self,
        alert: &Alert,
        number: u32,
        patient: &Recipient,
        therapists: &[Recipient],
    ) -> Result<DateTime<Utc>> {
        let red_flag = alert.tier.is_red_flag();
        let (patient_kind, therapist_kind) =
            if red_flag { (Kind::UrgentAlert, Kind::ClientUrgentAlert) } else { (Kind::Alert, Kind::ClientAlert) };
        let settings = &self.settings.alerts;
        let now = self.clock.now();
        let settled = now + TimeDelta::minutes(settings.notify_settle_minutes.into());
        let due_at = |recipient: &Recipient, kind: Kind| {
            if kind.ignores_quiet_hours() {
                now
            } else if kind == Kind::Alert {
                after_quiet_hours(settled, recipient.time_zone, recipient.quiet_hours)
            } else {
                after_quiet_hours(now, recipient.time_zone, recipient.quiet_hours)
            }
        };
        let red_flag_ttl = Duration::from_secs(u64::from(settings.red_flag_ttl_hours) * 3600);
        let dedupe_key = format!("alert:{}:{number}", alert.id);
        let patient_link = format!("/alerts/{}", alert.id);
        let therapist_link = format!("/clients/{}/alerts/{}", alert.patient_id, alert.id);
        let recipients = std::iter::once((patient, patient_kind, patient_link))
            .chain(therapists.iter().map(|t| (t, therapist_kind, therapist_link.clone())));
        for (recipient, kind, link) in recipients {
            let notice = Notice {
                account_id: recipient.account_id,
                kind,
                dedupe_key: dedupe_key.clone(),
                link,
                due_at: due_at(recipient, kind),
                subject_date: None,
            };
            let mut notification = notice.into_notification(now);
            if red_flag {
                notification.ttl = red_flag_ttl;
            }
            // A therapist's copy names the client, so that it goes out only while their consent
            // (a live grant with `receive_alerts`) still holds.
            if recipient.account_id != alert.patient_id {
                notification.about_patient_id = Some(alert.patient_id);
            }
            self.schedule_notification(notification, false).await?;
        }
        Ok(due_at(patient, patient_kind))
    }

    /// A patient's alerts, newest first; one more than `limit` is fetched to tell whether
    /// another page follows.
    pub async fn alerts(
        &self,
        principal: &Principal,
        patient_id: Uuid,
        filter: AlertFilter,
        before: Option<(DateTime<Utc>, Uuid)>,
        limit: u32,
    ) -> Result<(Vec<Alert>, bool)> {
        let allowed = self.authorize(principal, Action::ReadAlerts, patient_id).await?;
        let mut alerts = self.store.alerts(patient_id, filter, before, limit + 1, allowed.audit()).await?;
        let more = alerts.len() > limit as usize;
        alerts.truncate(limit as usize);
        Ok((alerts, more))
    }

    pub async fn alert(&self, principal: &Principal, patient_id: Uuid, id: Uuid) -> Result<Alert> {
        let allowed = self.authorize(principal, Action::ReadAlerts, patient_id).await?;
        self.store.alert(patient_id, id, allowed.audit()).await?.ok_or(Error::NotFound)
    }

    /// Marks an alert seen. The patient's own acknowledgement stops its repeats (a new report
    /// is still notified); a therapist's is recorded as theirs, shown to the patient and the
    /// other therapists, and silences nobody. Acknowledging twice changes nothing; an alert
    /// resolved before it was acknowledged is a conflict.
    pub async fn acknowledge_alert(&self, principal: &Principal, patient_id: Uuid, id: Uuid) -> Result<Alert> {
        let allowed = self.authorize(principal, Action::AcknowledgeAlerts, patient_id).await?;
        let (by, now) = (principal.account_id, self.clock.now());
        let alert =
            self.store.acknowledge_alert(patient_id, id, by, now, allowed.audit()).await?.ok_or(Error::NotFound)?;
        let acknowledged = if by == patient_id {
            alert.acknowledged.is_some()
        } else {
            alert.therapist_acknowledgements.iter().any(|a| a.by == Some(by))
        };
        if !acknowledged {
            return Err(Error::Conflict("alert_resolved"));
        }
        Ok(alert)
    }

    /// Resolves an alert by hand (see `domain::alerts::lifecycle` for when its rule may raise it
    /// again). Resolving a resolved alert changes nothing.
    pub async fn resolve_alert(&self, principal: &Principal, patient_id: Uuid, id: Uuid) -> Result<Alert> {
        let allowed = self.authorize(principal, Action::AcknowledgeAlerts, patient_id).await?;
        let alert =
            self.store.resolve_alert(patient_id, id, principal.account_id, self.clock.now(), allowed.audit()).await?;
        alert.ok_or(Error::NotFound)
    }
}

fn log_failure(evaluation: Result<(AlertsReport, Vec<Alert>)>) -> Vec<Alert> {
    match evaluation {
        Ok((_, raised)) => raised,
        Err(error) => {
            metrics::counter!("alert_evaluations_failed_total").increment(1);
            tracing::warn!(%error, "alert evaluation failed; the next sweep evaluates the patient again");
            Vec::new()
        }
    }
}

fn due_label(reason: DueReason) -> &'static str {
    match reason {
        DueReason::Opened => "opened",
        DueReason::NewEvidence => "new_evidence",
        DueReason::Cooldown => "cooldown",
        DueReason::Repeat => "repeat",
    }
}

/// Groups `(patient, item)` pairs by patient.
fn by_patient<T>(items: impl IntoIterator<Item = (Uuid, T)>) -> HashMap<Uuid, Vec<T>> {
    let mut grouped: HashMap<Uuid, Vec<T>> = HashMap::new();
    for (patient, item) in items {
        grouped.entry(patient).or_default().push(item);
    }
    grouped
}
