//! `/v1/journal`: the patient's own pain journal — offline-first entries, the change feed,
//! daily roll-ups and summaries.

use std::borrow::Cow;
use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, SubsecRound, Utc};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use poem_openapi::types::{Example, ParseError, ParseFromParameter, ParseResult, Type};
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use serde::Deserialize;
use uuid::Uuid;

use super::ApiTags;
use super::accounts::Done;
use super::error::{ApiError, Problems, status};
use super::examples;
use super::json::JsonBody;
use super::names::Name;
use super::pagination;
use super::security::BearerAuth;
use super::timestamps::Timestamp;
use crate::domain::FieldProblem;
use crate::domain::body::Region;
use crate::domain::journal::{
    self, Entry, EntryContent, MAX_MEDICATIONS, PainQuality, RegionPain, Score, SelfCare, Symptom,
};
use crate::domain::rollup::{DailyRollup, Summary};
use crate::domain::{Role, TimeZone, ValidationErrors};
use crate::service::AppState;
use crate::store::{Change, EntryState, Principal};

/// Pain in one region.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(rename = "RegionPain")]
#[serde(deny_unknown_fields)]
pub struct RegionPainBody {
    /// Where it hurts.
    pub region: Name<Region>,
    /// 0 = no pain, 10 = worst pain imaginable.
    #[oai(validator(minimum(value = "0"), maximum(value = "10")))]
    pub pain: i64,
    /// How the pain feels.
    #[oai(default)]
    #[serde(default)]
    pub qualities: Vec<Name<PainQuality>>,
}

/// A journal entry as the phone writes it. Only `recorded_at` and `pain` are required.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(rename = "EntryWrite", example)]
#[serde(deny_unknown_fields)]
pub struct EntryWriteBody {
    /// When the entry describes (RFC 3339). The journal day is the patient's local date at this
    /// instant. From 2000-01-01 up to 10 minutes ahead of the server clock; older entries
    /// (backfill) are welcome.
    pub recorded_at: Timestamp,
    /// Overall pain now (numeric rating scale): 0 = no pain, 10 = worst pain imaginable.
    #[oai(validator(minimum(value = "0"), maximum(value = "10")))]
    pub pain: i64,
    /// Pain by region; each region at most once.
    #[oai(default, validator(max_items = 11))]
    #[serde(default)]
    pub regions: Vec<RegionPainBody>,
    /// Symptoms besides pain, including warning signs that raise alerts.
    #[oai(default, validator(max_items = 15))]
    #[serde(default)]
    pub symptoms: Vec<Name<Symptom>>,
    /// How much pain interfered with general activity: 0 = not at all, 10 = completely.
    #[oai(validator(minimum(value = "0"), maximum(value = "10")))]
    pub interference_activity: Option<i64>,
    /// How much pain interfered with enjoyment of life: 0 = not at all, 10 = completely.
    #[oai(validator(minimum(value = "0"), maximum(value = "10")))]
    pub interference_enjoyment: Option<i64>,
    /// Last night's sleep: 0 = very poor, 10 = excellent.
    #[oai(validator(minimum(value = "0"), maximum(value = "10")))]
    pub sleep_quality: Option<i64>,
    /// Stress: 0 = none, 10 = extreme.
    #[oai(validator(minimum(value = "0"), maximum(value = "10")))]
    pub stress: Option<i64>,
    /// Self-care done since the last entry.
    #[oai(default, validator(max_items = 7))]
    #[serde(default)]
    pub self_care: Vec<Name<SelfCare>>,
    /// Medication taken, free text per item: at most 20 items of 1–200 characters, not blank.
    #[oai(default, validator(max_items = 20, max_length = 200, pattern = r"\S"))]
    #[serde(default)]
    pub medications: Vec<String>,
    /// Free notes, at most 5000 characters.
    #[oai(validator(max_length = 5000))]
    pub notes: Option<String>,
    /// The IANA time zone the phone was in at `recorded_at`, e.g. `Europe/Berlin`. The journal
    /// day is the local date there; without it, the profile's zone when the entry is first
    /// written. Editing an entry keeps its day unless `recorded_at` or `time_zone` changes.
    #[oai(validator(max_length = 64))]
    pub time_zone: Option<String>,
    /// The `version` this change is based on. Omit when creating; a stale version gets 409
    /// with the server's copy.
    #[oai(validator(minimum(value = "1")))]
    pub base_version: Option<i64>,
}

