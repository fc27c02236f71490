//! Notes between a patient and a therapist. A therapist holding `read_journal` starts a thread
//! about one of the patient's entries, sessions or alerts; the patient answers in it (and the
//! therapist again). Each side is told by a generic notification, never with the text: a lock
//! screen and the push service see only that there is a note.
//!
//! The notes are the patient's data: a therapist reaches them through the same authorization
//! as the journal (a live grant with `read_journal`, 404 otherwise, every access in the
//! patient's access log) and sees only her own conversations; when her grant ends or loses the
//! scope she sees none of them, and the patient keeps them all.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::authz::{Access, Action, Allowed};
use super::notifications::Notice;
use super::{AppState, Error, Result};
use crate::domain::care::Scope;
use crate::domain::notes::{Note, Subject, SubjectKind, check_note_body};
use crate::domain::notifications::Kind;
use crate::domain::time::after_quiet_hours;
use crate::domain::{Role, ValidationErrors};
use crate::store::{IdempotencyClaim, NewNote, NewNotification, NotePosition, NoteTarget, NoteWrite, Principal};

/// Whose threads an allowed access reaches: the patient's all, a therapist's her own.
fn threads_of(principal: &Principal, allowed: &Allowed) -> Option<Uuid> {
    match allowed.access {
        Access::Owner => None,
        Access::Grant(_) => Some(principal.account_id),
    }
}

fn body_of(text: &str) -> Result<String> {
    check_note_body(text).map_err(|p| ValidationErrors::single("body", p.code, p.message).into())
}

fn unknown_subject() -> Error {
    ValidationErrors::single(
        "subject.id",
        "unknown_subject",
        "is not one of the patient's journal entries, sessions or alerts",
    )
    .into()
}

impl AppState {
    /// A therapist starts a thread about one of the patient's entries, sessions or alerts (an
    /// alert needs `receive_alerts` too: without it the alert is unknown to her). The patient is
    /// told by a generic push after their quiet hours. Patients answer notes; they do not start
    /// them (403).
    pub async fn write_note(
        &self,
        principal: &Principal,
        patient_id: Uuid,
        subject: Subject,
        text: &str,
        idempotency: Option<(&str, String)>,
    ) -> Result<(Note, bool)> {
        let allowed = self.authorize(principal, Action::WriteNotes, patient_id).await?;
        if allowed.access == Access::Owner {
            return Err(Error::Forbidden("Therapists start notes; patients answer them."));
        }
        let body = body_of(text)?;
        let now = self.clock.now();
        if subject.kind == SubjectKind::Alert {
            let grant = self.store.open_grant(patient_id, principal.account_id).await?;
            if !grant.is_some_and(|g| g.allows(Scope::ReceiveAlerts, now)) {
                return Err(unknown_subject());
            }
        }
        let note = NewNote {
            id: Uuid::now_v7(),
            patient_id,
            therapist_id: Some(principal.account_id),
            author: Role::Therapist,
            target: NoteTarget::Subject(subject),
            body,
            created_at: now,
        };
        self.store_note(principal, &allowed, note, "write_note", idempotency).await
    }

    /// An answer in the thread of `note_id`, by the patient or by the thread's therapist. The
    /// other side is told by a generic push: the patient after their quiet hours; the therapist
    /// after hers, and only while her grant still lets her read the notes (without it she could
    /// not open the answer).
    pub async fn answer_note(
        &self,
        principal: &Principal,
        patient_id: Uuid,
        note_id: Uuid,
        text: &str,
        idempotency: Option<(&str, String)>,
    ) -> Result<(Note, bool)> {
        let allowed = self.authorize(principal, Action::WriteNotes, patient_id).await?;
        let body = body_of(text)?;
        let note = NewNote {
            id: Uuid::now_v7(),
            patient_id,
            therapist_id: threads_of(principal, &allowed),
            author: principal.role,
            target: NoteTarget::ReplyTo(note_id),
            body,
            created_at: self.clock.now(),
        };
        self.store_note(principal, &allowed, note, "answer_note", idempotency).await
    }

