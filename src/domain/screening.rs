//! The patient's health screen and the contraindication screen that checks a planned massage
//! against it.
//!
//! The screen follows the contraindications in `notes/clinical-sources.md`: some conditions need
//! medical clearance before massage (`avoid`), some need the session adapted, usually by keeping
//! away from an area (`modify`), and some need a word with a doctor first (`consult`). How
//! vigorous the session is (see [`Intensity`]) raises or lowers an outcome where that is
//! clinically sensible; each such choice is explained where it is made in [`screen`].
//!
//! The warnings guide and never diagnose: they say what to do, when to stop and when to get help.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::body::Region;
use super::massage::{Intensity, Pressure, SessionKind};
use super::validation::ValidationErrors;

/// A condition the health screen asks about. The snake_case names are the field names of
/// [`HealthScreen`] and the `condition` of a [`Warning`].
///
/// Declared in the order warnings of equal outcome are listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    /// Deep vein thrombosis (DVT) or another blood clot.
    BloodClots,
    /// A bleeding or clotting disorder, or taking anticoagulants (blood thinners).
    BleedingDisorderOrAnticoagulants,
    /// A recently broken bone.
    RecentFracture,
    Osteoporosis,
    /// A fever now (38 °C or higher).
    Fever,
    /// A recent or acute injury such as a strain, sprain or bruise.
    RecentInjury,
    /// An infectious skin condition or an open wound.
    SkinInfectionOrWound,
    /// Arthritis; what matters is an inflammatory flare (hot, swollen joints).
    Arthritis,
    Pregnancy,
    /// A heart or other cardiovascular condition.
    HeartCondition,
    /// A herniated ("slipped") disc.
    HerniatedDisc,
    /// Cancer now or in the past.
    Cancer,
}

impl Condition {
    pub const ALL: [Condition; 12] = [
        Condition::BloodClots,
        Condition::BleedingDisorderOrAnticoagulants,
        Condition::RecentFracture,
        Condition::Osteoporosis,
        Condition::Fever,
        Condition::RecentInjury,
        Condition::SkinInfectionOrWound,
        Condition::Arthritis,
        Condition::Pregnancy,
        Condition::HeartCondition,
        Condition::HerniatedDisc,
        Condition::Cancer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Condition::BloodClots => "blood_clots",
            Condition::BleedingDisorderOrAnticoagulants => "bleeding_disorder_or_anticoagulants",
            Condition::RecentFracture => "recent_fracture",
            Condition::Osteoporosis => "osteoporosis",
            Condition::Fever => "fever",
            Condition::RecentInjury => "recent_injury",
            Condition::SkinInfectionOrWound => "skin_infection_or_wound",
            Condition::Arthritis => "arthritis",
            Condition::Pregnancy => "pregnancy",
            Condition::HeartCondition => "heart_condition",
            Condition::HerniatedDisc => "herniated_disc",
            Condition::Cancer => "cancer",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == value)
    }
}

/// The answer to one yes/no question of the health screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Answer {
    pub present: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The local date on which the patient last confirmed this answer.
    pub confirmed_on: NaiveDate,
}

/// The answer to a question about something in a particular place: a fracture, an injury, a skin
/// problem. An empty `regions` list means the place is not known, and the screen then assumes
/// any worked region may be affected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionalAnswer {
    pub present: bool,
    #[serde(default, with = "region_names", skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<Region>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub confirmed_on: NaiveDate,
}

/// The answer about osteoporosis, which matters more when it is severe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OsteoporosisAnswer {
    pub present: bool,
    /// Severe osteoporosis, or osteoporosis with fragility fractures, as the patient's doctor
    /// described it.
    #[serde(default)]
    pub severe: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub confirmed_on: NaiveDate,
}

/// The answer about arthritis: whether joints are inflamed in a flare now, and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArthritisAnswer {
    pub present: bool,
    /// An inflammatory arthritis (such as rheumatoid arthritis) in a flare now: hot, swollen,
    /// painful joints.
    #[serde(default)]
    pub inflammatory_flare: bool,
    /// The inflamed joints' regions; empty when not known.
    #[serde(default, with = "region_names", skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<Region>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub confirmed_on: NaiveDate,
}

/// What a patient has told us about conditions that matter for massage. `None` means the
/// question has not been answered yet; an answer with `present: false` is a confirmed "no".
///
/// Stored as JSON as it is (field names are [`Condition::as_str`]); [`HealthScreen::validate`]
/// checks and normalises one received from a client.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthScreen {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blood_clots: Option<Answer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bleeding_disorder_or_anticoagulants: Option<Answer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recent_fracture: Option<RegionalAnswer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub osteoporosis: Option<OsteoporosisAnswer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fever: Option<Answer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recent_injury: Option<RegionalAnswer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skin_infection_or_wound: Option<RegionalAnswer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arthritis: Option<ArthritisAnswer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pregnancy: Option<Answer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heart_condition: Option<Answer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub herniated_disc: Option<Answer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancer: Option<Answer>,
}

/// The parts every answer has, whatever its details.
struct Common<'a> {
    present: bool,
    note: &'a Option<String>,
    confirmed_on: NaiveDate,
}

impl HealthScreen {
    /// Longest note on one answer, in characters.
    pub const MAX_NOTE_CHARS: usize = 500;

