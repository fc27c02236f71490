//! Alert rules (DESIGN.md §3 "Alerts"): pure functions from a patient's daily roll-ups and
//! massage check-in answers to findings, each with its tier, evidence, a plain-language
//! explanation and its source. [`lifecycle`] decides what a finding does to a patient's stored
//! alerts (open, refresh, resolve, notify); storing them and scheduling evaluations live in the
//! store and the service.
//!
//! # Semantics shared by every rule
//!
//! - Dates are the patient's local calendar dates. `today` is the evaluation date; every window
//!   ends on it inclusive (21 days: `today-20..=today`). Roll-ups and check-ins dated after
//!   `today` are ignored.
//! - A day is *logged* when it has a roll-up (at least one entry); unlogged days are neither
//!   "pain" nor "no pain", they are simply left out of counts and medians. A day's value is its
//!   worst pain (`DailyRollup::max`).
//! - Every threshold is inclusive ("at least"). Shares and percentages are compared in integers
//!   (`days * 100 >= percent * logged`), medians are kept doubled, so nothing depends on float
//!   rounding: 70% of 12 logged days is 8.4, so 9 days are needed.
//! - A symptom ticked in the journal, or a check-in answer, keeps its rule firing for
//!   [`AlertThresholds::symptom_lookback_days`] days counting `today` (7: `today-6..=today`).
//!   Every report counts as new: the journal has no "still there" flag, and a patient who ticks
//!   a red flag again should be told again.
//! - Each rule returns at most one finding (the lifecycle keeps one open alert per patient and
//!   rule); the finding's evidence lists every report or day behind it.
//!
//! # The rules (see each module for its edges)
//!
//! - [`emergency`]: `cauda_equina_signs`, `both_legs`.
//! - [`urgent`]: `fever`, `unexplained_weight_loss`, `night_pain`, `pain_after_fall`, `leg_swelling`.
//! - [`persistent`], [`worsening`], [`neurological`], [`severe`]: the `see_physio` tier; each
//!   explanation ends with the safety net ([`safety_net`]).
//! - Advice names the emergency number of the patient's region ([`contact`]); every source is a
//!   reference a clinician can look up.
//! - [`followup`]: `soreness_after_massage`, the `therapist_followup` tier.

pub mod contact;
mod days;
pub mod emergency;
mod finding;
pub mod followup;
pub mod lifecycle;
pub mod neurological;
pub mod persistent;
pub mod severe;
mod sources;
mod text;
mod thresholds;
pub mod urgent;
pub mod worsening;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::journal::Symptom;
use super::rollup::DailyRollup;

pub use contact::EmergencyContact;
pub use emergency::{both_legs, cauda_equina_signs};
pub use finding::{Evidence, Finding, RuleId, Tier};
pub use followup::soreness_after_massage;
pub use lifecycle::{Acknowledged, Alert, Resolution, ResolutionReason, Resolved, Status};
pub use neurological::neurological;
pub use persistent::persistent;
pub use severe::severe_pain;
pub use text::{safety_net, split_explanation};
pub use thresholds::AlertThresholds;
pub use urgent::{fever, leg_swelling, night_pain, pain_after_fall, unexplained_weight_loss};
pub use worsening::worsening;

/// A patient's answer to a massage aftercare check-in (the default plan asks 24 h and 48 h after
/// the session ends).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckIn {
    pub session_id: Uuid,
    /// Hours after the end of the session the check-in was scheduled for: 24 or 48 in the
    /// default plan.
    pub hours_after: u8,
    /// 0–10.
    pub soreness: u8,
    /// The patient reports a swollen, red, warm or painful leg.
    pub leg_swelling_redness_warmth: bool,
    /// The patient's local date when they answered.
    pub answered_on: NaiveDate,
    /// Pain (0–10) recorded before the session, when the session has one.
    pub pain_before: Option<u8>,
}

/// Runs one rule.
pub fn evaluate_rule(
    rule: RuleId,
    rollups: &[DailyRollup],
    check_ins: &[CheckIn],
    today: NaiveDate,
    thresholds: &AlertThresholds,
) -> Option<Finding> {
    let t = thresholds;
    match rule {
        RuleId::CaudaEquinaSigns => cauda_equina_signs(rollups, today, t),
        RuleId::BothLegs => both_legs(rollups, today, t),
        RuleId::Fever => fever(rollups, today, t),
        RuleId::UnexplainedWeightLoss => unexplained_weight_loss(rollups, today, t),
        RuleId::NightPain => night_pain(rollups, today, t),
        RuleId::PainAfterFall => pain_after_fall(rollups, today, t),
        RuleId::LegSwelling => leg_swelling(rollups, check_ins, today, t),
        RuleId::Persistent => persistent(rollups, today, t),
        RuleId::Worsening => worsening(rollups, today, t),
        RuleId::Neurological => neurological(rollups, today, t),
        RuleId::SeverePain => severe_pain(rollups, today, t),
        RuleId::SorenessAfterMassage => soreness_after_massage(check_ins, today, t),
    }
}

