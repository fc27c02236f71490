//! Notes between a patient and a therapist. A therapist (with `read_journal`) writes a note
//! about one of the patient's entries, sessions or alerts under `/v1/patients/{patient_id}/notes`;
//! the patient reads and answers them under `/v1/notes`. The patient is told by a generic push
//! ("your therapist left a note"), never with the text.

use poem::web::Data;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::ApiTags;
use super::error::{ApiError, Problems, status};
use super::examples;
use super::journal::own_journal;
use super::json::JsonBody;
use super::pagination;
use super::security::BearerAuth;
use super::timestamps::Timestamp;
use crate::domain::Role;
use crate::domain::notes::{Note, Subject, SubjectKind};
use crate::service::AppState;
use crate::store::{NotePosition, Principal};

/// What a thread of notes is about.
///
/// - `entry`: a journal entry (`GET /v1/journal/entries/{entry_id}`).
/// - `session`: a massage session (`GET /v1/sessions/{session_id}`).
/// - `alert`: an alert (`GET /v1/alerts/{alert_id}`); a therapist needs `receive_alerts` too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Deserialize, Serialize)]
#[oai(rename = "NoteSubjectKind", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum SubjectKindBody {
    /// A journal entry.
    Entry,
    /// A massage session.
    Session,
    /// An alert.
    Alert,
}

impl From<SubjectKindBody> for SubjectKind {
    fn from(kind: SubjectKindBody) -> Self {
        match kind {
            SubjectKindBody::Entry => SubjectKind::Entry,
            SubjectKindBody::Session => SubjectKind::Session,
            SubjectKindBody::Alert => SubjectKind::Alert,
        }
    }
}

impl From<SubjectKind> for SubjectKindBody {
    fn from(kind: SubjectKind) -> Self {
        match kind {
            SubjectKind::Entry => SubjectKindBody::Entry,
            SubjectKind::Session => SubjectKindBody::Session,
            SubjectKind::Alert => SubjectKindBody::Alert,
        }
    }
}

/// The entry, session or alert of the patient a thread is about.
#[derive(Debug, Clone, Object, Deserialize, Serialize)]
#[oai(rename = "NoteSubject", example)]
#[serde(deny_unknown_fields)]
pub struct SubjectBody {
    /// Entry, session or alert.
    pub kind: SubjectKindBody,
    /// Its id.
    pub id: Uuid,
}

impl Example for SubjectBody {
    fn example() -> Self {
        Self { kind: SubjectKindBody::Entry, id: examples::id(examples::ENTRY) }
    }
}

/// A therapist's new note: what it is about, and the text.
#[derive(Debug, Clone, Object, Deserialize, Serialize)]
#[oai(rename = "NoteWrite", example)]
#[serde(deny_unknown_fields)]
pub struct NoteWriteBody {
    /// One of the patient's live journal entries, sessions or alerts (422 `unknown_subject`
    /// otherwise).
    pub subject: SubjectBody,
    /// The note: 1–2000 characters as sent; surrounding spaces are trimmed, and at least one
    /// character must be neither a space nor a control character.
    #[oai(validator(max_length = 2000, pattern = r"[^\s\x00-\x1f\x7f-\x9f]"))]
    pub body: String,
}

impl Example for NoteWriteBody {
    fn example() -> Self {
        Self { subject: SubjectBody::example(), body: "How is the left side since Tuesday?".into() }
    }
}

/// An answer in a thread.
#[derive(Debug, Clone, Object, Deserialize, Serialize)]
#[oai(rename = "NoteAnswer", example)]
#[serde(deny_unknown_fields)]
pub struct NoteAnswerBody {
    /// The answer: 1–2000 characters as sent; surrounding spaces are trimmed, and at least one
    /// character must be neither a space nor a control character.
    #[oai(validator(max_length = 2000, pattern = r"[^\s\x00-\x1f\x7f-\x9f]"))]
    pub body: String,
}

impl Example for NoteAnswerBody {
    fn example() -> Self {
        Self { body: "Better since the session, only stiff in the morning.".into() }
    }
}

