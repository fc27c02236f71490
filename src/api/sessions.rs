//! `/v1/sessions`, `/v1/me/health-screen`, `/v1/aftercare`: massage sessions with their
//! contraindication warnings and aftercare plans, step progress and soreness check-ins, and
//! therapists' own plan templates.

use chrono::{DateTime, NaiveDate, SubsecRound, Utc};
use poem::web::Data;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi, Union};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::ApiTags;
use super::accounts::Done;
use super::error::{ApiError, ProblemField, Problems, status};
use super::examples;
use super::json::JsonBody;
use super::names::Name;
use super::pagination;
use super::security::BearerAuth;
use super::timestamps::Timestamp;
use crate::domain::ValidationErrors;
use crate::domain::aftercare::{StepKind, Template};
use crate::domain::body::Region;
use crate::domain::massage::{Pressure, SessionKind};
use crate::domain::screening::{Condition, Gap, HealthScreen, Outcome, PlannedSession, Warning};
use crate::service::AppState;
use crate::service::massage::{ScreenReport, SessionDraft, SessionView, StepOutcome};
use crate::store::{MassageSession, StepRecord, StepState, TemplateRecord};

/// Re-reads one serde shape as another, naming the field on failure (API bodies mirror the
/// stored domain shapes field for field).
fn convert<A: Serialize, B: DeserializeOwned>(value: &A) -> Result<B, ApiError> {
    let json = serde_json::to_value(value).map_err(|_| ApiError::Internal)?;
    serde_path_to_error::deserialize(json).map_err(|e| {
        ApiError::Validation(vec![ProblemField {
            field: e.path().to_string(),
            code: "invalid".into(),
            message: e.inner().to_string(),
        }])
    })
}

/// A yes/no answer of the health screen.
#[derive(Debug, Clone, Object, Serialize, Deserialize)]
#[oai(rename = "ScreenAnswer")]
#[serde(deny_unknown_fields)]
pub struct AnswerBody {
    /// `true`: the patient has this condition; `false`: confirmed they do not.
    pub present: bool,
    /// Up to 500 characters; line breaks and tabs, no other control characters.
    #[oai(validator(max_length = 500, pattern = r"^[^\u0000-\u0008\u000b-\u001f\u007f-\u009f]*$"))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The local date (`YYYY-MM-DD`) the patient last confirmed this answer; not later than
    /// today.
    pub confirmed_on: NaiveDate,
}

/// An answer about something in a particular place; no regions means the place is not known.
#[derive(Debug, Clone, Object, Serialize, Deserialize)]
#[oai(rename = "ScreenRegionalAnswer")]
#[serde(deny_unknown_fields)]
pub struct RegionalAnswerBody {
    /// `true`: the patient has this condition; `false`: confirmed they do not.
    pub present: bool,
    /// Where; empty when not known, and then every worked region counts as affected.
    #[oai(default)]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<Name<Region>>,
    /// The patient's own words, up to 500 characters.
    #[oai(validator(max_length = 500, pattern = r"^[^\u0000-\u0008\u000b-\u001f\u007f-\u009f]*$"))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The local date (`YYYY-MM-DD`) the patient last confirmed this answer; not later than
    /// today.
    pub confirmed_on: NaiveDate,
}

/// The answer about osteoporosis, which matters more when it is severe.
#[derive(Debug, Clone, Object, Serialize, Deserialize)]
#[oai(rename = "ScreenOsteoporosisAnswer")]
#[serde(deny_unknown_fields)]
pub struct OsteoporosisBody {
    /// `true`: the patient has osteoporosis; `false`: confirmed they do not.
    pub present: bool,
    /// Severe, or with fragility fractures, as the patient's doctor described it.
    #[oai(default)]
    #[serde(default)]
    pub severe: bool,
    /// The patient's own words, up to 500 characters.
    #[oai(validator(max_length = 500, pattern = r"^[^\u0000-\u0008\u000b-\u001f\u007f-\u009f]*$"))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The local date (`YYYY-MM-DD`) the patient last confirmed this answer; not later than
    /// today.
    pub confirmed_on: NaiveDate,
}

/// The answer about arthritis: whether inflamed joints are in a flare now, and where.
#[derive(Debug, Clone, Object, Serialize, Deserialize)]
#[oai(rename = "ScreenArthritisAnswer")]
#[serde(deny_unknown_fields)]
pub struct ArthritisBody {
    /// `true`: the patient has arthritis of any kind; `false`: confirmed they do not.
    pub present: bool,
    /// An inflammatory arthritis (such as rheumatoid arthritis) in a flare now: hot, swollen,
    /// painful joints. Massage then keeps off those joints (`modify`).
    #[oai(default)]
    #[serde(default)]
    pub inflammatory_flare: bool,
    /// Where the inflamed joints are; empty when not known, and then every worked region counts.
    #[oai(default)]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<Name<Region>>,
    /// The patient's own words, up to 500 characters.
    #[oai(validator(max_length = 500, pattern = r"^[^\u0000-\u0008\u000b-\u001f\u007f-\u009f]*$"))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The local date (`YYYY-MM-DD`) the patient last confirmed this answer; not later than
    /// today.
    pub confirmed_on: NaiveDate,
}

/// Conditions that matter for massage. A missing field is a question not answered yet;
/// `present: false` is a confirmed "no".
#[derive(Debug, Clone, Default, Object, Serialize, Deserialize)]
#[oai(rename = "HealthScreen", example)]
#[serde(deny_unknown_fields)]
pub struct HealthScreenBody {
    /// Deep vein thrombosis or other blood clots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blood_clots: Option<AnswerBody>,
    /// A bleeding or clotting disorder, or taking anticoagulants.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bleeding_disorder_or_anticoagulants: Option<AnswerBody>,
    /// A recently broken bone, and where.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recent_fracture: Option<RegionalAnswerBody>,
    /// Osteoporosis, and whether it is severe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub osteoporosis: Option<OsteoporosisBody>,
    /// A fever now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fever: Option<AnswerBody>,
    /// A recent or acute injury.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recent_injury: Option<RegionalAnswerBody>,
    /// A skin infection or open wound, and where.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skin_infection_or_wound: Option<RegionalAnswerBody>,
    /// Arthritis, and whether joints are inflamed in a flare (Versus Arthritis and Arthritis
    /// Foundation advice on massage: keep off inflamed joints in a flare).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arthritis: Option<ArthritisBody>,
    /// Pregnant now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pregnancy: Option<AnswerBody>,
    /// A heart or other cardiovascular condition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heart_condition: Option<AnswerBody>,
    /// A herniated ("slipped") disc.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub herniated_disc: Option<AnswerBody>,
    /// Cancer, now or in the past.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancer: Option<AnswerBody>,
}