/// Runs every rule and returns the findings, most urgent tier first (within a tier, in
/// [`RuleId::ALL`] order).
///
/// `rollups` are the patient's daily roll-ups (any order; only those inside a rule's window
/// matter, so passing the last few weeks is enough), `check_ins` their aftercare check-in answers.
pub fn evaluate(
    rollups: &[DailyRollup],
    check_ins: &[CheckIn],
    today: NaiveDate,
    thresholds: &AlertThresholds,
) -> Vec<Finding> {
    let mut findings: Vec<Finding> =
        RuleId::ALL.iter().filter_map(|rule| evaluate_rule(*rule, rollups, check_ins, today, thresholds)).collect();
    findings.sort_by_key(|f| (f.tier, f.rule));
    findings
}

/// The days a symptom report or check-in answer keeps its rule firing.
/// Whether an entry naming these symptoms can raise or escalate an emergency or urgent alert:
/// it names a symptom one of those rules reads. A one-sided leg symptom counts, since the other
/// leg may already be in the look-back (`both_legs`). Entries without such a symptom change only
/// the rules over a window of days, which can wait for the background evaluation; an entry
/// with one is evaluated in full while the patient waits, so the answer carries the advice.
pub fn may_raise_red_flag(symptoms: impl IntoIterator<Item = Symptom>) -> bool {
    symptoms.into_iter().any(|s| {
        s.leg().is_some()
            || matches!(
                s,
                Symptom::SaddleNumbness
                    | Symptom::BladderOrBowelChange
                    | Symptom::Fever
                    | Symptom::UnexplainedWeightLoss
                    | Symptom::NightPainNotEasedByRest
                    | Symptom::PainAfterFallOrAccident
                    | Symptom::LegSwellingRednessWarmth
            )
    })
}

fn lookback(today: NaiveDate, thresholds: &AlertThresholds) -> days::Period {
    days::Period::ending(today, thresholds.symptom_lookback_days)
}

/// Hand-built journals for the rule tests.
#[cfg(test)]
pub(crate) mod test_support {
    use std::collections::BTreeSet;

    use chrono::{NaiveDate, TimeDelta};
    use uuid::Uuid;

    use super::CheckIn;
    use crate::domain::journal::Symptom;
    use crate::domain::rollup::DailyRollup;

    /// The evaluation date of most tests: a 21-day window from 2026-11-01 to 2026-11-21.
    pub fn today() -> NaiveDate {
        date("2026-11-21")
    }

    pub fn date(d: &str) -> NaiveDate {
        d.parse().unwrap()
    }

    /// `n` days before `today()`.
    pub fn ago(n: i64) -> NaiveDate {
        today() - TimeDelta::days(n)
    }

    pub fn day(date: NaiveDate, max: u8) -> DailyRollup {
        DailyRollup { date, max, mean: f64::from(max), last: max, count: 1, symptoms: BTreeSet::new() }
    }

    pub fn with(date: NaiveDate, max: u8, symptoms: &[Symptom]) -> DailyRollup {
        DailyRollup { symptoms: symptoms.iter().copied().collect(), ..day(date, max) }
    }

    /// Days `ago` with the given worst pain, e.g. `days(&[(20, 5), (19, 5), …])`.
    pub fn days(pairs: &[(i64, u8)]) -> Vec<DailyRollup> {
        pairs.iter().map(|(n, max)| day(ago(*n), *max)).collect()
    }

    /// What every explanation of `rule` ends with, for the fallback region (112): the advice,
    /// then the source in brackets.
    pub fn advice_tail(rule: super::RuleId) -> String {
        let advice = super::text::advice(rule, &super::EmergencyContact::default());
        format!("{} ({}).", advice.trim_end_matches('.'), rule.source())
    }