/// Who wrote a note.
///
/// - `therapist`: the therapist of the thread.
/// - `patient`: the patient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename = "NoteAuthor", rename_all = "snake_case")]
pub enum AuthorBody {
    /// The therapist of the thread.
    Therapist,
    /// The patient.
    Patient,
}

/// A note between the patient and a therapist.
#[derive(Debug, Clone, Object)]
#[oai(rename = "Note", example)]
pub struct NoteBody {
    /// Identifies the note.
    pub id: Uuid,
    /// The first note of its thread (the note's own id for the first one); answers share it.
    pub thread_id: Uuid,
    /// What the thread is about.
    pub subject: SubjectBody,
    /// Who wrote it.
    pub author: AuthorBody,
    /// The therapist of the thread; `null` once that account is gone.
    pub therapist_id: Option<Uuid>,
    /// The therapist's display name; `null` when none is set or the account is gone.
    pub therapist_name: Option<String>,
    /// The text.
    pub body: String,
    /// When it was written (RFC 3339, UTC).
    pub created_at: Timestamp,
    /// When the side it was written to (the other one) marked it read; `null` until then.
    pub read_at: Option<Timestamp>,
}

impl From<Note> for NoteBody {
    fn from(note: Note) -> Self {
        Self {
            id: note.id,
            thread_id: note.thread_id,
            subject: SubjectBody { kind: note.subject.kind.into(), id: note.subject.id },
            author: match note.author {
                Role::Therapist => AuthorBody::Therapist,
                Role::Patient => AuthorBody::Patient,
            },
            therapist_id: note.therapist_id,
            therapist_name: note.therapist_name,
            body: note.body,
            created_at: Timestamp(note.created_at),
            read_at: note.read_at.map(Timestamp),
        }
    }
}

impl Example for NoteBody {
    fn example() -> Self {
        Self {
            id: examples::id(examples::NOTE),
            thread_id: examples::id(examples::NOTE),
            subject: SubjectBody::example(),
            author: AuthorBody::Therapist,
            therapist_id: Some(examples::id(examples::THERAPIST)),
            therapist_name: Some("Jonas".into()),
            body: "How is the left side since Tuesday?".into(),
            created_at: Timestamp(examples::at("2026-11-24T09:05:12Z")),
            read_at: Some(Timestamp(examples::at("2026-11-24T12:40:00Z"))),
        }
    }
}

/// One page of notes.
#[derive(Debug, Clone, Object)]
#[oai(rename = "NotePage", example)]
pub struct NotePage {
    /// Newest first; a thread's notes share `thread_id`.
    pub items: Vec<NoteBody>,
    /// Present when more follow; pass as `cursor`.
    pub next_cursor: Option<String>,
}

impl Example for NotePage {
    fn example() -> Self {
        let answer = NoteBody {
            id: examples::id(examples::NOTE_ANSWER),
            author: AuthorBody::Patient,
            body: "Better since the session, only stiff in the morning.".into(),
            created_at: Timestamp(examples::at("2026-11-24T12:41:30Z")),
            read_at: None,
            ..NoteBody::example()
        };
        Self { items: vec![answer, NoteBody::example()], next_cursor: None }
    }
}

#[derive(ApiResponse)]
pub enum NoteCreated {
    /// Stored, and the other side told (or, with a repeated `Idempotency-Key`, the first
    /// request's note).
    #[oai(status = 201)]
    Created(
        Json<NoteBody>,
        /// Where the note can be read.
        #[oai(header = "Location")]
        String,
    ),
}

type Read = Problems<{ status::AUTHENTICATED | status::FORBIDDEN | status::NOT_FOUND }>;
type Listed = Problems<{ status::AUTHENTICATED | status::FORBIDDEN | status::NOT_FOUND | status::UNPROCESSABLE }>;
type Written =
    Problems<{ status::AUTHENTICATED | status::BODY | status::FORBIDDEN | status::NOT_FOUND | status::CONFLICT }>;

fn request_hash<T: Serialize>(about: Option<Uuid>, body: &T) -> String {
    let mut hasher = Sha256::new();
    if let Some(id) = about {
        hasher.update(id.as_bytes());
    }
    hasher.update(serde_json::to_vec(body).unwrap_or_default());
    format!("{:x}", hasher.finalize())
}

