//! The care team: invite codes, grants, the authorization matrix over every operation on patient
//! data, the access log, revocation, and the caseload.

use chrono::{DateTime, TimeDelta, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{Backend, PASSWORD, TestApp, Tokens, assert_problem, on_both_backends, problem_fields};

/// A signed-in account and its id.
#[derive(Debug, Clone)]
pub struct Who {
    pub tokens: Tokens,
    pub id: String,
}

impl Who {
    pub fn token(&self) -> &str {
        &self.tokens.access
    }
}

impl TestApp {
    async fn signed_up(&self, body: Value) -> Who {
        let email = body["email"].as_str().unwrap().to_owned();
        let response = self.register(&body).await;
        assert_eq!(response.status(), StatusCode::CREATED, "registering {email}");
        let id = response.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
        Who { tokens: self.sign_in(&email).await, id }
    }

    /// A patient with a display name, in Berlin, signed in.
    pub async fn named_patient(&self, email: &str, name: &str) -> Who {
        self.signed_up(json!({"email": email, "password": PASSWORD, "role": "patient", "display_name": name,
                              "time_zone": "Europe/Berlin"}))
            .await
    }

    /// A physiotherapist with a display name, signed in.
    pub async fn therapist(&self, email: &str, name: &str) -> Who {
        self.signed_up(json!({"email": email, "password": PASSWORD, "role": "therapist",
                              "discipline": "physiotherapist", "display_name": name, "time_zone": "Europe/Berlin"}))
            .await
    }

    /// Signs in again (after the clock moved past the access token's life).
    pub async fn again(&self, who: &Who, email: &str) -> Who {
        Who { tokens: self.sign_in(email).await, id: who.id.clone() }
    }

    pub async fn create_invite(&self, who: &Who, body: Value) -> Value {
        let response = self.post("/v1/care/invites", Some(who.token()), &body).await;
        assert_eq!(response.status(), StatusCode::CREATED, "creating an invite");
        response.json().await.unwrap()
    }

    pub async fn redeem(&self, who: &Who, body: Value) -> reqwest::Response {
        self.post("/v1/care/invites/redeem", Some(who.token()), &body).await
    }

    /// Links a patient and a therapist through the patient's invite; returns the grant.
    pub async fn link(&self, patient: &Who, therapist: &Who, scopes: &[&str]) -> Value {
        self.link_with(patient, therapist, json!({"scopes": scopes})).await
    }

    pub async fn link_with(&self, patient: &Who, therapist: &Who, invite: Value) -> Value {
        let code = self.create_invite(patient, invite).await["code"].as_str().unwrap().to_owned();
        let response = self.redeem(therapist, json!({"code": code})).await;
        assert_eq!(response.status(), StatusCode::CREATED, "redeeming");
        response.json().await.unwrap()
    }

    pub async fn send(&self, method: Method, path: &str, who: &Who, body: Option<&Value>) -> reqwest::Response {
        self.request(method, path, Some(who.token()), body).await
    }

    /// The patient's whole access log, following the cursor.
    pub async fn access_log(&self, who: &Who, page: u32) -> Vec<Value> {
        let mut items = Vec::new();
        let mut cursor = String::new();
        loop {
            let response = self.get(&format!("/v1/me/access-log?limit={page}&cursor={cursor}"), who.token()).await;
            assert_eq!(response.status(), StatusCode::OK);
            let body: Value = response.json().await.unwrap();
            items.extend(body["items"].as_array().unwrap().iter().cloned());
            match body["next_cursor"].as_str() {
                Some(next) => cursor = next.to_owned(),
                None => return items,
            }
        }
    }
}

fn entry_at(at: DateTime<Utc>, pain: u8) -> Value {
    json!({"recorded_at": at.to_rfc3339(), "pain": pain})
}

/// Whose data an operation touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// The patient named by `{patient_id}` in the path.
    PathPatient,
    /// The caller's own data.
    Caller,
}

/// One operation on patient data.
struct Op {
    method: Method,
    /// The path as the OpenAPI document writes it.
    path: &'static str,
    target: Target,
    /// What a therapist's grant must include; `None`: the patient alone.
    scope: Option<&'static str>,
    body: Option<Value>,
    ok: StatusCode,
}

/// Every operation that reads or writes patient data. The test below fails when the API has an
/// operation that is neither here nor in `NOT_PATIENT_DATA`.
/// The one operation only a therapist may take: the patient is refused by role (403).
const ASSIGN_TEMPLATE: &str = "/v1/patients/{patient_id}/aftercare-template";
/// Therapists start notes; the patient answers them (403 for the patient).
const WRITE_NOTE: &str = "/v1/patients/{patient_id}/notes";
/// Notes are between the patient and the therapist who wrote them: the matrix's note is this
/// therapist's, and another therapist with `read_journal` does not find it (404).
const NOTE_AUTHOR: &str = "therapist with a grant";

fn patient_data_operations(entry_body: &Value, session_body: &Value, template_id: &str, note_body: &Value) -> Vec<Op> {
    let read = |path, target| Op {
        method: Method::GET,
        path,
        target,
        scope: Some("read_journal"),
        body: None,
        ok: StatusCode::OK,
    };
    vec![
        read("/v1/patients/{patient_id}/journal/entries", Target::PathPatient),
        read("/v1/patients/{patient_id}/export", Target::PathPatient),
        read("/v1/patients/{patient_id}/export/entries.csv", Target::PathPatient),
        read("/v1/patients/{patient_id}/export/sessions.csv", Target::PathPatient),
        read("/v1/patients/{patient_id}/export/notes.csv", Target::PathPatient),
        read("/v1/patients/{patient_id}/export/fhir", Target::PathPatient),
        read("/v1/patients/{patient_id}/journal/entries/{entry_id}", Target::PathPatient),
        read("/v1/patients/{patient_id}/journal/days", Target::PathPatient),
        read("/v1/patients/{patient_id}/journal/summary", Target::PathPatient),
        read("/v1/patients/{patient_id}/questionnaires", Target::PathPatient),
        read("/v1/patients/{patient_id}/journal/chart", Target::PathPatient),
        read("/v1/patients/{patient_id}/report", Target::PathPatient),
        read("/v1/journal/chart", Target::Caller),
        read("/v1/journal/report", Target::Caller),
        read("/v1/journal/entries", Target::Caller),
        read("/v1/journal/entries/{entry_id}", Target::Caller),
        read("/v1/journal/changes", Target::Caller),
        read("/v1/journal/days", Target::Caller),
        read("/v1/journal/summary", Target::Caller),
        read("/v1/questionnaires", Target::Caller),
        read("/v1/questionnaires/{questionnaire_id}", Target::Caller),
        Op { scope: Some("receive_alerts"), ..read("/v1/patients/{patient_id}/alerts", Target::PathPatient) },
        Op {
            scope: Some("receive_alerts"),
            ..read("/v1/patients/{patient_id}/alerts/{alert_id}", Target::PathPatient)
        },
        Op {
            method: Method::POST,
            path: "/v1/patients/{patient_id}/alerts/{alert_id}/acknowledge",
            target: Target::PathPatient,
            scope: Some("receive_alerts"),
            body: None,
            ok: StatusCode::OK,
        },
        read("/v1/alerts", Target::Caller),
        read("/v1/alerts/{alert_id}", Target::Caller),
        Op {
            method: Method::POST,
            path: "/v1/alerts/{alert_id}/acknowledge",
            target: Target::Caller,
            scope: None,
            body: None,
            ok: StatusCode::OK,
        },
        Op {
            method: Method::POST,
            path: "/v1/alerts/{alert_id}/resolve",
            target: Target::Caller,
            scope: None,
            body: None,
            ok: StatusCode::OK,
        },
        Op { scope: None, ..read("/v1/me/access-log", Target::Caller) },
        // Notes: the write comes first, so that the therapist's run makes the note the
        // operations on `{note_id}` reach.
        Op {
            method: Method::POST,
            path: WRITE_NOTE,
            target: Target::PathPatient,
            scope: Some("read_journal"),
            body: Some(note_body.clone()),
            ok: StatusCode::CREATED,
        },
        read("/v1/patients/{patient_id}/notes", Target::PathPatient),
        read("/v1/patients/{patient_id}/notes/{note_id}", Target::PathPatient),
        Op {
            method: Method::POST,
            path: "/v1/patients/{patient_id}/notes/{note_id}/replies",
            target: Target::PathPatient,
            scope: Some("read_journal"),
            body: Some(json!({"body": "Glad to hear it."})),
            ok: StatusCode::CREATED,
        },
        Op {
            method: Method::POST,
            path: "/v1/patients/{patient_id}/notes/{note_id}/read",
            target: Target::PathPatient,
            scope: Some("read_journal"),
            body: None,
            ok: StatusCode::OK,
        },
        read("/v1/notes", Target::Caller),
        read("/v1/notes/{note_id}", Target::Caller),
        Op {
            method: Method::POST,
            path: "/v1/notes/{note_id}/replies",
            target: Target::Caller,
            scope: None,
            body: Some(json!({"body": "Better, thanks."})),
            ok: StatusCode::CREATED,
        },
        Op {
            method: Method::POST,
            path: "/v1/notes/{note_id}/read",
            target: Target::Caller,
            scope: None,
            body: None,
            ok: StatusCode::OK,
        },
        read("/v1/patients/{patient_id}/sessions", Target::PathPatient),
        read("/v1/patients/{patient_id}/sessions/{session_id}", Target::PathPatient),
        read("/v1/patients/{patient_id}/health-screen", Target::PathPatient),
        read("/v1/sessions", Target::Caller),
        read("/v1/sessions/{session_id}", Target::Caller),
        read("/v1/me/health-screen", Target::Caller),
        Op {
            method: Method::POST,
            path: "/v1/patients/{patient_id}/sessions",
            target: Target::PathPatient,
            scope: Some("record_sessions"),
            body: Some(session_body.clone()),
            ok: StatusCode::CREATED,
        },
        // Only therapists assign templates: the patient is refused with 403; the therapist
        // holding `manage_aftercare` assigns her own template.
        Op {
            method: Method::PUT,
            path: ASSIGN_TEMPLATE,
            target: Target::PathPatient,
            scope: Some("manage_aftercare"),
            body: Some(json!({"template_id": template_id})),
            ok: StatusCode::NO_CONTENT,
        },
        Op {
            method: Method::POST,
            path: "/v1/sessions",
            target: Target::Caller,
            scope: None,
            body: Some(session_body.clone()),
            ok: StatusCode::CREATED,
        },
        Op {
            method: Method::POST,
            path: "/v1/sessions/screen",
            target: Target::Caller,
            scope: None,
            body: Some(json!({"kind": "swedish"})),
            ok: StatusCode::OK,
        },
        Op {
            method: Method::PUT,
            path: "/v1/me/health-screen",
            target: Target::Caller,
            scope: None,
            body: Some(json!({})),
            ok: StatusCode::OK,
        },
        Op {
            method: Method::PUT,
            path: "/v1/sessions/{session_id}",
            target: Target::Caller,
            scope: None,
            body: Some(session_body.clone()),
            ok: StatusCode::OK,
        },
        Op {
            method: Method::PUT,
            path: "/v1/sessions/{session_id}/steps/{step_id}/completion",
            target: Target::Caller,
            scope: None,
            body: Some(json!({"outcome": "skipped"})),
            ok: StatusCode::OK,
        },
        Op {
            method: Method::PUT,
            path: "/v1/sessions/{session_id}/steps/{step_id}/check-in",
            target: Target::Caller,
            scope: None,
            body: Some(json!({"soreness": 3, "leg_swelling_redness_warmth": false})),
            ok: StatusCode::OK,
        },
        Op {
            method: Method::DELETE,
            path: "/v1/sessions/{session_id}",
            target: Target::Caller,
            scope: None,
            body: None,
            ok: StatusCode::NO_CONTENT,
        },
        Op {
            method: Method::POST,
            path: "/v1/questionnaires",
            target: Target::Caller,
            scope: None,
            body: Some(json!({"kind": "peg", "pain": 4, "enjoyment": 3, "activity": 5})),
            ok: StatusCode::CREATED,
        },
        // A replay of the entry as it is: the owner gets 200 and nothing changes.
        Op {
            method: Method::PUT,
            path: "/v1/journal/entries/{entry_id}",
            target: Target::Caller,
            scope: None,
            body: Some(entry_body.clone()),
            ok: StatusCode::OK,
        },
        // Last: the owner's run deletes the entry the others tried to reach.
        Op {
            method: Method::DELETE,
            path: "/v1/journal/entries/{entry_id}",
            target: Target::Caller,
            scope: None,
            body: None,
            ok: StatusCode::NO_CONTENT,
        },
    ]
}

