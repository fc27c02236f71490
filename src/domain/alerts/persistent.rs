//! `persistent` (see a physiotherapist): back pain most days for weeks, not improving (NHS: see
//! a GP or physiotherapist when back pain is "not improving after a few weeks").
//!
//! With the defaults, evaluated on `today`:
//! - the window is the 21 calendar days `today-20..=today`; at least 12 of them must be logged;
//! - at least 70% of the logged days must have a worst pain (daily max) of 4 or more, compared
//!   exactly: `days * 100 >= 70 * logged` (15 of 18 = 83% fires; 9 of 12 fires, 8 of 12 does not);
//! - the first week is the logged days dated in the window's first 7 calendar days
//!   (`today-20..=today-14`), the last week those in its last 7 (`today-6..=today`); each week's
//!   value is the median of its logged days' worst pain;
//! - an improvement cancels the rule: the last week's median is below the first week's by at
//!   least 2 points, or by at least 30% of the first week's median (`drop * 100 >= 30 * first`).
//!   A drop of zero is never an improvement.
//! - a week (first or last) with fewer than 3 logged days (`min_logged_days_per_week`) is not
//!   enough data: the rule does not fire, and its silence is not read as recovery either (see
//!   the lifecycle).

use chrono::NaiveDate;

use super::days::{Day, Period, WEEK, logged_days, median_x2};
use super::{AlertThresholds, Evidence, Finding, RuleId, text};
use crate::domain::rollup::DailyRollup;

pub fn persistent(rollups: &[DailyRollup], today: NaiveDate, thresholds: &AlertThresholds) -> Option<Finding> {
    let t = thresholds;
    let window = Period::ending(today, t.persistent_window_days);
    let days = logged_days(rollups, window);
    let logged = days.len() as u32;
    if logged < t.persistent_min_logged_days {
        return None;
    }
    let qualifying: Vec<&Day> = days.iter().filter(|d| d.max >= t.persistent_min_daily_max).collect();
    let count = qualifying.len() as u32;
    if u64::from(count) * 100 < u64::from(t.persistent_min_share_percent) * u64::from(logged) {
        return None;
    }

    let first_week = Period::starting(window.from, WEEK);
    let last_week = Period::ending(today, WEEK);
    let in_week = |week: Period| days.iter().filter(|d| week.contains(d.date)).cloned().collect::<Vec<Day>>();
    let (first, last) = (in_week(first_week), in_week(last_week));
    // A week with too few logged days is not enough data: an empty last week is not "pain
    // unchanged", and one logged day is not a median.
    let min_days = t.min_logged_days_per_week as usize;
    if first.len() < min_days || last.len() < min_days {
        return None;
    }
    let (first_median, last_median) = (median_x2(&first), median_x2(&last));
    let (Some(first_x2), Some(last_x2)) = (first_median, last_median) else { return None };
    if improved(first_x2, last_x2, t) {
        return None;
    }

    let not_improving = format!(
        "the median worst pain was {} in the first week and {} in the last week",
        text::half_points(first_x2),
        text::half_points(last_x2)
    );
    let what = format!(
        "pain at {} or more on {count} of {logged} logged days ({}%) in the last {}, and not improving: {not_improving}.",
        t.persistent_min_daily_max,
        text::percent(count, logged),
        text::span(t.persistent_window_days),
    );

    let mut evidence = vec![
        Evidence::DaysAtOrAbove {
            from: window.from,
            to: window.to,
            min_daily_max: t.persistent_min_daily_max,
            days: count,
            logged_days: logged,
        },
        Evidence::median(first_week.from, first_week.to, first.len(), first_median),
        Evidence::median(last_week.from, last_week.to, last.len(), last_median),
    ];
    evidence.extend(qualifying.iter().map(|d| Evidence::DailyMax { date: d.date, max: d.max }));
    Some(Finding::new(RuleId::Persistent, evidence, &what))
}

/// Whether the median fell from `first_x2` to `last_x2` (both doubled) by the configured points or
/// percentage of the first.
fn improved(first_x2: u32, last_x2: u32, t: &AlertThresholds) -> bool {
    let drop_x2 = first_x2.saturating_sub(last_x2);
    drop_x2 > 0
        && (drop_x2 >= 2 * u32::from(t.persistent_improvement_points)
            || u64::from(drop_x2) * 100 >= u64::from(t.persistent_improvement_percent) * u64::from(first_x2))
}

#[cfg(test)]
mod tests {
    use super::super::Tier;
    use super::super::test_support::*;
    use super::*;

    fn t() -> AlertThresholds {
        AlertThresholds::default()
    }

    /// 18 logged days in 3 weeks (2026-11-04, -11 and -18 unlogged), pain 5 but 2 on one day a
    /// week (2026-11-02, -09 and -16): 15 of 18 days at 4 or more. `first` and `last` replace the
    /// 5s of the first and last week.
    fn eighteen_days(first: u8, last: u8) -> Vec<DailyRollup> {
        let mut pairs = Vec::new();
        for n in (0..=20).rev() {
            let max = match n {
                17 | 10 | 3 => continue,
                19 | 12 | 5 => 2,
                14..=20 => first,
                0..=6 => last,
                _ => 5,
            };
            pairs.push((n, max));
        }
        days(&pairs)
    }

