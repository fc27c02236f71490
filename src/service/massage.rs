//! Massage sessions: the health screen, the contraindication screen, aftercare plans that
//! become scheduled notifications, step progress and soreness check-ins, therapist templates.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::authz::Action;
use super::notifications::Notice;
use super::{AppState, Error, Result};
use crate::domain::aftercare::{
    PlanSource, PlannedStep, StepKind, Template, adapt_to_screen, default_template, plan, plan_template,
    step_notification_key,
};
use crate::domain::body::Region;
use crate::domain::journal::Symptom;
use crate::domain::massage::{Pressure, SessionKind};
use crate::domain::notifications::Kind;
use crate::domain::screening::{
    Condition, Gap, HealthScreen, PlannedSession, RecentReports, Warning, screen_with_reports,
};
use crate::domain::{Role, ValidationErrors};
use crate::store::{
    AccessRecord, CheckInAnswer, IdempotencyClaim, MassageSession, Patients, PlanChanges, Principal, SessionPosition,
    StepNotification, StepRecord, StepState, TemplateRecord,
};

/// Steps due further back than this when a session is recorded late are not pushed: a
/// "drink water" prompt for last week's session helps nobody.
const STALE_STEP: chrono::TimeDelta = chrono::TimeDelta::minutes(15);

/// A session as the client describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionDraft {
    pub started_at: DateTime<Utc>,
    pub duration_minutes: u16,
    pub kind: SessionKind,
    pub techniques: Vec<String>,
    pub regions: Vec<Region>,
    pub pressure: Option<Pressure>,
    pub pain_before: Option<u8>,
    pub pain_after: Option<u8>,
    pub notes: Option<String>,
}

/// A session with its plan and the screen's warnings.
#[derive(Debug, Clone)]
pub struct SessionView {
    pub session: MassageSession,
    pub steps: Vec<StepRecord>,
    pub warnings: Vec<Warning>,
    /// The health-screen questions unanswered or answered too long ago: while any is listed,
    /// the patient is not screened, and no warnings does not mean all clear.
    pub not_screened: Vec<(Condition, Gap)>,
}

/// What the contraindication screen says about a session or a planned one.
#[derive(Debug, Clone, Default)]
pub struct ScreenReport {
    pub warnings: Vec<Warning>,
    pub not_screened: Vec<(Condition, Gap)>,
}

/// Journal symptoms and check-in answers reach the screen for this many days, today included.
const RECENT_REPORT_DAYS: u64 = 7;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepOutcome {
    Done,
    Skipped,
}

impl AppState {
    /// The patient's local date now.
    pub async fn patient_today(&self, patient_id: Uuid) -> Result<chrono::NaiveDate> {
        let account = self.store.account(patient_id).await?.ok_or(Error::NotFound)?;
        Ok(account.time_zone.local_date(self.clock.now()))
    }
}

/// A new pending step of a session's plan.
fn new_step(session_id: Uuid, position: usize, planned: PlannedStep) -> StepRecord {
    StepRecord {
        id: Uuid::now_v7(),
        session_id,
        key: planned.step.key,
        position: u16::try_from(position).unwrap_or(u16::MAX),
        kind: planned.step.kind,
        title: planned.step.title,
        body: planned.step.body,
        due_at: planned.due_at,
        state: StepState::Pending,
        completed_at: None,
        check_in: None,
    }
}

impl AppState {
    pub async fn health_screen(
        &self,
        principal: &Principal,
        patient_id: Uuid,
    ) -> Result<Option<(HealthScreen, DateTime<Utc>)>> {
        let allowed = self.authorize(principal, Action::ReadHealthScreen, patient_id).await?;
        Ok(self.store.health_screen(patient_id, allowed.audit()).await?)
    }

    pub async fn save_health_screen(
        &self,
        principal: &Principal,
        patient_id: Uuid,
        health: HealthScreen,
    ) -> Result<HealthScreen> {
        self.authorize(principal, Action::WriteHealthScreen, patient_id).await?.patient_only();
        let today = self.patient_today(patient_id).await?;
        let health = health.validate(today)?;
        self.store.save_health_screen(patient_id, &health, self.clock.now()).await?;
        Ok(health)
    }

    /// The contraindication screen for a session that is only planned.
    pub async fn screen_planned(
        &self,
        principal: &Principal,
        patient_id: Uuid,
        planned: &PlannedSession,
    ) -> Result<ScreenReport> {
        let allowed = self.authorize(principal, Action::ReadHealthScreen, patient_id).await?;
        let health = self.store.health_screen(patient_id, allowed.audit()).await?.map(|(h, _)| h);
        self.screen_report(patient_id, health.as_ref(), planned).await
    }

