//! Emergency tier: signs that the nerves at the base of the spine may be compressed
//! ("call emergency services / go to A&E now"; NHS guidance on cauda equina syndrome, British
//! Association of Spine Surgeons). Outcomes are better when treated within 24–48 h.
//!
//! - `cauda_equina_signs` fires on saddle numbness or a new bladder or bowel change reported
//!   within the look-back. Both symptoms share one rule (one open alert); the evidence says which.
//! - `both_legs` fires when a leg symptom — numbness, tingling, weakness or pain spreading down
//!   the leg — is reported in the left leg and in the right leg within the look-back: on the same
//!   day or on different days, and not necessarily the same kind (left numbness and right
//!   tingling count). Pain spreading down both legs counts too: NHS guidance on sciatica sends
//!   sciatica on both sides to A&E.

use chrono::NaiveDate;

use super::days::symptom_reports;
use super::{AlertThresholds, Evidence, Finding, RuleId, lookback, text};
use crate::domain::journal::{Side, Symptom};
use crate::domain::rollup::DailyRollup;

const WHY: &str = "With back pain, this needs checking straight away.";

pub fn cauda_equina_signs(rollups: &[DailyRollup], today: NaiveDate, thresholds: &AlertThresholds) -> Option<Finding> {
    let reports = symptom_reports(rollups, lookback(today, thresholds), |s| {
        matches!(s, Symptom::SaddleNumbness | Symptom::BladderOrBowelChange)
    });
    if reports.is_empty() {
        return None;
    }
    let what = format!("{}. {WHY}", text::symptom_reports(&reports));
    Some(Finding::new(RuleId::CaudaEquinaSigns, symptom_evidence(&reports), &what))
}

pub fn both_legs(rollups: &[DailyRollup], today: NaiveDate, thresholds: &AlertThresholds) -> Option<Finding> {
    let reports = both_legs_reports(rollups, today, thresholds)?;
    let what = format!("{}: symptoms in both legs. {WHY}", text::symptom_reports(&reports));
    Some(Finding::new(RuleId::BothLegs, symptom_evidence(&reports), &what))
}

/// The side of a leg symptom that counts towards `both_legs`.
fn counted_side(symptom: Symptom) -> Option<Side> {
    symptom.leg().map(|(_, side)| side)
}

/// The numbness, tingling and weakness reports of the look-back when they cover both legs.
pub(super) fn both_legs_reports(
    rollups: &[DailyRollup],
    today: NaiveDate,
    thresholds: &AlertThresholds,
) -> Option<Vec<(NaiveDate, Symptom)>> {
    let reports = symptom_reports(rollups, lookback(today, thresholds), |s| counted_side(s).is_some());
    let has = |side: Side| reports.iter().any(|(_, s)| counted_side(*s) == Some(side));
    (has(Side::Left) && has(Side::Right)).then_some(reports)
}

pub(super) fn symptom_evidence(reports: &[(NaiveDate, Symptom)]) -> Vec<Evidence> {
    reports.iter().map(|(date, symptom)| Evidence::Symptom { date: *date, symptom: *symptom }).collect()
}

#[cfg(test)]
mod tests {
    use super::super::Tier;
    use super::super::test_support::*;
    use super::*;

    fn t() -> AlertThresholds {
        AlertThresholds::default()
    }

    #[test]
    fn saddle_numbness_or_bladder_change_is_an_emergency() {
        let rollups = [with(ago(2), 6, &[Symptom::SaddleNumbness]), with(ago(0), 7, &[Symptom::BladderOrBowelChange])];
        let finding = cauda_equina_signs(&rollups, today(), &t()).unwrap();
        assert_eq!((finding.rule, finding.tier), (RuleId::CaudaEquinaSigns, Tier::Emergency));
        assert_eq!(
            finding.evidence,
            [
                Evidence::Symptom { date: ago(2), symptom: Symptom::SaddleNumbness },
                Evidence::Symptom { date: ago(0), symptom: Symptom::BladderOrBowelChange },
            ]
        );
        assert_eq!(
            finding.explanation,
            "Numbness around the genitals, buttocks or inner thighs on 2026-11-19, and a new problem passing urine \
             or controlling the bladder or bowels on 2026-11-21. With back pain, this needs checking straight away. \
             Call emergency services on 112 or go to the nearest emergency department now (NHS, \"Cauda equina \
             syndrome\", https://www.nhs.uk/conditions/cauda-equina-syndrome/; Society of British Neurological \
             Surgeons and British Association of Spine Surgeons, \"Standards of care for investigation and \
             management of cauda equina syndrome\" (2018))."
        );
        assert!(cauda_equina_signs(&[with(ago(0), 2, &[Symptom::Fever])], today(), &t()).is_none());
    }

