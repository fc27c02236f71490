//! The one-page clinician report: what a physiotherapist needs to read in a minute about a date
//! range of a patient's journal. Built here from what the service read; rendered as HTML by the
//! API layer.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};

use super::Named as _;
use super::aftercare::StepKind;
use super::alerts::{RuleId, Tier};
use super::chart::{self, AlertMark, Band, ChartInput, SessionMark};
use super::journal::Symptom;
use super::massage::SessionKind;
use super::rollup::{self, DailyRollup, Summary};

/// The longest range one report or chart covers: five years.
pub const MAX_REPORT_DAYS: i64 = 5 * 366;

/// Who the report is made for; it is printed on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    /// The patient, for themselves or to print.
    Patient,
    /// A therapist with access, by name.
    Therapist(Option<String>),
    /// Whoever holds a share link the patient made.
    SharedLink { expires_at: DateTime<Utc> },
}

/// A session with its pain before and after and how the aftercare went.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionLine {
    pub date: NaiveDate,
    pub kind: SessionKind,
    pub duration_minutes: u16,
    pub pain_before: Option<u8>,
    pub pain_after: Option<u8>,
    /// Aftercare steps (not check-ins) done, skipped, and due but unanswered.
    pub done: u32,
    pub skipped: u32,
    pub missed: u32,
    /// Soreness check-ins: hours after, soreness 0–10 when answered, leg swelling reported.
    pub check_ins: Vec<CheckInLine>,
}

impl SessionLine {
    /// Steps done out of those due, as a whole percentage; `None` when none was due yet.
    pub fn adherence_percent(&self) -> Option<u32> {
        let due = self.done + self.skipped + self.missed;
        (due > 0).then(|| (f64::from(self.done) / f64::from(due) * 100.0).round() as u32)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct CheckInLine {
    pub hours_after: u16,
    pub soreness: Option<u8>,
    pub leg_swelling: bool,
}

/// A plan step as the report counts it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepFact {
    pub kind: StepKind,
    pub done: bool,
    pub skipped: bool,
    pub due_at: DateTime<Utc>,
    pub soreness: Option<u8>,
    pub leg_swelling: bool,
}

/// Counts a session's plan as of `now`.
#[allow(clippy::too_many_arguments)]
pub fn session_line(
    date: NaiveDate,
    kind: SessionKind,
    duration_minutes: u16,
    pain_before: Option<u8>,
    pain_after: Option<u8>,
    steps: &[StepFact],
    now: DateTime<Utc>,
) -> SessionLine {
    let mut line = SessionLine {
        date,
        kind,
        duration_minutes,
        pain_before,
        pain_after,
        done: 0,
        skipped: 0,
        missed: 0,
        check_ins: Vec::new(),
    };
    for step in steps {
        match step.kind {
            StepKind::SorenessCheckIn { hours_after } => line.check_ins.push(CheckInLine {
                hours_after,
                soreness: step.soreness,
                leg_swelling: step.leg_swelling,
            }),
            _ if step.done => line.done += 1,
            _ if step.skipped => line.skipped += 1,
            _ if step.due_at <= now => line.missed += 1,
            _ => {}
        }
    }
    line
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuestionnaireKind {
    Peg,
    RolandMorris,
}

impl QuestionnaireKind {
    pub fn label(self) -> &'static str {
        match self {
            QuestionnaireKind::Peg => "PEG (pain, enjoyment, activity; 0–10)",
            QuestionnaireKind::RolandMorris => "Roland-Morris disability (0–24)",
        }
    }

    /// The change a patient notices: 2 points for PEG (as for pain), 5 for Roland-Morris.
    pub fn meaningful_change(self) -> f64 {
        match self {
            QuestionnaireKind::Peg => rollup::MEANINGFUL_POINTS,
            QuestionnaireKind::RolandMorris => 5.0,
        }
    }
}

/// One kind of questionnaire over the range: its scores in order, and the change first to last.
#[derive(Debug, Clone, PartialEq)]
pub struct QuestionnaireSeries {
    pub kind: QuestionnaireKind,
    pub scores: Vec<(NaiveDate, f64)>,
}

impl QuestionnaireSeries {
    /// Latest minus first, and whether it reaches the meaningful change; needs two scores.
    pub fn change(&self) -> Option<(f64, bool)> {
        let (first, last) = (self.scores.first()?, self.scores.last()?);
        (self.scores.len() >= 2).then(|| {
            let points = last.1 - first.1;
            (points, points.abs() >= self.kind.meaningful_change() - 1e-9)
        })
    }
}

/// Groups scores by kind (PEG first), each oldest first.
pub fn questionnaire_series(scores: &[(QuestionnaireKind, NaiveDate, f64)]) -> Vec<QuestionnaireSeries> {
    [QuestionnaireKind::Peg, QuestionnaireKind::RolandMorris]
        .into_iter()
        .filter_map(|kind| {
            let mut points: Vec<(NaiveDate, f64)> = scores.iter().filter(|s| s.0 == kind).map(|s| (s.1, s.2)).collect();
            points.sort_by_key(|p| p.0);
            (!points.is_empty()).then_some(QuestionnaireSeries { kind, scores: points })
        })
        .collect()
}

/// A symptom reported in the range: on how many days, first and last.
#[derive(Debug, Clone, PartialEq)]
pub struct SymptomLine {
    pub symptom: Symptom,
    pub days: u32,
    pub first: NaiveDate,
    pub last: NaiveDate,
}

impl SymptomLine {
    /// In plain words, without the final full stop ("Pins and needles in the left leg").
    pub fn words(&self) -> &'static str {
        self.symptom.description().trim().trim_end_matches('.')
    }
}

