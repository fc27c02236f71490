//! Share links: a patient's link to a report of a date range, for a clinician who has no
//! account. The token is shown once and stored only as a hash; the link expires (7 days unless
//! the patient chooses, at most 90) and the patient can revoke it at any time.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use uuid::Uuid;

use super::report::MAX_REPORT_DAYS;
use super::validation::ValidationErrors;

pub const DEFAULT_DAYS: u32 = 7;
pub const MAX_DAYS: u32 = 90;
pub const MAX_LABEL_CHARS: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareLink {
    pub id: Uuid,
    pub patient_id: Uuid,
    pub label: Option<String>,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub open_count: u64,
    pub last_opened_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    Active,
    Expired,
    Revoked,
}

impl LinkState {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkState::Active => "active",
            LinkState::Expired => "expired",
            LinkState::Revoked => "revoked",
        }
    }
}

impl ShareLink {
    pub fn state(&self, now: DateTime<Utc>) -> LinkState {
        if self.revoked_at.is_some() {
            LinkState::Revoked
        } else if now >= self.expires_at {
            LinkState::Expired
        } else {
            LinkState::Active
        }
    }
}

/// What a patient asks for, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkRequest {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub label: Option<String>,
    pub expires_at: DateTime<Utc>,
}

/// Checks a request made at `now`; `expires_in_days` defaults to 7 and may be 1–90.
pub fn check_request(
    from: NaiveDate,
    to: NaiveDate,
    label: Option<String>,
    expires_in_days: Option<u32>,
    now: DateTime<Utc>,
) -> Result<LinkRequest, ValidationErrors> {
    let mut errors = ValidationErrors::new();
    check_range(&mut errors, from, to);
    let days = expires_in_days.unwrap_or(DEFAULT_DAYS);
    if !(1..=MAX_DAYS).contains(&days) {
        errors.add("expires_in_days", "out_of_range", format!("must be between 1 and {MAX_DAYS}"));
    }
    let label = label.map(|l| l.trim().to_owned()).filter(|l| !l.is_empty());
    if let Some(label) = &label {
        if label.chars().count() > MAX_LABEL_CHARS {
            errors.add("label", "too_long", format!("must be at most {MAX_LABEL_CHARS} characters"));
        } else if label.chars().any(char::is_control) {
            errors.add("label", "invalid_characters", "must not contain control characters");
        }
    }
    errors.finish(|| LinkRequest { from, to, label, expires_at: now + TimeDelta::days(i64::from(days)) })
}

/// A report's date range: `from` not after `to`, at most five years.
pub fn check_range(errors: &mut ValidationErrors, from: NaiveDate, to: NaiveDate) {
    if from > to {
        errors.add("from", "empty_range", "must not be after `to`");
    } else if (to - from).num_days() >= MAX_REPORT_DAYS {
        errors.add("to", "range_too_long", format!("the range may cover at most {MAX_REPORT_DAYS} days"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(d: &str) -> NaiveDate {
        d.parse().unwrap()
    }

    #[test]
    fn expiry_defaults_to_a_week_and_stops_at_ninety_days() {
        let now: DateTime<Utc> = "2026-11-30T10:00:00Z".parse().unwrap();
        let (from, to) = (date("2026-11-01"), date("2026-11-30"));
        let request = check_request(from, to, Some("  Dr Patel ".into()), None, now).unwrap();
        assert_eq!(request.expires_at, now + TimeDelta::days(7));
        assert_eq!(request.label.as_deref(), Some("Dr Patel"));
        assert_eq!(check_request(from, to, None, Some(90), now).unwrap().expires_at, now + TimeDelta::days(90));
        let fields = |r: Result<LinkRequest, ValidationErrors>| -> Vec<String> {
            r.unwrap_err().errors().iter().map(|e| e.field.clone()).collect()
        };
        assert_eq!(fields(check_request(from, to, None, Some(91), now)), ["expires_in_days"]);
        assert_eq!(fields(check_request(from, to, None, Some(0), now)), ["expires_in_days"]);
        assert_eq!(fields(check_request(to, from, None, None, now)), ["from"]);
        assert_eq!(fields(check_request(from, to, Some("x".repeat(101)), None, now)), ["label"]);
        assert_eq!(check_request(from, to, Some("   ".into()), None, now).unwrap().label, None);
    }

    #[test]
    fn state() {
        let now: DateTime<Utc> = "2026-11-30T10:00:00Z".parse().unwrap();
        let link = ShareLink {
            id: Uuid::nil(),
            patient_id: Uuid::nil(),
            label: None,
            from: date("2026-11-01"),
            to: date("2026-11-30"),
            created_at: now,
            expires_at: now + TimeDelta::days(7),
            revoked_at: None,
            open_count: 0,
            last_opened_at: None,
        };
        assert_eq!(link.state(now), LinkState::Active);
        assert_eq!(link.state(now + TimeDelta::days(7)), LinkState::Expired);
        assert_eq!(ShareLink { revoked_at: Some(now), ..link }.state(now), LinkState::Revoked);
    }
}
