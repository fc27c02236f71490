//! Export of everything a patient provided and the service derived from it (GDPR Art. 15 and
//! 20), for the patient and for a therapist whose grant has `read_journal`.
//!
//! An export is read a page at a time while it is written out, so a journal of years never sits
//! in memory. It is authorized once, when it is opened, and that is the one line it writes to the
//! patient's access log (`export_journal`), written before the first page is read: an export
//! that breaks off half way was still an export the patient should know about.
//!
//! What the reader sees follows the grant: a therapist reads the journal, daily roll-ups,
//! questionnaires, sessions and the health screen, and the alerts only with `receive_alerts`;
//! the care team and the access log are the patient's alone. Notes are the conversations of
//! the reader: all of them in the patient's export, a therapist's own in hers.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use uuid::Uuid;

use super::authz::{Access, Action, decide};
use super::{AppState, Error, Result};
use crate::domain::account::Account;
use crate::domain::alerts::Alert;
use crate::domain::journal::Entry;
use crate::domain::notes::Note;
use crate::domain::rollup::{self, DailyRollup};
use crate::domain::screening::HealthScreen;
use crate::domain::{Role, TimeZone};
use crate::store::{
    AccessLogItem, AlertFilter, EntryPosition, GrantParty, GrantRecord, LogPosition, MassageSession, NotePosition,
    Principal, QuestionnairePosition, QuestionnaireRecord, SessionPosition, StepRecord,
};

/// How many rows one read of an export fetches.
pub const EXPORT_PAGE: u32 = 500;

/// An authorized export, read a page at a time.
#[derive(Clone)]
pub struct Export {
    state: AppState,
    pub patient_id: Uuid,
    /// When the export was opened; nothing recorded later is in it.
    pub exported_at: DateTime<Utc>,
    /// The patient's own export (care team and access log included).
    pub by_patient: bool,
    /// Whether the reader may see the patient's alerts.
    pub alerts_visible: bool,
    /// The therapist reading, whose own conversations with the patient are in her export;
    /// `None` for the patient, whose export holds all of theirs.
    therapist: Option<Uuid>,
    until: DateTime<Utc>,
}

impl AppState {
    /// Authorizes an export of `patient_id`'s data and writes its access log line; anyone
    /// without the right gets not found, as for every read of patient data.
    pub async fn open_export(&self, principal: &Principal, patient_id: Uuid) -> Result<Export> {
        let allowed = self.authorize(principal, Action::ExportJournal, patient_id).await?;
        let now = self.clock.now();
        let alerts_visible = match allowed.access {
            Access::Owner => true,
            Access::Grant(_) => {
                let grant = self.store.open_grant(patient_id, principal.account_id).await?;
                decide(principal, Action::ReadAlerts, patient_id, grant.as_ref(), now).is_some()
            }
        };
        if let Some(line) = allowed.audit() {
            self.store.append_access(line).await?;
        }
        metrics::counter!("journal_exports_total", "role" => principal.role.as_str()).increment(1);
        Ok(Export {
            state: self.clone(),
            patient_id,
            exported_at: now,
            by_patient: allowed.access == Access::Owner,
            alerts_visible,
            therapist: (allowed.access != Access::Owner).then_some(principal.account_id),
            // Entries may be dated a little ahead of the clock; sessions recorded before they start.
            until: now + TimeDelta::days(1),
        })
    }
}

impl Export {
    /// The patient's profile.
    pub async fn profile(&self) -> Result<Account> {
        self.state.store.account(self.patient_id).await?.ok_or(Error::NotFound)
    }

    /// The patient's time zone, for dates and the names of files.
    pub async fn time_zone(&self) -> Result<TimeZone> {
        Ok(self.profile().await?.time_zone)
    }

    /// Live entries, newest first, after `after`.
    pub async fn entries(&self, after: Option<EntryPosition>, limit: u32) -> Result<Vec<Entry>> {
        let from = DateTime::<Utc>::UNIX_EPOCH;
        Ok(self.state.store.entries(self.patient_id, from, self.until, after, limit, None).await?)
    }

