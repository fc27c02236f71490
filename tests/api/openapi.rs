//! The committed OpenAPI document is what the code describes and what the service serves, and
//! it is complete enough to generate clients from: every rule below holds for every operation,
//! so a new endpoint cannot leave a gap in it.

use std::collections::{BTreeSet, HashSet};
use std::process::Command;

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::{Backend, on_both_backends, spawn_app};

const COMMITTED: &str = include_str!("../../openapi/openapi.yaml");
const METHODS: &[&str] = &["get", "put", "post", "delete", "patch", "head", "options", "trace"];

#[test]
fn committed_spec_matches_the_code() {
    let output = Command::new(env!("CARGO_BIN_EXE_aftercare")).arg("openapi").output().expect("run aftercare openapi");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let generated = String::from_utf8(output.stdout).unwrap();
    assert!(
        generated.trim_end() == COMMITTED.trim_end(),
        "openapi/openapi.yaml is out of date. Refresh it with:\n\n    cargo run -- openapi > openapi/openapi.yaml\n"
    );
}

fn schema<'a>(spec: &'a Value, reference: &Value) -> (&'a str, &'a Value) {
    let name = reference["$ref"].as_str().and_then(|r| r.strip_prefix("#/components/schemas/")).expect("a $ref");
    let name = spec["components"]["schemas"].as_object().unwrap().get_key_value(name).expect("schema exists").0;
    (name, &spec["components"]["schemas"][name])
}

/// Every component schema a value refers to, transitively.
fn reachable(spec: &Value, value: &Value, into: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            if map.contains_key("$ref") {
                let (name, target) = schema(spec, value);
                if into.insert(name.to_owned()) {
                    reachable(spec, target, into);
                }
            }
            map.values().for_each(|v| reachable(spec, v, into));
        }
        Value::Array(items) => items.iter().for_each(|v| reachable(spec, v, into)),
        _ => {}
    }
}

fn non_empty(value: &Value) -> bool {
    value.as_str().is_some_and(|s| !s.trim().is_empty())
}

