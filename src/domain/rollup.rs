//! Daily roll-ups of the journal and summaries over a window of days.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};

use super::journal::Symptom;

/// What a roll-up needs from one entry.
#[derive(Debug, Clone)]
pub struct RollupInput {
    pub local_date: NaiveDate,
    pub recorded_at: DateTime<Utc>,
    pub pain: u8,
    pub symptoms: BTreeSet<Symptom>,
}

/// One local calendar day with at least one entry. Days without entries have no roll-up.
#[derive(Debug, Clone, PartialEq)]
pub struct DailyRollup {
    pub date: NaiveDate,
    pub max: u8,
    pub mean: f64,
    /// Pain of the day's latest entry.
    pub last: u8,
    pub count: u32,
    pub symptoms: BTreeSet<Symptom>,
}

/// Groups entries by local date, in date order.
pub fn daily_rollups(entries: impl IntoIterator<Item = RollupInput>) -> Vec<DailyRollup> {
    let mut days: BTreeMap<NaiveDate, Vec<RollupInput>> = BTreeMap::new();
    for entry in entries {
        days.entry(entry.local_date).or_default().push(entry);
    }
    days.into_iter()
        .map(|(date, mut entries)| {
            entries.sort_by_key(|e| e.recorded_at);
            let count = entries.len() as u32;
            DailyRollup {
                date,
                max: entries.iter().map(|e| e.pain).max().unwrap_or(0),
                mean: entries.iter().map(|e| f64::from(e.pain)).sum::<f64>() / f64::from(count),
                last: entries.last().map_or(0, |e| e.pain),
                count,
                symptoms: entries.iter().flat_map(|e| e.symptoms.iter().copied()).collect(),
            }
        })
        .collect()
}

/// The smallest change in pain that patients notice: 2 points or 30% on the 0–10 scale
/// (Farrar et al., Pain 2001).
pub const MEANINGFUL_POINTS: f64 = 2.0;
pub const MEANINGFUL_PERCENT: f64 = 30.0;

/// Means of whole-number ratings are fractions such as 11/3, so a change of exactly 2 points or
/// 30% can come out of floating point a hair short (1.9999999999999998). Distinct fractions with
/// denominators up to a few hundred differ by far more than this, so the slack never turns a
/// change that is truly below the threshold into a meaningful one.
const ROUNDING_SLACK: f64 = 1e-9;

/// Whether going from `before` to `now` (means on the 0–10 scale) reaches 2 points or 30%.
pub fn is_meaningful_change(before: f64, now: f64) -> bool {
    let points = (now - before).abs();
    points >= MEANINGFUL_POINTS - ROUNDING_SLACK
        || (before > 0.0 && points / before * 100.0 >= MEANINGFUL_PERCENT - ROUNDING_SLACK)
}

#[derive(Debug, Clone, PartialEq)]
pub struct DayValue {
    pub date: NaiveDate,
    pub value: u8,
}

/// Statistics over the daily maximum ("worst pain of the day") of the logged days in a window.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowStats {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub logged_days: u32,
    pub entries: u32,
    pub mean: Option<f64>,
    pub median: Option<f64>,
    /// Least-squares slope of the daily maximum, in points per week; needs two logged days.
    pub trend_per_week: Option<f64>,
    /// Lowest daily maximum (the earliest such day).
    pub best_day: Option<DayValue>,
    /// Highest daily maximum (the latest such day).
    pub worst_day: Option<DayValue>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub previous_mean: f64,
    /// Current mean minus previous mean; negative is better.
    pub points: f64,
    /// Relative to the previous mean; absent when that was 0.
    pub percent: Option<f64>,
    /// The change reaches 2 points or 30%.
    pub meaningful: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub current: WindowStats,
    /// Against the window of the same length just before; absent when that had no entries.
    pub change: Option<Change>,
}

pub fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    Some(if sorted.len().is_multiple_of(2) { (sorted[mid - 1] + sorted[mid]) / 2.0 } else { sorted[mid] })
}

/// Ordinary least squares slope of `y` over `x`.
fn slope(points: &[(f64, f64)]) -> Option<f64> {
    if points.len() < 2 {
        return None;
    }
    let n = points.len() as f64;
    let mean_x = points.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mean_x).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mean_x) * (p.1 - mean_y)).sum();
    (sxx > 0.0).then(|| sxy / sxx)
}

