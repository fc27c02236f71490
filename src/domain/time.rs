//! Wall-clock time in a patient's own zone: the zone itself, quiet hours, and turning a local
//! date and time into an instant across DST changes.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, LocalResult, NaiveDate, NaiveTime, TimeDelta, TimeZone as _, Utc};
use chrono_tz::Tz;

use super::validation::FieldProblem;

/// An IANA time zone name such as `Europe/Berlin`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeZone(Tz);

impl TimeZone {
    pub fn parse(raw: &str) -> Result<Self, FieldProblem> {
        Tz::from_str(raw.trim())
            .map(Self)
            .map_err(|_| FieldProblem::new("unknown_time_zone", "must be an IANA time zone name such as Europe/Berlin"))
    }

    pub fn tz(self) -> Tz {
        self.0
    }

    pub fn name(self) -> &'static str {
        self.0.name()
    }

    /// The local calendar date at `instant`.
    pub fn local_date(self, instant: DateTime<Utc>) -> NaiveDate {
        instant.with_timezone(&self.0).date_naive()
    }

    /// The instant a wall clock in this zone shows `time` on `date`. A time that does not exist
    /// (skipped by a DST change) moves forward by the size of the gap; an ambiguous one (repeated
    /// when clocks go back) takes the earlier instant.
    pub fn instant_at(self, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
        let local = date.and_time(time);
        match self.0.from_local_datetime(&local) {
            LocalResult::Single(t) => t.with_timezone(&Utc),
            LocalResult::Ambiguous(earlier, _) => earlier.with_timezone(&Utc),
            LocalResult::None => {
                // Gaps are at most a few hours; find the first minute after the gap and keep the
                // distance from the time the clock jumped over.
                let mut probe = local;
                for _ in 0..(24 * 60) {
                    probe += TimeDelta::minutes(1);
                    if let Some(after) = self.0.from_local_datetime(&probe).earliest() {
                        let before = self.0.offset_from_utc_datetime(&(after.naive_utc() - TimeDelta::minutes(1)));
                        let utc = local - TimeDelta::seconds(i64::from(chrono::Offset::fix(&before).local_minus_utc()));
                        return Utc.from_utc_datetime(&utc);
                    }
                }
                unreachable!("no time zone has a gap longer than a day")
            }
        }
    }
}

impl Default for TimeZone {
    fn default() -> Self {
        Self(Tz::UTC)
    }
}

impl fmt::Display for TimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A daily window in local time when nothing but urgent alerts is sent. It may span midnight
/// (the default 21:30–08:00 does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl QuietHours {
    pub fn new(start: NaiveTime, end: NaiveTime) -> Result<Self, FieldProblem> {
        if start == end {
            return Err(FieldProblem::new("empty_window", "start and end must differ"));
        }
        Ok(Self { start, end })
    }

    /// Whether `time` falls inside the window (start inclusive, end exclusive).
    pub fn contains(self, time: NaiveTime) -> bool {
        if self.start < self.end {
            self.start <= time && time < self.end
        } else {
            time >= self.start || time < self.end
        }
    }
}

impl Default for QuietHours {
    fn default() -> Self {
        Self {
            start: NaiveTime::from_hms_opt(21, 30, 0).expect("valid time"),
            end: NaiveTime::from_hms_opt(8, 0, 0).expect("valid time"),
        }
    }
}

/// `instant` itself when its local time is outside `quiet`, otherwise the instant the quiet hours
/// it falls in end. For a window spanning midnight such as 21:30–08:00, 23:00 moves to 08:00 the
/// next local day and 02:00 to 08:00 the same day. A quiet end skipped by a DST change moves
/// forward with the clocks; one the clocks show twice is the first showing after `instant`.
pub fn after_quiet_hours(instant: DateTime<Utc>, zone: TimeZone, quiet: QuietHours) -> DateTime<Utc> {
    let local = instant.with_timezone(&zone.tz());
    let (date, time) = (local.date_naive(), local.time());
    if !quiet.contains(time) {
        return instant;
    }
    let spans_midnight = quiet.start > quiet.end;
    let end_date = if spans_midnight && time >= quiet.start {
        date.succ_opt().expect("dates this close to the end of time are not used")
    } else {
        date
    };
    let end = zone.instant_at(end_date, quiet.end);
    if end > instant {
        return end;
    }
    // Only when clocks went back: `instant` is in the repeated hour after the first showing of
    // the end time, so the quiet hours end at its second showing.
    zone.tz()
        .from_local_datetime(&end_date.and_time(quiet.end))
        .latest()
        .map(|t| t.with_timezone(&Utc))
        .filter(|t| *t > instant)
        .unwrap_or(instant)
}

