use chrono::{DateTime, TimeDelta, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, Tokens, assert_problem, on_both_backends, problem_fields};

impl TestApp {
    /// Writes an entry, then steps the background alert evaluation of the writer (test apps run
    /// without the background evaluator), so that every write is evaluated before the test goes
    /// on, as the evaluator would seconds later.
    pub async fn put_entry(&self, token: &str, id: Uuid, body: &Value) -> reqwest::Response {
        let response = self.request(Method::PUT, &format!("/v1/journal/entries/{id}"), Some(token), Some(body)).await;
        self.evaluate_marked(token).await;
        response
    }

    /// The background alert evaluation of the account behind `token`, stepped by hand.
    pub async fn evaluate_marked(&self, token: &str) {
        if let Ok(principal) = self.state.authenticate(token).await {
            self.state.evaluate_due_alerts(Some(principal.account_id)).await.expect("background alert evaluation");
        }
    }

    pub async fn json(&self, token: &str, path: &str) -> Value {
        let response = self.get(path, token).await;
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.json().await.unwrap()
    }

    /// Follows the change feed from `cursor` to its end; returns the changes and the last cursor.
    pub async fn sync(&self, token: &str, cursor: &str, limit: u32) -> (Vec<Value>, String) {
        let mut changes = Vec::new();
        let mut cursor = cursor.to_owned();
        loop {
            let page = self.json(token, &format!("/v1/journal/changes?cursor={cursor}&limit={limit}")).await;
            changes.extend(page["changes"].as_array().unwrap().iter().cloned());
            cursor = page["next_cursor"].as_str().unwrap().to_owned();
            if page["has_more"] == false {
                return (changes, cursor);
            }
        }
    }

    /// Every item of a paged list: follows `next_cursor` from the first page of `path` (which
    /// already has a query string) to the last.
    pub async fn all_pages(&self, token: &str, path: &str) -> Vec<Value> {
        let (mut items, mut cursor) = (Vec::new(), String::new());
        loop {
            let page = self.json(token, &format!("{path}&cursor={cursor}")).await;
            items.extend(page["items"].as_array().unwrap().iter().cloned());
            match page["next_cursor"].as_str() {
                Some(next) => cursor = next.to_owned(),
                None => return items,
            }
        }
    }