impl Example for HealthScreenBody {
    fn example() -> Self {
        let confirmed_on = NaiveDate::from_ymd_opt(2026, 11, 20).expect("valid date");
        let no = || Some(AnswerBody { present: false, note: None, confirmed_on });
        Self {
            blood_clots: no(),
            bleeding_disorder_or_anticoagulants: no(),
            recent_fracture: Some(RegionalAnswerBody { present: false, regions: vec![], note: None, confirmed_on }),
            osteoporosis: Some(OsteoporosisBody { present: false, severe: false, note: None, confirmed_on }),
            fever: no(),
            recent_injury: Some(RegionalAnswerBody {
                present: true,
                regions: vec![Name(Region::LeftShoulder)],
                note: Some("Strained it lifting a box last week.".into()),
                confirmed_on,
            }),
            skin_infection_or_wound: Some(RegionalAnswerBody {
                present: false,
                regions: vec![],
                note: None,
                confirmed_on,
            }),
            arthritis: Some(ArthritisBody {
                present: true,
                inflammatory_flare: false,
                regions: vec![],
                note: Some("Osteoarthritis in the right knee.".into()),
                confirmed_on,
            }),
            pregnancy: no(),
            heart_condition: no(),
            herniated_disc: Some(AnswerBody {
                present: true,
                note: Some("L4/L5, diagnosed in 2024.".into()),
                confirmed_on,
            }),
            cancer: no(),
        }
    }
}

/// A patient's health screen as saved, with the questions still to ask.
#[derive(Debug, Clone, Object)]
#[oai(rename = "HealthScreenState", example)]
pub struct HealthScreenOut {
    /// The answers; a missing field is a question not answered yet.
    pub screen: HealthScreenBody,
    /// When it was last saved; absent when never.
    pub updated_at: Option<Timestamp>,
    /// Conditions not answered yet: ask before the first session.
    pub unanswered: Vec<Name<Condition>>,
}

impl Example for HealthScreenOut {
    fn example() -> Self {
        let screen: HealthScreen = convert(&HealthScreenBody::example()).expect("the screen example converts");
        screen_out(&screen, Some(examples::at("2026-11-21T09:35:00Z"))).expect("the screen example converts back")
    }
}

/// The warnings the example health screen gives for the example planned session.
fn example_warnings() -> Vec<WarningOut> {
    let screen: HealthScreen = convert(&HealthScreenBody::example()).expect("the screen example converts");
    let planned = PlannedBody::example();
    let planned = PlannedSession {
        kind: planned.kind.0,
        pressure: planned.pressure.map(|p| p.0),
        regions: planned.regions.into_iter().map(|r| r.0).collect(),
    };
    crate::domain::screening::screen(&screen, &planned).into_iter().map(Into::into).collect()
}

/// The saved screen of a patient (an empty one when none was saved yet).
pub async fn health_screen_state(
    state: &AppState,
    principal: &crate::store::Principal,
    patient_id: Uuid,
) -> Result<HealthScreenOut, ApiError> {
    let (screen, at) = match state.health_screen(principal, patient_id).await? {
        Some((screen, at)) => (screen, Some(at)),
        None => (HealthScreen::default(), None),
    };
    screen_out(&screen, at)
}

pub(super) fn screen_out(
    screen: &HealthScreen,
    updated_at: Option<DateTime<Utc>>,
) -> Result<HealthScreenOut, ApiError> {
    Ok(HealthScreenOut {
        screen: convert(screen)?,
        updated_at: updated_at.map(Timestamp),
        unanswered: screen.unanswered().into_iter().map(Name).collect(),
    })
}

/// A reason to avoid, change or check a massage first.
#[derive(Debug, Clone, Object)]
#[oai(rename = "ScreenWarning")]
pub struct WarningOut {
    /// The health screen answer behind the warning.
    pub condition: Name<Condition>,
    /// `avoid`: not without medical clearance; `modify`: change the session (area or pressure);
    /// `consult`: check with a doctor or physiotherapist first.
    pub outcome: Name<Outcome>,
    /// Plain words for the patient and the therapist.
    pub reason: String,
}

impl From<Warning> for WarningOut {
    fn from(w: Warning) -> Self {
        Self { condition: Name(w.condition), outcome: Name(w.outcome), reason: w.reason }
    }
}

/// A session as planned, to screen before booking.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(rename = "PlannedSession", example)]
#[serde(deny_unknown_fields)]
pub struct PlannedBody {
    /// The kind of massage.
    pub kind: Name<SessionKind>,
    /// The planned pressure; `null` when not known.
    pub pressure: Option<Name<Pressure>>,
    /// Regions to be worked; none means unknown (every area counts).
    #[oai(default, validator(max_items = 11))]
    #[serde(default)]
    pub regions: Vec<Name<Region>>,
}

impl Example for PlannedBody {
    fn example() -> Self {
        Self {
            kind: Name(SessionKind::DeepTissue),
            pressure: Some(Name(Pressure::Firm)),
            regions: vec![Name(Region::LowerBack), Name(Region::Glutes)],
        }
    }
}

/// What the health screen says about a planned session.
#[derive(Debug, Clone, Object)]
#[oai(rename = "ScreenResult", example)]
pub struct ScreenOut {
    /// Most serious first, from the health screen and from a fever or a swollen, red, warm or
    /// painful leg logged in the journal or at a check-in in the last 7 days. Empty only means
    /// all clear when `screened` is true.
    pub warnings: Vec<WarningOut>,
    /// False while any question of the health screen is unanswered or was last confirmed too
    /// long ago (`screening.answer_max_age_days`, 90 by default): see `not_screened`.
    pub screened: bool,
    /// The questions to ask (again) before the massage.
    pub not_screened: Vec<ScreenGapOut>,
}

impl Example for ScreenOut {
    fn example() -> Self {
        Self { warnings: example_warnings(), screened: true, not_screened: vec![] }
    }
}

/// A health-screen question that does not count as answered.
#[derive(Debug, Clone, Object)]
#[oai(rename = "ScreenGap", example)]
pub struct ScreenGapOut {
    /// The question.
    pub condition: Name<Condition>,
    /// `unanswered`: never answered (or no health screen at all); `stale`: answered, but last
    /// confirmed longer ago than the configured age.
    pub reason: String,
    /// When a stale answer was last confirmed; `null` when unanswered.
    pub confirmed_on: Option<NaiveDate>,
}

impl Example for ScreenGapOut {
    fn example() -> Self {
        Self {
            condition: Name(Condition::Pregnancy),
            reason: "stale".into(),
            confirmed_on: NaiveDate::from_ymd_opt(2026, 5, 2),
        }
    }
}

