//! Aftercare plans: templates of prompts sent after a massage, the defaults for each kind of
//! session, and turning a template into due instants in the patient's own time.
//!
//! A template is a list of steps. Each step has a timing relative to the end of the session,
//! either as elapsed time (`end + 24 h` is 24 real hours, whatever the wall clock does) or as a
//! local wall-clock time (19:00 that evening, 09:00 the next morning). A step whose time falls
//! inside the patient's quiet hours moves to the end of the quiet hours; none is ever dropped.
//!
//! The default texts follow `notes/clinical-sources.md`: water "if thirsty" (never "toxins"),
//! heat only on skin and muscles that are not inflamed or broken, gentle stretches, and each prompt
//! says when to stop and when to get help.

use chrono::{DateTime, NaiveTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::massage::SessionKind;
use super::screening::{Condition, HealthScreen};
use super::time::{QuietHours, TimeZone, after_quiet_hours, format_clock_time, parse_clock_time};
use super::validation::ValidationErrors;

/// What a step asks the patient to do. The app shows a matching screen for each: a soreness
/// check-in, for example, asks for a 0–10 score.
///
/// In JSON: `{"type": "hydrate"}`, `{"type": "soreness_check_in", "hours_after": 24}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "StepKindRepr", from = "StepKindRepr")]
pub enum StepKind {
    Hydrate,
    WarmBathOrCompress,
    Stretches,
    /// A 0–10 soreness score. `hours_after` (24 or 48) names which check-in it is; the alert
    /// rules read the 48-hour one.
    SorenessCheckIn {
        hours_after: u16,
    },
    /// Anything else a therapist wants to say.
    Custom,
}

impl StepKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StepKind::Hydrate => "hydrate",
            StepKind::WarmBathOrCompress => "warm_bath_or_compress",
            StepKind::Stretches => "stretches",
            StepKind::SorenessCheckIn { .. } => "soreness_check_in",
            StepKind::Custom => "custom",
        }
    }
}

/// The stored and wire form of [`StepKind`]. The variants without data are empty structs so that
/// unknown fields beside `type` are refused, as everywhere else.
#[derive(Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum StepKindRepr {
    Hydrate {},
    WarmBathOrCompress {},
    Stretches {},
    SorenessCheckIn { hours_after: u16 },
    Custom {},
}

impl From<StepKind> for StepKindRepr {
    fn from(kind: StepKind) -> Self {
        match kind {
            StepKind::Hydrate => StepKindRepr::Hydrate {},
            StepKind::WarmBathOrCompress => StepKindRepr::WarmBathOrCompress {},
            StepKind::Stretches => StepKindRepr::Stretches {},
            StepKind::SorenessCheckIn { hours_after } => StepKindRepr::SorenessCheckIn { hours_after },
            StepKind::Custom => StepKindRepr::Custom {},
        }
    }
}

impl From<StepKindRepr> for StepKind {
    fn from(repr: StepKindRepr) -> Self {
        match repr {
            StepKindRepr::Hydrate {} => StepKind::Hydrate,
            StepKindRepr::WarmBathOrCompress {} => StepKind::WarmBathOrCompress,
            StepKindRepr::Stretches {} => StepKind::Stretches,
            StepKindRepr::SorenessCheckIn { hours_after } => StepKind::SorenessCheckIn { hours_after },
            StepKindRepr::Custom {} => StepKind::Custom,
        }
    }
}

/// When a step is due, relative to the end of the session.
///
/// In JSON: `{"type": "after_end", "minutes": 15}`,
/// `{"type": "same_evening", "at": "19:00", "at_least_after_end_minutes": 120}`,
/// `{"type": "next_morning", "at": "09:00"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "TimingRepr", try_from = "TimingRepr")]
pub enum Timing {
    /// Elapsed time after the session ends, not wall-clock time: across a DST change, end + 24 h
    /// shows a different time on the clock.
    AfterEnd(TimeDelta),
    /// `at` local time on the local date the session ended, or `at_least_after_end` after the end
    /// if that is later.
    SameEvening { at: NaiveTime, at_least_after_end: TimeDelta },
    /// `at` local time on the local date after the one the session ended on.
    NextMorning { at: NaiveTime },
}

impl Timing {
    pub const MAX_AFTER_END: TimeDelta = TimeDelta::days(7);
    pub const MAX_AT_LEAST_AFTER_END: TimeDelta = TimeDelta::hours(6);
    /// Local times allowed for `SameEvening`, inclusive.
    pub const EVENING: (NaiveTime, NaiveTime) = (clock(16, 0), clock(22, 0));
    /// Local times allowed for `NextMorning`, inclusive.
    pub const MORNING: (NaiveTime, NaiveTime) = (clock(5, 0), clock(12, 0));

    /// The instant the timing names for a session ending at `end`, before quiet hours are
    /// considered.
    pub fn instant_after(self, end: DateTime<Utc>, zone: TimeZone) -> DateTime<Utc> {
        match self {
            Timing::AfterEnd(elapsed) => end + elapsed,
            Timing::SameEvening { at, at_least_after_end } => {
                zone.instant_at(zone.local_date(end), at).max(end + at_least_after_end)
            }
            Timing::NextMorning { at } => {
                let next_day =
                    zone.local_date(end).succ_opt().expect("dates this close to the end of time are not used");
                zone.instant_at(next_day, at)
            }
        }
    }
}

const fn clock(hour: u32, minute: u32) -> NaiveTime {
    match NaiveTime::from_hms_opt(hour, minute, 0) {
        Some(time) => time,
        None => panic!("invalid clock time"),
    }
}

/// The stored and wire form of [`Timing`]: minutes and `HH:MM` local times.
#[derive(Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum TimingRepr {
    AfterEnd { minutes: i64 },
    SameEvening { at: String, at_least_after_end_minutes: i64 },
    NextMorning { at: String },
}

impl From<Timing> for TimingRepr {
    fn from(timing: Timing) -> Self {
        match timing {
            Timing::AfterEnd(elapsed) => TimingRepr::AfterEnd { minutes: elapsed.num_minutes() },
            Timing::SameEvening { at, at_least_after_end } => TimingRepr::SameEvening {
                at: format_clock_time(at),
                at_least_after_end_minutes: at_least_after_end.num_minutes(),
            },
            Timing::NextMorning { at } => TimingRepr::NextMorning { at: format_clock_time(at) },
        }
    }
}

impl TryFrom<TimingRepr> for Timing {
    type Error = String;

    fn try_from(repr: TimingRepr) -> Result<Self, Self::Error> {
        let time = |raw: &str| parse_clock_time(raw).map_err(|p| format!("`at` {}", p.message));
        // Out-of-range minutes are kept so that validation can name them; only values no
        // duration can hold are refused here.
        let minutes = |m: i64| TimeDelta::try_minutes(m).ok_or_else(|| "minutes out of range".to_owned());
        Ok(match repr {
            TimingRepr::AfterEnd { minutes: m } => Timing::AfterEnd(minutes(m)?),
            TimingRepr::SameEvening { at, at_least_after_end_minutes } => {
                Timing::SameEvening { at: time(&at)?, at_least_after_end: minutes(at_least_after_end_minutes)? }
            }
            TimingRepr::NextMorning { at } => Timing::NextMorning { at: time(&at)? },
        })
    }
}

/// One prompt of an aftercare plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Stable within its template (`hydrate`, `soreness_48h`): lower-case letters, digits and `_`.
    pub key: String,
    pub kind: StepKind,
    pub timing: Timing,
    /// A short title. Keep health details out of it: it may appear in a notification.
    pub title: String,
    /// The text shown in the app.
    pub body: String,
}

/// A named list of steps: one of the defaults, or one a therapist wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Template {
    pub name: String,
    pub steps: Vec<Step>,
}

impl Template {
    pub const MAX_STEPS: usize = 10;
    pub const MAX_NAME_CHARS: usize = 80;
    pub const MAX_KEY_LEN: usize = 40;
    pub const MAX_TITLE_CHARS: usize = 80;
    pub const MAX_BODY_CHARS: usize = 600;
    /// Check-in hours the app knows.
    pub const CHECK_IN_HOURS: [u16; 2] = [24, 48];
    /// How far a soreness check-in may be from its `hours_after`.
    pub const CHECK_IN_TOLERANCE: TimeDelta = TimeDelta::hours(12);

