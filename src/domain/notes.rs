//! Notes between a patient and a therapist: what a note may be about, and the rules for its
//! text. A therapist starts a thread about one journal entry, session or alert; the patient (and
//! the therapist) answer in it. The conversation is the patient's data.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::Role;
use super::validation::FieldProblem;

/// The longest note, in characters as sent (surrounding spaces included).
pub const MAX_NOTE_CHARS: usize = 2000;

/// What a thread is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubjectKind {
    /// A journal entry.
    Entry,
    /// A massage session.
    Session,
    /// An alert.
    Alert,
}

impl SubjectKind {
    pub const ALL: [SubjectKind; 3] = [SubjectKind::Entry, SubjectKind::Session, SubjectKind::Alert];

    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::Entry => "entry",
            SubjectKind::Session => "session",
            SubjectKind::Alert => "alert",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == value)
    }
}

/// One entry, session or alert of the patient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Subject {
    pub kind: SubjectKind,
    pub id: Uuid,
}

/// A note as stored and shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub id: Uuid,
    pub patient_id: Uuid,
    /// The therapist of the conversation; `None` once that account is gone.
    pub therapist_id: Option<Uuid>,
    /// The therapist's display name, while the account exists.
    pub therapist_name: Option<String>,
    /// The first note of the thread (the note's own id for the first one).
    pub thread_id: Uuid,
    /// Who wrote it: the patient or the therapist.
    pub author: Role,
    pub subject: Subject,
    pub body: String,
    pub created_at: DateTime<Utc>,
    /// When the other side read it.
    pub read_at: Option<DateTime<Utc>>,
}

impl Note {
    /// Whether `reader` is the one a note is for (the side that did not write it).
    pub fn is_for(&self, reader: Role) -> bool {
        self.author != reader
    }
}

/// The text of a note: trimmed, not blank, at most [`MAX_NOTE_CHARS`] as sent. (A NUL is refused
/// by the request parser before this, like in every text field.)
pub fn check_note_body(text: &str) -> Result<String, FieldProblem> {
    if text.chars().count() > MAX_NOTE_CHARS {
        return Err(FieldProblem::new("too_long", format!("must be at most {MAX_NOTE_CHARS} characters")));
    }
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(FieldProblem::new("empty", "must not be blank"));
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn note_text_is_trimmed_and_bounded() {
        assert_eq!(
            check_note_body("  how is the left side since Tuesday?\n").unwrap(),
            "how is the left side since Tuesday?"
        );
        assert_eq!(check_note_body(" \n\t ").unwrap_err().code, "empty");
        assert_eq!(check_note_body("").unwrap_err().code, "empty");
        let longest = "é".repeat(MAX_NOTE_CHARS);
        assert_eq!(check_note_body(&longest).unwrap(), longest);
        assert_eq!(check_note_body(&format!("{longest}x")).unwrap_err().code, "too_long");
        // Inner line breaks are the writer's.
        assert_eq!(check_note_body("better\n\nthanks").unwrap(), "better\n\nthanks");
    }

    #[test]
    fn subject_kinds_round_trip() {
        for kind in SubjectKind::ALL {
            assert_eq!(SubjectKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(SubjectKind::parse("questionnaire"), None);
    }

    #[test]
    fn a_note_is_for_the_side_that_did_not_write_it() {
        let note = Note {
            id: Uuid::nil(),
            patient_id: Uuid::nil(),
            therapist_id: None,
            therapist_name: None,
            thread_id: Uuid::nil(),
            author: Role::Therapist,
            subject: Subject { kind: SubjectKind::Entry, id: Uuid::nil() },
            body: "hello".into(),
            created_at: DateTime::<Utc>::UNIX_EPOCH,
            read_at: None,
        };
        assert!(note.is_for(Role::Patient));
        assert!(!note.is_for(Role::Therapist));
    }
}
