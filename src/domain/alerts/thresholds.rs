//! The numbers behind the alert rules. Defaults are DESIGN.md §3 "Alerts"; the struct reads as an
//! `[alerts]` configuration section (every key optional, unknown keys rejected).

use serde::{Deserialize, Serialize};

use crate::domain::validation::ValidationErrors;

/// Every "at least" below is inclusive (≥). Windows are counted in local calendar days ending on
/// the evaluation date inclusive: a window of 21 days evaluated on `today` is `today-20..=today`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertThresholds {
    /// How many days a reported symptom or check-in answer keeps its rule firing, counting the
    /// evaluation date: 7 means reports dated `today-6..=today`; one dated `today-7` no longer fires.
    pub symptom_lookback_days: u32,

    /// Length of the `persistent` window (21: `today-20..=today`). At least 14, so that its first
    /// and last 7 days do not overlap.
    pub persistent_window_days: u32,
    /// Logged days (days with at least one entry) needed in the window before the rule can fire.
    pub persistent_min_logged_days: u32,
    /// A day counts towards `persistent` when its worst pain is at least this.
    pub persistent_min_daily_max: u8,
    /// Share of the logged days, in percent, that must count: exactly, so 70% of 12 days is 8.4
    /// and needs 9 days.
    pub persistent_min_share_percent: u8,
    /// A drop of at least this many points from the first 7 days' median worst pain to the last
    /// 7 days' median shows improvement and stops `persistent` firing …
    pub persistent_improvement_points: u8,
    /// … as does a drop of at least this percentage of the first 7 days' median.
    pub persistent_improvement_percent: u8,

    /// `worsening` fires when the last 7 days' median worst pain is at least this many points
    /// above the previous 7 days' median …
    pub worsening_min_rise_points: u8,
    /// … and each of those two weeks has at least this many logged days.
    pub worsening_min_logged_days_per_week: u32,

    /// `severe_pain` fires when, over this many days ending on the evaluation date …
    pub severe_window_days: u32,
    /// … at least this many logged days …
    pub severe_min_days: u32,
    /// … have a worst pain of at least this (0–10).
    pub severe_min_daily_max: u8,

    /// Check-ins answered this many hours after the session or later can fire
    /// `soreness_after_massage` (48: the 24 h check-in cannot).
    pub followup_min_hours_after: u8,
    /// Soreness (0–10) at such a check-in that fires `soreness_after_massage` on its own.
    pub followup_min_soreness: u8,
    /// Soreness at least this many points above the pain recorded before the session also fires.
    pub followup_soreness_above_pain_before: u8,

    /// An open alert resolves itself once its rule has not fired for this many days
    /// (carried for the alert lifecycle; the rules do not use it).
    pub auto_resolve_clear_days: u32,
    /// An unacknowledged alert is notified again at most once per this many days
    /// (carried for the alert lifecycle; the rules do not use it).
    pub renotify_cooldown_days: u32,

    /// A week (7 calendar days) with fewer logged days than this is "not enough data" for the
    /// pain-trend rules (`persistent`, `worsening`): it neither fires them nor shows that their
    /// condition has cleared. Report rules need this many logged days in their look-back before
    /// their silence counts as clear.
    pub min_logged_days_per_week: u32,
    /// The hours between the repeats of an emergency alert to a patient who has not acknowledged
    /// it: after the first notification the next comes this many hours later, and so on; the last
    /// value repeats until the patient acknowledges it or it is resolved.
    pub emergency_repeat_hours: Vec<u32>,
}

impl Default for AlertThresholds {
    fn default() -> Self {
        Self {
            symptom_lookback_days: 7,
            persistent_window_days: 21,
            persistent_min_logged_days: 12,
            persistent_min_daily_max: 4,
            persistent_min_share_percent: 70,
            persistent_improvement_points: 2,
            persistent_improvement_percent: 30,
            worsening_min_rise_points: 2,
            worsening_min_logged_days_per_week: 4,
            severe_window_days: 7,
            severe_min_days: 3,
            severe_min_daily_max: 8,
            followup_min_hours_after: 48,
            followup_min_soreness: 7,
            followup_soreness_above_pain_before: 2,
            auto_resolve_clear_days: 7,
            renotify_cooldown_days: 7,
            min_logged_days_per_week: 3,
            emergency_repeat_hours: vec![1, 4, 12],
        }
    }
}

