//! Pure rules: no I/O, no clocks, no databases. Everything here is unit-tested on its own.

pub mod account;
pub mod aftercare;
pub mod alerts;
pub mod body;
pub mod care;
pub mod chart;
pub mod fhir;
pub mod journal;
pub mod massage;
pub mod notes;
pub mod notifications;
pub mod questionnaires;
pub mod report;
pub mod rollup;
pub mod screening;
pub mod share;
pub mod time;
pub mod validation;

pub use account::{Account, Discipline, DisplayName, Email, Locale, Password, ProfileChanges, Role};
pub use aftercare::{PlannedStep, Step, StepKind, Template, Timing, default_template, plan};
pub use massage::{Intensity, Pressure, SessionKind};
pub use screening::{Condition, HealthScreen, Outcome, PlannedSession, Warning, screen};
pub use time::{QuietHours, TimeZone};
pub use validation::{FieldError, FieldProblem, ValidationErrors};

/// A closed set of values known by snake_case names (regions, symptoms …), so the API can
/// describe and parse each set without a copy of it.
pub trait Named: Copy + Send + Sync + 'static {
    const TYPE_NAME: &'static str;
    /// What the set is, for people reading the API document.
    const DESCRIPTION: &'static str = "";
    fn all() -> &'static [Self];
    fn name(self) -> &'static str;

    /// What this value means, for people reading the API document.
    fn description(self) -> &'static str {
        ""
    }

    fn from_name(name: &str) -> Option<Self> {
        Self::all().iter().copied().find(|v| v.name() == name)
    }
}

/// Implements [`Named`] for an enum that already has `as_str`, with the words the API document
/// shows for the set and for each value.
macro_rules! impl_named {
    ($type:ty, $name:literal, $description:literal, { $($value:path => $text:literal),+ $(,)? }) => {
        impl $crate::domain::Named for $type {
            const TYPE_NAME: &'static str = $name;
            const DESCRIPTION: &'static str = $description;

            fn all() -> &'static [Self] {
                const ALL: &[$type] = &[$($value),+];
                ALL
            }

            fn name(self) -> &'static str {
                self.as_str()
            }

            fn description(self) -> &'static str {
                match self {
                    $($value => $text),+
                }
            }
        }
    };
}

impl_named!(massage::SessionKind, "SessionKind", "The kind of massage.", {
    massage::SessionKind::DeepTissue => "Deep tissue: firm, slow strokes that reach the deeper layers of muscle.",
    massage::SessionKind::Swedish => "Swedish or relaxation massage: long, gentle strokes.",
    massage::SessionKind::Sports => "Sports massage, for training and recovery.",
    massage::SessionKind::TriggerPoint => "Trigger point therapy: pressure held on tight knots.",
    massage::SessionKind::MyofascialRelease => "Myofascial release: sustained pressure on the connective tissue.",
    massage::SessionKind::HotStone => "Hot stone massage, with warmed stones.",
    massage::SessionKind::Other => "Any other kind (planned for as if it were deep tissue).",
});
impl_named!(massage::Pressure, "Pressure", "How firm the massage was.", {
    massage::Pressure::Light => "Light pressure.",
    massage::Pressure::Medium => "Medium pressure.",
    massage::Pressure::Firm => "Firm pressure (weighs like deep tissue in the contraindication screen).",
});
impl_named!(screening::Condition, "Condition", "A condition of the health screen that matters for massage.", {
    screening::Condition::BloodClots => "Deep vein thrombosis or other blood clots.",
    screening::Condition::BleedingDisorderOrAnticoagulants => "A bleeding or clotting disorder, or taking anticoagulants.",
    screening::Condition::RecentFracture => "A recent fracture.",
    screening::Condition::Osteoporosis => "Osteoporosis (severe or not).",
    screening::Condition::Fever => "A fever now.",
    screening::Condition::RecentInjury => "A recent or acute injury.",
    screening::Condition::SkinInfectionOrWound => "A skin infection or an open wound.",
    screening::Condition::Arthritis => "Arthritis, and whether inflamed joints are in a flare.",
    screening::Condition::Pregnancy => "Pregnancy.",
    screening::Condition::HeartCondition => "A heart or circulation condition.",
    screening::Condition::HerniatedDisc => "A herniated (slipped) disc.",
    screening::Condition::Cancer => "Cancer, now or in the past.",
});
impl_named!(screening::Outcome, "ScreenOutcome", "What a contraindication warning asks for.", {
    screening::Outcome::Avoid => "Not without medical clearance.",
    screening::Outcome::Modify => "Only with the session changed: away from an area, or lighter pressure.",
    screening::Outcome::Consult => "Check with a doctor or physiotherapist first.",
});