/// The rules a generated client relies on, checked for every operation. Returns the problems.
fn contract_problems(spec: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let mut fail = |message: String| problems.push(message);
    let tags: HashSet<&str> = spec["tags"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| non_empty(&t["description"]))
        .filter_map(|t| t["name"].as_str())
        .collect();
    let bearer = &spec["components"]["securitySchemes"]["BearerAuth"];
    if bearer["type"] != "http" || bearer["scheme"] != "bearer" || !non_empty(&bearer["description"]) {
        fail(format!("BearerAuth is not a described http bearer scheme: {bearer}"));
    }
    if spec["security"] != serde_json::json!([{"BearerAuth": []}]) {
        fail("the document does not require BearerAuth by default".into());
    }

    let mut ids = HashSet::new();
    let mut request_schemas = BTreeSet::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap().iter().filter(|(m, _)| METHODS.contains(&m.as_str())) {
            let name = format!("{} {path}", method.to_uppercase());
            let id = op["operationId"].as_str().unwrap_or_default();
            if !(id.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                && id.chars().all(|c| c.is_ascii_alphanumeric()))
            {
                fail(format!("{name}: operationId {id:?} is not camelCase"));
            }
            if !ids.insert(id.to_owned()) {
                fail(format!("{name}: operationId {id} is used twice"));
            }
            match op["tags"].as_array().map(Vec::as_slice) {
                Some([tag]) if tag.as_str().is_some_and(|t| tags.contains(t)) => {}
                other => fail(format!("{name}: needs exactly one tag declared with a description, has {other:?}")),
            }
            for field in ["summary", "description"] {
                if !non_empty(&op[field]) {
                    fail(format!("{name}: no {field}"));
                }
            }

            // Security is explicit: bearer, or `[]` for operations anyone may call.
            let public = match &op["security"] {
                Value::Array(s) if s.is_empty() => true,
                Value::Array(s) if s.as_slice() == [serde_json::json!({"BearerAuth": []})] => false,
                other => {
                    fail(format!(
                        "{name}: security must be BearerAuth or [] (public; list it in api::spec::PUBLIC_OPERATIONS), is {other}"
                    ));
                    true
                }
            };

            for parameter in op["parameters"].as_array().into_iter().flatten() {
                let pname = parameter["name"].as_str().unwrap_or_default();
                if !non_empty(&parameter["description"]) || !parameter["schema"].is_object() {
                    fail(format!("{name}: parameter {pname} needs a description and a schema"));
                }
                if parameter["in"] == "path" && parameter["required"] != true {
                    fail(format!("{name}: path parameter {pname} must be required"));
                }
            }

            let body = &op["requestBody"];
            if body.is_object() {
                let content = body["content"].as_object().map(|c| c.keys().cloned().collect::<Vec<_>>());
                if body["required"] != true || content.as_deref() != Some(&["application/json".to_owned()][..]) {
                    fail(format!("{name}: the request body must be required application/json"));
                }
                let root = &body["content"]["application/json"]["schema"];
                let (root_name, root_schema) = schema(spec, root);
                let variants: Vec<&Value> = match root_schema["oneOf"].as_array() {
                    Some(variants) => variants.iter().map(|v| schema(spec, v).1).collect(),
                    None => vec![root_schema],
                };
                if !variants.iter().all(|v| v["example"].is_object()) {
                    fail(format!("{name}: the request body {root_name} has no example"));
                }
                reachable(spec, root, &mut request_schemas);
            }

            let responses = op["responses"].as_object().unwrap();
            let declares = |status: &str| responses.contains_key(status);
            let mut expected: Vec<&str> = Vec::new();
            if responses.keys().any(|s| !s.starts_with('2')) {
                expected.extend(["500", "503"]);
            }
            if body.is_object() {
                expected.extend(["400", "413", "415", "422"]);
            }
            if !public {
                expected.push("401");
            }
            if path.contains('{') {
                expected.push("404");
            }
            if op["parameters"].as_array().is_some_and(|p| p.iter().any(|p| p["in"] == "query" || p["in"] == "header"))
            {
                expected.push("422");
            }
            for status in expected {
                if !declares(status) {
                    fail(format!("{name}: does not declare {status}"));
                }
            }
            if !responses.keys().any(|s| s.starts_with('2')) {
                fail(format!("{name}: no success response"));
            }
            for (status, response) in responses {
                if !non_empty(&response["description"]) {
                    fail(format!("{name} {status}: no description"));
                }
                let headers = response["headers"].as_object();
                let header = |wanted: &str| {
                    headers.and_then(|h| h.iter().find(|(k, _)| k.eq_ignore_ascii_case(wanted))).map(|(_, v)| v)
                };
                if header("X-Request-Id").is_none() {
                    fail(format!("{name} {status}: no X-Request-Id header"));
                }
                for (header_name, definition) in headers.into_iter().flatten() {
                    if !non_empty(&definition["description"]) {
                        fail(format!("{name} {status}: header {header_name} has no description"));
                    }
                }
                let content = response["content"].as_object();
                match status.as_str() {
                    "204" => {
                        if content.is_some() {
                            fail(format!("{name} 204 has a body"));
                        }
                    }
                    s if s.starts_with('2') => {
                        // JSON (`application/json`, or a JSON media type such as the FHIR export's
                        // `application/fhir+json`) with a named schema; or a CSV download, a string
                        // with an example.
                        let is_json = |k: &str| {
                            k.starts_with("application/json") || (k.starts_with("application/") && k.ends_with("+json"))
                        };
                        let json = content.and_then(|c| c.iter().find(|(k, _)| is_json(k)));
                        let csv = content.and_then(|c| c.get("text/csv"));
                        if let (None, Some(media)) = (json, csv) {
                            if media["schema"]["type"] != "string" || !non_empty(&media["schema"]["example"]) {
                                fail(format!("{name} {status}: a text/csv body needs a string schema with an example"));
                            }
                            continue;
                        }
                        match json.filter(|(_, media)| media["schema"]["$ref"].is_string()) {
                            None => fail(format!("{name} {status}: no application/json body with a named schema")),
                            Some((_, media)) => {
                                let (schema_name, schema) = schema(spec, &media["schema"]);
                                if !schema["example"].is_object() {
                                    fail(format!("{name} {status}: the response {schema_name} has no example"));
                                }
                            }
                        }
                    }
                    _ => {
                        let media = &response["content"]["application/problem+json"];
                        if media["schema"]["$ref"] != "#/components/schemas/Problem" {
                            fail(format!("{name} {status}: not an application/problem+json Problem"));
                        }
                        if media["example"]["status"].as_u64().map(|s| s.to_string()).as_deref() != Some(status) {
                            fail(format!("{name} {status}: no example problem with this status"));
                        }
                    }
                }
                if (status == "429" || status == "503") && header("Retry-After").is_none() {
                    fail(format!("{name} {status}: no Retry-After header"));
                }
                if status == "201" && !header("Location").is_some_and(|l| l["required"] == true) {
                    fail(format!("{name} 201: no Location header for what it created"));
                }
            }
        }
    }

    generator_problems(spec, &mut fail);

    for (name, schema) in spec["components"]["schemas"].as_object().unwrap() {
        if !non_empty(&schema["description"]) {
            fail(format!("schema {name}: no description"));
        }
        if let Some(values) = schema["enum"].as_array() {
            let description = schema["description"].as_str().unwrap_or_default();
            for value in values {
                let value = value.as_str().map(str::to_owned).unwrap_or_else(|| value.to_string());
                if !description.contains(&format!("`{value}`")) {
                    fail(format!("enum {name}: the description does not explain `{value}`"));
                }
            }
        }
        let required: HashSet<&str> =
            schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        let is_request = request_schemas.contains(name);
        if is_request && schema["properties"].is_object() && schema["additionalProperties"] != false {
            fail(format!("schema {name}: a request schema must reject unknown fields (additionalProperties: false)"));
        }
        for (property, definition) in schema["properties"].as_object().into_iter().flatten() {
            let at = format!("schema {name}.{property}");
            // A plain `$ref` is described by its target (OpenAPI 3.0 ignores anything beside it).
            let described = non_empty(&definition["description"]) || definition.get("$ref").is_some();
            if !described && definition["enum"].as_array().is_none_or(|e| e.len() > 1) {
                fail(format!("{at}: no description"));
            }
            let format = definition["format"].as_str().unwrap_or_default();
            if format.starts_with("uint") || format.starts_with("naive") {
                fail(format!("{at}: non-standard format {format}"));
            }
            let numeric = matches!(definition["type"].as_str(), Some("integer" | "number"));
            if numeric && is_request && definition["minimum"].is_null() && definition["maximum"].is_null() {
                fail(format!("{at}: a number in a request needs its range (minimum/maximum)"));
            }
            let optional = !required.contains(property.as_str());
            if optional && definition.get("default").is_none() && definition["nullable"] != true {
                fail(format!("{at}: optional without a default, so null must be allowed (nullable)"));
            }
        }
    }
    problems
}