/// Statistics of the roll-ups dated within `from..=to`.
pub fn window_stats(rollups: &[DailyRollup], from: NaiveDate, to: NaiveDate) -> WindowStats {
    let days: Vec<&DailyRollup> = rollups.iter().filter(|r| r.date >= from && r.date <= to).collect();
    let maxima: Vec<f64> = days.iter().map(|d| f64::from(d.max)).collect();
    let points: Vec<(f64, f64)> = days.iter().map(|d| ((d.date - from).num_days() as f64, f64::from(d.max))).collect();
    let best = days.iter().min_by(|a, b| a.max.cmp(&b.max).then(a.date.cmp(&b.date)));
    let worst = days.iter().max_by(|a, b| a.max.cmp(&b.max).then(a.date.cmp(&b.date)));
    WindowStats {
        from,
        to,
        logged_days: days.len() as u32,
        entries: days.iter().map(|d| d.count).sum(),
        mean: (!maxima.is_empty()).then(|| maxima.iter().sum::<f64>() / maxima.len() as f64),
        median: median(&maxima),
        trend_per_week: slope(&points).map(|per_day| per_day * 7.0),
        best_day: best.map(|d| DayValue { date: d.date, value: d.max }),
        worst_day: worst.map(|d| DayValue { date: d.date, value: d.max }),
    }
}