    /// Checks a template (typically a therapist's) and returns it with its texts trimmed. Errors
    /// name the field as in the JSON form, e.g. `steps[2].timing.minutes`.
    pub fn validate(mut self) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        self.name = self.name.trim().to_owned();
        check_text(&mut errors, "name", &self.name, Self::MAX_NAME_CHARS, false);
        if self.steps.is_empty() || self.steps.len() > Self::MAX_STEPS {
            errors.add("steps", "invalid_length", format!("must have between 1 and {} steps", Self::MAX_STEPS));
        }
        for (i, step) in self.steps.iter_mut().enumerate() {
            step.title = step.title.trim().to_owned();
            step.body = step.body.trim().to_owned();
            let field = |name: &str| format!("steps[{i}].{name}");
            if !valid_key(&step.key) {
                errors.add(
                    field("key"),
                    "invalid_key",
                    format!(
                        "must be 1 to {} lower-case letters, digits or underscores, starting with a letter",
                        Self::MAX_KEY_LEN
                    ),
                );
            }
            check_text(&mut errors, &field("title"), &step.title, Self::MAX_TITLE_CHARS, false);
            check_text(&mut errors, &field("body"), &step.body, Self::MAX_BODY_CHARS, true);
            check_timing(&mut errors, &field("timing"), step.timing);
            if let StepKind::SorenessCheckIn { hours_after } = step.kind {
                if !Self::CHECK_IN_HOURS.contains(&hours_after) {
                    errors.add(field("kind.hours_after"), "invalid_value", "must be 24 or 48");
                } else {
                    let target = TimeDelta::hours(i64::from(hours_after));
                    let near =
                        matches!(step.timing, Timing::AfterEnd(d) if (d - target).abs() <= Self::CHECK_IN_TOLERANCE);
                    if !near {
                        errors.add(
                            field("timing"),
                            "timing_mismatch",
                            format!("a {hours_after}-hour check-in must be due after_end, within 12 hours of {hours_after} hours"),
                        );
                    }
                }
            }
        }
        for (i, step) in self.steps.iter().enumerate() {
            if self.steps[..i].iter().any(|earlier| earlier.key == step.key) {
                errors.add(format!("steps[{i}].key"), "duplicate", "must be unique within the template");
            }
        }
        errors.finish(|| self)
    }
}

fn valid_key(key: &str) -> bool {
    let mut chars = key.chars();
    key.len() <= Template::MAX_KEY_LEN
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Claims the product never makes, whoever writes the text: there is no evidence that massage
/// releases toxins or that water flushes them (or lactic acid, or anything else) out. Any form
/// of "flush" is refused: to describe skin, "red" or "warm" says it without the myth.
/// Myths about what massage or water does: nothing is "released" to be flushed out, neither
/// toxins nor metabolic waste, and lactic acid has long cleared by the time soreness starts.
const UNSUPPORTED_CLAIMS: [&str; 5] = ["toxin", "detox", "flush", "metabolic waste", "lactic acid"];

fn check_text(errors: &mut ValidationErrors, field: &str, text: &str, max_chars: usize, line_breaks: bool) {
    if text.is_empty() {
        errors.add(field, "empty", "must not be blank");
    } else if text.chars().count() > max_chars {
        errors.add(field, "too_long", format!("must be at most {max_chars} characters"));
    }
    if text.chars().any(|c| c.is_control() && !(line_breaks && c == '\n')) {
        let allowed = if line_breaks { " other than line breaks" } else { "" };
        errors.add(field, "invalid_characters", format!("must not contain control characters{allowed}"));
    }
    let lower = text.to_lowercase();
    if UNSUPPORTED_CLAIMS.iter().any(|claim| lower.contains(claim)) {
        errors.add(
            field,
            "unsupported_claim",
            "must not mention toxins, detox, metabolic waste, lactic acid or flushing anything out: there is no \
             evidence massage or water does that",
        );
    }
}

fn check_timing(errors: &mut ValidationErrors, field: &str, timing: Timing) {
    let whole_minutes = |d: TimeDelta| d.subsec_nanos() == 0 && d.num_seconds() % 60 == 0;
    let whole_clock = |t: NaiveTime| t == clock(chrono::Timelike::hour(&t), chrono::Timelike::minute(&t));
    let within = |t: NaiveTime, (from, to): (NaiveTime, NaiveTime)| from <= t && t <= to;
    match timing {
        Timing::AfterEnd(elapsed) => {
            if elapsed < TimeDelta::zero() || elapsed > Timing::MAX_AFTER_END || !whole_minutes(elapsed) {
                errors.add(
                    format!("{field}.minutes"),
                    "out_of_range",
                    "must be a whole number of minutes from 0 to 10080 (7 days)",
                );
            }
        }
        Timing::SameEvening { at, at_least_after_end } => {
            if !within(at, Timing::EVENING) || !whole_clock(at) {
                errors.add(format!("{field}.at"), "out_of_range", "must be between 16:00 and 22:00");
            }
            if at_least_after_end < TimeDelta::zero()
                || at_least_after_end > Timing::MAX_AT_LEAST_AFTER_END
                || !whole_minutes(at_least_after_end)
            {
                errors.add(
                    format!("{field}.at_least_after_end_minutes"),
                    "out_of_range",
                    "must be a whole number of minutes from 0 to 360 (6 hours)",
                );
            }
        }
        Timing::NextMorning { at } => {
            if !within(at, Timing::MORNING) || !whole_clock(at) {
                errors.add(format!("{field}.at"), "out_of_range", "must be between 05:00 and 12:00");
            }
        }
    }
}

/// One step of a plan with the instant it is due.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedStep {
    pub step: Step,
    /// When the template's timing puts the step.
    pub nominal_at: DateTime<Utc>,
    /// When to send it: `nominal_at`, or the end of quiet hours if `nominal_at` fell inside them.
    pub due_at: DateTime<Utc>,
}

impl PlannedStep {
    pub fn moved_for_quiet_hours(&self) -> bool {
        self.due_at != self.nominal_at
    }
}

/// The plan for a session that ended at `session_end`: every step of `template`, in template
/// order, with its due instant in UTC for a patient in `zone` with `quiet` hours.
pub fn plan(template: &Template, session_end: DateTime<Utc>, zone: TimeZone, quiet: QuietHours) -> Vec<PlannedStep> {
    template
        .steps
        .iter()
        .map(|step| {
            let nominal_at = step.timing.instant_after(session_end, zone);
            PlannedStep { step: step.clone(), nominal_at, due_at: after_quiet_hours(nominal_at, zone, quiet) }
        })
        .collect()
}

/// The default template for each kind of session: the gentle plan for Swedish/relaxation and hot
/// stone massage, the deep-tissue plan for everything else. `other` gets the deep-tissue plan
/// because an unknown kind may have been deep, and that plan's extra check-in errs on the side of
/// care.
pub fn default_template(kind: SessionKind) -> Template {
    match kind {
        SessionKind::Swedish | SessionKind::HotStone => gentle_template(),
        SessionKind::DeepTissue
        | SessionKind::Sports
        | SessionKind::TriggerPoint
        | SessionKind::MyofascialRelease
        | SessionKind::Other => deep_tissue_template(),
    }
}

/// Said by every soreness check-in, the defaults' and every therapist's: a swollen, red, warm or painful
/// leg after a massage can be a blood clot.
pub const LEG_WARNING: &str = "If a leg becomes swollen, red, warm or painful, get medical help today: it can be a \
                               blood clot. Call emergency services at once if you also become breathless, have \
                               chest pain or cough up blood.";

/// Said by every step of a therapist's plan, whatever the therapist wrote: when to stop, and
/// when to get help.
pub const STOP_AND_GET_HELP: &str = "Stop if anything causes sharp pain. If pain is severe or getting worse, or you \
                                     notice new numbness, tingling or weakness, contact a doctor.";