fn gaps_out(gaps: Vec<(Condition, Gap)>) -> Vec<ScreenGapOut> {
    gaps.into_iter()
        .map(|(condition, gap)| ScreenGapOut {
            condition: Name(condition),
            reason: gap.as_str().to_owned(),
            confirmed_on: match gap {
                Gap::Stale { confirmed_on } => Some(confirmed_on),
                Gap::Unanswered => None,
            },
        })
        .collect()
}

impl From<ScreenReport> for ScreenOut {
    fn from(report: ScreenReport) -> Self {
        Self {
            warnings: report.warnings.into_iter().map(Into::into).collect(),
            screened: report.not_screened.is_empty(),
            not_screened: gaps_out(report.not_screened),
        }
    }
}

/// A massage session as the client writes it.
#[derive(Debug, Clone, Object, Deserialize, Serialize)]
#[oai(rename = "SessionWrite", example)]
#[serde(deny_unknown_fields)]
pub struct SessionBody {
    /// When the session started (RFC 3339).
    pub started_at: Timestamp,
    /// Length in minutes, 1–600.
    #[oai(validator(minimum(value = "1"), maximum(value = "600")))]
    pub duration_minutes: i64,
    /// The kind of massage.
    pub kind: Name<SessionKind>,
    /// Techniques used, free text: at most 10, each 1–60 characters and not blank.
    #[oai(default, validator(max_items = 10, min_length = 1, max_length = 60, pattern = r"\S"))]
    #[serde(default)]
    pub techniques: Vec<String>,
    /// Regions worked.
    #[oai(default, validator(max_items = 11))]
    #[serde(default)]
    pub regions: Vec<Name<Region>>,
    /// The pressure used; `null` when not known.
    pub pressure: Option<Name<Pressure>>,
    /// Pain just before the session, 0 = none, 10 = worst imaginable.
    #[oai(validator(minimum(value = "0"), maximum(value = "10")))]
    pub pain_before: Option<i64>,
    /// Pain just after the session, 0–10.
    #[oai(validator(minimum(value = "0"), maximum(value = "10")))]
    pub pain_after: Option<i64>,
    /// At most 2000 characters.
    #[oai(validator(max_length = 2000))]
    pub notes: Option<String>,
}

impl Example for SessionBody {
    fn example() -> Self {
        Self {
            started_at: "2026-11-20T16:00:00Z".parse().expect("valid instant"),
            duration_minutes: 60,
            kind: Name(SessionKind::DeepTissue),
            techniques: vec!["trigger point release".into()],
            regions: vec![Name(Region::LowerBack), Name(Region::Glutes)],
            pressure: Some(Name(Pressure::Firm)),
            pain_before: Some(6),
            pain_after: Some(4),
            notes: None,
        }
    }
}

impl SessionBody {
    pub fn parse(self) -> Result<SessionDraft, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let duration = u16::try_from(self.duration_minutes).ok().filter(|d| (1..=600).contains(d));
        if duration.is_none() {
            errors.add("duration_minutes", "out_of_range", "must be 1 to 600 minutes");
        }
        if self.techniques.len() > 10 {
            errors.add("techniques", "too_many", "at most 10");
        }
        let mut techniques = Vec::new();
        for (i, t) in self.techniques.iter().enumerate() {
            let t = t.trim();
            if t.is_empty() || t.chars().count() > 60 {
                errors.add(format!("techniques[{i}]"), "invalid", "must be 1 to 60 characters");
            } else {
                techniques.push(t.to_owned());
            }
        }
        let mut pain = |field: &str, v: Option<i64>| match v {
            Some(v) if !(0..=10).contains(&v) => {
                errors.add(field, "out_of_range", "must be a whole number from 0 to 10");
                None
            }
            v => v.map(|v| v as u8),
        };
        let pain_before = pain("pain_before", self.pain_before);
        let pain_after = pain("pain_after", self.pain_after);
        let notes = self.notes.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
        if notes.as_ref().is_some_and(|n| n.chars().count() > 2000) {
            errors.add("notes", "too_long", "must be at most 2000 characters");
        }
        if self.regions.len() > Region::ALL.len() {
            errors.add("regions", "too_many", format!("at most {} regions", Region::ALL.len()));
        }
        let mut regions: Vec<Region> = self.regions.into_iter().map(|r| r.0).collect();
        regions.sort();
        regions.dedup();
        errors.finish(|| SessionDraft {
            started_at: self.started_at.0.trunc_subsecs(6),
            duration_minutes: duration.unwrap_or(1),
            kind: self.kind.0,
            techniques,
            regions,
            pressure: self.pressure.map(|p| p.0),
            pain_before,
            pain_after,
            notes,
        })
    }
}

/// Where an aftercare step stands.
///
/// - `pending`: not done yet (its prompt may or may not have been sent).
/// - `done`: the patient did it.
/// - `skipped`: the patient chose not to.
#[derive(Debug, Clone, Copy, Enum, Deserialize)]
#[oai(rename = "StepState", rename_all = "snake_case")]
pub enum StepStateOut {
    Pending,
    Done,
    Skipped,
}

/// The patient's answer to a soreness check-in.
#[derive(Debug, Clone, Object)]
#[oai(rename = "CheckInAnswer")]
pub struct CheckInOut {
    /// 0 = no soreness, 10 = worst imaginable.
    #[oai(validator(maximum(value = "10")))]
    pub soreness: u8,
    /// The patient reported a swollen, red, warm or painful leg.
    pub leg_swelling_redness_warmth: bool,
    /// When the patient answered (RFC 3339, UTC); a new answer replaces the old one.
    pub answered_at: Timestamp,
}

/// One step of a session's aftercare plan, with its prompt time and progress.
#[derive(Debug, Clone, Object)]
#[oai(rename = "AftercareStep", example)]
pub struct StepOut {
    /// Identifies the step, for `…/steps/{step_id}/completion` and `…/check-in`.
    pub id: Uuid,
    /// Stable within the plan, e.g. `hydrate`, `soreness_48h`.
    pub key: String,
    /// `hydrate`, `warm_bath_or_compress`, `stretches`, `soreness_check_in`, `custom`.
    pub kind: String,
    /// For a soreness check-in: how many hours after the session (24 or 48).
    pub hours_after: Option<u16>,
    /// The prompt's title, short enough for a lock screen.
    pub title: String,
    /// What to do, in plain words; may contain line breaks.
    pub body: String,
    /// When the prompt is (or was) due, already moved out of quiet hours.
    pub due_at: Timestamp,
    /// Whether the step is still pending, done or skipped.
    pub state: StepStateOut,
    /// When it was marked done or skipped; `null` while pending.
    pub completed_at: Option<Timestamp>,
    /// Soreness check-ins only: the answer, `null` until answered.
    pub check_in: Option<CheckInOut>,
}

impl Example for StepOut {
    fn example() -> Self {
        SessionOut::example().steps.swap_remove(3)
    }
}