impl Example for EntryWriteBody {
    fn example() -> Self {
        Self {
            recorded_at: "2026-11-21T19:30:00Z".parse().expect("valid instant"),
            pain: 6,
            regions: vec![RegionPainBody {
                region: Name(Region::LowerBack),
                pain: 6,
                qualities: vec![Name(PainQuality::Aching), Name(PainQuality::Stiffness)],
            }],
            symptoms: vec![],
            interference_activity: Some(5),
            interference_enjoyment: Some(4),
            sleep_quality: Some(4),
            stress: Some(6),
            self_care: vec![Name(SelfCare::Stretching), Name(SelfCare::Heat)],
            medications: vec!["ibuprofen 400 mg".into()],
            notes: Some("Stiff after a long drive.".into()),
            time_zone: Some("Europe/Berlin".into()),
            base_version: None,
        }
    }
}

fn score(errors: &mut ValidationErrors, field: &str, value: i64) -> Option<Score> {
    errors.check(field, Score::new(value))
}

impl EntryWriteBody {
    /// Checks every field, reporting all problems together.
    fn parse(self) -> Result<(EntryContent, Option<i64>), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let pain = score(&mut errors, "pain", self.pain);
        let mut seen = BTreeSet::new();
        let mut regions = Vec::new();
        let region_count = self.regions.len();
        for (i, region) in self.regions.into_iter().enumerate() {
            if !seen.insert(region.region.0) {
                errors.add(format!("regions[{i}].region"), "duplicate", "each region may appear once");
            }
            if let Some(pain) = score(&mut errors, &format!("regions[{i}].pain"), region.pain) {
                regions.push(RegionPain {
                    region: region.region.0,
                    pain,
                    qualities: region.qualities.into_iter().map(|q| q.0).collect(),
                });
            }
        }
        let mut optional = |field: &str, value: Option<i64>| value.and_then(|v| score(&mut errors, field, v));
        let interference_activity = optional("interference_activity", self.interference_activity);
        let interference_enjoyment = optional("interference_enjoyment", self.interference_enjoyment);
        let sleep_quality = optional("sleep_quality", self.sleep_quality);
        let stress = optional("stress", self.stress);
        if self.medications.len() > MAX_MEDICATIONS {
            errors.add("medications", "too_many", format!("at most {MAX_MEDICATIONS} items"));
        }
        let medications: Vec<String> = self
            .medications
            .iter()
            .enumerate()
            .filter_map(|(i, m)| errors.check(&format!("medications[{i}]"), journal::check_medication(m)))
            .collect();
        let notes = match self.notes {
            Some(notes) => errors.check("notes", journal::check_notes(&notes)).flatten(),
            None => None,
        };
        for (field, count, limit) in [
            ("regions", region_count, Region::ALL.len()),
            ("symptoms", self.symptoms.len(), Symptom::ALL.len()),
            ("self_care", self.self_care.len(), SelfCare::ALL.len()),
        ] {
            if count > limit {
                errors.add(field, "too_many", format!("at most {limit} items"));
            }
        }
        let time_zone = self.time_zone.as_deref().and_then(|z| errors.check("time_zone", TimeZone::parse(z)));
        if self.base_version.is_some_and(|v| v < 1) {
            errors.add("base_version", "out_of_range", "must be 1 or more");
        }
        let content = match pain {
            Some(pain) if errors.is_empty() => EntryContent {
                // Stored with microseconds; truncating here keeps a replay equal to the original.
                recorded_at: self.recorded_at.0.trunc_subsecs(6),
                pain,
                regions,
                symptoms: self.symptoms.into_iter().map(|s| s.0).collect(),
                interference_activity,
                interference_enjoyment,
                sleep_quality,
                stress,
                self_care: self.self_care.into_iter().map(|c| c.0).collect(),
                medications,
                notes,
                time_zone,
            },
            _ => return Err(errors),
        };
        Ok((content, self.base_version))
    }
}

