//! Export: the whole journal as JSON, CSV and FHIR R4, for the patient and for a therapist with
//! `read_journal`, one access log line per export, and nothing left behind by erasure.

use std::io::Write as _;
use std::process::Command;

use chrono::TimeDelta;
use poem_openapi::types::{Example, ParseFromJSON};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::care::Who;
use crate::helpers::{Backend, PASSWORD, TestApp, assert_problem, on_both_backends};

/// Notes a spreadsheet must keep whole: a comma, quotes, a line break, a CRLF and emoji.
const AWKWARD_NOTES: &str = "Stiff, then \"better\" after a walk\nslept badly\r\nagain 😖👍 — ok";

impl TestApp {
    async fn download(&self, who: &Who, path: &str) -> reqwest::Response {
        self.send(Method::GET, path, who, None).await
    }

    /// A patient with a bit of everything: entries (regions, symptoms, awkward notes), a PEG and
    /// a Roland-Morris, a session with an answered check-in, a health screen and a red-flag alert.
    async fn journal_with_everything(&self) -> (Who, Uuid) {
        let ana = self.named_patient("ana@example.org", "Ana").await;
        let now = self.clock_now();
        let awkward = Uuid::now_v7();
        let body = json!({
            "recorded_at": (now - TimeDelta::days(2)).to_rfc3339(), "pain": 6,
            "regions": [{"region": "lower_back", "pain": 7, "qualities": ["aching", "stiffness"]}, {"region": "left_leg", "pain": 3}],
            "self_care": ["stretching", "heat"], "medications": ["ibuprofen 400 mg", "paracetamol; 1 g"],
            "notes": AWKWARD_NOTES, "time_zone": "Europe/Berlin", "sleep_quality": 4,
        });
        assert_eq!(self.put_entry(ana.token(), awkward, &body).await.status(), StatusCode::CREATED);
        for days in [1, 3, 9] {
            let body = json!({"recorded_at": (now - TimeDelta::days(days)).to_rfc3339(), "pain": 4});
            assert_eq!(self.put_entry(ana.token(), Uuid::now_v7(), &body).await.status(), StatusCode::CREATED);
        }
        let peg = json!({"kind": "peg", "pain": 6, "enjoyment": 5, "activity": 7});
        assert_eq!(self.post("/v1/questionnaires", Some(ana.token()), &peg).await.status(), StatusCode::CREATED);
        let rm = json!({"kind": "roland_morris", "answers": (0..24).map(|i| i % 3 == 0).collect::<Vec<_>>()});
        assert_eq!(self.post("/v1/questionnaires", Some(ana.token()), &rm).await.status(), StatusCode::CREATED);
        let session = json!({"started_at": (now - TimeDelta::hours(30)).to_rfc3339(), "duration_minutes": 60, "kind": "deep_tissue",
            "regions": ["lower_back", "glutes"], "pressure": "firm", "pain_before": 6, "pain_after": 4, "notes": "Tight QL, left side"});
        let recorded = self.record_session(&ana.tokens, &session).await;
        let id = recorded["session"]["id"].as_str().unwrap();
        let check_in = recorded["steps"].as_array().unwrap().iter().find(|s| s["key"] == "soreness_24h").unwrap();
        let path = format!("/v1/sessions/{id}/steps/{}/check-in", check_in["id"].as_str().unwrap());
        let answer = json!({"soreness": 3, "leg_swelling_redness_warmth": false});
        assert_eq!(self.send(Method::PUT, &path, &ana, Some(&answer)).await.status(), StatusCode::OK);
        let screen = json!({"fever": {"present": false, "confirmed_on": now.date_naive()}});
        assert_eq!(self.send(Method::PUT, "/v1/me/health-screen", &ana, Some(&screen)).await.status(), StatusCode::OK);
        // A red flag opens an alert at once.
        let flagged =
            json!({"recorded_at": (now - TimeDelta::hours(2)).to_rfc3339(), "pain": 7, "symptoms": ["fever"]});
        assert_eq!(self.put_entry(ana.token(), Uuid::now_v7(), &flagged).await.status(), StatusCode::CREATED);
        (ana, awkward)
    }

    async fn export_json(&self, who: &Who, patient: &Who) -> Value {
        let response = self.download(who, &format!("/v1/patients/{}/export", patient.id)).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "application/vnd.aftercare.export+json");
        let disposition = response.headers()["content-disposition"].to_str().unwrap().to_owned();
        assert!(disposition.starts_with("attachment; filename=\"aftercare-export-"), "{disposition}");
        response.json().await.unwrap()
    }
}

