//! The care team: what a patient lets a therapist do, the invite codes that link them, and the
//! "since last session" summary a therapist sees for each client.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use rand::Rng;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::Role;
use super::journal::named_enum;
use super::rollup::{self, RollupInput};
use super::validation::FieldProblem;

named_enum! {
    /// What a grant lets a therapist do with one patient's data.
    Scope as "CareScope" {
        /// Read the journal: entries, daily roll-ups, summaries, questionnaires.
        ReadJournal => "read_journal",
        /// Record massage sessions for the patient.
        RecordSessions => "record_sessions",
        /// Change the patient's aftercare plans.
        ManageAftercare => "manage_aftercare",
        /// Be told about the patient's alerts.
        ReceiveAlerts => "receive_alerts",
    }
}

/// A non-empty set of scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scopes(BTreeSet<Scope>);

impl Scopes {
    /// At least one scope; repeats count once.
    pub fn new(scopes: impl IntoIterator<Item = Scope>) -> Result<Self, FieldProblem> {
        let set: BTreeSet<Scope> = scopes.into_iter().collect();
        if set.is_empty() {
            return Err(FieldProblem::new("required", "must name at least one scope"));
        }
        Ok(Self(set))
    }

    pub fn contains(&self, scope: Scope) -> bool {
        self.0.contains(&scope)
    }

    pub fn iter(&self) -> impl Iterator<Item = Scope> + '_ {
        self.0.iter().copied()
    }

    /// Scope names between commas (`,read_journal,receive_alerts,`), so SQL can test one with
    /// `LIKE '%,read_journal,%'`.
    pub fn encode(&self) -> String {
        let names: Vec<&str> = self.iter().map(Scope::as_str).collect();
        format!(",{},", names.join(","))
    }

    pub fn decode(text: &str) -> Option<Self> {
        let scopes: Option<Vec<Scope>> = text.split(',').filter(|s| !s.is_empty()).map(Scope::parse).collect();
        Self::new(scopes?).ok()
    }
}

/// The letters of an invite code: Crockford's base 32 (no I, L, O or U), so a code read aloud
/// or copied by hand has no look-alike characters.
pub const CODE_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// 8 characters of 5 bits: 2^40 codes, so guessing a live one takes about a trillion tries
/// divided by the number of live codes, while redemption attempts are rate-limited.
pub const CODE_LENGTH: usize = 8;

/// A short, human-typable, single-use code that links a patient and a therapist. Only its
/// [`hash`](InviteCode::hash) is stored.
#[derive(Clone, PartialEq, Eq)]
pub struct InviteCode(String);

impl InviteCode {
    pub fn generate(rng: &mut impl Rng) -> Self {
        Self((0..CODE_LENGTH).map(|_| char::from(CODE_ALPHABET[rng.gen_range(0..CODE_ALPHABET.len())])).collect())
    }

    /// Reads a code as a person may type it: any case, with or without the dash and spaces;
    /// O is read as 0, and I or L as 1.
    pub fn parse(input: &str) -> Result<Self, FieldProblem> {
        let mut code = String::with_capacity(CODE_LENGTH);
        for c in input.chars().filter(|c| !c.is_whitespace() && *c != '-') {
            let c = match c.to_ascii_uppercase() {
                'O' => '0',
                'I' | 'L' => '1',
                c => c,
            };
            if !c.is_ascii() || !CODE_ALPHABET.contains(&(c as u8)) {
                return Err(invalid_code());
            }
            code.push(c);
        }
        if code.len() != CODE_LENGTH {
            return Err(invalid_code());
        }
        Ok(Self(code))
    }

    /// Two groups of four, e.g. `K7QM-4TXR`.
    pub fn display(&self) -> String {
        format!("{}-{}", &self.0[..4], &self.0[4..])
    }

    /// What the database keeps instead of the code.
    pub fn hash(&self) -> String {
        format!("{:x}", Sha256::digest(format!("care-invite:{}", self.0).as_bytes()))
    }
}

/// Codes are secrets: they stay out of debug output and logs.
impl fmt::Debug for InviteCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("InviteCode(…)")
    }
}