/// What client generators trip on: OpenAPI 3.1 fields in a 3.0 document, an empty `servers`,
/// media types with parameters, `allOf` wrappers around one `$ref`, `nullable` without `type`,
/// properties without a schema, one field with two integer formats, unions that are also
/// objects, pages of two shapes, and enums that will grow without saying so.
fn generator_problems(spec: &Value, fail: &mut dyn FnMut(String)) {
    if !spec["openapi"].as_str().is_some_and(|v| v.starts_with("3.0.")) {
        fail(format!("the document must declare OpenAPI 3.0.x, declares {}", spec["openapi"]));
    }
    for (at, field) in
        [("info", "summary"), ("info/license", "identifier"), ("", "webhooks"), ("", "jsonSchemaDialect")]
    {
        let holder = if at.is_empty() { spec } else { spec.pointer(&format!("/{at}")).unwrap_or(&Value::Null) };
        if holder.get(field).is_some() {
            fail(format!("{at}/{field} is OpenAPI 3.1 only"));
        }
    }
    if spec["servers"].as_array().is_some_and(Vec::is_empty) {
        fail("servers is empty: leave it out".into());
    }

    let mut formats: std::collections::BTreeMap<String, BTreeSet<String>> = Default::default();
    fn walk(
        value: &Value,
        at: &str,
        fail: &mut dyn FnMut(String),
        formats: &mut std::collections::BTreeMap<String, BTreeSet<String>>,
    ) {
        match value {
            Value::Object(map) => {
                if let Some(Value::Object(content)) = map.get("content") {
                    for media_type in content.keys().filter(|m| m.contains(';')) {
                        fail(format!("{at}: media type {media_type:?} has parameters"));
                    }
                }
                for keyword in ["const", "examples", "prefixItems", "$defs", "unevaluatedProperties"] {
                    if map.contains_key(keyword) && (map.contains_key("type") || map.contains_key("properties")) {
                        fail(format!("{at}: {keyword} is OpenAPI 3.1 only"));
                    }
                }
                if map.get("type").is_some_and(Value::is_array) {
                    fail(format!("{at}: a list of types is OpenAPI 3.1 only"));
                }
                let nullable_reference = map.get("nullable") == Some(&Value::Bool(true))
                    && matches!(map.get("allOf").and_then(Value::as_array).map(Vec::as_slice),
                        Some([only]) if only.as_object().is_some_and(|o| o.len() == 1 && o.contains_key("$ref")));
                if let Some(parts) = map.get("allOf").and_then(Value::as_array) {
                    let refs = parts.iter().filter(|p| p.get("$ref").is_some()).count();
                    let annotations_only = parts.iter().any(|p| {
                        p.as_object().is_some_and(|o| {
                            !o.contains_key("$ref")
                                && o.keys()
                                    .all(|k| ["description", "title", "example", "default"].contains(&k.as_str()))
                        })
                    });
                    if annotations_only || (refs == 1 && parts.len() == 1 && !nullable_reference) {
                        fail(format!(
                            "{at}: an allOf wrapper around one $ref (use the $ref, or {{nullable: true, allOf: [$ref]}})"
                        ));
                    }
                }
                if map.get("nullable") == Some(&Value::Bool(true)) && !map.contains_key("type") && !nullable_reference {
                    fail(format!("{at}: nullable without a type"));
                }
                if map.contains_key("$ref") && map.len() > 1 {
                    fail(format!("{at}: keywords beside a $ref are ignored in OpenAPI 3.0"));
                }
                if map.contains_key("oneOf") && map.contains_key("type") {
                    fail(format!("{at}: a oneOf union that is also a {}", map["type"]));
                }
                if let Some(Value::Object(props)) = map.get("properties") {
                    for (name, property) in props {
                        let schema_keys = ["type", "$ref", "allOf", "oneOf", "anyOf", "enum"];
                        if !property.as_object().is_some_and(|p| schema_keys.iter().any(|k| p.contains_key(*k))) {
                            fail(format!("{at}.{name}: a property without a schema"));
                        }
                        if property["type"] == "integer" {
                            let format = property["format"].as_str().unwrap_or("none").to_owned();
                            formats.entry(name.clone()).or_default().insert(format);
                        }
                    }
                    if props.contains_key("next_cursor")
                        && !map
                            .get("required")
                            .and_then(Value::as_array)
                            .is_some_and(|r| r.iter().any(|n| n == "next_cursor"))
                    {
                        fail(format!("{at}: next_cursor is not required (every page carries it, null on the last)"));
                    }
                }
                for (key, inner) in map {
                    walk(inner, &format!("{at}/{key}"), fail, formats);
                }
            }
            Value::Array(items) => {
                items.iter().enumerate().for_each(|(i, v)| walk(v, &format!("{at}/{i}"), fail, formats))
            }
            _ => {}
        }
    }
    walk(spec, "", fail, &mut formats);
    for (name, found) in formats.into_iter().filter(|(_, f)| f.len() > 1) {
        fail(format!("integer field {name} has more than one format: {found:?}"));
    }
    for (name, _) in aftercare::api::spec_normalize::OPEN_ENUMS {
        let schema = &spec["components"]["schemas"][name];
        if schema.get("enum").is_some()
            && !schema["description"].as_str().is_some_and(|d| d.contains("Open for growth"))
        {
            fail(format!("enum {name} will grow but does not say what an old app does with a new value"));
        }
    }
}