/// Operations that touch no patient's data, or only through rules tested elsewhere.
const NOT_PATIENT_DATA: &[(&str, &str, &str)] = &[
    ("GET", "/healthz", "probe"),
    ("GET", "/readyz", "probe"),
    ("POST", "/v1/accounts", "registration"),
    ("GET", "/v1/me", "the caller's own profile"),
    ("PATCH", "/v1/me", "the caller's own profile"),
    ("DELETE", "/v1/me", "the caller's own account"),
    ("POST", "/v1/me/password", "the caller's own password"),
    ("GET", "/v1/me/sessions", "the caller's own device sessions"),
    ("DELETE", "/v1/me/sessions/{session_id}", "the caller's own device sessions"),
    ("POST", "/v1/auth/token", "sign-in"),
    ("POST", "/v1/auth/logout", "sign-out"),
    ("POST", "/v1/care/invites", "the caller's own invites (care tests)"),
    ("GET", "/v1/care/invites", "the caller's own invites (care tests)"),
    ("DELETE", "/v1/care/invites/{invite_id}", "the caller's own invites (care tests)"),
    ("POST", "/v1/care/invites/lookup", "codes (care tests)"),
    ("POST", "/v1/care/invites/redeem", "codes (care tests)"),
    ("GET", "/v1/care/grants", "the caller's own grants (care tests)"),
    ("PATCH", "/v1/care/grants/{grant_id}", "the patient's grants (revocation tests)"),
    ("DELETE", "/v1/care/grants/{grant_id}", "either side's grants (revocation tests)"),
    ("GET", "/v1/caseload", "a therapist's clients through live grants (caseload tests)"),
    ("GET", "/v1/push/vapid-public-key", "public key"),
    ("POST", "/v1/push/subscriptions", "the caller's own devices"),
    ("GET", "/v1/push/subscriptions", "the caller's own devices"),
    ("DELETE", "/v1/push/subscriptions/{subscription_id}", "the caller's own devices"),
    ("GET", "/v1/notifications", "the caller's own inbox"),
    ("POST", "/v1/notifications/{notification_id}/read", "the caller's own inbox"),
    ("POST", "/v1/notifications/test", "the caller's own devices"),
    ("GET", "/v1/me/reminders", "the caller's own settings"),
    ("PUT", "/v1/me/reminders", "the caller's own settings"),
    ("POST", "/v1/aftercare/templates", "a therapist's own templates (sessions tests)"),
    ("GET", "/v1/aftercare/templates", "a therapist's own templates (sessions tests)"),
    ("PUT", "/v1/aftercare/templates/{template_id}", "a therapist's own templates (sessions tests)"),
    ("DELETE", "/v1/aftercare/templates/{template_id}", "a therapist's own templates (sessions tests)"),
    ("POST", "/v1/me/share-links", "the caller's own share links (reports tests)"),
    ("GET", "/v1/me/share-links", "the caller's own share links (reports tests)"),
    ("DELETE", "/v1/me/share-links/{link_id}", "the caller's own share links (reports tests)"),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Owner,
    OtherPatient,
    Therapist,
}

struct Principal {
    label: &'static str,
    who: Who,
    role: Role,
    /// Scopes of a live grant for the owner's data.
    live_scopes: &'static [&'static str],
}

fn expected(op: &Op, principal: &Principal) -> StatusCode {
    let allowed = match (op.target, principal.role) {
        (_, Role::Owner) if op.path == ASSIGN_TEMPLATE || (op.path == WRITE_NOTE && op.method == Method::POST) => {
            return StatusCode::FORBIDDEN;
        }
        (_, Role::Owner) => true,
        (Target::PathPatient, Role::OtherPatient) => false,
        // Another patient reaches only their own journal; an entry id of the owner is not theirs.
        (Target::Caller, Role::OtherPatient) => {
            !["{entry_id}", "{session_id}", "{questionnaire_id}", "{alert_id}", "{note_id}"]
                .iter()
                .any(|id| op.path.contains(id))
        }
        (Target::PathPatient, Role::Therapist) if op.path.contains("{note_id}") => {
            principal.label == NOTE_AUTHOR && op.scope.is_some_and(|s| principal.live_scopes.contains(&s))
        }
        (Target::PathPatient, Role::Therapist) => op.scope.is_some_and(|s| principal.live_scopes.contains(&s)),
        // A therapist keeps no journal or sessions of their own: refused outright.
        (Target::Caller, Role::Therapist) => return StatusCode::FORBIDDEN,
    };
    if allowed { op.ok } else { StatusCode::NOT_FOUND }
}

