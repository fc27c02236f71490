//! What each kind of notification is: how long it is worth delivering, how urgent it is, and
//! the generic words a lock screen may show. Payloads never carry health details; the app
//! fetches those after it is unlocked.

use std::time::Duration;

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeDelta, Utc, Weekday};

use super::time::{QuietHours, TimeZone, after_quiet_hours};

/// RFC 8030 urgency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Urgency {
    VeryLow,
    Low,
    #[default]
    Normal,
    High,
}

impl Urgency {
    pub fn as_str(self) -> &'static str {
        match self {
            Urgency::VeryLow => "very-low",
            Urgency::Low => "low",
            Urgency::Normal => "normal",
            Urgency::High => "high",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    DailyReminder,
    WeeklyPeg,
    Aftercare,
    /// emergency or urgent alerts: get help now / today.
    UrgentAlert,
    /// see-a-physiotherapist and therapist follow-up alerts.
    Alert,
    /// To a therapist: a client's emergency or urgent alert (the client was told to get help).
    ClientUrgentAlert,
    /// To a therapist: a client's see-a-physiotherapist or follow-up alert.
    ClientAlert,
    /// To a patient: a therapist wrote a note (never its text: see [`Kind::body`]).
    TherapistNote,
    /// To a therapist: a client answered one of the therapist's notes.
    ClientNoteReply,
    Test,
}

impl Kind {
    pub const ALL: [Kind; 10] = [
        Kind::DailyReminder,
        Kind::WeeklyPeg,
        Kind::Aftercare,
        Kind::UrgentAlert,
        Kind::Alert,
        Kind::ClientUrgentAlert,
        Kind::ClientAlert,
        Kind::TherapistNote,
        Kind::ClientNoteReply,
        Kind::Test,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::DailyReminder => "daily_reminder",
            Kind::WeeklyPeg => "weekly_peg",
            Kind::Aftercare => "aftercare",
            Kind::UrgentAlert => "urgent_alert",
            Kind::Alert => "alert",
            Kind::ClientUrgentAlert => "client_urgent_alert",
            Kind::ClientAlert => "client_alert",
            Kind::TherapistNote => "therapist_note",
            Kind::ClientNoteReply => "client_note_reply",
            Kind::Test => "test",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == value)
    }

    /// Past this a push service drops the message: a stale reminder is worthless. An emergency
    /// or urgent alert (and a therapist's copy) must reach a phone that was off for hours: it
    /// is kept for the clinical window (48 h by default, `alerts.red_flag_ttl_hours`, which
    /// the alert fan-out applies).
    pub fn ttl(self) -> Duration {
        Duration::from_secs(match self {
            Kind::DailyReminder => 4 * 3600,
            Kind::WeeklyPeg => 12 * 3600,
            Kind::Aftercare => 3 * 3600,
            Kind::UrgentAlert | Kind::ClientUrgentAlert => 48 * 3600,
            Kind::Alert | Kind::ClientAlert => 24 * 3600,
            // The note waits in the app; the push only says it is there.
            Kind::TherapistNote | Kind::ClientNoteReply => 24 * 3600,
            Kind::Test => 300,
        })
    }

    /// `high` wakes a sleeping phone; only alerts that say "get help now/today" may do that, and
    /// only the patient's: a therapist cannot act on a client's emergency in the night, and the
    /// client has already been told where to get help.
    pub fn urgency(self) -> Urgency {
        match self {
            Kind::UrgentAlert => Urgency::High,
            Kind::WeeklyPeg => Urgency::Low,
            _ => Urgency::Normal,
        }
    }

    /// Sent even inside quiet hours.
    pub fn ignores_quiet_hours(self) -> bool {
        matches!(self, Kind::UrgentAlert | Kind::Test)
    }