#[tokio::test]
async fn served_spec_is_complete_for_every_operation() {
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    let response = app.client.get(app.url("/openapi.json")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let spec: Value = response.json().await.unwrap();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3."));
    let operations: usize = spec["paths"].as_object().unwrap().values().map(|i| i.as_object().unwrap().len()).sum();
    assert!(operations >= 21, "{operations}");

    let problems = contract_problems(&spec);
    assert!(problems.is_empty(), "the API document breaks {} rule(s):\n  {}", problems.len(), problems.join("\n  "));

    let yaml = app.client.get(app.url("/openapi.yaml")).send().await.unwrap().text().await.unwrap();
    assert_eq!(yaml.trim_end(), COMMITTED.trim_end(), "the served YAML is the committed one");
    let docs = app.client.get(app.url("/docs")).send().await.unwrap();
    assert_eq!(docs.status(), StatusCode::OK);
    let docs = docs.text().await.unwrap();
    assert!(docs.contains("swagger") && docs.contains("\"security\": []"), "the docs show the published document");
}

#[test]
fn the_rules_catch_what_they_are_for() {
    let spec = serde_json::json!({
        "openapi": "3.0.0",
        "tags": [{"name": "Journal", "description": "The journal."}],
        "security": [{"BearerAuth": []}],
        "paths": {"/v1/things/{thing_id}": {"post": {
            "operationId": "create_thing",
            "tags": ["Journal"],
            "summary": "Create",
            "parameters": [{"name": "thing_id", "in": "path", "required": true, "schema": {"type": "string"}}],
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}},
            "responses": {
                "201": {"description": "Created", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}},
                "422": {"description": "Rejected", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
            }
        }}},
        "components": {
            "securitySchemes": {"BearerAuth": {"type": "http", "scheme": "bearer", "description": "A token."}},
            "schemas": {"Thing": {"type": "object", "properties": {
                "size": {"type": "integer", "format": "uint8"},
                "kind": {"type": "string", "enum": ["a", "b"]}
            }}}
        }
    });
    let problems = contract_problems(&spec).join("\n");
    for expected in [
        "not camelCase",
        "no description",
        "security must be BearerAuth or []",
        "parameter thing_id needs a description",
        "has no example",
        "does not declare 400",
        "does not declare 404",
        "no X-Request-Id header",
        "no Location header",
        "the response Thing has no example",
        "422: no example problem with this status",
        "schema Thing: no description",
        "must reject unknown fields",
        "Thing.size: non-standard format uint8",
        "needs its range",
        "nullable",
    ] {
        assert!(problems.contains(expected), "expected a problem containing {expected:?} in:\n{problems}");
    }
}

