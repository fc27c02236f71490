//! Account values, parsed once at the edge so the rest of the code can trust them.

use std::fmt;

use super::validation::FieldProblem;

/// An email address, trimmed and lower-cased so that one person cannot hold two accounts
/// differing only in case.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub const MAX_LEN: usize = 254;

    pub fn parse(raw: &str) -> Result<Self, FieldProblem> {
        let normalised = raw.trim().to_lowercase();
        let invalid = || FieldProblem::new("invalid_email", "must be an email address such as name@example.org");
        if normalised.chars().count() > Self::MAX_LEN {
            return Err(FieldProblem::new("too_long", format!("must be at most {} characters", Self::MAX_LEN)));
        }
        let (local, domain) = normalised.split_once('@').ok_or_else(invalid)?;
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '.');
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.chars().any(|c| c.is_whitespace() || c.is_control() || c == '@');
        if !(domain_ok && local_ok) {
            return Err(invalid());
        }
        Ok(Self(normalised))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A password that meets the rules; deliberately without `Debug` output of its content.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub const MIN_CHARS: usize = 10;
    /// Hashing cost grows with length; nobody types more than this.
    pub const MAX_CHARS: usize = 1024;

    pub fn parse(raw: &str, email: Option<&Email>) -> Result<Self, FieldProblem> {
        if raw.chars().count() < Self::MIN_CHARS {
            return Err(FieldProblem::new("too_short", format!("must be at least {} characters", Self::MIN_CHARS)));
        }
        if raw.chars().count() > Self::MAX_CHARS {
            return Err(FieldProblem::new("too_long", format!("must be at most {} characters", Self::MAX_CHARS)));
        }
        if email.is_some_and(|email| raw.trim().eq_ignore_ascii_case(email.as_str())) {
            return Err(FieldProblem::new("equals_email", "must not be the same as the email address"));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(…)")
    }
}

/// The name shown to a patient's therapists and in the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub const MAX_CHARS: usize = 80;

    pub fn parse(raw: &str) -> Result<Self, FieldProblem> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(FieldProblem::new("empty", "must not be blank"));
        }
        // What was sent counts, surrounding spaces included, as the API document states it.
        if raw.chars().count() > Self::MAX_CHARS {
            return Err(FieldProblem::new("too_long", format!("must be at most {} characters", Self::MAX_CHARS)));
        }
        if raw.chars().any(char::is_control) {
            return Err(FieldProblem::new("invalid_characters", "must not contain control characters"));
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A BCP 47 language tag in its common shapes (`en`, `en-GB`, `zh-Hant-TW`), used to pick the
/// language of notifications.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locale(String);

impl Locale {
    pub fn parse(raw: &str) -> Result<Self, FieldProblem> {
        let invalid = || FieldProblem::new("invalid_locale", "must be a language tag such as en or en-GB");
        let mut parts = raw.split('-');
        let language = parts.next().ok_or_else(invalid)?;
        if !(2..=3).contains(&language.len()) || !language.chars().all(|c| c.is_ascii_alphabetic()) {
            return Err(invalid());
        }
        let mut canonical = language.to_ascii_lowercase();
        for part in parts {
            if !(1..=8).contains(&part.len()) || !part.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err(invalid());
            }
            canonical.push('-');
            match part.len() {
                2 => canonical.push_str(&part.to_ascii_uppercase()),
                4 => {
                    let mut chars = part.chars();
                    canonical.extend(chars.next().map(|c| c.to_ascii_uppercase()));
                    canonical.push_str(&chars.as_str().to_ascii_lowercase());
                }
                _ => canonical.push_str(&part.to_ascii_lowercase()),
            }
        }
        if raw.len() > 35 {
            return Err(invalid());
        }
        Ok(Self(canonical))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for Locale {
    fn default() -> Self {
        Self("en".to_owned())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Patient,
    Therapist,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Patient => "patient",
            Role::Therapist => "therapist",
        }
    }

    pub fn from_db(value: &str) -> Option<Self> {
        match value {
            "patient" => Some(Role::Patient),
            "therapist" => Some(Role::Therapist),
            _ => None,
        }
    }
}

/// What kind of therapist; shown to patients choosing whom to share with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Discipline {
    MassageTherapist,
    Physiotherapist,
    Other,
}