/// A stored journal entry.
#[derive(Debug, Clone, Object)]
#[oai(rename = "Entry", example)]
pub struct EntryBody {
    /// Chosen by the client when it first wrote the entry.
    pub id: Uuid,
    /// Starts at 1; send it back as `base_version` when changing the entry.
    #[oai(validator(minimum(value = "1")))]
    pub version: i64,
    /// The journal day: the local date at `recorded_at` in `time_zone`, or else in the
    /// patient's zone when the entry was first written.
    pub local_date: NaiveDate,
    /// When the entry describes (RFC 3339, UTC, microsecond precision).
    pub recorded_at: Timestamp,
    /// Overall pain: 0 = no pain, 10 = worst pain imaginable.
    #[oai(validator(maximum(value = "10")))]
    pub pain: u8,
    /// Pain by region, each region at most once.
    pub regions: Vec<RegionPainOut>,
    /// Symptoms besides pain.
    pub symptoms: Vec<Name<Symptom>>,
    /// Interference with general activity, 0 = not at all … 10 = completely.
    #[oai(validator(maximum(value = "10")))]
    pub interference_activity: Option<u8>,
    /// Interference with enjoyment of life, 0 = not at all … 10 = completely.
    #[oai(validator(maximum(value = "10")))]
    pub interference_enjoyment: Option<u8>,
    /// Last night's sleep, 0 = very poor … 10 = excellent.
    #[oai(validator(maximum(value = "10")))]
    pub sleep_quality: Option<u8>,
    /// Stress, 0 = none … 10 = extreme.
    #[oai(validator(maximum(value = "10")))]
    pub stress: Option<u8>,
    /// Self-care done since the last entry.
    pub self_care: Vec<Name<SelfCare>>,
    /// Medication taken, as written (trimmed).
    pub medications: Vec<String>,
    /// Free notes (trimmed); `null` when there are none.
    pub notes: Option<String>,
    /// The IANA time zone the phone was in at `recorded_at`; `null` when it did not say.
    pub time_zone: Option<String>,
    /// When the entry was first stored (RFC 3339, UTC).
    pub created_at: Timestamp,
    /// When the entry last changed (RFC 3339, UTC).
    pub updated_at: Timestamp,
}

impl Example for EntryBody {
    fn example() -> Self {
        let (content, _) = EntryWriteBody::example().parse().expect("the write example is valid");
        Entry {
            id: examples::id(examples::ENTRY),
            patient_id: examples::id(examples::PATIENT),
            content,
            local_date: examples::date("2026-11-21"),
            version: 1,
            created_at: examples::at("2026-11-21T19:31:04Z"),
            updated_at: examples::at("2026-11-21T19:31:04Z"),
        }
        .into()
    }
}

/// Pain in one region, as stored.
#[derive(Debug, Clone, Object)]
#[oai(rename = "RegionPainOut")]
pub struct RegionPainOut {
    /// Where it hurts.
    pub region: Name<Region>,
    /// 0 = no pain, 10 = worst pain imaginable.
    #[oai(validator(maximum(value = "10")))]
    pub pain: u8,
    /// How the pain feels.
    pub qualities: Vec<Name<PainQuality>>,
}

impl From<Entry> for EntryBody {
    fn from(entry: Entry) -> Self {
        let c = entry.content;
        Self {
            id: entry.id,
            version: entry.version,
            local_date: entry.local_date,
            recorded_at: Timestamp(c.recorded_at),
            pain: c.pain.value(),
            regions: c
                .regions
                .into_iter()
                .map(|r| RegionPainOut {
                    region: Name(r.region),
                    pain: r.pain.value(),
                    qualities: r.qualities.into_iter().map(Name).collect(),
                })
                .collect(),
            symptoms: c.symptoms.into_iter().map(Name).collect(),
            interference_activity: c.interference_activity.map(Score::value),
            interference_enjoyment: c.interference_enjoyment.map(Score::value),
            sleep_quality: c.sleep_quality.map(Score::value),
            stress: c.stress.map(Score::value),
            self_care: c.self_care.into_iter().map(Name).collect(),
            medications: c.medications,
            notes: c.notes,
            time_zone: c.time_zone.map(|z| z.name().to_owned()),
            created_at: Timestamp(entry.created_at),
            updated_at: Timestamp(entry.updated_at),
        }
    }
}

/// One item of the change feed: an entry as it is now, or the tombstone of a deleted one.
#[derive(Debug, Clone, Object)]
#[oai(rename = "JournalChange")]
pub struct ChangeBody {
    /// The entry's id.
    pub id: Uuid,
    /// The entry's version after this change (a deletion counts as a change).
    #[oai(validator(minimum(value = "1")))]
    pub version: i64,
    /// True for a deletion: drop the entry locally.
    pub deleted: bool,
    /// The entry, unless deleted.
    pub entry: Option<EntryBody>,
}

impl ChangeBody {
    fn from_state(state: EntryState) -> Self {
        match state {
            EntryState::Live(entry) => {
                Self { id: entry.id, version: entry.version, deleted: false, entry: Some(entry.into()) }
            }
            EntryState::Deleted(t) => Self { id: t.id, version: t.version, deleted: true, entry: None },
        }
    }
}

