//! Urgent tier: red flags that need a doctor the same day ("get medical help today"; NHS red
//! flags for back pain). Each fires when its journal symptom is reported within the look-back.
//!
//! `leg_swelling` also fires on a check-in answer reporting a swollen, red, warm or painful leg (any
//! check-in, 24 h or 48 h, answered within the look-back). A journal report fires it too, whether
//! or not a massage came before: the journal does not say, and a swollen, red, warm leg needs a
//! doctor either way (after a massage it can be a blood clot, which is why the aftercare
//! check-ins ask). Its advice follows the NHS DVT page: medical help today, and emergency
//! services at once with breathlessness, chest pain or coughing up blood (a clot in the lungs).

use chrono::NaiveDate;

use super::days::symptom_reports;
use super::emergency::symptom_evidence;
use super::{AlertThresholds, CheckIn, Evidence, Finding, RuleId, lookback, text};
use crate::domain::journal::Symptom;
use crate::domain::rollup::DailyRollup;

const WHY: &str = "With back pain, this should be checked by a doctor.";

pub fn fever(rollups: &[DailyRollup], today: NaiveDate, thresholds: &AlertThresholds) -> Option<Finding> {
    symptom_rule(RuleId::Fever, Symptom::Fever, rollups, today, thresholds)
}

pub fn unexplained_weight_loss(
    rollups: &[DailyRollup],
    today: NaiveDate,
    thresholds: &AlertThresholds,
) -> Option<Finding> {
    symptom_rule(RuleId::UnexplainedWeightLoss, Symptom::UnexplainedWeightLoss, rollups, today, thresholds)
}

pub fn night_pain(rollups: &[DailyRollup], today: NaiveDate, thresholds: &AlertThresholds) -> Option<Finding> {
    symptom_rule(RuleId::NightPain, Symptom::NightPainNotEasedByRest, rollups, today, thresholds)
}

pub fn pain_after_fall(rollups: &[DailyRollup], today: NaiveDate, thresholds: &AlertThresholds) -> Option<Finding> {
    symptom_rule(RuleId::PainAfterFall, Symptom::PainAfterFallOrAccident, rollups, today, thresholds)
}

fn symptom_rule(
    rule: RuleId,
    symptom: Symptom,
    rollups: &[DailyRollup],
    today: NaiveDate,
    thresholds: &AlertThresholds,
) -> Option<Finding> {
    let reports = symptom_reports(rollups, lookback(today, thresholds), |s| s == symptom);
    if reports.is_empty() {
        return None;
    }
    let what = format!("{}. {WHY}", text::symptom_reports(&reports));
    Some(Finding::new(rule, symptom_evidence(&reports), &what))
}

