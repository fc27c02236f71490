//! What an alert rule reports: its tier, its stable id, and the evidence behind it.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::CheckIn;
use super::contact::EmergencyContact;
use crate::domain::journal::Symptom;

/// How urgently a finding needs acting on. The derived order is most urgent first, so sorting
/// ascending puts emergencies at the top.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// Call emergency services or go to A&E now.
    Emergency,
    /// Contact a doctor today.
    Urgent,
    /// Book a physiotherapist.
    SeePhysio,
    /// The patient's therapist should get in touch.
    TherapistFollowup,
}

impl Tier {
    /// Most urgent first.
    pub const ALL: &'static [Tier] = &[Tier::Emergency, Tier::Urgent, Tier::SeePhysio, Tier::TherapistFollowup];

    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Emergency => "emergency",
            Tier::Urgent => "urgent",
            Tier::SeePhysio => "see_physio",
            Tier::TherapistFollowup => "therapist_followup",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|t| t.as_str() == value)
    }

    /// What the patient should do, as one plain sentence.
    pub fn advice(self) -> &'static str {
        match self {
            Tier::Emergency => "Call emergency services or go to A&E now.",
            Tier::Urgent => "Contact a doctor today.",
            Tier::SeePhysio => "Consider booking an appointment with a physiotherapist.",
            Tier::TherapistFollowup => "Let your therapist know how you are; they will be told too.",
        }
    }

    /// Emergency and urgent findings are red flags: they may interrupt quiet hours and are sent
    /// with high push urgency.
    pub fn is_red_flag(self) -> bool {
        matches!(self, Tier::Emergency | Tier::Urgent)
    }
}

impl crate::domain::Named for Tier {
    const TYPE_NAME: &'static str = "AlertTier";

    fn all() -> &'static [Self] {
        Self::ALL
    }

    fn name(self) -> &'static str {
        self.as_str()
    }
}

/// The stable id of an alert rule. Stored with every alert, so the names never change.
/// Declared (and ordered) by tier, most urgent first.
///
/// | id | tier | fires on |
/// |---|---|---|
/// | `cauda_equina_signs` | emergency | saddle numbness, or a new bladder or bowel change |
/// | `both_legs` | emergency | numbness, tingling or weakness in the left and the right leg |
/// | `fever` | urgent | fever |
/// | `unexplained_weight_loss` | urgent | unexplained weight loss |
/// | `night_pain` | urgent | night pain not eased by rest |
/// | `pain_after_fall` | urgent | pain after a fall or accident |
/// | `leg_swelling` | urgent | a swollen, red, warm or painful leg, in the journal or at a massage check-in |
/// | `persistent` | see_physio | pain most days for weeks, not improving |
/// | `worsening` | see_physio | this week's pain clearly above last week's |
/// | `neurological` | see_physio | numbness, tingling, weakness or radiating pain in a leg |
/// | `severe_pain` | see_physio | worst pain 8 or more on 3 of the last 7 days |
/// | `soreness_after_massage` | therapist_followup | high soreness 48 h after a massage |
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleId {
    CaudaEquinaSigns,
    BothLegs,
    Fever,
    UnexplainedWeightLoss,
    NightPain,
    PainAfterFall,
    LegSwelling,
    Persistent,
    Worsening,
    Neurological,
    SeverePain,
    SorenessAfterMassage,
}