/// The server's copy of an entry in a 409 problem.
pub fn state_json(state: &EntryState) -> serde_json::Value {
    use poem_openapi::types::ToJSON as _;
    ChangeBody::from_state(state.clone()).to_json().unwrap_or_default()
}

/// A page of the change feed.
#[derive(Debug, Clone, Object)]
#[oai(rename = "JournalChanges", example)]
pub struct ChangesPage {
    /// Oldest change first. Apply them in order.
    pub changes: Vec<ChangeBody>,
    /// Pass as `cursor` next time; keep it even when `changes` is empty.
    pub next_cursor: String,
    /// More changes are waiting: ask again straight away.
    pub has_more: bool,
}

impl Example for ChangesPage {
    fn example() -> Self {
        let entry = EntryBody::example();
        let deleted = ChangeBody {
            id: examples::id("0196f6c2-0b9a-7e21-8c3d-5f6a7b8c9d0e"),
            version: 3,
            deleted: true,
            entry: None,
        };
        Self {
            changes: vec![
                ChangeBody { id: entry.id, version: entry.version, deleted: false, entry: Some(entry) },
                deleted,
            ],
            next_cursor: pagination::encode_change_cursor(1042),
            has_more: false,
        }
    }
}

/// A page of journal entries.
#[derive(Debug, Clone, Object)]
#[oai(rename = "EntryPage", example)]
pub struct EntryPage {
    /// Newest first.
    pub items: Vec<EntryBody>,
    /// Present when more entries follow; pass as `cursor`.
    pub next_cursor: Option<String>,
}

impl Example for EntryPage {
    fn example() -> Self {
        let item = EntryBody::example();
        let next = crate::store::EntryPosition { recorded_at: item.recorded_at.0, id: item.id };
        Self { items: vec![item], next_cursor: Some(pagination::encode_entry_cursor(next)) }
    }
}

/// One local day with at least one entry.
#[derive(Debug, Clone, Object)]
#[oai(rename = "JournalDay")]
pub struct DayBody {
    /// The local date, in the patient's time zone.
    pub date: NaiveDate,
    /// Highest pain of the day, 0–10.
    #[oai(validator(maximum(value = "10")))]
    pub max: u8,
    /// Mean pain of the day's entries, 0–10.
    #[oai(validator(minimum(value = "0"), maximum(value = "10")))]
    pub mean: f64,
    /// Pain of the day's latest entry, 0–10.
    #[oai(validator(maximum(value = "10")))]
    pub last: u8,
    /// Number of entries that day (1 or more).
    #[oai(validator(minimum(value = "1")))]
    pub count: u32,
    /// Every symptom reported that day.
    pub symptoms: Vec<Name<Symptom>>,
}

impl From<DailyRollup> for DayBody {
    fn from(day: DailyRollup) -> Self {
        Self {
            date: day.date,
            max: day.max,
            mean: day.mean,
            last: day.last,
            count: day.count,
            symptoms: day.symptoms.into_iter().map(Name).collect(),
        }
    }
}

/// Daily roll-ups over a date range.
#[derive(Debug, Clone, Object)]
#[oai(rename = "JournalDays", example)]
pub struct DaysPage {
    /// Days in date order; days without entries are absent.
    pub items: Vec<DayBody>,
}

impl Example for DaysPage {
    fn example() -> Self {
        let day = |date: &str, max, mean, last, count, symptoms: Vec<Symptom>| DayBody {
            date: examples::date(date),
            max,
            mean,
            last,
            count,
            symptoms: symptoms.into_iter().map(Name).collect(),
        };
        Self {
            items: vec![
                day("2026-11-20", 7, 6.5, 6, 2, vec![]),
                day("2026-11-21", 6, 6.0, 6, 1, vec![]),
                day("2026-11-23", 4, 3.5, 3, 2, vec![]),
            ],
        }
    }
}

/// One day and its highest pain.
#[derive(Debug, Clone, Object)]
#[oai(rename = "DayValue")]
pub struct DayValueBody {
    /// The local date.
    pub date: NaiveDate,
    /// The day's highest pain, 0–10.
    #[oai(validator(maximum(value = "10")))]
    pub pain: u8,
}

/// Which way pain moved against the previous window.
///
/// - `improved`: pain went down.
/// - `worsened`: pain went up.
/// - `unchanged`: exactly the same mean.
#[derive(Debug, Clone, Copy, Enum)]
#[oai(rename = "ChangeDirection", rename_all = "snake_case")]
pub enum Direction {
    Improved,
    Worsened,
    Unchanged,
}