impl From<StepRecord> for StepOut {
    fn from(s: StepRecord) -> Self {
        Self {
            id: s.id,
            key: s.key,
            kind: s.kind.as_str().to_owned(),
            hours_after: match s.kind {
                StepKind::SorenessCheckIn { hours_after } => Some(hours_after),
                _ => None,
            },
            title: s.title,
            body: s.body,
            due_at: Timestamp(s.due_at),
            state: match s.state {
                StepState::Pending => StepStateOut::Pending,
                StepState::Done => StepStateOut::Done,
                StepState::Skipped => StepStateOut::Skipped,
            },
            completed_at: s.completed_at.map(Timestamp),
            check_in: s.check_in.map(|c| CheckInOut {
                soreness: c.soreness,
                leg_swelling_redness_warmth: c.leg_swelling,
                answered_at: Timestamp(c.answered_at),
            }),
        }
    }
}

/// A recorded session.
#[derive(Debug, Clone, Object)]
#[oai(rename = "SessionSummary")]
pub struct SessionSummaryOut {
    /// Identifies the session.
    pub id: Uuid,
    /// When the session started (RFC 3339, UTC).
    pub started_at: Timestamp,
    /// `started_at` plus `duration_minutes`; aftercare prompts are timed from here.
    pub ended_at: Timestamp,
    /// Length in minutes, 1–600.
    #[oai(validator(minimum(value = "1"), maximum(value = "600")))]
    pub duration_minutes: u16,
    /// The kind of massage.
    pub kind: Name<SessionKind>,
    /// Techniques used, as written (trimmed).
    pub techniques: Vec<String>,
    /// Regions worked, each once.
    pub regions: Vec<Name<Region>>,
    /// The pressure used; `null` when not known.
    pub pressure: Option<Name<Pressure>>,
    /// Pain just before the session, 0–10; `null` when not given.
    #[oai(validator(maximum(value = "10")))]
    pub pain_before: Option<u8>,
    /// Pain just after the session, 0–10; `null` when not given.
    #[oai(validator(maximum(value = "10")))]
    pub pain_after: Option<u8>,
    /// Free notes (trimmed); `null` when there are none.
    pub notes: Option<String>,
    /// Who recorded it: the patient or one of their therapists.
    pub recorded_by: Option<Uuid>,
    /// The aftercare plan it follows.
    pub plan_name: String,
    /// When the session was recorded (RFC 3339, UTC).
    pub created_at: Timestamp,
    /// When the session's details last changed (RFC 3339, UTC).
    pub updated_at: Timestamp,
}

impl Example for SessionSummaryOut {
    fn example() -> Self {
        let written = SessionBody::example();
        let started_at = written.started_at;
        Self {
            id: examples::id(examples::SESSION),
            started_at,
            ended_at: Timestamp(started_at.0 + chrono::TimeDelta::minutes(written.duration_minutes)),
            duration_minutes: 60,
            kind: written.kind,
            techniques: written.techniques,
            regions: written.regions,
            pressure: written.pressure,
            pain_before: Some(6),
            pain_after: Some(4),
            notes: written.notes,
            recorded_by: Some(examples::id(examples::THERAPIST)),
            plan_name: crate::domain::aftercare::deep_tissue_template().name,
            created_at: Timestamp(examples::at("2026-11-20T17:05:00Z")),
            updated_at: Timestamp(examples::at("2026-11-20T17:05:00Z")),
        }
    }
}

impl From<MassageSession> for SessionSummaryOut {
    fn from(s: MassageSession) -> Self {
        Self {
            id: s.id,
            ended_at: Timestamp(s.ended_at()),
            started_at: Timestamp(s.started_at),
            duration_minutes: s.duration_minutes,
            kind: Name(s.kind),
            techniques: s.techniques,
            regions: s.regions.into_iter().map(Name).collect(),
            pressure: s.pressure.map(Name),
            pain_before: s.pain_before,
            pain_after: s.pain_after,
            notes: s.notes,
            recorded_by: s.recorded_by,
            plan_name: s.template.name,
            created_at: Timestamp(s.created_at),
            updated_at: Timestamp(s.updated_at),
        }
    }
}

/// A session with its aftercare plan and the health screen's warnings.
#[derive(Debug, Clone, Object)]
#[oai(rename = "Session", example)]
pub struct SessionOut {
    /// The session's details.
    pub session: SessionSummaryOut,
    /// The aftercare plan, in order.
    pub steps: Vec<StepOut>,
    /// From the patient's health screen, and from a fever or a swollen, red, warm or painful leg
    /// logged in the last 7 days; most serious first. Empty only means all clear when
    /// `screened` is true.
    pub warnings: Vec<WarningOut>,
    /// False while any question of the health screen is unanswered or stale.
    pub screened: bool,
    /// The questions unanswered or last confirmed too long ago, to ask before the massage.
    pub not_screened: Vec<ScreenGapOut>,
}

/// A changed session, with the alerts the change raised.
#[derive(Debug, Clone, Object)]
#[oai(rename = "SessionWritten", example)]
pub struct SessionWritten {
    #[oai(flatten)]
    pub session: SessionOut,
    /// The alerts this change opened or escalated, most urgent first, each with its tier, rule
    /// and the advice in full; usually empty.
    pub alerts: Vec<super::alerts::AlertBody>,
}

impl Example for SessionWritten {
    fn example() -> Self {
        Self { session: SessionOut::example(), alerts: Vec::new() }
    }
}

/// An answered check-in step, with the alerts the answer raised.
#[derive(Debug, Clone, Object)]
#[oai(rename = "CheckInAnswered", example)]
pub struct CheckInAnswered {
    #[oai(flatten)]
    pub step: StepOut,
    /// The alerts this answer opened or escalated (a swollen, red or warm leg is urgent; high
    /// soreness 48 hours on reaches the therapist), most urgent first, each with its tier, rule
    /// and the advice in full: show them at once, whether or not a push arrives.
    pub alerts: Vec<super::alerts::AlertBody>,
}

impl Example for CheckInAnswered {
    fn example() -> Self {
        Self { step: StepOut::example(), alerts: vec![super::alerts::AlertBody::example()] }
    }
}

fn alert_bodies(mut alerts: Vec<crate::domain::alerts::Alert>) -> Vec<super::alerts::AlertBody> {
    alerts.sort_by_key(|a| (a.tier, a.rule));
    alerts.into_iter().map(Into::into).collect()
}