pub fn leg_swelling(
    rollups: &[DailyRollup],
    check_ins: &[CheckIn],
    today: NaiveDate,
    thresholds: &AlertThresholds,
) -> Option<Finding> {
    let window = lookback(today, thresholds);
    let reports = symptom_reports(rollups, window, |s| s == Symptom::LegSwellingRednessWarmth);
    let mut answers: Vec<&CheckIn> =
        check_ins.iter().filter(|c| c.leg_swelling_redness_warmth && window.contains(c.answered_on)).collect();
    if reports.is_empty() && answers.is_empty() {
        return None;
    }
    answers.sort_by_key(|c| (c.answered_on, c.hours_after));

    let mut parts = Vec::new();
    if !reports.is_empty() {
        parts.push(text::symptom_reports(&reports));
    }
    for answer in &answers {
        parts.push(format!(
            "a swollen, red, warm or painful leg at the {}-hour check-in after a massage, answered on {}",
            answer.hours_after, answer.answered_on
        ));
    }
    let what = format!(
        "{}. This can be a blood clot (deep vein thrombosis), more so after a massage, and needs checking \
         today.",
        parts.join("; ")
    );

    let mut dated: Vec<(NaiveDate, Evidence)> =
        reports.iter().map(|(date, symptom)| (*date, Evidence::Symptom { date: *date, symptom: *symptom })).collect();
    dated.extend(answers.iter().map(|c| (c.answered_on, Evidence::CheckIn((*c).clone()))));
    dated.sort_by_key(|(date, _)| *date);
    Some(Finding::new(RuleId::LegSwelling, dated.into_iter().map(|(_, e)| e).collect(), &what))
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
    fn each_red_flag_symptom_fires_its_own_rule() {
        type Rule = fn(&[DailyRollup], NaiveDate, &AlertThresholds) -> Option<Finding>;
        let cases: [(Symptom, RuleId, Rule); 4] = [
            (Symptom::Fever, RuleId::Fever, fever),
            (Symptom::UnexplainedWeightLoss, RuleId::UnexplainedWeightLoss, unexplained_weight_loss),
            (Symptom::NightPainNotEasedByRest, RuleId::NightPain, night_pain),
            (Symptom::PainAfterFallOrAccident, RuleId::PainAfterFall, pain_after_fall),
        ];
        for (symptom, rule, check) in cases {
            let rollups = [with(ago(1), 5, &[symptom])];
            let finding = check(&rollups, today(), &t()).unwrap();
            assert_eq!((finding.rule, finding.tier), (rule, Tier::Urgent));
            assert_eq!(finding.evidence, [Evidence::Symptom { date: ago(1), symptom }]);
            assert!(finding.explanation.contains("on 2026-11-20. With back pain"), "{}", finding.explanation);
            assert!(finding.explanation.ends_with(&advice_tail(rule)), "{}", finding.explanation);
            assert!(finding.explanation.contains("Get medical help today: contact a doctor (NHS, \"Back pain\""));
            // Another symptom does not fire it; an old report does not either.
            assert!(check(&[with(ago(1), 5, &[Symptom::TinglingLeftLeg])], today(), &t()).is_none());
            assert!(check(&[with(ago(7), 5, &[symptom])], today(), &t()).is_none());
            assert!(check(&[with(ago(6), 5, &[symptom])], today(), &t()).is_some());
        }
        let finding = fever(&[with(ago(3), 5, &[Symptom::Fever]), with(ago(1), 4, &[Symptom::Fever])], today(), &t());
        assert!(finding.unwrap().explanation.starts_with("A fever on 2026-11-18 and 2026-11-20."));
    }

    #[test]
    fn leg_swelling_from_the_journal() {
        let rollups = [with(ago(0), 3, &[Symptom::LegSwellingRednessWarmth])];
        let finding = leg_swelling(&rollups, &[], today(), &t()).unwrap();
        assert_eq!((finding.rule, finding.tier), (RuleId::LegSwelling, Tier::Urgent));
        assert_eq!(
            finding.explanation,
            "A swollen, red, warm or painful leg on 2026-11-21. This can be a blood clot (deep vein thrombosis), \
             more so after a massage, and needs checking today. Get medical help today: contact a doctor. Call \
             emergency services on 112 at once if you become breathless, have chest pain or cough up blood (NHS, \
             \"DVT (deep vein thrombosis)\", https://www.nhs.uk/conditions/deep-vein-thrombosis/; NHS, \"Back \
             pain\", https://www.nhs.uk/conditions/back-pain/)."
        );
    }

    #[test]
    fn leg_swelling_from_a_check_in() {
        let swollen = CheckIn { leg_swelling_redness_warmth: true, ..check_in(24, 2, ago(1), Some(4)) };
        let finding = leg_swelling(&[], std::slice::from_ref(&swollen), today(), &t()).unwrap();
        assert_eq!(finding.evidence, [Evidence::CheckIn(swollen.clone())]);
        assert!(finding.explanation.starts_with(
            "A swollen, red, warm or painful leg at the 24-hour check-in after a massage, answered on 2026-11-20."
        ));
        // Not swollen, or answered before the look-back: nothing.
        assert!(leg_swelling(&[], &[check_in(24, 9, ago(0), None)], today(), &t()).is_none());
        let old = CheckIn { answered_on: ago(7), ..swollen.clone() };
        assert!(leg_swelling(&[], &[old], today(), &t()).is_none());
        // Journal and check-in together: one finding, evidence by date.
        let rollups = [with(ago(0), 3, &[Symptom::LegSwellingRednessWarmth])];
        let finding = leg_swelling(&rollups, std::slice::from_ref(&swollen), today(), &t()).unwrap();
        assert_eq!(
            finding.evidence,
            [
                Evidence::CheckIn(swollen),
                Evidence::Symptom { date: ago(0), symptom: Symptom::LegSwellingRednessWarmth }
            ]
        );
    }
}