fn invalid_code() -> FieldProblem {
    FieldProblem::new("invalid_format", "must be 8 letters and digits, e.g. K7QM-4TXR")
}

/// An invite as stored (without its code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invite {
    pub id: Uuid,
    pub created_by: Uuid,
    /// A patient's invite is redeemed by a therapist, a therapist's by a patient.
    pub creator_role: Role,
    /// Granted on redemption (a patient's invite) or proposed to the patient (a therapist's).
    pub scopes: Scopes,
    /// When the access granted through a patient's invite ends.
    pub access_expires_at: Option<DateTime<Utc>>,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub used_by: Option<Uuid>,
    /// The grant the redemption created.
    pub grant_id: Option<Uuid>,
}

/// Why an invite cannot be redeemed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InviteRefusal {
    /// Made by someone of the redeemer's own role (a patient's code is for a therapist).
    WrongRole,
    Used,
    Expired,
}

impl Invite {
    /// Whether an account of `role` may redeem this invite at `now`.
    pub fn check_redemption(&self, role: Role, now: DateTime<Utc>) -> Result<(), InviteRefusal> {
        if role == self.creator_role {
            Err(InviteRefusal::WrongRole)
        } else if self.used_at.is_some() {
            Err(InviteRefusal::Used)
        } else if now >= self.expires_at || self.access_expires_at.is_some_and(|end| now >= end) {
            Err(InviteRefusal::Expired)
        } else {
            Ok(())
        }
    }

    pub fn is_pending(&self, now: DateTime<Utc>) -> bool {
        self.used_at.is_none() && now < self.expires_at
    }
}

/// Who ended a grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndedBy {
    /// Revoked by the patient.
    Patient,
    /// The therapist ended the relationship.
    Therapist,
    /// Closed because it had expired and the two were linked again.
    Expired,
}

impl EndedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            EndedBy::Patient => "patient",
            EndedBy::Therapist => "therapist",
            EndedBy::Expired => "expired",
        }
    }
}

/// A patient's consent for one therapist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub id: Uuid,
    pub patient_id: Uuid,
    pub therapist_id: Uuid,
    pub scopes: Scopes,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Access ends at this instant; absent: until revoked.
    pub expires_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
}

impl Grant {
    /// Not ended and not expired. The set-based caseload query states the same rule in SQL.
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.ended_at.is_none() && self.expires_at.is_none_or(|end| now < end)
    }

    pub fn allows(&self, scope: Scope, now: DateTime<Utc>) -> bool {
        self.is_live(now) && self.scopes.contains(scope)
    }
}

/// A client's journal as the caseload shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientSummary {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub entries: u32,
    pub logged_days: u32,
    /// Mean of the daily maximum pain over the logged days.
    pub mean_pain: Option<f64>,
    /// The highest pain recorded in the window.
    pub max_pain: Option<u8>,
    /// Slope of the daily maximum in points per week; needs two logged days.
    pub trend_per_week: Option<f64>,
    pub last_entry_at: Option<DateTime<Utc>>,
    /// Local days since the last entry (0: logged today); absent when there is none.
    pub days_since_last_entry: Option<u32>,
}

impl ClientSummary {
    /// Summarises the entries dated `from..=to` (others are ignored) with the same statistics as
    /// the journal summary, plus when the patient last wrote anything at all.
    pub fn compute(
        entries: Vec<RollupInput>,
        from: NaiveDate,
        to: NaiveDate,
        last_entry: Option<(DateTime<Utc>, NaiveDate)>,
    ) -> Self {
        let days = rollup::daily_rollups(entries.into_iter().filter(|e| e.local_date >= from && e.local_date <= to));
        let stats = rollup::window_stats(&days, from, to);
        Self {
            from,
            to,
            entries: stats.entries,
            logged_days: stats.logged_days,
            mean_pain: stats.mean,
            max_pain: stats.worst_day.map(|d| d.value),
            trend_per_week: stats.trend_per_week,
            last_entry_at: last_entry.map(|(at, _)| at),
            days_since_last_entry: last_entry.map(|(_, date)| days_between(date, to)),
        }
    }
}

