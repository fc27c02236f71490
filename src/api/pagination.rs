//! Opaque cursors. Clients must treat them as strings; the shape may change.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::error::{ApiError, ProblemField};
use crate::store::{EntryPosition, LogPosition, SessionPosition};

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

pub fn encode_entry_cursor(position: EntryPosition) -> String {
    URL_SAFE_NO_PAD.encode(format!("e1:{}:{}", position.recorded_at.timestamp_micros(), position.id))
}

pub fn decode_entry_cursor(cursor: Option<&str>) -> Result<Option<EntryPosition>, ApiError> {
    let Some(cursor) = cursor.filter(|c| !c.is_empty()) else { return Ok(None) };
    let text =
        URL_SAFE_NO_PAD.decode(cursor).ok().and_then(|b| String::from_utf8(b).ok()).ok_or_else(|| invalid("cursor"))?;
    let mut parts = text.splitn(3, ':');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("e1"), Some(micros), Some(id)) => {
            let recorded_at: DateTime<Utc> =
                micros.parse().ok().and_then(DateTime::from_timestamp_micros).ok_or_else(|| invalid("cursor"))?;
            let id = Uuid::parse_str(id).map_err(|_| invalid("cursor"))?;
            Ok(Some(EntryPosition { recorded_at, id }))
        }
        _ => Err(invalid("cursor")),
    }
}

pub fn encode_log_cursor(position: LogPosition) -> String {
    URL_SAFE_NO_PAD.encode(format!("l1:{}:{}", position.at.timestamp_micros(), position.id))
}

pub fn decode_log_cursor(cursor: Option<&str>) -> Result<Option<LogPosition>, ApiError> {
    let Some(cursor) = cursor.filter(|c| !c.is_empty()) else { return Ok(None) };
    let text =
        URL_SAFE_NO_PAD.decode(cursor).ok().and_then(|b| String::from_utf8(b).ok()).ok_or_else(|| invalid("cursor"))?;
    let mut parts = text.splitn(3, ':');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("l1"), Some(micros), Some(id)) => {
            let at = micros.parse().ok().and_then(DateTime::from_timestamp_micros).ok_or_else(|| invalid("cursor"))?;
            let id = Uuid::parse_str(id).map_err(|_| invalid("cursor"))?;
            Ok(Some(LogPosition { at, id }))
        }
        _ => Err(invalid("cursor")),
    }
}

pub fn encode_session_cursor(position: SessionPosition) -> String {
    URL_SAFE_NO_PAD.encode(format!("s1:{}:{}", position.started_at.timestamp_micros(), position.id))
}

pub fn decode_session_cursor(cursor: Option<&str>) -> Result<Option<SessionPosition>, ApiError> {
    let Some(cursor) = cursor.filter(|c| !c.is_empty()) else { return Ok(None) };
    let text =
        URL_SAFE_NO_PAD.decode(cursor).ok().and_then(|b| String::from_utf8(b).ok()).ok_or_else(|| invalid("cursor"))?;
    let mut parts = text.splitn(3, ':');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("s1"), Some(micros), Some(id)) => {
            let started_at =
                micros.parse().ok().and_then(DateTime::from_timestamp_micros).ok_or_else(|| invalid("cursor"))?;
            let id = Uuid::parse_str(id).map_err(|_| invalid("cursor"))?;
            Ok(Some(SessionPosition { started_at, id }))
        }
        _ => Err(invalid("cursor")),
    }
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
        assert!(
            decode_log_cursor(Some(&encode_entry_cursor(EntryPosition { recorded_at: position.at, id: position.id })))
                .is_err()
        );
        let session = SessionPosition { started_at: position.at, id: position.id };
        assert_eq!(decode_session_cursor(Some(&encode_session_cursor(session))).unwrap(), Some(session));
        assert_eq!(decode_session_cursor(Some("")).unwrap(), None);
        assert!(decode_session_cursor(Some(&encode_log_cursor(position))).is_err());
        assert!(decode_session_cursor(Some(&URL_SAFE_NO_PAD.encode("s1:x:y"))).is_err());
    }
}