/// Where a session's plan came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PlanSource {
    /// The default for the session's kind: it follows the kind when the session is changed.
    Default,
    /// A template a therapist assigned to the patient: kept whatever the kind.
    Therapist,
}

impl PlanSource {
    pub fn as_str(self) -> &'static str {
        match self {
            PlanSource::Default => "default",
            PlanSource::Therapist => "therapist",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [PlanSource::Default, PlanSource::Therapist].into_iter().find(|s| s.as_str() == value)
    }
}

/// The template a new session's plan follows: the therapist's assigned one if there is one, with
/// the safety wording added, else the default for the session's kind.
pub fn plan_template(kind: SessionKind, assigned: Option<Template>) -> (Template, PlanSource) {
    match assigned {
        Some(template) => (with_safety_wording(with_follow_up(template)), PlanSource::Therapist),
        None => (default_template(kind), PlanSource::Default),
    }
}

/// A therapist's template with the wording no plan may go without: every step says when to stop
/// and when to get help, and every soreness check-in warns about a swollen, red, warm or painful leg. A
/// sentence the therapist already wrote word for word is not repeated.
pub fn with_safety_wording(mut template: Template) -> Template {
    for step in &mut template.steps {
        let mut lines = vec![STOP_AND_GET_HELP];
        if matches!(step.kind, StepKind::SorenessCheckIn { .. }) {
            lines.push(LEG_WARNING);
        }
        for line in lines {
            if !step.body.contains(line) {
                step.body = format!("{}\n\n{line}", step.body.trim_end());
            }
        }
    }
    template
}

/// A therapist's template without a 48-hour soreness check-in gets the default one at its end, so
/// that soreness which has not eased reaches the therapist after every session (see
/// [`soreness_48h_step`]). Its key is made unique if the therapist used `soreness_48h` already.
pub fn with_follow_up(mut template: Template) -> Template {
    if template.steps.iter().any(|s| s.kind == StepKind::SorenessCheckIn { hours_after: 48 }) {
        return template;
    }
    let mut step = soreness_48h_step();
    while template.steps.iter().any(|s| s.key == step.key) {
        step.key = format!("{}_", step.key);
    }
    template.steps.push(step);
    template
}

/// The stretches that bend the spine forward under load.
const LOADED_FLEXION: [&str; 3] = ["knee-to-chest", "child's pose", "toe touch"];

const STRETCHES_WITHOUT_FLEXION: &str = "Take 5–10 minutes for gentle stretches that keep your back straight: a \
    hip-flexor stretch, a hamstring stretch lying on your back with a towel around your foot, and slow shoulder \
    rolls. Move slowly and keep breathing; a mild pull is fine. Stop at once if you feel sharp pain, and let your \
    therapist know. New numbness, tingling or weakness in a leg is a reason to contact a doctor or \
    physiotherapist.";

const COMPRESS_INSTEAD_OF_BATH: &str = "This evening, a warm (not hot) compress on the sore area for 10–15 \
    minutes can ease tight muscles. Don't use heat on an area that is swollen, hot or inflamed, or on broken skin; \
    an ice pack wrapped in a cloth is fine instead. If you feel sharp pain, stop and let your therapist know; if it \
    is severe or does not settle, contact a doctor.";