fn key(header: &Header<Option<String>>) -> Option<&str> {
    header.0.as_deref().map(str::trim).filter(|k| !k.is_empty())
}

async fn list(
    state: &AppState,
    principal: &Principal,
    patient_id: Uuid,
    limit: Option<u32>,
    cursor: Option<&str>,
) -> Result<NotePage, ApiError> {
    let limit = pagination::limit(limit)?;
    let before = pagination::decode_note_cursor(cursor)?;
    let (notes, more) = state.notes(principal, patient_id, before, limit).await?;
    let next_cursor = more
        .then(|| notes.last())
        .flatten()
        .map(|n| pagination::encode_note_cursor(NotePosition { created_at: n.created_at, id: n.id }));
    Ok(NotePage { items: notes.into_iter().map(Into::into).collect(), next_cursor })
}

pub struct NotesApi;

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Notes")]
impl NotesApi {
    /// List my notes
    ///
    /// The notes your therapists wrote you and your answers, newest first, a page at a time.
    /// Patients only (403 for therapists).
    #[oai(path = "/notes", method = "get", operation_id = "listNotes")]
    async fn list_mine(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// Page size, 1–200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        #[oai(validator(max_length = 200))]
        cursor: Query<Option<String>>,
    ) -> Result<Json<NotePage>, Listed> {
        let me = own_journal(&auth.0)?;
        Ok(Json(list(&state, &auth.0, me, limit.0, cursor.0.as_deref()).await?))
    }

    /// Read a note
    ///
    /// One of your notes. Patients only (403 for therapists).
    #[oai(path = "/notes/:note_id", method = "get", operation_id = "getNote")]
    async fn get_mine(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// The note's id.
        note_id: Path<Uuid>,
    ) -> Result<Json<NoteBody>, Read> {
        let me = own_journal(&auth.0)?;
        Ok(Json(state.note(&auth.0, me, note_id.0).await?.into()))
    }

    /// Answer a note
    ///
    /// Adds your answer to the thread of the note; the therapist is told by a generic push
    /// while she may still read your notes. Send an `Idempotency-Key` so a retry does not
    /// answer twice. Patients only (403 for therapists).
    #[oai(path = "/notes/:note_id/replies", method = "post", operation_id = "answerNote")]
    async fn answer_mine(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// The note answered (any note of the thread).
        note_id: Path<Uuid>,
        /// Makes the request safe to retry; kept for 7 days.
        #[oai(name = "Idempotency-Key", validator(min_length = 1, max_length = 100))]
        idempotency_key: Header<Option<String>>,
        body: JsonBody<NoteAnswerBody>,
    ) -> Result<NoteCreated, Written> {
        let me = own_journal(&auth.0)?;
        let hash = request_hash(Some(note_id.0), &body.0);
        let idempotency = key(&idempotency_key).map(|k| (k, hash));
        let (note, _) = state.answer_note(&auth.0, me, note_id.0, &body.0.body, idempotency).await?;
        let location = format!("/v1/notes/{}", note.id);
        Ok(NoteCreated::Created(Json(note.into()), location))
    }

    /// Mark a note read
    ///
    /// Records that you read a note your therapist wrote; your own notes and notes read
    /// before are left as they are. Patients only (403 for therapists).
    #[oai(path = "/notes/:note_id/read", method = "post", operation_id = "markNoteRead")]
    async fn mark_mine(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// The note's id.
        note_id: Path<Uuid>,
    ) -> Result<Json<NoteBody>, Read> {
        let me = own_journal(&auth.0)?;
        Ok(Json(state.mark_note_read(&auth.0, me, note_id.0).await?.into()))
    }

    /// List the notes with a patient
    ///
    /// A therapist's threads with the patient (hers only, never another therapist's), with the
    /// patient's answers, newest first. Needs a live grant with `read_journal`: once it ends or
    /// loses the scope, the notes are hidden from her (404) and stay with the patient. The
    /// patient may use their own id and sees all their notes.
    #[oai(path = "/patients/:patient_id/notes", method = "get", operation_id = "listPatientNotes")]
    async fn list_patient(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// The patient's account id.
        patient_id: Path<Uuid>,
        /// Page size, 1–200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        #[oai(validator(max_length = 200))]
        cursor: Query<Option<String>>,
    ) -> Result<Json<NotePage>, Listed> {
        Ok(Json(list(&state, &auth.0, patient_id.0, limit.0, cursor.0.as_deref()).await?))
    }