/// Summary of `from..=to`, compared with the equally long window before it.
pub fn summarize(rollups: &[DailyRollup], from: NaiveDate, to: NaiveDate) -> Summary {
    let current = window_stats(rollups, from, to);
    let length = (to - from).num_days() + 1;
    let previous = window_stats(rollups, from - chrono::Days::new(length as u64), from.pred_opt().unwrap_or(from));
    let change = match (current.mean, previous.mean) {
        (Some(now), Some(before)) => {
            let points = now - before;
            let percent = (before > 0.0).then(|| points / before * 100.0);
            Some(Change { previous_mean: before, points, percent, meaningful: is_meaningful_change(before, now) })
        }
        _ => None,
    };
    Summary { current, change }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(d: &str) -> NaiveDate {
        d.parse().unwrap()
    }

    fn entry(day: &str, time: &str, pain: u8, symptoms: &[Symptom]) -> RollupInput {
        RollupInput {
            local_date: date(day),
            recorded_at: format!("{day}T{time}Z").parse().unwrap(),
            pain,
            symptoms: symptoms.iter().copied().collect(),
        }
    }

    #[test]
    fn rolls_up_by_local_date_and_skips_empty_days() {
        let rollups = daily_rollups([
            entry("2026-11-02", "20:00:00", 3, &[]),
            entry("2026-11-02", "08:00:00", 7, &[Symptom::TinglingLeftLeg]),
            entry("2026-11-02", "13:00:00", 5, &[Symptom::Fever]),
            entry("2026-11-04", "09:00:00", 2, &[]),
        ]);
        assert_eq!(rollups.len(), 2, "2026-11-03 has no entries and no roll-up");
        let day = &rollups[0];
        assert_eq!(day.date, date("2026-11-02"));
        assert_eq!((day.max, day.last, day.count), (7, 3, 3));
        assert_eq!(day.mean, 5.0); // (3 + 7 + 5) / 3
        assert_eq!(day.symptoms, [Symptom::TinglingLeftLeg, Symptom::Fever].into_iter().collect());
        assert_eq!((rollups[1].max, rollups[1].mean, rollups[1].last), (2, 2.0, 2));
    }

    #[test]
    fn medians() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[4.0]), Some(4.0));
        assert_eq!(median(&[6.0, 2.0, 4.0]), Some(4.0));
        assert_eq!(median(&[6.0, 2.0, 4.0, 3.0]), Some(3.5));
    }

    fn day(d: &str, max: u8) -> DailyRollup {
        DailyRollup { date: date(d), max, mean: f64::from(max), last: max, count: 1, symptoms: BTreeSet::new() }
    }

    #[test]
    fn window_statistics_by_hand() {
        // Daily maxima on days 0, 1, 3, 6 of the week: 6, 5, 5, 2.
        let rollups = [day("2026-11-09", 6), day("2026-11-10", 5), day("2026-11-12", 5), day("2026-11-15", 2)];
        let stats = window_stats(&rollups, date("2026-11-09"), date("2026-11-15"));
        assert_eq!(stats.logged_days, 4);
        assert_eq!(stats.mean, Some(4.5)); // 18 / 4
        assert_eq!(stats.median, Some(5.0)); // 2, 5, 5, 6
        // x = 0, 1, 3, 6 (mean 2.5); y = 6, 5, 5, 2 (mean 4.5)
        // sxx = 6.25 + 2.25 + 0.25 + 12.25 = 21; sxy = -2.5*1.5 + -1.5*0.5 + 0.5*0.5 + 3.5*-2.5 = -13
        // slope = -13/21 per day = -4.333… per week
        let trend = stats.trend_per_week.unwrap();
        assert!((trend - (-13.0 / 21.0 * 7.0)).abs() < 1e-9, "{trend}");
        assert_eq!(stats.best_day, Some(DayValue { date: date("2026-11-15"), value: 2 }));
        assert_eq!(stats.worst_day, Some(DayValue { date: date("2026-11-09"), value: 6 }));
    }

    #[test]
    fn change_against_the_previous_window() {
        // Previous week: maxima 7, 7, 6, 8 (mean 7); this week: 5, 4, 6 (mean 5): -2 points, -28.6%.
        let rollups = [
            day("2026-11-02", 7),
            day("2026-11-03", 7),
            day("2026-11-05", 6),
            day("2026-11-08", 8),
            day("2026-11-09", 5),
            day("2026-11-11", 4),
            day("2026-11-14", 6),
        ];
        let summary = summarize(&rollups, date("2026-11-09"), date("2026-11-15"));
        let change = summary.change.unwrap();
        assert_eq!(change.previous_mean, 7.0);
        assert_eq!(change.points, -2.0);
        assert!((change.percent.unwrap() - (-200.0 / 7.0)).abs() < 1e-9);
        assert!(change.meaningful, "2 points is meaningful even below 30%");

        // 1 point down from 3 is 33%: meaningful by percent alone.
        let small = [day("2026-11-02", 3), day("2026-11-09", 2)];
        let change = summarize(&small, date("2026-11-09"), date("2026-11-15")).change.unwrap();
        assert!(change.meaningful);
        // 1 point down from 6 is neither.
        let neither = [day("2026-11-02", 6), day("2026-11-09", 5)];
        assert!(!summarize(&neither, date("2026-11-09"), date("2026-11-15")).change.unwrap().meaningful);
        // No earlier entries: no comparison.
        assert_eq!(summarize(&[day("2026-11-09", 5)], date("2026-11-09"), date("2026-11-15")).change, None);
    }

    #[test]
    fn exactly_two_points_or_thirty_percent_is_meaningful_despite_rounding() {
        // Means in thirds: 11/3 -> 5/3 is exactly -2 points, 10/3 -> 13/3 exactly +30%.
        assert!(is_meaningful_change(11.0 / 3.0, 5.0 / 3.0));
        assert!(is_meaningful_change(10.0 / 3.0, 13.0 / 3.0));
        // Just below: 1 2/3 points from 6, and 29/30 of a point from 10/3 (29%).
        assert!(!is_meaningful_change(6.0, 6.0 - 5.0 / 3.0));
        assert!(!is_meaningful_change(10.0 / 3.0, 10.0 / 3.0 + 29.0 / 30.0));
        // From 0 only points count.
        assert!(!is_meaningful_change(0.0, 1.0));
        assert!(is_meaningful_change(0.0, 2.0));

        // Through the summary: previous window maxima 4, 4, 3 (mean 11/3), this one 2, 2, 1 (5/3).
        let rollups = [
            day("2026-11-02", 4),
            day("2026-11-03", 4),
            day("2026-11-04", 3),
            day("2026-11-09", 2),
            day("2026-11-10", 2),
            day("2026-11-11", 1),
        ];
        assert!(summarize(&rollups, date("2026-11-09"), date("2026-11-15")).change.unwrap().meaningful);
    }

    #[test]
    fn ties_for_best_and_worst_day() {
        let rollups = [day("2026-11-09", 2), day("2026-11-10", 7), day("2026-11-11", 2), day("2026-11-12", 7)];
        let stats = window_stats(&rollups, date("2026-11-09"), date("2026-11-15"));
        assert_eq!(stats.best_day, Some(DayValue { date: date("2026-11-09"), value: 2 }), "earliest best day");
        assert_eq!(stats.worst_day, Some(DayValue { date: date("2026-11-12"), value: 7 }), "latest worst day");
    }

    #[test]
    fn empty_window() {
        let stats = window_stats(&[], date("2026-11-09"), date("2026-11-15"));
        assert_eq!((stats.logged_days, stats.mean, stats.median, stats.trend_per_week), (0, None, None, None));
    }
}