impl Discipline {
    pub fn as_str(self) -> &'static str {
        match self {
            Discipline::MassageTherapist => "massage_therapist",
            Discipline::Physiotherapist => "physiotherapist",
            Discipline::Other => "other",
        }
    }

    pub fn from_db(value: &str) -> Option<Self> {
        match value {
            "massage_therapist" => Some(Discipline::MassageTherapist),
            "physiotherapist" => Some(Discipline::Physiotherapist),
            "other" => Some(Discipline::Other),
            _ => None,
        }
    }
}

/// A person using the service, as the rest of the code sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: uuid::Uuid,
    pub email: Email,
    pub role: Role,
    pub discipline: Option<Discipline>,
    pub display_name: Option<DisplayName>,
    pub time_zone: super::TimeZone,
    pub quiet_hours: super::QuietHours,
    pub locale: Locale,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// A validated partial update of a profile; `None` leaves a field alone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileChanges {
    /// `Some(None)` clears the name.
    pub display_name: Option<Option<DisplayName>>,
    pub time_zone: Option<super::TimeZone>,
    pub quiet_hours: Option<super::QuietHours>,
    pub locale: Option<Locale>,
}

impl ProfileChanges {
    pub fn apply_to(self, account: &mut Account) {
        if let Some(name) = self.display_name {
            account.display_name = name;
        }
        if let Some(zone) = self.time_zone {
            account.time_zone = zone;
        }
        if let Some(quiet) = self.quiet_hours {
            account.quiet_hours = quiet;
        }
        if let Some(locale) = self.locale {
            account.locale = locale;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_trimmed_and_lower_cased() {
        assert_eq!(Email::parse("  Ana.Silva@Example.ORG ").unwrap().as_str(), "ana.silva@example.org");
    }

    #[test]
    fn email_rejects_malformed_addresses() {
        for bad in [
            "",
            "ana",
            "@example.org",
            "ana@",
            "ana@example",
            "ana@@example.org",
            "a na@example.org",
            "ana@exa..mple.org",
            "ana@.example.org",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        let long = format!("{}@example.org", "a".repeat(250));
        assert_eq!(Email::parse(&long).unwrap_err().code, "too_long");
    }

    #[test]
    fn password_rules() {
        let email = Email::parse("ana@example.org").unwrap();
        assert_eq!(Password::parse("short", None).unwrap_err().code, "too_short");
        assert_eq!(Password::parse("ninechars", None).unwrap_err().code, "too_short");
        assert!(Password::parse("tencharsok", None).is_ok());
        // Characters, not bytes: ten accented letters are long enough.
        assert!(Password::parse("éééééééééé", None).is_ok());
        assert_eq!(Password::parse("ANA@example.org", Some(&email)).unwrap_err().code, "equals_email");
        assert_eq!(Password::parse(&"x".repeat(1025), None).unwrap_err().code, "too_long");
        assert_eq!(format!("{:?}", Password::parse("tencharsok", None).unwrap()), "Password(…)");
    }

    #[test]
    fn display_name_rules() {
        assert_eq!(DisplayName::parse("  Ana  ").unwrap().as_str(), "Ana");
        assert_eq!(DisplayName::parse("   ").unwrap_err().code, "empty");
        assert_eq!(DisplayName::parse(&"a".repeat(81)).unwrap_err().code, "too_long");
        assert!(DisplayName::parse("a\u{7}b").is_err());
    }

    #[test]
    fn locale_is_canonicalised() {
        assert_eq!(Locale::parse("en").unwrap().as_str(), "en");
        assert_eq!(Locale::parse("EN-gb").unwrap().as_str(), "en-GB");
        assert_eq!(Locale::parse("zh-hant-tw").unwrap().as_str(), "zh-Hant-TW");
        for bad in ["", "e", "english", "en_GB", "en-", "en-toolongsubtag"] {
            assert!(Locale::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }
}