    #[test]
    fn a_red_flag_keeps_firing_for_the_look_back_only() {
        // Look-back 7: reports dated today-6..=today fire, today-7 no longer does.
        assert!(cauda_equina_signs(&[with(ago(6), 3, &[Symptom::SaddleNumbness])], today(), &t()).is_some());
        assert!(cauda_equina_signs(&[with(ago(7), 3, &[Symptom::SaddleNumbness])], today(), &t()).is_none());
        let shorter = AlertThresholds { symptom_lookback_days: 3, ..t() };
        assert!(cauda_equina_signs(&[with(ago(2), 3, &[Symptom::SaddleNumbness])], today(), &shorter).is_some());
        assert!(cauda_equina_signs(&[with(ago(3), 3, &[Symptom::SaddleNumbness])], today(), &shorter).is_none());
    }

    #[test]
    fn left_and_right_on_the_same_day() {
        let rollups = [with(ago(0), 5, &[Symptom::NumbnessLeftLeg, Symptom::NumbnessRightLeg])];
        let finding = both_legs(&rollups, today(), &t()).unwrap();
        assert_eq!((finding.rule, finding.tier), (RuleId::BothLegs, Tier::Emergency));
        assert_eq!(finding.evidence.len(), 2);
        assert!(
            finding.explanation.starts_with(
                "Numbness in the left leg on 2026-11-21, and numbness in the right leg on 2026-11-21: symptoms in \
                 both legs."
            ),
            "{}",
            finding.explanation
        );
    }

    #[test]
    fn left_and_right_on_different_days_within_the_look_back() {
        // Different kinds count too: left tingling, right weakness six days later.
        let rollups = [with(ago(6), 4, &[Symptom::TinglingLeftLeg]), with(ago(0), 4, &[Symptom::WeaknessRightLeg])];
        let finding = both_legs(&rollups, today(), &t()).unwrap();
        assert_eq!(
            finding.evidence,
            [
                Evidence::Symptom { date: ago(6), symptom: Symptom::TinglingLeftLeg },
                Evidence::Symptom { date: ago(0), symptom: Symptom::WeaknessRightLeg },
            ]
        );
        // The left report one day older has left the look-back.
        let rollups = [with(ago(7), 4, &[Symptom::TinglingLeftLeg]), with(ago(0), 4, &[Symptom::WeaknessRightLeg])];
        assert!(both_legs(&rollups, today(), &t()).is_none());
    }

    #[test]
    fn one_leg_is_not_both_legs_but_radiating_pain_on_both_sides_is() {
        let one_leg = [with(
            ago(0),
            4,
            &[
                Symptom::NumbnessLeftLeg,
                Symptom::TinglingLeftLeg,
                Symptom::WeaknessLeftLeg,
                Symptom::RadiatingPainLeftLeg,
            ],
        )];
        assert!(both_legs(&one_leg, today(), &t()).is_none());
        let radiating = [with(ago(0), 4, &[Symptom::RadiatingPainLeftLeg, Symptom::RadiatingPainRightLeg])];
        assert!(both_legs(&radiating, today(), &t()).is_some());
        let mixed = [with(ago(0), 4, &[Symptom::NumbnessLeftLeg, Symptom::RadiatingPainRightLeg])];
        assert!(both_legs(&mixed, today(), &t()).is_some());
    }
}