    /// A patient in `zone`, signed in.
    pub async fn patient_in(&self, email: &str, zone: &str) -> Tokens {
        let response = self
            .register(
                &json!({"email": email, "password": crate::helpers::PASSWORD, "role": "patient", "time_zone": zone}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        self.sign_in(email).await
    }
}

fn at(instant: &str) -> DateTime<Utc> {
    instant.parse().unwrap()
}

fn entry(recorded_at: &str, pain: u8) -> Value {
    json!({"recorded_at": recorded_at, "pain": pain})
}

/// Applies a change feed to a local copy, as a phone would.
fn apply(local: &mut std::collections::BTreeMap<String, Value>, changes: &[Value]) {
    for change in changes {
        let id = change["id"].as_str().unwrap().to_owned();
        if change["deleted"] == true {
            local.remove(&id);
        } else {
            local.insert(id, change["entry"].clone());
        }
    }
}

on_both_backends! {
    async fn create_update_and_stale_versions(app) {
        let ana = app.patient("ana@example.org").await;
        let id = Uuid::new_v4();
        let now = app.clock_now();
        let recorded = (now - TimeDelta::hours(2)).to_rfc3339();
        let response = app
            .put_entry(&ana.access, id, &json!({
                "recorded_at": recorded, "pain": 6,
                "regions": [{"region": "lower_back", "pain": 7, "qualities": ["aching", "stiffness"]}],
                "symptoms": ["tingling_left_leg"], "interference_activity": 5, "interference_enjoyment": 4,
                "sleep_quality": 3, "stress": 7, "self_care": ["heat", "walk"],
                "medications": ["ibuprofen 400 mg"], "notes": "after gardening"
            }))
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        assert_eq!(response.headers()["location"], format!("/v1/journal/entries/{id}").as_str());
        assert_eq!(response.headers()["cache-control"], "no-store");
        let mut created: Value = response.json().await.unwrap();
        // Tingling in one leg raises the see-a-physiotherapist alert, returned with the entry.
        let raised = created.as_object_mut().unwrap().remove("alerts").unwrap();
        assert_eq!((raised[0]["rule"].as_str(), raised[0]["tier"].as_str()), (Some("neurological"), Some("see_physio")), "{raised}");
        assert!(raised[0]["advice"].as_str().unwrap().starts_with("Book an appointment"));
        assert_eq!(created["version"], 1);
        assert_eq!(created["regions"][0]["qualities"], json!(["aching", "stiffness"]));
        assert_eq!(created["notes"], "after gardening");
        assert_eq!(app.json(&ana.access, &format!("/v1/journal/entries/{id}")).await, created);

        let update = json!({"recorded_at": recorded, "pain": 4, "base_version": 1});
        let response = app.put_entry(&ana.access, id, &update).await;
        assert_eq!(response.status(), StatusCode::OK);
        let mut updated: Value = response.json().await.unwrap();
        updated.as_object_mut().unwrap().remove("alerts");
        assert_eq!((updated["version"].as_i64(), updated["pain"].as_i64()), (Some(2), Some(4)));
        assert_eq!(updated["regions"], json!([]), "an update replaces the whole entry");

        // Another device still thinks version 1 is current.
        let stale = json!({"recorded_at": recorded, "pain": 9, "base_version": 1});
        let problem = assert_problem(app.put_entry(&ana.access, id, &stale).await, StatusCode::CONFLICT, "stale_version").await;
        assert_eq!(problem["current"]["entry"], updated, "the server's copy comes with the conflict");
        // No base version for an existing entry with other content is stale too.
        let blind = json!({"recorded_at": recorded, "pain": 9});
        assert_problem(app.put_entry(&ana.access, id, &blind).await, StatusCode::CONFLICT, "stale_version").await;
        assert_eq!(app.json(&ana.access, &format!("/v1/journal/entries/{id}")).await["pain"], 4);
    }

    async fn replaying_an_upsert_five_times_leaves_one_entry(app) {
        let ana = app.patient("ana@example.org").await;
        let id = Uuid::new_v4();
        let body = json!({"recorded_at": (app.clock_now() - TimeDelta::minutes(5)).to_rfc3339(), "pain": 5, "symptoms": ["fever"]});
        let mut first: Value = app.put_entry(&ana.access, id, &body).await.json().await.unwrap();
        // The first write raised the fever alert and says so; a replay (the phone never got the
        // answer) answers with the same alert and its advice, and raises nothing new.
        let raised = first.as_object_mut().unwrap().remove("alerts").unwrap();
        assert_eq!(raised.as_array().unwrap().len(), 1, "{raised}");
        assert_eq!(raised[0]["rule"], "fever");
        let shown = |alerts: &Value| -> Vec<(Value, Value, Value, Value)> {
            let alerts = alerts.as_array().unwrap();
            alerts.iter().map(|a| (a["id"].clone(), a["rule"].clone(), a["tier"].clone(), a["advice"].clone())).collect()
        };
        for _ in 0..5 {
            let response = app.put_entry(&ana.access, id, &body).await;
            assert_eq!(response.status(), StatusCode::OK);
            let mut replay = response.json::<Value>().await.unwrap();
            let again = replay.as_object_mut().unwrap().remove("alerts").unwrap();
            assert_eq!(shown(&again), shown(&raised), "a replay answers with the alerts the write raised");
            assert_eq!(replay, first, "same id and body, same entry");
        }
        assert_eq!(app.count("SELECT count(*) FROM alerts", None).await, 1, "and raises nothing new");
        // Changed content is a new write: its replay answers with what it raised (nothing).
        let calmer = json!({"recorded_at": body["recorded_at"], "pain": 3, "base_version": 1});
        let updated: Value = app.put_entry(&ana.access, id, &calmer).await.json().await.unwrap();
        assert_eq!(updated["alerts"], json!([]));
        let replay: Value = app.put_entry(&ana.access, id, &calmer).await.json().await.unwrap();
        assert_eq!((replay["version"].clone(), replay["alerts"].clone()), (json!(2), json!([])));
        assert_eq!(app.count("SELECT count(*) FROM journal_entries", None).await, 1);
        let (changes, _) = app.sync(&ana.access, "", 50).await;
        assert_eq!(changes.len(), 1, "replays are not changes");
        assert_eq!(changes[0]["version"], 2);
    }

    async fn delete_leaves_a_tombstone_and_sync_follows(app) {
        let ana = app.patient("ana@example.org").await;
        let base = app.clock_now() - TimeDelta::days(3);
        let ids: Vec<Uuid> = (0..5).map(|_| Uuid::new_v4()).collect();
        for (i, id) in ids.iter().enumerate() {
            let response = app.put_entry(&ana.access, *id, &entry(&(base + TimeDelta::hours(i as i64)).to_rfc3339(), i as u8)).await;
            assert_eq!(response.status(), StatusCode::CREATED);
        }
        // The phone syncs in pages of two.
        let (first_sync, cursor) = app.sync(&ana.access, "", 2).await;
        assert_eq!(first_sync.len(), 5);
        let mut phone = std::collections::BTreeMap::new();
        apply(&mut phone, &first_sync);

        // Elsewhere: one entry is edited, one deleted, one added.
        let edit = json!({"recorded_at": (base + TimeDelta::hours(1)).to_rfc3339(), "pain": 9, "base_version": 1});
        assert_eq!(app.put_entry(&ana.access, ids[1], &edit).await.status(), StatusCode::OK);
        let response = app.request(Method::DELETE, &format!("/v1/journal/entries/{}", ids[2]), Some(&ana.access), None).await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        let again = app.request(Method::DELETE, &format!("/v1/journal/entries/{}", ids[2]), Some(&ana.access), None).await;
        assert_eq!(again.status(), StatusCode::NO_CONTENT, "deleting twice is fine");
        let added = Uuid::new_v4();
        app.put_entry(&ana.access, added, &entry(&(base + TimeDelta::hours(9)).to_rfc3339(), 3)).await;

        let (changes, _) = app.sync(&ana.access, &cursor, 2).await;
        assert_eq!(changes.len(), 3, "{changes:?}");
        let tombstone = changes.iter().find(|c| c["id"] == ids[2].to_string()).unwrap();
        assert_eq!((tombstone["deleted"].as_bool(), tombstone["version"].as_i64()), (Some(true), Some(2)));
        assert!(tombstone["entry"].is_null());
        apply(&mut phone, &changes);

        // The incremental copy equals a full resync and the server's own listing.
        let (everything, _) = app.sync(&ana.access, "", 50).await;
        let mut fresh = std::collections::BTreeMap::new();
        apply(&mut fresh, &everything);
        assert_eq!(phone, fresh);
        let listed = app.json(&ana.access, "/v1/journal/entries?limit=200").await;
        let server: std::collections::BTreeMap<String, Value> = listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["id"].as_str().unwrap().to_owned(), e.clone()))
            .collect();
        assert_eq!(phone, server);
        assert_eq!(server.len(), 5);
        assert_problem(app.get(&format!("/v1/journal/entries/{}", ids[2]), &ana.access).await, StatusCode::NOT_FOUND, "not_found").await;
        // A deleted entry is not brought back by an old offline write.
        let resurrect = entry(&base.to_rfc3339(), 2);
        assert_problem(app.put_entry(&ana.access, ids[2], &resurrect).await, StatusCode::CONFLICT, "stale_version").await;
        // Its content is gone from the database, not just hidden.
        let kept = app.count("SELECT count(*) FROM journal_entries WHERE deleted AND (content <> '{}' OR pain <> 0)", None).await;
        assert_eq!(kept, 0);
    }