    /// Checks a screen received from a client and returns it normalised: notes trimmed (blank
    /// ones dropped), regions sorted without repeats. `today` is the patient's local date; an
    /// answer cannot be confirmed after it. Errors name the field, e.g. `osteoporosis.severe`.
    pub fn validate(mut self, today: NaiveDate) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        for condition in Condition::ALL {
            let field = condition.as_str();
            let Some(common) = self.common(condition) else { continue };
            if common.confirmed_on > today {
                errors.add(format!("{field}.confirmed_on"), "in_future", "must not be later than today");
            }
            if let Some(note) = common.note {
                check_note(&mut errors, &format!("{field}.note"), note);
            }
            if !common.present {
                let detail = match condition {
                    Condition::RecentFracture => self.recent_fracture.as_ref().is_some_and(|a| !a.regions.is_empty()),
                    Condition::RecentInjury => self.recent_injury.as_ref().is_some_and(|a| !a.regions.is_empty()),
                    Condition::SkinInfectionOrWound => {
                        self.skin_infection_or_wound.as_ref().is_some_and(|a| !a.regions.is_empty())
                    }
                    Condition::Osteoporosis => self.osteoporosis.as_ref().is_some_and(|a| a.severe),
                    Condition::Arthritis => {
                        self.arthritis.as_ref().is_some_and(|a| a.inflammatory_flare || !a.regions.is_empty())
                    }
                    _ => false,
                };
                if detail {
                    let detail_field = match condition {
                        Condition::Osteoporosis => "severe",
                        Condition::Arthritis if self.arthritis.as_ref().is_some_and(|a| a.inflammatory_flare) => {
                            "inflammatory_flare"
                        }
                        _ => "regions",
                    };
                    errors.add(
                        format!("{field}.{detail_field}"),
                        "not_applicable",
                        "may only be given when the condition is present",
                    );
                }
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        self.normalise();
        Ok(self)
    }

    /// The conditions the patient has said they have.
    pub fn present(&self) -> Vec<Condition> {
        Condition::ALL.into_iter().filter(|c| self.has(*c)).collect()
    }

    /// The questions not answered yet; a client can ask them before the first session.
    pub fn unanswered(&self) -> Vec<Condition> {
        Condition::ALL.into_iter().filter(|c| self.common(*c).is_none()).collect()
    }

    /// When the answer about `condition` was last confirmed, if it has been answered.
    pub fn confirmed_on(&self, condition: Condition) -> Option<NaiveDate> {
        self.common(condition).map(|c| c.confirmed_on)
    }

    /// Whether the patient has said they have `condition`.
    pub fn has(&self, condition: Condition) -> bool {
        self.common(condition).is_some_and(|c| c.present)
    }

    fn common(&self, condition: Condition) -> Option<Common<'_>> {
        fn plain(a: &Option<Answer>) -> Option<Common<'_>> {
            a.as_ref().map(|a| Common { present: a.present, note: &a.note, confirmed_on: a.confirmed_on })
        }
        fn regional(a: &Option<RegionalAnswer>) -> Option<Common<'_>> {
            a.as_ref().map(|a| Common { present: a.present, note: &a.note, confirmed_on: a.confirmed_on })
        }
        match condition {
            Condition::BloodClots => plain(&self.blood_clots),
            Condition::BleedingDisorderOrAnticoagulants => plain(&self.bleeding_disorder_or_anticoagulants),
            Condition::RecentFracture => regional(&self.recent_fracture),
            Condition::Osteoporosis => self.osteoporosis.as_ref().map(|a| Common {
                present: a.present,
                note: &a.note,
                confirmed_on: a.confirmed_on,
            }),
            Condition::Fever => plain(&self.fever),
            Condition::RecentInjury => regional(&self.recent_injury),
            Condition::SkinInfectionOrWound => regional(&self.skin_infection_or_wound),
            Condition::Arthritis => self.arthritis.as_ref().map(|a| Common {
                present: a.present,
                note: &a.note,
                confirmed_on: a.confirmed_on,
            }),
            Condition::Pregnancy => plain(&self.pregnancy),
            Condition::HeartCondition => plain(&self.heart_condition),
            Condition::HerniatedDisc => plain(&self.herniated_disc),
            Condition::Cancer => plain(&self.cancer),
        }
    }

    fn normalise(&mut self) {
        fn note(note: &mut Option<String>) {
            *note = note.take().map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
        }
        for answer in [
            &mut self.blood_clots,
            &mut self.bleeding_disorder_or_anticoagulants,
            &mut self.fever,
            &mut self.pregnancy,
            &mut self.heart_condition,
            &mut self.herniated_disc,
            &mut self.cancer,
        ]
        .into_iter()
        .flatten()
        {
            note(&mut answer.note);
        }
        for answer in [&mut self.recent_fracture, &mut self.recent_injury, &mut self.skin_infection_or_wound]
            .into_iter()
            .flatten()
        {
            note(&mut answer.note);
            answer.regions.sort();
            answer.regions.dedup();
        }
        if let Some(answer) = &mut self.osteoporosis {
            note(&mut answer.note);
        }
        if let Some(answer) = &mut self.arthritis {
            note(&mut answer.note);
            answer.regions.sort();
            answer.regions.dedup();
        }
    }
}

fn check_note(errors: &mut ValidationErrors, field: &str, note: &str) {
    if note.trim().chars().count() > HealthScreen::MAX_NOTE_CHARS {
        errors.add(field, "too_long", format!("must be at most {} characters", HealthScreen::MAX_NOTE_CHARS));
    }
    if note.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        errors.add(field, "invalid_characters", "must not contain control characters other than line breaks");
    }
}

/// Reads and writes a list of regions by their snake_case names.
mod region_names {
    use serde::de::{Error, SeqAccess, Visitor};
    use serde::ser::SerializeSeq;
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::domain::body::Region;

    const NAMES: &[&str] = &[
        "neck",
        "upper_back",
        "mid_back",
        "lower_back",
        "left_shoulder",
        "right_shoulder",
        "left_hip",
        "right_hip",
        "glutes",
        "left_leg",
        "right_leg",
    ];

    pub fn serialize<S: Serializer>(regions: &[Region], serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(regions.len()))?;
        for region in regions {
            seq.serialize_element(region.as_str())?;
        }
        seq.end()
    }

    /// One name; failing here, inside the element, lets error paths name its index.
    struct Name(Region);

    impl<'de> Deserialize<'de> for Name {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            let name = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
            Region::parse(&name).map(Name).ok_or_else(|| D::Error::unknown_variant(&name, NAMES))
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Region>, D::Error> {
        struct Names;
        impl<'de> Visitor<'de> for Names {
            type Value = Vec<Region>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a list of body region names")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut regions = Vec::new();
                while let Some(Name(region)) = seq.next_element()? {
                    regions.push(region);
                }
                Ok(regions)
            }
        }
        deserializer.deserialize_seq(Names)
    }

    #[cfg(test)]
    #[test]
    fn names_cover_every_region() {
        let names: Vec<&str> = Region::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(names, NAMES);
    }
}

/// Whether two regions are the same or border each other, so that work on one reaches the other.
pub fn regions_meet(a: Region, b: Region) -> bool {
    a == b || neighbours(a).contains(&b)
}

/// The regions bordering `region`.
pub fn neighbours(region: Region) -> &'static [Region] {
    use Region::*;
    match region {
        Neck => &[UpperBack, LeftShoulder, RightShoulder],
        UpperBack => &[Neck, MidBack, LeftShoulder, RightShoulder],
        MidBack => &[UpperBack, LowerBack],
        LowerBack => &[MidBack, Glutes, LeftHip, RightHip],
        LeftShoulder => &[Neck, UpperBack],
        RightShoulder => &[Neck, UpperBack],
        LeftHip => &[LowerBack, Glutes, LeftLeg],
        RightHip => &[LowerBack, Glutes, RightLeg],
        Glutes => &[LowerBack, LeftHip, RightHip, LeftLeg, RightLeg],
        LeftLeg => &[LeftHip, Glutes],
        RightLeg => &[RightHip, Glutes],
    }
}

/// Whether a session working `worked` reaches a problem at `affected`. When either list is empty
/// the place is unknown, and the answer is yes.
fn reaches(affected: &[Region], worked: &[Region]) -> bool {
    affected.is_empty() || worked.is_empty() || affected.iter().any(|a| worked.iter().any(|w| regions_meet(*a, *w)))
}

/// The regions of the spine, where pressure matters with a herniated disc.
const SPINE: [Region; 4] = [Region::Neck, Region::UpperBack, Region::MidBack, Region::LowerBack];

