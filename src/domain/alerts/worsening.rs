//! `worsening` (see a physiotherapist): this week's pain is clearly above last week's (NHS: see
//! a GP or physiotherapist when back pain is "severe or getting worse").
//!
//! With the defaults, evaluated on `today`: the last week is `today-6..=today`, the previous week
//! `today-13..=today-7`; each needs at least 4 logged days; each week's value is the median of its
//! logged days' worst pain; the rule fires when the last week's median is at least the previous
//! week's plus 2 points (a rise of exactly 2 fires, 1.5 does not). Medians may be half points
//! and are compared exactly.

use chrono::NaiveDate;

use super::days::{Period, WEEK, logged_days, median_x2};
use super::{AlertThresholds, Evidence, Finding, RuleId, text};
use crate::domain::rollup::DailyRollup;

pub fn worsening(rollups: &[DailyRollup], today: NaiveDate, thresholds: &AlertThresholds) -> Option<Finding> {
    let t = thresholds;
    let last_week = Period::ending(today, WEEK);
    let previous_week = last_week.preceding(WEEK);
    let (last, previous) = (logged_days(rollups, last_week), logged_days(rollups, previous_week));
    let min_days = t.worsening_min_logged_days_per_week.max(t.min_logged_days_per_week) as usize;
    if last.len() < min_days || previous.len() < min_days {
        return None;
    }
    let (last_x2, previous_x2) = (median_x2(&last)?, median_x2(&previous)?);
    if last_x2 < previous_x2 + 2 * u32::from(t.worsening_min_rise_points) {
        return None;
    }

    let what = format!(
        "pain is getting worse: the median worst pain rose from {} over the previous 7 days ({} logged) to {} over \
         the last 7 days ({} logged), up {} points.",
        text::half_points(previous_x2),
        previous.len(),
        text::half_points(last_x2),
        last.len(),
        text::half_points(last_x2 - previous_x2),
    );
    let mut evidence = vec![
        Evidence::median(previous_week.from, previous_week.to, previous.len(), Some(previous_x2)),
        Evidence::median(last_week.from, last_week.to, last.len(), Some(last_x2)),
    ];
    evidence.extend(previous.iter().chain(&last).map(|d| Evidence::DailyMax { date: d.date, max: d.max }));
    Some(Finding::new(RuleId::Worsening, evidence, &what))
}

#[cfg(test)]
mod tests {
    use super::super::Tier;
    use super::super::test_support::*;
    use super::*;

    fn t() -> AlertThresholds {
        AlertThresholds::default()
    }

    /// The previous week logged on `today-13`, `-11`, `-9`, `-7` at `before`, the last week on
    /// `today-6`, `-4`, `-2`, `today` at `now`.
    fn two_weeks(before: u8, now: u8) -> Vec<DailyRollup> {
        days(&[(13, before), (11, before), (9, before), (7, before), (6, now), (4, now), (2, now), (0, now)])
    }

    #[test]
    fn two_points_up_fires() {
        let finding = worsening(&two_weeks(4, 6), today(), &t()).unwrap();
        assert_eq!((finding.rule, finding.tier), (RuleId::Worsening, Tier::SeePhysio));
        assert_eq!(
            finding.explanation,
            format!(
                "Pain is getting worse: the median worst pain rose from 4 over the previous 7 days (4 logged) to 6 \
                 over the last 7 days (4 logged), up 2 points. {}",
                advice_tail(RuleId::Worsening)
            )
        );
        assert_eq!(
            finding.evidence[..2],
            [
                Evidence::MedianDailyMax {
                    from: date("2026-11-08"),
                    to: date("2026-11-14"),
                    logged_days: 4,
                    median: Some(4.0)
                },
                Evidence::MedianDailyMax {
                    from: date("2026-11-15"),
                    to: date("2026-11-21"),
                    logged_days: 4,
                    median: Some(6.0)
                },
            ]
        );
        assert_eq!(finding.evidence.len(), 2 + 8);
        assert_eq!(finding.evidence[2], Evidence::DailyMax { date: ago(13), max: 4 });
        assert_eq!(finding.evidence[9], Evidence::DailyMax { date: ago(0), max: 6 });
    }

    #[test]
    fn one_point_up_does_not() {
        assert!(worsening(&two_weeks(4, 5), today(), &t()).is_none());
        assert!(worsening(&two_weeks(4, 4), today(), &t()).is_none());
        assert!(worsening(&two_weeks(6, 4), today(), &t()).is_none());
        assert!(worsening(&two_weeks(4, 7), today(), &t()).is_some());
    }

    #[test]
    fn half_points_are_exact() {
        // Previous 3, 3, 4, 4 (median 3.5); last 5, 5, 6, 6 (median 5.5): exactly +2.
        let rollups = days(&[(13, 3), (11, 3), (9, 4), (7, 4), (6, 5), (4, 5), (2, 6), (0, 6)]);
        let finding = worsening(&rollups, today(), &t()).unwrap();
        assert!(finding.explanation.contains("rose from 3.5 over the previous 7 days (4 logged) to 5.5"));
        // Last 5, 5, 5, 6 (median 5): +1.5.
        let rollups = days(&[(13, 3), (11, 3), (9, 4), (7, 4), (6, 5), (4, 5), (2, 5), (0, 6)]);
        assert!(worsening(&rollups, today(), &t()).is_none());
    }

    #[test]
    fn each_week_needs_four_logged_days() {
        let mut three_last = two_weeks(4, 7);
        three_last.retain(|d| d.date != ago(0));
        assert!(worsening(&three_last, today(), &t()).is_none());
        let mut three_previous = two_weeks(4, 7);
        three_previous.retain(|d| d.date != ago(13));
        assert!(worsening(&three_previous, today(), &t()).is_none());
        // Days outside the two weeks do not fill in.
        three_previous.push(day(ago(14), 4));
        assert!(worsening(&three_previous, today(), &t()).is_none());
        // Five in a week is fine.
        let mut five = two_weeks(4, 7);
        five.push(day(ago(1), 7));
        assert!(worsening(&five, today(), &t()).is_some());
    }
}