impl Example for SessionOut {
    /// The default deep-tissue plan for a session ending at 18:00 in Berlin: the bath that
    /// evening, stretches next morning, check-ins 24 and 48 hours on; the first answered.
    fn example() -> Self {
        use crate::domain::aftercare::{deep_tissue_template, plan};
        use crate::domain::time::{QuietHours, TimeZone};
        let session = SessionSummaryOut::example();
        let zone = TimeZone::parse("Europe/Berlin").expect("a known zone");
        let ids = [
            "0196f6a0-9c8b-7a6d-8e5f-4a3b2c1d0e9f",
            "0196f6a0-9c8b-7a6d-8e5f-4a3b2c1d0ea0",
            "0196f6a0-9c8b-7a6d-8e5f-4a3b2c1d0ea1",
            "0196f6a0-9c8b-7a6d-8e5f-4a3b2c1d0ea2",
            "0196f6a0-9c8b-7a6d-8e5f-4a3b2c1d0ea3",
        ];
        let planned = plan(&deep_tissue_template(), session.ended_at.0, zone, QuietHours::default());
        let steps = planned
            .into_iter()
            .zip(ids)
            .enumerate()
            .map(|(i, (p, id))| {
                let done = i < 4;
                let completed_at = done.then(|| p.due_at + chrono::TimeDelta::minutes(20));
                StepOut {
                    id: examples::id(id),
                    key: p.step.key,
                    kind: p.step.kind.as_str().to_owned(),
                    hours_after: match p.step.kind {
                        StepKind::SorenessCheckIn { hours_after } => Some(hours_after),
                        _ => None,
                    },
                    title: p.step.title,
                    body: p.step.body,
                    due_at: Timestamp(p.due_at),
                    state: if done { StepStateOut::Done } else { StepStateOut::Pending },
                    completed_at: completed_at.map(Timestamp),
                    check_in: match (p.step.kind, completed_at) {
                        (StepKind::SorenessCheckIn { .. }, Some(answered_at)) => Some(CheckInOut {
                            soreness: 3,
                            leg_swelling_redness_warmth: false,
                            answered_at: Timestamp(answered_at),
                        }),
                        _ => None,
                    },
                }
            })
            .collect();
        Self { session, steps, warnings: example_warnings(), screened: true, not_screened: vec![] }
    }
}

impl From<SessionView> for SessionOut {
    fn from(view: SessionView) -> Self {
        Self {
            session: view.session.into(),
            steps: view.steps.into_iter().map(Into::into).collect(),
            warnings: view.warnings.into_iter().map(Into::into).collect(),
            screened: view.not_screened.is_empty(),
            not_screened: gaps_out(view.not_screened),
        }
    }
}

/// Recorded sessions, without their plans, a page at a time.
#[derive(Debug, Clone, Object)]
#[oai(rename = "SessionList", example)]
pub struct SessionList {
    /// Newest first.
    pub items: Vec<SessionSummaryOut>,
    /// Present when more sessions follow; pass as `cursor`.
    pub next_cursor: Option<String>,
}

impl Example for SessionList {
    fn example() -> Self {
        Self { items: vec![SessionSummaryOut::example()], next_cursor: None }
    }
}

/// `GET …/sessions`: sessions with `from <= started_at < to`, newest first, a page at a time.
pub(super) async fn list_sessions(
    state: &AppState,
    principal: &crate::store::Principal,
    patient_id: Uuid,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    limit: Option<u32>,
    cursor: Option<&str>,
) -> Result<SessionList, ApiError> {
    let limit = pagination::limit(limit)?;
    let after = pagination::decode_session_cursor(cursor)?;
    let (sessions, more) = state.massage_sessions(principal, patient_id, from, to, after, limit).await?;
    let next_cursor = more.then(|| sessions.last()).flatten().map(|s| {
        pagination::encode_session_cursor(crate::store::SessionPosition { started_at: s.started_at, id: s.id })
    });
    Ok(SessionList { items: sessions.into_iter().map(Into::into).collect(), next_cursor })
}

/// How an aftercare step ended.
///
/// - `done`: the patient did it.
/// - `skipped`: the patient chose not to.
#[derive(Debug, Clone, Copy, Enum, Deserialize)]
#[oai(rename = "StepOutcome", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum OutcomeBody {
    Done,
    Skipped,
}

/// Marks an aftercare step done or skipped.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(rename = "StepCompletion", example)]
#[serde(deny_unknown_fields)]
pub struct CompletionBody {
    /// Done or skipped; marking it again replaces the earlier outcome.
    pub outcome: OutcomeBody,
}

impl Example for CompletionBody {
    fn example() -> Self {
        Self { outcome: OutcomeBody::Done }
    }
}

/// The patient's answer to a soreness check-in.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(rename = "CheckInWrite", example)]
#[serde(deny_unknown_fields)]
pub struct CheckInBody {
    /// Soreness now: 0 = none, 10 = worst imaginable.
    #[oai(validator(minimum(value = "0"), maximum(value = "10")))]
    pub soreness: i64,
    /// Is a leg swollen, red, warm or painful? If yes, get medical help today (it can be a blood
    /// clot), and call emergency services at once with breathlessness, chest pain or coughing
    /// up blood.
    pub leg_swelling_redness_warmth: bool,
}

impl Example for CheckInBody {
    fn example() -> Self {
        Self { soreness: 3, leg_swelling_redness_warmth: false }
    }
}

/// What an aftercare step asks the patient to do; `type` says which, and a soreness check-in
/// also says `hours_after`.
#[derive(Debug, Clone, Union, Serialize, Deserialize)]
#[oai(rename = "TemplateStepKind", discriminator_name = "type")]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StepKindBody {
    /// Drink some water.
    #[oai(mapping = "hydrate")]
    Hydrate(HydrateStep),
    /// A warm bath or compress for tight muscles.
    #[oai(mapping = "warm_bath_or_compress")]
    WarmBathOrCompress(WarmthStep),
    /// Gentle stretches.
    #[oai(mapping = "stretches")]
    Stretches(StretchesStep),
    /// Rate soreness 0–10 and say whether a leg is swollen, red, warm or painful.
    #[oai(mapping = "soreness_check_in")]
    SorenessCheckIn(CheckInStep),
    /// The therapist's own words.
    #[oai(mapping = "custom")]
    Custom(CustomStep),
}

macro_rules! plain_step {
    ($name:ident, $schema:literal, $doc:literal) => {
        #[doc = $doc]
        #[derive(Debug, Clone, Object, Serialize, Deserialize)]
        #[oai(rename = $schema)]
        #[serde(deny_unknown_fields)]
        pub struct $name {}
    };
}

plain_step!(HydrateStep, "HydrateStep", "A prompt to drink some water.");
plain_step!(WarmthStep, "WarmBathOrCompressStep", "A prompt for a warm bath or compress.");
plain_step!(StretchesStep, "StretchesStep", "A prompt for gentle stretches.");
plain_step!(CustomStep, "CustomStep", "A prompt in the therapist's own words.");

