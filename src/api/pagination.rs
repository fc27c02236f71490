//! Opaque cursors. Clients must treat them as strings; the shape may change.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::error::{ApiError, ProblemField};
use crate::store::{EntryPosition, LogPosition, NotePosition, QuestionnairePosition, SessionPosition};

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 200;

fn invalid(field: &str) -> ApiError {
    ApiError::Validation(vec![ProblemField {
        field: field.to_owned(),
        code: "invalid_cursor".into(),
        message: "is not a cursor this service gave out".into(),
    }])
}

pub fn limit(requested: Option<u32>) -> Result<u32, ApiError> {
    match requested {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::Validation(vec![ProblemField {
            field: "limit".into(),
            code: "out_of_range".into(),
            message: format!("must be from 1 to {MAX_LIMIT}"),
        }])),
    }
}

/// The change-feed position: the last change number the client has seen.
pub fn encode_change_cursor(seq: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("c1:{seq}"))
}

/// An absent or empty cursor starts from the beginning.
pub fn decode_change_cursor(cursor: Option<&str>) -> Result<i64, ApiError> {
    let Some(cursor) = cursor.filter(|c| !c.is_empty()) else { return Ok(0) };
    let text =
        URL_SAFE_NO_PAD.decode(cursor).ok().and_then(|b| String::from_utf8(b).ok()).ok_or_else(|| invalid("cursor"))?;
    text.strip_prefix("c1:").and_then(|n| n.parse::<i64>().ok()).filter(|n| *n >= 0).ok_or_else(|| invalid("cursor"))
}

/// `(instant, id)` positions share one shape; the tag keeps a cursor of one list out of another.
fn encode_position(tag: &str, at: DateTime<Utc>, id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!("{tag}:{}:{id}", at.timestamp_micros()))
}

fn decode_position(tag: &str, cursor: Option<&str>) -> Result<Option<(DateTime<Utc>, Uuid)>, ApiError> {
    let Some(cursor) = cursor.filter(|c| !c.is_empty()) else { return Ok(None) };
    let text =
        URL_SAFE_NO_PAD.decode(cursor).ok().and_then(|b| String::from_utf8(b).ok()).ok_or_else(|| invalid("cursor"))?;
    let mut parts = text.splitn(3, ':');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(t), Some(micros), Some(id)) if t == tag => {
            let at = micros.parse().ok().and_then(DateTime::from_timestamp_micros).ok_or_else(|| invalid("cursor"))?;
            let id = Uuid::parse_str(id).map_err(|_| invalid("cursor"))?;
            Ok(Some((at, id)))
        }
        _ => Err(invalid("cursor")),
    }
}

pub fn encode_entry_cursor(position: EntryPosition) -> String {
    encode_position("e1", position.recorded_at, position.id)
}

pub fn decode_entry_cursor(cursor: Option<&str>) -> Result<Option<EntryPosition>, ApiError> {
    Ok(decode_position("e1", cursor)?.map(|(recorded_at, id)| EntryPosition { recorded_at, id }))
}

pub fn encode_log_cursor(position: LogPosition) -> String {
    encode_position("l1", position.at, position.id)
}

pub fn decode_log_cursor(cursor: Option<&str>) -> Result<Option<LogPosition>, ApiError> {
    Ok(decode_position("l1", cursor)?.map(|(at, id)| LogPosition { at, id }))
}

pub fn encode_questionnaire_cursor(position: QuestionnairePosition) -> String {
    encode_position("q1", position.completed_at, position.id)
}

pub fn decode_questionnaire_cursor(cursor: Option<&str>) -> Result<Option<QuestionnairePosition>, ApiError> {
    Ok(decode_position("q1", cursor)?.map(|(completed_at, id)| QuestionnairePosition { completed_at, id }))
}

pub fn encode_session_cursor(position: SessionPosition) -> String {
    encode_position("s1", position.started_at, position.id)
}

pub fn decode_session_cursor(cursor: Option<&str>) -> Result<Option<SessionPosition>, ApiError> {
    Ok(decode_position("s1", cursor)?.map(|(started_at, id)| SessionPosition { started_at, id }))
}

pub fn encode_note_cursor(position: NotePosition) -> String {
    encode_position("n1", position.created_at, position.id)
}

pub fn decode_note_cursor(cursor: Option<&str>) -> Result<Option<NotePosition>, ApiError> {
    Ok(decode_position("n1", cursor)?.map(|(created_at, id)| NotePosition { created_at, id }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_forgeries() {
        assert_eq!(decode_change_cursor(Some(&encode_change_cursor(42))).unwrap(), 42);
        assert_eq!(decode_change_cursor(None).unwrap(), 0);
        assert_eq!(decode_change_cursor(Some("")).unwrap(), 0);
        assert!(decode_change_cursor(Some("bm9wZQ")).is_err());
        assert!(decode_change_cursor(Some(&URL_SAFE_NO_PAD.encode("c1:-5"))).is_err());
        let position =
            EntryPosition { recorded_at: "2026-11-21T08:30:00.123456Z".parse().unwrap(), id: Uuid::now_v7() };
        assert_eq!(decode_entry_cursor(Some(&encode_entry_cursor(position))).unwrap(), Some(position));
        assert!(decode_entry_cursor(Some("%%%")).is_err());
        let position = LogPosition { at: "2026-11-21T08:30:00.123456Z".parse().unwrap(), id: Uuid::now_v7() };
        assert_eq!(decode_log_cursor(Some(&encode_log_cursor(position))).unwrap(), Some(position));
        let position = QuestionnairePosition { completed_at: position.at, id: position.id };
        assert_eq!(decode_questionnaire_cursor(Some(&encode_questionnaire_cursor(position))).unwrap(), Some(position));
        assert!(decode_questionnaire_cursor(Some(&encode_change_cursor(3))).is_err());
        let position = LogPosition { at: position.completed_at, id: position.id };
        assert!(
            decode_log_cursor(Some(&encode_entry_cursor(EntryPosition { recorded_at: position.at, id: position.id })))
                .is_err()
        );
        let session = SessionPosition { started_at: position.at, id: position.id };
        assert_eq!(decode_session_cursor(Some(&encode_session_cursor(session))).unwrap(), Some(session));
        assert_eq!(decode_session_cursor(Some("")).unwrap(), None);
        assert!(decode_session_cursor(Some(&encode_log_cursor(position))).is_err());
        assert!(decode_session_cursor(Some(&URL_SAFE_NO_PAD.encode("s1:x:y"))).is_err());
        let note = NotePosition { created_at: position.at, id: position.id };
        assert_eq!(decode_note_cursor(Some(&encode_note_cursor(note))).unwrap(), Some(note));
        assert!(decode_note_cursor(Some(&encode_session_cursor(session))).is_err());
    }
}
