//! The one place that decides who may touch a patient's data. Every use case on patient data
//! asks it first; a refusal looks exactly like a patient that does not exist (404), so ids
//! cannot be probed.
//!
//! A patient reaches their own data. A therapist reaches a patient's data through a live grant
//! (not ended, not expired) whose scopes include the one the action needs; the grant is read
//! from the database on every call, so a revocation or expiry holds from the very next request.
//! Every attempt by anyone but the patient, allowed or refused, is appended to the patient's
//! access log: a refusal at once, an allowed access in the same transaction as the read or
//! write it allows, so the log holds exactly what someone else read or changed.
//!
//! The caseload reads many clients at once and cannot ask per client; its query states the
//! same rule in SQL (`store::sql::care`), with the scope it needs taken from [`Action::scope`].

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{AppState, Error, Result, context};
use crate::domain::Role;
use crate::domain::care::{Grant, Scope};
use crate::store::{AccessRecord, Principal};

/// What an actor wants to do with a patient's data. [`Action::as_str`] is what the access log
/// records as the operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    WriteJournalEntry,
    DeleteJournalEntry,
    ReadJournalEntry,
    ListJournalEntries,
    ReadJournalChanges,
    ReadJournalDays,
    ReadJournalSummary,
    /// The pain chart and the clinician report of a date range.
    ReadReport,
    /// Making, listing and revoking share links: the patient's own.
    ManageShareLinks,
    SubmitQuestionnaire,
    ReadQuestionnaires,
    /// The journal summary of every client in a therapist's caseload.
    ReadCaseloadSummary,
    /// "Who viewed my journal".
    ReadAccessLog,
    /// Inviting therapists, and changing or revoking their grants.
    ManageCareTeam,
    /// Sessions with their aftercare plans, adherence and check-in answers.
    ReadSessions,
    /// The health screen, also as the contraindication screen of a planned session.
    ReadHealthScreen,
    /// Recording, changing or deleting a session.
    RecordSession,
    /// The patient's own health screen.
    WriteHealthScreen,
    /// Marking aftercare steps done and answering check-ins: the patient's own.
    AnswerAftercare,
    ManageAftercare,
    ReceiveAlerts,
    /// List and read alerts with their evidence.
    ReadAlerts,
    /// Acknowledge or resolve alerts.
    AcknowledgeAlerts,
    /// List and read the notes between the patient and a therapist (a therapist: her own).
    ReadNotes,
    /// Write a note or an answer, or mark one read.
    WriteNotes,
    /// Download everything at once (JSON, CSV or FHIR): one access log line per export.
    ExportJournal,
}

impl Action {
    pub const ALL: &'static [Action] = &[
        Action::WriteJournalEntry,
        Action::DeleteJournalEntry,
        Action::ReadJournalEntry,
        Action::ListJournalEntries,
        Action::ReadJournalChanges,
        Action::ReadJournalDays,
        Action::ReadJournalSummary,
        Action::ReadReport,
        Action::ManageShareLinks,
        Action::SubmitQuestionnaire,
        Action::ReadQuestionnaires,
        Action::ReadCaseloadSummary,
        Action::ReadAccessLog,
        Action::ManageCareTeam,
        Action::ReadSessions,
        Action::ReadHealthScreen,
        Action::RecordSession,
        Action::WriteHealthScreen,
        Action::AnswerAftercare,
        Action::ManageAftercare,
        Action::ReceiveAlerts,
        Action::ReadAlerts,
        Action::AcknowledgeAlerts,
        Action::ReadNotes,
        Action::WriteNotes,
        Action::ExportJournal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::WriteJournalEntry => "write_journal_entry",
            Action::DeleteJournalEntry => "delete_journal_entry",
            Action::ReadJournalEntry => "read_journal_entry",
            Action::ListJournalEntries => "list_journal_entries",
            Action::ReadJournalChanges => "read_journal_changes",
            Action::ReadJournalDays => "read_journal_days",
            Action::ReadJournalSummary => "read_journal_summary",
            Action::ReadReport => "read_report",
            Action::ManageShareLinks => "manage_share_links",
            Action::SubmitQuestionnaire => "submit_questionnaire",
            Action::ReadQuestionnaires => "read_questionnaires",
            Action::ReadCaseloadSummary => "read_caseload_summary",
            Action::ReadAccessLog => "read_access_log",
            Action::ManageCareTeam => "manage_care_team",
            Action::ReadSessions => "read_sessions",
            Action::ReadHealthScreen => "read_health_screen",
            Action::RecordSession => "record_session",
            Action::WriteHealthScreen => "write_health_screen",
            Action::AnswerAftercare => "answer_aftercare",
            Action::ManageAftercare => "manage_aftercare",
            Action::ReceiveAlerts => "receive_alerts",
            Action::ReadAlerts => "read_alerts",
            Action::AcknowledgeAlerts => "acknowledge_alerts",
            Action::ReadNotes => "read_notes",
            Action::WriteNotes => "write_notes",
            Action::ExportJournal => "export_journal",
        }
    }

    /// The scope a therapist's grant needs for this action; `None`: only the patient may.
    pub fn scope(self) -> Option<Scope> {
        match self {
            Action::ReadJournalEntry
            | Action::ListJournalEntries
            | Action::ReadJournalChanges
            | Action::ReadJournalDays
            | Action::ReadJournalSummary
            | Action::ReadReport
            | Action::ReadQuestionnaires
            | Action::ReadCaseloadSummary
            | Action::ReadSessions
            | Action::ReadHealthScreen
            | Action::ReadNotes
            | Action::WriteNotes
            | Action::ExportJournal => Some(Scope::ReadJournal),
            Action::RecordSession => Some(Scope::RecordSessions),
            Action::ManageAftercare => Some(Scope::ManageAftercare),
            Action::ReceiveAlerts | Action::ReadAlerts | Action::AcknowledgeAlerts => Some(Scope::ReceiveAlerts),
            Action::WriteJournalEntry
            | Action::DeleteJournalEntry
            | Action::SubmitQuestionnaire
            | Action::ReadAccessLog
            | Action::ManageCareTeam
            | Action::ManageShareLinks
            | Action::WriteHealthScreen
            | Action::AnswerAftercare => None,
        }
    }
}

