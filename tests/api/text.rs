//! One rule for text on both databases: no request stores a NUL character (U+0000). PostgreSQL
//! text cannot hold it; SQLite would; so every text field of every write operation refuses it
//! with 422 naming the field, before anything is stored.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, assert_problem, on_both_backends, problem_fields};

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Field(String),
    Item,
}

fn resolve<'a>(spec: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str().and_then(|r| r.strip_prefix("#/components/schemas/")) {
        Some(name) => &spec["components"]["schemas"][name],
        None => schema,
    }
}

/// Every path to a string in `schema`, through references, compositions, objects and arrays.
fn string_paths(spec: &Value, schema: &Value, at: &mut Vec<Step>, found: &mut Vec<Vec<Step>>) {
    if at.len() > 10 {
        return;
    }
    let schema = resolve(spec, schema);
    for key in ["allOf", "oneOf", "anyOf"] {
        for part in schema[key].as_array().into_iter().flatten() {
            string_paths(spec, part, at, found);
        }
    }
    if schema["type"] == "string" && !found.contains(at) {
        found.push(at.clone());
    }
    for (name, property) in schema["properties"].as_object().into_iter().flatten() {
        at.push(Step::Field(name.clone()));
        string_paths(spec, property, at, found);
        at.pop();
    }
    if schema["type"] == "array" {
        at.push(Step::Item);
        string_paths(spec, &schema["items"], at, found);
        at.pop();
    }
}

/// `body` with the value at `path` replaced by `text` (objects and arrays made where missing).
fn set(body: &mut Value, path: &[Step], text: &str) {
    let Some((first, rest)) = path.split_first() else {
        *body = json!(text);
        return;
    };
    match first {
        Step::Field(name) => {
            if !body.is_object() {
                *body = json!({});
            }
            set(body.as_object_mut().unwrap().entry(name.clone()).or_insert(Value::Null), rest, text);
        }
        Step::Item => {
            if body.as_array().is_none_or(|a| a.is_empty()) {
                *body = json!([null]);
            }
            set(&mut body.as_array_mut().unwrap()[0], rest, text);
        }
    }
}

fn field_name(path: &[Step]) -> String {
    let mut name = String::new();
    for step in path {
        match step {
            Step::Field(field) if name.is_empty() => name.push_str(field),
            Step::Field(field) => name.push_str(&format!(".{field}")),
            Step::Item => name.push_str("[0]"),
        }
    }
    if name.is_empty() { "body".into() } else { name }
}

async fn fuzz_every_text_field(app: &TestApp) {
    let token = app.patient("ana@example.org").await.access;
    let spec: Value = app.client.get(app.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
    let mut fields_tried = 0;
    let mut operations_tried = 0;
    for (template, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let Some(schema) = operation["requestBody"]["content"]["application/json"].get("schema") else { continue };
            operations_tried += 1;
            let example = resolve(&spec, schema).get("example").cloned().unwrap_or_else(|| json!({}));
            let mut paths = Vec::new();
            string_paths(&spec, schema, &mut Vec::new(), &mut paths);
            let path =
                template.split('/').map(|s| if s.starts_with('{') { Uuid::new_v4().to_string() } else { s.to_owned() });
            let path = path.collect::<Vec<_>>().join("/");
            for field in paths {
                let mut body = example.clone();
                set(&mut body, &field, "before\u{0}after");
                let response = app
                    .client
                    .request(method.to_uppercase().parse::<Method>().unwrap(), app.url(&path))
                    .bearer_auth(&token)
                    .header("Idempotency-Key", Uuid::new_v4().to_string())
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                let context = format!("{method} {template} {}", field_name(&field));
                let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
                assert_eq!(problem_fields(&problem), [field_name(&field)], "{context}: {problem}");
                assert_eq!(problem["errors"][0]["code"], "nul_character", "{context}");
                fields_tried += 1;
            }
        }
    }
    // A guard against a walk that finds nothing.
    assert!(operations_tried >= 20 && fields_tried >= 60, "{operations_tried} operations, {fields_tried} fields");
}

on_both_backends! {
    async fn no_text_field_of_any_write_takes_a_nul(app) {
        fuzz_every_text_field(&app).await;
    }

    async fn a_nul_in_a_note_stores_nothing(app) {
        let ana = app.patient("ana@example.org").await;
        let session = json!({"started_at": (app.clock_now() - chrono::TimeDelta::hours(3)).to_rfc3339(), "duration_minutes": 60, "kind": "swedish", "notes": "tight\u{0}shoulders"});
        let refused = app.request(Method::POST, "/v1/sessions", Some(&ana.access), Some(&session)).await;
        let problem = assert_problem(refused, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(problem_fields(&problem), ["notes"]);
        assert_eq!(app.count("SELECT count(*) FROM massage_sessions", None).await, 0);

        let id = Uuid::new_v4();
        let entry = json!({"recorded_at": app.clock_now().to_rfc3339(), "pain": 3, "notes": "a\u{0}b"});
        let refused = app.request(Method::PUT, &format!("/v1/journal/entries/{id}"), Some(&ana.access), Some(&entry)).await;
        assert_problem(refused, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(app.count("SELECT count(*) FROM journal_entries", None).await, 0);
        // The same text without the NUL is kept as written.
        let entry = json!({"recorded_at": app.clock_now().to_rfc3339(), "pain": 3, "notes": "a\tb\nc"});
        let kept = app.request(Method::PUT, &format!("/v1/journal/entries/{id}"), Some(&ana.access), Some(&entry)).await;
        assert_eq!(kept.status(), StatusCode::CREATED);
    }
}