/// Fits a plan to the patient's health screen, and says why in the step it changes:
/// - osteoporosis or a herniated disc: no loaded spinal flexion (knee-to-chest, child's pose, toe
///   touching; Royal Osteoporosis Society, "Strong, Steady and Straight", 2019). A stretches step
///   naming one is replaced by stretches that keep the back straight; any other stretches step
///   gets the caution.
/// - pregnancy or a heart condition: a warm compress instead of a hot bath (a long hot bath
///   raises the body's temperature and widens the blood vessels; NHS advice on hot baths in
///   pregnancy). The warm-bath step becomes a compress.
///
/// Answers count whatever their age: leaving out a stretch for a condition that has since gone
/// is the safe mistake.
pub fn adapt_to_screen(mut template: Template, health: &HealthScreen) -> Template {
    let named = |conditions: &[(Condition, &'static str)]| -> Option<String> {
        let present: Vec<String> =
            conditions.iter().filter(|(c, _)| health.has(*c)).map(|(_, name)| (*name).to_owned()).collect();
        (!present.is_empty()).then(|| join_or_and(&present))
    };
    let flexion = named(&[(Condition::Osteoporosis, "osteoporosis"), (Condition::HerniatedDisc, "a disc problem")]);
    let heat = named(&[(Condition::Pregnancy, "your pregnancy"), (Condition::HeartCondition, "a heart condition")]);
    for step in &mut template.steps {
        match (step.kind, &flexion, &heat) {
            (StepKind::Stretches, Some(why), _) => {
                let note = format!(
                    "Because you told us about {why}, this plan leaves out stretches that bend your back forward \
                     under load, such as knee-to-chest and child's pose."
                );
                let lower = step.body.to_lowercase();
                step.body = if LOADED_FLEXION.iter().any(|s| lower.contains(s)) {
                    format!("{note} {STRETCHES_WITHOUT_FLEXION}")
                } else {
                    format!("{}\n\n{note}", step.body.trim_end())
                };
            }
            (StepKind::WarmBathOrCompress, _, Some(why)) => {
                step.title = "A warm compress".into();
                step.body = format!(
                    "Because of {why}, use a warm compress rather than a hot bath: a long hot bath raises your body \
                     temperature and puts extra strain on the heart and circulation. {COMPRESS_INSTEAD_OF_BATH}"
                );
            }
            _ => {}
        }
    }
    template
}

/// "a", "a and b".
fn join_or_and(items: &[String]) -> String {
    match items {
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
        [] => String::new(),
    }
}

/// The dedupe key of a plan step's notification: one notification per step, whoever
/// schedules, moves or cancels it.
pub fn step_notification_key(step_id: uuid::Uuid) -> String {
    format!("aftercare:{step_id}")
}

/// The plan after deep tissue, sports, trigger point, myofascial release and other massage.
pub fn deep_tissue_template() -> Template {
    Template {
        name: "Deep tissue aftercare".into(),
        steps: vec![
            Step {
                key: "hydrate".into(),
                kind: StepKind::Hydrate,
                timing: Timing::AfterEnd(TimeDelta::minutes(15)),
                title: "Drink some water".into(),
                body: "Drink water if you're thirsty; there's no need to force down extra. Give your muscles \
                       12–24 hours before intense training or heavy lifting; gentle walking is fine, and so is \
                       simply resting. Mild soreness for a day or two is normal, and so are mild bruising and \
                       feeling tired. If you feel sharp pain rather than soreness, stop what you're \
                       doing, rest, and let your therapist know. If the pain is severe or keeps getting worse, \
                       contact a doctor."
                    .into(),
            },
            Step {
                key: "warm_bath".into(),
                kind: StepKind::WarmBathOrCompress,
                timing: Timing::SameEvening { at: clock(19, 0), at_least_after_end: TimeDelta::hours(2) },
                title: "A warm bath or compress".into(),
                body: "This evening, a warm bath (with Epsom salts if you like) or a warm compress for 10–15 \
                       minutes can ease tight muscles. Don't use heat on an area that is swollen, hot or inflamed, \
                       or on broken skin; an ice pack wrapped in a cloth is fine instead. Get out and rest if you \
                       feel dizzy or faint. If you feel sharp pain, stop and let your therapist know; if it is \
                       severe or does not settle, contact a doctor."
                    .into(),
            },
            Step {
                key: "morning_stretches".into(),
                kind: StepKind::Stretches,
                timing: Timing::NextMorning { at: clock(9, 0) },
                title: "Gentle morning stretches".into(),
                body: "Take 5–10 minutes for gentle stretches: knee-to-chest, cat-cow, child's pose, a hip-flexor \
                       stretch and a hamstring stretch. Move slowly and keep breathing; a mild pull is fine. Stop \
                       at once if you feel sharp pain, and let your therapist know. New numbness, tingling or \
                       weakness in a leg is a reason to contact a doctor or physiotherapist."
                    .into(),
            },
            Step {
                key: "soreness_24h".into(),
                kind: StepKind::SorenessCheckIn { hours_after: 24 },
                timing: Timing::AfterEnd(TimeDelta::hours(24)),
                title: "How are you feeling today?".into(),
                body: format!(
                    "It's a day since your massage. How sore are you, from 0 (not at all) to 10 (worst \
                     imaginable)? Mild soreness is normal and usually eases within a day or two. If you have sharp \
                     pain rather than soreness, stop any exercise that causes it and let your therapist know. \
                     {LEG_WARNING}"
                ),
            },
            soreness_48h_step(),
        ],
    }
}

/// The 48-hour soreness check-in every plan ends with. The sources say mild soreness for a day or
/// two is normal and that soreness which has not eased is for the therapist to hear about, so
/// the follow-up rule reads this check-in, after every kind of session (a 24-hour threshold
/// would flag the soreness that is expected).
pub fn soreness_48h_step() -> Step {
    Step {
        key: "soreness_48h".into(),
        kind: StepKind::SorenessCheckIn { hours_after: 48 },
        timing: Timing::AfterEnd(TimeDelta::hours(48)),
        title: "How are you feeling now?".into(),
        body: format!(
            "Two days on, how sore are you, from 0 to 10? Soreness should have eased within a day or two; if it \
             hasn't, or it's getting worse, let your therapist know, or contact a doctor or physiotherapist. If you \
             have sharp pain, stop any exercise that causes it. {LEG_WARNING}"
        ),
    }
}

/// The lighter plan after Swedish/relaxation and hot stone massage: fewer, gentler prompts, and
/// the same check-ins after 24 and 48 hours.
pub fn gentle_template() -> Template {
    Template {
        name: "Gentle aftercare".into(),
        steps: vec![
            Step {
                key: "hydrate".into(),
                kind: StepKind::Hydrate,
                timing: Timing::AfterEnd(TimeDelta::minutes(15)),
                title: "Drink some water".into(),
                body: "Drink water if you're thirsty, and take it easy for the rest of the day if you can: rest is \
                       fine. Feeling a little sore or tired, or a little bruised, after a massage is normal and \
                       passes within a day or two. If you \
                       feel sharp pain, stop what you're doing, rest, and let your therapist know. If the pain is \
                       severe or keeps getting worse, or you feel unwell, contact a doctor."
                    .into(),
            },
            Step {
                key: "morning_stretches".into(),
                kind: StepKind::Stretches,
                timing: Timing::NextMorning { at: clock(9, 0) },
                title: "A few gentle stretches".into(),
                body: "If you feel like it, take 5 minutes for gentle stretches: knee-to-chest, cat-cow and child's \
                       pose. Move slowly and keep breathing; a mild pull is fine. Stop at once if you feel sharp \
                       pain, and let your therapist know. New numbness, tingling or weakness in a leg is a reason \
                       to contact a doctor or physiotherapist."
                    .into(),
            },
            Step {
                key: "soreness_24h".into(),
                kind: StepKind::SorenessCheckIn { hours_after: 24 },
                timing: Timing::AfterEnd(TimeDelta::hours(24)),
                title: "How are you feeling today?".into(),
                body: format!(
                    "It's a day since your massage. How sore are you, from 0 (not at all) to 10 (worst \
                     imaginable)? Any soreness should ease within a day or two. If you have sharp pain rather \
                     than soreness, stop any exercise that causes it and let your therapist know. If the pain is \
                     getting worse, contact a doctor or physiotherapist. {LEG_WARNING}"
                ),
            },
            soreness_48h_step(),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(name: &str) -> TimeZone {
        TimeZone::parse(name).unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn berlin() -> TimeZone {
        zone("Europe/Berlin")
    }

    fn new_york() -> TimeZone {
        zone("America/New_York")
    }

    /// (key, due) for every step of the default plan of `kind`, due written as RFC 3339 in UTC.
    fn due(kind: SessionKind, end: &str, zone: TimeZone) -> Vec<(String, String)> {
        due_with(&default_template(kind), end, zone, QuietHours::default())
    }

    fn due_with(template: &Template, end: &str, zone: TimeZone, quiet: QuietHours) -> Vec<(String, String)> {
        plan(template, utc(end), zone, quiet)
            .into_iter()
            .map(|p| (p.step.key, p.due_at.format("%Y-%m-%dT%H:%M:%SZ").to_string()))
            .collect()
    }

    fn expect(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, d)| (k.to_string(), d.to_string())).collect()
    }

    // Every instant below is worked out by hand. Berlin is UTC+2 in June (CEST) and UTC+1 in
    // late March before the change (CET); New York is UTC-4 in June (EDT) and until 2026-11-01
    // 02:00, UTC-5 after it (EST). Quiet hours are the default 21:30–08:00.

    #[test]
    fn berlin_session_ending_at_10_00() {
        // Ends 2026-06-10 10:00 CEST = 08:00Z.
        assert_eq!(
            due(SessionKind::DeepTissue, "2026-06-10T08:00:00Z", berlin()),
            expect(&[
                ("hydrate", "2026-06-10T08:15:00Z"),           // 10:15
                ("warm_bath", "2026-06-10T17:00:00Z"),         // 19:00
                ("morning_stretches", "2026-06-11T07:00:00Z"), // 09:00 next day
                ("soreness_24h", "2026-06-11T08:00:00Z"),      // 10:00
                ("soreness_48h", "2026-06-12T08:00:00Z"),
            ])
        );
    }

    #[test]
    fn berlin_session_ending_at_18_30() {
        // Ends 18:30 CEST = 16:30Z; end + 2 h (20:30) is later than 19:00.
        assert_eq!(
            due(SessionKind::DeepTissue, "2026-06-10T16:30:00Z", berlin()),
            expect(&[
                ("hydrate", "2026-06-10T16:45:00Z"),
                ("warm_bath", "2026-06-10T18:30:00Z"), // 20:30, before quiet hours
                ("morning_stretches", "2026-06-11T07:00:00Z"),
                ("soreness_24h", "2026-06-11T16:30:00Z"),
                ("soreness_48h", "2026-06-12T16:30:00Z"),
            ])
        );
    }

    #[test]
    fn berlin_session_ending_at_21_00() {
        // Ends 21:00 CEST = 19:00Z. Hydrate at 21:15 is still before quiet hours; the bath at
        // end + 2 h = 23:00 is inside them and moves to 08:00 the next day (06:00Z), before the
        // stretches but still listed in template order. 21:00 a day later is not quiet.
        let planned = plan(
            &default_template(SessionKind::DeepTissue),
            utc("2026-06-10T19:00:00Z"),
            berlin(),
            QuietHours::default(),
        );
        let moved: Vec<bool> = planned.iter().map(PlannedStep::moved_for_quiet_hours).collect();
        assert_eq!(moved, [false, true, false, false, false]);
        assert_eq!(planned[1].nominal_at, utc("2026-06-10T21:00:00Z"));
        assert_eq!(
            due(SessionKind::DeepTissue, "2026-06-10T19:00:00Z", berlin()),
            expect(&[
                ("hydrate", "2026-06-10T19:15:00Z"),
                ("warm_bath", "2026-06-11T06:00:00Z"),
                ("morning_stretches", "2026-06-11T07:00:00Z"),
                ("soreness_24h", "2026-06-11T19:00:00Z"),
                ("soreness_48h", "2026-06-12T19:00:00Z"),
            ])
        );
    }

    #[test]
    fn new_york_session_ending_at_10_00() {
        // Ends 2026-06-10 10:00 EDT = 14:00Z.
        assert_eq!(
            due(SessionKind::DeepTissue, "2026-06-10T14:00:00Z", new_york()),
            expect(&[
                ("hydrate", "2026-06-10T14:15:00Z"),
                ("warm_bath", "2026-06-10T23:00:00Z"),         // 19:00
                ("morning_stretches", "2026-06-11T13:00:00Z"), // 09:00
                ("soreness_24h", "2026-06-11T14:00:00Z"),
                ("soreness_48h", "2026-06-12T14:00:00Z"),
            ])
        );
    }

    #[test]
    fn new_york_session_ending_at_18_30() {
        // Ends 18:30 EDT = 22:30Z; the bath at 20:30 EDT is already the next UTC date.
        assert_eq!(
            due(SessionKind::DeepTissue, "2026-06-10T22:30:00Z", new_york()),
            expect(&[
                ("hydrate", "2026-06-10T22:45:00Z"),
                ("warm_bath", "2026-06-11T00:30:00Z"),
                ("morning_stretches", "2026-06-11T13:00:00Z"),
                ("soreness_24h", "2026-06-11T22:30:00Z"),
                ("soreness_48h", "2026-06-12T22:30:00Z"),
            ])
        );
    }

    #[test]
    fn new_york_session_ending_at_21_00() {
        // Ends 2026-06-10 21:00 EDT = 2026-06-11T01:00Z: "same evening" and "next morning" follow
        // the local date (10 June), not the UTC one. The bath at 23:00 EDT moves to 08:00 EDT.
        assert_eq!(
            due(SessionKind::DeepTissue, "2026-06-11T01:00:00Z", new_york()),
            expect(&[
                ("hydrate", "2026-06-11T01:15:00Z"), // 21:15, not quiet
                ("warm_bath", "2026-06-11T12:00:00Z"),
                ("morning_stretches", "2026-06-11T13:00:00Z"),
                ("soreness_24h", "2026-06-12T01:00:00Z"), // 21:00 on 11 June, not quiet
                ("soreness_48h", "2026-06-13T01:00:00Z"),
            ])
        );
    }

    #[test]
    fn hydrate_inside_quiet_hours_moves_to_their_end() {
        // Ends 21:20 CEST (19:20Z): hydrate at 21:35 is quiet, so 08:00 the next day.
        assert_eq!(
            due(SessionKind::Swedish, "2026-06-10T19:20:00Z", berlin()),
            expect(&[
                ("hydrate", "2026-06-11T06:00:00Z"),
                ("morning_stretches", "2026-06-11T07:00:00Z"),
                ("soreness_24h", "2026-06-11T19:20:00Z"), // 21:20, not quiet
                ("soreness_48h", "2026-06-12T19:20:00Z"),
            ])
        );
        // Ends 01:45 CEST on 10 June (2026-06-09T23:45Z): hydrate at 02:00 moves to 08:00 the
        // same local day; the bath is 19:00 on that local day; end + 24 h is 01:45 and moves to
        // 08:00 on 11 June.
        assert_eq!(
            due(SessionKind::DeepTissue, "2026-06-09T23:45:00Z", berlin()),
            expect(&[
                ("hydrate", "2026-06-10T06:00:00Z"),
                ("warm_bath", "2026-06-10T17:00:00Z"),
                ("morning_stretches", "2026-06-11T07:00:00Z"),
                ("soreness_24h", "2026-06-11T06:00:00Z"),
                ("soreness_48h", "2026-06-12T06:00:00Z"),
            ])
        );
    }

    #[test]
    fn berlin_spring_forward() {
        // Saturday 2026-03-28 10:00 CET = 09:00Z. Clocks go from 02:00 CET to 03:00 CEST on
        // Sunday 29 March: 09:00 CEST that morning is 07:00Z, only 22 hours after the end, while
        // end + 24 h stays 09:00Z, which the clock shows as 11:00 CEST.
        assert_eq!(
            due(SessionKind::DeepTissue, "2026-03-28T09:00:00Z", berlin()),
            expect(&[
                ("hydrate", "2026-03-28T09:15:00Z"),
                ("warm_bath", "2026-03-28T18:00:00Z"), // 19:00 CET
                ("morning_stretches", "2026-03-29T07:00:00Z"),
                ("soreness_24h", "2026-03-29T09:00:00Z"),
                ("soreness_48h", "2026-03-30T09:00:00Z"),
            ])
        );
        // Ends 18:30 CET = 17:30Z; end + 24 h is 19:30 CEST on the 29th.
        assert_eq!(
            due(SessionKind::DeepTissue, "2026-03-28T17:30:00Z", berlin()),
            expect(&[
                ("hydrate", "2026-03-28T17:45:00Z"),
                ("warm_bath", "2026-03-28T19:30:00Z"), // 20:30 CET
                ("morning_stretches", "2026-03-29T07:00:00Z"),
                ("soreness_24h", "2026-03-29T17:30:00Z"),
                ("soreness_48h", "2026-03-30T17:30:00Z"),
            ])
        );
        // Ends 21:00 CET = 20:00Z. The bath (23:00 CET) moves to 08:00 CEST on the 29th = 06:00Z.
        // End + 24 h = 2026-03-29T20:00Z shows as 22:00 CEST, inside quiet hours now that the
        // clocks moved on, so it goes to 08:00 CEST on the 30th; the same for end + 48 h.
        assert_eq!(
            due(SessionKind::DeepTissue, "2026-03-28T20:00:00Z", berlin()),
            expect(&[
                ("hydrate", "2026-03-28T20:15:00Z"),
                ("warm_bath", "2026-03-29T06:00:00Z"),
                ("morning_stretches", "2026-03-29T07:00:00Z"),
                ("soreness_24h", "2026-03-30T06:00:00Z"),
                ("soreness_48h", "2026-03-31T06:00:00Z"),
            ])
        );
    }

    #[test]
    fn new_york_fall_back() {
        // Saturday 2026-10-31 10:00 EDT = 14:00Z. On Sunday 1 November 02:00 EDT becomes 01:00
        // EST, so 09:00 EST is 14:00Z, exactly 24 hours after the end, like end + 24 h.
        assert_eq!(
            due(SessionKind::DeepTissue, "2026-10-31T14:00:00Z", new_york()),
            expect(&[
                ("hydrate", "2026-10-31T14:15:00Z"),
                ("warm_bath", "2026-10-31T23:00:00Z"), // 19:00 EDT
                ("morning_stretches", "2026-11-01T14:00:00Z"),
                ("soreness_24h", "2026-11-01T14:00:00Z"), // 09:00 EST
                ("soreness_48h", "2026-11-02T14:00:00Z"),
            ])
        );
        // Ends 21:00 EDT = 2026-11-01T01:00Z. The bath (23:00 EDT) moves to 08:00 EST = 13:00Z;
        // end + 24 h shows 20:00 EST, outside quiet hours.
        assert_eq!(
            due(SessionKind::DeepTissue, "2026-11-01T01:00:00Z", new_york()),
            expect(&[
                ("hydrate", "2026-11-01T01:15:00Z"), // 21:15 EDT
                ("warm_bath", "2026-11-01T13:00:00Z"),
                ("morning_stretches", "2026-11-01T14:00:00Z"),
                ("soreness_24h", "2026-11-02T01:00:00Z"),
                ("soreness_48h", "2026-11-03T01:00:00Z"),
            ])
        );
        // Ends at the first 01:20 (EDT) = 05:20Z on the change day itself. Hydrate (01:35 EDT) is
        // quiet and moves to 08:00 EST; the bath is 19:00 EST = 00:00Z on the 2nd; the next
        // morning is 2 November; end + 24 h shows 00:20 EST and moves to 08:00 EST.
        assert_eq!(
            due(SessionKind::DeepTissue, "2026-11-01T05:20:00Z", new_york()),
            expect(&[
                ("hydrate", "2026-11-01T13:00:00Z"),
                ("warm_bath", "2026-11-02T00:00:00Z"),
                ("morning_stretches", "2026-11-02T14:00:00Z"),
                ("soreness_24h", "2026-11-02T13:00:00Z"),
                ("soreness_48h", "2026-11-03T13:00:00Z"),
            ])
        );
    }

    fn custom(steps: Vec<Step>) -> Template {
        Template { name: "Custom".into(), steps }
    }

    fn step(key: &str, timing: Timing) -> Step {
        Step {
            key: key.into(),
            kind: StepKind::Custom,
            timing,
            title: "A short walk".into(),
            body: "A 10-minute walk helps. Stop if you feel sharp pain.".into(),
        }
    }

    fn quiet(start: (u32, u32), end: (u32, u32)) -> QuietHours {
        QuietHours::new(clock(start.0, start.1), clock(end.0, end.1)).unwrap()
    }

    #[test]
    fn quiet_hours_ending_in_the_repeated_hour() {
        // Quiet 00:00–01:30 in New York on 2026-11-01, when 01:00–02:00 happens twice.
        let template = custom(vec![step("walk", Timing::AfterEnd(TimeDelta::minutes(15)))]);
        let quiet = quiet((0, 0), (1, 30));
        // 01:15 EDT (05:15Z) is quiet; the end is the first 01:30, EDT = 05:30Z.
        assert_eq!(
            due_with(&template, "2026-11-01T05:00:00Z", new_york(), quiet),
            expect(&[("walk", "2026-11-01T05:30:00Z")])
        );
        // 01:15 EST (06:15Z), in the repeat: the first 01:30 is past, the end is 01:30 EST = 06:30Z.
        assert_eq!(
            due_with(&template, "2026-11-01T06:00:00Z", new_york(), quiet),
            expect(&[("walk", "2026-11-01T06:30:00Z")])
        );
        // 01:45 EST (06:45Z) shows a time outside the window: it stays.
        assert_eq!(
            due_with(&template, "2026-11-01T06:30:00Z", new_york(), quiet),
            expect(&[("walk", "2026-11-01T06:45:00Z")])
        );
    }

    #[test]
    fn quiet_hours_ending_in_the_spring_gap() {
        // Quiet 22:00–02:30 in New York; on 2026-03-08 02:30 does not exist (02:00 EST jumps to
        // 03:00 EDT) and the end moves forward to 03:30 EDT = 07:30Z. 01:00 EST is 06:00Z.
        let template = custom(vec![step("walk", Timing::AfterEnd(TimeDelta::minutes(15)))]);
        assert_eq!(
            due_with(&template, "2026-03-08T05:45:00Z", new_york(), quiet((22, 0), (2, 30))),
            expect(&[("walk", "2026-03-08T07:30:00Z")])
        );
    }

    #[test]
    fn quiet_hours_within_one_day_and_late_ends() {
        // Quiet 13:00–14:00 in Berlin (CEST): end + 30 min at 13:30 moves to 14:00 = 12:00Z.
        let template = custom(vec![
            step("a", Timing::AfterEnd(TimeDelta::minutes(30))),
            step("b", Timing::NextMorning { at: clock(9, 0) }),
        ]);
        assert_eq!(
            due_with(&template, "2026-06-10T11:00:00Z", berlin(), quiet((13, 0), (14, 0))),
            expect(&[("a", "2026-06-10T12:00:00Z"), ("b", "2026-06-11T07:00:00Z")])
        );
        // Quiet hours ending at 09:30 push the 09:00 stretches to 09:30 CEST = 07:30Z.
        assert_eq!(
            due_with(&template, "2026-06-10T11:00:00Z", berlin(), quiet((22, 0), (9, 30))),
            expect(&[("a", "2026-06-10T11:30:00Z"), ("b", "2026-06-11T07:30:00Z")])
        );
    }

    #[test]
    fn a_session_ending_after_midnight_keeps_its_local_date() {
        // Ends 00:30 CEST on 11 June (2026-06-10T22:30Z). "Same evening" is 19:00 on 11 June and
        // "next morning" 09:00 on 12 June.
        let template = custom(vec![
            step("evening", Timing::SameEvening { at: clock(19, 0), at_least_after_end: TimeDelta::hours(2) }),
            step("morning", Timing::NextMorning { at: clock(9, 0) }),
        ]);
        assert_eq!(
            due_with(&template, "2026-06-10T22:30:00Z", berlin(), QuietHours::default()),
            expect(&[("evening", "2026-06-11T17:00:00Z"), ("morning", "2026-06-12T07:00:00Z")])
        );
    }

    #[test]
    fn every_kind_has_a_default() {
        use SessionKind::*;
        for kind in [DeepTissue, Sports, TriggerPoint, MyofascialRelease, Other] {
            assert_eq!(default_template(kind), deep_tissue_template(), "{kind}");
        }
        for kind in [Swedish, HotStone] {
            assert_eq!(default_template(kind), gentle_template(), "{kind}");
        }
        let deep = deep_tissue_template();
        assert_eq!(deep.steps.len(), 5);
        let gentle = gentle_template();
        assert!(gentle.steps.len() < deep.steps.len());
        // Every kind ends with the 48-hour check-in the follow-up rule reads.
        for template in [&deep, &gentle] {
            assert!(template.steps.iter().any(|s| s.kind == StepKind::SorenessCheckIn { hours_after: 24 }));
            assert_eq!(template.steps.last(), Some(&soreness_48h_step()));
        }
    }

    #[test]
    fn default_templates_pass_their_own_validation() {
        for template in [deep_tissue_template(), gentle_template()] {
            assert_eq!(template.clone().validate().unwrap(), template);
        }
    }

    #[test]
    fn default_texts_are_plain_and_safe() {
        let banned = ["toxin", "flush", "detox", "cure", "diagnos"];
        for template in [deep_tissue_template(), gentle_template()] {
            assert!(!template.name.is_empty());
            for step in &template.steps {
                let text = format!("{} {}", step.title, step.body).to_lowercase();
                for word in banned {
                    assert!(!text.contains(word), "{} says {word:?}", step.key);
                }
                // When to stop, and who to tell.
                assert!(text.contains("sharp pain"), "{} does not say to stop on sharp pain", step.key);
                assert!(text.contains("stop"), "{} does not say to stop", step.key);
                assert!(text.contains("therapist"), "{} does not say to tell the therapist", step.key);
                // And when to get medical help, not only the therapist's.
                assert!(
                    text.contains("contact a doctor") || text.contains("get medical help today"),
                    "{} does not say when to get medical help",
                    step.key
                );
                match step.kind {
                    StepKind::Hydrate => assert!(text.contains("drink water if you're thirsty")),
                    StepKind::WarmBathOrCompress => {
                        for needed in
                            ["epsom salts", "warm compress", "10–15 minutes", "inflamed", "broken skin", "ice pack"]
                        {
                            assert!(text.contains(needed), "warm bath lacks {needed:?}");
                        }
                    }
                    StepKind::Stretches => {
                        for needed in ["knee-to-chest", "cat-cow", "child's pose"] {
                            assert!(text.contains(needed), "stretches lack {needed:?}");
                        }
                    }
                    StepKind::SorenessCheckIn { .. } => {
                        assert!(text.contains("0") && text.contains("10"));
                        assert!(text.contains("swollen, red, warm or painful"));
                        assert!(text.contains("get medical help today"));
                        assert!(text.contains("call emergency services at once"));
                        assert!(
                            text.contains("breathless")
                                && text.contains("chest pain")
                                && text.contains("cough up blood")
                        );
                    }
                    StepKind::Custom => panic!("defaults use the named kinds"),
                }
            }
        }
        // What the deep-tissue plan adds.
        let deep = deep_tissue_template();
        let all = deep.steps.iter().map(|s| s.body.as_str()).collect::<Vec<_>>().join(" ");
        assert!(all.contains("12–24 hours before intense training"));
        assert!(all.contains("hip-flexor") && all.contains("hamstring") && all.contains("5–10 minutes"));
        assert!(all.contains("should have eased within a day or two"));
        // What is normal, in both plans: bruising, tiredness, and rest.
        for template in [deep_tissue_template(), gentle_template()] {
            let hydrate = template.steps[0].body.to_lowercase();
            assert!(hydrate.contains("bruis") && hydrate.contains("tired") && hydrate.contains("rest"), "{hydrate}");
        }
    }

    #[test]
    fn myths_about_metabolic_waste_and_lactic_acid_are_refused() {
        for body in ["Massage releases metabolic waste.", "Soreness is LACTIC ACID leaving the muscle."] {
            let template = custom(vec![Step { body: body.into(), ..step("a", Timing::AfterEnd(TimeDelta::hours(1))) }]);
            assert_eq!(errors_of(template), vec![("steps[0].body".to_owned(), "unsupported_claim")], "{body}");
        }
        let fine = custom(vec![Step {
            body: "Rest is fine; mild bruising can be normal.".into(),
            ..step("a", Timing::AfterEnd(TimeDelta::hours(1)))
        }]);
        assert!(fine.validate().is_ok());
    }

    fn screen_with(conditions: &[Condition]) -> HealthScreen {
        let on: chrono::NaiveDate = "2026-06-01".parse().unwrap();
        let yes = || Some(crate::domain::screening::Answer { present: true, note: None, confirmed_on: on });
        let mut health = HealthScreen::default();
        for condition in conditions {
            match condition {
                Condition::Osteoporosis => {
                    health.osteoporosis = Some(crate::domain::screening::OsteoporosisAnswer {
                        present: true,
                        severe: false,
                        note: None,
                        confirmed_on: on,
                    })
                }
                Condition::HerniatedDisc => health.herniated_disc = yes(),
                Condition::Pregnancy => health.pregnancy = yes(),
                Condition::HeartCondition => health.heart_condition = yes(),
                Condition::Cancer => health.cancer = yes(),
                other => panic!("not used here: {other:?}"),
            }
        }
        health
    }

    #[test]
    fn osteoporosis_or_a_disc_problem_leave_out_loaded_flexion() {
        for (conditions, why) in [
            (vec![Condition::Osteoporosis], "osteoporosis"),
            (vec![Condition::HerniatedDisc], "a disc problem"),
            (vec![Condition::Osteoporosis, Condition::HerniatedDisc], "osteoporosis and a disc problem"),
        ] {
            for template in [deep_tissue_template(), gentle_template()] {
                let adapted = adapt_to_screen(template.clone(), &screen_with(&conditions));
                let stretches = adapted.steps.iter().find(|s| s.kind == StepKind::Stretches).unwrap();
                let text = stretches.body.to_lowercase();
                assert!(text.starts_with(&format!("because you told us about {why}, this plan leaves out")), "{text}");
                // Named only as what is left out.
                assert_eq!(text.matches("knee-to-chest").count(), 1, "{text}");
                assert_eq!(text.matches("child's pose").count(), 1, "{text}");
                assert!(text.contains("sharp pain") && text.contains("therapist"));
                // Nothing else changes.
                let others = |t: &Template| -> Vec<Step> {
                    t.steps.iter().filter(|s| s.kind != StepKind::Stretches).cloned().collect()
                };
                assert_eq!(others(&adapted), others(&template));
                assert!(adapted.clone().validate().is_ok());
            }
        }
        // A therapist's stretches without those names keep their words and get the caution.
        let theirs = custom(vec![Step {
            kind: StepKind::Stretches,
            body: "Cat-cow, 10 times.".into(),
            ..step("s", Timing::NextMorning { at: clock(9, 0) })
        }]);
        let adapted = adapt_to_screen(theirs, &screen_with(&[Condition::Osteoporosis]));
        assert!(adapted.steps[0].body.starts_with("Cat-cow, 10 times.\n\nBecause you told us about osteoporosis"));
        // Other conditions change nothing.
        let deep = deep_tissue_template();
        assert_eq!(adapt_to_screen(deep.clone(), &screen_with(&[Condition::Cancer])), deep);
        assert_eq!(adapt_to_screen(deep.clone(), &HealthScreen::default()), deep);
    }

    #[test]
    fn pregnancy_or_a_heart_condition_get_a_warm_compress_instead_of_a_bath() {
        for (condition, why) in [
            (Condition::Pregnancy, "because of your pregnancy"),
            (Condition::HeartCondition, "because of a heart condition"),
        ] {
            let adapted = adapt_to_screen(deep_tissue_template(), &screen_with(&[condition]));
            let step = adapted.steps.iter().find(|s| s.kind == StepKind::WarmBathOrCompress).unwrap();
            assert_eq!(step.title, "A warm compress");
            let text = step.body.to_lowercase();
            assert!(text.starts_with(&format!("{why}, use a warm compress rather than a hot bath")), "{text}");
            assert!(!text.contains("epsom"), "{text}");
            assert!(text.contains("10–15 minutes") && text.contains("inflamed") && text.contains("ice pack"));
            assert!(adapted.clone().validate().is_ok());
            // The stretches stay.
            assert_eq!(adapted.steps[2], deep_tissue_template().steps[2]);
        }
    }

    #[test]
    fn templates_round_trip_through_json() {
        let template = deep_tissue_template();
        let json = serde_json::to_value(&template).unwrap();
        assert_eq!(json["steps"][0]["timing"], serde_json::json!({"type": "after_end", "minutes": 15}));
        assert_eq!(
            json["steps"][1]["timing"],
            serde_json::json!({"type": "same_evening", "at": "19:00", "at_least_after_end_minutes": 120})
        );
        assert_eq!(json["steps"][2]["timing"], serde_json::json!({"type": "next_morning", "at": "09:00"}));
        assert_eq!(json["steps"][3]["kind"], serde_json::json!({"type": "soreness_check_in", "hours_after": 24}));
        assert_eq!(json["steps"][1]["kind"], serde_json::json!({"type": "warm_bath_or_compress"}));
        assert_eq!(serde_json::from_value::<Template>(json).unwrap(), template);

        let bad_time = serde_json::json!({"type": "next_morning", "at": "9am"});
        assert!(serde_json::from_value::<Timing>(bad_time).is_err());
        let extra = serde_json::json!({"type": "after_end", "minutes": 15, "hours": 1});
        assert!(serde_json::from_value::<Timing>(extra).is_err());
        let extra_kind = serde_json::json!({"type": "hydrate", "litres": 2});
        assert!(serde_json::from_value::<StepKind>(extra_kind).is_err());
        let missing_hours = serde_json::json!({"type": "soreness_check_in"});
        assert!(serde_json::from_value::<StepKind>(missing_hours).is_err());
        assert_eq!(
            serde_json::from_value::<StepKind>(serde_json::json!({"type": "custom"})).unwrap(),
            StepKind::Custom
        );
    }

    fn errors_of(template: Template) -> Vec<(String, &'static str)> {
        template.validate().unwrap_err().into_errors().into_iter().map(|e| (e.field, e.code)).collect()
    }

    #[test]
    fn a_therapists_template_is_checked_field_by_field() {
        let good = custom(vec![
            Step {
                key: "walk".into(),
                kind: StepKind::Custom,
                timing: Timing::AfterEnd(TimeDelta::hours(3)),
                title: "  A short walk ".into(),
                body: "Walk for 10 minutes.\nStop if you feel sharp pain.".into(),
            },
            Step {
                key: "check_in_2".into(),
                kind: StepKind::SorenessCheckIn { hours_after: 48 },
                timing: Timing::AfterEnd(TimeDelta::hours(54)),
                title: "Checking in".into(),
                body: "How sore are you from 0 to 10?".into(),
            },
        ]);
        let valid = good.validate().unwrap();
        assert_eq!(valid.steps[0].title, "A short walk");

        let mut json = serde_json::to_value(deep_tissue_template()).unwrap();
        json["steps"][0]["timing"]["minutes"] = serde_json::json!(-5);
        let negative: Template = serde_json::from_value(json).unwrap();
        assert_eq!(errors_of(negative), vec![("steps[0].timing.minutes".to_owned(), "out_of_range")]);

        let bad = Template {
            name: " ".into(),
            steps: vec![
                Step { key: "Walk".into(), ..step("x", Timing::AfterEnd(TimeDelta::days(8))) },
                Step {
                    title: "t".repeat(81),
                    ..step("a", Timing::SameEvening { at: clock(23, 0), at_least_after_end: TimeDelta::hours(7) })
                },
                Step { body: "Helps flush out toxins.".into(), ..step("a", Timing::NextMorning { at: clock(13, 0) }) },
                Step {
                    kind: StepKind::SorenessCheckIn { hours_after: 36 },
                    ..step("b", Timing::AfterEnd(TimeDelta::hours(36)))
                },
                Step {
                    kind: StepKind::SorenessCheckIn { hours_after: 48 },
                    ..step("c", Timing::NextMorning { at: clock(9, 0) })
                },
                Step {
                    body: "".into(),
                    title: "bell\u{7}".into(),
                    ..step("d", Timing::AfterEnd(TimeDelta::seconds(90)))
                },
            ],
        };
        assert_eq!(
            errors_of(bad),
            vec![
                ("name".to_owned(), "empty"),
                ("steps[0].key".to_owned(), "invalid_key"),
                ("steps[0].timing.minutes".to_owned(), "out_of_range"),
                ("steps[1].title".to_owned(), "too_long"),
                ("steps[1].timing.at".to_owned(), "out_of_range"),
                ("steps[1].timing.at_least_after_end_minutes".to_owned(), "out_of_range"),
                ("steps[2].body".to_owned(), "unsupported_claim"),
                ("steps[2].timing.at".to_owned(), "out_of_range"),
                ("steps[3].kind.hours_after".to_owned(), "invalid_value"),
                ("steps[4].timing".to_owned(), "timing_mismatch"),
                ("steps[5].title".to_owned(), "invalid_characters"),
                ("steps[5].body".to_owned(), "empty"),
                ("steps[5].timing.minutes".to_owned(), "out_of_range"),
                ("steps[2].key".to_owned(), "duplicate"),
            ]
        );

        assert_eq!(errors_of(custom(vec![])), vec![("steps".to_owned(), "invalid_length")]);
        let eleven = (0..11).map(|i| step(&format!("s{i}"), Timing::AfterEnd(TimeDelta::hours(i)))).collect();
        assert_eq!(errors_of(custom(eleven)), vec![("steps".to_owned(), "invalid_length")]);
        let ten: Vec<Step> = (0..10).map(|i| step(&format!("s{i}"), Timing::AfterEnd(TimeDelta::hours(i)))).collect();
        assert!(custom(ten).validate().is_ok());
        // Bounds are inclusive.
        let edges = custom(vec![
            step("now", Timing::AfterEnd(TimeDelta::zero())),
            step("week", Timing::AfterEnd(TimeDelta::days(7))),
            step("early", Timing::SameEvening { at: clock(16, 0), at_least_after_end: TimeDelta::hours(6) }),
            step("late", Timing::SameEvening { at: clock(22, 0), at_least_after_end: TimeDelta::zero() }),
            step("dawn", Timing::NextMorning { at: clock(5, 0) }),
            step("noon", Timing::NextMorning { at: clock(12, 0) }),
            step(&"k".repeat(40), Timing::AfterEnd(TimeDelta::hours(1))),
        ]);
        assert!(edges.validate().is_ok());
        assert_eq!(
            errors_of(custom(vec![step(&"k".repeat(41), Timing::AfterEnd(TimeDelta::hours(1)))])),
            vec![("steps[0].key".to_owned(), "invalid_key")]
        );
    }

    #[test]
    fn flushing_anything_out_is_an_unsupported_claim() {
        for body in ["Water flushes out lactic acid.", "Flush your system with water.", "Toxins are FLUSHED away."] {
            let template = custom(vec![Step { body: body.into(), ..step("a", Timing::AfterEnd(TimeDelta::hours(1))) }]);
            assert_eq!(errors_of(template), vec![("steps[0].body".to_owned(), "unsupported_claim")], "{body}");
        }
        let title =
            custom(vec![Step { title: "Flush it out".into(), ..step("a", Timing::AfterEnd(TimeDelta::hours(1))) }]);
        assert_eq!(errors_of(title), vec![("steps[0].title".to_owned(), "unsupported_claim")]);
        let name =
            Template { name: "Detox plan".into(), ..custom(vec![step("a", Timing::AfterEnd(TimeDelta::hours(1)))]) };
        assert_eq!(errors_of(name), vec![("name".to_owned(), "unsupported_claim")]);
    }

    #[test]
    fn a_therapists_plan_always_says_when_to_stop_and_get_help() {
        let template = custom(vec![
            Step { body: "Walk for 10 minutes.".into(), ..step("walk", Timing::AfterEnd(TimeDelta::hours(3))) },
            Step {
                key: "check".into(),
                kind: StepKind::SorenessCheckIn { hours_after: 24 },
                timing: Timing::AfterEnd(TimeDelta::hours(24)),
                title: "Checking in".into(),
                body: "How sore are you from 0 to 10?".into(),
            },
        ])
        .validate()
        .unwrap();
        let (planned, source) = plan_template(SessionKind::DeepTissue, Some(template.clone()));
        assert_eq!(source, PlanSource::Therapist);
        assert_eq!(planned.name, template.name);
        assert_eq!(planned.steps[0].body, format!("Walk for 10 minutes.\n\n{STOP_AND_GET_HELP}"));
        assert_eq!(
            planned.steps[1].body,
            format!("How sore are you from 0 to 10?\n\n{STOP_AND_GET_HELP}\n\n{LEG_WARNING}")
        );
        for (ours, theirs) in planned.steps.iter().zip(&template.steps) {
            assert_eq!(
                (&ours.key, ours.kind, ours.timing, &ours.title),
                (&theirs.key, theirs.kind, theirs.timing, &theirs.title)
            );
            let text = ours.body.to_lowercase();
            assert!(text.contains("sharp pain") && text.contains("contact a doctor"), "{}", ours.body);
        }
        assert!(planned.steps[1].body.contains("get medical help today"));
        // Without a 48-hour check-in of its own, the plan gets the default one.
        assert_eq!(planned.steps.len(), 3);
        assert_eq!(planned.steps[2].kind, StepKind::SorenessCheckIn { hours_after: 48 });
        assert!(planned.steps[2].body.starts_with(&soreness_48h_step().body));
        assert!(planned.steps[2].body.contains(STOP_AND_GET_HELP));
        assert_eq!(with_follow_up(planned.clone()), planned);
        // Adding it twice changes nothing, and a sentence already written is not repeated.
        assert_eq!(with_safety_wording(planned.clone()), planned);
        let careful = custom(vec![Step {
            body: format!("Rest today. {STOP_AND_GET_HELP}"),
            ..step("rest", Timing::AfterEnd(TimeDelta::hours(1)))
        }]);
        assert_eq!(with_safety_wording(careful.clone()), careful);
        // What the domain adds passes the same checks a therapist's text does.
        for line in [STOP_AND_GET_HELP, LEG_WARNING] {
            let mut errors = ValidationErrors::new();
            check_text(&mut errors, "line", line, Template::MAX_BODY_CHARS, false);
            assert!(errors.is_empty(), "{line}: {errors:?}");
        }
    }

    #[test]
    fn without_an_assigned_template_the_kind_decides() {
        assert_eq!(plan_template(SessionKind::Swedish, None), (gentle_template(), PlanSource::Default));
        assert_eq!(plan_template(SessionKind::Sports, None), (deep_tissue_template(), PlanSource::Default));
        for source in [PlanSource::Default, PlanSource::Therapist] {
            assert_eq!(PlanSource::parse(source.as_str()), Some(source));
        }
        assert_eq!(PlanSource::parse("other"), None);
        assert_eq!(step_notification_key(uuid::Uuid::nil()), "aftercare:00000000-0000-0000-0000-000000000000");
    }

    #[test]
    fn plans_keep_every_step_in_order() {
        // Ends 23:50 CEST: everything that falls in quiet hours moves, nothing is dropped.
        let template = deep_tissue_template();
        let planned = plan(&template, utc("2026-06-10T21:50:00Z"), berlin(), QuietHours::default());
        let keys: Vec<&str> = planned.iter().map(|p| p.step.key.as_str()).collect();
        assert_eq!(keys, ["hydrate", "warm_bath", "morning_stretches", "soreness_24h", "soreness_48h"]);
        for p in &planned {
            assert!(p.due_at >= p.nominal_at);
            assert!(!QuietHours::default().contains(p.due_at.with_timezone(&berlin().tz()).time()));
        }
    }
}