/// On whose authority an action is allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// The patient's own data.
    Owner,
    /// A therapist's live grant, by id.
    Grant(Uuid),
}

/// An allowed action, and the access log line it owes the patient: the repository appends it
/// in the same transaction as the read or write (`None` for the patient's own data).
#[derive(Debug, Clone)]
#[must_use = "pass `audit()` to the repository call that reads or writes the patient's data"]
pub struct Allowed {
    pub access: Access,
    line: Option<AccessRecord>,
}

impl Allowed {
    /// The line for the repository call that does the read or write.
    pub fn audit(&self) -> Option<&AccessRecord> {
        self.line.as_ref()
    }

    /// For actions only the patient may take (no [`Action::scope`]): there is nothing to log.
    pub fn patient_only(self) {
        debug_assert!(self.line.is_none() && self.access == Access::Owner);
    }
}

/// The decision itself, given the open grant between the therapist and the patient (if any).
pub fn decide(
    principal: &Principal,
    action: Action,
    patient_id: Uuid,
    grant: Option<&Grant>,
    now: DateTime<Utc>,
) -> Option<Access> {
    if principal.role == Role::Patient && principal.account_id == patient_id {
        return Some(Access::Owner);
    }
    match (principal.role, action.scope(), grant) {
        (Role::Therapist, Some(scope), Some(grant))
            if grant.therapist_id == principal.account_id
                && grant.patient_id == patient_id
                && grant.allows(scope, now) =>
        {
            Some(Access::Grant(grant.id))
        }
        _ => None,
    }
}