/// Change of the mean daily maximum against the window of the same length just before.
#[derive(Debug, Clone, Object)]
#[oai(rename = "SummaryChange")]
pub struct ChangeOut {
    /// Mean daily maximum of the previous window, 0–10.
    #[oai(validator(minimum(value = "0"), maximum(value = "10")))]
    pub previous_mean: f64,
    /// Current minus previous mean, in NRS points (−10 to 10); negative is better.
    #[oai(validator(minimum(value = "-10"), maximum(value = "10")))]
    pub points: f64,
    /// `points` relative to the previous mean, in percent; `null` when that mean was 0.
    pub percent: Option<f64>,
    /// The change reaches the clinically meaningful 2 points or 30%.
    pub meaningful: bool,
    /// Which way pain moved.
    pub direction: Direction,
}

/// Statistics over the daily maximum ("worst pain of the day") of the logged days.
#[derive(Debug, Clone, Object)]
#[oai(rename = "JournalSummary", example)]
pub struct SummaryBody {
    /// First local date of the window (inclusive).
    pub from: NaiveDate,
    /// Last local date of the window (inclusive).
    pub to: NaiveDate,
    /// Days with at least one entry.
    pub logged_days: u32,
    /// Entries in the window.
    pub entries: u32,
    /// Mean of the daily maxima, 0–10; `null` without entries.
    #[oai(validator(minimum(value = "0"), maximum(value = "10")))]
    pub mean: Option<f64>,
    /// Median of the daily maxima, 0–10; `null` without entries.
    #[oai(validator(minimum(value = "0"), maximum(value = "10")))]
    pub median: Option<f64>,
    /// Least-squares slope of the daily maximum, in NRS points per week (negative is better);
    /// `null` with fewer than two logged days.
    pub trend_per_week: Option<f64>,
    /// The day with the lowest maximum (the earliest of equal days); `null` without entries.
    pub best_day: Option<DayValueBody>,
    /// The day with the highest maximum (the latest of equal days); `null` without entries.
    pub worst_day: Option<DayValueBody>,
    /// Against the window of the same length just before; `null` when that one has no entries.
    pub change: Option<ChangeOut>,
}

impl From<Summary> for SummaryBody {
    fn from(summary: Summary) -> Self {
        let s = summary.current;
        Self {
            from: s.from,
            to: s.to,
            logged_days: s.logged_days,
            entries: s.entries,
            mean: s.mean,
            median: s.median,
            trend_per_week: s.trend_per_week,
            best_day: s.best_day.map(|d| DayValueBody { date: d.date, pain: d.value }),
            worst_day: s.worst_day.map(|d| DayValueBody { date: d.date, pain: d.value }),
            change: summary.change.map(|c| ChangeOut {
                previous_mean: c.previous_mean,
                points: c.points,
                percent: c.percent,
                meaningful: c.meaningful,
                direction: if c.points < 0.0 {
                    Direction::Improved
                } else if c.points > 0.0 {
                    Direction::Worsened
                } else {
                    Direction::Unchanged
                },
            }),
        }
    }
}

impl Example for SummaryBody {
    fn example() -> Self {
        Self {
            from: examples::date("2026-11-10"),
            to: examples::date("2026-11-23"),
            logged_days: 12,
            entries: 17,
            mean: Some(5.25),
            median: Some(5.0),
            trend_per_week: Some(-1.4),
            best_day: Some(DayValueBody { date: examples::date("2026-11-23"), pain: 4 }),
            worst_day: Some(DayValueBody { date: examples::date("2026-11-12"), pain: 7 }),
            change: Some(ChangeOut {
                previous_mean: 6.5,
                points: -1.25,
                percent: Some(-19.2),
                meaningful: false,
                direction: Direction::Improved,
            }),
        }
    }
}

#[derive(ApiResponse)]
pub enum EntrySaved {
    /// The entry was created.
    #[oai(status = 201)]
    Created(
        Json<EntryWritten>,
        /// Where the entry is read: `/v1/journal/entries/{entry_id}`.
        #[oai(header = "Location")]
        String,
    ),
    /// The entry was updated, or it already had exactly this content (a replay).
    #[oai(status = 200)]
    Saved(Json<EntryWritten>),
}