    /// The screen of `planned` against the health screen (`None`: never saved) and what the
    /// patient logged in the last 7 days, with the questions still to ask.
    async fn screen_report(
        &self,
        patient_id: Uuid,
        health: Option<&HealthScreen>,
        planned: &PlannedSession,
    ) -> Result<ScreenReport> {
        let today = self.patient_today(patient_id).await?;
        let from = today - chrono::Days::new(RECENT_REPORT_DAYS - 1);
        let mut reports = RecentReports::default();
        for (_, entry) in
            self.store.rollup_inputs_between(Patients::Between(patient_id, patient_id), from, today).await?
        {
            if entry.symptoms.contains(&Symptom::Fever) {
                reports.fever.push(entry.local_date);
            }
            if entry.symptoms.contains(&Symptom::LegSwellingRednessWarmth) {
                reports.leg_swelling.push(entry.local_date);
            }
        }
        for (_, answer) in self.store.check_ins_between(Patients::Between(patient_id, patient_id), from, today).await? {
            if answer.leg_swelling_redness_warmth {
                reports.leg_swelling.push(answer.answered_on);
            }
        }
        let empty = HealthScreen::default();
        let health = health.unwrap_or(&empty);
        Ok(ScreenReport {
            warnings: screen_with_reports(health, planned, &reports),
            not_screened: health.gaps(today, self.settings.screening.answer_max_age_days),
        })
    }

    async fn screen_session(&self, session: &MassageSession, health: Option<&HealthScreen>) -> Result<ScreenReport> {
        self.screen_report(session.patient_id, health, &planned_of(session)).await
    }

    /// Records a session and schedules its aftercare plan. With an idempotency key, a retried
    /// request returns the first result.
    pub async fn record_session(
        &self,
        principal: &Principal,
        patient_id: Uuid,
        draft: SessionDraft,
        idempotency: Option<(&str, String)>,
    ) -> Result<(SessionView, bool)> {
        let allowed = self.authorize(principal, Action::RecordSession, patient_id).await?;
        let now = self.clock.now();
        check_not_future(draft.started_at, now)?;
        if let Some((key, hash)) = &idempotency {
            match self.store.claim_idempotency(principal.account_id, key, "record_session", hash, now).await? {
                IdempotencyClaim::Claimed => {}
                IdempotencyClaim::Done { resource_id } => {
                    return Ok((self.massage_session(principal, patient_id, resource_id).await?, false));
                }
                IdempotencyClaim::InProgress => return Err(Error::Conflict("idempotency_key_in_use")),
                IdempotencyClaim::Mismatch => {
                    return Err(ValidationErrors::single(
                        "Idempotency-Key",
                        "reused_with_different_request",
                        "was already used for a different request",
                    )
                    .into());
                }
            }
        }
        // The key records its session in the session's own transaction; on failure nothing was
        // stored and the client may try again with the same key.
        let finish = idempotency.as_ref().map(|(key, _)| (principal.account_id, *key));
        let result = self.create_session(principal, patient_id, draft, now, finish, allowed.audit()).await;
        if let (Some((key, _)), Err(_)) = (&idempotency, &result)
            && let Err(error) = self.store.release_idempotency(principal.account_id, key).await
        {
            tracing::warn!(%error, "could not release an idempotency key; it expires with the others");
        }
        Ok((result?, true))
    }

