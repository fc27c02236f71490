//! `soreness_after_massage` (therapist follow-up): soreness that has not eased two days after a
//! massage. Mild soreness for a day or two is normal; more than that, or pain rather than
//! soreness, is something the therapist should hear about.
//!
//! With the defaults, a check-in fires when it was scheduled 48 h or more after the session
//! (`hours_after >= 48`: the 24 h check-in never fires, a later one from a therapist's own plan
//! does), was answered within the look-back, and either
//! - soreness is 7 or more, or
//! - soreness is at least the pain recorded before the session plus 2 (soreness 6 fires when the
//!   pain before was 4 or less). Without a recorded pain before, only the first test applies.

use chrono::NaiveDate;

use super::{AlertThresholds, CheckIn, Evidence, Finding, RuleId, lookback, text};

pub fn soreness_after_massage(
    check_ins: &[CheckIn],
    today: NaiveDate,
    thresholds: &AlertThresholds,
) -> Option<Finding> {
    let window = lookback(today, thresholds);
    let mut sore: Vec<&CheckIn> = check_ins
        .iter()
        .filter(|c| {
            window.contains(c.answered_on)
                && c.hours_after >= thresholds.followup_min_hours_after
                && too_sore(c, thresholds)
        })
        .collect();
    if sore.is_empty() {
        return None;
    }
    sore.sort_by_key(|c| (c.answered_on, c.hours_after));

    let answers: Vec<String> = sore
        .iter()
        .map(|c| {
            let before = c.pain_before.map(|p| format!(", with pain at {p} before the session")).unwrap_or_default();
            format!(
                "soreness {} out of 10 at the {}-hour check-in on {}{before}",
                c.soreness, c.hours_after, c.answered_on
            )
        })
        .collect();
    let what = format!("{}. Soreness after a massage should ease within a day or two.", text::join_and(&answers));
    let evidence = sore.into_iter().map(|c| Evidence::CheckIn(c.clone())).collect();
    Some(Finding::new(RuleId::SorenessAfterMassage, evidence, &what))
}

fn too_sore(check_in: &CheckIn, t: &AlertThresholds) -> bool {
    check_in.soreness >= t.followup_min_soreness
        || check_in.pain_before.is_some_and(|before| {
            u16::from(check_in.soreness) >= u16::from(before) + u16::from(t.followup_soreness_above_pain_before)
        })
}

#[cfg(test)]
mod tests {
    use super::super::Tier;
    use super::super::test_support::*;
    use super::*;

    fn t() -> AlertThresholds {
        AlertThresholds::default()
    }

    fn fires(check_in: CheckIn) -> bool {
        soreness_after_massage(&[check_in], today(), &t()).is_some()
    }

    #[test]
    fn soreness_seven_at_48_hours_fires() {
        let answer = check_in(48, 7, ago(0), None);
        let finding = soreness_after_massage(std::slice::from_ref(&answer), today(), &t()).unwrap();
        assert_eq!((finding.rule, finding.tier), (RuleId::SorenessAfterMassage, Tier::TherapistFollowup));
        assert_eq!(finding.evidence, [Evidence::CheckIn(answer)]);
        assert_eq!(
            finding.explanation,
            format!(
                "Soreness 7 out of 10 at the 48-hour check-in on 2026-11-21. Soreness after a massage should ease \
                 within a day or two. {}",
                advice_tail(RuleId::SorenessAfterMassage)
            )
        );
    }

    #[test]
    fn soreness_six_needs_pain_before_of_four_or_less() {
        assert!(!fires(check_in(48, 6, ago(0), None)));
        assert!(!fires(check_in(48, 6, ago(0), Some(5))));
        assert!(fires(check_in(48, 6, ago(0), Some(4))));
        assert!(fires(check_in(48, 6, ago(0), Some(0))));
        let finding = soreness_after_massage(&[check_in(48, 6, ago(1), Some(4))], today(), &t()).unwrap();
        assert!(
            finding.explanation.starts_with(
                "Soreness 6 out of 10 at the 48-hour check-in on 2026-11-20, with pain at 4 before the session."
            ),
            "{}",
            finding.explanation
        );
        // Low soreness two above a low pain before fires too; one above does not.
        assert!(fires(check_in(48, 3, ago(0), Some(1))));
        assert!(!fires(check_in(48, 3, ago(0), Some(2))));
        // High pain before does not stop soreness 7 from firing.
        assert!(fires(check_in(48, 7, ago(0), Some(9))));
    }

    #[test]
    fn the_24_hour_check_in_does_not_fire() {
        assert!(!fires(check_in(24, 9, ago(0), Some(1))));
        assert!(!fires(check_in(47, 9, ago(0), None)));
        assert!(fires(check_in(72, 7, ago(0), None)));
    }

    #[test]
    fn only_answers_within_the_look_back() {
        assert!(fires(check_in(48, 8, ago(6), None)));
        assert!(!fires(check_in(48, 8, ago(7), None)));
        assert!(!fires(check_in(48, 8, today().succ_opt().unwrap(), None)));
    }

    #[test]
    fn several_sore_check_ins_make_one_finding() {
        let older = CheckIn { session_id: uuid::Uuid::from_u128(1), ..check_in(48, 8, ago(5), None) };
        let newer = check_in(48, 9, ago(1), Some(3));
        let calm = check_in(48, 2, ago(3), Some(3));
        let finding = soreness_after_massage(&[newer.clone(), calm, older.clone()], today(), &t()).unwrap();
        assert_eq!(finding.evidence, [Evidence::CheckIn(older), Evidence::CheckIn(newer)]);
        assert!(finding.explanation.starts_with(
            "Soreness 8 out of 10 at the 48-hour check-in on 2026-11-16 and soreness 9 out of 10 at the 48-hour \
             check-in on 2026-11-20, with pain at 3 before the session."
        ));
    }
}