impl AppState {
    /// Allows `principal` to do `action` on the data of `patient_id`, or answers not found.
    /// Anyone but the patient leaves a line in the patient's access log, whatever the answer: a
    /// refusal at once, an allowed access with the read or write itself (see [`Allowed`]).
    pub async fn authorize(&self, principal: &Principal, action: Action, patient_id: Uuid) -> Result<Allowed> {
        let now = self.clock.now();
        if let Some(Access::Owner) = decide(principal, action, patient_id, None, now) {
            return Ok(Allowed { access: Access::Owner, line: None });
        }
        let grant = match (principal.role, action.scope()) {
            (Role::Therapist, Some(_)) => self.store.open_grant(patient_id, principal.account_id).await?,
            _ => None,
        };
        let access = decide(principal, action, patient_id, grant.as_ref(), now);
        let line = AccessRecord {
            patient_id,
            actor_id: principal.account_id,
            actor_role: principal.role,
            operation: action.as_str(),
            allowed: access.is_some(),
            request_id: context::request_id(),
            at: now,
            share_link: None,
        };
        let outcome = if access.is_some() { "allowed" } else { "denied" };
        metrics::counter!("patient_data_access_total", "role" => principal.role.as_str(), "outcome" => outcome)
            .increment(1);
        match access {
            Some(access) => Ok(Allowed { access, line: Some(line) }),
            None => {
                self.store.append_access(&line).await?;
                Err(Error::NotFound)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;
    use crate::domain::care::Scopes;

    fn principal(role: Role) -> Principal {
        Principal { account_id: Uuid::now_v7(), session_id: Uuid::now_v7(), role, time_zone: Default::default() }
    }

    fn grant(patient: &Principal, therapist: &Principal, scopes: &[Scope], now: DateTime<Utc>) -> Grant {
        Grant {
            id: Uuid::now_v7(),
            patient_id: patient.account_id,
            therapist_id: therapist.account_id,
            scopes: Scopes::new(scopes.iter().copied()).unwrap(),
            created_at: now,
            updated_at: now,
            expires_at: None,
            ended_at: None,
        }
    }

    #[test]
    fn patients_reach_only_their_own_data() {
        let now = Utc::now();
        let ana = principal(Role::Patient);
        let bob = principal(Role::Patient);
        for action in Action::ALL.iter().copied() {
            assert_eq!(decide(&ana, action, ana.account_id, None, now), Some(Access::Owner));
            assert_eq!(decide(&ana, action, bob.account_id, None, now), None);
        }
    }

    #[test]
    fn therapists_reach_a_client_through_a_live_grant_with_the_scope() {
        let now = Utc::now();
        let ana = principal(Role::Patient);
        let tom = principal(Role::Therapist);
        let reads = grant(&ana, &tom, &[Scope::ReadJournal], now);
        let allowed = Some(Access::Grant(reads.id));
        assert_eq!(decide(&tom, Action::ListJournalEntries, ana.account_id, Some(&reads), now), allowed);
        assert_eq!(decide(&tom, Action::RecordSession, ana.account_id, Some(&reads), now), None, "scope missing");
        assert_eq!(decide(&tom, Action::ListJournalEntries, ana.account_id, None, now), None, "no grant");

        let revoked = Grant { ended_at: Some(now), ..reads.clone() };
        assert_eq!(decide(&tom, Action::ReadJournalEntry, ana.account_id, Some(&revoked), now), None);
        let expiring = Grant { expires_at: Some(now + TimeDelta::minutes(5)), ..reads.clone() };
        assert!(decide(&tom, Action::ReadJournalEntry, ana.account_id, Some(&expiring), now).is_some());
        let later = now + TimeDelta::minutes(5);
        assert_eq!(decide(&tom, Action::ReadJournalEntry, ana.account_id, Some(&expiring), later), None);

        // A grant only ever speaks for its own pair.
        let bob = principal(Role::Patient);
        assert_eq!(decide(&tom, Action::ReadJournalEntry, bob.account_id, Some(&reads), now), None);
        let tess = principal(Role::Therapist);
        assert_eq!(decide(&tess, Action::ReadJournalEntry, ana.account_id, Some(&reads), now), None);
    }

    #[test]
    fn some_actions_are_the_patients_alone() {
        let now = Utc::now();
        let ana = principal(Role::Patient);
        let tom = principal(Role::Therapist);
        let everything = grant(&ana, &tom, Scope::ALL, now);
        for action in Action::ALL.iter().copied() {
            let decision = decide(&tom, action, ana.account_id, Some(&everything), now);
            assert_eq!(decision.is_some(), action.scope().is_some(), "{action:?}");
        }
        for action in [
            Action::WriteJournalEntry,
            Action::DeleteJournalEntry,
            Action::SubmitQuestionnaire,
            Action::ReadAccessLog,
            Action::ManageCareTeam,
        ] {
            assert_eq!(action.scope(), None, "{action:?}");
        }
    }

    #[test]
    fn therapists_have_no_data_of_their_own() {
        let tom = principal(Role::Therapist);
        for action in Action::ALL.iter().copied() {
            assert_eq!(decide(&tom, action, tom.account_id, None, Utc::now()), None);
        }
    }

    #[test]
    fn operation_names_are_unique_snake_case() {
        let names: std::collections::BTreeSet<&str> = Action::ALL.iter().map(|a| a.as_str()).collect();
        assert_eq!(names.len(), Action::ALL.len());
        assert!(names.iter().all(|n| n.chars().all(|c| c.is_ascii_lowercase() || c == '_')));
    }
}