    async fn create_session(
        &self,
        principal: &Principal,
        patient_id: Uuid,
        draft: SessionDraft,
        now: DateTime<Utc>,
        idempotency: Option<(Uuid, &str)>,
        audit: Option<&AccessRecord>,
    ) -> Result<SessionView> {
        let account = self.store.account(patient_id).await?.ok_or(Error::NotFound)?;
        let assigned = self.store.assigned_template(patient_id, now).await?;
        let health = self.store.health_screen(patient_id, None).await?.map(|(h, _)| h);
        let (template, plan_source) = plan_template(draft.kind, assigned);
        let template = adapt_to_screen(template, &health.clone().unwrap_or_default());
        let session = MassageSession {
            id: Uuid::now_v7(),
            patient_id,
            recorded_by: Some(principal.account_id),
            started_at: draft.started_at,
            duration_minutes: draft.duration_minutes,
            kind: draft.kind,
            techniques: draft.techniques,
            regions: draft.regions,
            pressure: draft.pressure,
            pain_before: draft.pain_before,
            pain_after: draft.pain_after,
            notes: draft.notes,
            template,
            plan_source,
            created_at: now,
            updated_at: now,
        };
        let steps: Vec<StepRecord> =
            plan(&session.template, session.ended_at(), account.time_zone, account.quiet_hours)
                .into_iter()
                .enumerate()
                .map(|(position, planned)| new_step(session.id, position, planned))
                .collect();
        let notifications: Vec<StepNotification> = steps
            .iter()
            .map(|step| self.step_notification(patient_id, step, now))
            .filter(|n| matches!(n, StepNotification::Schedule { .. }))
            .collect();
        self.store.create_massage_session(&session, &steps, &notifications, idempotency, audit).await?;
        self.wake_for(&notifications);
        metrics::counter!("massage_sessions_recorded_total", "kind" => session.kind.as_str()).increment(1);
        let report = self.screen_session(&session, health.as_ref()).await?;
        Ok(SessionView { session, steps, warnings: report.warnings, not_screened: report.not_screened })
    }

    /// What becomes of a step's notification: scheduled (or moved) while the step is pending,
    /// cancelled once it is done or skipped, or when it is due too far back to be worth sending.
    fn step_notification(&self, patient_id: Uuid, step: &StepRecord, now: DateTime<Utc>) -> StepNotification {
        if step.state != StepState::Pending || step.due_at < now - STALE_STEP {
            return StepNotification::Cancel { account_id: patient_id, step_id: step.id };
        }
        let notice = Notice {
            account_id: patient_id,
            kind: Kind::Aftercare,
            dedupe_key: step_notification_key(step.id),
            link: format!("/sessions/{}/steps/{}", step.session_id, step.id),
            due_at: step.due_at,
            subject_date: None,
        };
        StepNotification::Schedule { step_id: step.id, notification: notice.into_notification(now) }
    }

    /// Once the notifications are committed, wakes the dispatcher for any due now.
    fn wake_for(&self, notifications: &[StepNotification]) {
        if let Some(due_at) = notifications.iter().filter_map(StepNotification::due_at).min() {
            self.wake_dispatcher_if_due(due_at);
        }
    }

    /// The changes that make a session's steps follow `planned`. A pending step whose key is
    /// still in the plan takes the plan's text and time, a step new to the plan is added, and a
    /// pending step no longer in it is removed; steps done or skipped (answered check-ins among
    /// them) stay as they were. Notifications follow the steps that moved, came or went.
    fn replan(
        &self,
        patient_id: Uuid,
        session_id: Uuid,
        mut existing: Vec<StepRecord>,
        planned: Vec<PlannedStep>,
        now: DateTime<Utc>,
    ) -> PlanChanges {
        let mut changes = PlanChanges::default();
        let mut steps = Vec::with_capacity(planned.len() + existing.len());
        for planned in planned {
            let Some(i) = existing.iter().position(|s| s.key == planned.step.key) else {
                let step = new_step(session_id, 0, planned);
                changes.notifications.push(self.step_notification(patient_id, &step, now));
                steps.push(step);
                continue;
            };
            let mut step = existing.remove(i);
            if step.state == StepState::Pending {
                let moved = step.due_at != planned.due_at;
                step.kind = planned.step.kind;
                step.title = planned.step.title;
                step.body = planned.step.body;
                step.due_at = planned.due_at;
                if moved {
                    changes.notifications.push(self.step_notification(patient_id, &step, now));
                }
            }
            steps.push(step);
        }
        for step in existing {
            if step.state == StepState::Pending {
                changes.removed.push(step.id);
                changes.notifications.push(StepNotification::Cancel { account_id: patient_id, step_id: step.id });
            } else {
                steps.push(step);
            }
        }
        for (position, step) in steps.iter_mut().enumerate() {
            step.position = u16::try_from(position).unwrap_or(u16::MAX);
        }
        changes.steps = steps;
        changes
    }

    pub async fn massage_session(&self, principal: &Principal, patient_id: Uuid, id: Uuid) -> Result<SessionView> {
        let allowed = self.authorize(principal, Action::ReadSessions, patient_id).await?;
        // The session, its steps and answers, and the screen behind its warnings: one read, under
        // the one access log line.
        let read = self.store.massage_session_view(patient_id, id, allowed.audit()).await?.ok_or(Error::NotFound)?;
        let report = self.screen_session(&read.session, read.health_screen.as_ref()).await?;
        Ok(SessionView {
            session: read.session,
            steps: read.steps,
            warnings: report.warnings,
            not_screened: report.not_screened,
        })
    }