/// A massage about to be recorded or booked, as far as the screen needs to know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedSession {
    pub kind: SessionKind,
    pub pressure: Option<Pressure>,
    /// The regions to be worked; empty when not recorded.
    pub regions: Vec<Region>,
}

impl PlannedSession {
    pub fn intensity(&self) -> Intensity {
        Intensity::of(self.kind, self.pressure)
    }
}

/// What a warning asks for. Ordered from most to least serious: `Avoid` sorts first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Do not go ahead without medical clearance.
    Avoid,
    /// Go ahead only with the session changed: keep away from an area, or lighter pressure.
    Modify,
    /// Check with a doctor (or midwife, physiotherapist, care team) first and tell the therapist.
    Consult,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Avoid => "avoid",
            Outcome::Modify => "modify",
            Outcome::Consult => "consult",
        }
    }
}

/// One finding of the contraindication screen, worded for the patient and their therapist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warning {
    pub condition: Condition,
    pub outcome: Outcome,
    pub reason: String,
}

/// Checks a planned session against the health screen. Only conditions answered "present" give
/// warnings; the result lists the most serious first (`avoid`, `modify`, `consult`), and within
/// one outcome in the order of [`Condition`].
pub fn screen(health: &HealthScreen, planned: &PlannedSession) -> Vec<Warning> {
    let intensity = planned.intensity();
    let gentle = intensity == Intensity::Gentle;
    let vigorous = intensity == Intensity::Vigorous;
    let mut warnings = Vec::new();
    let mut warn =
        |condition, outcome, reason: &str| warnings.push(Warning { condition, outcome, reason: reason.into() });

    // Blood clots: avoid at every intensity. The danger is disturbing a clot, which light
    // pressure does not rule out, and the screen does not know where the clot is.
    if health.has(Condition::BloodClots) {
        warn(
            Condition::BloodClots,
            Outcome::Avoid,
            "You've told us about a blood clot, such as a DVT. Massage could disturb a clot, so please get your \
             doctor's go-ahead before this session. If a leg becomes swollen, red, warm or painful, get medical \
             help straight away; if you suddenly feel short of breath or have chest pain, call emergency services.",
        );
    }

    // Bleeding or clotting disorder, or anticoagulants: the sources say to avoid deep tissue
    // without clearance because firm pressure causes bruising and bleeding under the skin. A
    // gentle session (Swedish or hot stone, light pressure) is the form usually offered to people
    // on blood thinners, so it is lowered to consult. A moderate session (e.g. medium or unknown
    // pressure) is not lowered: only a known light pressure earns the milder outcome.
    if health.has(Condition::BleedingDisorderOrAnticoagulants) {
        if gentle {
            warn(
                Condition::BleedingDisorderOrAnticoagulants,
                Outcome::Consult,
                "With a bleeding or clotting condition, or blood-thinning medicine, you may bruise more easily. \
                 Light, gentle massage is usually the safer choice, but please check with your doctor first and \
                 make sure your therapist knows. Tell your therapist straight away if the pressure hurts, and \
                 contact your doctor if you notice unusual bruising or bleeding.",
            );
        } else {
            warn(
                Condition::BleedingDisorderOrAnticoagulants,
                Outcome::Avoid,
                "With a bleeding or clotting condition, or blood-thinning medicine, firmer massage can cause \
                 bruising or bleeding under the skin. Please get your doctor's go-ahead before this session; a \
                 gentle, light-pressure massage may be an option they agree to. Contact your doctor if you notice \
                 unusual bruising or bleeding.",
            );
        }
    }

    // Recent fracture: avoid when the session reaches the fracture or either place is unknown,
    // at any intensity — pressure on or next to a healing bone is the risk. A vigorous session
    // is avoided even elsewhere on the body, as the sources say for deep tissue. A gentle or
    // moderate session well away from a known fracture site only needs to keep clear of it.
    if let Some(fracture) = health.recent_fracture.as_ref().filter(|a| a.present) {
        if vigorous || reaches(&fracture.regions, &planned.regions) {
            warn(
                Condition::RecentFracture,
                Outcome::Avoid,
                "A recently broken bone needs time to heal, and pressure on or near it, or deep massage while it \
                 heals, could hurt it. Please get the go-ahead from your doctor or physiotherapist before this \
                 session.",
            );
        } else {
            warn(
                Condition::RecentFracture,
                Outcome::Modify,
                "You've had a recent fracture. This session can go ahead if the therapist keeps well away from \
                 the injured area, so make sure they know where it is. Stop if anything hurts sharply, and contact \
                 your doctor if the injured area becomes more painful or swollen.",
            );
        }
    }

    // Osteoporosis: severe osteoporosis is avoided at every intensity, since bones can break under
    // little force (lying face down already loads the ribs). Otherwise the outcome follows the
    // load: vigorous or moderate sessions need lighter pressure (modify); a gentle session only
    // needs a word with the doctor and a therapist who knows (consult).
    if let Some(osteoporosis) = health.osteoporosis.as_ref().filter(|a| a.present) {
        if osteoporosis.severe {
            warn(
                Condition::Osteoporosis,
                Outcome::Avoid,
                "With severe osteoporosis, bones can break under less force than usual, including pressure on the \
                 ribs and spine. Please get your doctor's go-ahead before any massage, and make sure your therapist \
                 knows. Stop at once if anything hurts sharply.",
            );
        } else if gentle {
            warn(
                Condition::Osteoporosis,
                Outcome::Consult,
                "With osteoporosis, gentle, light-pressure massage is usually the safer choice. It's a good idea to \
                 check with your doctor first, and to tell your therapist so they keep the pressure light over your \
                 spine and ribs. Stop at once if anything hurts sharply.",
            );
        } else {
            warn(
                Condition::Osteoporosis,
                Outcome::Modify,
                "With osteoporosis, firm or deep pressure can put fragile bones at risk, especially the ribs and \
                 spine. Ask for light pressure and no deep work over the spine and ribs, and check with your \
                 doctor if you're unsure. Stop at once if anything hurts sharply.",
            );
        }
    }

    // Fever: avoid at every intensity; rest comes first, an infection can be passed on, and
    // fever with back pain is itself a reason to see a doctor today.
    if health.has(Condition::Fever) {
        warn(
            Condition::Fever,
            Outcome::Avoid,
            "Please postpone massage while you have a fever: your body needs rest, and an infection can be \
             passed on. A fever together with back pain is a reason to contact a doctor today.",
        );
    }

    // Recent injury, skin infection or wound: modify (keep away from the area) when the session
    // reaches it or either place is unknown, at any intensity; nothing to say when the session
    // stays clear of a known area. Intensity does not change the advice, which is already to
    // leave the area alone.
    if let Some(injury) = health.recent_injury.as_ref().filter(|a| a.present)
        && reaches(&injury.regions, &planned.regions)
    {
        warn(
            Condition::RecentInjury,
            Outcome::Modify,
            "A recent injury needs time to settle. The therapist should leave the injured area alone or work only \
             very gently around it, so make sure they know where it is. Stop if anything hurts sharply, and see a \
             doctor or physiotherapist if the injury is getting worse rather than better.",
        );
    }
    if let Some(skin) = health.skin_infection_or_wound.as_ref().filter(|a| a.present)
        && reaches(&skin.regions, &planned.regions)
    {
        warn(
            Condition::SkinInfectionOrWound,
            Outcome::Modify,
            "Massage should not touch skin that is infected or broken: it can hurt, slow healing and spread an \
             infection. The therapist should keep well away from that area. Contact your doctor if the skin \
             becomes hot, swollen or more painful, or if you feel unwell or feverish.",
        );
    }

    // Arthritis: an inflammatory flare (hot, swollen joints) means keeping off the inflamed joints
    // and lighter pressure around them, at any intensity, when the session reaches them or either
    // place is unknown (Versus Arthritis and Arthritis Foundation advice on massage). Arthritis
    // without a flare, such as osteoarthritis, takes gentle massage well: no warning.
    if let Some(arthritis) = health.arthritis.as_ref().filter(|a| a.present && a.inflammatory_flare)
        && reaches(&arthritis.regions, &planned.regions)
    {
        warn(
            Condition::Arthritis,
            Outcome::Modify,
            "During an arthritis flare, massage should keep off hot, swollen joints and use only light pressure \
             around them, so make sure your therapist knows which joints are inflamed. Stop if a joint hurts more. \
             A joint that is suddenly very hot and swollen, especially with a fever, needs a doctor today \
             (Versus Arthritis, \"Massage\", https://www.versusarthritis.org/; Arthritis Foundation advice on \
             massage, https://www.arthritis.org/).",
        );
    }

    // Pregnancy: consult. Raised to modify for vigorous sessions (deep or firm pressure,
    // especially on the legs, is not advised in pregnancy, when clots are more likely) and for
    // hot stone (overheating is to be avoided in pregnancy).
    if health.has(Condition::Pregnancy) {
        let hot_stone = planned.kind == SessionKind::HotStone;
        let reason = match (vigorous, hot_stone) {
            (false, false) => {
                "Massage during pregnancy is often fine, but please check with your midwife or doctor first and \
                 tell your therapist, who can adapt your position and the pressure. Stop and contact your midwife \
                 or doctor straight away if you have pain, bleeding, or feel unwell."
            }
            (true, false) => {
                "During pregnancy, deep or firm pressure, especially on the legs, isn't advised. Please check with \
                 your midwife or doctor first and ask for a gentler massage adapted for pregnancy. If a leg becomes \
                 swollen, red, warm or painful, or you have pain or bleeding, get medical help straight away."
            }
            (false, true) => {
                "During pregnancy it's best not to get too hot, so hot stones aren't advised. Please check with \
                 your midwife or doctor first and ask for a massage without hot stones. Stop and contact your \
                 midwife or doctor straight away if you have pain, bleeding, or feel unwell."
            }
            (true, true) => {
                "During pregnancy, deep or firm pressure, especially on the legs, isn't advised, and it's best not \
                 to get too hot, so hot stones aren't advised either. Please check with your midwife or doctor \
                 first and ask for a gentler massage without hot stones. If a leg becomes swollen, red, warm or \
                 painful, or you have pain or bleeding, get medical help straight away."
            }
        };
        let outcome = if vigorous || hot_stone { Outcome::Modify } else { Outcome::Consult };
        warn(Condition::Pregnancy, outcome, reason);
    }

    // Heart condition: consult at every intensity. The sources give no reason to treat a gentle
    // session differently, and a doctor's view matters either way (medicines, blood pressure).
    if health.has(Condition::HeartCondition) {
        let reason = if planned.kind == SessionKind::HotStone {
            "With a heart condition, please check with your doctor before massage, and ask about hot stones too, \
             as heat widens the blood vessels. Tell your therapist about your condition and any medicines you take. \
             Stop at once and call emergency services if you get chest pain or severe breathlessness, or feel faint."
        } else {
            "With a heart condition, please check with your doctor before massage, and tell your therapist about \
             your condition and any medicines you take. Stop at once and call emergency services if you get chest \
             pain or severe breathlessness, or feel faint."
        };
        warn(Condition::HeartCondition, Outcome::Consult, reason);
    }

    // Herniated disc: consult; raised to modify for a vigorous session on the spine (or where the
    // worked regions are unknown), since deep or firm pressure over the spine is what to avoid.
    if health.has(Condition::HerniatedDisc) {
        let on_spine = planned.regions.is_empty() || planned.regions.iter().any(|r| SPINE.contains(r));
        let help = " Stop if pain shoots down a leg or gets sharper. New numbness or weakness in a leg needs a \
                    physiotherapist or doctor soon; numbness around the genitals or buttocks, or new trouble \
                    controlling your bladder or bowels, needs emergency care.";
        if vigorous && on_spine {
            warn(
                Condition::HerniatedDisc,
                Outcome::Modify,
                &format!(
                    "With a herniated (slipped) disc, deep or firm pressure on the spine isn't advised. Ask for \
                     gentler work around the back, and check with your doctor or physiotherapist first.{help}"
                ),
            );
        } else {
            warn(
                Condition::HerniatedDisc,
                Outcome::Consult,
                &format!(
                    "With a herniated (slipped) disc, please check with your doctor or physiotherapist before \
                     massage, and tell your therapist.{help}"
                ),
            );
        }
    }

    // Cancer: consult; raised to modify for vigorous sessions. Massage adapted for people with
    // cancer uses lighter pressure and keeps away from tumour sites, treated areas and ports;
    // deep work needs the care team's agreement.
    if health.has(Condition::Cancer) {
        let help = " New or worsening back pain when you have or have had cancer should be checked by your doctor \
                    soon.";
        if vigorous {
            warn(
                Condition::Cancer,
                Outcome::Modify,
                &format!(
                    "If you have or have had cancer, deep or firm pressure isn't advised without your care team's \
                     agreement. Please check with them first, ask for a gentler massage, and tell your therapist \
                     about any treatment, scars, ports or areas treated with radiotherapy.{help}"
                ),
            );
        } else {
            warn(
                Condition::Cancer,
                Outcome::Consult,
                &format!(
                    "If you have or have had cancer, please check with your doctor or care team before massage, \
                     and tell your therapist about any treatment, scars, ports or areas treated with \
                     radiotherapy.{help}"
                ),
            );
        }
    }

    warnings.sort_by_key(|w| (w.outcome, w.condition));
    warnings
}