    /// Write a note to a patient
    ///
    /// Starts a thread about one of the patient's journal entries, sessions or alerts (an
    /// alert needs `receive_alerts` too). The patient gets a push that says only that there is
    /// a note, after their quiet hours. Needs a live grant with `read_journal`; patients answer
    /// notes instead (403). Send an `Idempotency-Key` so a retry does not write it twice.
    #[oai(path = "/patients/:patient_id/notes", method = "post", operation_id = "writePatientNote")]
    async fn write(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// The patient's account id.
        patient_id: Path<Uuid>,
        /// Makes the request safe to retry; kept for 7 days.
        #[oai(name = "Idempotency-Key", validator(min_length = 1, max_length = 100))]
        idempotency_key: Header<Option<String>>,
        body: JsonBody<NoteWriteBody>,
    ) -> Result<NoteCreated, Written> {
        let hash = request_hash(Some(patient_id.0), &body.0);
        let idempotency = key(&idempotency_key).map(|k| (k, hash));
        let subject = Subject { kind: body.0.subject.kind.into(), id: body.0.subject.id };
        let (note, _) = state.write_note(&auth.0, patient_id.0, subject, &body.0.body, idempotency).await?;
        let location = format!("/v1/patients/{}/notes/{}", patient_id.0, note.id);
        Ok(NoteCreated::Created(Json(note.into()), location))
    }

    /// Read a note with a patient
    ///
    /// One note of the therapist's own threads with the patient. Needs a live grant with
    /// `read_journal`.
    #[oai(path = "/patients/:patient_id/notes/:note_id", method = "get", operation_id = "getPatientNote")]
    async fn get_patient(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// The patient's account id.
        patient_id: Path<Uuid>,
        /// The note's id.
        note_id: Path<Uuid>,
    ) -> Result<Json<NoteBody>, Read> {
        Ok(Json(state.note(&auth.0, patient_id.0, note_id.0).await?.into()))
    }

    /// Answer in a thread with a patient
    ///
    /// Adds the therapist's answer to one of her threads with the patient; the patient is told
    /// by a generic push. Needs a live grant with `read_journal`. Send an `Idempotency-Key` so a
    /// retry does not answer twice.
    #[oai(path = "/patients/:patient_id/notes/:note_id/replies", method = "post", operation_id = "answerPatientNote")]
    async fn answer_patient(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// The patient's account id.
        patient_id: Path<Uuid>,
        /// The note answered (any note of the thread).
        note_id: Path<Uuid>,
        /// Makes the request safe to retry; kept for 7 days.
        #[oai(name = "Idempotency-Key", validator(min_length = 1, max_length = 100))]
        idempotency_key: Header<Option<String>>,
        body: JsonBody<NoteAnswerBody>,
    ) -> Result<NoteCreated, Written> {
        let hash = request_hash(Some(note_id.0), &body.0);
        let idempotency = key(&idempotency_key).map(|k| (k, hash));
        let (note, _) = state.answer_note(&auth.0, patient_id.0, note_id.0, &body.0.body, idempotency).await?;
        let location = format!("/v1/patients/{}/notes/{}", patient_id.0, note.id);
        Ok(NoteCreated::Created(Json(note.into()), location))
    }

    /// Mark a patient's answer read
    ///
    /// Records that the therapist read an answer in one of her threads; her own notes and
    /// answers read before are left as they are. Needs a live grant with `read_journal`.
    #[oai(path = "/patients/:patient_id/notes/:note_id/read", method = "post", operation_id = "markPatientNoteRead")]
    async fn mark_patient(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// The patient's account id.
        patient_id: Path<Uuid>,
        /// The note's id.
        note_id: Path<Uuid>,
    ) -> Result<Json<NoteBody>, Read> {
        Ok(Json(state.mark_note_read(&auth.0, patient_id.0, note_id.0).await?.into()))
    }
}