#[test]
fn the_rules_catch_what_generators_trip_on() {
    let spec = serde_json::json!({
        "openapi": "3.1.0",
        "info": {"title": "T", "summary": "3.1 only", "version": "1"},
        "servers": [],
        "tags": [],
        "security": [{"BearerAuth": []}],
        "paths": {"/v1/things": {"get": {
            "operationId": "listThings",
            "responses": {"200": {"description": "ok", "content": {"application/json; charset=utf-8": {
                "schema": {"$ref": "#/components/schemas/ThingPage"}}}}}
        }}},
        "components": {"schemas": {
            "Tier": {"type": "string", "enum": ["a"], "description": "`a`."},
            "Union": {"type": "object", "description": "U.", "oneOf": [{"$ref": "#/components/schemas/Tier"}]},
            "ThingPage": {"type": "object", "description": "A page.", "properties": {
                "next_cursor": {"type": "string", "nullable": true, "description": "More."},
                "tier": {"allOf": [{"$ref": "#/components/schemas/Tier"}, {"description": "How urgent."}]},
                "lone": {"allOf": [{"$ref": "#/components/schemas/Tier"}], "description": "Alone."},
                "sibling": {"$ref": "#/components/schemas/Tier", "nullable": true},
                "current": {"nullable": true, "description": "Anything."},
                "pain": {"type": "integer", "format": "int32", "description": "Pain."},
                "inner": {"type": "object", "description": "In.", "properties": {
                    "pain": {"type": "integer", "format": "int64", "description": "Pain."}}}
            }}
        }}
    });
    let problems = contract_problems(&spec).join("\n");
    for expected in [
        "must declare OpenAPI 3.0.x",
        "info/summary is OpenAPI 3.1 only",
        "servers is empty",
        "has parameters",
        "properties/tier: an allOf wrapper around one $ref",
        "properties/lone: an allOf wrapper around one $ref",
        "properties/current: nullable without a type",
        "keywords beside a $ref",
        ".current: a property without a schema",
        "integer field pain has more than one format",
        "a oneOf union that is also a \"object\"",
        "next_cursor is not required",
    ] {
        assert!(problems.contains(expected), "expected a problem containing {expected:?} in:\n{problems}");
    }
    let mut open = spec.clone();
    open["components"]["schemas"]["NotificationKind"] =
        serde_json::json!({"type": "string", "enum": ["a"], "description": "`a`."});
    assert!(contract_problems(&open).join("\n").contains("enum NotificationKind will grow"));
}

