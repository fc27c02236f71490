//! The journal in HL7 FHIR R4, for a clinician's system: a `Bundle` of type `collection` holding
//! the `Patient`, pain ratings as `Observation`s (LOINC 72514-3, 0–10, category `survey`, one
//! per entry and one per region with its SNOMED CT body site), PEG (LOINC 91148-7, its three
//! items as components) and Roland-Morris scores as `Observation`s, massage sessions as
//! `Procedure`s, open alerts as `Flag`s, and notes between the patient and a therapist as
//! `Communication`s.
//!
//! Pure mapping: serde types for the few R4 elements used, and functions from the service's
//! values to resources. Every resource's id is the id of what it maps, so a repeated export
//! names the same things the same way; references inside the bundle are `urn:uuid:` full URLs.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::Role;
use super::account::Account;
use super::alerts::{Alert, Tier};
use super::body::Region;
use super::journal::Entry;
use super::massage::SessionKind;
use super::notes::{Note, SubjectKind};
use super::questionnaires::{Peg, RolandMorris};

const LOINC: &str = "http://loinc.org";
const SNOMED: &str = "http://snomed.info/sct";
const OBSERVATION_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/observation-category";
const FLAG_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/flag-category";
/// Where the service's own ids live, for `identifier`s.
pub const IDENTIFIER_SYSTEM: &str = "urn:ietf:rfc:3986";

