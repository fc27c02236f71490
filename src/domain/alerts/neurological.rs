//! `neurological` (see a physiotherapist): numbness, tingling, weakness or pain spreading down a
//! leg reported within the look-back (NHS: back pain with these symptoms should be checked).
//!
//! It does not fire while `both_legs` fires: numbness, tingling or weakness in both legs is an
//! emergency, and a "see a physiotherapist" message beside "go to A&E now" about the same
//! symptoms would undercut it. Radiating pain in both legs without numbness, tingling or weakness
//! does not make `both_legs` fire, so it fires here. When one side's report leaves the look-back
//! and only one leg remains, `both_legs` stops and this rule takes over.

use chrono::NaiveDate;

use super::days::symptom_reports;
use super::emergency::{both_legs_reports, symptom_evidence};
use super::{AlertThresholds, Finding, RuleId, lookback, text};
use crate::domain::rollup::DailyRollup;

pub fn neurological(rollups: &[DailyRollup], today: NaiveDate, thresholds: &AlertThresholds) -> Option<Finding> {
    if both_legs_reports(rollups, today, thresholds).is_some() {
        return None;
    }
    let reports = symptom_reports(rollups, lookback(today, thresholds), |s| s.leg().is_some());
    if reports.is_empty() {
        return None;
    }
    let what = format!(
        "{}. Back pain with numbness, tingling, weakness or pain spreading down a leg should be checked.",
        text::symptom_reports(&reports)
    );
    Some(Finding::new(RuleId::Neurological, symptom_evidence(&reports), &what))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::{Evidence, Tier, both_legs, evaluate};
    use super::*;
    use crate::domain::journal::Symptom;

    fn t() -> AlertThresholds {
        AlertThresholds::default()
    }

    #[test]
    fn one_leg_tingling_is_see_physio() {
        let rollups = [with(ago(2), 3, &[Symptom::TinglingLeftLeg])];
        let finding = neurological(&rollups, today(), &t()).unwrap();
        assert_eq!((finding.rule, finding.tier), (RuleId::Neurological, Tier::SeePhysio));
        assert_eq!(finding.evidence, [Evidence::Symptom { date: ago(2), symptom: Symptom::TinglingLeftLeg }]);
        assert_eq!(
            finding.explanation,
            format!(
                "Tingling in the left leg on 2026-11-19. Back pain with numbness, tingling, weakness or pain \
                 spreading down a leg should be checked. {}",
                advice_tail(RuleId::Neurological)
            )
        );
        let findings = evaluate(&rollups, &[], today(), &t());
        assert_eq!(findings.iter().map(|f| f.rule).collect::<Vec<_>>(), [RuleId::Neurological]);
    }

    #[test]
    fn every_kind_of_leg_symptom_counts() {
        for symptom in Symptom::ALL.iter().filter(|s| s.leg().is_some()) {
            assert!(neurological(&[with(ago(0), 3, &[*symptom])], today(), &t()).is_some(), "{symptom:?}");
        }
        assert!(neurological(&[with(ago(0), 3, &[Symptom::Fever])], today(), &t()).is_none());
    }

    #[test]
    fn both_legs_numb_is_an_emergency_instead() {
        let rollups = [with(ago(1), 6, &[Symptom::NumbnessLeftLeg, Symptom::NumbnessRightLeg])];
        assert!(neurological(&rollups, today(), &t()).is_none());
        let findings = evaluate(&rollups, &[], today(), &t());
        assert_eq!(findings.iter().map(|f| f.rule).collect::<Vec<_>>(), [RuleId::BothLegs]);
        assert_eq!(findings[0].tier, Tier::Emergency);
    }

    #[test]
    fn radiating_pain_in_both_legs_is_an_emergency_instead() {
        let rollups = [with(ago(1), 6, &[Symptom::RadiatingPainLeftLeg, Symptom::RadiatingPainRightLeg])];
        assert!(both_legs(&rollups, today(), &t()).is_some());
        assert!(neurological(&rollups, today(), &t()).is_none());
        let one_side = [with(ago(1), 6, &[Symptom::RadiatingPainLeftLeg])];
        let finding = neurological(&one_side, today(), &t()).unwrap();
        assert!(
            finding.explanation.starts_with("Pain spreading down the left leg on 2026-11-20"),
            "{}",
            finding.explanation
        );
    }

    #[test]
    fn takes_over_when_one_side_leaves_the_look_back() {
        let rollups = [with(ago(6), 4, &[Symptom::WeaknessLeftLeg]), with(ago(0), 4, &[Symptom::WeaknessRightLeg])];
        assert!(neurological(&rollups, today(), &t()).is_none());
        let tomorrow = today().succ_opt().unwrap();
        assert!(both_legs(&rollups, tomorrow, &t()).is_none());
        let finding = neurological(&rollups, tomorrow, &t()).unwrap();
        assert_eq!(finding.evidence, [Evidence::Symptom { date: ago(0), symptom: Symptom::WeaknessRightLeg }]);
    }

    #[test]
    fn an_old_report_no_longer_fires() {
        assert!(neurological(&[with(ago(6), 3, &[Symptom::TinglingRightLeg])], today(), &t()).is_some());
        assert!(neurological(&[with(ago(7), 3, &[Symptom::TinglingRightLeg])], today(), &t()).is_none());
    }
}