    /// Sessions started in `from..to`, newest first, a page at a time: the page after `after`,
    /// and whether more follow.
    pub async fn massage_sessions(
        &self,
        principal: &Principal,
        patient_id: Uuid,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        after: Option<SessionPosition>,
        limit: u32,
    ) -> Result<(Vec<MassageSession>, bool)> {
        let allowed = self.authorize(principal, Action::ReadSessions, patient_id).await?;
        // By default everything up to a day ahead (a session may be recorded just before it starts).
        let from = from.unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
        let to = to.unwrap_or_else(|| self.clock.now() + chrono::TimeDelta::days(1));
        if from >= to {
            return Err(ValidationErrors::single("from", "empty_range", "must be before `to`").into());
        }
        let mut sessions = self.store.massage_sessions(patient_id, from, to, after, limit + 1, allowed.audit()).await?;
        let more = sessions.len() > limit as usize;
        sessions.truncate(limit as usize);
        Ok((sessions, more))
    }

    /// Changes a session. A new time moves the plan's pending steps (and their notifications);
    /// a new kind replaces a default plan with the new kind's default, while a therapist's plan
    /// stays. Steps already done or skipped stay as they were.
    pub async fn update_session(
        &self,
        principal: &Principal,
        patient_id: Uuid,
        id: Uuid,
        draft: SessionDraft,
    ) -> Result<(SessionView, Vec<crate::domain::alerts::Alert>)> {
        let allowed = self.authorize(principal, Action::RecordSession, patient_id).await?;
        let now = self.clock.now();
        check_not_future(draft.started_at, now)?;
        let mut session = self.store.massage_session(patient_id, id).await?.ok_or(Error::NotFound)?;
        let account = self.store.account(patient_id).await?.ok_or(Error::NotFound)?;
        let health = self.store.health_screen(patient_id, None).await?.map(|(h, _)| h);
        if draft.kind != session.kind && session.plan_source == PlanSource::Default {
            session.template = adapt_to_screen(default_template(draft.kind), &health.clone().unwrap_or_default());
        }
        // The follow-up rule compares 48-hour soreness with the pain before the session.
        let pain_before_changed = draft.pain_before != session.pain_before;
        session.started_at = draft.started_at;
        session.duration_minutes = draft.duration_minutes;
        session.kind = draft.kind;
        session.techniques = draft.techniques;
        session.regions = draft.regions;
        session.pressure = draft.pressure;
        session.pain_before = draft.pain_before;
        session.pain_after = draft.pain_after;
        session.notes = draft.notes;
        session.updated_at = now;
        let existing = self.store.steps(id).await?;
        let planned = plan(&session.template, session.ended_at(), account.time_zone, account.quiet_hours);
        let changes = self.replan(patient_id, id, existing, planned, now);
        if !self.store.update_massage_session(&session, &changes, allowed.audit()).await? {
            return Err(Error::NotFound);
        }
        self.wake_for(&changes.notifications);
        let raised = if pain_before_changed { self.reevaluate_alerts(patient_id).await } else { Vec::new() };
        let steps = self.store.steps(id).await?;
        let report = self.screen_session(&session, health.as_ref()).await?;
        Ok((SessionView { session, steps, warnings: report.warnings, not_screened: report.not_screened }, raised))
    }

    /// Deletes a session with its plan and answers; its pending notifications are cancelled.
    pub async fn delete_session(&self, principal: &Principal, patient_id: Uuid, id: Uuid) -> Result<()> {
        let allowed = self.authorize(principal, Action::RecordSession, patient_id).await?;
        if !self.store.delete_massage_session(patient_id, id, allowed.audit()).await? {
            return Err(Error::NotFound);
        }
        // Its check-in answers went with it.
        self.reevaluate_alerts(patient_id).await;
        Ok(())
    }

    async fn step_of(&self, patient_id: Uuid, session_id: Uuid, step_id: Uuid) -> Result<StepRecord> {
        // The patient's own steps: nothing to log.
        self.store.massage_session(patient_id, session_id).await?.ok_or(Error::NotFound)?;
        self.store.steps(session_id).await?.into_iter().find(|s| s.id == step_id).ok_or(Error::NotFound)
    }

