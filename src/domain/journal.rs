//! The pain journal: what one entry holds, and the rules for accepting it.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use uuid::Uuid;

use super::body::Region;
use super::time::TimeZone;
use super::validation::FieldProblem;

/// A 0–10 numeric rating: 0 is none, 10 the worst imaginable (NRS; also used for the PEG
/// interference items, sleep quality and stress).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Score(u8);

impl Score {
    pub const MAX: u8 = 10;

    pub fn new(value: i64) -> Result<Self, FieldProblem> {
        u8::try_from(value)
            .ok()
            .filter(|v| *v <= Self::MAX)
            .map(Self)
            .ok_or_else(|| FieldProblem::new("out_of_range", "must be a whole number from 0 to 10"))
    }

    pub fn value(self) -> u8 {
        self.0
    }
}

/// A closed set of named values. Doc comments on the set and on each value are kept as their
/// descriptions, which the API document shows next to the names.
macro_rules! named_enum {
    ($(#[doc = $doc:literal])* $name:ident as $type_name:literal { $($(#[doc = $vdoc:literal])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[doc = $doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $($(#[doc = $vdoc])* $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            pub fn parse(value: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == value)
            }
        }

        impl super::Named for $name {
            const TYPE_NAME: &'static str = $type_name;
            const DESCRIPTION: &'static str = concat!($($doc, "\n"),*);

            fn all() -> &'static [Self] {
                Self::ALL
            }

            fn name(self) -> &'static str {
                self.as_str()
            }

            fn description(self) -> &'static str {
                match self {
                    $($name::$variant => concat!($($vdoc, "\n",)* "")),+
                }
            }
        }
    };
}
pub(crate) use named_enum;

named_enum! {
    /// How the pain feels.
    PainQuality as "PainQuality" {
        /// A dull, steady ache.
        Aching => "aching",
        /// Sudden and intense, often on a movement.
        Sharp => "sharp",
        /// A hot or burning feeling.
        Burning => "burning",
        /// Piercing, like a knife.
        Stabbing => "stabbing",
        /// Pulsing or pounding.
        Throbbing => "throbbing",
        /// Tightness; hard to move or bend.
        Stiffness => "stiffness",
        /// Spreading from the back into another area.
        Radiating => "radiating",
    }
}

named_enum! {
    /// Symptoms besides pain. Leg symptoms carry their side: in one leg they suggest a trapped
    /// nerve (see a physiotherapist); in both legs they can be cauda equina (emergency).
    Symptom as "Symptom" {
        /// Numbness in the left leg.
        NumbnessLeftLeg => "numbness_left_leg",
        /// Numbness in the right leg.
        NumbnessRightLeg => "numbness_right_leg",
        /// Pins and needles in the left leg.
        TinglingLeftLeg => "tingling_left_leg",
        /// Pins and needles in the right leg.
        TinglingRightLeg => "tingling_right_leg",
        /// Weakness in the left leg.
        WeaknessLeftLeg => "weakness_left_leg",
        /// Weakness in the right leg.
        WeaknessRightLeg => "weakness_right_leg",
        /// Pain shooting down the left leg (sciatica).
        RadiatingPainLeftLeg => "radiating_pain_left_leg",
        /// Pain shooting down the right leg (sciatica).
        RadiatingPainRightLeg => "radiating_pain_right_leg",
        /// Numbness around the genitals, buttocks or inner thighs (emergency).
        SaddleNumbness => "saddle_numbness",
        /// New difficulty passing urine, or loss of bladder or bowel control (emergency).
        BladderOrBowelChange => "bladder_or_bowel_change",
        /// 38 °C or more.
        Fever => "fever",
        /// Weight loss without trying.
        UnexplainedWeightLoss => "unexplained_weight_loss",
        /// Pain at night that rest does not ease.
        NightPainNotEasedByRest => "night_pain_not_eased_by_rest",
        /// The pain started after a fall or an accident.
        PainAfterFallOrAccident => "pain_after_fall_or_accident",
        /// A swollen, red, warm or painful leg (it can be a blood clot, more so after a massage).
        LegSwellingRednessWarmth => "leg_swelling_redness_warmth",
    }
}

/// Which leg a leg symptom is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Left,
    Right,
}

/// The kind of a leg symptom, without its side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LegSymptom {
    Numbness,
    Tingling,
    Weakness,
    RadiatingPain,
}

