//! Notes between a therapist and a client: the therapist writes about an entry, a session or an
//! alert, the patient reads and answers, each side told by a generic push (never the text); the
//! notes follow consent (hidden from a therapist whose grant ended, expired or lost
//! `read_journal`, kept for the patient) and are in the patient's access log.

use chrono::{TimeDelta, Timelike};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::care::Who;
use crate::helpers::{PASSWORD, TestApp, assert_problem, on_both_backends, problem_fields};
use crate::push_receiver::{BrowserSubscription, PushReceiver};

/// The dispatcher is stepped by hand.
const MANUAL: [(&str, Value); 1] = [("dispatcher.enabled", Value::Bool(false))];

const QUESTION: &str = "How is the left side since Tuesday?";

/// A fixed-offset zone where it is about noon now, so that no quiet hours hold a push back
/// whenever the test runs.
fn midday_zone(app: &TestApp) -> String {
    let hour = i64::from(app.clock_now().hour());
    let offset = (12 - hour + 24 + 11) % 24 - 11; // -11 ..= 12 hours ahead of UTC
    // POSIX-style names: Etc/GMT-3 is three hours ahead of UTC.
    match offset {
        0 => "Etc/UTC".to_owned(),
        o if o > 0 => format!("Etc/GMT-{o}"),
        o => format!("Etc/GMT+{}", -o),
    }
}

async fn account(app: &TestApp, email: &str, role: &str, name: &str) -> Who {
    let mut body = json!({"email": email, "password": PASSWORD, "role": role, "display_name": name,
                          "time_zone": midday_zone(app)});
    if role == "therapist" {
        body["discipline"] = json!("physiotherapist");
    }
    let response = app.register(&body).await;
    assert_eq!(response.status(), StatusCode::CREATED, "registering {email}");
    let id = response.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    Who { tokens: app.sign_in(email).await, id }
}

async fn with_device(app: &TestApp, receiver: &PushReceiver, who: &Who) -> BrowserSubscription {
    let browser = receiver.subscribe();
    app.register_device(&who.tokens, &browser).await;
    browser
}

/// One of the patient's entries to write about.
async fn entry(app: &TestApp, patient: &Who) -> Uuid {
    let id = Uuid::new_v4();
    let body = json!({"recorded_at": (app.clock_now() - TimeDelta::hours(1)).to_rfc3339(), "pain": 5});
    assert_eq!(app.put_entry(patient.token(), id, &body).await.status(), StatusCode::CREATED);
    id
}

fn notes_path(patient: &Who) -> String {
    format!("/v1/patients/{}/notes", patient.id)
}