/// A journal entry as stored by a write, with the alerts the write raised.
#[derive(Debug, Clone, Object)]
#[oai(rename = "EntryWritten", example)]
pub struct EntryWritten {
    #[oai(flatten)]
    pub entry: EntryBody,
    /// The emergency and urgent alerts this write opened or escalated (a warning sign the
    /// patient had not yet been notified of), most urgent first, each with its tier, rule and the
    /// advice in full: show them at once, whether or not a push arrives. A replay of the write
    /// answers with the same alerts. Empty when the write raised none; alerts over several days
    /// follow seconds later by push, and open alerts are listed at `GET /v1/alerts`.
    pub alerts: Vec<super::alerts::AlertBody>,
}

impl EntryWritten {
    pub fn new(entry: Entry, mut alerts: Vec<crate::domain::alerts::Alert>) -> Self {
        alerts.sort_by_key(|a| (a.tier, a.rule));
        Self { entry: entry.into(), alerts: alerts.into_iter().map(Into::into).collect() }
    }
}

impl Example for EntryWritten {
    /// Saddle numbness logged: the emergency alert comes back with the entry.
    fn example() -> Self {
        use crate::domain::alerts::{Alert, AlertThresholds, RuleId, evaluate_rule};
        use crate::domain::rollup::DailyRollup;
        let day = DailyRollup {
            date: examples::date("2026-11-21"),
            max: 6,
            mean: 6.0,
            last: 6,
            count: 1,
            symptoms: [Symptom::SaddleNumbness].into(),
        };
        let finding = evaluate_rule(
            RuleId::CaudaEquinaSigns,
            &[day],
            &[],
            examples::date("2026-11-21"),
            &AlertThresholds::default(),
        )
        .expect("saddle numbness is an emergency");
        let at = examples::at("2026-11-21T19:31:04Z");
        let alert = Alert {
            id: examples::id(examples::ALERT),
            patient_id: examples::id(examples::PATIENT),
            rule: finding.rule,
            tier: finding.tier,
            notified_facts: crate::domain::alerts::lifecycle::facts(&finding.evidence),
            evidence: finding.evidence,
            explanation: finding.explanation,
            source: finding.source.to_owned(),
            opened_at: at,
            last_seen_at: at,
            acknowledged: None,
            therapist_acknowledgements: Vec::new(),
            resolved: None,
            notified_at: Some(at),
            notification_count: 1,
        };
        Self { entry: EntryBody::example(), alerts: vec![alert.into()] }
    }
}

fn query_problem(field: &str, problem: FieldProblem) -> ApiError {
    ApiError::validation(ValidationErrors::single(field, problem.code, problem.message))
}

/// What reading a journal can answer besides success: someone else's journal without access is
/// not found.
pub(super) type Read =
    Problems<{ status::AUTHENTICATED | status::FORBIDDEN | status::UNPROCESSABLE | status::NOT_FOUND }>;

/// `GET …/entries/{entry_id}` for the patient's own journal and for a therapist's view.
pub(super) async fn read_entry(
    state: &AppState,
    principal: &Principal,
    patient_id: Uuid,
    entry_id: Uuid,
) -> Result<EntryBody, ApiError> {
    Ok(state.entry(principal, patient_id, entry_id).await?.into())
}

/// `GET …/entries`: entries with `from <= recorded_at < to`, newest first, a page at a time.
pub(super) async fn list_entries(
    state: &AppState,
    principal: &Principal,
    patient_id: Uuid,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    limit: Option<u32>,
    cursor: Option<&str>,
) -> Result<EntryPage, ApiError> {
    let limit = pagination::limit(limit)?;
    let after = pagination::decode_entry_cursor(cursor)?;
    let now = state.clock.now();
    let from = from.unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
    let to = to.unwrap_or(now + journal::FUTURE_TOLERANCE + chrono::TimeDelta::seconds(1));
    let (entries, more) = state.entries(principal, patient_id, from, to, after, limit).await?;
    let next_cursor = more.then(|| entries.last()).flatten().map(|e| {
        pagination::encode_entry_cursor(crate::store::EntryPosition { recorded_at: e.content.recorded_at, id: e.id })
    });
    Ok(EntryPage { items: entries.into_iter().map(Into::into).collect(), next_cursor })
}