    #[test]
    fn fifteen_of_eighteen_days_fires_and_names_the_numbers() {
        let finding = persistent(&eighteen_days(5, 5), today(), &t()).unwrap();
        assert_eq!((finding.rule, finding.tier), (RuleId::Persistent, Tier::SeePhysio));
        assert_eq!(
            finding.explanation,
            format!(
                "Pain at 4 or more on 15 of 18 logged days (83%) in the last 3 weeks, and not improving: the median \
                 worst pain was 5 in the first week and 5 in the last week. {}",
                advice_tail(RuleId::Persistent)
            )
        );
        assert_eq!(
            finding.evidence[..3],
            [
                Evidence::DaysAtOrAbove {
                    from: date("2026-11-01"),
                    to: date("2026-11-21"),
                    min_daily_max: 4,
                    days: 15,
                    logged_days: 18
                },
                Evidence::MedianDailyMax {
                    from: date("2026-11-01"),
                    to: date("2026-11-07"),
                    logged_days: 6,
                    median: Some(5.0)
                },
                Evidence::MedianDailyMax {
                    from: date("2026-11-15"),
                    to: date("2026-11-21"),
                    logged_days: 6,
                    median: Some(5.0)
                },
            ]
        );
        let qualifying = &finding.evidence[3..];
        assert_eq!(qualifying.len(), 15);
        assert_eq!(qualifying[0], Evidence::DailyMax { date: date("2026-11-01"), max: 5 });
        assert_eq!(qualifying[14], Evidence::DailyMax { date: date("2026-11-21"), max: 5 });
        assert!(!qualifying.contains(&Evidence::DailyMax { date: date("2026-11-02"), max: 2 }));
    }

    #[test]
    fn two_points_better_cancels_it_one_point_does_not() {
        // First week median 8, last week 6: 2 points (25%) better.
        assert!(persistent(&eighteen_days(8, 6), today(), &t()).is_none());
        // 8 to 7: 1 point, 12.5%.
        let finding = persistent(&eighteen_days(8, 7), today(), &t()).unwrap();
        assert!(
            finding.explanation.contains("was 8 in the first week and 7 in the last week"),
            "{}",
            finding.explanation
        );
        // Getting worse never cancels it.
        assert!(persistent(&eighteen_days(5, 9), today(), &t()).is_some());
    }

    #[test]
    fn thirty_percent_better_cancels_it() {
        // First week 5, 5, 5, 5, 5, 5 (median 5); last week 4, 4, 4, 3, 3, 3 (median 3.5):
        // 1.5 points is exactly 30% of 5. 15 of 18 days are still at 4 or more.
        let mut rollups = days(&[(20, 5), (19, 5), (18, 5), (16, 5), (15, 5), (14, 5)]);
        rollups.extend(days(&[(13, 5), (12, 5), (11, 5), (9, 5), (8, 5), (7, 5)]));
        let last = |pains: [u8; 6]| days(&[0, 1, 2, 4, 5, 6].into_iter().zip(pains).collect::<Vec<_>>());
        let thirty: Vec<DailyRollup> = rollups.iter().cloned().chain(last([4, 4, 4, 3, 3, 3])).collect();
        assert!(persistent(&thirty, today(), &t()).is_none());
        // 4, 4, 4, 4, 3, 3 (median 4): 1 point, 20%.
        let twenty: Vec<DailyRollup> = rollups.iter().cloned().chain(last([4, 4, 4, 4, 3, 3])).collect();
        let finding = persistent(&twenty, today(), &t()).unwrap();
        assert!(finding.explanation.contains("16 of 18 logged days (88%)"), "{}", finding.explanation);
        assert!(finding.explanation.contains("was 5 in the first week and 4 in the last week"));
    }

    /// 12 logged days at pain 5: four in the first week, three in the middle, five in the last.
    const TWELVE: [i64; 12] = [20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 1, 0];

    #[test]
    fn needs_twelve_logged_days() {
        let twelve = days(&TWELVE.map(|n| (n, 5)));
        let finding = persistent(&twelve, today(), &t()).unwrap();
        assert!(finding.explanation.contains("on 12 of 12 logged days (100%)"));
        let eleven: Vec<DailyRollup> = twelve.iter().filter(|d| d.date != ago(8)).cloned().collect();
        assert!(persistent(&eleven, today(), &t()).is_none());
        // A day just before the window does not make up for it.
        let with_older: Vec<DailyRollup> = eleven.iter().cloned().chain([day(ago(21), 5)]).collect();
        assert!(persistent(&with_older, today(), &t()).is_none());
        // Thirteen is fine too.
        let thirteen: Vec<DailyRollup> = twelve.iter().cloned().chain([day(ago(9), 5)]).collect();
        assert!(persistent(&thirteen, today(), &t()).is_some());
    }