/// LOINC: pain severity, 0–10 verbal numeric rating, reported.
pub const PAIN_SEVERITY: &str = "72514-3";
/// LOINC: the PEG three-item pain scale.
pub const PEG_PANEL: &str = "91148-7";

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Coding {
    pub system: &'static str,
    pub code: &'static str,
    pub display: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CodeableConcept {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub coding: Vec<Coding>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

impl CodeableConcept {
    fn coded(coding: Coding, text: &str) -> Self {
        Self { coding: vec![coding], text: Some(text.to_owned()) }
    }

    fn text(text: impl Into<String>) -> Self {
        Self { coding: Vec::new(), text: Some(text.into()) }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reference {
    pub reference: String,
}

impl Reference {
    fn to(id: Uuid) -> Self {
        Self { reference: full_url(id) }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Identifier {
    pub system: &'static str,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Annotation {
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HumanName {
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Period {
    pub start: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Component {
    pub code: CodeableConcept,
    pub value_integer: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Patient {
    pub id: String,
    pub identifier: Vec<Identifier>,
    pub active: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub name: Vec<HumanName>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Observation {
    pub id: String,
    pub status: &'static str,
    pub category: Vec<CodeableConcept>,
    pub code: CodeableConcept,
    pub subject: Reference,
    pub effective_date_time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_integer: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_site: Option<CodeableConcept>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub component: Vec<Component>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub note: Vec<Annotation>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Procedure {
    pub id: String,
    pub status: &'static str,
    pub code: CodeableConcept,
    pub subject: Reference,
    pub performed_period: Period,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub body_site: Vec<CodeableConcept>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub note: Vec<Annotation>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Flag {
    pub id: String,
    pub status: &'static str,
    pub category: Vec<CodeableConcept>,
    pub code: CodeableConcept,
    pub subject: Reference,
    pub period: Period,
}

/// Someone a message is from or to: the patient by reference, a therapist (who has no resource
/// in the bundle) by name.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Party {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Payload {
    pub content_string: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Communication {
    pub id: String,
    pub status: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub in_response_to: Vec<Reference>,
    pub subject: Reference,
    pub topic: CodeableConcept,
    pub sent: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub received: Option<String>,
    pub recipient: Vec<Party>,
    pub sender: Party,
    pub payload: Vec<Payload>,
}

/// The resources an export holds.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "resourceType")]
pub enum Resource {
    Patient(Patient),
    Observation(Observation),
    Procedure(Procedure),
    Flag(Flag),
    Communication(Communication),
}

/// One entry of a bundle.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BundleEntry {
    pub full_url: String,
    pub resource: Resource,
}

/// A whole bundle, for when it is small enough to hold; a long journal is written as
/// [`bundle_start`], the entries separated by commas, and [`BUNDLE_END`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Bundle {
    pub resource_type: &'static str,
    pub id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub timestamp: String,
    pub entry: Vec<BundleEntry>,
}

impl Bundle {
    pub fn new(id: Uuid, timestamp: DateTime<Utc>, entry: Vec<BundleEntry>) -> Self {
        Self { resource_type: "Bundle", id: id.to_string(), kind: "collection", timestamp: instant(timestamp), entry }
    }
}

/// The bundle's opening up to its first entry: `{"resourceType":"Bundle",…,"entry":[`.
pub fn bundle_start(id: Uuid, timestamp: DateTime<Utc>) -> String {
    let empty = serde_json::to_string(&Bundle::new(id, timestamp, Vec::new())).expect("a bundle serializes");
    let open = empty.strip_suffix("[]}").expect("the entries come last");
    format!("{open}[")
}

/// What closes a bundle opened with [`bundle_start`].
pub const BUNDLE_END: &str = "]}";

/// The URL a resource has inside the bundle.
pub fn full_url(id: Uuid) -> String {
    format!("urn:uuid:{id}")
}

fn entry(id: Uuid, resource: Resource) -> BundleEntry {
    BundleEntry { full_url: full_url(id), resource }
}

/// RFC 3339 as FHIR `instant` and `dateTime` take it (UTC, microseconds).
fn instant(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn survey() -> Vec<CodeableConcept> {
    vec![CodeableConcept::coded(Coding { system: OBSERVATION_CATEGORY, code: "survey", display: "Survey" }, "Survey")]
}

fn pain_code() -> CodeableConcept {
    CodeableConcept::coded(
        Coding {
            system: LOINC,
            code: PAIN_SEVERITY,
            display: "Pain severity - 0-10 verbal numeric rating [Score] - Reported",
        },
        "Pain (0-10)",
    )
}

/// The SNOMED CT body structure of a region, and the region's name for people.
pub fn body_site(region: Region) -> CodeableConcept {
    let (code, display, text) = match region {
        Region::Neck => ("45048000", "Neck structure", "Neck"),
        // SNOMED CT has no finer concept the journal's upper and mid back map to exactly; the
        // text says which part.
        Region::UpperBack => ("77568009", "Back structure, excluding neck", "Upper back"),
        Region::MidBack => ("77568009", "Back structure, excluding neck", "Mid back"),
        Region::LowerBack => ("37822005", "Lower back structure", "Lower back"),
        Region::LeftShoulder => ("91775009", "Structure of left shoulder region", "Left shoulder"),
        Region::RightShoulder => ("91774008", "Structure of right shoulder region", "Right shoulder"),
        Region::LeftHip => ("287679003", "Left hip region structure", "Left hip"),
        Region::RightHip => ("287579007", "Right hip region structure", "Right hip"),
        Region::Glutes => ("46862004", "Buttock structure", "Buttocks"),
        Region::LeftLeg => ("32153003", "Structure of left lower limb", "Left leg"),
        Region::RightLeg => ("62175007", "Structure of right lower limb", "Right leg"),
    };
    CodeableConcept::coded(Coding { system: SNOMED, code, display }, text)
}

/// The patient. The email address stays out: a clinician's system has its own contact details.
pub fn patient(account: &Account) -> BundleEntry {
    let resource = Patient {
        id: account.id.to_string(),
        identifier: vec![Identifier { system: IDENTIFIER_SYSTEM, value: format!("urn:uuid:{}", account.id) }],
        active: true,
        name: account.display_name.iter().map(|n| HumanName { text: n.as_str().to_owned() }).collect(),
    };
    entry(account.id, Resource::Patient(resource))
}

/// A v5 UUID under the entry's id, for the resources derived from one entry.
fn derived_id(parent: Uuid, name: &str) -> Uuid {
    Uuid::new_v5(&parent, name.as_bytes())
}

/// An entry's overall pain, and its pain in each region with the region as `bodySite`.
pub fn pain_observations(entry_value: &Entry) -> Vec<BundleEntry> {
    let c = &entry_value.content;
    let effective = instant(c.recorded_at);
    let subject = entry_value.patient_id;
    let mut out = Vec::with_capacity(1 + c.regions.len());
    let overall = Observation {
        id: entry_value.id.to_string(),
        status: "final",
        category: survey(),
        code: pain_code(),
        subject: Reference::to(subject),
        effective_date_time: effective.clone(),
        value_integer: Some(i64::from(c.pain.value())),
        body_site: None,
        component: Vec::new(),
        note: c.notes.iter().map(|n| Annotation { text: n.clone() }).collect(),
    };
    out.push(entry(entry_value.id, Resource::Observation(overall)));
    for region in &c.regions {
        let id = derived_id(entry_value.id, region.region.as_str());
        let regional = Observation {
            id: id.to_string(),
            status: "final",
            category: survey(),
            code: pain_code(),
            subject: Reference::to(subject),
            effective_date_time: effective.clone(),
            value_integer: Some(i64::from(region.pain.value())),
            body_site: Some(body_site(region.region)),
            component: Vec::new(),
            note: Vec::new(),
        };
        out.push(entry(id, Resource::Observation(regional)));
    }
    out
}

fn item(text: &str, value: u8) -> Component {
    Component { code: CodeableConcept::text(text), value_integer: i64::from(value) }
}

/// A PEG response: the panel with its three 0–10 items as components. The score (their mean)
/// is not an integer and is left to the reader, as the panel defines it.
pub fn peg(id: Uuid, patient_id: Uuid, completed_at: DateTime<Utc>, answers: Peg) -> BundleEntry {
    let resource = Observation {
        id: id.to_string(),
        status: "final",
        category: survey(),
        code: CodeableConcept::coded(
            Coding { system: LOINC, code: PEG_PANEL, display: "PEG 3 item pain scale" },
            "PEG (pain, enjoyment of life, general activity)",
        ),
        subject: Reference::to(patient_id),
        effective_date_time: instant(completed_at),
        value_integer: None,
        body_site: None,
        component: vec![
            item("Pain on average in the past week (0-10)", answers.pain),
            item("Pain interfered with enjoyment of life in the past week (0-10)", answers.enjoyment),
            item("Pain interfered with general activity in the past week (0-10)", answers.activity),
        ],
        note: vec![Annotation { text: format!("PEG score (mean of the three items): {:.2}", answers.score()) }],
    };
    entry(id, Resource::Observation(resource))
}

/// A Roland-Morris Disability Questionnaire score (0–24 statements ticked).
pub fn roland_morris(id: Uuid, patient_id: Uuid, completed_at: DateTime<Utc>, answers: &RolandMorris) -> BundleEntry {
    let resource = Observation {
        id: id.to_string(),
        status: "final",
        category: survey(),
        code: CodeableConcept::text("Roland-Morris Disability Questionnaire score (0-24)"),
        subject: Reference::to(patient_id),
        effective_date_time: instant(completed_at),
        value_integer: Some(i64::from(answers.score())),
        body_site: None,
        component: Vec::new(),
        note: Vec::new(),
    };
    entry(id, Resource::Observation(resource))
}

/// What a massage session contributes to the bundle.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionFacts {
    pub id: Uuid,
    pub patient_id: Uuid,
    pub started_at: DateTime<Utc>,
    pub ended_at: DateTime<Utc>,
    pub kind: SessionKind,
    pub regions: Vec<Region>,
    pub pain_before: Option<u8>,
    pub pain_after: Option<u8>,
    pub notes: Option<String>,
}

/// A massage session as a completed procedure; pain before and after go in a note.
pub fn procedure(session: &SessionFacts) -> BundleEntry {
    let mut note = Vec::new();
    if session.pain_before.is_some() || session.pain_after.is_some() {
        let show = |p: Option<u8>| p.map_or_else(|| "not given".to_owned(), |p| format!("{p}/10"));
        note.push(Annotation {
            text: format!("Pain before: {}; pain after: {}", show(session.pain_before), show(session.pain_after)),
        });
    }
    note.extend(session.notes.iter().map(|n| Annotation { text: n.clone() }));
    let resource = Procedure {
        id: session.id.to_string(),
        status: "completed",
        code: CodeableConcept::text(format!("Massage therapy: {}", session.kind.label())),
        subject: Reference::to(session.patient_id),
        performed_period: Period { start: instant(session.started_at), end: Some(instant(session.ended_at)) },
        body_site: session.regions.iter().map(|r| body_site(*r)).collect(),
        note,
    };
    entry(session.id, Resource::Procedure(resource))
}

/// An open alert as an active flag, worded with its advice.
pub fn flag(alert: &Alert) -> BundleEntry {
    let urgency = match alert.tier {
        Tier::Emergency => "Emergency",
        Tier::Urgent => "Urgent: see a doctor today",
        Tier::SeePhysio => "See a physiotherapist",
        Tier::TherapistFollowup => "Therapist follow-up",
    };
    let resource = Flag {
        id: alert.id.to_string(),
        status: "active",
        category: vec![CodeableConcept::coded(
            Coding { system: FLAG_CATEGORY, code: "clinical", display: "Clinical" },
            "Clinical",
        )],
        code: CodeableConcept::text(format!("{urgency}: {}", alert.explanation)),
        subject: Reference::to(alert.patient_id),
        period: Period { start: instant(alert.opened_at), end: None },
    };
    entry(alert.id, Resource::Flag(resource))
}

/// A file name for an export made on `date`.
pub fn file_name(date: NaiveDate) -> String {
    format!("aftercare-fhir-{date}.json")
}

#[cfg(test)]
mod tests;

/// A note between the patient and a therapist as a completed `Communication`: the patient by
/// reference, the therapist by name; an answer points at the thread's first note.
pub fn communication(note: &Note) -> BundleEntry {
    let patient = Party { reference: Some(full_url(note.patient_id)), display: None };
    let therapist =
        Party { reference: None, display: Some(note.therapist_name.clone().unwrap_or_else(|| "Therapist".to_owned())) };
    let (sender, recipient) = match note.author {
        Role::Patient => (patient, therapist),
        Role::Therapist => (therapist, patient),
    };
    let about = match note.subject.kind {
        SubjectKind::Entry => "About a journal entry",
        SubjectKind::Session => "About a massage session",
        SubjectKind::Alert => "About an alert",
    };
    let resource = Communication {
        id: note.id.to_string(),
        status: "completed",
        in_response_to: if note.thread_id == note.id { Vec::new() } else { vec![Reference::to(note.thread_id)] },
        subject: Reference::to(note.patient_id),
        topic: CodeableConcept::text(about),
        sent: instant(note.created_at),
        received: note.read_at.map(instant),
        recipient: vec![recipient],
        sender,
        payload: vec![Payload { content_string: note.body.clone() }],
    };
    entry(note.id, Resource::Communication(resource))
}