pub fn symptom_lines(days: &[DailyRollup], from: NaiveDate, to: NaiveDate) -> Vec<SymptomLine> {
    let mut seen: BTreeMap<Symptom, SymptomLine> = BTreeMap::new();
    for day in days.iter().filter(|d| d.date >= from && d.date <= to) {
        for symptom in &day.symptoms {
            let line = seen.entry(*symptom).or_insert(SymptomLine {
                symptom: *symptom,
                days: 0,
                first: day.date,
                last: day.date,
            });
            line.days += 1;
            line.first = line.first.min(day.date);
            line.last = line.last.max(day.date);
        }
    }
    let mut lines: Vec<SymptomLine> = seen.into_values().collect();
    lines.sort_by(|a, b| b.days.cmp(&a.days).then(a.symptom.cmp(&b.symptom)));
    lines
}

/// An open alert with what it found and what to do.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertLine {
    pub opened_on: NaiveDate,
    pub rule: RuleId,
    pub tier: Tier,
    pub acknowledged: bool,
    /// Resolved alerts are marked on the chart but not listed.
    pub resolved: bool,
    /// What was found, with its dates and numbers, then the advice and the source.
    pub explanation: String,
}

impl AlertLine {
    pub fn title(&self) -> String {
        let name = self.rule.as_str().replace('_', " ");
        let mut title = name[..1].to_uppercase();
        title.push_str(&name[1..]);
        title
    }
}

/// Everything on the page.
#[derive(Debug, Clone)]
pub struct Report {
    pub patient_name: Option<String>,
    pub time_zone: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub generated_at: DateTime<Utc>,
    pub generated_on: NaiveDate,
    pub audience: Audience,
    pub summary: Summary,
    pub baseline: Option<Band>,
    pub chart_svg: String,
    pub sessions: Vec<SessionLine>,
    pub questionnaires: Vec<QuestionnaireSeries>,
    pub symptoms: Vec<SymptomLine>,
    pub alerts: Vec<AlertLine>,
}

/// What the report is made of, as read.
pub struct ReportInput {
    pub patient_name: Option<String>,
    pub time_zone: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub generated_at: DateTime<Utc>,
    pub generated_on: NaiveDate,
    pub audience: Audience,
    /// Roll-ups from before the range too (for the baseline and the comparison).
    pub days: Vec<DailyRollup>,
    pub sessions: Vec<SessionLine>,
    pub questionnaires: Vec<(QuestionnaireKind, NaiveDate, f64)>,
    pub alerts: Vec<AlertLine>,
}

pub fn build(input: ReportInput) -> Report {
    let summary = rollup::summarize(&input.days, input.from, input.to);
    let baseline = chart::baseline_band(&input.days, input.from, input.to);
    let chart_svg = chart_for(&input.days, input.from, input.to, &input.sessions, &input.alerts, baseline);
    Report {
        symptoms: symptom_lines(&input.days, input.from, input.to),
        questionnaires: questionnaire_series(&input.questionnaires),
        patient_name: input.patient_name,
        time_zone: input.time_zone,
        from: input.from,
        to: input.to,
        generated_at: input.generated_at,
        generated_on: input.generated_on,
        audience: input.audience,
        summary,
        baseline,
        chart_svg,
        sessions: input.sessions,
        alerts: input.alerts,
    }
}