    #[test]
    fn seventy_percent_is_compared_exactly() {
        // 12 logged days: 70% is 8.4 days, so 9 are needed.
        let mut nine = days(&TWELVE.map(|n| (n, 5)));
        for d in nine.iter_mut().filter(|d| [ago(12), ago(10), ago(8)].contains(&d.date)) {
            d.max = 2;
        }
        let finding = persistent(&nine, today(), &t()).unwrap();
        assert!(finding.explanation.contains("on 9 of 12 logged days (75%)"), "{}", finding.explanation);
        let mut eight = nine.clone();
        eight.iter_mut().find(|d| d.date == ago(4)).unwrap().max = 2;
        assert!(persistent(&eight, today(), &t()).is_none(), "8 of 12 is 66%");

        // 20 logged days (2026-11-11 unlogged), the middle week's six at pain 3: 14 of 20 is
        // exactly 70%.
        let twenty: Vec<DailyRollup> =
            (0..=20).filter(|n| *n != 10).map(|n| day(ago(n), if (7..=13).contains(&n) { 3 } else { 5 })).collect();
        let finding = persistent(&twenty, today(), &t()).unwrap();
        assert!(finding.explanation.contains("on 14 of 20 logged days (70%)"), "{}", finding.explanation);
        // One day fewer at 4 or more: 13 of 20 is 65%.
        let mut thirteen = twenty.clone();
        thirteen.iter_mut().find(|d| d.date == ago(20)).unwrap().max = 3;
        assert!(persistent(&thirteen, today(), &t()).is_none());
    }

    #[test]
    fn four_counts_three_does_not() {
        let fours = days(&TWELVE.map(|n| (n, 4)));
        assert!(persistent(&fours, today(), &t()).is_some());
        let threes = days(&TWELVE.map(|n| (n, 3)));
        assert!(persistent(&threes, today(), &t()).is_none());
    }

    #[test]
    fn a_first_week_with_too_few_logged_days_is_not_enough_data() {
        // Two weeks of logging only (today-13..=today) at pain 6: 14 logged days, all at 4 or
        // more, but the window's first week (2026-11-01..=07) has nothing to compare with.
        let rollups: Vec<DailyRollup> = (0..=13).map(|n| day(ago(n), 6)).collect();
        assert!(persistent(&rollups, today(), &t()).is_none());
        // Two logged days in the first week (below 3): still not enough.
        let mut two = rollups.clone();
        two.extend([day(ago(20), 6), day(ago(19), 6)]);
        assert!(persistent(&two, today(), &t()).is_none());
        // Three (the threshold): the rule can fire.
        let mut three = two.clone();
        three.push(day(ago(18), 6));
        let finding = persistent(&three, today(), &t()).unwrap();
        assert_eq!(
            finding.evidence[1],
            Evidence::MedianDailyMax {
                from: date("2026-11-01"),
                to: date("2026-11-07"),
                logged_days: 3,
                median: Some(6.0)
            }
        );
        // Four (above) too.
        let mut four = three.clone();
        four.push(day(ago(17), 6));
        assert!(persistent(&four, today(), &t()).is_some());
        // The minimum follows the setting.
        let two_suffice = AlertThresholds { min_logged_days_per_week: 2, ..t() };
        assert!(persistent(&two, today(), &two_suffice).is_some());
    }

    #[test]
    fn an_empty_or_thin_last_week_is_not_enough_data() {
        // The patient stopped logging a week ago with pain unchanged: no finding either way.
        let rollups: Vec<DailyRollup> = (7..=20).map(|n| day(ago(n), 6)).collect();
        assert!(persistent(&rollups, today(), &t()).is_none());
        let mut two = rollups.clone();
        two.extend([day(ago(3), 6), day(ago(1), 6)]);
        assert!(persistent(&two, today(), &t()).is_none(), "two logged days are below three");
        let mut three = two.clone();
        three.push(day(ago(0), 6));
        assert!(persistent(&three, today(), &t()).is_some(), "three are enough");
    }

    #[test]
    fn improvement_arithmetic() {
        let t = t();
        // Doubled medians: 10 = 5, 7 = 3.5.
        assert!(improved(10, 7, &t), "1.5 of 5 is 30%");
        assert!(!improved(10, 8, &t), "1 of 5 is 20%");
        assert!(improved(16, 12, &t), "2 points of 8 is 25%");
        assert!(!improved(16, 14, &t));
        assert!(!improved(0, 0, &t), "no drop is no improvement");
        assert!(!improved(6, 8, &t));
        assert!(improved(3, 2, &t), "0.5 of 1.5 is 33%");
    }

    #[test]
    fn configurable_window() {
        // A 28-day window starts on 2026-10-25: its first week has no logged day.
        let t = AlertThresholds { persistent_window_days: 28, ..t() };
        assert!(persistent(&eighteen_days(5, 5), today(), &t).is_none());
        let mut longer = eighteen_days(5, 5);
        longer.extend([day(ago(27), 5), day(ago(25), 5), day(ago(23), 5)]);
        let finding = persistent(&longer, today(), &t).unwrap();
        assert!(finding.explanation.contains("in the last 4 weeks"));
    }
}