/// Whole days from `earlier` to `later`, never negative.
pub fn days_between(earlier: NaiveDate, later: NaiveDate) -> u32 {
    u32::try_from((later - earlier).num_days().max(0)).unwrap_or(u32::MAX)
}

/// How long a client has gone without writing in the journal, for ordering a caseload: days
/// since the last entry, or, for a client who never wrote one, days since the link was made.
pub fn silent_days(summary: &ClientSummary, linked_on: NaiveDate) -> u32 {
    summary.days_since_last_entry.unwrap_or_else(|| days_between(linked_on, summary.to))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;
    use rand::SeedableRng;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn scopes_round_trip_and_refuse_nothing_or_unknowns() {
        let scopes = Scopes::new([Scope::ReceiveAlerts, Scope::ReadJournal, Scope::ReadJournal]).unwrap();
        assert_eq!(scopes.encode(), ",read_journal,receive_alerts,");
        assert_eq!(Scopes::decode(&scopes.encode()), Some(scopes.clone()));
        assert!(scopes.contains(Scope::ReadJournal) && !scopes.contains(Scope::RecordSessions));
        assert!(Scopes::new([]).is_err());
        assert_eq!(Scopes::decode(",,"), None);
        assert_eq!(Scopes::decode(",read_journal,launch_missiles,"), None);
    }

    #[test]
    fn codes_are_typable_and_forgiving() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let code = InviteCode::generate(&mut rng);
        let shown = code.display();
        assert_eq!(shown.len(), 9);
        assert_eq!(&shown[4..5], "-");
        assert!(shown.chars().filter(|c| *c != '-').all(|c| CODE_ALPHABET.contains(&(c as u8))));
        assert_eq!(InviteCode::parse(&shown).unwrap(), code);
        assert_eq!(InviteCode::parse(&shown.to_lowercase().replace('-', " ")).unwrap(), code);
        // Look-alikes read as the digits they resemble.
        assert_eq!(InviteCode::parse("o1il-2345").unwrap(), InviteCode::parse("0111-2345").unwrap());
        for bad in ["", "K7QM-4TX", "K7QM-4TXRR", "K7QM-4TXU", "K7QM-4TX!", "K7QM-4TXÄ"] {
            assert!(InviteCode::parse(bad).is_err(), "{bad}");
        }
        assert_ne!(InviteCode::generate(&mut rng), code);
        assert!(!format!("{code:?}").contains(&shown[..4]), "codes stay out of debug output");
    }

    #[test]
    fn the_hash_is_stable_and_not_the_code() {
        let code = InviteCode::parse("K7QM-4TXR").unwrap();
        assert_eq!(code.hash(), InviteCode::parse("k7qm4txr").unwrap().hash());
        assert_eq!(code.hash().len(), 64);
        assert!(!code.hash().to_uppercase().contains("K7QM4TXR"));
        assert_ne!(code.hash(), InviteCode::parse("K7QM-4TXS").unwrap().hash());
    }

    fn invite(creator_role: Role) -> Invite {
        let now = at("2026-11-01T10:00:00Z");
        Invite {
            id: Uuid::now_v7(),
            created_by: Uuid::now_v7(),
            creator_role,
            scopes: Scopes::new([Scope::ReadJournal]).unwrap(),
            access_expires_at: None,
            expires_at: now + TimeDelta::days(7),
            created_at: now,
            used_at: None,
            used_by: None,
            grant_id: None,
        }
    }

    #[test]
    fn an_invite_is_for_the_other_role_once_and_until_it_expires() {
        let now = at("2026-11-02T10:00:00Z");
        let from_patient = invite(Role::Patient);
        assert_eq!(from_patient.check_redemption(Role::Therapist, now), Ok(()));
        assert_eq!(from_patient.check_redemption(Role::Patient, now), Err(InviteRefusal::WrongRole));
        assert_eq!(invite(Role::Therapist).check_redemption(Role::Patient, now), Ok(()));
        assert_eq!(invite(Role::Therapist).check_redemption(Role::Therapist, now), Err(InviteRefusal::WrongRole));

        let used = Invite { used_at: Some(now), used_by: Some(Uuid::now_v7()), ..from_patient.clone() };
        assert_eq!(used.check_redemption(Role::Therapist, now), Err(InviteRefusal::Used));
        assert!(!used.is_pending(now));

        let expiry = from_patient.expires_at;
        assert_eq!(from_patient.check_redemption(Role::Therapist, expiry - TimeDelta::seconds(1)), Ok(()));
        assert_eq!(from_patient.check_redemption(Role::Therapist, expiry), Err(InviteRefusal::Expired));
        assert!(!from_patient.is_pending(expiry));

        // Access that would already be over cannot be granted.
        let short = Invite { access_expires_at: Some(now - TimeDelta::minutes(1)), ..from_patient };
        assert_eq!(short.check_redemption(Role::Therapist, now), Err(InviteRefusal::Expired));
    }

    #[test]
    fn a_grant_is_live_until_it_ends_or_expires() {
        let now = at("2026-11-02T10:00:00Z");
        let grant = Grant {
            id: Uuid::now_v7(),
            patient_id: Uuid::now_v7(),
            therapist_id: Uuid::now_v7(),
            scopes: Scopes::new([Scope::ReadJournal, Scope::ReceiveAlerts]).unwrap(),
            created_at: now,
            updated_at: now,
            expires_at: None,
            ended_at: None,
        };
        assert!(grant.allows(Scope::ReadJournal, now));
        assert!(!grant.allows(Scope::RecordSessions, now), "only the scopes granted");
        let expiring = Grant { expires_at: Some(now + TimeDelta::hours(1)), ..grant.clone() };
        assert!(expiring.allows(Scope::ReadJournal, now + TimeDelta::minutes(59)));
        assert!(!expiring.is_live(now + TimeDelta::hours(1)), "expiry is exclusive");
        let ended = Grant { ended_at: Some(now), ..grant };
        assert!(!ended.is_live(now - TimeDelta::days(1)), "an ended grant is over whatever the clock says");
    }

    fn entry(day: &str, hour: u32, pain: u8) -> RollupInput {
        RollupInput {
            local_date: date(day),
            recorded_at: at(&format!("{day}T{hour:02}:00:00Z")),
            pain,
            symptoms: BTreeSet::new(),
        }
    }

    #[test]
    fn a_client_summary_matches_the_journal_summary() {
        let entries = vec![
            entry("2026-10-20", 9, 9), // before the window: ignored
            entry("2026-11-01", 8, 5),
            entry("2026-11-01", 20, 3),
            entry("2026-11-03", 9, 4),
            entry("2026-11-06", 9, 6),
        ];
        let last = Some((at("2026-11-06T09:00:00Z"), date("2026-11-06")));
        let summary = ClientSummary::compute(entries, date("2026-11-01"), date("2026-11-14"), last);
        assert_eq!((summary.entries, summary.logged_days), (4, 3));
        assert_eq!(summary.mean_pain, Some(5.0)); // daily maxima 5, 4, 6
        assert_eq!(summary.max_pain, Some(6));
        // x = 0, 2, 5 (mean 7/3), y = 5, 4, 6: slope 9/38 per day.
        assert!((summary.trend_per_week.unwrap() - 9.0 / 38.0 * 7.0).abs() < 1e-9);
        assert_eq!(summary.days_since_last_entry, Some(8));
        assert_eq!(silent_days(&summary, date("2026-10-01")), 8);

        let quiet = ClientSummary::compute(vec![], date("2026-11-01"), date("2026-11-14"), None);
        assert_eq!((quiet.entries, quiet.mean_pain, quiet.max_pain, quiet.trend_per_week), (0, None, None, None));
        assert_eq!(quiet.days_since_last_entry, None);
        assert_eq!(silent_days(&quiet, date("2026-11-04")), 10, "never wrote: days since linking");
        assert_eq!(days_between(date("2026-11-05"), date("2026-11-04")), 0);
    }
}