    /// Stores a note with the notification for the other side, once per idempotency key.
    async fn store_note(
        &self,
        principal: &Principal,
        allowed: &Allowed,
        note: NewNote,
        operation: &str,
        idempotency: Option<(&str, String)>,
    ) -> Result<(Note, bool)> {
        let threads = threads_of(principal, allowed);
        if let Some((key, hash)) = &idempotency {
            match self.store.claim_idempotency(principal.account_id, key, operation, hash, note.created_at).await? {
                IdempotencyClaim::Claimed => {}
                IdempotencyClaim::Done { resource_id } => {
                    let first = self.store.note(note.patient_id, threads, resource_id, allowed.audit()).await?;
                    return Ok((first.ok_or(Error::NotFound)?, false));
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
        let result = self.add_note(&note, allowed).await;
        if let Some((key, _)) = &idempotency {
            let settled = match &result {
                Ok(_) => self.store.finish_idempotency(principal.account_id, key, note.id).await,
                Err(_) => self.store.release_idempotency(principal.account_id, key).await,
            };
            if let Err(error) = settled {
                tracing::warn!(%error, "could not settle an idempotency key; it expires with the others");
            }
        }
        Ok((result?, true))
    }

    async fn add_note(&self, note: &NewNote, allowed: &Allowed) -> Result<Note> {
        let notification = self.note_notification(note).await?;
        let due_at = notification.as_ref().map(|n| n.due_at);
        let stored = match self.store.add_note(note, notification.as_ref(), allowed.audit()).await? {
            NoteWrite::Added(stored) => stored,
            NoteWrite::NoSubject => return Err(unknown_subject()),
            NoteWrite::NoThread => return Err(Error::NotFound),
        };
        metrics::counter!("notes_written_total", "author" => note.author.as_str()).increment(1);
        if let Some(due_at) = due_at {
            self.wake_dispatcher_if_due(due_at);
        }
        Ok(stored)
    }

    /// The notification that tells the other side of a new note, if anyone is to be told.
    async fn note_notification(&self, note: &NewNote) -> Result<Option<NewNotification>> {
        let now = self.clock.now();
        let (recipient, kind, link) = match note.author {
            Role::Therapist => (note.patient_id, Kind::TherapistNote, format!("/notes/{}", note.id)),
            Role::Patient => {
                // The thread's therapist, while she may still read it.
                let NoteTarget::ReplyTo(to) = note.target else { return Ok(None) };
                let Some(therapist_id) =
                    self.store.note(note.patient_id, None, to, None).await?.and_then(|n| n.therapist_id)
                else {
                    return Ok(None);
                };
                let grant = self.store.open_grant(note.patient_id, therapist_id).await?;
                if !grant.is_some_and(|g| g.allows(Scope::ReadJournal, now)) {
                    return Ok(None);
                }
                let link = format!("/clients/{}/notes/{}", note.patient_id, note.id);
                (therapist_id, Kind::ClientNoteReply, link)
            }
        };
        let Some(account) = self.store.account(recipient).await? else { return Ok(None) };
        let notice = Notice {
            account_id: recipient,
            kind,
            dedupe_key: format!("note:{}", note.id),
            link,
            due_at: after_quiet_hours(now, account.time_zone, account.quiet_hours),
            subject_date: None,
        };
        Ok(Some(notice.into_notification(now)))
    }

    /// The notes of a patient, newest first: all of them for the patient, her own threads for a
    /// therapist. One more than `limit` is fetched to tell whether another page follows.
    pub async fn notes(
        &self,
        principal: &Principal,
        patient_id: Uuid,
        before: Option<NotePosition>,
        limit: u32,
    ) -> Result<(Vec<Note>, bool)> {
        let allowed = self.authorize(principal, Action::ReadNotes, patient_id).await?;
        let threads = threads_of(principal, &allowed);
        let mut notes = self.store.notes(patient_id, threads, before, limit + 1, allowed.audit()).await?;
        let more = notes.len() > limit as usize;
        notes.truncate(limit as usize);
        Ok((notes, more))
    }

    pub async fn note(&self, principal: &Principal, patient_id: Uuid, id: Uuid) -> Result<Note> {
        let allowed = self.authorize(principal, Action::ReadNotes, patient_id).await?;
        let threads = threads_of(principal, &allowed);
        self.store.note(patient_id, threads, id, allowed.audit()).await?.ok_or(Error::NotFound)
    }

    /// Marks a note of the other side read; a note of one's own, or one read already, is left
    /// as it is.
    pub async fn mark_note_read(&self, principal: &Principal, patient_id: Uuid, id: Uuid) -> Result<Note> {
        let allowed = self.authorize(principal, Action::WriteNotes, patient_id).await?;
        let threads = threads_of(principal, &allowed);
        let now: DateTime<Utc> = self.clock.now();
        self.store
            .mark_note_read(patient_id, threads, id, principal.role, now, allowed.audit())
            .await?
            .ok_or(Error::NotFound)
    }
}