#[tokio::test]
async fn a_method_a_path_does_not_have_is_405_with_allow() {
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    for (method, path, allow) in [
        (Method::PUT, "/v1/me", "GET, HEAD, PATCH, DELETE"),
        (Method::TRACE, "/healthz", "GET, HEAD"),
        (Method::PATCH, "/v1/journal/entries/0196f6b1-1d3c-7a4e-9b2a-5f1e2d3c4b5a", "GET, HEAD, PUT, DELETE"),
        // A literal segment is its own path, not a value of the parameter beside it.
        (Method::OPTIONS, "/v1/care/invites/lookup", "POST"),
        (Method::GET, "/v1/care/invites/redeem", "POST"),
        (Method::GET, "/v1/care/invites/0196f6b1-1d3c-7a4e-9b2a-5f1e2d3c4b5a", "DELETE"),
    ] {
        let response = app.request(method.clone(), path, None, None).await;
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        assert_eq!(response.headers()["allow"], allow, "{method} {path}");
        assert_eq!(response.headers()["content-type"], "application/problem+json");
    }
}

/// An instant as the service writes it: `2026-03-01T10:00:00.000000Z`.
fn has_six_fractional_digits(text: &str) -> bool {
    let bytes = text.as_bytes();
    text.len() == 27
        && text.ends_with('Z')
        && bytes[19] == b'.'
        && bytes[20..26].iter().all(u8::is_ascii_digit)
        && chrono::DateTime::parse_from_rfc3339(text).is_ok()
}

/// Checks every instant in `value`: the fields the document declares `date-time`, and any other
/// string that reads as one. Returns how many were checked; panics naming the first bad one.
fn check_instants(value: &Value, date_time: &BTreeSet<String>, at: &str) -> usize {
    fn walk(value: &Value, key: Option<&str>, date_time: &BTreeSet<String>, at: &str, checked: &mut usize) {
        match value {
            Value::String(text)
                if key.is_some_and(|k| date_time.contains(k)) || chrono::DateTime::parse_from_rfc3339(text).is_ok() =>
            {
                assert!(has_six_fractional_digits(text), "{at}: {} = {text:?}", key.unwrap_or("[]"));
                *checked += 1;
            }
            Value::Array(items) => items.iter().for_each(|item| walk(item, key, date_time, at, checked)),
            Value::Object(map) => map.iter().for_each(|(k, v)| walk(v, Some(k), date_time, at, checked)),
            _ => {}
        }
    }
    let mut checked = 0;
    walk(value, None, date_time, at, &mut checked);
    checked
}