/// A soreness check-in.
#[derive(Debug, Clone, Object, Serialize, Deserialize)]
#[oai(rename = "SorenessCheckInStep")]
#[serde(deny_unknown_fields)]
pub struct CheckInStep {
    /// Which check-in: 24 or 48 hours after the session.
    #[oai(validator(minimum(value = "24"), maximum(value = "48"), multiple_of = 24.0))]
    pub hours_after: u16,
}

/// When an aftercare step is due, relative to the session's end; `type` says which fields it has.
#[derive(Debug, Clone, Union, Serialize, Deserialize)]
#[oai(rename = "TemplateTiming", discriminator_name = "type")]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TimingBody {
    /// `minutes` after the session ends.
    #[oai(mapping = "after_end")]
    AfterEnd(AfterEndBody),
    /// At `at` local time on the day of the session, or `at_least_after_end_minutes` after its
    /// end if that is later.
    #[oai(mapping = "same_evening")]
    SameEvening(SameEveningBody),
    /// At `at` local time the day after the session.
    #[oai(mapping = "next_morning")]
    NextMorning(NextMorningBody),
}

/// Due a fixed time after the session ends.
#[derive(Debug, Clone, Object, Serialize, Deserialize)]
#[oai(rename = "AfterEndTiming")]
#[serde(deny_unknown_fields)]
pub struct AfterEndBody {
    /// Minutes after the session ends, 0–10080 (7 days).
    #[oai(validator(minimum(value = "0"), maximum(value = "10080")))]
    pub minutes: i64,
}

/// Due in the evening of the session's day.
#[derive(Debug, Clone, Object, Serialize, Deserialize)]
#[oai(rename = "SameEveningTiming")]
#[serde(deny_unknown_fields)]
pub struct SameEveningBody {
    /// Local time `HH:MM`, 16:00–22:00.
    #[oai(validator(pattern = r"^(1[6-9]|2[01]):[0-5][0-9]$|^22:00$"))]
    pub at: String,
    /// At least this many minutes after the session ends, 0–360 (6 hours).
    #[oai(validator(minimum(value = "0"), maximum(value = "360")))]
    pub at_least_after_end_minutes: i64,
}

/// Due the morning after the session.
#[derive(Debug, Clone, Object, Serialize, Deserialize)]
#[oai(rename = "NextMorningTiming")]
#[serde(deny_unknown_fields)]
pub struct NextMorningBody {
    /// Local time `HH:MM`, 05:00–12:00.
    #[oai(validator(pattern = r"^(0[5-9]|1[01]):[0-5][0-9]$|^12:00$"))]
    pub at: String,
}

/// One step of an aftercare template: what to prompt, and when.
#[derive(Debug, Clone, Object, Serialize, Deserialize)]
#[oai(rename = "TemplateStep")]
#[serde(deny_unknown_fields)]
pub struct TemplateStepBody {
    /// Lower-case letters, digits and `_`, starting with a letter; unique within the template.
    #[oai(validator(max_length = 40, pattern = r"^[a-z][a-z0-9_]{0,39}$"))]
    pub key: String,
    /// What the step asks for.
    pub kind: StepKindBody,
    /// When the prompt is due, relative to the session's end.
    pub timing: TimingBody,
    /// Short (1–80 characters, not blank); it may show on a lock screen, so no health details.
    #[oai(validator(
        min_length = 1,
        max_length = 80,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    ))]
    pub title: String,
    /// What to do, in plain words: up to 600 characters, line breaks allowed, not blank.
    #[oai(validator(
        min_length = 1,
        max_length = 600,
        pattern = r"^[^\u0000-\u0009\u000b-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u0009\u000b-\u001f\u007f-\u009f]*$"
    ))]
    pub body: String,
}

/// An aftercare plan template: 1–10 steps.
#[derive(Debug, Clone, Object, Serialize, Deserialize)]
#[oai(rename = "AftercareTemplateWrite", example)]
#[serde(deny_unknown_fields)]
pub struct TemplateBody {
    /// Shown to the therapist and as the session's `plan_name`: up to 80 characters, not blank.
    #[oai(validator(
        min_length = 1,
        max_length = 80,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    ))]
    pub name: String,
    /// The steps, 1–10, in the order they are shown.
    #[oai(validator(min_items = 1, max_items = 10))]
    pub steps: Vec<TemplateStepBody>,
}

impl Example for TemplateBody {
    fn example() -> Self {
        Self {
            name: "Deep tissue, lower back".into(),
            steps: vec![
                TemplateStepBody {
                    key: "hydrate".into(),
                    kind: StepKindBody::Hydrate(HydrateStep {}),
                    timing: TimingBody::AfterEnd(AfterEndBody { minutes: 15 }),
                    title: "Drink some water".into(),
                    body: "A glass or two of water over the next hour.".into(),
                },
                TemplateStepBody {
                    key: "soreness_24h".into(),
                    kind: StepKindBody::SorenessCheckIn(CheckInStep { hours_after: 24 }),
                    timing: TimingBody::AfterEnd(AfterEndBody { minutes: 1440 }),
                    title: "How do you feel today?".into(),
                    body: "Rate any soreness from 0 to 10.".into(),
                },
            ],
        }
    }
}

/// A therapist's aftercare template as stored.
#[derive(Debug, Clone, Object)]
#[oai(rename = "AftercareTemplate", example)]
pub struct TemplateOut {
    /// Identifies the template, e.g. to assign it to a client.
    pub id: Uuid,
    /// The template's name and steps.
    pub template: TemplateBody,
    /// When it was created (RFC 3339, UTC).
    pub created_at: Timestamp,
    /// When it last changed (RFC 3339, UTC).
    pub updated_at: Timestamp,
}

impl Example for TemplateOut {
    fn example() -> Self {
        Self {
            id: examples::id(examples::TEMPLATE),
            template: TemplateBody::example(),
            created_at: Timestamp(examples::at("2026-11-10T08:00:00Z")),
            updated_at: Timestamp(examples::at("2026-11-12T14:30:00Z")),
        }
    }
}

fn template_out(record: TemplateRecord) -> Result<TemplateOut, ApiError> {
    Ok(TemplateOut {
        id: record.id,
        template: convert(&record.template)?,
        created_at: Timestamp(record.created_at),
        updated_at: Timestamp(record.updated_at),
    })
}

/// A therapist's aftercare templates.
#[derive(Debug, Clone, Object)]
#[oai(rename = "AftercareTemplateList", example)]
pub struct TemplateList {
    /// The caller's own templates.
    pub items: Vec<TemplateOut>,
}

impl Example for TemplateList {
    fn example() -> Self {
        Self { items: vec![TemplateOut::example()] }
    }
}

/// Which template a client's next sessions follow.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(rename = "TemplateAssignment", example)]
#[serde(deny_unknown_fields)]
pub struct AssignmentBody {
    /// One of my templates; the patient's next sessions follow it.
    pub template_id: Uuid,
}