    async fn an_offline_week_pushed_in_any_order_twice(app) {
        let ana = app.patient_in("ana@example.org", "Europe/Berlin").await;
        let start = app.clock_now() - TimeDelta::days(7);
        let mut writes: Vec<(Uuid, Value)> = (0..14)
            .map(|i| (Uuid::new_v4(), entry(&(start + TimeDelta::hours(12 * i)).to_rfc3339(), (i % 11) as u8)))
            .collect();
        writes.reverse();
        writes.swap(3, 9);
        for round in 0..2 {
            for (id, body) in &writes {
                let status = app.put_entry(&ana.access, *id, body).await.status();
                assert_eq!(status, if round == 0 { StatusCode::CREATED } else { StatusCode::OK });
            }
        }
        let listed = app.json(&ana.access, "/v1/journal/entries?limit=200").await;
        let items = listed["items"].as_array().unwrap();
        assert_eq!(items.len(), 14);
        let times: Vec<DateTime<Utc>> = items.iter().map(|e| e["recorded_at"].as_str().unwrap().parse().unwrap()).collect();
        assert!(times.windows(2).all(|w| w[0] > w[1]), "newest first");
        let (changes, _) = app.sync(&ana.access, "", 5).await;
        assert_eq!(changes.len(), 14);
    }

