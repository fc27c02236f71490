//! The vocabulary of massage sessions: what kind of massage it was, how firm the pressure was,
//! and how vigorous the two together make it.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The kind of massage, as the patient or therapist names it. The snake_case names are the
/// stored and wire form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionKind {
    DeepTissue,
    /// Swedish or relaxation massage.
    Swedish,
    Sports,
    TriggerPoint,
    MyofascialRelease,
    HotStone,
    Other,
}

impl SessionKind {
    pub const ALL: [SessionKind; 7] = [
        SessionKind::DeepTissue,
        SessionKind::Swedish,
        SessionKind::Sports,
        SessionKind::TriggerPoint,
        SessionKind::MyofascialRelease,
        SessionKind::HotStone,
        SessionKind::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SessionKind::DeepTissue => "deep_tissue",
            SessionKind::Swedish => "swedish",
            SessionKind::Sports => "sports",
            SessionKind::TriggerPoint => "trigger_point",
            SessionKind::MyofascialRelease => "myofascial_release",
            SessionKind::HotStone => "hot_stone",
            SessionKind::Other => "other",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == value)
    }

    /// A short English name for people.
    pub fn label(self) -> &'static str {
        match self {
            SessionKind::DeepTissue => "Deep tissue",
            SessionKind::Swedish => "Swedish / relaxation",
            SessionKind::Sports => "Sports",
            SessionKind::TriggerPoint => "Trigger point",
            SessionKind::MyofascialRelease => "Myofascial release",
            SessionKind::HotStone => "Hot stone",
            SessionKind::Other => "Other",
        }
    }

    /// Kinds that work deep into the muscle by their nature, whatever pressure is recorded.
    pub fn is_deep_by_nature(self) -> bool {
        matches!(
            self,
            SessionKind::DeepTissue | SessionKind::Sports | SessionKind::TriggerPoint | SessionKind::MyofascialRelease
        )
    }
}

impl fmt::Display for SessionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The pressure used in a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pressure {
    Light,
    Medium,
    Firm,
}

impl Pressure {
    pub const ALL: [Pressure; 3] = [Pressure::Light, Pressure::Medium, Pressure::Firm];

    pub fn as_str(self) -> &'static str {
        match self {
            Pressure::Light => "light",
            Pressure::Medium => "medium",
            Pressure::Firm => "firm",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == value)
    }
}

impl fmt::Display for Pressure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How much load a session puts on the body, which the contraindication screen weighs: deep
/// work and firm pressure matter more than a light relaxation massage.
///
/// - `Vigorous`: deep tissue, sports, trigger point or myofascial release (at any recorded
///   pressure), or any kind with firm pressure.
/// - `Gentle`: Swedish/relaxation or hot stone with light pressure.
/// - `Moderate`: everything else — Swedish or hot stone with medium or unrecorded pressure, and
///   `other` with light, medium or unrecorded pressure. The screen treats it like `Vigorous`
///   wherever only a gentle session would justify a milder outcome, so an unknown pressure never
///   earns a softer warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Intensity {
    Gentle,
    Moderate,
    Vigorous,
}

impl Intensity {
    pub fn of(kind: SessionKind, pressure: Option<Pressure>) -> Self {
        if kind.is_deep_by_nature() || pressure == Some(Pressure::Firm) {
            Intensity::Vigorous
        } else if matches!(kind, SessionKind::Swedish | SessionKind::HotStone) && pressure == Some(Pressure::Light) {
            Intensity::Gentle
        } else {
            Intensity::Moderate
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Intensity::Gentle => "gentle",
            Intensity::Moderate => "moderate",
            Intensity::Vigorous => "vigorous",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for kind in SessionKind::ALL {
            assert_eq!(SessionKind::parse(kind.as_str()), Some(kind));
            assert_eq!(serde_json::to_value(kind).unwrap(), serde_json::Value::from(kind.as_str()));
        }
        for pressure in Pressure::ALL {
            assert_eq!(Pressure::parse(pressure.as_str()), Some(pressure));
            assert_eq!(serde_json::to_value(pressure).unwrap(), serde_json::Value::from(pressure.as_str()));
        }
        assert_eq!(SessionKind::parse("Swedish"), None);
        assert_eq!(SessionKind::parse("shiatsu"), None);
        assert_eq!(Pressure::parse("hard"), None);
        assert_eq!(
            serde_json::from_str::<SessionKind>("\"myofascial_release\"").unwrap(),
            SessionKind::MyofascialRelease
        );
    }

    #[test]
    fn intensity_of_every_kind_and_pressure() {
        use Intensity::*;
        use Pressure::*;
        use SessionKind::*;
        let cases = [
            (DeepTissue, None, Vigorous),
            (DeepTissue, Some(Light), Vigorous),
            (Sports, Some(Medium), Vigorous),
            (TriggerPoint, None, Vigorous),
            (MyofascialRelease, Some(Light), Vigorous),
            (Swedish, Some(Light), Gentle),
            (Swedish, Some(Medium), Moderate),
            (Swedish, None, Moderate),
            (Swedish, Some(Firm), Vigorous),
            (HotStone, Some(Light), Gentle),
            (HotStone, None, Moderate),
            (HotStone, Some(Firm), Vigorous),
            (Other, Some(Light), Moderate),
            (Other, None, Moderate),
            (Other, Some(Firm), Vigorous),
        ];
        for (kind, pressure, expected) in cases {
            assert_eq!(Intensity::of(kind, pressure), expected, "{kind} with {pressure:?}");
        }
    }
}
