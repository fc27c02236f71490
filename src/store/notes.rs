use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{AccessRecord, NewNotification, StoreResult};
use crate::domain::Role;
use crate::domain::notes::{Note, Subject};

/// What a new note answers to: a subject (a new thread) or a note of an existing thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoteTarget {
    Subject(Subject),
    ReplyTo(Uuid),
}

/// A note about to be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNote {
    pub id: Uuid,
    pub patient_id: Uuid,
    /// The therapist writing it; for the patient's answer, `None` (the thread's therapist).
    pub therapist_id: Option<Uuid>,
    pub author: Role,
    pub target: NoteTarget,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

/// What storing a note did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoteWrite {
    Added(Note),
    /// The subject is not one of the patient's entries (live), sessions or alerts.
    NoSubject,
    /// No note with that id in the patient's threads (a therapist's: her own).
    NoThread,
}

/// Where a newest-first listing of notes continues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotePosition {
    pub created_at: DateTime<Utc>,
    pub id: Uuid,
}

/// Notes between patients and therapists. `therapist` narrows a read or write to the threads of
/// one therapist (a therapist sees only her own conversations); `None` is the patient, who sees
/// all of theirs. `audit` is appended in the same transaction (see [`AccessRecord`]), also when
/// nothing is found: the access was allowed and happened.
#[async_trait]
pub trait NoteRepo {
    /// Stores a note and, with it, the notification that tells the other side (tied to the note,
    /// so it goes with it), in one transaction.
    async fn add_note(
        &self,
        note: &NewNote,
        notification: Option<&NewNotification>,
        audit: Option<&AccessRecord>,
    ) -> StoreResult<NoteWrite>;
    /// Newest first, before `before`.
    async fn notes(
        &self,
        patient_id: Uuid,
        therapist: Option<Uuid>,
        before: Option<NotePosition>,
        limit: u32,
        audit: Option<&AccessRecord>,
    ) -> StoreResult<Vec<Note>>;
    async fn note(
        &self,
        patient_id: Uuid,
        therapist: Option<Uuid>,
        id: Uuid,
        audit: Option<&AccessRecord>,
    ) -> StoreResult<Option<Note>>;
    /// Marks a note read by `reader` when it was written by the other side and is unread; the
    /// note as it is now, whatever it was.
    #[allow(clippy::too_many_arguments)]
    async fn mark_note_read(
        &self,
        patient_id: Uuid,
        therapist: Option<Uuid>,
        id: Uuid,
        reader: Role,
        now: DateTime<Utc>,
        audit: Option<&AccessRecord>,
    ) -> StoreResult<Option<Note>>;
}