impl Symptom {
    /// The kind and side of a leg symptom; `None` for the others.
    pub fn leg(self) -> Option<(LegSymptom, Side)> {
        use Symptom::*;
        Some(match self {
            NumbnessLeftLeg => (LegSymptom::Numbness, Side::Left),
            NumbnessRightLeg => (LegSymptom::Numbness, Side::Right),
            TinglingLeftLeg => (LegSymptom::Tingling, Side::Left),
            TinglingRightLeg => (LegSymptom::Tingling, Side::Right),
            WeaknessLeftLeg => (LegSymptom::Weakness, Side::Left),
            WeaknessRightLeg => (LegSymptom::Weakness, Side::Right),
            RadiatingPainLeftLeg => (LegSymptom::RadiatingPain, Side::Left),
            RadiatingPainRightLeg => (LegSymptom::RadiatingPain, Side::Right),
            _ => return None,
        })
    }
}

named_enum! {
    /// Self-care done since the last entry.
    SelfCare as "SelfCare" {
        /// Drank water.
        Water => "water",
        /// Gentle stretches.
        Stretching => "stretching",
        /// A warm bath (with Epsom salts or without).
        WarmBath => "warm_bath",
        /// A heat pack or warm compress.
        Heat => "heat",
        /// An ice pack or cold compress.
        Ice => "ice",
        /// A walk.
        Walk => "walk",
        /// Prescribed or home exercises.
        Exercises => "exercises",
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionPain {
    pub region: Region,
    pub pain: Score,
    pub qualities: BTreeSet<PainQuality>,
}

/// Everything a patient can write in one entry. Only `pain` is required: a bad day must be
/// loggable in seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryContent {
    pub recorded_at: DateTime<Utc>,
    pub pain: Score,
    pub regions: Vec<RegionPain>,
    pub symptoms: BTreeSet<Symptom>,
    /// PEG item: how much pain interfered with general activity.
    pub interference_activity: Option<Score>,
    /// PEG item: how much pain interfered with enjoyment of life.
    pub interference_enjoyment: Option<Score>,
    /// 0 = very poor, 10 = excellent.
    pub sleep_quality: Option<Score>,
    /// 0 = none, 10 = extreme.
    pub stress: Option<Score>,
    pub self_care: BTreeSet<SelfCare>,
    pub medications: Vec<String>,
    pub notes: Option<String>,
    /// The zone the phone was in at `recorded_at`, when it said so. An entry written while
    /// travelling, or synced after the patient moved, keeps the day it was written on.
    pub time_zone: Option<TimeZone>,
}

impl EntryContent {
    /// The journal day of a new entry: the local date at `recorded_at` in the phone's zone, or
    /// else in the patient's profile zone.
    pub fn journal_date(&self, profile_zone: TimeZone) -> NaiveDate {
        self.time_zone.unwrap_or(profile_zone).local_date(self.recorded_at)
    }
}

/// The journal day of an updated entry. Changing the profile's zone must not move old entries to
/// other days whenever they are edited, so the day stays unless the instant or the phone's zone
/// changed.
pub fn journal_date_on_update(current: &Entry, content: &EntryContent, computed: NaiveDate) -> NaiveDate {
    if current.content.recorded_at == content.recorded_at && current.content.time_zone == content.time_zone {
        current.local_date
    } else {
        computed
    }
}

pub const MAX_NOTES_CHARS: usize = 5000;
pub const MAX_MEDICATIONS: usize = 20;
pub const MAX_MEDICATION_CHARS: usize = 200;
/// Phones keep their own clocks; an entry may be this far ahead of ours.
pub const FUTURE_TOLERANCE: TimeDelta = TimeDelta::minutes(10);

/// A stored entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub id: Uuid,
    pub patient_id: Uuid,
    pub content: EntryContent,
    /// The journal day: the calendar date at `recorded_at` in the entry's `time_zone`, or else in
    /// the patient's zone when the entry was first written.
    pub local_date: NaiveDate,
    /// Starts at 1; each accepted change adds one.
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub fn check_recorded_at(recorded_at: DateTime<Utc>, now: DateTime<Utc>) -> Result<DateTime<Utc>, FieldProblem> {
    if recorded_at > now + FUTURE_TOLERANCE {
        return Err(FieldProblem::new("in_future", "must not be in the future"));
    }
    if recorded_at.timestamp() < 946_684_800 {
        return Err(FieldProblem::new("too_old", "must be after 2000-01-01"));
    }
    Ok(recorded_at)
}

/// Lengths count what was sent, surrounding spaces included, as the API document states them.
pub fn check_notes(notes: &str) -> Result<Option<String>, FieldProblem> {
    let trimmed = notes.trim();
    if notes.chars().count() > MAX_NOTES_CHARS {
        return Err(FieldProblem::new("too_long", format!("must be at most {MAX_NOTES_CHARS} characters")));
    }
    Ok((!trimmed.is_empty()).then(|| trimmed.to_owned()))
}

pub fn check_medication(item: &str) -> Result<String, FieldProblem> {
    let trimmed = item.trim();
    if trimmed.is_empty() {
        return Err(FieldProblem::new("empty", "must not be blank"));
    }
    if item.chars().count() > MAX_MEDICATION_CHARS {
        return Err(FieldProblem::new("too_long", format!("must be at most {MAX_MEDICATION_CHARS} characters")));
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_are_0_to_10() {
        assert_eq!(Score::new(0).unwrap().value(), 0);
        assert_eq!(Score::new(10).unwrap().value(), 10);
        assert!(Score::new(11).is_err());
        assert!(Score::new(-1).is_err());
    }

    #[test]
    fn names_round_trip() {
        for s in Symptom::ALL {
            assert_eq!(Symptom::parse(s.as_str()), Some(*s));
        }
        for q in PainQuality::ALL {
            assert_eq!(PainQuality::parse(q.as_str()), Some(*q));
        }
        for c in SelfCare::ALL {
            assert_eq!(SelfCare::parse(c.as_str()), Some(*c));
        }
        assert_eq!(Symptom::ALL.iter().filter(|s| s.leg().is_some()).count(), 8);
    }

    #[test]
    fn recorded_at_bounds() {
        let now: DateTime<Utc> = "2026-11-21T12:00:00Z".parse().unwrap();
        assert!(check_recorded_at(now + TimeDelta::minutes(10), now).is_ok());
        assert_eq!(check_recorded_at(now + TimeDelta::minutes(11), now).unwrap_err().code, "in_future");
        assert!(check_recorded_at("2019-05-01T08:00:00Z".parse().unwrap(), now).is_ok(), "backfill is fine");
        assert_eq!(check_recorded_at("1999-12-31T23:00:00Z".parse().unwrap(), now).unwrap_err().code, "too_old");
    }

    fn content(recorded_at: &str, time_zone: Option<&str>) -> EntryContent {
        EntryContent {
            recorded_at: recorded_at.parse().unwrap(),
            pain: Score::new(4).unwrap(),
            regions: vec![],
            symptoms: BTreeSet::new(),
            interference_activity: None,
            interference_enjoyment: None,
            sleep_quality: None,
            stress: None,
            self_care: BTreeSet::new(),
            medications: vec![],
            notes: None,
            time_zone: time_zone.map(|z| TimeZone::parse(z).unwrap()),
        }
    }

    #[test]
    fn the_journal_day_prefers_the_phones_zone() {
        let berlin = TimeZone::parse("Europe/Berlin").unwrap();
        // 23:30 in Berlin is 17:30 the same day in New York and 11:30 the next day in Auckland.
        let at = "2026-11-20T22:30:00Z";
        assert_eq!(content(at, None).journal_date(berlin), "2026-11-20".parse::<NaiveDate>().unwrap());
        assert_eq!(
            content(at, Some("Pacific/Auckland")).journal_date(berlin),
            "2026-11-21".parse::<NaiveDate>().unwrap()
        );
    }

    #[test]
    fn an_edit_keeps_the_day_unless_the_instant_or_zone_changes() {
        let written = content("2026-11-20T22:30:00Z", None);
        let current = Entry {
            id: Uuid::nil(),
            patient_id: Uuid::nil(),
            content: written.clone(),
            local_date: "2026-11-20".parse().unwrap(),
            version: 1,
            created_at: written.recorded_at,
            updated_at: written.recorded_at,
        };
        let next_day: NaiveDate = "2026-11-21".parse().unwrap();
        let mut notes_only = written.clone();
        notes_only.notes = Some("typo fixed".into());
        assert_eq!(journal_date_on_update(&current, &notes_only, next_day), current.local_date);
        let moved = content("2026-11-21T08:00:00Z", None);
        assert_eq!(journal_date_on_update(&current, &moved, next_day), next_day);
        let zoned = content("2026-11-20T22:30:00Z", Some("Pacific/Auckland"));
        assert_eq!(journal_date_on_update(&current, &zoned, next_day), next_day);
    }

    #[test]
    fn notes_and_medications() {
        assert_eq!(check_notes("  ").unwrap(), None);
        assert_eq!(check_notes(" bad night ").unwrap().as_deref(), Some("bad night"));
        assert!(check_notes(&"x".repeat(MAX_NOTES_CHARS + 1)).is_err());
        assert_eq!(check_medication(" ibuprofen 400 mg ").unwrap(), "ibuprofen 400 mg");
        assert!(check_medication(" ").is_err());
    }
}