impl AlertThresholds {
    /// Rejects values that would make a rule fire always, never, or on overlapping weeks.
    /// Field names are the keys of the section (a caller may prefix them with `alerts.`).
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let mut check = |field: &str, value: u32, min: u32, max: u32| {
            if value < min || value > max {
                errors.add(field, "out_of_range", format!("must be from {min} to {max}"));
            }
        };
        const YEAR: u32 = 366;
        check("symptom_lookback_days", self.symptom_lookback_days, 1, YEAR);
        check("persistent_window_days", self.persistent_window_days, 14, YEAR);
        check("persistent_min_logged_days", self.persistent_min_logged_days, 1, self.persistent_window_days.max(1));
        check("persistent_min_daily_max", self.persistent_min_daily_max.into(), 1, 10);
        check("persistent_min_share_percent", self.persistent_min_share_percent.into(), 1, 100);
        check("persistent_improvement_points", self.persistent_improvement_points.into(), 1, 10);
        check("persistent_improvement_percent", self.persistent_improvement_percent.into(), 1, 100);
        check("worsening_min_rise_points", self.worsening_min_rise_points.into(), 1, 10);
        check("worsening_min_logged_days_per_week", self.worsening_min_logged_days_per_week, 1, 7);
        check("severe_window_days", self.severe_window_days, 1, YEAR);
        check("severe_min_days", self.severe_min_days, 1, self.severe_window_days.max(1));
        check("severe_min_daily_max", self.severe_min_daily_max.into(), 1, 10);
        check("followup_min_hours_after", self.followup_min_hours_after.into(), 1, u8::MAX.into());
        check("followup_min_soreness", self.followup_min_soreness.into(), 1, 10);
        check("followup_soreness_above_pain_before", self.followup_soreness_above_pain_before.into(), 1, 10);
        check("auto_resolve_clear_days", self.auto_resolve_clear_days, 1, YEAR);
        check("renotify_cooldown_days", self.renotify_cooldown_days, 1, YEAR);
        check("min_logged_days_per_week", self.min_logged_days_per_week, 1, 7);
        if self.emergency_repeat_hours.is_empty() || self.emergency_repeat_hours.iter().any(|h| *h == 0 || *h > 24 * 7)
        {
            errors.add(
                "emergency_repeat_hours",
                "out_of_range",
                "must list at least one interval, each from 1 to 168 hours",
            );
        }
        errors.finish(|| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_design_values_and_valid() {
        let t = AlertThresholds::default();
        assert_eq!((t.persistent_window_days, t.persistent_min_logged_days), (21, 12));
        assert_eq!((t.persistent_min_daily_max, t.persistent_min_share_percent), (4, 70));
        assert_eq!((t.persistent_improvement_points, t.persistent_improvement_percent), (2, 30));
        assert_eq!((t.worsening_min_rise_points, t.worsening_min_logged_days_per_week), (2, 4));
        assert_eq!(
            (t.followup_min_hours_after, t.followup_min_soreness, t.followup_soreness_above_pain_before),
            (48, 7, 2)
        );
        assert_eq!((t.severe_window_days, t.severe_min_days, t.severe_min_daily_max), (7, 3, 8));
        assert_eq!((t.symptom_lookback_days, t.auto_resolve_clear_days, t.renotify_cooldown_days), (7, 7, 7));
        assert_eq!((t.min_logged_days_per_week, t.emergency_repeat_hours.as_slice()), (3, &[1, 4, 12][..]));
        assert!(t.validate().is_ok());
    }

    #[test]
    fn reads_as_a_configuration_section() {
        let empty: AlertThresholds = serde_json::from_str("{}").unwrap();
        assert_eq!(empty, AlertThresholds::default());
        let some: AlertThresholds = serde_json::from_str(r#"{"persistent_window_days": 28}"#).unwrap();
        assert_eq!(some.persistent_window_days, 28);
        assert_eq!(some.persistent_min_logged_days, 12);
        let typo = serde_json::from_str::<AlertThresholds>(r#"{"persistent_window_day": 28}"#).unwrap_err();
        assert!(typo.to_string().contains("unknown field"), "{typo}");
        let round: AlertThresholds =
            serde_json::from_value(serde_json::to_value(AlertThresholds::default()).unwrap()).unwrap();
        assert_eq!(round, AlertThresholds::default());
    }

    #[test]
    fn rejects_degenerate_values() {
        let t = AlertThresholds {
            symptom_lookback_days: 0,
            persistent_window_days: 13,
            persistent_min_logged_days: 14,
            persistent_min_share_percent: 101,
            followup_min_soreness: 11,
            min_logged_days_per_week: 8,
            emergency_repeat_hours: vec![1, 0],
            ..AlertThresholds::default()
        };
        let errors = t.validate().unwrap_err();
        let fields: Vec<&str> = errors.errors().iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "symptom_lookback_days",
                "persistent_window_days",
                "persistent_min_logged_days",
                "persistent_min_share_percent",
                "followup_min_soreness",
                "min_logged_days_per_week",
                "emergency_repeat_hours",
            ]
        );
    }
}
