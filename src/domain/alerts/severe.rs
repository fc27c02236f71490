//! `severe_pain` (see a physiotherapist): the worst pain of the day is severe on several recent
//! days. The NHS advises seeing a GP when back pain is "severe or getting worse"; MedBridge
//! Pathways treats pain of 7 or more as critical. `persistent` and `worsening` cannot see this:
//! worst pain of 9 every day for a fortnight neither rises nor waits three weeks.
//!
//! With the defaults, evaluated on `today`: over the last 7 days (`today-6..=today`), at least 3
//! logged days have a worst pain of 8 or more. A day of 7 does not count (the product's reading
//! of "severe" is one point above MedBridge's critical level, so that a bad week of 7s is left to
//! `persistent`); 2 such days do not fire; a day of 8 on `today-7` has left the window. Unlogged
//! days count neither way.

use chrono::NaiveDate;

use super::days::{Period, logged_days};
use super::{AlertThresholds, Evidence, Finding, RuleId, text};
use crate::domain::rollup::DailyRollup;

pub fn severe_pain(rollups: &[DailyRollup], today: NaiveDate, thresholds: &AlertThresholds) -> Option<Finding> {
    let t = thresholds;
    let window = Period::ending(today, t.severe_window_days);
    let logged = logged_days(rollups, window);
    let severe: Vec<_> = logged.iter().filter(|d| d.max >= t.severe_min_daily_max).collect();
    if (severe.len() as u32) < t.severe_min_days {
        return None;
    }
    let dates: Vec<NaiveDate> = severe.iter().map(|d| d.date).collect();
    let what = format!(
        "severe pain: your worst pain was {} or more out of 10 on {} of the last {} days ({}).",
        t.severe_min_daily_max,
        severe.len(),
        t.severe_window_days,
        text::dates(&dates),
    );
    let mut evidence = vec![Evidence::DaysAtOrAbove {
        from: window.from,
        to: window.to,
        min_daily_max: t.severe_min_daily_max,
        days: severe.len() as u32,
        logged_days: logged.len() as u32,
    }];
    evidence.extend(severe.iter().map(|d| Evidence::DailyMax { date: d.date, max: d.max }));
    Some(Finding::new(RuleId::SeverePain, evidence, &what))
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
    fn three_days_of_eight_fire() {
        let rollups = days(&[(6, 8), (3, 9), (0, 8), (1, 2)]);
        let finding = severe_pain(&rollups, today(), &t()).unwrap();
        assert_eq!((finding.rule, finding.tier), (RuleId::SeverePain, Tier::SeePhysio));
        assert_eq!(
            finding.evidence,
            [
                Evidence::DaysAtOrAbove { from: ago(6), to: ago(0), min_daily_max: 8, days: 3, logged_days: 4 },
                Evidence::DailyMax { date: ago(6), max: 8 },
                Evidence::DailyMax { date: ago(3), max: 9 },
                Evidence::DailyMax { date: ago(0), max: 8 },
            ]
        );
        assert!(
            finding.explanation.starts_with(
                "Severe pain: your worst pain was 8 or more out of 10 on 3 of the last 7 days (2026-11-15, 2026-11-18 \
                 and 2026-11-21). Consider booking an appointment with a physiotherapist. If you get numbness \
                 around your bottom or genitals, problems peeing or pooping, or symptoms in both legs, call \
                 emergency services on 112 now ("
            ),
            "{}",
            finding.explanation
        );
        assert!(finding.source.contains("https://www.nhs.uk/conditions/back-pain/"));
        assert!(finding.source.contains("MedBridge"));
    }

    #[test]
    fn seven_is_below_the_threshold_eight_at_it_ten_above() {
        assert!(severe_pain(&days(&[(4, 7), (2, 7), (0, 7)]), today(), &t()).is_none());
        assert!(severe_pain(&days(&[(4, 8), (2, 8), (0, 7)]), today(), &t()).is_none());
        assert!(severe_pain(&days(&[(4, 8), (2, 8), (0, 8)]), today(), &t()).is_some());
        assert!(severe_pain(&days(&[(4, 10), (2, 10), (0, 10)]), today(), &t()).is_some());
    }

    #[test]
    fn two_days_are_below_three_at_four_above() {
        assert!(severe_pain(&days(&[(5, 9), (0, 9)]), today(), &t()).is_none());
        assert!(severe_pain(&days(&[(5, 9), (3, 9), (0, 9)]), today(), &t()).is_some());
        let four = severe_pain(&days(&[(5, 9), (3, 9), (1, 9), (0, 9)]), today(), &t()).unwrap();
        assert_eq!(four.evidence.len(), 1 + 4);
    }

    #[test]
    fn the_window_is_the_last_seven_days() {
        // today-6 is inside, today-7 outside; a day after today does not count.
        assert!(severe_pain(&days(&[(6, 9), (3, 9), (0, 9)]), today(), &t()).is_some());
        assert!(severe_pain(&days(&[(7, 9), (3, 9), (0, 9)]), today(), &t()).is_none());
        let mut late = days(&[(3, 9), (0, 9)]);
        late.push(day(today().succ_opt().unwrap(), 9));
        assert!(severe_pain(&late, today(), &t()).is_none());
        // Eleven days of 9–10 fire, whatever came before.
        let eleven: Vec<DailyRollup> = (0..11).map(|n| day(ago(n), 9 + (n % 2) as u8)).collect();
        assert!(severe_pain(&eleven, today(), &t()).is_some());
    }

    #[test]
    fn thresholds_are_configurable() {
        let strict = AlertThresholds { severe_min_daily_max: 9, severe_min_days: 2, severe_window_days: 3, ..t() };
        assert!(severe_pain(&days(&[(2, 9), (0, 9)]), today(), &strict).is_some());
        assert!(severe_pain(&days(&[(3, 9), (0, 9)]), today(), &strict).is_none());
        assert!(severe_pain(&days(&[(2, 8), (0, 9)]), today(), &strict).is_none());
    }
}
