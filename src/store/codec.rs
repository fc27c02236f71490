//! How journal entries and questionnaires are laid out in their columns. Pure functions, shared
//! by both databases.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::StoreError;
use super::journal::QuestionnaireAnswers;
use crate::domain::alerts::Evidence;
use crate::domain::body::Region;
use crate::domain::journal::{EntryContent, PainQuality, RegionPain, Score, SelfCare, Symptom};
use crate::domain::questionnaires::{Peg, RolandMorris};
use crate::domain::rollup::RollupInput;
use crate::domain::time::parse_clock_time;
use crate::domain::{QuietHours, TimeZone};

/// The `content` column: everything but the indexed fields, by name so that a later version can
/// add fields without a migration.
#[derive(Debug, Default, Serialize, Deserialize)]
struct StoredContent {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    regions: Vec<StoredRegion>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    interference_activity: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    interference_enjoyment: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sleep_quality: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stress: Option<u8>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    self_care: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    medications: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    notes: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    time_zone: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct StoredRegion {
    region: String,
    pain: u8,
    #[serde(default)]
    qualities: Vec<String>,
}

pub fn encode_symptoms(symptoms: &BTreeSet<Symptom>) -> String {
    if symptoms.is_empty() {
        return String::new();
    }
    let names: Vec<&str> = symptoms.iter().map(|s| s.as_str()).collect();
    format!(",{},", names.join(","))
}

pub fn decode_symptoms(text: &str) -> Result<BTreeSet<Symptom>, StoreError> {
    text.split(',').filter(|s| !s.is_empty()).map(|s| Symptom::parse(s).ok_or_else(|| corrupt("symptoms"))).collect()
}

/// The indexed columns of an entry, as daily roll-ups need them.
pub fn rollup_input(
    local_date: NaiveDate,
    recorded_at: DateTime<Utc>,
    pain: i16,
    symptoms: &str,
) -> Result<RollupInput, StoreError> {
    Ok(RollupInput {
        local_date,
        recorded_at,
        pain: u8::try_from(pain).map_err(|_| corrupt("pain"))?,
        symptoms: decode_symptoms(symptoms)?,
    })
}

/// An account's `time_zone`, `quiet_start` and `quiet_end` columns.
pub fn local_time(time_zone: &str, quiet_start: &str, quiet_end: &str) -> Result<(TimeZone, QuietHours), StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("accounts.{what}"));
    let zone = TimeZone::parse(time_zone).map_err(|_| corrupt("time_zone"))?;
    let start = parse_clock_time(quiet_start).map_err(|_| corrupt("quiet_start"))?;
    let end = parse_clock_time(quiet_end).map_err(|_| corrupt("quiet_end"))?;
    Ok((zone, QuietHours::new(start, end).map_err(|_| corrupt("quiet_hours"))?))
}

/// An account row as an alert's recipient: (id, time_zone, quiet_start, quiet_end, locale).
pub fn recipient(
    (account_id, zone, start, end, locale): (uuid::Uuid, String, String, String, String),
) -> Result<super::Recipient, StoreError> {
    let (time_zone, quiet_hours) = local_time(&zone, &start, &end)?;
    // Only the region matters here; a tag that no longer parses means none.
    let locale = crate::domain::Locale::parse(&locale).unwrap_or_default();
    Ok(super::Recipient { account_id, time_zone, quiet_hours, locale })
}

/// The `alerts.evidence` column: a JSON array of tagged evidence.
pub fn encode_evidence(evidence: &[Evidence]) -> String {
    serde_json::to_string(evidence).expect("evidence serialises")
}

pub fn decode_evidence(text: &str) -> Result<Vec<Evidence>, StoreError> {
    serde_json::from_str(text).map_err(|_| StoreError::Corrupt("alerts.evidence".into()))
}

pub fn encode_content(content: &EntryContent) -> String {
    let stored = StoredContent {
        regions: content
            .regions
            .iter()
            .map(|r| StoredRegion {
                region: r.region.as_str().to_owned(),
                pain: r.pain.value(),
                qualities: r.qualities.iter().map(|q| q.as_str().to_owned()).collect(),
            })
            .collect(),
        interference_activity: content.interference_activity.map(Score::value),
        interference_enjoyment: content.interference_enjoyment.map(Score::value),
        sleep_quality: content.sleep_quality.map(Score::value),
        stress: content.stress.map(Score::value),
        self_care: content.self_care.iter().map(|c| c.as_str().to_owned()).collect(),
        medications: content.medications.clone(),
        notes: content.notes.clone(),
        time_zone: content.time_zone.map(|z| z.name().to_owned()),
    };
    serde_json::to_string(&stored).expect("entry content serialises")
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("journal_entries.{what}"))
}

fn score(value: Option<u8>, what: &str) -> Result<Option<Score>, StoreError> {
    value.map(|v| Score::new(v.into()).map_err(|_| corrupt(what))).transpose()
}