/// Parses `HH:MM` (24-hour clock).
pub fn parse_clock_time(raw: &str) -> Result<NaiveTime, FieldProblem> {
    let invalid = || FieldProblem::new("invalid_time", "must be a 24-hour time as HH:MM, e.g. 21:30");
    // Exactly two digits, a colon, two digits: chrono alone would also take " 9:30".
    let shape_ok =
        raw.len() == 5 && raw.bytes().enumerate().all(|(i, b)| if i == 2 { b == b':' } else { b.is_ascii_digit() });
    if !shape_ok {
        return Err(invalid());
    }
    NaiveTime::parse_from_str(raw, "%H:%M").map_err(|_| invalid())
}

pub fn format_clock_time(time: NaiveTime) -> String {
    time.format("%H:%M").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(name: &str) -> TimeZone {
        TimeZone::parse(name).unwrap()
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn time(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn rejects_unknown_zones() {
        assert_eq!(TimeZone::parse("Mars/Olympus_Mons").unwrap_err().code, "unknown_time_zone");
        assert_eq!(TimeZone::parse("").unwrap_err().code, "unknown_time_zone");
        assert_eq!(zone("Pacific/Auckland").name(), "Pacific/Auckland");
    }

    #[test]
    fn evening_in_new_york_and_berlin_across_2026_dst_changes() {
        let ny = zone("America/New_York");
        assert_eq!(ny.instant_at(date(2026, 3, 8), time(20, 0)), utc("2026-03-09T00:00:00Z"));
        assert_eq!(ny.instant_at(date(2026, 11, 1), time(20, 0)), utc("2026-11-02T01:00:00Z"));
        let berlin = zone("Europe/Berlin");
        assert_eq!(berlin.instant_at(date(2026, 3, 29), time(20, 0)), utc("2026-03-29T18:00:00Z"));
        assert_eq!(berlin.instant_at(date(2026, 10, 25), time(20, 0)), utc("2026-10-25T19:00:00Z"));
    }

    #[test]
    fn a_time_in_the_spring_gap_moves_forward() {
        // New York skips 02:00–03:00 on 2026-03-08: 02:30 EST does not exist; 03:30 EDT is 07:30Z.
        let ny = zone("America/New_York");
        assert_eq!(ny.instant_at(date(2026, 3, 8), time(2, 30)), utc("2026-03-08T07:30:00Z"));
        // Havana changes at midnight: 2026-03-08 00:00 does not exist and becomes 01:00 CDT.
        let havana = zone("America/Havana");
        assert_eq!(havana.instant_at(date(2026, 3, 8), time(0, 0)), utc("2026-03-08T05:00:00Z"));
    }

    #[test]
    fn an_ambiguous_time_takes_the_earlier_instant() {
        // 01:30 happens twice in New York on 2026-11-01; the first is EDT (05:30Z).
        let ny = zone("America/New_York");
        assert_eq!(ny.instant_at(date(2026, 11, 1), time(1, 30)), utc("2026-11-01T05:30:00Z"));
    }

    #[test]
    fn local_date_far_from_utc() {
        // 23:30 on 2026-11-21 in Auckland (NZDT, UTC+13) is 10:30Z the same day.
        let akl = zone("Pacific/Auckland");
        assert_eq!(akl.local_date(utc("2026-11-21T10:30:00Z")), date(2026, 11, 21));
        assert_eq!(akl.local_date(utc("2026-11-21T11:30:00Z")), date(2026, 11, 22));
    }

    #[test]
    fn quiet_hours_spanning_midnight() {
        let quiet = QuietHours::default();
        assert!(quiet.contains(time(21, 30)));
        assert!(quiet.contains(time(23, 59)));
        assert!(quiet.contains(time(0, 0)));
        assert!(quiet.contains(time(7, 59)));
        assert!(!quiet.contains(time(8, 0)));
        assert!(!quiet.contains(time(21, 29)));
        let daytime = QuietHours::new(time(13, 0), time(14, 0)).unwrap();
        assert!(daytime.contains(time(13, 30)));
        assert!(!daytime.contains(time(14, 0)));
        assert!(QuietHours::new(time(8, 0), time(8, 0)).is_err());
    }

    #[test]
    fn clock_times() {
        assert_eq!(parse_clock_time("21:30").unwrap(), time(21, 30));
        for bad in ["9:30", "24:00", "21:60", "2130", "21:30:00", ""] {
            assert!(parse_clock_time(bad).is_err(), "{bad:?} should be rejected");
        }
        assert_eq!(format_clock_time(time(8, 0)), "08:00");
    }
}
