//! Calendar windows over the daily roll-ups, and exact medians.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{NaiveDate, TimeDelta};

use crate::domain::journal::Symptom;
use crate::domain::rollup::DailyRollup;

/// The weeks the trend rules compare are 7 calendar days.
pub(super) const WEEK: u32 = 7;

/// An inclusive run of local calendar days; empty when `from > to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Period {
    /// The `days` calendar days ending on `to`, inclusive (`days` 21 on the 21st: the 1st to the 21st).
    pub fn ending(to: NaiveDate, days: u32) -> Self {
        let from = to.checked_sub_signed(TimeDelta::days(i64::from(days) - 1)).unwrap_or(NaiveDate::MIN);
        Self { from, to }
    }

    /// The `days` calendar days starting on `from`, inclusive.
    pub fn starting(from: NaiveDate, days: u32) -> Self {
        let to = from.checked_add_signed(TimeDelta::days(i64::from(days) - 1)).unwrap_or(NaiveDate::MAX);
        Self { from, to }
    }

    /// The `days` calendar days just before this period.
    pub fn preceding(self, days: u32) -> Self {
        Self::ending(self.from.pred_opt().unwrap_or(NaiveDate::MIN), days)
    }

    pub fn contains(self, date: NaiveDate) -> bool {
        self.from <= date && date <= self.to
    }
}

/// One logged local day as the rules see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Day {
    pub date: NaiveDate,
    pub max: u8,
    pub symptoms: BTreeSet<Symptom>,
}

/// The logged days of `period`, oldest first. Roll-ups outside the period (including any dated
/// after the evaluation date) are ignored; two roll-ups for one date are merged (worst pain of
/// both, union of symptoms), so a day is never counted twice.
pub(super) fn logged_days(rollups: &[DailyRollup], period: Period) -> Vec<Day> {
    let mut days: BTreeMap<NaiveDate, Day> = BTreeMap::new();
    for rollup in rollups.iter().filter(|r| period.contains(r.date)) {
        let day =
            days.entry(rollup.date).or_insert_with(|| Day { date: rollup.date, max: 0, symptoms: BTreeSet::new() });
        day.max = day.max.max(rollup.max);
        day.symptoms.extend(rollup.symptoms.iter().copied());
    }
    days.into_values().collect()
}

/// Each (date, symptom) of `period` for which `wanted` holds, by date then symptom.
pub(super) fn symptom_reports(
    rollups: &[DailyRollup],
    period: Period,
    wanted: impl Fn(Symptom) -> bool,
) -> Vec<(NaiveDate, Symptom)> {
    logged_days(rollups, period)
        .into_iter()
        .flat_map(|day| day.symptoms.into_iter().filter(|s| wanted(*s)).map(move |s| (day.date, s)))
        .collect()
}

/// Twice the median of the daily worst pain of `days`, so that half points stay exact;
/// `None` without days.
pub(super) fn median_x2(days: &[Day]) -> Option<u32> {
    let mut values: Vec<u32> = days.iter().map(|d| u32::from(d.max)).collect();
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let mid = values.len() / 2;
    Some(if values.len().is_multiple_of(2) { values[mid - 1] + values[mid] } else { 2 * values[mid] })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rollup::median;

    fn date(d: &str) -> NaiveDate {
        d.parse().unwrap()
    }

    fn rollup(d: &str, max: u8, symptoms: &[Symptom]) -> DailyRollup {
        DailyRollup {
            date: date(d),
            max,
            mean: f64::from(max),
            last: max,
            count: 1,
            symptoms: symptoms.iter().copied().collect(),
        }
    }

    #[test]
    fn periods_are_inclusive_calendar_days() {
        let window = Period::ending(date("2026-11-21"), 21);
        assert_eq!((window.from, window.to), (date("2026-11-01"), date("2026-11-21")));
        assert!(window.contains(date("2026-11-01")) && window.contains(date("2026-11-21")));
        assert!(!window.contains(date("2026-10-31")) && !window.contains(date("2026-11-22")));
        let first = Period::starting(window.from, 7);
        assert_eq!((first.from, first.to), (date("2026-11-01"), date("2026-11-07")));
        let before = Period::ending(date("2026-11-21"), 7).preceding(7);
        assert_eq!((before.from, before.to), (date("2026-11-08"), date("2026-11-14")));
        // Across a month end and a leap day.
        let leap = Period::ending(date("2028-03-01"), 3);
        assert_eq!(leap.from, date("2028-02-28"));
        // Zero days is empty.
        let none = Period::ending(date("2026-11-21"), 0);
        assert!(!none.contains(date("2026-11-21")) && !none.contains(date("2026-11-22")));
    }

    #[test]
    fn logged_days_merge_duplicates_and_skip_outside_days() {
        let rollups = [
            rollup("2026-11-22", 9, &[Symptom::Fever]),
            rollup("2026-11-20", 3, &[Symptom::TinglingLeftLeg]),
            rollup("2026-11-20", 6, &[Symptom::Fever]),
            rollup("2026-11-14", 5, &[]),
            rollup("2026-11-13", 8, &[]),
        ];
        let days = logged_days(&rollups, Period::ending(date("2026-11-21"), 8));
        assert_eq!(days.len(), 2);
        assert_eq!((days[0].date, days[0].max), (date("2026-11-14"), 5));
        assert_eq!((days[1].date, days[1].max), (date("2026-11-20"), 6));
        assert_eq!(days[1].symptoms, [Symptom::TinglingLeftLeg, Symptom::Fever].into_iter().collect());
        let fevers = symptom_reports(&rollups, Period::ending(date("2026-11-21"), 8), |s| s == Symptom::Fever);
        assert_eq!(fevers, [(date("2026-11-20"), Symptom::Fever)]);
    }

    #[test]
    fn doubled_medians_agree_with_the_journal_median() {
        for maxima in [&[][..], &[4], &[6, 2, 4], &[6, 2, 4, 3], &[0, 10], &[5, 5, 6, 6, 7, 1]] {
            let days: Vec<Day> =
                maxima.iter().map(|m| Day { date: date("2026-11-01"), max: *m, symptoms: BTreeSet::new() }).collect();
            let floats: Vec<f64> = maxima.iter().map(|m| f64::from(*m)).collect();
            assert_eq!(median_x2(&days).map(|m| f64::from(m) / 2.0), median(&floats), "{maxima:?}");
        }
    }
}