// Every instant in every answer has one shape, whatever its value: whole seconds sent by a
// client and microseconds from the clock alike, in successes and in problems. The answers are
// real ones: a patient and her therapist with data of every kind, and every GET in the document.
on_both_backends! {
    async fn every_timestamp_in_an_answer_has_six_fractional_digits(app) {
        use chrono::TimeDelta;
        use serde_json::json;

        let spec: Value = app.client.get(app.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
        let date_time: BTreeSet<String> = {
            let mut names = BTreeSet::new();
            for schema in spec["components"]["schemas"].as_object().unwrap().values() {
                for (name, property) in schema["properties"].as_object().into_iter().flatten() {
                    if property["format"] == "date-time" || property["items"]["format"] == "date-time" {
                        names.insert(name.clone());
                    }
                }
            }
            names
        };
        assert!(date_time.contains("recorded_at") && date_time.contains("due_at"), "{date_time:?}");
        let mut checked = 0;

        let ana = app.named_patient("ana@example.org", "Ana").await;
        let tom = app.therapist("tom@example.org", "Tom").await;
        let grant = app.link(&ana, &tom, &["read_journal", "receive_alerts", "record_sessions", "manage_aftercare"]).await;
        checked += check_instants(&grant, &date_time, "POST /v1/care/invites/redeem");
        let invite = app.create_invite(&ana, json!({"scopes": ["read_journal"]})).await;
        checked += check_instants(&invite, &date_time, "POST /v1/care/invites");
        let browser = crate::push_receiver::PushReceiver::start().await.subscribe();
        let device = app.register_device(&ana.tokens, &browser).await;
        checked += check_instants(&device, &date_time, "POST /v1/push/subscriptions");

        // Whole seconds from the client come back with six zeros.
        let recorded_at = (app.clock_now() - TimeDelta::hours(1)).format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let entry_id = uuid::Uuid::new_v4();
        let entry = json!({"recorded_at": recorded_at, "pain": 4});
        let response = app.put_entry(ana.token(), entry_id, &entry).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value = response.json().await.unwrap();
        let fixed = recorded_at.replace('Z', ".000000Z");
        assert_eq!(body["recorded_at"], fixed.as_str());
        checked += check_instants(&body, &date_time, "PUT entry");
        // A stale write's problem carries the current copy, written the same way.
        let stale = json!({"recorded_at": recorded_at, "pain": 9, "base_version": 7});
        let response = app.put_entry(ana.token(), entry_id, &stale).await;
        assert_eq!(response.status(), StatusCode::CONFLICT);
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["current"]["entry"]["recorded_at"], fixed.as_str());
        checked += check_instants(&problem, &date_time, "PUT entry (409)");
        // A red flag opens an alert; its copy reaches the therapist.
        let flagged = json!({"recorded_at": (app.clock_now() - TimeDelta::minutes(30)).to_rfc3339(), "pain": 7, "symptoms": ["fever"]});
        assert_eq!(app.put_entry(ana.token(), uuid::Uuid::new_v4(), &flagged).await.status(), StatusCode::CREATED);
        let peg = json!({"kind": "peg", "pain": 6, "enjoyment": 5, "activity": 7});
        let response = app.post("/v1/questionnaires", Some(ana.token()), &peg).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let questionnaire: Value = response.json().await.unwrap();
        checked += check_instants(&questionnaire, &date_time, "POST /v1/questionnaires");
        let session = json!({"started_at": (app.clock_now() - TimeDelta::hours(3)).to_rfc3339(), "duration_minutes": 60, "kind": "deep_tissue"});
        let response = app.post("/v1/sessions", Some(ana.token()), &session).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let recorded: Value = response.json().await.unwrap();
        checked += check_instants(&recorded, &date_time, "POST /v1/sessions");
        let alerts: Value = app.json(ana.token(), "/v1/alerts").await;
        let alert_id = alerts["items"][0]["id"].as_str().expect("an alert").to_owned();
        let path = format!("/v1/patients/{}/alerts/{alert_id}/acknowledge", ana.id);
        let response = app.request(Method::POST, &path, Some(tom.token()), None).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        checked += check_instants(&response.json().await.unwrap(), &date_time, &path);
        let response = app.request(Method::POST, &format!("/v1/alerts/{alert_id}/acknowledge"), Some(ana.token()), None).await;
        assert_eq!(response.status(), StatusCode::OK);
        checked += check_instants(&response.json().await.unwrap(), &date_time, "POST /v1/alerts/{alert_id}/acknowledge");
        let response = app.password_grant("ana@example.org", crate::helpers::PASSWORD).await;
        assert_eq!(response.status(), StatusCode::OK);
        checked += check_instants(&response.json().await.unwrap(), &date_time, "POST /v1/auth/token");

        // A note from the therapist, answered, and a share link.
        let note = json!({"subject": {"kind": "entry", "id": entry_id}, "body": "How is the left side since Tuesday?"});
        let response = app.post(&format!("/v1/patients/{}/notes", ana.id), Some(tom.token()), &note).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let note: Value = response.json().await.unwrap();
        checked += check_instants(&note, &date_time, "POST /v1/patients/{patient_id}/notes");
        let note_id = note["id"].as_str().expect("a note id").to_owned();
        let reply = json!({"body": "Better, thank you."});
        let response = app.post(&format!("/v1/notes/{note_id}/replies"), Some(ana.token()), &reply).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        checked += check_instants(&response.json().await.unwrap(), &date_time, "POST /v1/notes/{note_id}/replies");
        let today = app.clock_now().date_naive();
        let link = json!({"from": today - chrono::Days::new(7), "to": today, "label": "Physio"});
        let response = app.post("/v1/me/share-links", Some(ana.token()), &link).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let link: Value = response.json().await.unwrap();
        checked += check_instants(&link, &date_time, "POST /v1/me/share-links");
        let link_id = link["link"]["id"].as_str().expect("a share link id").to_owned();

        // Every GET in the document, as the patient and as her therapist.
        let ids = [
            ("{note_id}", note_id.clone()),
            ("{link_id}", link_id.clone()),
            ("{patient_id}", ana.id.clone()),
            ("{entry_id}", entry_id.to_string()),
            ("{alert_id}", alert_id.clone()),
            ("{session_id}", recorded["session"]["id"].as_str().unwrap().to_owned()),
            ("{questionnaire_id}", questionnaire["id"].as_str().unwrap().to_owned()),
        ];
        let mut reached = 0;
        for (path, operations) in spec["paths"].as_object().unwrap() {
            if operations.get("get").is_none() {
                continue;
            }
            let concrete = ids.iter().fold(path.clone(), |p, (name, id)| p.replace(name, id));
            assert!(!concrete.contains('{'), "{path} has a parameter this test does not fill in");
            let callers: &[&crate::care::Who] = if path.starts_with("/v1/patients/") { &[&tom] } else { &[&ana, &tom] };
            for who in callers {
                let response = app.get(&concrete, who.token()).await;
                let status = response.status();
                if status == StatusCode::FORBIDDEN || status == StatusCode::NOT_FOUND {
                    continue; // not this role's operation
                }
                assert_eq!(status, StatusCode::OK, "GET {concrete}");
                let is_json = response.headers()["content-type"].to_str().unwrap().contains("json");
                if is_json {
                    let body: Value = response.json().await.unwrap();
                    checked += check_instants(&body, &date_time, &format!("GET {concrete}"));
                }
                reached += 1;
            }
        }
        assert!(reached >= 30, "only {reached} answers were read");
        assert!(checked >= 60, "only {checked} instants were checked");
    }
}