async fn write_note(app: &TestApp, therapist: &Who, patient: &Who, entry_id: Uuid, text: &str) -> Value {
    let body = json!({"subject": {"kind": "entry", "id": entry_id}, "body": text});
    let response = app.send(Method::POST, &notes_path(patient), therapist, Some(&body)).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

async fn answer(app: &TestApp, patient: &Who, note_id: &str, text: &str) -> reqwest::Response {
    app.send(Method::POST, &format!("/v1/notes/{note_id}/replies"), patient, Some(&json!({"body": text}))).await
}

fn items(page: &Value) -> Vec<Value> {
    page["items"].as_array().unwrap().clone()
}

fn ids(page: &Value) -> Vec<String> {
    items(page).iter().map(|n| n["id"].as_str().unwrap().to_owned()).collect()
}

async fn inbox_of_kind(app: &TestApp, who: &Who, kind: &str) -> Vec<Value> {
    app.inbox(&who.tokens).await.into_iter().filter(|n| n["kind"] == kind).collect()
}

fn payload(received: &crate::push_receiver::Received) -> Value {
    serde_json::from_str(&received.text()).expect("JSON payload")
}

on_both_backends! {
    async fn a_therapist_writes_the_client_reads_and_answers(app) with MANUAL {
        let receiver = PushReceiver::start().await;
        receiver.set_now(app.clock_now());
        let ana = account(&app, "ana@example.org", "patient", "Ana").await;
        let tom = account(&app, "tom@example.org", "therapist", "Tom").await;
        let ana_phone = with_device(&app, &receiver, &ana).await;
        let tom_phone = with_device(&app, &receiver, &tom).await;
        app.link(&ana, &tom, &["read_journal"]).await;
        let entry_id = entry(&app, &ana).await;

        // Tom writes; a retried request (same Idempotency-Key) writes it once.
        let body = json!({"subject": {"kind": "entry", "id": entry_id}, "body": format!("  {QUESTION}\n")});
        let send = || {
            app.client.post(app.url(&notes_path(&ana))).bearer_auth(tom.token()).header("Idempotency-Key", "note-1").json(&body).send()
        };
        let response = send().await.unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        assert!(response.headers().get("cache-control").is_some());
        let note: Value = response.json().await.unwrap();
        assert_eq!(location, format!("{}/{}", notes_path(&ana), note["id"].as_str().unwrap()));
        assert_eq!(note["body"], QUESTION, "trimmed");
        assert_eq!(note["author"], "therapist");
        assert_eq!(note["thread_id"], note["id"]);
        assert_eq!(note["subject"], json!({"kind": "entry", "id": entry_id}));
        assert_eq!(note["therapist_id"], tom.id.as_str());
        assert_eq!(note["therapist_name"], "Tom");
        assert!(note["read_at"].is_null());
        let again = send().await.unwrap();
        assert_eq!(again.status(), StatusCode::CREATED);
        assert_eq!(again.json::<Value>().await.unwrap()["id"], note["id"]);
        assert_eq!(app.count("SELECT count(*) FROM notes", None).await, 1);
        let note_id = note["id"].as_str().unwrap().to_owned();
        assert_eq!(app.get(&location, tom.token()).await.json::<Value>().await.unwrap()["id"], note["id"]);

        // Ana is told that there is a note, never what it says: in the inbox and on the phone.
        let told = inbox_of_kind(&app, &ana, "therapist_note").await;
        assert_eq!(told.len(), 1, "{told:?}");
        assert_eq!(told[0]["title"], "Your therapist left a note");
        assert_eq!(told[0]["link"], format!("/notes/{note_id}"));
        app.round().await;
        let pushed: Vec<Value> = receiver.received(&ana_phone).iter().map(payload).filter(|p| p["kind"] == "therapist_note").collect();
        assert_eq!(pushed.len(), 1, "{pushed:?}");
        let text = pushed[0].to_string();
        assert!(!text.contains("left side") && !text.contains("Tuesday"), "the note's text stays off the push: {text}");
        assert_eq!(pushed[0]["link"], format!("/notes/{note_id}"));

        // Ana reads her notes, marks the note read and answers in its thread.
        let mine = app.json(ana.token(), "/v1/notes").await;
        assert_eq!(ids(&mine), [note_id.as_str()]);
        assert_eq!(mine["items"][0]["body"], QUESTION);
        assert_eq!(app.json(ana.token(), &format!("/v1/notes/{note_id}")).await["body"], QUESTION);
        let read = app.send(Method::POST, &format!("/v1/notes/{note_id}/read"), &ana, None).await;
        assert_eq!(read.status(), StatusCode::OK);
        let read: Value = read.json().await.unwrap();
        assert!(read["read_at"].is_string());
        // Marking again keeps the first time.
        let twice: Value = app.send(Method::POST, &format!("/v1/notes/{note_id}/read"), &ana, None).await.json().await.unwrap();
        assert_eq!(twice["read_at"], read["read_at"]);

        let response = answer(&app, &ana, &note_id, " Better, only stiff in the morning. ").await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        let reply: Value = response.json().await.unwrap();
        let reply_id = reply["id"].as_str().unwrap().to_owned();
        assert_eq!(location, format!("/v1/notes/{reply_id}"));
        assert_eq!(reply["author"], "patient");
        assert_eq!(reply["thread_id"], note_id.as_str());
        assert_eq!(reply["subject"], note["subject"]);
        assert_eq!(reply["therapist_id"], tom.id.as_str());
        assert_eq!(reply["body"], "Better, only stiff in the morning.");
        // Her own answer is not "read" by her marking it.
        let own: Value = app.send(Method::POST, &format!("/v1/notes/{reply_id}/read"), &ana, None).await.json().await.unwrap();
        assert!(own["read_at"].is_null());

        // Tom is told of the answer the same generic way, and sees it in his threads.
        let told = inbox_of_kind(&app, &tom, "client_note_reply").await;
        assert_eq!(told.len(), 1);
        assert!(!told[0].to_string().contains("stiff"));
        app.round().await;
        let pushed: Vec<Value> = receiver.received(&tom_phone).iter().map(payload).filter(|p| p["kind"] == "client_note_reply").collect();
        assert_eq!(pushed.len(), 1);
        assert!(!pushed[0].to_string().contains("stiff"), "{}", pushed[0]);
        let threads = app.json(tom.token(), &notes_path(&ana)).await;
        assert_eq!(ids(&threads), [reply_id.clone(), note_id.clone()], "newest first");
        assert_eq!(threads["items"][1]["read_at"], read["read_at"], "Tom sees that Ana read his note");
        let seen = app.send(Method::POST, &format!("{}/{reply_id}/read", notes_path(&ana)), &tom, None).await;
        assert!(seen.json::<Value>().await.unwrap()["read_at"].is_string());

        // Tom answers back in the thread; Ana pages through all three.
        let response = app.send(Method::POST, &format!("{}/{reply_id}/replies", notes_path(&ana)), &tom, Some(&json!({"body": "Good. Keep up the stretches."}))).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let third: Value = response.json().await.unwrap();
        assert_eq!(third["thread_id"], note_id.as_str());
        assert_eq!(inbox_of_kind(&app, &ana, "therapist_note").await.len(), 2);
        let first_page = app.json(ana.token(), "/v1/notes?limit=2").await;
        assert_eq!(items(&first_page).len(), 2);
        let cursor = first_page["next_cursor"].as_str().expect("a second page");
        let second_page = app.json(ana.token(), &format!("/v1/notes?limit=2&cursor={cursor}")).await;
        assert_eq!(ids(&second_page), [note_id.as_str()]);
        assert!(second_page["next_cursor"].is_null());

        // Every access by Tom is in Ana's log; her own are not.
        let log = app.access_log(&ana, 100).await;
        let operations: Vec<&str> = log.iter().filter(|l| l["actor"]["id"] == tom.id.as_str()).map(|l| l["operation"].as_str().unwrap()).collect();
        let count = |op: &str| operations.iter().filter(|o| **o == op).count();
        // Two writes (one of them retried), an answer and a mark read; a read and a list.
        assert_eq!(count("write_notes"), 4, "{operations:?}");
        assert_eq!(count("read_notes"), 2, "{operations:?}");
        assert!(log.iter().all(|l| l["outcome"] == "allowed" && l["actor"]["id"] != ana.id.as_str()));
    }

    async fn notes_follow_consent_and_stay_with_the_patient(app) {
        let ana = account(&app, "ana@example.org", "patient", "Ana").await;
        let tom = account(&app, "tom@example.org", "therapist", "Tom").await;
        let una = account(&app, "una@example.org", "therapist", "Una").await;
        let eve = account(&app, "eve@example.org", "therapist", "Eve").await;
        let grant = app.link(&ana, &tom, &["read_journal", "receive_alerts"]).await;
        app.link(&ana, &una, &["read_journal"]).await;
        let ends = (app.clock_now() + TimeDelta::minutes(10)).to_rfc3339();
        app.link_with(&ana, &eve, json!({"scopes": ["read_journal"], "access_expires_at": ends})).await;
        let entry_id = entry(&app, &ana).await;
        let note = write_note(&app, &tom, &ana, entry_id, QUESTION).await;
        let note_id = note["id"].as_str().unwrap().to_owned();
        assert_eq!(answer(&app, &ana, &note_id, "Better.").await.status(), StatusCode::CREATED);
        let eves = write_note(&app, &eve, &ana, entry_id, "Any numbness?").await;

        // Each therapist sees her own threads only.
        assert_eq!(items(&app.json(tom.token(), &notes_path(&ana)).await).len(), 2);
        assert_eq!(items(&app.json(una.token(), &notes_path(&ana)).await).len(), 0);
        assert_problem(app.get(&format!("{}/{note_id}", notes_path(&ana)), una.token()).await, StatusCode::NOT_FOUND, "not_found").await;
        let replied = app.send(Method::POST, &format!("{}/{note_id}/replies", notes_path(&ana)), &una, Some(&json!({"body": "Hi"}))).await;
        assert_problem(replied, StatusCode::NOT_FOUND, "not_found").await;

        // Without read_journal Tom sees none of them; Ana keeps them all.
        let grant_path = format!("/v1/care/grants/{}", grant["id"].as_str().unwrap());
        let narrowed = app.send(Method::PATCH, &grant_path, &ana, Some(&json!({"scopes": ["receive_alerts"]}))).await;
        assert_eq!(narrowed.status(), StatusCode::OK);
        assert_problem(app.get(&notes_path(&ana), tom.token()).await, StatusCode::NOT_FOUND, "not_found").await;
        assert_problem(app.get(&format!("{}/{note_id}", notes_path(&ana)), tom.token()).await, StatusCode::NOT_FOUND, "not_found").await;
        assert_eq!(items(&app.json(ana.token(), "/v1/notes").await).len(), 3);
        // An answer while Tom cannot read it does not tell him.
        assert_eq!(answer(&app, &ana, &note_id, "Still there?").await.status(), StatusCode::CREATED);
        assert_eq!(inbox_of_kind(&app, &tom, "client_note_reply").await.len(), 1);
        // With the scope back, the thread is there again, answers included.
        let widened = app.send(Method::PATCH, &grant_path, &ana, Some(&json!({"scopes": ["read_journal"]}))).await;
        assert_eq!(widened.status(), StatusCode::OK);
        assert_eq!(items(&app.json(tom.token(), &notes_path(&ana)).await).len(), 3);

        // Revoked: hidden from Tom for good, kept for Ana, who may still answer.
        assert_eq!(app.send(Method::DELETE, &grant_path, &ana, None).await.status(), StatusCode::NO_CONTENT);
        for path in [notes_path(&ana), format!("{}/{note_id}", notes_path(&ana))] {
            assert_problem(app.get(&path, tom.token()).await, StatusCode::NOT_FOUND, "not_found").await;
        }
        let body = json!({"subject": {"kind": "entry", "id": entry_id}, "body": "One more thing"});
        assert_problem(app.send(Method::POST, &notes_path(&ana), &tom, Some(&body)).await, StatusCode::NOT_FOUND, "not_found").await;
        assert_eq!(answer(&app, &ana, &note_id, "Thanks for everything.").await.status(), StatusCode::CREATED);
        assert_eq!(inbox_of_kind(&app, &tom, "client_note_reply").await.len(), 1);

        // Expired: Eve's grant runs out (access tokens last an hour).
        app.clock.advance(TimeDelta::minutes(11));
        assert_problem(app.get(&notes_path(&ana), eve.token()).await, StatusCode::NOT_FOUND, "not_found").await;
        let mine = app.json(ana.token(), "/v1/notes").await;
        assert_eq!(items(&mine).len(), 5);
        assert!(ids(&mine).contains(&eves["id"].as_str().unwrap().to_owned()));
        assert_eq!(app.count("SELECT count(*) FROM notes", None).await, 5);

        // The refusals are in Ana's log.
        let log = app.access_log(&ana, 100).await;
        let denied = |who: &Who| log.iter().filter(|l| l["actor"]["id"] == who.id.as_str() && l["outcome"] == "denied").count();
        assert_eq!(denied(&tom), 5);
        assert_eq!(denied(&eve), 1);
        assert!(log.iter().any(|l| l["actor"]["id"] == una.id.as_str() && l["operation"] == "read_notes" && l["outcome"] == "allowed"));
    }

    async fn what_a_note_may_say_and_be_about(app) {
        let ana = account(&app, "ana@example.org", "patient", "Ana").await;
        let tom = account(&app, "tom@example.org", "therapist", "Tom").await;
        app.link(&ana, &tom, &["read_journal"]).await;
        let entry_id = entry(&app, &ana).await;
        let post = |body: Value| {
            let path = notes_path(&ana);
            let tom = tom.clone();
            let app = &app;
            async move { app.send(Method::POST, &path, &tom, Some(&body)).await }
        };
        let about = json!({"kind": "entry", "id": entry_id});

        let refused = post(json!({"subject": about, "body": " \n "})).await;
        let problem = assert_problem(refused, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(problem_fields(&problem), ["body"]);
        assert_eq!(problem["errors"][0]["code"], "empty");
        let refused = post(json!({"subject": about, "body": "x".repeat(2001)})).await;
        let problem = assert_problem(refused, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(problem["errors"][0]["code"], "too_long");
        assert_eq!(post(json!({"subject": about, "body": "é".repeat(2000)})).await.status(), StatusCode::CREATED);
        let refused = post(json!({"subject": about, "body": "left\u{0}side"})).await;
        let problem = assert_problem(refused, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(problem_fields(&problem), ["body"]);
        assert_eq!(problem["errors"][0]["code"], "nul_character");
        let refused = post(json!({"subject": about, "body": "hi", "urgent": true})).await;
        assert_problem(refused, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;

        // The subject must be one of the patient's own: not someone else's, not made up, not
        // deleted; an alert needs receive_alerts too.
        let ben = account(&app, "ben@example.org", "patient", "Ben").await;
        let bens = entry(&app, &ben).await;
        for subject in [json!({"kind": "entry", "id": bens}), json!({"kind": "session", "id": Uuid::new_v4()}), json!({"kind": "alert", "id": Uuid::new_v4()})] {
            let refused = post(json!({"subject": subject, "body": "hi"})).await;
            let problem = assert_problem(refused, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
            assert_eq!(problem_fields(&problem), ["subject.id"], "{subject}");
            assert_eq!(problem["errors"][0]["code"], "unknown_subject");
        }
        let session = json!({"started_at": (app.clock_now() - TimeDelta::hours(3)).to_rfc3339(), "duration_minutes": 60, "kind": "swedish"});
        let recorded: Value = app.post("/v1/sessions", Some(ana.token()), &session).await.json().await.unwrap();
        let session_id = recorded["session"]["id"].as_str().unwrap();
        assert_eq!(post(json!({"subject": {"kind": "session", "id": session_id}, "body": "How was the day after?"})).await.status(), StatusCode::CREATED);
        let flagged = json!({"recorded_at": (app.clock_now() - TimeDelta::hours(2)).to_rfc3339(), "pain": 7, "symptoms": ["fever"]});
        assert_eq!(app.put_entry(ana.token(), Uuid::new_v4(), &flagged).await.status(), StatusCode::CREATED);
        let alerts: Value = app.json(ana.token(), "/v1/alerts").await;
        let alert_id = alerts["items"][0]["id"].as_str().expect("an alert").to_owned();
        let refused = post(json!({"subject": {"kind": "alert", "id": alert_id}, "body": "Did you see a doctor?"})).await;
        assert_problem(refused, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(app.send(Method::DELETE, &format!("/v1/journal/entries/{entry_id}"), &ana, None).await.status(), StatusCode::NO_CONTENT);
        let refused = post(json!({"subject": about, "body": "hi"})).await;
        assert_problem(refused, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;

        // Patients answer notes; therapists have no notes of their own.
        let body = json!({"subject": {"kind": "session", "id": session_id}, "body": "a note to myself"});
        let refused = app.send(Method::POST, &notes_path(&ana), &ana, Some(&body)).await;
        assert_problem(refused, StatusCode::FORBIDDEN, "forbidden").await;
        assert_problem(app.get("/v1/notes", tom.token()).await, StatusCode::FORBIDDEN, "forbidden").await;
        let mine = app.json(ana.token(), "/v1/notes").await;
        assert_eq!(items(&mine).len(), 2);
        let note_id = mine["items"][0]["id"].as_str().unwrap();
        let refused = answer(&app, &ana, note_id, "").await;
        let problem = assert_problem(refused, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(problem_fields(&problem), ["body"]);
        assert_problem(answer(&app, &ana, &Uuid::new_v4().to_string(), "hello").await, StatusCode::NOT_FOUND, "not_found").await;
        // Nothing refused was stored.
        assert_eq!(app.count("SELECT count(*) FROM notes", None).await, 2);
        assert_problem(app.get("/v1/notes?cursor=nope", ana.token()).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    }
}