fn export_lines(log: &[Value]) -> Vec<&Value> {
    log.iter().filter(|l| l["operation"] == "export_journal").collect()
}

/// Rows of a CSV document as Python's csv module reads it (an independent RFC 4180 reader).
fn python_csv(text: &[u8]) -> Vec<Vec<String>> {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(text).unwrap();
    let script = "import csv, json, sys\n\
                  with open(sys.argv[1], newline='', encoding='utf-8') as f:\n    \
                  print(json.dumps(list(csv.reader(f, strict=True))))";
    let output = Command::new("python3").arg("-c").arg(script).arg(file.path()).output().expect("python3 runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

on_both_backends! {
    async fn a_patient_exports_everything_as_one_json_document(app) {
        let (ana, awkward) = app.journal_with_everything().await;
        let tom = app.therapist("tom@example.org", "Tom").await;
        app.link(&ana, &tom, &["read_journal", "receive_alerts"]).await;
        // Something in the access log before the export.
        assert_eq!(app.download(&tom, &format!("/v1/patients/{}/journal/entries", ana.id)).await.status(), StatusCode::OK);

        let doc = app.export_json(&ana, &ana).await;
        assert_eq!(doc["format"], "aftercare.journal-export");
        assert_eq!(doc["version"], 1);
        assert_eq!(doc["patient_id"], ana.id.as_str());
        assert_eq!(doc["profile"]["display_name"], "Ana");
        let entries = doc["entries"].as_array().unwrap();
        assert_eq!(entries.len(), 5);
        let written = entries.iter().find(|e| e["id"] == awkward.to_string().as_str()).unwrap();
        assert_eq!(written["notes"], AWKWARD_NOTES.trim());
        assert_eq!(written["regions"][0]["qualities"], json!(["aching", "stiffness"]));
        let recorded = written["recorded_at"].as_str().unwrap();
        assert_eq!(recorded.len(), "2026-03-01T10:00:00.000000Z".len(), "six fractional digits: {recorded}");
        assert_eq!(doc["days"].as_array().unwrap().len(), 5);
        let kinds: Vec<&str> = doc["questionnaires"].as_array().unwrap().iter().map(|q| q["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["peg", "roland_morris"]);
        assert_eq!(doc["questionnaires"][0]["score"], 6.0);
        let session = &doc["sessions"][0];
        assert_eq!(session["session"]["notes"], "Tight QL, left side");
        let answered = session["steps"].as_array().unwrap().iter().find(|s| s["key"] == "soreness_24h").unwrap();
        assert_eq!(answered["check_in"]["soreness"], 3);
        assert_eq!(answered["state"], "done");
        assert_eq!(doc["health_screen"]["screen"]["fever"]["present"], false);
        let alerts = doc["alerts"].as_array().unwrap();
        assert_eq!(alerts.len(), 1);
        assert!(!alerts[0]["evidence"].as_array().unwrap().is_empty(), "{alerts:?}");
        assert_eq!(doc["grants"][0]["therapist"]["display_name"], "Tom");
        let log = doc["access_log"].as_array().unwrap();
        assert_eq!(log.len(), 1, "the patient's own export is not logged: {log:?}");
        assert_eq!(log[0]["operation"], "list_journal_entries");

        // The document is what the API document says it is.
        aftercare::api::export::ExportBody::parse_from_json(Some(doc.clone())).expect("the export matches JournalExport");
        let documented = aftercare::api::export::ExportBody::example();
        let example = poem_openapi::types::ToJSON::to_json(&documented).unwrap();
        let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        assert_eq!(keys(&doc), keys(&example));
    }

    async fn a_therapist_exports_with_read_journal_and_it_is_logged_once(app) {
        let (ana, _) = app.journal_with_everything().await;
        let tom = app.therapist("tom@example.org", "Tom").await;
        let una = app.therapist("una@example.org", "Una").await;
        let nia = app.therapist("nia@example.org", "Nia").await;
        let sam = app.therapist("sam@example.org", "Sam").await;
        app.link(&ana, &tom, &["read_journal", "receive_alerts"]).await;
        app.link(&ana, &una, &["read_journal"]).await;
        app.link(&ana, &nia, &["record_sessions", "receive_alerts"]).await;

        let toms = app.export_json(&tom, &ana).await;
        assert_eq!(toms["entries"].as_array().unwrap().len(), 5);
        assert_eq!(toms["alerts"].as_array().unwrap().len(), 1);
        assert!(toms["grants"].is_null() && toms["access_log"].is_null(), "the patient's alone");
        let unas = app.export_json(&una, &ana).await;
        assert!(unas["alerts"].is_null(), "no alerts without receive_alerts");
        assert_eq!(unas["sessions"].as_array().unwrap().len(), 1);

        for (who, path) in [(&nia, "export"), (&sam, "export"), (&nia, "export/fhir"), (&sam, "export/entries.csv")] {
            let response = app.download(who, &format!("/v1/patients/{}/{path}", ana.id)).await;
            assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
        }
        // An id that is nobody's answers the same.
        let nobody = app.download(&tom, &format!("/v1/patients/{}/export", Uuid::now_v7())).await;
        assert_problem(nobody, StatusCode::NOT_FOUND, "not_found").await;

        let csv = app.download(&tom, &format!("/v1/patients/{}/export/sessions.csv", ana.id)).await;
        assert_eq!(csv.status(), StatusCode::OK);
        csv.bytes().await.unwrap();

        let log = app.access_log(&ana, 200).await;
        let exports = export_lines(&log);
        let line = |who: &Who, outcome: &str| exports.iter().filter(|l| l["actor"]["id"] == who.id.as_str() && l["outcome"] == outcome).count();
        assert_eq!(line(&tom, "allowed"), 2, "one line per export: {exports:?}");
        assert_eq!(line(&una, "allowed"), 1);
        assert_eq!(line(&nia, "denied"), 2);
        assert_eq!(line(&sam, "denied"), 2);
        assert_eq!(exports.len(), 7);
    }

    async fn csv_tables_quote_as_rfc_4180_and_read_back_whole(app) {
        let (ana, awkward) = app.journal_with_everything().await;
        let response = app.download(&ana, &format!("/v1/patients/{}/export/entries.csv", ana.id)).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "text/csv; charset=utf-8");
        let disposition = response.headers()["content-disposition"].to_str().unwrap().to_owned();
        assert!(disposition.starts_with("attachment; filename=\"aftercare-entries-") && disposition.ends_with(".csv\""), "{disposition}");
        let bytes = response.bytes().await.unwrap();
        assert!(bytes.windows(2).any(|w| w == b"\r\n"), "CRLF line ends");
        let rows = python_csv(&bytes);
        let header = &rows[0];
        assert_eq!(&header[..5], ["id", "local_date", "recorded_at", "time_zone", "pain"]);
        assert_eq!(rows.len(), 1 + 5, "a header and one row per entry");
        assert!(rows.iter().all(|r| r.len() == header.len()));
        let column = |name: &str| header.iter().position(|h| h == name).unwrap();
        let row = rows.iter().find(|r| r[0] == awkward.to_string()).unwrap();
        assert_eq!(row[column("notes")], AWKWARD_NOTES.trim());
        assert_eq!(row[column("pain")], "6");
        assert_eq!(row[column("pain_lower_back")], "7");
        assert_eq!(row[column("pain_left_leg")], "3");
        assert_eq!(row[column("pain_neck")], "");
        assert_eq!(row[column("qualities")], "lower_back: aching, stiffness");
        assert_eq!(row[column("medications")], "ibuprofen 400 mg; paracetamol; 1 g");
        assert_eq!(row[column("time_zone")], "Europe/Berlin");
        assert_eq!(row[column("sleep_quality")], "4");

        let response = app.download(&ana, &format!("/v1/patients/{}/export/sessions.csv", ana.id)).await;
        assert_eq!(response.status(), StatusCode::OK);
        let rows = python_csv(&response.bytes().await.unwrap());
        assert_eq!(rows.len(), 2);
        let header = &rows[0];
        let column = |name: &str| header.iter().position(|h| h == name).unwrap();
        let row = &rows[1];
        assert_eq!(row[column("kind")], "deep_tissue");
        assert_eq!(row[column("regions")], "lower_back; glutes");
        assert_eq!(row[column("pain_before")], "6");
        assert_eq!(row[column("pain_after")], "4");
        assert_eq!(row[column("check_ins")], "24h: soreness 3/10");
        assert_eq!(row[column("steps_done")], "1");
        assert!(row[column("steps")].parse::<u32>().unwrap() >= 2);
    }

    async fn the_fhir_bundle_maps_pain_questionnaires_sessions_and_alerts(app) {
        let (ana, awkward) = app.journal_with_everything().await;
        let response = app.download(&ana, &format!("/v1/patients/{}/export/fhir", ana.id)).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "application/fhir+json");
        let bytes = response.bytes().await.unwrap();
        let bundle: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(bundle["resourceType"], "Bundle");
        assert_eq!(bundle["type"], "collection");
        let resources: Vec<&Value> = bundle["entry"].as_array().unwrap().iter().map(|e| &e["resource"]).collect();
        assert_eq!(resources[0]["resourceType"], "Patient");
        assert_eq!(resources[0]["id"], ana.id.as_str());
        assert_eq!(resources[0]["name"][0]["text"], "Ana");
        let of = |kind: &str| resources.iter().filter(|r| r["resourceType"] == kind).copied().collect::<Vec<_>>();
        let pain: Vec<&Value> = of("Observation").into_iter().filter(|o| o["code"]["coding"][0]["code"] == "72514-3").collect();
        // Five entries, and two regions of one of them.
        assert_eq!(pain.len(), 7);
        let overall = pain.iter().find(|o| o["id"] == awkward.to_string().as_str()).unwrap();
        assert_eq!(overall["valueInteger"], 6);
        assert_eq!(overall["category"][0]["coding"][0]["code"], "survey");
        assert_eq!(overall["subject"]["reference"], format!("urn:uuid:{}", ana.id));
        let regional: Vec<&&Value> = pain.iter().filter(|o| o["bodySite"].is_object()).collect();
        let sites: Vec<(&str, i64)> = regional.iter().map(|o| (o["bodySite"]["coding"][0]["code"].as_str().unwrap(), o["valueInteger"].as_i64().unwrap())).collect();
        assert_eq!(sites, [("37822005", 7), ("32153003", 3)]);
        assert!(regional.iter().all(|o| o["bodySite"]["coding"][0]["system"] == "http://snomed.info/sct"));
        let peg = of("Observation").into_iter().find(|o| o["code"]["coding"][0]["code"] == "91148-7").unwrap();
        assert_eq!(peg["component"].as_array().unwrap().len(), 3);
        assert!(of("Observation").iter().any(|o| o["code"]["text"].as_str().unwrap_or_default().starts_with("Roland-Morris")));
        let procedure = of("Procedure");
        assert_eq!(procedure.len(), 1);
        assert_eq!(procedure[0]["status"], "completed");
        let flags = of("Flag");
        assert_eq!(flags.len(), 1);
        assert_eq!(flags[0]["status"], "active");

        // Kept for the R4 validator in CI (contract/fhir/check.sh).
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("fhir-export");
        std::fs::create_dir_all(&dir).unwrap();
        let name = if app.backend == Backend::Sqlite { "sqlite.json" } else { "postgres.json" };
        std::fs::write(dir.join(name), &bytes).unwrap();
    }

    async fn notes_with_therapists_are_in_every_export_format(app) {
        let (ana, awkward) = app.journal_with_everything().await;
        let tom = app.therapist("tom@example.org", "Tom").await;
        let una = app.therapist("una@example.org", "Una").await;
        app.link(&ana, &tom, &["read_journal", "receive_alerts"]).await;
        app.link(&ana, &una, &["read_journal"]).await;
        let path = format!("/v1/patients/{}/notes", ana.id);
        let first = json!({"subject": {"kind": "entry", "id": awkward}, "body": "Was the drive the trigger, \"again\"?"});
        let response = app.send(Method::POST, &path, &tom, Some(&first)).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let thread = response.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
        let reply = json!({"body": AWKWARD_NOTES});
        let response = app.send(Method::POST, &format!("/v1/notes/{thread}/replies"), &ana, Some(&reply)).await;
        assert_eq!(response.status(), StatusCode::CREATED);

        // JSON: the patient's export and Tom's hold the conversation; Una's none of it.
        let doc = app.export_json(&ana, &ana).await;
        let notes = doc["notes"].as_array().unwrap();
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert_eq!((notes[0]["author"].as_str(), notes[0]["body"].as_str()), (Some("patient"), Some(AWKWARD_NOTES.trim())));
        assert_eq!(notes[1]["id"], thread.as_str());
        assert_eq!(notes[0]["thread_id"], thread.as_str());
        assert_eq!(notes[1]["therapist_name"], "Tom");
        aftercare::api::export::ExportBody::parse_from_json(Some(doc.clone())).expect("the export matches JournalExport");
        assert_eq!(app.export_json(&tom, &ana).await["notes"].as_array().unwrap().len(), 2);
        assert_eq!(app.export_json(&una, &ana).await["notes"], json!([]), "another therapist's conversations are not hers");

        // CSV: one row per note, read back whole.
        let response = app.download(&ana, &format!("/v1/patients/{}/export/notes.csv", ana.id)).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "text/csv; charset=utf-8");
        let disposition = response.headers()["content-disposition"].to_str().unwrap().to_owned();
        assert!(disposition.starts_with("attachment; filename=\"aftercare-notes-"), "{disposition}");
        let rows = python_csv(&response.bytes().await.unwrap());
        assert_eq!(rows.len(), 3);
        let column = |name: &str| rows[0].iter().position(|h| h == name).unwrap();
        assert_eq!(rows[1][column("body")], AWKWARD_NOTES.trim());
        assert_eq!(rows[1][column("author")], "patient");
        assert_eq!(rows[2][column("subject_kind")], "entry");
        assert_eq!(rows[2][column("subject_id")], awkward.to_string());
        assert_eq!(rows[2][column("therapist_name")], "Tom");

        // FHIR: each note a completed Communication.
        let response = app.download(&ana, &format!("/v1/patients/{}/export/fhir", ana.id)).await;
        assert_eq!(response.status(), StatusCode::OK);
        let bytes = response.bytes().await.unwrap();
        let bundle: Value = serde_json::from_slice(&bytes).unwrap();
        let messages: Vec<&Value> = bundle["entry"].as_array().unwrap().iter().map(|e| &e["resource"]).filter(|r| r["resourceType"] == "Communication").collect();
        assert_eq!(messages.len(), 2);
        let patient = format!("urn:uuid:{}", ana.id);
        let answer = messages.iter().find(|m| m["id"] != thread.as_str()).unwrap();
        assert_eq!(answer["status"], "completed");
        assert_eq!(answer["subject"]["reference"], patient.as_str());
        assert_eq!(answer["sender"]["reference"], patient.as_str());
        assert_eq!(answer["recipient"][0]["display"], "Tom");
        assert_eq!(answer["payload"][0]["contentString"], AWKWARD_NOTES.trim());
        assert_eq!(answer["inResponseTo"][0]["reference"], format!("urn:uuid:{thread}"));
        assert!(answer["sent"].as_str().unwrap().ends_with('Z'));
        let question = messages.iter().find(|m| m["id"] == thread.as_str()).unwrap();
        assert_eq!(question["sender"]["display"], "Tom");
        assert_eq!(question["recipient"][0]["reference"], patient.as_str());

        // Kept for the R4 validator in CI (contract/fhir/check.sh).
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("fhir-export");
        std::fs::create_dir_all(&dir).unwrap();
        let name = if app.backend == Backend::Sqlite { "sqlite-notes.json" } else { "postgres-notes.json" };
        std::fs::write(dir.join(name), &bytes).unwrap();
    }

    async fn erasure_leaves_no_trace_of_exports(app) {
        let (ana, _) = app.journal_with_everything().await;
        let tom = app.therapist("tom@example.org", "Tom").await;
        app.link(&ana, &tom, &["read_journal"]).await;
        for path in ["export", "export/fhir", "export/entries.csv", "export/sessions.csv", "export/notes.csv"] {
            let response = app.download(&tom, &format!("/v1/patients/{}/{path}", ana.id)).await;
            assert_eq!(response.status(), StatusCode::OK);
            response.bytes().await.unwrap();
        }
        assert_eq!(export_lines(&app.access_log(&ana, 200).await).len(), 5);
        let id: Uuid = ana.id.parse().unwrap();
        let response = app.request(Method::DELETE, "/v1/me", Some(ana.token()), Some(&json!({"password": PASSWORD}))).await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert_eq!(app.where_id_remains(id).await, Vec::<String>::new());
        let gone = app.download(&tom, &format!("/v1/patients/{}/export", ana.id)).await;
        assert_problem(gone, StatusCode::NOT_FOUND, "not_found").await;
    }
}