    /// Daily roll-ups of the local dates `from..=to`.
    pub async fn days(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<DailyRollup>> {
        Ok(rollup::daily_rollups(self.state.store.rollup_inputs(self.patient_id, from, to, None).await?))
    }

    /// Questionnaire responses, oldest first, after `after`.
    pub async fn questionnaires(
        &self,
        after: Option<QuestionnairePosition>,
        limit: u32,
    ) -> Result<Vec<QuestionnaireRecord>> {
        let from = DateTime::<Utc>::UNIX_EPOCH;
        let page = self.state.store.questionnaires(self.patient_id, None, from, self.until, after, limit, None).await?;
        Ok(page.items)
    }

    /// Sessions, newest first, after `after`, each with its plan's steps (adherence and
    /// check-in answers).
    pub async fn sessions(
        &self,
        after: Option<SessionPosition>,
        limit: u32,
    ) -> Result<Vec<(MassageSession, Vec<StepRecord>)>> {
        let from = DateTime::<Utc>::UNIX_EPOCH;
        let sessions = self.state.store.massage_sessions(self.patient_id, from, self.until, after, limit, None).await?;
        let mut out = Vec::with_capacity(sessions.len());
        for session in sessions {
            let steps = self.state.store.steps(session.id).await?;
            out.push((session, steps));
        }
        Ok(out)
    }

    /// Notes between the patient and therapists, newest first, before `before`: all of the
    /// patient's conversations in their own export, the reader's own in a therapist's.
    pub async fn notes(&self, before: Option<NotePosition>, limit: u32) -> Result<Vec<Note>> {
        Ok(self.state.store.notes(self.patient_id, self.therapist, before, limit, None).await?)
    }

    /// The health screen and when it was saved, if ever.
    pub async fn health_screen(&self) -> Result<Option<(HealthScreen, DateTime<Utc>)>> {
        Ok(self.state.store.health_screen(self.patient_id, None).await?)
    }

    /// Alerts with their evidence, newest first, before `before`; `None` when the reader may
    /// not see them.
    pub async fn alerts(&self, before: Option<(DateTime<Utc>, Uuid)>, limit: u32) -> Result<Option<Vec<Alert>>> {
        if !self.alerts_visible {
            return Ok(None);
        }
        let filter = AlertFilter::default();
        Ok(Some(self.state.store.alerts(self.patient_id, filter, before, limit, None).await?))
    }

    /// The open alerts (not resolved), for summaries such as the FHIR bundle's flags.
    pub async fn open_alerts(&self) -> Result<Vec<Alert>> {
        let mut open = Vec::new();
        let mut before = None;
        while let Some(page) = self.alerts(before, EXPORT_PAGE).await? {
            let done = page.len() < EXPORT_PAGE as usize;
            before = page.last().map(|a| (a.opened_at, a.id));
            open.extend(page.into_iter().filter(|a| a.resolved.is_none()));
            if done {
                break;
            }
        }
        Ok(open)
    }

    /// The patient's grants to therapists; `None` for a therapist's export.
    pub async fn grants(&self) -> Result<Option<Vec<GrantRecord>>> {
        if !self.by_patient {
            return Ok(None);
        }
        Ok(Some(self.state.store.open_grants(GrantParty::Patient(self.patient_id)).await?))
    }

    /// The access log, newest first, after `after`; `None` for a therapist's export. As in
    /// "who viewed my journal", a therapist is named and another patient is not.
    pub async fn access_log(&self, after: Option<LogPosition>, limit: u32) -> Result<Option<Vec<AccessLogItem>>> {
        if !self.by_patient {
            return Ok(None);
        }
        let mut items = self.state.store.access_log(self.patient_id, after, limit).await?;
        for item in &mut items {
            if item.actor.role != Role::Therapist {
                item.actor.display_name = None;
            }
        }
        Ok(Some(items))
    }

    /// The instant grants are judged at (active or expired).
    pub fn now(&self) -> DateTime<Utc> {
        self.exported_at
    }
}