/// `GET …/days`: daily roll-ups, by default of the last 30 days.
pub(super) async fn list_days(
    state: &AppState,
    principal: &Principal,
    patient_id: Uuid,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Result<DaysPage, ApiError> {
    let days = state.daily_rollups(principal, patient_id, from, to).await?;
    Ok(DaysPage { items: days.into_iter().map(Into::into).collect() })
}

/// `GET …/summary` over the last `days` days (7, 30 or 90) or `from`–`to`.
pub(super) async fn read_summary(
    state: &AppState,
    principal: &Principal,
    patient_id: Uuid,
    days: Option<u32>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Result<SummaryBody, ApiError> {
    let length = match days {
        None => 30,
        Some(n @ (7 | 30 | 90)) => n,
        Some(_) => return Err(query_problem("days", FieldProblem::new("invalid_value", "must be 7, 30 or 90"))),
    };
    Ok(state.summary(principal, patient_id, from, to, length).await?.into())
}

/// The `/v1/journal` and `/v1/questionnaires` operations work on the caller's own journal, which
/// only patient accounts keep: a therapist is refused (403) rather than told it does not exist.
pub(super) fn own_journal(principal: &Principal) -> Result<Uuid, ApiError> {
    match principal.role {
        Role::Patient => Ok(principal.account_id),
        Role::Therapist => Err(ApiError::Forbidden("Only patient accounts keep a journal.")),
    }
}

pub struct JournalApi;

#[OpenApi(prefix_path = "/v1/journal", tag = "ApiTags::Journal")]
impl JournalApi {
    /// Write an entry
    ///
    /// Creates or updates the entry with this client-made id (a UUID the phone generates, so it
    /// can log offline). Sending the same content again changes nothing and answers 200, so a
    /// retried sync never duplicates an entry. The answer carries the emergency and urgent
    /// alerts the write raised (`alerts`): an entry with saddle numbness comes back with the
    /// emergency advice at once, and so does its replay. Alerts over several days (persistent or
    /// worsening pain) are evaluated seconds after the write, once per sync, and pushed. Updates
    /// must carry `base_version`; when it is not the current version the answer is 409
    /// `stale_version` with the server's copy in `current`.
    #[oai(path = "/entries/:entry_id", method = "put", operation_id = "putJournalEntry")]
    async fn put_entry(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// The entry's id: a UUID the phone makes when it first writes the entry.
        entry_id: Path<Uuid>,
        body: JsonBody<EntryWriteBody>,
    ) -> Result<
        EntrySaved,
        Problems<{ status::AUTHENTICATED | status::BODY | status::FORBIDDEN | status::NOT_FOUND | status::CONFLICT }>,
    > {
        let (content, base_version) = body.0.parse().map_err(ApiError::validation)?;
        let me = own_journal(&auth.0)?;
        let (saved, alerts) = state.put_entry(&auth.0, me, entry_id.0, content, base_version).await?;
        Ok(match saved {
            crate::service::journal::Saved::Created(entry) => EntrySaved::Created(
                Json(EntryWritten::new(entry, alerts)),
                format!("/v1/journal/entries/{}", entry_id.0),
            ),
            crate::service::journal::Saved::Updated(entry) | crate::service::journal::Saved::Unchanged(entry) => {
                EntrySaved::Saved(Json(EntryWritten::new(entry, alerts)))
            }
        })
    }

    /// Read an entry
    ///
    /// The entry as stored now, with its `version`. A deleted entry answers 404.
    #[oai(path = "/entries/:entry_id", method = "get", operation_id = "getJournalEntry")]
    async fn get_entry(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// The entry's id.
        entry_id: Path<Uuid>,
    ) -> Result<Json<EntryBody>, Problems<{ status::AUTHENTICATED | status::FORBIDDEN | status::NOT_FOUND }>> {
        let me = own_journal(&auth.0)?;
        Ok(Json(read_entry(&state, &auth.0, me, entry_id.0).await?))
    }

    /// Delete an entry
    ///
    /// Leaves a tombstone that the change feed reports, so other devices drop the entry too.
    /// Deleting it again answers 204. With `base_version`, a stale version gets 409.
    #[oai(path = "/entries/:entry_id", method = "delete", operation_id = "deleteJournalEntry")]
    async fn delete_entry(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// The entry's id.
        entry_id: Path<Uuid>,
        /// The `version` the deletion is based on (1 or more); a stale one gets 409 with the
        /// server's copy. Without it the entry is deleted whatever its version.
        #[oai(validator(minimum(value = "1")))]
        base_version: Query<Option<i64>>,
    ) -> Result<
        Done,
        Problems<
            {
                status::AUTHENTICATED | status::FORBIDDEN | status::NOT_FOUND | status::CONFLICT | status::UNPROCESSABLE
            },
        >,
    > {
        let me = own_journal(&auth.0)?;
        state.delete_entry(&auth.0, me, entry_id.0, base_version.0).await?;
        Ok(Done::NoContent)
    }

    /// List entries
    ///
    /// Entries with `from <= recorded_at < to`, newest first, a page at a time.
    #[oai(path = "/entries", method = "get", operation_id = "listJournalEntries")]
    async fn list_entries(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// Earliest `recorded_at` (inclusive); default: the beginning.
        from: Query<Option<DateTime<Utc>>>,
        /// Latest `recorded_at` (exclusive); default: now (plus the 10-minute clock tolerance).
        to: Query<Option<DateTime<Utc>>>,
        /// Page size, 1–200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        #[oai(validator(max_length = 200))]
        cursor: Query<Option<String>>,
    ) -> Result<Json<EntryPage>, Read> {
        let me = own_journal(&auth.0)?;
        Ok(Json(list_entries(&state, &auth.0, me, from.0, to.0, limit.0, cursor.0.as_deref()).await?))
    }

    /// Changes since a cursor
    ///
    /// Everything that changed in the journal since `cursor` — new and updated entries, and
    /// tombstones of deleted ones — oldest first. Without a cursor it starts from the
    /// beginning, which rebuilds the journal exactly. Keep `next_cursor` for the next sync.
    #[oai(path = "/changes", method = "get", operation_id = "listJournalChanges")]
    async fn changes(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// `next_cursor` of the previous sync; empty or absent for a full sync.
        #[oai(validator(max_length = 200))]
        cursor: Query<Option<String>>,
        /// Page size, 1–200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
    ) -> Result<Json<ChangesPage>, Read> {
        let me = own_journal(&auth.0)?;
        let limit = pagination::limit(limit.0)?;
        let since = pagination::decode_change_cursor(cursor.0.as_deref())?;
        let (changes, has_more) = state.changes(&auth.0, me, since, limit).await?;
        let last = changes.last().map_or(since, |c: &Change| c.seq);
        Ok(Json(ChangesPage {
            changes: changes.into_iter().map(|c| ChangeBody::from_state(c.state)).collect(),
            next_cursor: pagination::encode_change_cursor(last),
            has_more,
        }))
    }

    /// Daily roll-ups
    ///
    /// Per local date with entries: highest, mean and last pain, number of entries, symptoms.
    /// Days without entries are absent. At most 366 days per request.
    #[oai(path = "/days", method = "get", operation_id = "listJournalDays")]
    async fn days(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// First local date (inclusive); default: 29 days before `to`.
        from: Query<Option<NaiveDate>>,
        /// Last local date (inclusive); default: today in the patient's time zone.
        to: Query<Option<NaiveDate>>,
    ) -> Result<Json<DaysPage>, Read> {
        let me = own_journal(&auth.0)?;
        Ok(Json(list_days(&state, &auth.0, me, from.0, to.0).await?))
    }

    /// Summary
    ///
    /// Mean, median, weekly trend, best and worst day over the last `days` days (7, 30 or 90;
    /// default 30) or over `from`–`to`, and the change against the window before, flagged when
    /// it reaches the clinically meaningful 2 points or 30%.
    #[oai(path = "/summary", method = "get", operation_id = "getJournalSummary")]
    async fn summary(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// 7, 30 or 90 days ending `to`; ignored when `from` is given.
        days: Query<Option<SummaryDays>>,
        /// First local date (inclusive).
        from: Query<Option<NaiveDate>>,
        /// Last local date (inclusive); default: today.
        to: Query<Option<NaiveDate>>,
    ) -> Result<Json<SummaryBody>, Read> {
        let me = own_journal(&auth.0)?;
        Ok(Json(read_summary(&state, &auth.0, me, days.0.map(|d| d.0), from.0, to.0).await?))
    }
}

/// The length of a summary window in days: 7, 30 or 90.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SummaryDays(pub(super) u32);

impl Type for SummaryDays {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        "SummaryDays".into()
    }

    /// One named schema, so the two summary operations share one generated type.
    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Reference(Self::name().into_owned())
    }

    fn register(registry: &mut poem_openapi::registry::Registry) {
        registry.create_schema::<Self, _>(Self::name().into_owned(), |_| MetaSchema {
            description: Some("The length of a summary window: `7`, `30` or `90` days ending `to`."),
            format: Some("int32"),
            enum_items: [7, 30, 90].into_iter().map(serde_json::Value::from).collect(),
            ..MetaSchema::new("integer")
        });
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl ParseFromParameter for SummaryDays {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        match value.parse::<u32>() {
            Ok(days @ (7 | 30 | 90)) => Ok(Self(days)),
            _ => Err(ParseError::custom("must be 7, 30 or 90")),
        }
    }
}