    async fn listing_pages_through_a_time_range(app) {
        let ana = app.patient("ana@example.org").await;
        let base = at("2026-10-01T08:00:00Z");
        for i in 0..7 {
            app.put_entry(&ana.access, Uuid::new_v4(), &entry(&(base + TimeDelta::hours(i)).to_rfc3339(), 3)).await;
        }
        let from = "2026-10-01T09:00:00Z";
        let to = "2026-10-01T14:00:00Z"; // exclusive: 09:00..13:00 are 5 entries
        let seen: Vec<String> = app.all_pages(&ana.access, &format!("/v1/journal/entries?from={from}&to={to}&limit=2")).await
            .iter().map(|e| e["recorded_at"].as_str().unwrap().to_owned()).collect();
        let hours: Vec<String> = seen.iter().map(|t| t.parse::<DateTime<Utc>>().unwrap().format("%H").to_string()).collect();
        assert_eq!(hours, ["13", "12", "11", "10", "09"]);

        // Three entries written at the same instant (a phone's batch) page without loss or repeat.
        let same = "2026-10-02T08:00:00Z";
        let mut ids: Vec<String> = Vec::new();
        for _ in 0..3 {
            let id = Uuid::new_v4();
            app.put_entry(&ana.access, id, &entry(same, 4)).await;
            ids.push(id.to_string());
        }
        let mut listed: Vec<String> = app.all_pages(&ana.access, &format!("/v1/journal/entries?from={same}&to=2026-10-02T08:00:01Z&limit=1")).await
            .iter().map(|e| e["id"].as_str().unwrap().to_owned()).collect();
        listed.sort();
        ids.sort();
        assert_eq!(listed, ids);
        let bad = app.get("/v1/journal/entries?cursor=garbage", &ana.access).await;
        let problem = assert_problem(bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(problem_fields(&problem), ["cursor"]);
        let bad = app.get("/v1/journal/entries?limit=500", &ana.access).await;
        assert_problem(bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    }

    async fn local_dates_follow_the_patients_zone(app) {
        app.clock.set(at("2026-12-01T00:00:00Z"));
        // 23:30 in Auckland (NZDT, UTC+13) on 2026-11-21 is 10:30Z the same day.
        let ana = app.patient_in("ana@example.org", "Pacific/Auckland").await;
        let response = app.put_entry(&ana.access, Uuid::new_v4(), &entry("2026-11-21T10:30:00Z", 4)).await;
        assert_eq!(response.json::<Value>().await.unwrap()["local_date"], "2026-11-21");
        // An hour later it is already the 22nd there.
        let response = app.put_entry(&ana.access, Uuid::new_v4(), &entry("2026-11-21T11:30:00Z", 4)).await;
        assert_eq!(response.json::<Value>().await.unwrap()["local_date"], "2026-11-22");

        // New York on the night clocks go back (2026-11-01, EDT → EST at 06:00Z):
        // 23:30 EST on 2026-11-01 is 04:30Z on the 2nd; 23:30 EDT on 2026-10-31 is 03:30Z on 1 Nov.
        let bob = app.patient_in("bob@example.org", "America/New_York").await;
        for (instant, day) in [("2026-11-02T04:30:00Z", "2026-11-01"), ("2026-11-01T03:30:00Z", "2026-10-31"), ("2026-11-02T05:30:00Z", "2026-11-02")] {
            let response = app.put_entry(&bob.access, Uuid::new_v4(), &entry(instant, 4)).await;
            assert_eq!(response.json::<Value>().await.unwrap()["local_date"], day, "{instant}");
        }
        // Berlin, spring forward (2026-03-29, 01:00Z): 23:30 CEST on the 29th is 21:30Z.
        let cleo = app.patient_in("cleo@example.org", "Europe/Berlin").await;
        let response = app.put_entry(&cleo.access, Uuid::new_v4(), &entry("2026-03-29T21:30:00Z", 4)).await;
        assert_eq!(response.json::<Value>().await.unwrap()["local_date"], "2026-03-29");
        let response = app.put_entry(&cleo.access, Uuid::new_v4(), &entry("2026-03-29T22:30:00Z", 4)).await;
        assert_eq!(response.json::<Value>().await.unwrap()["local_date"], "2026-03-30");
    }

    async fn entries_keep_their_day_when_the_patient_moves(app) {
        app.clock.set(at("2026-12-01T00:00:00Z"));
        let ana = app.patient_in("ana@example.org", "Europe/Berlin").await;
        // 22:30Z on 20 Nov is 23:30 in Berlin and already the 21st in Auckland.
        let written = json!({"recorded_at": "2026-11-20T22:30:00Z", "pain": 5});
        let id = Uuid::new_v4();
        let entry: Value = app.put_entry(&ana.access, id, &written).await.json().await.unwrap();
        assert_eq!((entry["local_date"].as_str(), &entry["time_zone"]), (Some("2026-11-20"), &Value::Null));

        // Ana moves to Auckland.
        let response = app.request(Method::PATCH, "/v1/me", Some(&ana.access), Some(&json!({"time_zone": "Pacific/Auckland"}))).await;
        assert_eq!(response.status(), StatusCode::OK);
        // Fixing a typo in the old entry keeps it on the day it was written.
        let edit = json!({"recorded_at": "2026-11-20T22:30:00Z", "pain": 5, "notes": "long flight", "base_version": 1});
        let edited: Value = app.put_entry(&ana.access, id, &edit).await.json().await.unwrap();
        assert_eq!((edited["version"].as_i64(), edited["local_date"].as_str()), (Some(2), Some("2026-11-20")));
        // A new entry at the same instant now lands on Auckland's day...
        let fresh: Value = app.put_entry(&ana.access, Uuid::new_v4(), &written).await.json().await.unwrap();
        assert_eq!(fresh["local_date"], "2026-11-21");
        // ...unless the phone says where it was when the entry was written (synced late).
        let from_berlin = json!({"recorded_at": "2026-11-20T21:00:00Z", "pain": 4, "time_zone": "Europe/Berlin"});
        let synced: Value = app.put_entry(&ana.access, Uuid::new_v4(), &from_berlin).await.json().await.unwrap();
        assert_eq!((synced["local_date"].as_str(), synced["time_zone"].as_str()), (Some("2026-11-20"), Some("Europe/Berlin")));
        // Moving an entry's instant dates it afresh.
        let moved = json!({"recorded_at": "2026-11-20T10:30:00Z", "pain": 5, "notes": "long flight", "base_version": 2});
        let moved: Value = app.put_entry(&ana.access, id, &moved).await.json().await.unwrap();
        assert_eq!(moved["local_date"], "2026-11-20", "23:30 in Auckland on the 20th");
        let days = app.json(&ana.access, "/v1/journal/days?from=2026-11-19&to=2026-11-22").await;
        let counts: Vec<(String, i64)> = days["items"].as_array().unwrap().iter()
            .map(|d| (d["date"].as_str().unwrap().to_owned(), d["count"].as_i64().unwrap())).collect();
        assert_eq!(counts, [("2026-11-20".to_owned(), 2), ("2026-11-21".to_owned(), 1)]);
    }

    async fn rollups_and_summary_match_hand_computation(app) {
        let ana = app.patient_in("ana@example.org", "Europe/Berlin").await;
        // Previous week 2026-11-02..08: daily maxima 7, 7, 6, 8 → mean 7.
        // This week 2026-11-09..15: 11-09 entries 5, 3 (max 5, mean 4, last 3); 11-11: 4; 11-14: 6 → mean 5.
        let writes = [
            ("2026-11-02T09:00:00Z", 7, json!([])),
            ("2026-11-03T09:00:00Z", 7, json!([])),
            ("2026-11-05T09:00:00Z", 6, json!([])),
            ("2026-11-08T09:00:00Z", 8, json!([])),
            ("2026-11-09T07:00:00Z", 5, json!(["tingling_left_leg"])),
            ("2026-11-09T20:00:00Z", 3, json!(["fever"])),
            ("2026-11-11T09:00:00Z", 4, json!([])),
            ("2026-11-14T09:00:00Z", 6, json!([])),
        ];
        for (instant, pain, symptoms) in writes {
            let body = json!({"recorded_at": instant, "pain": pain, "symptoms": symptoms});
            assert_eq!(app.put_entry(&ana.access, Uuid::new_v4(), &body).await.status(), StatusCode::CREATED);
        }
        let days = app.json(&ana.access, "/v1/journal/days?from=2026-11-09&to=2026-11-15").await;
        assert_eq!(
            days["items"],
            json!([
                {"date": "2026-11-09", "max": 5, "mean": 4.0, "last": 3, "count": 2, "symptoms": ["tingling_left_leg", "fever"]},
                {"date": "2026-11-11", "max": 4, "mean": 4.0, "last": 4, "count": 1, "symptoms": []},
                {"date": "2026-11-14", "max": 6, "mean": 6.0, "last": 6, "count": 1, "symptoms": []}
            ])
        );
        let summary = app.json(&ana.access, "/v1/journal/summary?from=2026-11-09&to=2026-11-15").await;
        assert_eq!(summary["logged_days"], 3);
        assert_eq!(summary["entries"], 4);
        assert_eq!(summary["mean"], 5.0);
        assert_eq!(summary["median"], 5.0);
        // x = 0, 2, 5 (mean 7/3), y = 5, 4, 6 (mean 5): sxy = 3, sxx = 38/3 → 9/38 per day.
        let trend = summary["trend_per_week"].as_f64().unwrap();
        assert!((trend - 9.0 / 38.0 * 7.0).abs() < 1e-9, "{trend}");
        assert_eq!(summary["best_day"], json!({"date": "2026-11-11", "pain": 4}));
        assert_eq!(summary["worst_day"], json!({"date": "2026-11-14", "pain": 6}));
        assert_eq!(summary["change"]["previous_mean"], 7.0);
        assert_eq!(summary["change"]["points"], -2.0);
        assert!((summary["change"]["percent"].as_f64().unwrap() + 200.0 / 7.0).abs() < 1e-9);
        assert_eq!(summary["change"]["meaningful"], true);
        assert_eq!(summary["change"]["direction"], "improved");

        // "days=7" ends today in the patient's zone.
        app.clock.set(at("2026-11-15T12:00:00Z"));
        let last_week = app.json(&ana.access, "/v1/journal/summary?days=7").await;
        assert_eq!((last_week["from"].as_str(), last_week["to"].as_str()), (Some("2026-11-09"), Some("2026-11-15")));
        assert_eq!(last_week["mean"], 5.0);
        let bad = app.get("/v1/journal/summary?days=10", &ana.access).await;
        assert_problem(bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        let bad = app.get("/v1/journal/days?from=2026-11-15&to=2026-11-01", &ana.access).await;
        assert_problem(bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    }

    async fn every_validation_rule_names_its_field_and_stores_nothing(app) {
        let ana = app.patient("ana@example.org").await;
        let now = app.clock_now();
        let ok = (now - TimeDelta::hours(1)).to_rfc3339();
        let cases: Vec<(Value, &str)> = vec![
            (json!({"recorded_at": ok, "pain": 11}), "pain"),
            (json!({"recorded_at": ok, "pain": -1}), "pain"),
            (json!({"recorded_at": ok}), "pain"),
            (json!({"pain": 3}), "recorded_at"),
            (json!({"recorded_at": "yesterday", "pain": 3}), "recorded_at"),
            (json!({"recorded_at": (now + TimeDelta::hours(2)).to_rfc3339(), "pain": 3}), "recorded_at"),
            (json!({"recorded_at": "1999-01-01T00:00:00Z", "pain": 3}), "recorded_at"),
            (json!({"recorded_at": ok, "pain": 3, "regions": [{"region": "elbow", "pain": 2}]}), "regions[0].region"),
            (json!({"recorded_at": ok, "pain": 3, "regions": [{"region": "neck", "pain": 12}]}), "regions[0].pain"),
            (json!({"recorded_at": ok, "pain": 3, "regions": [{"region": "neck", "pain": 2}, {"region": "neck", "pain": 3}]}), "regions[1].region"),
            (json!({"recorded_at": ok, "pain": 3, "regions": [{"region": "neck", "pain": 2, "qualities": ["itchy"]}]}), "regions[0].qualities[0]"),
            (json!({"recorded_at": ok, "pain": 3, "symptoms": ["headache"]}), "symptoms[0]"),
            (json!({"recorded_at": ok, "pain": 3, "interference_activity": 11}), "interference_activity"),
            (json!({"recorded_at": ok, "pain": 3, "interference_enjoyment": -2}), "interference_enjoyment"),
            (json!({"recorded_at": ok, "pain": 3, "sleep_quality": 20}), "sleep_quality"),
            (json!({"recorded_at": ok, "pain": 3, "stress": 99}), "stress"),
            (json!({"recorded_at": ok, "pain": 3, "self_care": ["massage_gun"]}), "self_care[0]"),
            (json!({"recorded_at": ok, "pain": 3, "medications": ["  "]}), "medications[0]"),
            (json!({"recorded_at": ok, "pain": 3, "medications": ["x".repeat(201)]}), "medications[0]"),
            (json!({"recorded_at": ok, "pain": 3, "medications": vec!["a"; 21]}), "medications"),
            (json!({"recorded_at": ok, "pain": 3, "notes": "n".repeat(5001)}), "notes"),
            (json!({"recorded_at": ok, "pain": 3, "base_version": 0}), "base_version"),
            (json!({"recorded_at": ok, "pain": 3, "mood": "meh"}), "mood"),
            (json!({"recorded_at": ok, "pain": 3, "time_zone": "Mars/Olympus_Mons"}), "time_zone"),
            (json!({"recorded_at": ok, "pain": 3, "symptoms": vec!["fever"; 16]}), "symptoms"),
            (json!({"recorded_at": ok, "pain": 3, "self_care": vec!["walk"; 8]}), "self_care"),
        ];
        for (body, field) in cases {
            let response = app.put_entry(&ana.access, Uuid::new_v4(), &body).await;
            let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
            assert_eq!(problem_fields(&problem), [field], "{body}");
        }
        // Several bad fields at once are all reported.
        let body = json!({"recorded_at": ok, "pain": 12, "stress": 11, "regions": [{"region": "neck", "pain": 40}]});
        let problem = assert_problem(app.put_entry(&ana.access, Uuid::new_v4(), &body).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(problem_fields(&problem), ["pain", "regions[0].pain", "stress"]);
        assert_eq!(app.count("SELECT count(*) FROM journal_entries", None).await, 0);
        // Ranges and versions in the query string.
        for (path, field) in [
            ("/v1/journal/entries?from=2026-11-15T00:00:00Z&to=2026-11-15T00:00:00Z", "from"),
            ("/v1/journal/days?from=2024-01-01&to=2026-01-01", "to"),
            ("/v1/journal/summary?from=2024-01-01&to=2026-01-01", "to"),
        ] {
            let problem = assert_problem(app.get(path, &ana.access).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
            assert_eq!(problem_fields(&problem), [field], "{path}");
        }
        let kept = Uuid::new_v4();
        assert_eq!(app.put_entry(&ana.access, kept, &json!({"recorded_at": ok, "pain": 3})).await.status(), StatusCode::CREATED);
        let response = app.request(Method::DELETE, &format!("/v1/journal/entries/{kept}?base_version=0"), Some(&ana.access), None).await;
        let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(problem_fields(&problem), ["base_version"]);
        assert_eq!(app.json(&ana.access, &format!("/v1/journal/entries/{kept}")).await["version"], 1, "not deleted");
        app.request(Method::DELETE, &format!("/v1/journal/entries/{kept}"), Some(&ana.access), None).await;
        // A bad id in the path is simply not found.
        let response = app.request(Method::PUT, "/v1/journal/entries/not-a-uuid", Some(&ana.access), Some(&json!({"recorded_at": ok, "pain": 3}))).await;
        assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
    }

    async fn one_patient_cannot_touch_another_patients_entries(app) {
        let ana = app.patient("ana@example.org").await;
        let bob = app.patient("bob@example.org").await;
        let id = Uuid::new_v4();
        let body = entry(&(app.clock_now() - TimeDelta::hours(1)).to_rfc3339(), 7);
        app.put_entry(&ana.access, id, &body).await;

        assert_problem(app.get(&format!("/v1/journal/entries/{id}"), &bob.access).await, StatusCode::NOT_FOUND, "not_found").await;
        let overwrite = json!({"recorded_at": body["recorded_at"], "pain": 1, "base_version": 1});
        assert_problem(app.put_entry(&bob.access, id, &overwrite).await, StatusCode::NOT_FOUND, "not_found").await;
        assert_problem(app.put_entry(&bob.access, id, &body).await, StatusCode::NOT_FOUND, "not_found").await;
        let delete = app.request(Method::DELETE, &format!("/v1/journal/entries/{id}"), Some(&bob.access), None).await;
        assert_problem(delete, StatusCode::NOT_FOUND, "not_found").await;
        assert_eq!(app.json(&bob.access, "/v1/journal/entries").await["items"], json!([]));
        let (changes, _) = app.sync(&bob.access, "", 50).await;
        assert!(changes.is_empty());
        assert_eq!(app.json(&bob.access, "/v1/journal/days?from=2026-01-01&to=2026-12-31").await["items"], json!([]));
        // Ana's entry is untouched.
        let mine = app.json(&ana.access, &format!("/v1/journal/entries/{id}")).await;
        assert_eq!((mine["pain"].as_i64(), mine["version"].as_i64()), (Some(7), Some(1)));
    }

    async fn therapists_have_no_journal(app) {
        let response = app
            .register(&json!({"email": "tom@example.org", "password": crate::helpers::PASSWORD, "role": "therapist", "discipline": "physiotherapist", "time_zone": "UTC"}))
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let tom = app.sign_in("tom@example.org").await;
        let body = entry(&(app.clock_now() - TimeDelta::hours(1)).to_rfc3339(), 3);
        // Refused for the role, as documented (403), not passed off as a missing entry.
        assert_problem(app.put_entry(&tom.access, Uuid::new_v4(), &body).await, StatusCode::FORBIDDEN, "forbidden").await;
    }

    async fn concurrent_writers_never_skip_a_change(app) {
        let ana = app.patient("ana@example.org").await;
        let base = app.clock_now() - TimeDelta::days(1);
        let writes = (0..20).map(|i| {
            let app = &app;
            let token = ana.access.clone();
            async move {
                let body = entry(&(base + TimeDelta::minutes(i)).to_rfc3339(), (i % 10) as u8);
                app.put_entry(&token, Uuid::new_v4(), &body).await.status()
            }
        });
        // A phone keeps syncing while the writes land: whatever commits behind its cursor must
        // still reach it on a later sync.
        let phone = async {
            let mut seen = Vec::new();
            let mut cursor = String::new();
            for _ in 0..12 {
                let (changes, next) = app.sync(&ana.access, &cursor, 3).await;
                seen.extend(changes.iter().map(|c| c["id"].as_str().unwrap().to_owned()));
                cursor = next;
                tokio::task::yield_now().await;
            }
            (seen, cursor)
        };
        let (statuses, (mut seen, cursor)) = tokio::join!(futures::future::join_all(writes), phone);
        assert!(statuses.iter().all(|s| *s == StatusCode::CREATED), "{statuses:?}");
        let (rest, _) = app.sync(&ana.access, &cursor, 3).await;
        seen.extend(rest.iter().map(|c| c["id"].as_str().unwrap().to_owned()));
        let distinct: std::collections::BTreeSet<&String> = seen.iter().collect();
        assert_eq!((seen.len(), distinct.len()), (20, 20), "every change exactly once across the syncs");
        let (changes, _) = app.sync(&ana.access, "", 7).await;
        assert_eq!(changes.len(), 20);
        let seqs = app.count("SELECT count(DISTINCT change_seq) FROM journal_entries", None).await;
        assert_eq!(seqs, 20);
    }

    async fn questionnaires_with_idempotency_and_trend(app) {
        let ana = app.patient("ana@example.org").await;
        let submit = |body: Value, key: Option<&str>| {
            let mut request = app.client.post(app.url("/v1/questionnaires")).bearer_auth(&ana.access).json(&body);
            if let Some(key) = key {
                request = request.header("Idempotency-Key", key);
            }
            request.send()
        };
        let peg = json!({"kind": "peg", "pain": 6, "enjoyment": 5, "activity": 7, "completed_at": "2026-10-01T09:00:00Z"});
        let first = submit(peg.clone(), Some("phone-1")).await.unwrap();
        assert_eq!(first.status(), StatusCode::CREATED);
        let first: Value = first.json().await.unwrap();
        assert_eq!(first["score"], 6.0); // (6 + 5 + 7) / 3
        // The phone lost the answer and retries: same result, stored once.
        let retry: Value = submit(peg.clone(), Some("phone-1")).await.unwrap().json().await.unwrap();
        assert_eq!(retry, first);
        assert_eq!(app.count("SELECT count(*) FROM questionnaire_responses", None).await, 1);
        // The same key for something else is refused.
        let other = json!({"kind": "peg", "pain": 1, "enjoyment": 1, "activity": 1});
        let problem = assert_problem(submit(other, Some("phone-1")).await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(problem_fields(&problem), ["Idempotency-Key"]);

        let later = json!({"kind": "peg", "pain": 4, "enjoyment": 4, "activity": 5, "completed_at": "2026-11-01T09:00:00Z"});
        assert_eq!(submit(later, None).await.unwrap().status(), StatusCode::CREATED);
        let mut answers = vec![false; 24];
        for i in [0, 3, 7, 8, 15, 20] {
            answers[i] = true;
        }
        let rm = json!({"kind": "roland_morris", "answers": answers, "completed_at": "2026-11-01T10:00:00Z"});
        let rm: Value = submit(rm, None).await.unwrap().json().await.unwrap();
        assert_eq!((rm["score"].as_f64(), rm["max_score"].as_f64()), (Some(6.0), Some(24.0)));

        let list = app.json(&ana.access, "/v1/questionnaires?kind=peg").await;
        assert_eq!(list["items"].as_array().unwrap().len(), 2);
        // 6.0 → 13/3: change -5/3 points, -27.8%: not meaningful.
        assert!((list["trend"]["change"].as_f64().unwrap() + 5.0 / 3.0).abs() < 1e-9);
        assert_eq!(list["trend"]["meaningful"], false);
        assert_eq!(list["next_cursor"], Value::Null);
        assert_eq!(app.json(&ana.access, "/v1/questionnaires").await["items"].as_array().unwrap().len(), 3);

        // A page at a time, oldest first; the trend covers the whole range on every page.
        let third = json!({"kind": "peg", "pain": 2, "enjoyment": 2, "activity": 2, "completed_at": "2026-11-10T09:00:00Z"});
        assert_eq!(submit(third, None).await.unwrap().status(), StatusCode::CREATED);
        let mut cursor = String::new();
        let mut scores = Vec::new();
        loop {
            let page = app.json(&ana.access, &format!("/v1/questionnaires?kind=peg&limit=1&cursor={cursor}")).await;
            assert_eq!(page["items"].as_array().unwrap().len(), 1);
            scores.push(page["items"][0]["score"].as_f64().unwrap());
            assert_eq!((page["trend"]["first"].as_f64(), page["trend"]["latest"].as_f64()), (Some(6.0), Some(2.0)));
            // 6 → 2: 4 points better.
            assert_eq!(page["trend"]["meaningful"], true);
            match page["next_cursor"].as_str() {
                Some(next) => cursor = next.to_owned(),
                None => break,
            }
        }
        assert!((scores[0] - 6.0).abs() < 1e-9 && (scores[1] - 13.0 / 3.0).abs() < 1e-9 && (scores[2] - 2.0).abs() < 1e-9, "{scores:?}");
        let bad = app.get("/v1/questionnaires?cursor=not-ours", &ana.access).await;
        assert_eq!(problem_fields(&assert_problem(bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await), ["cursor"]);
        let future = json!({"kind": "peg", "pain": 2, "enjoyment": 2, "activity": 2, "completed_at": (app.clock_now() + TimeDelta::hours(1)).to_rfc3339()});
        assert_eq!(problem_fields(&assert_problem(submit(future, None).await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await), ["completed_at"]);
        let ancient = json!({"kind": "peg", "pain": 2, "enjoyment": 2, "activity": 2, "completed_at": "1999-06-01T00:00:00Z"});
        assert_eq!(problem_fields(&assert_problem(submit(ancient, None).await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await), ["completed_at"]);
        assert_eq!(app.count("SELECT count(*) FROM questionnaire_responses", None).await, 4, "nothing stored for the refused ones");

        for (body, field) in [
            (json!({"kind": "peg", "pain": 11, "enjoyment": 5, "activity": -1}), vec!["pain", "activity"]),
            (json!({"kind": "roland_morris", "answers": [true, false]}), vec!["answers"]),
            (json!({"kind": "sf36", "answers": []}), vec!["kind"]),
        ] {
            let problem = assert_problem(submit(body.clone(), None).await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
            assert_eq!(problem_fields(&problem), field, "{body}");
        }
        assert_eq!(app.count("SELECT count(*) FROM questionnaire_responses", None).await, 4);
        let bob = app.patient("bob@example.org").await;
        assert_eq!(app.json(&bob.access, "/v1/questionnaires").await["items"], json!([]));
    }

    async fn an_idempotency_key_whose_request_died_is_free_again_after_a_minute(app) {
        let ana = app.patient("ana@example.org").await;
        let submit_as = |token: String, key: &'static str| {
            let body = json!({"kind": "peg", "pain": 3, "enjoyment": 3, "activity": 3});
            app.client.post(app.url("/v1/questionnaires")).bearer_auth(token).header("Idempotency-Key", key).json(&body).send()
        };
        let submit = |key: &'static str| submit_as(ana.access.clone(), key);
        assert_eq!(submit("phone-9").await.unwrap().status(), StatusCode::CREATED);
        // As if the request had claimed the key and then died before storing anything.
        app.execute("DELETE FROM questionnaire_responses").await.unwrap();
        app.execute("UPDATE idempotency_keys SET resource_id = NULL").await.unwrap();
        assert_problem(submit("phone-9").await.unwrap(), StatusCode::CONFLICT, "idempotency_key_in_use").await;
        app.clock.advance(TimeDelta::seconds(30));
        assert_problem(submit("phone-9").await.unwrap(), StatusCode::CONFLICT, "idempotency_key_in_use").await;
        app.clock.advance(TimeDelta::seconds(31));
        let retried = submit("phone-9").await.unwrap();
        assert_eq!(retried.status(), StatusCode::CREATED, "the dead claim is taken over");
        let retried: Value = retried.json().await.unwrap();
        let replay: Value = submit("phone-9").await.unwrap().json().await.unwrap();
        assert_eq!(replay, retried);
        assert_eq!(app.count("SELECT count(*) FROM questionnaire_responses", None).await, 1);

        // Kept for days: a phone that syncs late still gets the first result...
        app.clock.advance(TimeDelta::days(6));
        let purge_before = app.clock_now() - TimeDelta::days(aftercare::worker::IDEMPOTENCY_DAYS);
        assert_eq!(app.state.store.purge_idempotency(purge_before).await.unwrap(), 0);
        let later = app.sign_in("ana@example.org").await;
        let late: Value = submit_as(later.access.clone(), "phone-9").await.unwrap().json().await.unwrap();
        assert_eq!(late, retried);
        // ...and forgotten after a week.
        app.clock.advance(TimeDelta::days(2));
        let purge_before = app.clock_now() - TimeDelta::days(aftercare::worker::IDEMPOTENCY_DAYS);
        assert_eq!(app.state.store.purge_idempotency(purge_before).await.unwrap(), 1);
    }
}