    /// Lock-screen words: generic on purpose.
    pub fn title(self) -> &'static str {
        match self {
            Kind::DailyReminder => "How was your day?",
            Kind::WeeklyPeg => "Your weekly check-in",
            Kind::Aftercare => "A note from your aftercare plan",
            Kind::UrgentAlert => "Please open Aftercare now",
            Kind::Alert => "Aftercare has a suggestion for you",
            Kind::ClientUrgentAlert => "A client needs attention",
            Kind::ClientAlert => "A client may need a follow-up",
            Kind::TherapistNote => "Your therapist left a note",
            Kind::ClientNoteReply => "A client answered a note",
            Kind::Test => "Test notification",
        }
    }

    pub fn body(self) -> &'static str {
        match self {
            Kind::DailyReminder => "Take a few seconds to add today's entry to your journal.",
            Kind::WeeklyPeg => "Three quick questions about your week.",
            Kind::Aftercare => "Open the app to see your next step.",
            Kind::UrgentAlert => "Something you logged needs attention. Open the app for advice.",
            Kind::Alert => "Open the app to read it.",
            Kind::ClientUrgentAlert => {
                "A client reported a warning sign and was told to get help. Open Aftercare for details."
            }
            Kind::ClientAlert => "Open Aftercare to see which client and why.",
            Kind::TherapistNote => "Open the app to read it.",
            Kind::ClientNoteReply => "Open Aftercare to read the answer.",
            Kind::Test => "Notifications reach this device.",
        }
    }
}

/// Daily journal reminder preferences.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReminderSettings {
    pub daily_enabled: bool,
    pub daily_time: NaiveTime,
    pub weekly_peg_enabled: bool,
    pub weekly_peg_weekday: Weekday,
    pub weekly_peg_time: NaiveTime,
}

impl Default for ReminderSettings {
    fn default() -> Self {
        Self {
            daily_enabled: true,
            daily_time: NaiveTime::from_hms_opt(20, 0, 0).expect("valid time"),
            weekly_peg_enabled: false,
            weekly_peg_weekday: Weekday::Sun,
            weekly_peg_time: NaiveTime::from_hms_opt(18, 0, 0).expect("valid time"),
        }
    }
}

/// One planned reminder: the local day it is about and when to send it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlannedReminder {
    pub date: NaiveDate,
    pub due_at: DateTime<Utc>,
}

/// The next daily reminders from `now`: today's if its time is still ahead, and tomorrow's.
/// Computed from the local date (days around DST changes are 23 or 25 hours long), then moved
/// out of quiet hours.
pub fn next_daily(now: DateTime<Utc>, zone: TimeZone, quiet: QuietHours, at: NaiveTime) -> Vec<PlannedReminder> {
    let today = zone.local_date(now);
    [today, today + TimeDelta::days(1)]
        .into_iter()
        .map(|date| PlannedReminder { date, due_at: after_quiet_hours(zone.instant_at(date, at), zone, quiet) })
        .filter(|r| r.due_at > now)
        .collect()
}

