use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::*;
use crate::domain::journal::{EntryContent, RegionPain, Score};

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

fn entry_with_regions() -> Entry {
    let score = |v| Score::new(v).unwrap();
    Entry {
        id: Uuid::now_v7(),
        patient_id: Uuid::now_v7(),
        content: EntryContent {
            recorded_at: at("2026-11-21T19:30:00Z"),
            pain: score(6),
            regions: vec![
                RegionPain { region: Region::LowerBack, pain: score(7), qualities: BTreeSet::new() },
                RegionPain { region: Region::LeftLeg, pain: score(3), qualities: BTreeSet::new() },
            ],
            symptoms: BTreeSet::new(),
            interference_activity: None,
            interference_enjoyment: None,
            sleep_quality: None,
            stress: None,
            self_care: BTreeSet::new(),
            medications: vec![],
            notes: Some("Stiff after a drive, \"again\"".into()),
            time_zone: None,
        },
        local_date: "2026-11-21".parse().unwrap(),
        version: 1,
        created_at: at("2026-11-21T19:31:00Z"),
        updated_at: at("2026-11-21T19:31:00Z"),
    }
}

fn json_of(entry: &BundleEntry) -> Value {
    serde_json::to_value(entry).unwrap()
}

#[test]
fn an_entry_is_a_pain_observation_and_one_per_region_with_its_body_site() {
    let entry = entry_with_regions();
    let resources: Vec<Value> = pain_observations(&entry).iter().map(json_of).collect();
    assert_eq!(resources.len(), 3);
    let overall = &resources[0];
    assert_eq!(overall["fullUrl"], format!("urn:uuid:{}", entry.id));
    let r = &overall["resource"];
    assert_eq!(r["resourceType"], "Observation");
    assert_eq!(r["status"], "final");
    assert_eq!(
        r["code"]["coding"][0],
        json!({"system": "http://loinc.org", "code": "72514-3", "display": "Pain severity - 0-10 verbal numeric rating [Score] - Reported"})
    );
    assert_eq!(r["category"][0]["coding"][0]["code"], "survey");
    assert_eq!(r["valueInteger"], 6);
    assert_eq!(r["effectiveDateTime"], "2026-11-21T19:30:00.000000Z");
    assert_eq!(r["subject"]["reference"], format!("urn:uuid:{}", entry.patient_id));
    assert_eq!(r["note"][0]["text"], "Stiff after a drive, \"again\"");
    assert!(r.get("bodySite").is_none());

    let lower_back = &resources[1]["resource"];
    assert_eq!(lower_back["valueInteger"], 7);
    assert_eq!(lower_back["bodySite"]["coding"][0]["system"], "http://snomed.info/sct");
    assert_eq!(lower_back["bodySite"]["coding"][0]["code"], "37822005");
    assert_eq!(resources[2]["resource"]["bodySite"]["coding"][0]["code"], "32153003");
    // Derived ids are stable from one export to the next, and distinct.
    assert_eq!(pain_observations(&entry), pain_observations(&entry));
    assert_ne!(resources[1]["resource"]["id"], resources[2]["resource"]["id"]);
}

#[test]
fn every_region_has_a_snomed_body_site() {
    for region in Region::ALL {
        let site = body_site(region);
        assert_eq!(site.coding.len(), 1);
        assert_eq!(site.coding[0].system, SNOMED);
        assert!(site.coding[0].code.chars().all(|c| c.is_ascii_digit()), "{region:?}");
        assert!(site.text.is_some());
    }
}

#[test]
fn peg_carries_its_three_items_as_components() {
    let id = Uuid::now_v7();
    let answers = Peg::new(6, 5, 7).unwrap();
    let value = json_of(&peg(id, Uuid::now_v7(), at("2026-11-20T08:00:00Z"), answers));
    let r = &value["resource"];
    assert_eq!(r["code"]["coding"][0]["code"], "91148-7");
    let items: Vec<i64> =
        r["component"].as_array().unwrap().iter().map(|c| c["valueInteger"].as_i64().unwrap()).collect();
    assert_eq!(items, [6, 5, 7]);
    assert!(r.get("valueInteger").is_none());
}

#[test]
fn the_streamed_bundle_is_the_bundle() {
    let entry = entry_with_regions();
    let id = Uuid::now_v7();
    let now = at("2026-12-01T10:00:00Z");
    let entries = pain_observations(&entry);
    let whole = serde_json::to_value(Bundle::new(id, now, entries.clone())).unwrap();
    let parts: Vec<String> = entries.iter().map(|e| serde_json::to_string(e).unwrap()).collect();
    let streamed = format!("{}{}{}", bundle_start(id, now), parts.join(","), BUNDLE_END);
    assert_eq!(serde_json::from_str::<Value>(&streamed).unwrap(), whole);
    assert_eq!(whole["resourceType"], "Bundle");
    assert_eq!(whole["type"], "collection");
    let empty = format!("{}{}", bundle_start(id, now), BUNDLE_END);
    assert_eq!(serde_json::from_str::<Value>(&empty).unwrap()["entry"], json!([]));
}