impl Example for AssignmentBody {
    fn example() -> Self {
        Self { template_id: "0196f6b1-1d3c-7a4e-9b2a-5f1e2d3c4b5a".parse().expect("valid uuid") }
    }
}

#[derive(ApiResponse)]
pub enum SessionRecorded {
    /// Recorded; the plan's prompts are scheduled. With a repeated `Idempotency-Key`, the first
    /// result.
    #[oai(status = 201)]
    Created(
        Json<SessionOut>,
        /// Where the session is read: `/v1/sessions/{session_id}` for the patient's own,
        /// `/v1/patients/{patient_id}/sessions/{session_id}` for one a therapist recorded.
        #[oai(header = "Location")]
        String,
    ),
}

#[derive(ApiResponse)]
pub enum TemplateCreated {
    /// The template was created.
    #[oai(status = 201)]
    Created(
        Json<TemplateOut>,
        /// Where the template is changed or deleted: `/v1/aftercare/templates/{template_id}`.
        #[oai(header = "Location")]
        String,
    ),
}

type Authed = Problems<{ status::AUTHENTICATED | status::FORBIDDEN | status::NOT_FOUND }>;
type AuthedBody = Problems<{ status::AUTHENTICATED | status::BODY | status::FORBIDDEN | status::NOT_FOUND }>;

pub struct SessionsApi;

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Sessions")]
impl SessionsApi {
    /// Read my health screen
    ///
    /// The patient's answers about conditions that matter for massage, when they were last
    /// saved, and the questions not answered yet (ask them before the first session). Before
    /// the first save every question is unanswered. Patients only (403 for therapists).
    #[oai(path = "/me/health-screen", method = "get", operation_id = "getHealthScreen")]
    async fn health_screen(&self, state: Data<&AppState>, auth: BearerAuth) -> Result<Json<HealthScreenOut>, Authed> {
        let me = super::journal::own_journal(&auth.0)?;
        Ok(Json(health_screen_state(&state, &auth.0, me).await?))
    }

    /// Save my health screen
    ///
    /// Replaces the whole screen: leave out a question not answered yet. Each answer carries
    /// the local date it was confirmed, not later than today; notes are up to 500 characters.
    /// The screen is used to warn before massage that could be unsafe.
    #[oai(path = "/me/health-screen", method = "put", operation_id = "putHealthScreen")]
    async fn save_health_screen(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        body: JsonBody<HealthScreenBody>,
    ) -> Result<Json<HealthScreenOut>, AuthedBody> {
        let screen: HealthScreen = convert(&body.0)?;
        let me = super::journal::own_journal(&auth.0)?;
        let saved = state.save_health_screen(&auth.0, me, screen).await?;
        Ok(Json(screen_out(&saved, Some(state.clock.now()))?))
    }

    /// Screen a planned session
    ///
    /// The contraindication warnings a session like this would get, without recording it —
    /// e.g. before booking. Deep tissue and firm pressure weigh more than Swedish or light.
    #[oai(path = "/sessions/screen", method = "post", operation_id = "screenPlannedSession")]
    async fn screen(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        body: JsonBody<PlannedBody>,
    ) -> Result<Json<ScreenOut>, AuthedBody> {
        if body.0.regions.len() > Region::ALL.len() {
            let problem = format!("at most {} regions", Region::ALL.len());
            return Err(ApiError::validation(ValidationErrors::single("regions", "too_many", problem)).into());
        }
        let planned = PlannedSession {
            kind: body.0.kind.0,
            pressure: body.0.pressure.map(|p| p.0),
            regions: body.0.regions.into_iter().map(|r| r.0).collect(),
        };
        let me = super::journal::own_journal(&auth.0)?;
        let report = state.screen_planned(&auth.0, me, &planned).await?;
        Ok(Json(report.into()))
    }

    /// Record a session
    ///
    /// Stores the session, returns the health screen's warnings, and schedules its aftercare
    /// plan as notifications at the right local times (moved out of quiet hours). Send an
    /// `Idempotency-Key` so a retry does not record it twice.
    #[oai(path = "/sessions", method = "post", operation_id = "recordSession")]
    async fn record(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// Makes the request safe to retry; kept for 7 days.
        #[oai(name = "Idempotency-Key", validator(min_length = 1, max_length = 100))]
        idempotency_key: Header<Option<String>>,
        body: JsonBody<SessionBody>,
    ) -> Result<
        SessionRecorded,
        Problems<{ status::AUTHENTICATED | status::BODY | status::NOT_FOUND | status::CONFLICT }>,
    > {
        let hash = format!("{:x}", Sha256::digest(serde_json::to_vec(&body.0).unwrap_or_default()));
        let draft = body.0.parse().map_err(ApiError::validation)?;
        let key = idempotency_key.0.as_deref().map(str::trim).filter(|k| !k.is_empty());
        let me = super::journal::own_journal(&auth.0)?;
        let (view, _) = state.record_session(&auth.0, me, draft, key.map(|k| (k, hash))).await?;
        let location = format!("/v1/sessions/{}", view.session.id);
        Ok(SessionRecorded::Created(Json(view.into()), location))
    }