on_both_backends! {
    async fn authorization_matrix_covers_every_patient_data_operation(app) {
        let ana = app.named_patient("ana@example.org", "Ana").await;
        let ben = app.named_patient("ben@example.org", "Ben").await;
        let granted = app.therapist("tom@example.org", "Tom").await;
        let stranger = app.therapist("sam@example.org", "Sam").await;
        let revoked = app.therapist("rae@example.org", "Rae").await;
        let expired = app.therapist("eve@example.org", "Eve").await;
        let narrow = app.therapist("nia@example.org", "Nia").await;
        let manager = app.therapist("mia@example.org", "Mia").await;
        let unalerted = app.therapist("una@example.org", "Una").await;

        app.link(&ana, &granted, &["read_journal", "receive_alerts"]).await;
        let gone = app.link(&ana, &revoked, &["read_journal"]).await;
        let ends = (app.clock_now() + TimeDelta::minutes(10)).to_rfc3339();
        app.link_with(&ana, &expired, json!({"scopes": ["read_journal"], "access_expires_at": ends})).await;
        app.link(&ana, &narrow, &["record_sessions", "receive_alerts"]).await;
        app.link(&ana, &manager, &["manage_aftercare"]).await;
        app.link(&ana, &unalerted, &["read_journal"]).await;
        let template = json!({"name": "Lower back recovery", "steps": [
            {"key": "walk", "kind": {"type": "custom"}, "timing": {"type": "after_end", "minutes": 120}, "title": "A short walk", "body": "Walk for 10 minutes at an easy pace."}
        ]});
        let response = app.post("/v1/aftercare/templates", Some(manager.token()), &template).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let template_id = response.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
        let response = app.send(Method::DELETE, &format!("/v1/care/grants/{}", gone["id"].as_str().unwrap()), &ana, None).await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);

        let entry_id = Uuid::new_v4();
        let entry_body = entry_at(app.clock_now() - TimeDelta::hours(1), 6);
        assert_eq!(app.put_entry(ana.token(), entry_id, &entry_body).await.status(), StatusCode::CREATED);
        let peg = json!({"kind": "peg", "pain": 6, "enjoyment": 5, "activity": 7});
        let response = app.post("/v1/questionnaires", Some(ana.token()), &peg).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let questionnaire_id = response.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
        // Eve's grant runs out; access tokens (an hour) are still good.
        app.clock.advance(TimeDelta::minutes(11));

        let session_body = json!({"started_at": (app.clock_now() - TimeDelta::hours(3)).to_rfc3339(), "duration_minutes": 60, "kind": "deep_tissue"});
        let recorded: Value = app.post("/v1/sessions", Some(ana.token()), &session_body).await.json().await.unwrap();
        let session_id = recorded["session"]["id"].as_str().unwrap().to_owned();
        let step_id = recorded["steps"].as_array().unwrap().iter().find(|s| s["key"] == "soreness_24h").unwrap()["id"].as_str().unwrap().to_owned();
        // A red flag in an entry opens an alert at once.
        let flagged = json!({"recorded_at": (app.clock_now() - TimeDelta::hours(2)).to_rfc3339(), "pain": 7, "symptoms": ["fever"]});
        assert_eq!(app.put_entry(ana.token(), Uuid::new_v4(), &flagged).await.status(), StatusCode::CREATED);
        let alerts: Value = app.get("/v1/alerts", ana.token()).await.json().await.unwrap();
        let alert_id = alerts["items"][0]["id"].as_str().expect("an alert").to_owned();
        let note_body = json!({"subject": {"kind": "entry", "id": entry_id}, "body": "How is the left side since Tuesday?"});
        let operations = patient_data_operations(&entry_body, &session_body, &template_id, &note_body);

        // A therapist's own list shows the grant that ran out as expired, not active.
        let statuses = |grants: Value| -> Vec<String> {
            grants["items"].as_array().unwrap().iter().map(|g| g["status"].as_str().unwrap().to_owned()).collect()
        };
        assert_eq!(statuses(app.json(expired.token(), "/v1/care/grants").await), ["expired"]);
        assert_eq!(statuses(app.json(granted.token(), "/v1/care/grants").await), ["active"]);

        // Without receive_alerts: no copy of Ana's alert (and, below, no alerts in the caseload).
        let client_alerts = |inbox: Value| {
            inbox["items"].as_array().unwrap().iter().filter(|n| n["kind"].as_str().unwrap().starts_with("client_")).count()
        };
        assert_eq!(client_alerts(app.json(granted.token(), "/v1/notifications").await), 1);
        assert_eq!(client_alerts(app.json(unalerted.token(), "/v1/notifications").await), 0);

        // The table and the OpenAPI document list the same operations.
        let spec: Value = app.client.get(app.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
        let mut documented = std::collections::BTreeSet::new();
        for (path, item) in spec["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                documented.insert((method.to_uppercase(), path.clone()));
            }
        }
        for (method, path) in &documented {
            let in_matrix = operations.iter().any(|op| op.method.as_str() == method && op.path == path);
            let excluded = NOT_PATIENT_DATA.iter().any(|(m, p, _)| m == method && p == path);
            assert!(
                in_matrix != excluded,
                "{method} {path}: add it to the authorization matrix (patient data) or to NOT_PATIENT_DATA, once"
            );
            assert!(!path.starts_with("/v1/patients/") || in_matrix, "{method} {path} must be in the matrix");
        }
        for op in &operations {
            assert!(documented.contains(&(op.method.to_string(), op.path.to_owned())), "{} {} is not in the API", op.method, op.path);
        }
        for (method, path, _) in NOT_PATIENT_DATA {
            assert!(documented.contains(&((*method).to_owned(), (*path).to_owned())), "{method} {path} is not in the API");
        }

        // The owner goes last: the table ends with deleting the entry.
        let principals = [
            Principal { label: "another patient", who: ben, role: Role::OtherPatient, live_scopes: &[] },
            Principal { label: "therapist with a grant", who: granted.clone(), role: Role::Therapist, live_scopes: &["read_journal", "receive_alerts"] },
            Principal { label: "therapist without a grant", who: stranger, role: Role::Therapist, live_scopes: &[] },
            Principal { label: "therapist with a revoked grant", who: revoked, role: Role::Therapist, live_scopes: &[] },
            Principal { label: "therapist with an expired grant", who: expired, role: Role::Therapist, live_scopes: &[] },
            Principal { label: "therapist whose grant lacks the scope", who: narrow, role: Role::Therapist, live_scopes: &["record_sessions", "receive_alerts"] },
            Principal { label: "therapist with manage_aftercare", who: manager, role: Role::Therapist, live_scopes: &["manage_aftercare"] },
            Principal { label: "therapist whose grant lacks receive_alerts", who: unalerted.clone(), role: Role::Therapist, live_scopes: &["read_journal"] },
            Principal { label: "the patient", who: ana.clone(), role: Role::Owner, live_scopes: &[] },
        ];
        let mut failures = Vec::new();
        // Nobody's note until the note's author writes one in her run.
        let mut note_id = Uuid::nil().to_string();
        for principal in &principals {
            for op in &operations {
                let path = op
                    .path
                    .replace("{patient_id}", &ana.id)
                    .replace("{entry_id}", &entry_id.to_string())
                    .replace("{session_id}", &session_id)
                    .replace("{step_id}", &step_id)
                    .replace("{questionnaire_id}", &questionnaire_id)
                    .replace("{alert_id}", &alert_id)
                    .replace("{note_id}", &note_id);
                let response = app.send(op.method.clone(), &path, &principal.who, op.body.as_ref()).await;
                let want = expected(op, principal);
                if response.status() != want {
                    failures.push(format!("{}: {} {} → {} (expected {want})", principal.label, op.method, op.path, response.status()));
                } else if want == StatusCode::NOT_FOUND {
                    // Refusals look exactly like a patient that does not exist.
                    let problem = assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
                    assert!(problem.get("current").is_none());
                } else if op.path == WRITE_NOTE && op.method == Method::POST && principal.label == NOTE_AUTHOR {
                    note_id = response.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));

        // An id that belongs to nobody answers exactly like a refusal.
        let nobody = app.get(&format!("/v1/patients/{}/journal/entries", Uuid::new_v4()), granted.token()).await;
        assert_problem(nobody, StatusCode::NOT_FOUND, "not_found").await;

        // Every attempt on Ana's data by someone else is in her log, once per operation.
        let log = app.access_log(&ana, 200).await;
        let path_ops = operations.iter().filter(|op| op.target == Target::PathPatient).count();
        let others = principals.iter().filter(|p| p.role != Role::Owner).count();
        assert_eq!(log.len(), path_ops * others, "{log:#?}");
        for principal in principals.iter().filter(|p| p.role != Role::Owner) {
            let theirs: Vec<&Value> = log.iter().filter(|l| l["actor"]["id"] == principal.who.id.as_str()).collect();
            assert_eq!(theirs.len(), path_ops, "{}", principal.label);
            let allowed = operations
                .iter()
                .filter(|op| op.target == Target::PathPatient && op.scope.is_some_and(|s| principal.live_scopes.contains(&s)))
                .count();
            assert_eq!(theirs.iter().filter(|l| l["outcome"] == "allowed").count(), allowed, "{}: {theirs:?}", principal.label);
        }

        let caseload = app.json(unalerted.token(), "/v1/caseload").await;
        assert!(caseload["items"][0]["open_alerts"].is_null(), "{caseload}");
        assert!(caseload["items"][0]["journal"].is_object(), "{caseload}");
    }

    async fn a_patients_invite_is_redeemed_once_by_a_therapist(app) {
        let ana = app.named_patient("ana@example.org", "Ana").await;
        let tom = app.therapist("tom@example.org", "Tom").await;
        let sam = app.therapist("sam@example.org", "Sam").await;
        let invite = app.create_invite(&ana, json!({"scopes": ["read_journal", "receive_alerts"]})).await;
        let code = invite["code"].as_str().unwrap().to_owned();
        assert!(code.len() == 9 && code.as_bytes()[4] == b'-', "{code}");
        assert_eq!(invite["created_by_role"], "patient");
        let created: DateTime<Utc> = invite["created_at"].as_str().unwrap().parse().unwrap();
        let expires: DateTime<Utc> = invite["expires_at"].as_str().unwrap().parse().unwrap();
        assert_eq!(expires - created, TimeDelta::days(7));
        // Only a hash is kept.
        let plain = code.replace('-', "");
        let stored = app.count(&format!("SELECT count(*) FROM care_invites WHERE upper(code_hash) LIKE '%{plain}%'"), None).await;
        assert_eq!(stored, 0);
        assert_eq!(app.count("SELECT count(*) FROM care_invites", None).await, 1);
        let pending = app.json(ana.token(), "/v1/care/invites").await;
        assert_eq!(pending["items"].as_array().unwrap().len(), 1);
        assert!(pending["items"][0].get("code").is_none(), "the code is shown once");

        // Tom sees whom the code links him with before redeeming; looking does not spend it.
        let preview = app.post("/v1/care/invites/lookup", Some(tom.token()), &json!({"code": code.to_lowercase().replace('-', "")})).await;
        assert_eq!(preview.status(), StatusCode::OK);
        let preview: Value = preview.json().await.unwrap();
        assert_eq!(preview["created_by"]["display_name"], "Ana");
        assert_eq!(preview["scopes"], json!(["read_journal", "receive_alerts"]));

        let response = app.redeem(&tom, json!({"code": code})).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let grant: Value = response.json().await.unwrap();
        assert_eq!(grant["patient"]["id"], ana.id.as_str());
        assert_eq!(grant["therapist"]["display_name"], "Tom");
        assert_eq!(grant["therapist"]["discipline"], "physiotherapist");
        assert_eq!(grant["scopes"], json!(["read_journal", "receive_alerts"]));
        assert_eq!(grant["status"], "active");
        assert!(grant["expires_at"].is_null());

        // A retried redemption answers with the same grant; anyone else finds the code spent.
        let again = app.redeem(&tom, json!({"code": code})).await;
        assert_eq!(again.status(), StatusCode::OK);
        assert_eq!(again.json::<Value>().await.unwrap()["id"], grant["id"]);
        assert_problem(app.redeem(&sam, json!({"code": code})).await, StatusCode::CONFLICT, "invite_used").await;
        let lookup = app.post("/v1/care/invites/lookup", Some(sam.token()), &json!({"code": code})).await;
        assert_problem(lookup, StatusCode::CONFLICT, "invite_used").await;
        assert_eq!(app.json(ana.token(), "/v1/care/invites").await["items"], json!([]));
        assert_eq!(app.count("SELECT count(*) FROM care_grants", None).await, 1);

        // Both sides list the grant.
        let mine = app.json(ana.token(), "/v1/care/grants").await;
        assert_eq!(mine["items"].as_array().unwrap().len(), 1);
        assert_eq!(mine["items"][0]["therapist"]["display_name"], "Tom");
        assert_eq!(mine["items"][0]["since"], grant["since"]);
        let clients = app.json(tom.token(), "/v1/care/grants").await;
        assert_eq!(clients["items"][0]["patient"]["display_name"], "Ana");
        assert_eq!(app.json(sam.token(), "/v1/care/grants").await["items"], json!([]));

        // A second code for a pair already linked is refused, and stays unused.
        let second = app.create_invite(&ana, json!({"scopes": ["read_journal"]})).await;
        assert_problem(app.redeem(&tom, json!({"code": second["code"]})).await, StatusCode::CONFLICT, "already_linked").await;
        assert_eq!(app.json(ana.token(), "/v1/care/invites").await["items"].as_array().unwrap().len(), 1);
    }

    async fn a_therapists_invite_lets_the_patient_choose_the_scopes(app) {
        let ana = app.named_patient("ana@example.org", "Ana").await;
        let tom = app.therapist("tom@example.org", "Tom").await;
        let invite = app.create_invite(&tom, json!({"scopes": ["read_journal", "record_sessions", "manage_aftercare"]})).await;
        assert_eq!(invite["created_by_role"], "therapist");
        let code = invite["code"].as_str().unwrap().to_owned();
        let preview: Value = app.post("/v1/care/invites/lookup", Some(ana.token()), &json!({"code": code})).await.json().await.unwrap();
        assert_eq!(preview["created_by"]["display_name"], "Tom");
        assert_eq!(preview["created_by"]["discipline"], "physiotherapist");
        assert_eq!(preview["scopes"], json!(["read_journal", "record_sessions", "manage_aftercare"]));

        // The patient must say what she grants.
        let problem = assert_problem(app.redeem(&ana, json!({"code": code})).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(problem_fields(&problem), ["scopes"]);
        for (body, field) in [
            (json!({"code": code, "scopes": []}), "scopes"),
            (json!({"code": code, "scopes": ["read_journal", "read_journal"]}), "scopes[1]"),
            (json!({"code": code, "scopes": ["read_minds"]}), "scopes[0]"),
            (json!({"code": code, "scopes": ["read_journal"], "access_expires_at": "2001-01-01T00:00:00Z"}), "access_expires_at"),
            (json!({"code": "K7QM", "scopes": ["read_journal"]}), "code"),
            (json!({"code": code, "scopes": ["read_journal"], "note": "hi"}), "note"),
        ] {
            let problem = assert_problem(app.redeem(&ana, body.clone()).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
            assert_eq!(problem_fields(&problem), [field], "{body}");
        }
        // A therapist may not choose scopes or expiry when redeeming.
        let other = app.create_invite(&ana, json!({"scopes": ["read_journal"]})).await;
        let problem = assert_problem(app.redeem(&tom, json!({"code": other["code"], "scopes": ["record_sessions"]})).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(problem_fields(&problem), ["scopes"]);
        let problem = assert_problem(app.post("/v1/care/invites", Some(tom.token()), &json!({"scopes": ["read_journal"], "access_expires_at": "2099-01-01T00:00:00Z"})).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(problem_fields(&problem), ["access_expires_at"]);

        let until = (app.clock_now() + TimeDelta::days(30)).to_rfc3339();
        let response = app.redeem(&ana, json!({"code": code, "scopes": ["read_journal"], "access_expires_at": until})).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let grant: Value = response.json().await.unwrap();
        assert_eq!(grant["scopes"], json!(["read_journal"]), "what the patient chose, not what was asked");
        assert_eq!(grant["expires_at"].as_str().unwrap().parse::<DateTime<Utc>>().unwrap(), until.parse::<DateTime<Utc>>().unwrap());
        assert_eq!(grant["therapist"]["id"], tom.id.as_str());
    }

    async fn a_code_is_only_for_the_other_role(app) {
        let ana = app.named_patient("ana@example.org", "Ana").await;
        let ben = app.named_patient("ben@example.org", "Ben").await;
        let tom = app.therapist("tom@example.org", "Tom").await;
        let sam = app.therapist("sam@example.org", "Sam").await;
        let from_ana = app.create_invite(&ana, json!({"scopes": ["read_journal"]})).await;
        let from_tom = app.create_invite(&tom, json!({"scopes": ["read_journal"]})).await;
        for (who, code) in [(&ben, &from_ana), (&ana, &from_ana), (&sam, &from_tom), (&tom, &from_tom)] {
            let body = json!({"code": code["code"], "scopes": ["read_journal"]});
            let body = if who.id == tom.id || who.id == sam.id { json!({"code": code["code"]}) } else { body };
            let problem = assert_problem(app.redeem(who, body).await, StatusCode::FORBIDDEN, "invite_for_other_role").await;
            assert!(problem["detail"].as_str().unwrap().contains("therapist"), "{problem}");
        }
        assert_problem(app.redeem(&tom, json!({"code": "ZZZZ-ZZZZ"})).await, StatusCode::NOT_FOUND, "invite_not_found").await;
        assert_eq!(app.count("SELECT count(*) FROM care_grants", None).await, 0);
        // Both codes still work for the right side.
        assert_eq!(app.redeem(&tom, json!({"code": from_ana["code"]})).await.status(), StatusCode::CREATED);
        assert_eq!(app.redeem(&ben, json!({"code": from_tom["code"], "scopes": ["read_journal"]})).await.status(), StatusCode::CREATED);
    }

    async fn codes_expire_after_seven_days_and_can_be_withdrawn(app) {
        let ana = app.named_patient("ana@example.org", "Ana").await;
        let tom = app.therapist("tom@example.org", "Tom").await;
        let early = app.create_invite(&ana, json!({"scopes": ["read_journal"]})).await;
        let late = app.create_invite(&ana, json!({"scopes": ["read_journal"]})).await;
        let withdrawn = app.create_invite(&ana, json!({"scopes": ["read_journal"]})).await;
        let response = app.send(Method::DELETE, &format!("/v1/care/invites/{}", withdrawn["id"].as_str().unwrap()), &ana, None).await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        let again = app.send(Method::DELETE, &format!("/v1/care/invites/{}", withdrawn["id"].as_str().unwrap()), &ana, None).await;
        assert_problem(again, StatusCode::NOT_FOUND, "not_found").await;
        assert_problem(app.redeem(&tom, json!({"code": withdrawn["code"]})).await, StatusCode::NOT_FOUND, "invite_not_found").await;
        // Nobody else can withdraw an invite.
        let response = app.send(Method::DELETE, &format!("/v1/care/invites/{}", late["id"].as_str().unwrap()), &tom, None).await;
        assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;

        app.clock.advance(TimeDelta::days(7) - TimeDelta::minutes(1));
        let tom = app.again(&tom, "tom@example.org").await;
        assert_eq!(app.redeem(&tom, json!({"code": early["code"]})).await.status(), StatusCode::CREATED);
        app.clock.advance(TimeDelta::minutes(1));
        let tom = app.again(&tom, "tom@example.org").await;
        assert_problem(app.redeem(&tom, json!({"code": late["code"]})).await, StatusCode::CONFLICT, "invite_expired").await;
        let ana = app.again(&ana, "ana@example.org").await;
        assert_eq!(app.json(ana.token(), "/v1/care/invites").await["items"], json!([]), "expired invites are not pending");
    }

    async fn guessing_codes_is_rate_limited_per_account(app) {
        let ana = app.named_patient("ana@example.org", "Ana").await;
        let tom = app.therapist("tom@example.org", "Tom").await;
        let sam = app.therapist("sam@example.org", "Sam").await;
        let real = app.create_invite(&ana, json!({"scopes": ["read_journal"]})).await;
        for i in 0..10 {
            let guess = format!("AAAA-{i:04}");
            let path = if i % 2 == 0 { "/v1/care/invites/redeem" } else { "/v1/care/invites/lookup" };
            let response = app.post(path, Some(tom.token()), &json!({"code": guess})).await;
            assert_problem(response, StatusCode::NOT_FOUND, "invite_not_found").await;
        }
        // The eleventh attempt is refused before the code is even looked at.
        let response = app.redeem(&tom, json!({"code": real["code"]})).await;
        let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!(retry_after > 0 && retry_after <= 3600, "{retry_after}");
        assert_problem(response, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
        assert_eq!(app.count("SELECT count(*) FROM care_grants", None).await, 0);
        // Another account is not held back by Tom's guesses.
        assert_eq!(app.redeem(&sam, json!({"code": real["code"]})).await.status(), StatusCode::CREATED);
    }

    async fn parallel_guesses_cannot_exceed_the_limit(app) {
        let ana = app.named_patient("ana@example.org", "Ana").await;
        let tom = app.therapist("tom@example.org", "Tom").await;
        let sam = app.therapist("sam@example.org", "Sam").await;
        let real = app.create_invite(&ana, json!({"scopes": ["read_journal"]})).await;
        // Looking up a real code does not use up the window, however often.
        for _ in 0..12 {
            let response = app.post("/v1/care/invites/lookup", Some(sam.token()), &json!({"code": real["code"]})).await;
            assert_eq!(response.status(), StatusCode::OK);
        }

        // Twenty wrong guesses at once: each is counted before its code is looked at, so no more
        // than the ten allowed per account reach the lookup.
        let guesses = (0..20).map(|i| {
            let path = if i % 2 == 0 { "/v1/care/invites/redeem" } else { "/v1/care/invites/lookup" };
            let body = json!({"code": format!("AAAA-{i:04}")});
            let app = &app;
            let token = tom.token().to_owned();
            async move { app.post(path, Some(&token), &body).await }
        });
        let responses = futures::future::join_all(guesses).await;
        let (mut failed, mut limited) = (0, 0);
        for response in responses {
            match response.status() {
                StatusCode::NOT_FOUND | StatusCode::BAD_REQUEST => failed += 1,
                StatusCode::TOO_MANY_REQUESTS => {
                    let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
                    assert!(retry_after > 0 && retry_after <= 3600, "{retry_after}");
                    limited += 1;
                }
                other => panic!("unexpected {other}"),
            }
        }
        assert!(failed <= 10, "{failed} guesses were looked up");
        assert_eq!((failed, limited), (10, 10));
        // The real code is refused to Tom as well, before it is looked at.
        let response = app.redeem(&tom, json!({"code": real["code"]})).await;
        assert_problem(response, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
        assert_eq!(app.count("SELECT count(*) FROM care_grants", None).await, 0);
        assert_eq!(app.redeem(&sam, json!({"code": real["code"]})).await.status(), StatusCode::CREATED);
    }

    async fn revocation_takes_effect_on_the_next_request(app) {
        let ana = app.named_patient("ana@example.org", "Ana").await;
        let tom = app.therapist("tom@example.org", "Tom").await;
        app.put_entry(ana.token(), Uuid::new_v4(), &entry_at(app.clock_now() - TimeDelta::hours(1), 5)).await;
        let grant = app.link(&ana, &tom, &["read_journal", "receive_alerts"]).await;
        let grant_path = format!("/v1/care/grants/{}", grant["id"].as_str().unwrap());
        let journal = format!("/v1/patients/{}/journal/entries", ana.id);
        let reads = |status: StatusCode| {
            let app = &app;
            let journal = journal.clone();
            let token = tom.token().to_owned();
            async move { assert_eq!(app.get(&journal, &token).await.status(), status) }
        };
        reads(StatusCode::OK).await;

        // The patient narrows the grant: the journal is closed at once, and reopened.
        let narrowed = app.send(Method::PATCH, &grant_path, &ana, Some(&json!({"scopes": ["receive_alerts"]}))).await;
        assert_eq!(narrowed.status(), StatusCode::OK);
        assert_eq!(narrowed.json::<Value>().await.unwrap()["scopes"], json!(["receive_alerts"]));
        reads(StatusCode::NOT_FOUND).await;
        let widened = app.send(Method::PATCH, &grant_path, &ana, Some(&json!({"scopes": ["read_journal"]}))).await;
        assert_eq!(widened.status(), StatusCode::OK);
        reads(StatusCode::OK).await;

        // An expiry applies the moment it passes; removing it restores access.
        let problem = assert_problem(app.send(Method::PATCH, &grant_path, &ana, Some(&json!({"expires_at": "2001-01-01T00:00:00Z"}))).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(problem_fields(&problem), ["expires_at"]);
        // Nothing named, nothing changed: the grant comes back as it stands.
        let before = app.json(ana.token(), "/v1/care/grants").await["items"][0].clone();
        for unchanged in [json!({}), json!({"scopes": null})] {
            let response = app.send(Method::PATCH, &grant_path, &ana, Some(&unchanged)).await;
            assert_eq!(response.status(), StatusCode::OK);
            assert_eq!(response.json::<Value>().await.unwrap(), before, "{unchanged}");
        }
        reads(StatusCode::OK).await;
        let soon = (app.clock_now() + TimeDelta::minutes(5)).to_rfc3339();
        assert_eq!(app.send(Method::PATCH, &grant_path, &ana, Some(&json!({"expires_at": soon}))).await.status(), StatusCode::OK);
        reads(StatusCode::OK).await;
        app.clock.advance(TimeDelta::minutes(5));
        reads(StatusCode::NOT_FOUND).await;
        assert_eq!(app.json(ana.token(), "/v1/care/grants").await["items"][0]["status"], "expired");
        let reopened = app.send(Method::PATCH, &grant_path, &ana, Some(&json!({"expires_at": null}))).await;
        assert_eq!(reopened.json::<Value>().await.unwrap()["status"], "active");
        reads(StatusCode::OK).await;

        // Only the patient changes a grant.
        let response = app.send(Method::PATCH, &grant_path, &tom, Some(&json!({"scopes": ["read_journal", "record_sessions"]}))).await;
        assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;

        // Revoked: the very next request is refused, and the grant is gone from both lists.
        assert_eq!(app.send(Method::DELETE, &grant_path, &ana, None).await.status(), StatusCode::NO_CONTENT);
        reads(StatusCode::NOT_FOUND).await;
        assert_problem(app.send(Method::DELETE, &grant_path, &ana, None).await, StatusCode::NOT_FOUND, "not_found").await;
        assert_eq!(app.json(ana.token(), "/v1/care/grants").await["items"], json!([]));
        assert_eq!(app.json(tom.token(), "/v1/care/grants").await["items"], json!([]));

        // Linked again, then the therapist ends the relationship.
        let grant = app.link(&ana, &tom, &["read_journal"]).await;
        reads(StatusCode::OK).await;
        let response = app.send(Method::DELETE, &format!("/v1/care/grants/{}", grant["id"].as_str().unwrap()), &tom, None).await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        reads(StatusCode::NOT_FOUND).await;
        assert_eq!(app.count("SELECT count(*) FROM care_grants WHERE ended_at IS NOT NULL", None).await, 2);
    }

    async fn the_access_log_shows_who_looked_and_only_to_the_patient(app) {
        let ana = app.named_patient("ana@example.org", "Ana").await;
        let tom = app.therapist("tom@example.org", "Tom").await;
        let ben = app.named_patient("ben@example.org", "Ben").await;
        let id = Uuid::new_v4();
        app.put_entry(ana.token(), id, &entry_at(app.clock_now() - TimeDelta::hours(1), 7)).await;
        let grant = app.link(&ana, &tom, &["read_journal"]).await;

        // The patient's own reads are not logged.
        app.json(ana.token(), "/v1/journal/entries").await;
        app.json(ana.token(), &format!("/v1/patients/{}/journal/summary", ana.id)).await;
        assert_eq!(app.access_log(&ana, 50).await, Vec::<Value>::new());

        let mut request_ids = Vec::new();
        for path in [format!("/v1/patients/{}/journal/entries", ana.id), format!("/v1/patients/{}/journal/entries/{id}", ana.id), format!("/v1/patients/{}/journal/summary?days=7", ana.id)] {
            let request = app.client.get(app.url(&path)).bearer_auth(tom.token()).header("x-request-id", format!("tom-{}", request_ids.len()));
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            request_ids.push(response.headers()["x-request-id"].to_str().unwrap().to_owned());
        }
        app.send(Method::DELETE, &format!("/v1/care/grants/{}", grant["id"].as_str().unwrap()), &ana, None).await;
        let denied = app.get(&format!("/v1/patients/{}/journal/days", ana.id), tom.token()).await;
        assert_eq!(denied.status(), StatusCode::NOT_FOUND);
        let denied_id = denied.headers()["x-request-id"].to_str().unwrap().to_owned();
        app.get(&format!("/v1/patients/{}/questionnaires", ana.id), ben.token()).await;

        let log = app.access_log(&ana, 2).await;
        let seen: Vec<(&str, &str, &str)> = log.iter().map(|l| (l["actor"]["role"].as_str().unwrap(), l["operation"].as_str().unwrap(), l["outcome"].as_str().unwrap())).collect();
        assert_eq!(seen, [
            ("patient", "read_questionnaires", "denied"),
            ("therapist", "read_journal_days", "denied"),
            ("therapist", "read_journal_summary", "allowed"),
            ("therapist", "read_journal_entry", "allowed"),
            ("therapist", "list_journal_entries", "allowed"),
        ], "newest first, across pages");
        assert_eq!(log[4]["request_id"], request_ids[0].as_str());
        assert_eq!(log[2]["request_id"], request_ids[2].as_str());
        assert_eq!(log[1]["request_id"], denied_id.as_str());
        assert_eq!(log[2]["actor"], json!({"id": tom.id, "role": "therapist", "display_name": "Tom", "discipline": "physiotherapist"}));
        assert_eq!(log[0]["actor"]["id"], ben.id.as_str());
        assert!(log[0]["actor"]["display_name"].is_null(), "another patient is not named");
        // The log holds who, what and when: never the data. (The link and the client address
        // are set only for opens of a share link.)
        let mut keys: Vec<&str> = log[2].as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["actor", "at", "client_address", "id", "operation", "outcome", "request_id", "share_link_id"]);
        assert!(log[2]["client_address"].is_null() && log[2]["share_link_id"].is_null());
        let times: Vec<DateTime<Utc>> = log.iter().map(|l| l["at"].as_str().unwrap().parse().unwrap()).collect();
        assert!(times.windows(2).all(|w| w[0] >= w[1]));

        // Only the patient reads it.
        assert_problem(app.get("/v1/me/access-log", tom.token()).await, StatusCode::FORBIDDEN, "forbidden").await;
        assert_eq!(app.access_log(&ben, 50).await, Vec::<Value>::new());
        let bad = app.get("/v1/me/access-log?cursor=nonsense", ana.token()).await;
        assert_problem(bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        // And nobody rewrites it.
        assert!(app.execute("UPDATE access_log SET outcome = 'allowed'").await.is_err());
        assert_eq!(app.count("SELECT count(*) FROM access_log WHERE outcome = 'denied'", None).await, 2);
    }

    async fn a_therapists_health_screen_read_is_logged_as_such(app) {
        let ana = app.named_patient("ana@example.org", "Ana").await;
        let tom = app.therapist("tom@example.org", "Tom").await;
        let today = app.clock_now().date_naive().to_string();
        let screen = json!({"blood_clots": {"present": true, "confirmed_on": today}});
        assert_eq!(app.send(Method::PUT, "/v1/me/health-screen", &ana, Some(&screen)).await.status(), StatusCode::OK);
        app.link(&ana, &tom, &["read_journal"]).await;
        assert_eq!(app.get(&format!("/v1/patients/{}/health-screen", ana.id), tom.token()).await.status(), StatusCode::OK);
        assert_eq!(app.get(&format!("/v1/patients/{}/sessions", ana.id), tom.token()).await.status(), StatusCode::OK);
        let log = app.access_log(&ana, 50).await;
        let seen: Vec<&str> = log.iter().map(|l| l["operation"].as_str().unwrap()).collect();
        assert_eq!(seen, ["read_sessions", "read_health_screen"], "newest first");
    }

    async fn a_therapists_read_and_its_log_line_commit_together(app) {
        let ana = app.named_patient("ana@example.org", "Ana").await;
        let tom = app.therapist("tom@example.org", "Tom").await;
        app.put_entry(ana.token(), Uuid::new_v4(), &entry_at(app.clock_now() - TimeDelta::hours(1), 4)).await;
        app.link(&ana, &tom, &["read_journal"]).await;
        let entries = format!("/v1/patients/{}/journal/entries", ana.id);
        let lines = "SELECT count(*) FROM access_log WHERE operation = 'list_journal_entries' AND outcome = 'allowed'";
        assert_eq!(app.get(&entries, tom.token()).await.status(), StatusCode::OK);
        assert_eq!(app.count(lines, None).await, 1);

        // The read itself fails (its table is gone for a moment): nothing was shown, so nothing
        // is logged as seen.
        app.execute("ALTER TABLE journal_entries RENAME TO journal_entries_away").await.unwrap();
        let failed = app.get(&entries, tom.token()).await;
        assert!(failed.status().is_server_error(), "{}", failed.status());
        app.execute("ALTER TABLE journal_entries_away RENAME TO journal_entries").await.unwrap();
        assert_eq!(app.count(lines, None).await, 1, "a failed read leaves no line");

        assert_eq!(app.get(&entries, tom.token()).await.status(), StatusCode::OK);
        assert_eq!(app.count(lines, None).await, 2);
        let log = app.access_log(&ana, 50).await;
        assert_eq!(log.len(), 2, "{log:?}");
    }

    async fn a_therapists_session_view_is_one_logged_read(app) {
        let ana = app.named_patient("ana@example.org", "Ana").await;
        let tom = app.therapist("tom@example.org", "Tom").await;
        let today = app.clock_now().date_naive().to_string();
        let screen = json!({"blood_clots": {"present": true, "note": "DVT in 2025", "confirmed_on": today}});
        assert_eq!(app.send(Method::PUT, "/v1/me/health-screen", &ana, Some(&screen)).await.status(), StatusCode::OK);
        let session = json!({"started_at": (app.clock_now() - TimeDelta::hours(30)).to_rfc3339(), "duration_minutes": 60, "kind": "deep_tissue"});
        let recorded: Value = app.post("/v1/sessions", Some(ana.token()), &session).await.json().await.unwrap();
        let id = recorded["session"]["id"].as_str().unwrap().to_owned();
        let step = recorded["steps"].as_array().unwrap().iter().find(|s| s["key"] == "soreness_24h").unwrap()["id"].as_str().unwrap().to_owned();
        let answer = json!({"soreness": 5, "leg_swelling_redness_warmth": false});
        let response = app.send(Method::PUT, &format!("/v1/sessions/{id}/steps/{step}/check-in"), &ana, Some(&answer)).await;
        assert_eq!(response.status(), StatusCode::OK);
        app.link(&ana, &tom, &["read_journal"]).await;

        let view = app.json(tom.token(), &format!("/v1/patients/{}/sessions/{id}", ana.id)).await;
        assert_eq!(view["session"]["id"], id.as_str());
        assert_eq!(view["steps"].as_array().unwrap().len(), recorded["steps"].as_array().unwrap().len());
        let answered = view["steps"].as_array().unwrap().iter().find(|s| s["id"] == step.as_str()).unwrap();
        assert_eq!(answered["check_in"]["soreness"], 5, "{answered}");
        assert_eq!(view["warnings"], recorded["warnings"]);
        assert!(!view["warnings"].as_array().unwrap().is_empty(), "the health screen's warnings are part of the view");
        let log = app.access_log(&ana, 50).await;
        assert_eq!(log.len(), 1, "{log:?}");
        assert_eq!((log[0]["operation"].as_str(), log[0]["outcome"].as_str()), (Some("read_sessions"), Some("allowed")));

        // The steps are part of the one read: when they cannot be read, nothing is shown and
        // nothing is logged as seen.
        app.execute("ALTER TABLE aftercare_steps RENAME TO aftercare_steps_away").await.unwrap();
        let failed = app.get(&format!("/v1/patients/{}/sessions/{id}", ana.id), tom.token()).await;
        assert!(failed.status().is_server_error(), "{}", failed.status());
        app.execute("ALTER TABLE aftercare_steps_away RENAME TO aftercare_steps").await.unwrap();
        assert_eq!(app.access_log(&ana, 50).await.len(), 1, "a read that failed half-way leaves no line");
    }

    async fn the_caseload_puts_the_most_neglected_client_first(app) {
        app.clock.set("2026-11-20T12:00:00Z".parse().unwrap());
        let tom = app.therapist("tom@example.org", "Tom").await;
        let today = app.named_patient("alma@example.org", "Alma").await;
        let lapsed = app.named_patient("bea@example.org", "Bea").await;
        let never = app.named_patient("cleo@example.org", "Cleo").await;
        let private = app.named_patient("dora@example.org", "Dora").await;
        let long_gone = app.named_patient("edna@example.org", "Edna").await;
        let now = app.clock_now();
        let day = TimeDelta::days(1);
        let writes = [
            (&today, now - TimeDelta::hours(2), 3),
            (&lapsed, now - day * 7, 4),
            (&lapsed, now - day * 7 + TimeDelta::hours(3), 4),
            (&lapsed, now - day * 5, 6),
            (&private, now - day * 20, 9),
            (&long_gone, now - day * 30, 8),
            (&long_gone, now - day * 10, 2),
        ];
        for (who, at, pain) in writes {
            assert_eq!(app.put_entry(who.token(), Uuid::new_v4(), &entry_at(at, pain)).await.status(), StatusCode::CREATED);
        }
        for who in [&today, &lapsed, &never, &long_gone] {
            app.link(who, &tom, &["read_journal", "receive_alerts"]).await;
        }
        app.link(&private, &tom, &["record_sessions"]).await;
        // A patient Tom no longer sees is not in the caseload.
        let former = app.named_patient("fay@example.org", "Fay").await;
        let grant = app.link(&former, &tom, &["read_journal"]).await;
        app.send(Method::DELETE, &format!("/v1/care/grants/{}", grant["id"].as_str().unwrap()), &former, None).await;

        let caseload = app.json(tom.token(), "/v1/caseload").await;
        let items = caseload["items"].as_array().unwrap();
        let names: Vec<&str> = items.iter().map(|c| c["patient"]["display_name"].as_str().unwrap()).collect();
        assert_eq!(names, ["Edna", "Bea", "Alma", "Cleo", "Dora"]);

        let edna = &items[0]["journal"];
        assert_eq!((edna["from"].as_str(), edna["to"].as_str()), (Some("2026-11-07"), Some("2026-11-20")), "the last 14 days");
        assert_eq!((edna["entries"].as_u64(), edna["days_since_last_entry"].as_u64()), (Some(1), Some(10)));
        let bea = &items[1]["journal"];
        assert_eq!(bea["entries"], 3);
        assert_eq!(bea["logged_days"], 2);
        assert_eq!(bea["mean_pain"], 5.0); // daily maxima 4 and 6
        assert_eq!(bea["max_pain"], 6);
        assert_eq!(bea["trend_per_week"], 7.0); // +2 points over 2 days
        assert_eq!(bea["days_since_last_entry"], 5);
        assert_eq!(items[2]["journal"]["days_since_last_entry"], 0);
        let cleo = &items[3]["journal"];
        assert_eq!((cleo["entries"].as_u64(), cleo["mean_pain"].as_f64()), (Some(0), None));
        assert!(cleo["days_since_last_entry"].is_null() && cleo["last_entry_at"].is_null());
        assert!(items[4]["journal"].is_null(), "no summary without read_journal");
        assert_eq!(items[4]["scopes"], json!(["record_sessions"]));
        // No sessions recorded yet, no alerts open: nothing is made up.
        assert!(items[0]["last_session"].is_null());
        assert_eq!(items[0]["open_alerts"], json!({"count": 0, "most_urgent_tier": null}));
        assert!(items[4]["open_alerts"].is_null(), "no alerts without receive_alerts");

        // Each summary shown is in that client's access log; Dora's journal was not read.
        for who in [&today, &lapsed, &never, &long_gone] {
            let log = app.access_log(who, 50).await;
            assert_eq!(log.len(), 1);
            assert_eq!((log[0]["operation"].as_str(), log[0]["outcome"].as_str()), (Some("read_caseload_summary"), Some("allowed")));
        }
        assert_eq!(app.access_log(&private, 50).await, Vec::<Value>::new());

        let problem = assert_problem(app.get("/v1/caseload", today.token()).await, StatusCode::FORBIDDEN, "therapists_only").await;
        assert!(problem["detail"].as_str().unwrap().contains("therapists"));
    }

    async fn erasing_an_account_takes_its_care_team_data_along(app) {
        let ana = app.named_patient("ana@example.org", "Ana").await;
        let ben = app.named_patient("ben@example.org", "Ben").await;
        let tom = app.therapist("tom@example.org", "Tom").await;
        app.link(&ana, &tom, &["read_journal"]).await;
        app.link(&ben, &tom, &["read_journal"]).await;
        app.create_invite(&ana, json!({"scopes": ["read_journal"]})).await;
        app.create_invite(&tom, json!({"scopes": ["read_journal"]})).await;
        app.json(tom.token(), &format!("/v1/patients/{}/journal/entries", ana.id)).await;
        app.json(tom.token(), &format!("/v1/patients/{}/journal/entries", ben.id)).await;

        // The therapist leaves: his grants and invites go, the patients keep their record of him.
        assert_eq!(app.send(Method::DELETE, "/v1/me", &tom, Some(&json!({"password": PASSWORD}))).await.status(), StatusCode::NO_CONTENT);
        assert_eq!(app.json(ana.token(), "/v1/care/grants").await["items"], json!([]));
        let log = app.access_log(&ana, 50).await;
        assert_eq!(log.len(), 1);
        assert_eq!((log[0]["actor"]["id"].as_str(), log[0]["actor"]["role"].as_str()), (Some(tom.id.as_str()), Some("therapist")));
        assert!(log[0]["actor"]["display_name"].is_null(), "the account is gone, so is its name");

        // The patient leaves: nothing of hers stays.
        assert_eq!(app.send(Method::DELETE, "/v1/me", &ana, Some(&json!({"password": PASSWORD}))).await.status(), StatusCode::NO_CONTENT);
        let ana_id: Uuid = ana.id.parse().unwrap();
        for table in ["care_grants WHERE patient_id = $1", "care_invites WHERE created_by = $1", "access_log WHERE patient_id = $1"] {
            assert_eq!(app.count(&format!("SELECT count(*) FROM {table}"), Some(ana_id)).await, 0, "{table}");
        }
        assert_eq!(app.count("SELECT count(*) FROM access_log", None).await, 1, "Ben's record stays");
        assert_eq!(app.count("SELECT count(*) FROM care_invites", None).await, 1, "Ben's spent invite stays");
    }

    async fn clients_with_open_alerts_come_first_in_the_caseload(app) {
        app.clock.set("2026-11-20T12:00:00Z".parse().unwrap());
        let tom = app.therapist("tom@example.org", "Tom").await;
        let calm = app.named_patient("alma@example.org", "Alma").await;
        let quiet = app.named_patient("bea@example.org", "Bea").await;
        let feverish = app.named_patient("cleo@example.org", "Cleo").await;
        let now = app.clock_now();
        assert_eq!(app.put_entry(calm.token(), Uuid::new_v4(), &entry_at(now - TimeDelta::hours(1), 2)).await.status(), StatusCode::CREATED);
        assert_eq!(app.put_entry(quiet.token(), Uuid::new_v4(), &entry_at(now - TimeDelta::days(9), 3)).await.status(), StatusCode::CREATED);
        let fever = json!({"recorded_at": (now - TimeDelta::hours(2)).to_rfc3339(), "pain": 5, "symptoms": ["fever"]});
        assert_eq!(app.put_entry(feverish.token(), Uuid::new_v4(), &fever).await.status(), StatusCode::CREATED);
        for who in [&calm, &quiet, &feverish] {
            app.link(who, &tom, &["read_journal", "receive_alerts"]).await;
        }
        let caseload = app.json(tom.token(), "/v1/caseload").await;
        let names: Vec<&str> =
            caseload["items"].as_array().unwrap().iter().map(|c| c["patient"]["display_name"].as_str().unwrap()).collect();
        // The urgent alert outranks nine days of silence, which outranks a calm day.
        assert_eq!(names, ["Cleo", "Bea", "Alma"]);

        // Therapists with the alerts scope hear about a new alert too; one without it does not.
        let sam = app.therapist("sam@example.org", "Sam").await;
        app.link(&feverish, &sam, &["read_journal"]).await;
        let worse = json!({"recorded_at": (now - TimeDelta::minutes(30)).to_rfc3339(), "pain": 6, "symptoms": ["saddle_numbness"]});
        assert_eq!(app.put_entry(feverish.token(), Uuid::new_v4(), &worse).await.status(), StatusCode::CREATED);
        let inbox = |who: &Who| {
            let who = who.clone();
            let app = &app;
            async move {
                let page = app.json(who.token(), "/v1/notifications").await;
                let kinds = ["urgent_alert", "client_urgent_alert"];
                page["items"].as_array().unwrap().iter().filter(|n| kinds.contains(&n["kind"].as_str().unwrap())).count()
            }
        };
        assert_eq!(inbox(&tom).await, 1, "the emergency alert reached Tom");
        let caseload = app.json(tom.token(), "/v1/caseload").await;
        assert_eq!(caseload["items"][0]["open_alerts"], json!({"count": 2, "most_urgent_tier": "emergency"}));

        // Since the last session: adherence and soreness answers.
        let session = json!({"started_at": (now - TimeDelta::hours(30)).to_rfc3339(), "duration_minutes": 60, "kind": "deep_tissue"});
        let recorded: Value = app.post("/v1/sessions", Some(calm.token()), &session).await.json().await.unwrap();
        let id = recorded["session"]["id"].as_str().unwrap();
        let step = |key: &str| recorded["steps"].as_array().unwrap().iter().find(|s| s["key"] == key).unwrap()["id"].as_str().unwrap().to_owned();
        app.send(Method::PUT, &format!("/v1/sessions/{id}/steps/{}/check-in", step("soreness_24h")), &calm, Some(&json!({"soreness": 4, "leg_swelling_redness_warmth": false}))).await;
        app.send(Method::PUT, &format!("/v1/sessions/{id}/steps/{}/completion", step("hydrate")), &calm, Some(&json!({"outcome": "skipped"}))).await;
        let caseload = app.json(tom.token(), "/v1/caseload").await;
        let alma = caseload["items"].as_array().unwrap().iter().find(|c| c["patient"]["display_name"] == "Alma").unwrap();
        let last = &alma["last_session"];
        assert_eq!(last["session_id"], id);
        assert_eq!((last["steps_done"].as_u64(), last["steps_skipped"].as_u64(), last["steps_total"].as_u64()), (Some(1), Some(1), Some(5)));
        assert_eq!((last["soreness_24h"].as_u64(), last["soreness_48h"].as_u64()), (Some(4), None));
        assert_eq!(inbox(&sam).await, 0, "Sam's grant lacks receive_alerts");
        assert_eq!(inbox(&feverish).await, 2, "the fever and the emergency");
    }

    async fn the_caseload_reads_each_clients_entries_only_from_their_own_summary_start(app) {
        use aftercare::domain::care::Scope;
        use aftercare::store::{CaseloadAccess, CaseloadClient, CaseloadScopes, LastSession};

        app.clock.set("2026-11-20T12:00:00Z".parse().unwrap());
        let tom = app.therapist("tom@example.org", "Tom").await;
        let ana = app.named_patient("ana@example.org", "Ana").await;
        let bea = app.named_patient("bea@example.org", "Bea").await;
        let now = app.clock_now();
        for who in [&ana, &bea] {
            for back in 0..40 {
                let at = now - TimeDelta::days(back) - TimeDelta::hours(1);
                assert_eq!(app.put_entry(who.token(), Uuid::new_v4(), &entry_at(at, 3)).await.status(), StatusCode::CREATED);
            }
            app.link(who, &tom, &["read_journal"]).await;
        }
        // Ana's summary starts three days back, Bea's twenty.
        let ana_id: Uuid = ana.id.parse().unwrap();
        let today = now.date_naive();
        let start = move |client: &CaseloadClient, _: Option<&LastSession>| {
            let back = if client.grant.grant.patient_id == ana_id { 3 } else { 20 };
            today - chrono::Days::new(back)
        };
        let scopes = CaseloadScopes { journal: Scope::ReadJournal, alerts: Scope::ReceiveAlerts };
        let access = CaseloadAccess { operation: "read_caseload_summary", request_id: None };
        let rows = app.state.store.caseload(tom.id.parse().unwrap(), now, scopes, &start, access).await.unwrap();
        assert_eq!(rows.clients.len(), 2);
        let of = |id: Uuid| rows.entries.iter().filter(|(p, _)| *p == id).map(|(_, e)| e.local_date).collect::<Vec<_>>();
        let (ana_dates, bea_dates) = (of(ana_id), of(bea.id.parse().unwrap()));
        assert_eq!(ana_dates.len(), 4, "{ana_dates:?}");
        assert!(ana_dates.iter().all(|d| *d >= today - chrono::Days::new(3)));
        assert_eq!(bea_dates.len(), 21, "{bea_dates:?}");
        assert_eq!(rows.last_entries.len(), 2, "the latest entry is still known");
    }

    async fn a_caseload_of_three_hundred_clients(app) {
        use aftercare::domain::care::{InviteCode, Scope, Scopes};
        use aftercare::domain::{Role, TimeZone};
        use aftercare::store::Principal;

        use crate::seed;

        app.clock.set("2026-11-20T12:00:00Z".parse().unwrap());
        let tom = app.therapist("tom@example.org", "Tom").await;
        let therapist = Principal { account_id: tom.id.parse().unwrap(), session_id: Uuid::now_v7(), role: Role::Therapist, time_zone: TimeZone::default() };
        let now = app.clock_now();
        // Set up through the use cases directly: three hundred sign-ups over HTTP would only
        // test the password hasher.
        for i in 0..300u32 {
            let zone = TimeZone::parse("Europe/Berlin").unwrap();
            let (email, name) = (format!("client{i}@example.org"), format!("Client {i:03}"));
            let id = seed::create_patient(app.state.store.as_ref(), &email, zone, Some(&name), now).await;
            let patient = Principal { account_id: id, session_id: Uuid::now_v7(), role: Role::Patient, time_zone: zone };
            let (_, code) = app.state.create_invite(&patient, Scopes::new([Scope::ReadJournal]).unwrap(), None).await.unwrap();
            app.state.redeem_invite(&therapist, &InviteCode::parse(&code.display()).unwrap(), None, None, None).await.unwrap();
            // Client i last wrote i % 14 days ago (clients divisible by 15 never did).
            if i % 15 != 0 {
                for back in [i % 14, i % 14 + 1] {
                    let at = now - TimeDelta::days(i64::from(back)) - TimeDelta::hours(1);
                    let content = seed::entry(at, i64::from(i % 11), []);
                    app.state.put_entry(&patient, id, Uuid::now_v7(), content, None).await.unwrap();
                }
            }
        }
        let started = std::time::Instant::now();
        let caseload = app.json(tom.token(), "/v1/caseload").await;
        eprintln!("caseload of 300 clients on {:?}: {:?}", app.backend, started.elapsed());
        let items = caseload["items"].as_array().unwrap();
        assert_eq!(items.len(), 300);
        let silence: Vec<u64> = items
            .iter()
            .map(|c| c["journal"]["days_since_last_entry"].as_u64().unwrap_or(0))
            .collect();
        assert!(silence.windows(2).all(|w| w[0] >= w[1]), "{silence:?}");
        assert_eq!(silence[0], 13);
        assert!(items.iter().all(|c| c["journal"]["entries"].as_u64().unwrap() <= 2));
        assert_eq!(app.count("SELECT count(*) FROM access_log", None).await, 300);
    }
}

/// Failed attempts from one address count across accounts.
async fn guesses_from_one_address_are_limited_across_accounts(backend: Backend) {
    let overrides = [("rate_limit.invite_failures_per_address", json!(3))];
    let Some(app) = crate::helpers::spawn_app_with(backend, &overrides).await else { return };
    let ana = app.named_patient("ana@example.org", "Ana").await;
    let tom = app.therapist("tom@example.org", "Tom").await;
    let sam = app.therapist("sam@example.org", "Sam").await;
    let real = app.create_invite(&ana, json!({"scopes": ["read_journal"]})).await;
    for guess in ["2222-2222", "3333-3333", "4444-4444"] {
        assert_problem(app.redeem(&tom, json!({"code": guess})).await, StatusCode::NOT_FOUND, "invite_not_found").await;
    }
    let response = app.redeem(&sam, json!({"code": real["code"]})).await;
    assert!(response.headers().contains_key("retry-after"));
    assert_problem(response, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    assert_eq!(app.count("SELECT count(*) FROM care_grants", None).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guesses_from_one_address_are_limited_across_accounts_sqlite() {
    guesses_from_one_address_are_limited_across_accounts(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guesses_from_one_address_are_limited_across_accounts_postgres() {
    guesses_from_one_address_are_limited_across_accounts(Backend::Postgres).await;
}