/// Why a question of the health screen does not count as screened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gap {
    /// Never answered (or no screen at all).
    Unanswered,
    /// Answered, but confirmed longer ago than the configured age allows.
    Stale { confirmed_on: NaiveDate },
}

impl Gap {
    pub fn as_str(self) -> &'static str {
        match self {
            Gap::Unanswered => "unanswered",
            Gap::Stale { .. } => "stale",
        }
    }
}

impl HealthScreen {
    /// The questions to ask (again) before a massage: unanswered ones, and answers confirmed more
    /// than `max_age_days` days before `today` (one confirmed exactly `max_age_days` ago still
    /// counts). Empty means the patient is screened. A stale answer still gives its warnings:
    /// an old "yes" is more likely still true than not.
    pub fn gaps(&self, today: NaiveDate, max_age_days: u32) -> Vec<(Condition, Gap)> {
        Condition::ALL
            .into_iter()
            .filter_map(|condition| match self.confirmed_on(condition) {
                None => Some((condition, Gap::Unanswered)),
                Some(on) if (today - on).num_days() > i64::from(max_age_days) => {
                    Some((condition, Gap::Stale { confirmed_on: on }))
                }
                Some(_) => None,
            })
            .collect()
    }
}

/// What the patient logged lately (journal symptoms, check-in answers) that the screen must
/// hear about even when the health screen says otherwise: the local dates of each report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecentReports {
    pub fever: Vec<NaiveDate>,
    pub leg_swelling: Vec<NaiveDate>,
}