impl RuleId {
    /// Every rule, most urgent tier first.
    pub const ALL: &'static [RuleId] = &[
        RuleId::CaudaEquinaSigns,
        RuleId::BothLegs,
        RuleId::Fever,
        RuleId::UnexplainedWeightLoss,
        RuleId::NightPain,
        RuleId::PainAfterFall,
        RuleId::LegSwelling,
        RuleId::Persistent,
        RuleId::Worsening,
        RuleId::Neurological,
        RuleId::SeverePain,
        RuleId::SorenessAfterMassage,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RuleId::CaudaEquinaSigns => "cauda_equina_signs",
            RuleId::BothLegs => "both_legs",
            RuleId::Fever => "fever",
            RuleId::UnexplainedWeightLoss => "unexplained_weight_loss",
            RuleId::NightPain => "night_pain",
            RuleId::PainAfterFall => "pain_after_fall",
            RuleId::LegSwelling => "leg_swelling",
            RuleId::Persistent => "persistent",
            RuleId::Worsening => "worsening",
            RuleId::Neurological => "neurological",
            RuleId::SeverePain => "severe_pain",
            RuleId::SorenessAfterMassage => "soreness_after_massage",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|r| r.as_str() == value)
    }

    /// Every rule has exactly one tier.
    pub fn tier(self) -> Tier {
        match self {
            RuleId::CaudaEquinaSigns | RuleId::BothLegs => Tier::Emergency,
            RuleId::Fever
            | RuleId::UnexplainedWeightLoss
            | RuleId::NightPain
            | RuleId::PainAfterFall
            | RuleId::LegSwelling => Tier::Urgent,
            RuleId::Persistent | RuleId::Worsening | RuleId::Neurological | RuleId::SeverePain => Tier::SeePhysio,
            RuleId::SorenessAfterMassage => Tier::TherapistFollowup,
        }
    }

    /// The guidance the rule follows, as references a clinician can look up (title and link, or
    /// a citation), separated by semicolons. Named in every explanation.
    pub fn source(self) -> &'static str {
        use super::sources::*;
        match self {
            RuleId::CaudaEquinaSigns | RuleId::BothLegs => CAUDA_EQUINA,
            RuleId::Fever | RuleId::UnexplainedWeightLoss | RuleId::NightPain | RuleId::PainAfterFall => RED_FLAGS,
            RuleId::LegSwelling => LEG_SWELLING,
            RuleId::Persistent => PERSISTENT,
            RuleId::Worsening => WORSENING,
            RuleId::Neurological => NEUROLOGICAL,
            RuleId::SeverePain => SEVERE_PAIN,
            RuleId::SorenessAfterMassage => SORENESS_AFTER_MASSAGE,
        }
    }
}

impl crate::domain::Named for RuleId {
    const TYPE_NAME: &'static str = "AlertRule";

    fn all() -> &'static [Self] {
        Self::ALL
    }

    fn name(self) -> &'static str {
        self.as_str()
    }
}

/// One rule that fires for a patient on an evaluation date.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub rule: RuleId,
    /// Always `rule.tier()`; carried so consumers need not look it up.
    pub tier: Tier,
    /// The days, values and answers that made the rule fire: summaries (counts, medians) first,
    /// then single days, symptoms and check-ins, oldest first.
    pub evidence: Vec<Evidence>,
    /// Plain language: what fired, with its numbers, then the tier's advice and the source in
    /// brackets, e.g. "… Contact a doctor today (NHS red flags for back pain)."
    pub explanation: String,
    /// Always `rule.source()`.
    pub source: &'static str,
    /// What fired (the explanation's first sentences), kept to word the advice again for the
    /// patient's region.
    #[serde(skip)]
    summary: String,
}

impl Finding {
    /// `what` says what fired, as one or more sentences ending in a full stop; its first letter
    /// is capitalized here. The advice names the fallback emergency number (112) until
    /// [`Finding::localize`] names the patient's.
    pub(super) fn new(rule: RuleId, evidence: Vec<Evidence>, what: &str) -> Self {
        let summary = super::text::capitalize(what);
        let mut finding =
            Self { rule, tier: rule.tier(), evidence, explanation: String::new(), source: rule.source(), summary };
        finding.localize(&EmergencyContact::default());
        finding
    }

    /// Words the advice for a patient whose emergency services are `contact`: what fired, what
    /// to do (with the safety net for see-physio alerts), then the source in brackets.
    pub fn localize(&mut self, contact: &EmergencyContact) {
        let advice = super::text::advice(self.rule, contact);
        self.explanation = format!("{} {} ({}).", self.summary, advice.trim_end_matches('.'), self.source);
    }
}

/// One fact behind a finding. Serialized with a `kind` tag, e.g.
/// `{"kind":"daily_max","date":"2026-11-12","max":6}`, so it can be stored as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Evidence {
    /// The worst pain (0–10) logged on one local day.
    DailyMax { date: NaiveDate, max: u8 },
    /// How many logged days of `from..=to` had a worst pain of at least `min_daily_max`.
    DaysAtOrAbove { from: NaiveDate, to: NaiveDate, min_daily_max: u8, days: u32, logged_days: u32 },
    /// The median of the daily worst pain over the logged days of `from..=to`; `None` when no day
    /// was logged. Always a whole or half number.
    MedianDailyMax { from: NaiveDate, to: NaiveDate, logged_days: u32, median: Option<f64> },
    /// A symptom ticked in a journal entry on that local day.
    Symptom {
        date: NaiveDate,
        #[serde(with = "symptom_name")]
        symptom: Symptom,
    },
    /// A massage aftercare check-in answer.
    CheckIn(CheckIn),
}

