use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use super::{AccessRecord, NewNotification, StoreResult};
use crate::domain::aftercare::{PlanSource, StepKind, Template};
use crate::domain::body::Region;
use crate::domain::massage::{Pressure, SessionKind};
use crate::domain::screening::HealthScreen;

/// A recorded massage session.
#[derive(Debug, Clone, PartialEq)]
pub struct MassageSession {
    pub id: Uuid,
    pub patient_id: Uuid,
    /// The patient, or the therapist who recorded it for them.
    pub recorded_by: Option<Uuid>,
    pub started_at: DateTime<Utc>,
    pub duration_minutes: u16,
    pub kind: SessionKind,
    pub techniques: Vec<String>,
    pub regions: Vec<Region>,
    pub pressure: Option<Pressure>,
    pub pain_before: Option<u8>,
    pub pain_after: Option<u8>,
    pub notes: Option<String>,
    /// The aftercare template its plan was made from.
    pub template: Template,
    /// Whether that template is the default for the kind or a therapist's.
    pub plan_source: PlanSource,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl MassageSession {
    pub fn ended_at(&self) -> DateTime<Utc> {
        self.started_at + chrono::TimeDelta::minutes(i64::from(self.duration_minutes))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepState {
    Pending,
    Done,
    Skipped,
}

impl StepState {
    pub fn as_str(self) -> &'static str {
        match self {
            StepState::Pending => "pending",
            StepState::Done => "done",
            StepState::Skipped => "skipped",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [StepState::Pending, StepState::Done, StepState::Skipped].into_iter().find(|s| s.as_str() == value)
    }
}

/// An answer to a soreness check-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckInAnswer {
    pub soreness: u8,
    pub leg_swelling: bool,
    pub answered_at: DateTime<Utc>,
    /// The patient's local date when they answered.
    pub answered_on: NaiveDate,
}

/// One step of a session's aftercare plan.
#[derive(Debug, Clone, PartialEq)]
pub struct StepRecord {
    pub id: Uuid,
    pub session_id: Uuid,
    pub key: String,
    pub position: u16,
    pub kind: StepKind,
    pub title: String,
    pub body: String,
    pub due_at: DateTime<Utc>,
    pub state: StepState,
    pub completed_at: Option<DateTime<Utc>>,
    pub check_in: Option<CheckInAnswer>,
}

/// A session as one read shows it: the session, its plan's steps with their check-in answers,
/// and the patient's health screen (for the session's warnings).
#[derive(Debug, Clone)]
pub struct SessionRead {
    pub session: MassageSession,
    pub steps: Vec<StepRecord>,
    pub health_screen: Option<HealthScreen>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateRecord {
    pub id: Uuid,
    pub therapist_id: Uuid,
    pub template: Template,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Where a listing of sessions continues (newest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPosition {
    pub started_at: DateTime<Utc>,
    pub id: Uuid,
}

/// What becomes of a plan step's notification, written in the transaction that writes the step.
#[derive(Debug, Clone)]
pub enum StepNotification {
    /// Creates it, moves it, or brings back one cancelled earlier, while the step is still
    /// pending; one already sent stays as it was.
    Schedule { step_id: Uuid, notification: NewNotification },
    /// Cancels it unless it has been sent.
    Cancel { account_id: Uuid, step_id: Uuid },
}

impl StepNotification {
    /// When a scheduled notification is due; `None` for a cancellation.
    pub fn due_at(&self) -> Option<DateTime<Utc>> {
        match self {
            StepNotification::Schedule { notification, .. } => Some(notification.due_at),
            StepNotification::Cancel { .. } => None,
        }
    }
}

/// A changed session's plan: the steps as they should be (pending ones with their new text and
/// time; done and skipped ones keep theirs, only their place may change), the pending steps no
/// longer in the plan, and what becomes of their notifications.
#[derive(Debug, Clone, Default)]
pub struct PlanChanges {
    pub steps: Vec<StepRecord>,
    pub removed: Vec<Uuid>,
    pub notifications: Vec<StepNotification>,
}

#[async_trait]
pub trait MassageRepo {
    async fn health_screen(
        &self,
        patient_id: Uuid,
        audit: Option<&AccessRecord>,
    ) -> StoreResult<Option<(HealthScreen, DateTime<Utc>)>>;
    async fn save_health_screen(&self, patient_id: Uuid, screen: &HealthScreen, now: DateTime<Utc>) -> StoreResult<()>;

    /// Stores a session, its plan steps and their notifications together, and with
    /// `idempotency` (account, key) records the session as that key's result in the same
    /// transaction.
    async fn create_massage_session(
        &self,
        session: &MassageSession,
        steps: &[StepRecord],
        notifications: &[StepNotification],
        idempotency: Option<(Uuid, &str)>,
        audit: Option<&AccessRecord>,
    ) -> StoreResult<()>;
    /// The session alone, for the service's own checks before a change (reads shown to a
    /// therapist go through [`MassageRepo::massage_session_view`], which logs them).
    async fn massage_session(&self, patient_id: Uuid, id: Uuid) -> StoreResult<Option<MassageSession>>;
    /// The session with its steps, check-in answers and the health screen, in one read: with
    /// `audit`, one transaction that commits the access log line with everything it shows.
    async fn massage_session_view(
        &self,
        patient_id: Uuid,
        id: Uuid,
        audit: Option<&AccessRecord>,
    ) -> StoreResult<Option<SessionRead>>;
    /// Sessions started in `from..to`, newest first, after `after` when given.
    async fn massage_sessions(
        &self,
        patient_id: Uuid,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        after: Option<SessionPosition>,
        limit: u32,
        audit: Option<&AccessRecord>,
    ) -> StoreResult<Vec<MassageSession>>;
    /// Saves the session's fields (kind, template and all) with its plan changes, together.
    /// False when there is no such session (any more).
    async fn update_massage_session(
        &self,
        session: &MassageSession,
        changes: &PlanChanges,
        audit: Option<&AccessRecord>,
    ) -> StoreResult<bool>;
    /// Deletes the session with its plan and answers, and cancels its steps' notifications not
    /// yet sent, together. False when there was no such session.
    async fn delete_massage_session(
        &self,
        patient_id: Uuid,
        id: Uuid,
        audit: Option<&AccessRecord>,
    ) -> StoreResult<bool>;
    /// The plan's steps in plan order, with check-in answers.
    async fn steps(&self, session_id: Uuid) -> StoreResult<Vec<StepRecord>>;
    /// The steps of all the patient's sessions started in `start..end`, in one statement (a
    /// report reads them so instead of one query a session), ordered by session and plan order.
    async fn steps_between(
        &self,
        patient_id: Uuid,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> StoreResult<Vec<StepRecord>>;
    /// Marks a step done or skipped and cancels its notification if not yet sent, together.
    async fn set_step_state(
        &self,
        patient_id: Uuid,
        step_id: Uuid,
        state: StepState,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Records (or replaces) the answer to a check-in step, marks the step done and cancels its
    /// notification if not yet sent, together.
    async fn answer_check_in(
        &self,
        step: &StepRecord,
        patient_id: Uuid,
        hours_after: u16,
        answer: &CheckInAnswer,
    ) -> StoreResult<()>;

    async fn create_template(&self, record: &TemplateRecord) -> StoreResult<()>;
    async fn update_template(&self, record: &TemplateRecord) -> StoreResult<bool>;
    async fn template(&self, therapist_id: Uuid, id: Uuid) -> StoreResult<Option<TemplateRecord>>;
    async fn templates(&self, therapist_id: Uuid) -> StoreResult<Vec<TemplateRecord>>;
    async fn delete_template(&self, therapist_id: Uuid, id: Uuid) -> StoreResult<bool>;
    async fn assign_template(
        &self,
        patient_id: Uuid,
        therapist_id: Uuid,
        template_id: Uuid,
        now: DateTime<Utc>,
        audit: Option<&AccessRecord>,
    ) -> StoreResult<()>;
    /// The template most recently assigned to the patient by a therapist who still has a live
    /// grant (not ended, not expired at `now`) with the `manage_aftercare` scope.
    async fn assigned_template(&self, patient_id: Uuid, now: DateTime<Utc>) -> StoreResult<Option<Template>>;
}