/// [`screen`], with what the patient logged lately: a fever in the journal is a fever now
/// (avoid), and a swollen, red, warm or painful leg may be a clot (avoid until a doctor has
/// seen it), whatever the health screen's answers say.
pub fn screen_with_reports(health: &HealthScreen, planned: &PlannedSession, reports: &RecentReports) -> Vec<Warning> {
    let mut warnings = screen(health, planned);
    let dates = |days: &[NaiveDate]| {
        let mut days = days.to_vec();
        days.sort_unstable();
        days.dedup();
        let days: Vec<String> = days.iter().map(|d| d.to_string()).collect();
        match days.as_slice() {
            [one] => one.clone(),
            [init @ .., last] => format!("{} and {last}", init.join(", ")),
            [] => String::new(),
        }
    };
    let mut add = |condition: Condition, reason: String| match warnings.iter_mut().find(|w| w.condition == condition) {
        Some(warning) => {
            warning.outcome = Outcome::Avoid;
            warning.reason = format!("{reason} {}", warning.reason);
        }
        None => warnings.push(Warning { condition, outcome: Outcome::Avoid, reason }),
    };
    if !reports.fever.is_empty() {
        add(
            Condition::Fever,
            format!(
                "You logged a fever on {}. Please postpone massage until it has gone: your body needs rest, and \
                 a fever together with back pain is a reason to contact a doctor today.",
                dates(&reports.fever)
            ),
        );
    }
    if !reports.leg_swelling.is_empty() {
        add(
            Condition::BloodClots,
            format!(
                "You reported a swollen, red, warm or painful leg on {}. It can be a blood clot, which massage \
                 could disturb: please get medical help today and have it checked before any massage. Call \
                 emergency services at once if you become breathless, have chest pain or cough up blood.",
                dates(&reports.leg_swelling)
            ),
        );
    }
    warnings.sort_by_key(|w| (w.outcome, w.condition));
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::massage::Pressure::*;
    use crate::domain::massage::SessionKind::*;
    use Outcome::*;
    use Region::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    const CONFIRMED: (i32, u32, u32) = (2026, 6, 1);

    fn yes() -> Option<Answer> {
        Some(Answer { present: true, note: None, confirmed_on: day(CONFIRMED.0, CONFIRMED.1, CONFIRMED.2) })
    }

    fn no() -> Option<Answer> {
        Some(Answer { present: false, note: None, confirmed_on: day(CONFIRMED.0, CONFIRMED.1, CONFIRMED.2) })
    }

    fn yes_at(regions: &[Region]) -> Option<RegionalAnswer> {
        Some(RegionalAnswer {
            present: true,
            regions: regions.to_vec(),
            note: None,
            confirmed_on: day(CONFIRMED.0, CONFIRMED.1, CONFIRMED.2),
        })
    }

    fn osteoporosis(severe: bool) -> Option<OsteoporosisAnswer> {
        Some(OsteoporosisAnswer {
            present: true,
            severe,
            note: None,
            confirmed_on: day(CONFIRMED.0, CONFIRMED.1, CONFIRMED.2),
        })
    }

    fn swedish_light(regions: &[Region]) -> PlannedSession {
        PlannedSession { kind: Swedish, pressure: Some(Light), regions: regions.to_vec() }
    }

    fn deep_tissue(regions: &[Region]) -> PlannedSession {
        PlannedSession { kind: DeepTissue, pressure: Some(Firm), regions: regions.to_vec() }
    }

    /// The single warning a screen with one condition gives, as (condition, outcome).
    fn only(health: &HealthScreen, planned: &PlannedSession) -> Option<(Condition, Outcome)> {
        let warnings = screen(health, planned);
        assert!(warnings.len() <= 1, "expected at most one warning, got {warnings:?}");
        warnings.first().map(|w| (w.condition, w.outcome))
    }

    #[test]
    fn each_condition_for_swedish_and_deep_tissue() {
        let back = [LowerBack, MidBack];
        let cases: Vec<(HealthScreen, Condition, Outcome, Outcome)> = vec![
            (HealthScreen { blood_clots: yes(), ..Default::default() }, Condition::BloodClots, Avoid, Avoid),
            (
                HealthScreen { bleeding_disorder_or_anticoagulants: yes(), ..Default::default() },
                Condition::BleedingDisorderOrAnticoagulants,
                Consult,
                Avoid,
            ),
            // The fracture is where the session works.
            (
                HealthScreen { recent_fracture: yes_at(&[LowerBack]), ..Default::default() },
                Condition::RecentFracture,
                Avoid,
                Avoid,
            ),
            (
                HealthScreen { osteoporosis: osteoporosis(true), ..Default::default() },
                Condition::Osteoporosis,
                Avoid,
                Avoid,
            ),
            (
                HealthScreen { osteoporosis: osteoporosis(false), ..Default::default() },
                Condition::Osteoporosis,
                Consult,
                Modify,
            ),
            (HealthScreen { fever: yes(), ..Default::default() }, Condition::Fever, Avoid, Avoid),
            (
                HealthScreen { recent_injury: yes_at(&[MidBack]), ..Default::default() },
                Condition::RecentInjury,
                Modify,
                Modify,
            ),
            (
                HealthScreen { skin_infection_or_wound: yes_at(&[LowerBack]), ..Default::default() },
                Condition::SkinInfectionOrWound,
                Modify,
                Modify,
            ),
            (HealthScreen { pregnancy: yes(), ..Default::default() }, Condition::Pregnancy, Consult, Modify),
            (
                HealthScreen { heart_condition: yes(), ..Default::default() },
                Condition::HeartCondition,
                Consult,
                Consult,
            ),
            (HealthScreen { herniated_disc: yes(), ..Default::default() }, Condition::HerniatedDisc, Consult, Modify),
            (HealthScreen { cancer: yes(), ..Default::default() }, Condition::Cancer, Consult, Modify),
        ];
        assert_eq!(cases.len(), 12, "every condition, osteoporosis both severe and not");
        for (health, condition, swedish, deep) in cases {
            assert_eq!(only(&health, &swedish_light(&back)), Some((condition, swedish)), "{condition:?} swedish");
            assert_eq!(only(&health, &deep_tissue(&back)), Some((condition, deep)), "{condition:?} deep tissue");
        }
    }

    #[test]
    fn moderate_sessions_never_get_the_gentle_outcome() {
        // Swedish at medium or unrecorded pressure, and `other` at light pressure, are moderate.
        let moderate = [
            PlannedSession { kind: Swedish, pressure: Some(Medium), regions: vec![] },
            PlannedSession { kind: Swedish, pressure: None, regions: vec![] },
            PlannedSession { kind: Other, pressure: Some(Light), regions: vec![] },
        ];
        for planned in &moderate {
            let bleeding = HealthScreen { bleeding_disorder_or_anticoagulants: yes(), ..Default::default() };
            assert_eq!(only(&bleeding, planned), Some((Condition::BleedingDisorderOrAnticoagulants, Avoid)));
            let bones = HealthScreen { osteoporosis: osteoporosis(false), ..Default::default() };
            assert_eq!(only(&bones, planned), Some((Condition::Osteoporosis, Modify)));
            // The conditions raised only for vigorous work stay at consult.
            let pregnancy = HealthScreen { pregnancy: yes(), ..Default::default() };
            assert_eq!(only(&pregnancy, planned), Some((Condition::Pregnancy, Consult)));
            let cancer = HealthScreen { cancer: yes(), ..Default::default() };
            assert_eq!(only(&cancer, planned), Some((Condition::Cancer, Consult)));
        }
        // Firm pressure makes even a Swedish massage vigorous.
        let firm_swedish = PlannedSession { kind: Swedish, pressure: Some(Firm), regions: vec![] };
        let bones = HealthScreen { osteoporosis: osteoporosis(false), ..Default::default() };
        assert_eq!(only(&bones, &firm_swedish), Some((Condition::Osteoporosis, Modify)));
        let cancer = HealthScreen { cancer: yes(), ..Default::default() };
        assert_eq!(only(&cancer, &firm_swedish), Some((Condition::Cancer, Modify)));
    }

    #[test]
    fn answers_of_no_and_unanswered_questions_give_no_warnings() {
        let nothing = HealthScreen::default();
        assert!(screen(&nothing, &deep_tissue(&[])).is_empty());
        let all_no = HealthScreen {
            blood_clots: no(),
            bleeding_disorder_or_anticoagulants: no(),
            recent_fracture: Some(RegionalAnswer {
                present: false,
                regions: vec![],
                note: None,
                confirmed_on: day(2026, 6, 1),
            }),
            osteoporosis: Some(OsteoporosisAnswer {
                present: false,
                severe: false,
                note: None,
                confirmed_on: day(2026, 6, 1),
            }),
            fever: no(),
            recent_injury: None,
            skin_infection_or_wound: None,
            arthritis: Some(ArthritisAnswer {
                present: false,
                inflammatory_flare: false,
                regions: vec![],
                note: None,
                confirmed_on: day(2026, 6, 1),
            }),
            pregnancy: no(),
            heart_condition: no(),
            herniated_disc: no(),
            cancer: no(),
        };
        assert!(screen(&all_no, &deep_tissue(&[])).is_empty());
        assert!(all_no.present().is_empty());
        assert_eq!(all_no.unanswered(), vec![Condition::RecentInjury, Condition::SkinInfectionOrWound]);
        assert_eq!(nothing.unanswered(), Condition::ALL.to_vec());
        assert_eq!(all_no.confirmed_on(Condition::Fever), Some(day(2026, 6, 1)));
        assert_eq!(all_no.confirmed_on(Condition::RecentInjury), None);
    }

    #[test]
    fn area_conditions_depend_on_the_regions_worked() {
        let injury = HealthScreen { recent_injury: yes_at(&[LeftShoulder]), ..Default::default() };
        // Same region, neighbouring region, unknown worked regions: modify.
        assert_eq!(only(&injury, &deep_tissue(&[LeftShoulder])), Some((Condition::RecentInjury, Modify)));
        assert_eq!(only(&injury, &swedish_light(&[UpperBack])), Some((Condition::RecentInjury, Modify)));
        assert_eq!(only(&injury, &swedish_light(&[])), Some((Condition::RecentInjury, Modify)));
        // Well away from it: nothing to say.
        assert_eq!(only(&injury, &deep_tissue(&[LowerBack, Glutes])), None);
        assert_eq!(only(&injury, &swedish_light(&[RightShoulder])), None);

        // An injury whose place is not known reaches every session.
        let somewhere = HealthScreen { recent_injury: yes_at(&[]), ..Default::default() };
        assert_eq!(only(&somewhere, &swedish_light(&[RightLeg])), Some((Condition::RecentInjury, Modify)));

        let wound = HealthScreen { skin_infection_or_wound: yes_at(&[RightLeg]), ..Default::default() };
        assert_eq!(only(&wound, &swedish_light(&[Glutes])), Some((Condition::SkinInfectionOrWound, Modify)));
        assert_eq!(only(&wound, &deep_tissue(&[LeftLeg])), None);
        assert_eq!(only(&wound, &deep_tissue(&[Neck, UpperBack])), None);
        assert_eq!(only(&wound, &deep_tissue(&[])), Some((Condition::SkinInfectionOrWound, Modify)));
    }

    #[test]
    fn a_fracture_elsewhere_only_limits_gentle_and_moderate_sessions() {
        let leg = HealthScreen { recent_fracture: yes_at(&[LeftLeg]), ..Default::default() };
        assert_eq!(only(&leg, &swedish_light(&[Neck])), Some((Condition::RecentFracture, Modify)));
        let moderate = PlannedSession { kind: HotStone, pressure: Some(Medium), regions: vec![UpperBack] };
        assert_eq!(only(&leg, &moderate), Some((Condition::RecentFracture, Modify)));
        // On or next to it, or with the place of either unknown: avoid.
        assert_eq!(only(&leg, &swedish_light(&[LeftHip])), Some((Condition::RecentFracture, Avoid)));
        assert_eq!(only(&leg, &swedish_light(&[])), Some((Condition::RecentFracture, Avoid)));
        let unknown = HealthScreen { recent_fracture: yes_at(&[]), ..Default::default() };
        assert_eq!(only(&unknown, &swedish_light(&[Neck])), Some((Condition::RecentFracture, Avoid)));
        // Deep work is avoided while any fracture heals.
        assert_eq!(only(&leg, &deep_tissue(&[Neck])), Some((Condition::RecentFracture, Avoid)));
    }

    #[test]
    fn herniated_disc_is_raised_only_for_vigorous_work_on_the_spine() {
        let disc = HealthScreen { herniated_disc: yes(), ..Default::default() };
        assert_eq!(only(&disc, &deep_tissue(&[LowerBack])), Some((Condition::HerniatedDisc, Modify)));
        assert_eq!(only(&disc, &deep_tissue(&[])), Some((Condition::HerniatedDisc, Modify)));
        assert_eq!(only(&disc, &deep_tissue(&[LeftLeg, RightLeg])), Some((Condition::HerniatedDisc, Consult)));
        assert_eq!(only(&disc, &swedish_light(&[LowerBack])), Some((Condition::HerniatedDisc, Consult)));
    }

    #[test]
    fn hot_stones_in_pregnancy_are_modified() {
        let pregnancy = HealthScreen { pregnancy: yes(), ..Default::default() };
        let hot_stone = PlannedSession { kind: HotStone, pressure: Some(Light), regions: vec![] };
        let warnings = screen(&pregnancy, &hot_stone);
        assert_eq!(warnings.len(), 1);
        assert_eq!((warnings[0].condition, warnings[0].outcome), (Condition::Pregnancy, Modify));
        assert!(warnings[0].reason.contains("hot stones"));
        let firm_hot_stone = PlannedSession { kind: HotStone, pressure: Some(Firm), regions: vec![] };
        assert!(screen(&pregnancy, &firm_hot_stone)[0].reason.contains("deep or firm pressure"));
        // Heat is mentioned to people with a heart condition, who still consult.
        let heart = HealthScreen { heart_condition: yes(), ..Default::default() };
        let warnings = screen(&heart, &hot_stone);
        assert_eq!((warnings[0].condition, warnings[0].outcome), (Condition::HeartCondition, Consult));
        assert!(warnings[0].reason.contains("heat"));
    }

    #[test]
    fn warnings_come_most_serious_first() {
        let health = HealthScreen {
            cancer: yes(),
            recent_injury: yes_at(&[]),
            fever: yes(),
            pregnancy: yes(),
            blood_clots: yes(),
            heart_condition: yes(),
            ..Default::default()
        };
        let order: Vec<(Condition, Outcome)> =
            screen(&health, &swedish_light(&[])).into_iter().map(|w| (w.condition, w.outcome)).collect();
        assert_eq!(
            order,
            vec![
                (Condition::BloodClots, Avoid),
                (Condition::Fever, Avoid),
                (Condition::RecentInjury, Modify),
                (Condition::Pregnancy, Consult),
                (Condition::HeartCondition, Consult),
                (Condition::Cancer, Consult),
            ]
        );
        assert!(Avoid < Modify && Modify < Consult);
    }

    /// Every reason the screen can give, for every kind, pressure and a few region choices.
    fn every_reason() -> Vec<Warning> {
        let everything = HealthScreen {
            blood_clots: yes(),
            bleeding_disorder_or_anticoagulants: yes(),
            recent_fracture: yes_at(&[LeftLeg]),
            osteoporosis: osteoporosis(false),
            fever: yes(),
            recent_injury: yes_at(&[]),
            skin_infection_or_wound: yes_at(&[]),
            arthritis: Some(ArthritisAnswer {
                present: true,
                inflammatory_flare: true,
                regions: vec![],
                note: None,
                confirmed_on: day(2026, 6, 1),
            }),
            pregnancy: yes(),
            heart_condition: yes(),
            herniated_disc: yes(),
            cancer: yes(),
        };
        let severe = HealthScreen { osteoporosis: osteoporosis(true), ..Default::default() };
        let mut all = Vec::new();
        for kind in SessionKind::ALL {
            for pressure in [None, Some(Light), Some(Medium), Some(Firm)] {
                for regions in [vec![], vec![Neck], vec![LeftLeg]] {
                    let planned = PlannedSession { kind, pressure, regions };
                    all.extend(screen(&everything, &planned));
                    all.extend(screen(&severe, &planned));
                }
            }
        }
        all
    }

    #[test]
    fn reasons_are_plain_and_say_where_to_get_help() {
        let banned = ["toxin", "flush", "detox", "cure", "diagnos"];
        let mut seen = std::collections::BTreeSet::new();
        for warning in every_reason() {
            let text = warning.reason.to_lowercase();
            for word in banned {
                assert!(!text.contains(word), "{:?} says {word:?}: {}", warning.condition, warning.reason);
            }
            let helpers = ["doctor", "physiotherapist", "midwife", "care team", "emergency"];
            assert!(helpers.iter().any(|h| text.contains(h)), "{:?} names no help: {}", warning.condition, text);
            if warning.outcome == Avoid {
                assert!(text.contains("doctor"), "avoid should send to a doctor: {text}");
            }
            seen.insert((warning.condition, warning.outcome));
        }
        // Every condition shows up, so no wording escaped the checks above.
        let conditions: std::collections::BTreeSet<Condition> = seen.iter().map(|(c, _)| *c).collect();
        assert_eq!(conditions.len(), Condition::ALL.len());
    }

    #[test]
    fn neighbours_are_symmetric() {
        for a in Region::ALL {
            assert!(regions_meet(a, a));
            for b in neighbours(a) {
                assert!(neighbours(*b).contains(&a), "{a} borders {b} but not the other way round");
            }
        }
        assert!(!regions_meet(LeftLeg, RightLeg));
        assert!(!regions_meet(Neck, LowerBack));
    }

    #[test]
    fn health_screen_json_round_trip() {
        let json = serde_json::json!({
            "blood_clots": {"present": false, "confirmed_on": "2026-06-01"},
            "recent_fracture": {"present": true, "regions": ["left_leg"], "note": "Shin, in a boot", "confirmed_on": "2026-05-30"},
            "osteoporosis": {"present": true, "severe": true, "confirmed_on": "2026-06-01"},
            "fever": {"present": false, "confirmed_on": "2026-06-02"}
        });
        let screen: HealthScreen = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(screen.recent_fracture.as_ref().unwrap().regions, vec![LeftLeg]);
        assert!(screen.osteoporosis.as_ref().unwrap().severe);
        assert_eq!(screen.present(), vec![Condition::RecentFracture, Condition::Osteoporosis]);
        assert_eq!(serde_json::to_value(&screen).unwrap(), json);

        // Unknown fields and region names are refused, naming the place.
        let unknown_region = serde_json::json!({
            "recent_injury": {"present": true, "regions": ["left_arm"], "confirmed_on": "2026-06-01"}
        });
        let error = serde_path_to_error::deserialize::<_, HealthScreen>(unknown_region).unwrap_err();
        assert_eq!(error.path().to_string(), "recent_injury.regions[0]");
        assert!(error.inner().to_string().starts_with("unknown variant `left_arm`"));
        let unknown_field = serde_json::json!({"diabetes": {"present": true, "confirmed_on": "2026-06-01"}});
        assert!(serde_json::from_value::<HealthScreen>(unknown_field).is_err());
        let detail_on_plain =
            serde_json::json!({"fever": {"present": true, "severe": true, "confirmed_on": "2026-06-01"}});
        assert!(serde_json::from_value::<HealthScreen>(detail_on_plain).is_err());
    }

    #[test]
    fn validation_names_fields_and_normalises() {
        let today = day(2026, 6, 10);
        let screen = HealthScreen {
            recent_injury: Some(RegionalAnswer {
                present: true,
                regions: vec![RightLeg, LowerBack, RightLeg],
                note: Some("  pulled it lifting boxes \n".into()),
                confirmed_on: today,
            }),
            cancer: Some(Answer { present: false, note: Some("   ".into()), confirmed_on: today }),
            ..Default::default()
        };
        let valid = screen.validate(today).unwrap();
        let injury = valid.recent_injury.unwrap();
        assert_eq!(injury.regions, vec![LowerBack, RightLeg]);
        assert_eq!(injury.note.as_deref(), Some("pulled it lifting boxes"));
        assert_eq!(valid.cancer.unwrap().note, None);

        let bad = HealthScreen {
            fever: Some(Answer { present: true, note: None, confirmed_on: day(2026, 6, 11) }),
            pregnancy: Some(Answer { present: true, note: Some("x".repeat(501)), confirmed_on: today }),
            heart_condition: Some(Answer { present: true, note: Some("a\u{0}b".into()), confirmed_on: today }),
            osteoporosis: Some(OsteoporosisAnswer { present: false, severe: true, note: None, confirmed_on: today }),
            skin_infection_or_wound: Some(RegionalAnswer {
                present: false,
                regions: vec![Neck],
                note: None,
                confirmed_on: today,
            }),
            ..Default::default()
        };
        let errors = bad.validate(today).unwrap_err();
        let fields: Vec<(&str, &str)> = errors.errors().iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert_eq!(
            fields,
            vec![
                ("osteoporosis.severe", "not_applicable"),
                ("fever.confirmed_on", "in_future"),
                ("skin_infection_or_wound.regions", "not_applicable"),
                ("pregnancy.note", "too_long"),
                ("heart_condition.note", "invalid_characters"),
            ]
        );
        // Exactly the limit is fine, counted in characters.
        let at_limit = HealthScreen {
            cancer: Some(Answer { present: true, note: Some("é".repeat(500)), confirmed_on: today }),
            ..Default::default()
        };
        assert!(at_limit.validate(today).is_ok());
    }

    #[test]
    fn condition_names_round_trip() {
        for condition in Condition::ALL {
            assert_eq!(Condition::parse(condition.as_str()), Some(condition));
            assert_eq!(serde_json::to_value(condition).unwrap(), serde_json::Value::from(condition.as_str()));
        }
        // The names are the fields of the health screen.
        let mut full = serde_json::Map::new();
        for condition in Condition::ALL {
            full.insert(condition.as_str().into(), serde_json::json!({"present": false, "confirmed_on": "2026-06-01"}));
        }
        let screen: HealthScreen = serde_json::from_value(serde_json::Value::Object(full)).unwrap();
        assert!(screen.unanswered().is_empty());
    }

    fn flare(flare: bool, regions: &[Region]) -> Option<ArthritisAnswer> {
        Some(ArthritisAnswer {
            present: true,
            inflammatory_flare: flare,
            regions: regions.to_vec(),
            note: None,
            confirmed_on: day(2026, 6, 1),
        })
    }

    #[test]
    fn an_arthritis_flare_keeps_the_session_off_the_inflamed_joints() {
        let flaring = HealthScreen { arthritis: flare(true, &[LeftHip]), ..Default::default() };
        // At every intensity, where the session reaches the joints (or either place is unknown).
        for planned in [deep_tissue(&[LowerBack]), swedish_light(&[LeftHip]), deep_tissue(&[])] {
            assert_eq!(only(&flaring, &planned), Some((Condition::Arthritis, Modify)), "{planned:?}");
        }
        let reason = &screen(&flaring, &deep_tissue(&[LeftLeg]))[0].reason;
        assert!(reason.contains("keep off hot, swollen joints") && reason.contains("Versus Arthritis"), "{reason}");
        // Well away from them, or without a flare (osteoarthritis), nothing.
        assert_eq!(only(&flaring, &deep_tissue(&[Neck])), None);
        let calm = HealthScreen { arthritis: flare(false, &[]), ..Default::default() };
        assert_eq!(only(&calm, &deep_tissue(&[])), None);
        // A flare or joints without arthritis make no sense.
        let odd = HealthScreen {
            arthritis: Some(ArthritisAnswer { present: false, ..flare(true, &[]).unwrap() }),
            ..Default::default()
        };
        let errors = odd.validate(day(2026, 6, 2)).unwrap_err();
        assert_eq!(errors.errors()[0].field, "arthritis.inflammatory_flare");
    }

    #[test]
    fn answers_older_than_the_configured_age_are_stale() {
        let confirmed = HealthScreen { fever: no(), ..Default::default() }; // confirmed 2026-06-01
        let gaps = |today: NaiveDate| -> Vec<(Condition, Gap)> {
            confirmed.gaps(today, 90).into_iter().filter(|(c, _)| *c == Condition::Fever).collect()
        };
        // 89 and 90 days later the answer counts; 91 days later it is stale.
        assert_eq!(gaps(day(2026, 8, 29)), vec![]);
        assert_eq!(gaps(day(2026, 8, 30)), vec![]);
        assert_eq!(gaps(day(2026, 8, 31)), vec![(Condition::Fever, Gap::Stale { confirmed_on: day(2026, 6, 1) })]);
        // No screen at all: every question is unanswered.
        let none = HealthScreen::default().gaps(day(2026, 6, 1), 90);
        assert_eq!(none.len(), Condition::ALL.len());
        assert!(none.iter().all(|(_, gap)| *gap == Gap::Unanswered));
        assert_eq!((Gap::Unanswered.as_str(), gaps(day(2027, 1, 1))[0].1.as_str()), ("unanswered", "stale"));
    }

    #[test]
    fn a_fever_or_a_swollen_leg_logged_lately_reaches_the_screen() {
        let all_clear = HealthScreen { fever: no(), blood_clots: no(), ..Default::default() };
        let nothing = RecentReports::default();
        assert_eq!(screen_with_reports(&all_clear, &swedish_light(&[]), &nothing), vec![]);
        let reports =
            RecentReports { fever: vec![day(2026, 6, 3), day(2026, 6, 2)], leg_swelling: vec![day(2026, 6, 3)] };
        let warnings = screen_with_reports(&all_clear, &swedish_light(&[]), &reports);
        let found: Vec<(Condition, Outcome)> = warnings.iter().map(|w| (w.condition, w.outcome)).collect();
        assert_eq!(found, [(Condition::BloodClots, Avoid), (Condition::Fever, Avoid)]);
        assert!(warnings[0].reason.starts_with("You reported a swollen, red, warm or painful leg on 2026-06-03."));
        assert!(warnings[0].reason.contains("breathless"));
        assert!(warnings[1].reason.starts_with("You logged a fever on 2026-06-02 and 2026-06-03."));
        // With the condition already on the screen, one warning says both.
        let with_fever = HealthScreen { fever: yes(), ..Default::default() };
        let warnings = screen_with_reports(
            &with_fever,
            &swedish_light(&[]),
            &RecentReports { fever: vec![day(2026, 6, 3)], ..Default::default() },
        );
        assert_eq!(warnings.len(), 1);
        assert!(
            warnings[0].reason.starts_with("You logged a fever")
                && warnings[0].reason.contains("postpone massage while")
        );
    }
}