pub fn decode_content(
    recorded_at: DateTime<Utc>,
    pain: i64,
    symptoms: &str,
    content: &str,
) -> Result<EntryContent, StoreError> {
    let stored: StoredContent = serde_json::from_str(content).map_err(|_| corrupt("content"))?;
    let regions = stored
        .regions
        .into_iter()
        .map(|r| {
            Ok(RegionPain {
                region: Region::parse(&r.region).ok_or_else(|| corrupt("content.regions"))?,
                pain: Score::new(r.pain.into()).map_err(|_| corrupt("content.regions"))?,
                qualities: r
                    .qualities
                    .iter()
                    .map(|q| PainQuality::parse(q).ok_or_else(|| corrupt("content.qualities")))
                    .collect::<Result<_, _>>()?,
            })
        })
        .collect::<Result<_, StoreError>>()?;
    Ok(EntryContent {
        recorded_at,
        pain: Score::new(pain).map_err(|_| corrupt("pain"))?,
        regions,
        symptoms: decode_symptoms(symptoms)?,
        interference_activity: score(stored.interference_activity, "interference_activity")?,
        interference_enjoyment: score(stored.interference_enjoyment, "interference_enjoyment")?,
        sleep_quality: score(stored.sleep_quality, "sleep_quality")?,
        stress: score(stored.stress, "stress")?,
        self_care: stored
            .self_care
            .iter()
            .map(|c| SelfCare::parse(c).ok_or_else(|| corrupt("content.self_care")))
            .collect::<Result<_, _>>()?,
        medications: stored.medications,
        notes: stored.notes,
        time_zone: stored
            .time_zone
            .map(|z| TimeZone::parse(&z).map_err(|_| corrupt("content.time_zone")))
            .transpose()?,
    })
}

pub fn questionnaire_kind(answers: &QuestionnaireAnswers) -> &'static str {
    match answers {
        QuestionnaireAnswers::Peg(_) => "peg",
        QuestionnaireAnswers::RolandMorris(_) => "roland_morris",
    }
}

pub fn encode_answers(answers: &QuestionnaireAnswers) -> String {
    match answers {
        QuestionnaireAnswers::Peg(peg) => {
            serde_json::json!({"pain": peg.pain, "enjoyment": peg.enjoyment, "activity": peg.activity}).to_string()
        }
        QuestionnaireAnswers::RolandMorris(rm) => serde_json::json!({"answers": rm.answers()}).to_string(),
    }
}

pub fn decode_answers(kind: &str, text: &str) -> Result<QuestionnaireAnswers, StoreError> {
    let bad = || StoreError::Corrupt("questionnaire_responses.answers".into());
    let value: serde_json::Value = serde_json::from_str(text).map_err(|_| bad())?;
    match kind {
        "peg" => {
            let item = |name: &str| value[name].as_i64().ok_or_else(bad);
            Peg::new(item("pain")?, item("enjoyment")?, item("activity")?)
                .map(QuestionnaireAnswers::Peg)
                .map_err(|_| bad())
        }
        "roland_morris" => {
            let answers: Vec<bool> = serde_json::from_value(value["answers"].clone()).map_err(|_| bad())?;
            RolandMorris::new(&answers).map(QuestionnaireAnswers::RolandMorris).map_err(|_| bad())
        }
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_round_trips() {
        let content = EntryContent {
            recorded_at: "2026-11-21T08:30:00Z".parse().unwrap(),
            pain: Score::new(6).unwrap(),
            regions: vec![RegionPain {
                region: Region::LowerBack,
                pain: Score::new(7).unwrap(),
                qualities: [PainQuality::Aching, PainQuality::Stiffness].into_iter().collect(),
            }],
            symptoms: [Symptom::TinglingLeftLeg, Symptom::Fever].into_iter().collect(),
            interference_activity: Some(Score::new(5).unwrap()),
            interference_enjoyment: None,
            sleep_quality: Some(Score::new(3).unwrap()),
            stress: None,
            self_care: [SelfCare::Heat, SelfCare::Walk].into_iter().collect(),
            medications: vec!["ibuprofen 400 mg".into()],
            notes: Some("stiff after the drive".into()),
            time_zone: Some(TimeZone::parse("America/New_York").unwrap()),
        };
        let symptoms = encode_symptoms(&content.symptoms);
        assert_eq!(symptoms, ",tingling_left_leg,fever,");
        let decoded = decode_content(content.recorded_at, 6, &symptoms, &encode_content(&content)).unwrap();
        assert_eq!(decoded, content);
        assert_eq!(encode_symptoms(&BTreeSet::new()), "");
        assert!(decode_content(content.recorded_at, 11, "", "{}").is_err());
    }

    #[test]
    fn answers_round_trip() {
        let peg = QuestionnaireAnswers::Peg(Peg::new(6, 5, 7).unwrap());
        assert_eq!(decode_answers("peg", &encode_answers(&peg)).unwrap(), peg);
        let rm = QuestionnaireAnswers::RolandMorris(RolandMorris::new(&[true; 24]).unwrap());
        assert_eq!(decode_answers("roland_morris", &encode_answers(&rm)).unwrap(), rm);
    }
}