    pub fn check_in(hours_after: u8, soreness: u8, answered_on: NaiveDate, pain_before: Option<u8>) -> CheckIn {
        CheckIn {
            session_id: Uuid::from_u128(0x5e55_1011),
            hours_after,
            soreness,
            leg_swelling_redness_warmth: false,
            answered_on,
            pain_before,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;
    use crate::domain::journal::Symptom;

    #[test]
    fn every_symptom_a_red_flag_rule_reads_is_evaluated_in_the_request() {
        // A day with the symptom (and, for a leg symptom, every symptom of the other leg, as
        // an earlier entry of the look-back could have): whatever red flag fires must have been
        // foreseen by `may_raise_red_flag`, and nothing else is.
        let t = AlertThresholds::default();
        for symptom in Symptom::ALL.iter().copied() {
            let mut day = with(ago(0), 3, &[symptom]);
            if let Some((_, side)) = symptom.leg() {
                day.symptoms
                    .extend(Symptom::ALL.iter().copied().filter(|s| s.leg().is_some_and(|(_, other)| other != side)));
            }
            let raises = evaluate(&[day], &[], today(), &t).iter().any(|f| f.tier.is_red_flag());
            assert_eq!(may_raise_red_flag([symptom]), raises, "{symptom:?}");
        }
        assert!(!may_raise_red_flag([]));
    }

    #[test]
    fn nothing_fires_on_a_quiet_journal() {
        let rollups: Vec<DailyRollup> = (0..21).map(|n| day(ago(n), 2)).collect();
        let check_ins = [check_in(24, 3, ago(2), Some(5)), check_in(48, 2, ago(1), Some(5))];
        assert_eq!(evaluate(&rollups, &check_ins, today(), &AlertThresholds::default()), []);
        assert_eq!(evaluate(&[], &[], today(), &AlertThresholds::default()), []);
    }

    #[test]
    fn findings_come_most_urgent_first() {
        // Three weeks of pain 6, one-leg tingling and a fever this week, both legs numb
        // yesterday, and a very sore 48 h check-in.
        let mut rollups: Vec<DailyRollup> = (0..21).map(|n| day(ago(n), 6)).collect();
        rollups[0].symptoms = [Symptom::Fever, Symptom::TinglingLeftLeg].into_iter().collect();
        rollups[1].symptoms = [Symptom::NumbnessLeftLeg, Symptom::NumbnessRightLeg].into_iter().collect();
        let check_ins = [check_in(48, 8, ago(0), None)];
        let findings = evaluate(&rollups, &check_ins, today(), &AlertThresholds::default());
        let rules: Vec<RuleId> = findings.iter().map(|f| f.rule).collect();
        assert_eq!(rules, [RuleId::BothLegs, RuleId::Fever, RuleId::Persistent, RuleId::SorenessAfterMassage]);
        let tiers: Vec<Tier> = findings.iter().map(|f| f.tier).collect();
        assert_eq!(tiers, [Tier::Emergency, Tier::Urgent, Tier::SeePhysio, Tier::TherapistFollowup]);
        for finding in &findings {
            assert_eq!(finding.tier, finding.rule.tier());
            assert_eq!(finding.source, finding.rule.source());
            assert!(finding.explanation.ends_with(&format!("({}).", finding.source)), "{}", finding.explanation);
            assert!(!finding.evidence.is_empty());
        }
    }

    #[test]
    fn a_finding_is_worded_again_for_the_patients_region() {
        let rollups = [with(ago(0), 3, &[Symptom::TinglingLeftLeg])];
        let mut finding = evaluate(&rollups, &[], today(), &AlertThresholds::default()).remove(0);
        assert!(finding.explanation.contains("call emergency services on 112 now"), "{}", finding.explanation);
        finding.localize(&EmergencyContact::for_country("NZ"));
        assert!(finding.explanation.contains("call emergency services on 111 now"), "{}", finding.explanation);
        assert!(finding.explanation.starts_with("Tingling in the left leg on 2026-11-21."));
        assert!(finding.explanation.ends_with(&format!("({}).", finding.source)));
    }

    #[test]
    fn every_source_is_a_reference_to_look_up() {
        for rule in RuleId::ALL {
            let source = rule.source();
            // A link, or a citation with its year.
            assert!(source.contains("https://") || source.contains("20"), "{rule:?}: {source}");
            assert!(source.contains('"'), "{rule:?} names a title: {source}");
        }
    }

    #[test]
    fn evaluate_rule_matches_evaluate() {
        let mut rollups: Vec<DailyRollup> = (0..14).map(|n| day(ago(n), if n < 7 { 7 } else { 3 })).collect();
        rollups[3].symptoms = [Symptom::SaddleNumbness, Symptom::LegSwellingRednessWarmth].into_iter().collect();
        let t = AlertThresholds::default();
        let all = evaluate(&rollups, &[], today(), &t);
        let one_by_one: Vec<Finding> =
            RuleId::ALL.iter().filter_map(|r| evaluate_rule(*r, &rollups, &[], today(), &t)).collect();
        assert_eq!(all, one_by_one);
        let rules: Vec<RuleId> = all.iter().map(|f| f.rule).collect();
        assert_eq!(rules, [RuleId::CaudaEquinaSigns, RuleId::LegSwelling, RuleId::Worsening]);
    }

    #[test]
    fn days_after_today_are_ignored() {
        let rollups = [with(today().succ_opt().unwrap(), 9, &[Symptom::SaddleNumbness])];
        let late = [check_in(48, 9, today().succ_opt().unwrap(), None)];
        assert_eq!(evaluate(&rollups, &late, today(), &AlertThresholds::default()), []);
    }
}