    /// Marks a step done or skipped; a reminder not yet sent for it is cancelled.
    pub async fn complete_step(
        &self,
        principal: &Principal,
        patient_id: Uuid,
        session_id: Uuid,
        step_id: Uuid,
        outcome: StepOutcome,
    ) -> Result<StepRecord> {
        self.authorize(principal, Action::AnswerAftercare, patient_id).await?.patient_only();
        let step = self.step_of(patient_id, session_id, step_id).await?;
        let state = match outcome {
            StepOutcome::Done => StepState::Done,
            StepOutcome::Skipped => StepState::Skipped,
        };
        self.store.set_step_state(patient_id, step.id, state, self.clock.now()).await?;
        self.step_of(patient_id, session_id, step_id).await
    }

    /// Records the answer to a soreness check-in (answering again replaces it).
    pub async fn answer_check_in(
        &self,
        principal: &Principal,
        patient_id: Uuid,
        session_id: Uuid,
        step_id: Uuid,
        soreness: u8,
        leg_swelling: bool,
    ) -> Result<(StepRecord, Vec<crate::domain::alerts::Alert>)> {
        self.authorize(principal, Action::AnswerAftercare, patient_id).await?.patient_only();
        let step = self.step_of(patient_id, session_id, step_id).await?;
        let StepKind::SorenessCheckIn { hours_after } = step.kind else {
            return Err(
                ValidationErrors::single("step_id", "not_a_check_in", "this step is not a soreness check-in").into()
            );
        };
        let now = self.clock.now();
        let answer = CheckInAnswer {
            soreness,
            leg_swelling,
            answered_at: now,
            answered_on: self.patient_today(patient_id).await?,
        };
        self.store.answer_check_in(&step, patient_id, hours_after, &answer).await?;
        // A swollen leg or high 48 h soreness raises an alert at once, returned with the answer.
        let raised = self.check_in_answered(patient_id).await;
        Ok((self.step_of(patient_id, session_id, step_id).await?, raised))
    }

    fn require_therapist(principal: &Principal) -> Result<()> {
        if principal.role == Role::Therapist {
            Ok(())
        } else {
            Err(Error::Forbidden("only therapists keep aftercare templates"))
        }
    }

    pub async fn create_template(&self, principal: &Principal, template: Template) -> Result<TemplateRecord> {
        Self::require_therapist(principal)?;
        let template = template.validate()?;
        let now = self.clock.now();
        let record = TemplateRecord {
            id: Uuid::now_v7(),
            therapist_id: principal.account_id,
            template,
            created_at: now,
            updated_at: now,
        };
        self.store.create_template(&record).await?;
        Ok(record)
    }

    pub async fn update_template(&self, principal: &Principal, id: Uuid, template: Template) -> Result<TemplateRecord> {
        Self::require_therapist(principal)?;
        let template = template.validate()?;
        let mut record = self.store.template(principal.account_id, id).await?.ok_or(Error::NotFound)?;
        record.template = template;
        record.updated_at = self.clock.now();
        self.store.update_template(&record).await?;
        Ok(record)
    }

    pub async fn templates(&self, principal: &Principal) -> Result<Vec<TemplateRecord>> {
        Self::require_therapist(principal)?;
        Ok(self.store.templates(principal.account_id).await?)
    }

    pub async fn delete_template(&self, principal: &Principal, id: Uuid) -> Result<()> {
        Self::require_therapist(principal)?;
        if self.store.delete_template(principal.account_id, id).await? { Ok(()) } else { Err(Error::NotFound) }
    }

    /// Sets the template used for the patient's next sessions.
    pub async fn assign_template(&self, principal: &Principal, patient_id: Uuid, template_id: Uuid) -> Result<()> {
        let allowed = self.authorize(principal, Action::ManageAftercare, patient_id).await?;
        Self::require_therapist(principal)?;
        self.store.template(principal.account_id, template_id).await?.ok_or(Error::NotFound)?;
        let now = self.clock.now();
        self.store.assign_template(patient_id, principal.account_id, template_id, now, allowed.audit()).await?;
        Ok(())
    }
}

/// A recorded session as the contraindication screen sees it.
fn planned_of(session: &MassageSession) -> PlannedSession {
    PlannedSession { kind: session.kind, pressure: session.pressure, regions: session.regions.clone() }
}

fn check_not_future(started_at: DateTime<Utc>, now: DateTime<Utc>) -> Result<()> {
    crate::domain::journal::check_recorded_at(started_at, now)
        .map(|_| ())
        .map_err(|p| ValidationErrors::single("started_at", p.code, p.message).into())
}