/// The pain chart with sessions and alerts marked.
pub fn chart_for(
    days: &[DailyRollup],
    from: NaiveDate,
    to: NaiveDate,
    sessions: &[SessionLine],
    alerts: &[AlertLine],
    baseline: Option<Band>,
) -> String {
    let sessions: Vec<SessionMark> = sessions
        .iter()
        .map(|s| SessionMark {
            date: s.date,
            label: format!(
                "{} massage, {} min{}",
                s.kind.label(),
                s.duration_minutes,
                match (s.pain_before, s.pain_after) {
                    (Some(b), Some(a)) => format!(", pain {b} → {a}"),
                    _ => String::new(),
                }
            ),
        })
        .collect();
    let alerts: Vec<AlertMark> =
        alerts.iter().map(|a| AlertMark { date: a.opened_on, tier: a.tier, label: a.title() }).collect();
    chart::render_svg(&ChartInput { from, to, days, sessions: &sessions, alerts: &alerts, baseline })
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;

    fn date(d: &str) -> NaiveDate {
        d.parse().unwrap()
    }

    #[test]
    fn adherence_counts_due_steps_and_lists_check_ins() {
        let now: DateTime<Utc> = "2026-11-10T12:00:00Z".parse().unwrap();
        let step = |kind, done, skipped, hours: i64| StepFact {
            kind,
            done,
            skipped,
            due_at: now + TimeDelta::hours(hours),
            soreness: None,
            leg_swelling: false,
        };
        let steps = [
            step(StepKind::Hydrate, true, false, -20),
            step(StepKind::WarmBathOrCompress, false, true, -18),
            step(StepKind::Stretches, false, false, -2),
            step(StepKind::Custom, false, false, 5),
            StepFact { soreness: Some(4), ..step(StepKind::SorenessCheckIn { hours_after: 24 }, true, false, -1) },
            step(StepKind::SorenessCheckIn { hours_after: 48 }, false, false, 23),
        ];
        let line = session_line(date("2026-11-09"), SessionKind::DeepTissue, 60, Some(6), Some(4), &steps, now);
        assert_eq!((line.done, line.skipped, line.missed), (1, 1, 1), "the step not yet due is not counted");
        assert_eq!(line.adherence_percent(), Some(33));
        assert_eq!(line.check_ins.len(), 2);
        assert_eq!((line.check_ins[0].hours_after, line.check_ins[0].soreness), (24, Some(4)));
        assert_eq!(line.check_ins[1].soreness, None);
        let nothing_due = session_line(date("2026-11-09"), SessionKind::Swedish, 30, None, None, &steps[3..4], now);
        assert_eq!(nothing_due.adherence_percent(), None);
    }

    #[test]
    fn questionnaire_changes_in_their_own_units() {
        let series = questionnaire_series(&[
            (QuestionnaireKind::RolandMorris, date("2026-11-20"), 9.0),
            (QuestionnaireKind::Peg, date("2026-11-02"), 6.0),
            (QuestionnaireKind::RolandMorris, date("2026-11-02"), 14.0),
            (QuestionnaireKind::Peg, date("2026-11-16"), 5.0),
        ]);
        assert_eq!(series.len(), 2);
        assert_eq!(series[0].kind, QuestionnaireKind::Peg);
        assert_eq!(series[0].change(), Some((-1.0, false)));
        assert_eq!(series[1].scores[0], (date("2026-11-02"), 14.0));
        assert_eq!(series[1].change(), Some((-5.0, true)), "5 points is meaningful on Roland-Morris");
    }

    #[test]
    fn symptoms_by_how_often() {
        let day = |d: &str, symptoms: &[Symptom]| DailyRollup {
            date: date(d),
            max: 5,
            mean: 4.0,
            last: 5,
            count: 1,
            symptoms: symptoms.iter().copied().collect(),
        };
        let days = [
            day("2026-10-30", &[Symptom::Fever]),
            day("2026-11-02", &[Symptom::TinglingLeftLeg]),
            day("2026-11-05", &[Symptom::TinglingLeftLeg, Symptom::NightPainNotEasedByRest]),
            day("2026-11-09", &[Symptom::TinglingLeftLeg]),
        ];
        let lines = symptom_lines(&days, date("2026-11-01"), date("2026-11-30"));
        assert_eq!(lines.len(), 2, "the fever was before the range");
        assert_eq!(
            (lines[0].symptom, lines[0].days, lines[0].first, lines[0].last),
            (Symptom::TinglingLeftLeg, 3, date("2026-11-02"), date("2026-11-09"))
        );
        assert_eq!(lines[0].words(), "Pins and needles in the left leg");
    }

    #[test]
    fn alert_titles_read_as_words() {
        let line = AlertLine {
            opened_on: date("2026-11-20"),
            rule: RuleId::SorenessAfterMassage,
            tier: Tier::TherapistFollowup,
            acknowledged: false,
            resolved: false,
            explanation: String::new(),
        };
        assert_eq!(line.title(), "Soreness after massage");
    }
}