    /// List my sessions
    ///
    /// The patient's sessions with `from <= started_at < to`, newest first, a page at a time,
    /// without their plans (read one session for its plan). `from` must be before `to` (422
    /// otherwise). Patients only (403 for therapists).
    #[oai(path = "/sessions", method = "get", operation_id = "listSessions")]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// Earliest start (inclusive); default: the beginning.
        from: Query<Option<DateTime<Utc>>>,
        /// Latest start (exclusive); default: a day from now.
        to: Query<Option<DateTime<Utc>>>,
        /// Page size, 1–200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        #[oai(validator(max_length = 200))]
        cursor: Query<Option<String>>,
    ) -> Result<Json<SessionList>, Problems<{ status::AUTHENTICATED | status::FORBIDDEN | status::UNPROCESSABLE }>>
    {
        let me = super::journal::own_journal(&auth.0)?;
        Ok(Json(list_sessions(&state, &auth.0, me, from.0, to.0, limit.0, cursor.0.as_deref()).await?))
    }

    /// Read a session with its plan
    ///
    /// The session, its aftercare steps with their prompt times and progress, and the health
    /// screen's warnings. Unknown or deleted sessions answer 404.
    #[oai(path = "/sessions/:session_id", method = "get", operation_id = "getSession")]
    async fn get(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// The session's id, from `Location` or `session.id`.
        session_id: Path<Uuid>,
    ) -> Result<Json<SessionOut>, Authed> {
        let me = super::journal::own_journal(&auth.0)?;
        Ok(Json(state.massage_session(&auth.0, me, session_id.0).await?.into()))
    }

    /// Change a session
    ///
    /// Replaces the session's details. A new time moves the plan's pending prompts; saving the
    /// same details again changes nothing and never doubles a prompt. A new pain-before value is
    /// compared with the check-in answers again; the alerts that raises come back in `alerts`.
    #[oai(path = "/sessions/:session_id", method = "put", operation_id = "updateSession")]
    async fn update(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// The session's id.
        session_id: Path<Uuid>,
        body: JsonBody<SessionBody>,
    ) -> Result<Json<SessionWritten>, AuthedBody> {
        let draft = body.0.parse().map_err(ApiError::validation)?;
        let me = super::journal::own_journal(&auth.0)?;
        let (view, alerts) = state.update_session(&auth.0, me, session_id.0, draft).await?;
        Ok(Json(SessionWritten { session: view.into(), alerts: alert_bodies(alerts) }))
    }

    /// Delete a session
    ///
    /// Removes the session, its plan and answers; prompts not yet sent are cancelled.
    #[oai(path = "/sessions/:session_id", method = "delete", operation_id = "deleteSession")]
    async fn delete(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// The session's id.
        session_id: Path<Uuid>,
    ) -> Result<Done, Authed> {
        let me = super::journal::own_journal(&auth.0)?;
        state.delete_session(&auth.0, me, session_id.0).await?;
        Ok(Done::NoContent)
    }

    /// Mark a step done or skipped
    ///
    /// Adherence is visible to the patient's therapists. A prompt not yet sent is cancelled.
    #[oai(
        path = "/sessions/:session_id/steps/:step_id/completion",
        method = "put",
        operation_id = "completeAftercareStep"
    )]
    async fn complete(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// The session's id.
        session_id: Path<Uuid>,
        /// The step's id, from the session's `steps`.
        step_id: Path<Uuid>,
        body: JsonBody<CompletionBody>,
    ) -> Result<Json<StepOut>, AuthedBody> {
        let outcome = match body.0.outcome {
            OutcomeBody::Done => StepOutcome::Done,
            OutcomeBody::Skipped => StepOutcome::Skipped,
        };
        let me = super::journal::own_journal(&auth.0)?;
        let step = state.complete_step(&auth.0, me, session_id.0, step_id.0, outcome).await?;
        Ok(Json(step.into()))
    }

    /// Answer a soreness check-in
    ///
    /// Soreness 0–10 and whether a leg is swollen, red, warm or painful (which needs medical
    /// help today, and emergency services at once with breathlessness, chest pain or coughing up
    /// blood). Answering again replaces the answer. A swollen leg raises the `leg_swelling`
    /// alert; soreness at the 48-hour check-in that every plan ends with can raise
    /// `soreness_after_massage` for the therapist. The answer carries the alerts it raised
    /// (`alerts`), with the advice in full.
    #[oai(path = "/sessions/:session_id/steps/:step_id/check-in", method = "put", operation_id = "answerCheckIn")]
    async fn check_in(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// The session's id.
        session_id: Path<Uuid>,
        /// The id of a `soreness_check_in` step; any other step answers 422 `not_a_check_in`.
        step_id: Path<Uuid>,
        body: JsonBody<CheckInBody>,
    ) -> Result<Json<CheckInAnswered>, AuthedBody> {
        let soreness = u8::try_from(body.0.soreness).ok().filter(|s| *s <= 10).ok_or_else(|| {
            ApiError::validation(ValidationErrors::single(
                "soreness",
                "out_of_range",
                "must be a whole number from 0 to 10",
            ))
        })?;
        let me = super::journal::own_journal(&auth.0)?;
        let (step, alerts) = state
            .answer_check_in(&auth.0, me, session_id.0, step_id.0, soreness, body.0.leg_swelling_redness_warmth)
            .await?;
        Ok(Json(CheckInAnswered { step: step.into(), alerts: alert_bodies(alerts) }))
    }

    /// Create an aftercare template
    ///
    /// Therapists only. Assign it to a client to use it for their sessions.
    #[oai(path = "/aftercare/templates", method = "post", operation_id = "createAftercareTemplate")]
    async fn create_template(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        body: JsonBody<TemplateBody>,
    ) -> Result<TemplateCreated, Problems<{ status::AUTHENTICATED | status::BODY | status::FORBIDDEN }>> {
        let template: Template = convert(&body.0)?;
        let record = state.create_template(&auth.0, template).await?;
        let location = format!("/v1/aftercare/templates/{}", record.id);
        Ok(TemplateCreated::Created(Json(template_out(record)?), location))
    }

    /// List my aftercare templates
    ///
    /// The therapist's own templates. Therapists only (403 for patients).
    #[oai(path = "/aftercare/templates", method = "get", operation_id = "listAftercareTemplates")]
    async fn templates(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
    ) -> Result<Json<TemplateList>, Problems<{ status::AUTHENTICATED | status::FORBIDDEN }>> {
        let items = state.templates(&auth.0).await?.into_iter().map(template_out).collect::<Result<_, _>>()?;
        Ok(Json(TemplateList { items }))
    }

    /// Change an aftercare template
    ///
    /// Sessions already recorded keep the plan they were given.
    #[oai(path = "/aftercare/templates/:template_id", method = "put", operation_id = "updateAftercareTemplate")]
    async fn update_template(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// The template's id.
        template_id: Path<Uuid>,
        body: JsonBody<TemplateBody>,
    ) -> Result<
        Json<TemplateOut>,
        Problems<{ status::AUTHENTICATED | status::BODY | status::FORBIDDEN | status::NOT_FOUND }>,
    > {
        let template: Template = convert(&body.0)?;
        Ok(Json(template_out(state.update_template(&auth.0, template_id.0, template).await?)?))
    }

    /// Delete an aftercare template
    ///
    /// Sessions already recorded keep their plans; clients it was assigned to get the default
    /// plan for their next sessions.
    #[oai(path = "/aftercare/templates/:template_id", method = "delete", operation_id = "deleteAftercareTemplate")]
    async fn delete_template(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// The template's id.
        template_id: Path<Uuid>,
    ) -> Result<Done, Problems<{ status::AUTHENTICATED | status::FORBIDDEN | status::NOT_FOUND }>> {
        state.delete_template(&auth.0, template_id.0).await?;
        Ok(Done::NoContent)
    }

    /// Assign an aftercare template to a client
    ///
    /// Needs the client's grant with the `manage_aftercare` scope.
    #[oai(path = "/patients/:patient_id/aftercare-template", method = "put", operation_id = "assignAftercareTemplate")]
    async fn assign(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// The client's account id.
        patient_id: Path<Uuid>,

        body: JsonBody<AssignmentBody>,
    ) -> Result<Done, Problems<{ status::AUTHENTICATED | status::BODY | status::FORBIDDEN | status::NOT_FOUND }>> {
        state.assign_template(&auth.0, patient_id.0, body.0.template_id).await?;
        Ok(Done::NoContent)
    }
}