impl Evidence {
    pub(super) fn median(from: NaiveDate, to: NaiveDate, logged_days: usize, median_x2: Option<u32>) -> Self {
        Evidence::MedianDailyMax {
            from,
            to,
            logged_days: logged_days as u32,
            median: median_x2.map(|m| f64::from(m) / 2.0),
        }
    }
}

/// Symptoms travel by their stable journal names.
mod symptom_name {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    use crate::domain::journal::Symptom;

    pub fn serialize<S: Serializer>(symptom: &Symptom, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(symptom.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Symptom, D::Error> {
        let name = String::deserialize(deserializer)?;
        Symptom::parse(&name).ok_or_else(|| D::Error::custom(format!("unknown symptom {name:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_sort_most_urgent_first() {
        let mut tiers = vec![Tier::TherapistFollowup, Tier::Urgent, Tier::SeePhysio, Tier::Emergency];
        tiers.sort();
        assert_eq!(tiers, Tier::ALL);
        for tier in Tier::ALL {
            assert_eq!(Tier::parse(tier.as_str()), Some(*tier));
            assert_eq!(serde_json::to_value(tier).unwrap(), tier.as_str());
        }
        assert!(Tier::Emergency.is_red_flag() && Tier::Urgent.is_red_flag());
        assert!(!Tier::SeePhysio.is_red_flag() && !Tier::TherapistFollowup.is_red_flag());
    }

    #[test]
    fn rule_ids_are_stable_and_ordered_by_tier() {
        let names: Vec<&str> = RuleId::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(
            names,
            [
                "cauda_equina_signs",
                "both_legs",
                "fever",
                "unexplained_weight_loss",
                "night_pain",
                "pain_after_fall",
                "leg_swelling",
                "persistent",
                "worsening",
                "neurological",
                "severe_pain",
                "soreness_after_massage",
            ]
        );
        for rule in RuleId::ALL {
            assert_eq!(RuleId::parse(rule.as_str()), Some(*rule));
            assert_eq!(serde_json::to_value(rule).unwrap(), rule.as_str());
            assert!(!rule.source().is_empty());
        }
        assert!(RuleId::ALL.windows(2).all(|w| w[0] < w[1] && w[0].tier() <= w[1].tier()));
        assert_eq!(RuleId::parse("nope"), None);
    }

    #[test]
    fn evidence_round_trips_as_tagged_json() {
        let evidence = vec![
            Evidence::DailyMax { date: "2026-11-12".parse().unwrap(), max: 6 },
            Evidence::MedianDailyMax {
                from: "2026-11-06".parse().unwrap(),
                to: "2026-11-12".parse().unwrap(),
                logged_days: 4,
                median: Some(5.5),
            },
            Evidence::Symptom { date: "2026-11-12".parse().unwrap(), symptom: Symptom::TinglingLeftLeg },
            Evidence::CheckIn(CheckIn {
                session_id: uuid::Uuid::nil(),
                hours_after: 48,
                soreness: 7,
                leg_swelling_redness_warmth: false,
                answered_on: "2026-11-12".parse().unwrap(),
                pain_before: Some(3),
            }),
        ];
        let json = serde_json::to_value(&evidence).unwrap();
        assert_eq!(json[0], serde_json::json!({"kind": "daily_max", "date": "2026-11-12", "max": 6}));
        assert_eq!(
            json[2],
            serde_json::json!({"kind": "symptom", "date": "2026-11-12", "symptom": "tingling_left_leg"})
        );
        assert_eq!(json[3]["kind"], "check_in");
        assert_eq!(json[3]["soreness"], 7);
        let back: Vec<Evidence> = serde_json::from_value(json).unwrap();
        assert_eq!(back, evidence);
        let unknown = serde_json::json!({"kind": "symptom", "date": "2026-11-12", "symptom": "hiccups"});
        assert!(serde_json::from_value::<Evidence>(unknown).is_err());
    }
}