/// The next weekly reminder on `weekday` at `at` local time, after `now`.
pub fn next_weekly(
    now: DateTime<Utc>,
    zone: TimeZone,
    quiet: QuietHours,
    weekday: Weekday,
    at: NaiveTime,
) -> PlannedReminder {
    let today = zone.local_date(now);
    let ahead = (7 + weekday.num_days_from_monday() as i64 - today.weekday().num_days_from_monday() as i64) % 7;
    [ahead, ahead + 7]
        .into_iter()
        .map(|days| {
            let date = today + TimeDelta::days(days);
            PlannedReminder { date, due_at: after_quiet_hours(zone.instant_at(date, at), zone, quiet) }
        })
        .find(|r| r.due_at > now)
        .expect("next week's reminder is always ahead")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn time(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    fn zone(name: &str) -> TimeZone {
        TimeZone::parse(name).unwrap()
    }

    #[test]
    fn only_the_patients_own_red_flag_alert_may_wake_a_phone() {
        for kind in Kind::ALL {
            let wakes = kind.urgency() == Urgency::High;
            assert_eq!(wakes, kind == Kind::UrgentAlert, "{kind:?}");
            assert_eq!(Kind::parse(kind.as_str()), Some(kind));
        }
        for kind in [Kind::ClientUrgentAlert, Kind::ClientAlert, Kind::ClientNoteReply] {
            assert!(!kind.ignores_quiet_hours(), "{kind:?} waits for the therapist's morning");
            let words = format!("{} {}", kind.title(), kind.body()).to_lowercase();
            assert!(words.contains("client") && !words.contains("you"), "{words}");
        }
    }

    #[test]
    fn daily_reminders_across_the_2026_dst_changes() {
        let quiet = QuietHours::default();
        let ny = zone("America/New_York");
        // Morning of 2026-03-08 (the spring-forward day): today's 20:00 EDT is 00:00Z on the 9th,
        // tomorrow's is 00:00Z on the 10th — 24 hours apart, though the day itself had 23.
        let plan = next_daily(utc("2026-03-08T12:00:00Z"), ny, quiet, time(20, 0));
        assert_eq!(
            plan[0],
            PlannedReminder { date: "2026-03-08".parse().unwrap(), due_at: utc("2026-03-09T00:00:00Z") }
        );
        assert_eq!(plan[1].due_at, utc("2026-03-10T00:00:00Z"));
        // Across fall back: 20:00 EDT on 10-31 is 00:00Z on 11-01; 20:00 EST on 11-01 is 01:00Z on 11-02
        // (25 hours later).
        let plan = next_daily(utc("2026-10-31T12:00:00Z"), ny, quiet, time(20, 0));
        assert_eq!(plan[0].due_at, utc("2026-11-01T00:00:00Z"));
        assert_eq!(
            plan[1],
            PlannedReminder { date: "2026-11-01".parse().unwrap(), due_at: utc("2026-11-02T01:00:00Z") }
        );

        let berlin = zone("Europe/Berlin");
        let plan = next_daily(utc("2026-03-29T06:00:00Z"), berlin, quiet, time(20, 0));
        assert_eq!(plan[0].due_at, utc("2026-03-29T18:00:00Z"));
        let plan = next_daily(utc("2026-10-25T06:00:00Z"), berlin, quiet, time(20, 0));
        assert_eq!(plan[0].due_at, utc("2026-10-25T19:00:00Z"));
    }

    #[test]
    fn a_passed_reminder_is_not_planned_again() {
        let ny = zone("America/New_York");
        // 21:00 EST on 2026-11-21 (02:00Z on the 22nd): today's 20:00 has passed.
        let plan = next_daily(utc("2026-11-22T02:00:00Z"), ny, QuietHours::default(), time(20, 0));
        assert_eq!(plan.len(), 1);
        assert_eq!(plan[0].date, "2026-11-22".parse::<NaiveDate>().unwrap());
    }

    #[test]
    fn a_reminder_inside_quiet_hours_waits_for_their_end() {
        // Quiet hours 21:30–08:00 spanning midnight; a reminder chosen for 22:15 goes at 08:00
        // the next morning (Berlin, CET: 07:00Z).
        let berlin = zone("Europe/Berlin");
        let plan = next_daily(utc("2026-11-21T10:00:00Z"), berlin, QuietHours::default(), time(22, 15));
        assert_eq!(
            plan[0],
            PlannedReminder { date: "2026-11-21".parse().unwrap(), due_at: utc("2026-11-22T07:00:00Z") }
        );
        // Quiet hours that do not span midnight.
        let lunch = QuietHours::new(time(12, 0), time(13, 30)).unwrap();
        let plan = next_daily(utc("2026-11-21T06:00:00Z"), berlin, lunch, time(12, 30));
        assert_eq!(plan[0].due_at, utc("2026-11-21T12:30:00Z"));
    }

    #[test]
    fn weekly_reminder_days() {
        let berlin = zone("Europe/Berlin");
        // 2026-11-21 is a Saturday. Sunday 18:00 CET is 17:00Z on the 22nd.
        let next = next_weekly(utc("2026-11-21T10:00:00Z"), berlin, QuietHours::default(), Weekday::Sun, time(18, 0));
        assert_eq!(next.due_at, utc("2026-11-22T17:00:00Z"));
        // Saturday, after 18:00 has passed: a week later.
        let next = next_weekly(utc("2026-11-21T18:00:00Z"), berlin, QuietHours::default(), Weekday::Sat, time(18, 0));
        assert_eq!(next.date, "2026-11-28".parse::<NaiveDate>().unwrap());
    }

    #[test]
    fn only_alerts_that_need_help_now_are_high_urgency() {
        for kind in Kind::ALL {
            assert_eq!(kind.urgency() == Urgency::High, kind == Kind::UrgentAlert, "{kind:?}");
            assert!(kind.ttl() > Duration::ZERO);
            assert_eq!(Kind::parse(kind.as_str()), Some(kind));
        }
    }
}
