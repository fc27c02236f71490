//! The last pass over the published document: it makes what poem-openapi writes read the same
//! way in every client generator a phone developer uses (openapi-generator for Kotlin, Swift,
//! Dart and TypeScript; openapi-python-client). It is generic on purpose, so a type added later
//! is normalised without anyone remembering to:
//!
//! - the document is OpenAPI 3.0.3 and holds nothing that only 3.1 knows (`info.summary` is
//!   folded into the description, `const` becomes a one-value `enum`, …);
//! - no empty `servers` list (generators read it as "no server" rather than "the same host");
//! - media types are keyed without parameters (`application/json`, not `…; charset=utf-8`);
//! - a property that only points at another schema is a plain `$ref`, or, when it may be
//!   `null`, the idiom `{nullable: true, allOf: [$ref]}`: never `allOf: [$ref, {description}]`,
//!   which generators read as an anonymous intersection (openapi-python-client refuses it);
//! - `nullable` comes with a `type` everywhere else, and every property has a schema;
//! - an integer whose declared range fits in 32 bits is `int32`, so the same field has the same
//!   type in read and write models;
//! - a `oneOf` root is only the union and its discriminator (no `type: object` beside it), so
//!   generators make sum types of it;
//! - every page carries `next_cursor` (required, `null` on the last page where it can end);
//! - enums that will grow say so, with what an old app should do with a value it does not know;
//! - timestamps in examples are written as the service writes them ([`super::timestamps`]).

use std::collections::BTreeSet;

use serde_yaml::{Mapping, Value};

/// The OpenAPI version the document declares; everything in it is valid for this version.
pub const OPENAPI_VERSION: &str = "3.0.3";

/// Enums that gain values as the service grows. A client must not fail on a value it does not
/// know: each generator is run with its unknown-value fallback where it has one, and the
/// description tells the rest what to do.
pub const OPEN_ENUMS: &[(&str, &str)] = &[
    ("NotificationKind", "show it as a generic notification, using its `title` and `body`"),
    ("AlertTier", "treat it as the most urgent tier you know, `emergency`"),
    ("AlertRule", "show the alert by its `tier` and `message`"),
    ("Symptom", "show the alert by its `tier` and `message`"),
];

const SCHEMA_PREFIX: &str = "#/components/schemas/";

/// Keywords that describe a schema without constraining it: an `allOf` member made only of these
/// adds nothing but an anonymous intersection.
const ANNOTATIONS: &[&str] = &["description", "title", "example", "default", "deprecated", "readOnly", "writeOnly"];

pub fn normalize(document: &mut Value) {
    openapi_30(document);
    drop_empty_servers(document);
    plain_media_types(document);
    walk_schemas(document, &mut |schema| {
        unwrap_single_refs(schema);
        schemaless_properties(schema);
        typed_nullables(schema);
        int32_when_it_fits(schema);
        bare_unions(schema);
    });
    one_page_shape(document);
    open_enums(document);
    timestamps_in_examples(document);
}

fn key(name: &str) -> Value {
    Value::String(name.to_owned())
}

fn openapi_30(document: &mut Value) {
    let Some(root) = document.as_mapping_mut() else { return };
    root.insert(key("openapi"), key(OPENAPI_VERSION));
    root.remove("webhooks");
    root.remove("jsonSchemaDialect");
    if let Some(info) = root.get_mut("info").and_then(Value::as_mapping_mut) {
        if let Some(summary) = info.remove("summary").and_then(|s| s.as_str().map(str::to_owned)) {
            let description = info.get("description").and_then(Value::as_str).unwrap_or_default();
            let folded = if description.is_empty() { summary } else { format!("{summary}.\n\n{description}") };
            info.insert(key("description"), Value::String(folded));
        }
        if let Some(license) = info.get_mut("license").and_then(Value::as_mapping_mut) {
            license.remove("identifier");
        }
    }
    walk_schemas(document, &mut |schema| {
        if let Some(value) = schema.remove("const") {
            schema.insert(key("enum"), Value::Sequence(vec![value]));
        }
        if let Some(Value::Sequence(examples)) = schema.remove("examples")
            && let Some(first) = examples.into_iter().next()
            && !schema.contains_key("example")
        {
            schema.insert(key("example"), first);
        }
    });
}

fn drop_empty_servers(document: &mut Value) {
    if let Some(root) = document.as_mapping_mut()
        && root.get("servers").and_then(Value::as_sequence).is_some_and(Vec::is_empty)
    {
        root.remove("servers");
    }
}

/// `content` maps keyed by media type: the parameters go, the first entry of a kind stays.
fn plain_media_types(value: &mut Value) {
    match value {
        Value::Mapping(map) => {
            if let Some(Value::Mapping(content)) = map.get_mut("content") {
                let mut plain = Mapping::new();
                for (media_type, media) in std::mem::take(content) {
                    let bare = media_type.as_str().map(|m| m.split(';').next().unwrap_or(m).trim().to_owned());
                    let name = bare.map(Value::String).unwrap_or(media_type);
                    if !plain.contains_key(&name) {
                        plain.insert(name, media);
                    }
                }
                *content = plain;
            }
            map.values_mut().for_each(plain_media_types);
        }
        Value::Sequence(items) => items.iter_mut().for_each(plain_media_types),
        _ => {}
    }
}

/// Every schema mapping in the document: components, and those inside operations, nested
/// however deep (properties, items, compositions, parameters, media types).
fn walk_schemas(document: &mut Value, visit: &mut dyn FnMut(&mut Mapping)) {
    fn schema(value: &mut Value, visit: &mut dyn FnMut(&mut Mapping)) {
        let Some(map) = value.as_mapping_mut() else { return };
        visit(map);
        if let Some(Value::Mapping(props)) = map.get_mut("properties") {
            props.values_mut().for_each(|p| schema(p, visit));
        }
        for single in ["items", "additionalProperties", "not"] {
            if let Some(inner) = map.get_mut(single) {
                schema(inner, visit);
            }
        }
        for many in ["allOf", "oneOf", "anyOf"] {
            if let Some(Value::Sequence(items)) = map.get_mut(many) {
                items.iter_mut().for_each(|i| schema(i, visit));
            }
        }
    }
    fn holder(value: &mut Value, visit: &mut dyn FnMut(&mut Mapping)) {
        match value {
            Value::Mapping(map) => {
                for (name, inner) in map.iter_mut() {
                    if name.as_str() == Some("schema") {
                        schema(inner, visit);
                    } else {
                        holder(inner, visit);
                    }
                }
            }
            Value::Sequence(items) => items.iter_mut().for_each(|i| holder(i, visit)),
            _ => {}
        }
    }
    if let Some(paths) = document.get_mut("paths") {
        holder(paths, visit);
    }
    if let Some(Value::Mapping(components)) = document.get_mut("components") {
        for (kind, group) in components.iter_mut() {
            match (kind.as_str(), group) {
                (Some("schemas"), Value::Mapping(schemas)) => schemas.values_mut().for_each(|s| schema(s, visit)),
                (_, group) => holder(group, visit),
            }
        }
    }
}

fn ref_name(value: &Value) -> Option<&str> {
    value.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix(SCHEMA_PREFIX))
}

/// `allOf: [$ref, {description}]` (and `allOf: [$ref]`) become a plain `$ref`, or the nullable
/// reference idiom; the annotations move onto the property itself.
fn unwrap_single_refs(schema: &mut Mapping) {
    let Some(Value::Mapping(props)) = schema.get_mut("properties") else { return };
    for property in props.values_mut() {
        let Some(map) = property.as_mapping_mut() else { continue };
        let Some(Value::Sequence(parts)) = map.get("allOf") else { continue };
        let (refs, rest): (Vec<&Value>, Vec<&Value>) = parts.iter().partition(|p| ref_name(p).is_some());
        let annotations_only = rest.iter().all(|p| {
            p.as_mapping().is_some_and(|m| m.keys().all(|k| k.as_str().is_some_and(|k| ANNOTATIONS.contains(&k))))
        });
        let [reference] = refs.as_slice() else { continue };
        if !annotations_only {
            continue;
        }
        let reference = (*reference).clone();
        let mut annotations = Mapping::new();
        for part in rest.iter().filter_map(|p| p.as_mapping()) {
            annotations.extend(part.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        map.remove("allOf");
        annotations.extend(std::mem::take(map));
        let nullable = annotations.get("nullable") == Some(&Value::Bool(true));
        *property = if nullable {
            let mut typed = Mapping::new();
            typed.insert(key("nullable"), Value::Bool(true));
            typed.insert(key("allOf"), Value::Sequence(vec![reference]));
            annotations.remove("type");
            annotations.remove("nullable");
            typed.extend(annotations);
            Value::Mapping(typed)
        } else {
            // Beside a `$ref`, OpenAPI 3.0 ignores everything: the target's own description stands.
            reference
        };
    }
}

/// A property with no schema at all (poem-openapi's `serde_json::Value`) is any JSON object.
fn schemaless_properties(schema: &mut Mapping) {
    let Some(Value::Mapping(props)) = schema.get_mut("properties") else { return };
    for property in props.values_mut().filter_map(Value::as_mapping_mut) {
        let typed =
            ["type", "$ref", "allOf", "oneOf", "anyOf", "enum", "not"].iter().any(|k| property.contains_key(*k));
        if !typed {
            property.insert(key("type"), key("object"));
        }
    }
}

/// `nullable` comes with a `type`, except in the nullable-reference idiom
/// `{nullable: true, allOf: [$ref]}`: 3.0.3 says `nullable` needs a `type` beside it, but every
/// generator reads the idiom as "this schema or `null`", and openapi-python-client stops
/// reading `nullable` as soon as a `type` stands beside the `allOf`.
fn typed_nullables(schema: &mut Mapping) {
    if schema.get("nullable") != Some(&Value::Bool(true)) || schema.contains_key("type") {
        return;
    }
    if let Some(reference) = schema.remove("$ref") {
        // Siblings of `$ref` are ignored, `nullable` included: say it the 3.0 way.
        let mut reference_only = Mapping::new();
        reference_only.insert(key("$ref"), reference);
        schema.insert(key("allOf"), Value::Sequence(vec![Value::Mapping(reference_only)]));
    }
    if !is_nullable_reference(schema) {
        schema.insert(key("type"), key("object"));
    }
}

/// `{nullable: true, allOf: [$ref]}`, the one shape a nullable schema may have without a `type`.
pub fn is_nullable_reference(schema: &Mapping) -> bool {
    schema.get("nullable") == Some(&Value::Bool(true))
        && schema.get("allOf").and_then(Value::as_sequence).is_some_and(|parts| {
            matches!(parts.as_slice(), [only] if only.as_mapping().is_some_and(|m| m.len() == 1 && ref_name(only).is_some()))
        })
}

fn int32_when_it_fits(schema: &mut Mapping) {
    if schema.get("type").and_then(Value::as_str) != Some("integer") {
        return;
    }
    let bound = |name: &str| schema.get(name).and_then(Value::as_f64);
    let fits = matches!((bound("minimum"), bound("maximum")),
        (Some(min), Some(max)) if min >= f64::from(i32::MIN) && max <= f64::from(i32::MAX));
    if fits {
        schema.insert(key("format"), key("int32"));
    }
}

/// A `oneOf` root is the union and its discriminator only.
fn bare_unions(schema: &mut Mapping) {
    if schema.contains_key("oneOf") && schema.get("type").and_then(Value::as_str) == Some("object") {
        schema.remove("type");
    }
}

/// Every page answers `next_cursor`, so all list clients read it the same way.
fn one_page_shape(document: &mut Value) {
    walk_schemas(document, &mut |schema| {
        let has_cursor = schema.get("properties").and_then(|p| p.get("next_cursor")).is_some();
        if !has_cursor {
            return;
        }
        let required = schema.entry(key("required")).or_insert_with(|| Value::Sequence(vec![]));
        if let Value::Sequence(names) = required
            && !names.iter().any(|n| n.as_str() == Some("next_cursor"))
        {
            names.push(key("next_cursor"));
        }
    });
}

fn open_enums(document: &mut Value) {
    let Some(schemas) =
        document.get_mut("components").and_then(|c| c.get_mut("schemas")).and_then(Value::as_mapping_mut)
    else {
        return;
    };
    for (name, fallback) in OPEN_ENUMS {
        let Some(schema) = schemas.get_mut(*name).and_then(Value::as_mapping_mut) else { continue };
        if !schema.contains_key("enum") {
            continue;
        }
        let description = schema.get("description").and_then(Value::as_str).unwrap_or_default().trim_end().to_owned();
        let guidance = format!(
            "Open for growth: new values are added without a new API version. An app must not fail on a value \
             it does not know; for one, {fallback}. Generated clients map it to their unknown-value fallback \
             (`unknown_default_open_api` in openapi-generator clients)."
        );
        if !description.contains("Open for growth") {
            let joined = if description.is_empty() { guidance } else { format!("{description}\n\n{guidance}") };
            schema.insert(key("description"), Value::String(joined));
        }
    }
}

/// Examples show instants the way answers carry them.
fn timestamps_in_examples(document: &mut Value) {
    let fields = date_time_fields(document);
    fn walk(value: &mut Value, fields: &BTreeSet<String>) {
        match value {
            Value::Mapping(map) => {
                for (name, inner) in map.iter_mut() {
                    if name.as_str() == Some("example")
                        && let Ok(mut json) = serde_json::to_value(&*inner)
                        && fix(&mut json, fields)
                        && let Ok(fixed) = serde_yaml::to_value(json)
                    {
                        *inner = fixed;
                    } else {
                        walk(inner, fields);
                    }
                }
            }
            Value::Sequence(items) => items.iter_mut().for_each(|v| walk(v, fields)),
            _ => {}
        }
    }
    walk(document, &fields);
}

/// The names of the properties the document declares as `date-time`.
fn date_time_fields(document: &serde_yaml::Value) -> BTreeSet<String> {
    fn walk(value: &serde_yaml::Value, into: &mut BTreeSet<String>) {
        match value {
            serde_yaml::Value::Mapping(map) => {
                if let Some(props) = map.get("properties").and_then(serde_yaml::Value::as_mapping) {
                    for (name, property) in props {
                        let format = property.get("format").and_then(serde_yaml::Value::as_str);
                        let items_format =
                            property.get("items").and_then(|i| i.get("format")).and_then(serde_yaml::Value::as_str);
                        if (format == Some("date-time") || items_format == Some("date-time"))
                            && let Some(name) = name.as_str()
                        {
                            into.insert(name.to_owned());
                        }
                    }
                }
                map.values().for_each(|v| walk(v, into));
            }
            serde_yaml::Value::Sequence(items) => items.iter().for_each(|v| walk(v, into)),
            _ => {}
        }
    }
    let mut fields = BTreeSet::new();
    walk(document, &mut fields);
    fields
}

/// Rewrites the timestamps under `fields` in `value`; true when anything changed.
fn fix(value: &mut serde_json::Value, fields: &BTreeSet<String>) -> bool {
    fn one(value: &mut serde_json::Value) -> bool {
        let serde_json::Value::String(text) = value else { return false };
        let Ok(at) = chrono::DateTime::parse_from_rfc3339(text) else { return false };
        let fixed = super::timestamps::format(at.to_utc());
        let changed = *text != fixed;
        *text = fixed;
        changed
    }
    match value {
        serde_json::Value::Object(map) => {
            let mut changed = false;
            for (name, inner) in map.iter_mut() {
                if fields.contains(name) {
                    changed |= match &mut *inner {
                        serde_json::Value::Array(items) => items.iter_mut().fold(false, |c, item| one(item) | c),
                        other => one(other),
                    };
                }
                changed |= fix(inner, fields);
            }
            changed
        }
        serde_json::Value::Array(items) => items.iter_mut().fold(false, |changed, item| fix(item, fields) | changed),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normalized(yaml: &str) -> Value {
        let mut document: Value = serde_yaml::from_str(yaml).unwrap();
        normalize(&mut document);
        document
    }

    fn yaml(text: &str) -> Value {
        serde_yaml::from_str(text).unwrap()
    }

    #[test]
    fn the_document_holds_only_what_openapi_3_0_knows() {
        let doc = normalized(
            "openapi: 3.0.0\ninfo: {title: T, summary: Short, description: Long., version: '1', license: {name: MIT, identifier: MIT}}\n\
             servers: []\njsonSchemaDialect: x\nwebhooks: {}\npaths: {}\n\
             components: {schemas: {Kind: {type: string, const: a, examples: [a]}}}\n",
        );
        assert_eq!(doc["openapi"], "3.0.3");
        assert!(doc["info"].get("summary").is_none());
        assert_eq!(doc["info"]["description"], "Short.\n\nLong.");
        assert!(doc["info"]["license"].get("identifier").is_none());
        for gone in ["servers", "jsonSchemaDialect", "webhooks"] {
            assert!(doc.get(gone).is_none(), "{gone}");
        }
        let kind = &doc["components"]["schemas"]["Kind"];
        assert_eq!(kind["enum"], yaml("[a]"));
        assert_eq!(kind["example"], "a");
        assert!(kind.get("const").is_none() && kind.get("examples").is_none());
    }

    #[test]
    fn servers_that_name_a_host_stay() {
        let doc = normalized("openapi: 3.0.0\ninfo: {title: T, version: '1'}\nservers: [{url: /}]\npaths: {}\n");
        assert_eq!(doc["servers"][0]["url"], "/");
    }

    #[test]
    fn media_types_lose_their_parameters() {
        let doc = normalized(
            "paths: {/a: {get: {responses: {'200': {description: ok, content: {\
             'application/json; charset=utf-8': {schema: {type: string}}}}}}}}\n",
        );
        let content = &doc["paths"]["/a"]["get"]["responses"]["200"]["content"];
        assert_eq!(content.as_mapping().unwrap().len(), 1);
        assert_eq!(content["application/json"]["schema"]["type"], "string");
    }

    const WRAPPERS: &str = r#"
components:
  schemas:
    Tier: {type: string, enum: [a, b], description: The tier.}
    Party: {type: object, description: Someone., properties: {name: {type: string}}}
    Holder:
      type: object
      required: [tier]
      properties:
        tier:
          allOf:
          - $ref: '#/components/schemas/Tier'
          - description: How urgent.
        party:
          allOf:
          - $ref: '#/components/schemas/Party'
          - description: Who.
          nullable: true
        maybe_tier:
          $ref: '#/components/schemas/Tier'
          nullable: true
        current:
          description: Anything.
          nullable: true
        count: {type: integer, format: int64, minimum: 0, maximum: 10}
        big: {type: integer, format: int64, minimum: 0}
        next_cursor: {type: string, nullable: true}
        due_at: {type: string, format: date-time}
      example: {due_at: '2026-03-01T10:00:00Z', tier: a}
"#;

    #[test]
    fn examples_write_timestamps_as_answers_do() {
        let doc = normalized(WRAPPERS);
        let example = &doc["components"]["schemas"]["Holder"]["example"];
        assert_eq!(example["due_at"], "2026-03-01T10:00:00.000000Z");
        assert_eq!(example["tier"], "a");
    }

    #[test]
    fn a_reference_is_plain_or_a_typed_nullable_reference() {
        let doc = normalized(WRAPPERS);
        let props = &doc["components"]["schemas"]["Holder"]["properties"];
        assert_eq!(props["tier"], yaml("$ref: '#/components/schemas/Tier'"));
        assert_eq!(
            props["party"],
            yaml("{nullable: true, allOf: [{$ref: '#/components/schemas/Party'}], description: Who.}")
        );
        assert_eq!(props["maybe_tier"], yaml("{nullable: true, allOf: [{$ref: '#/components/schemas/Tier'}]}"));
    }

    #[test]
    fn nullable_properties_have_a_type_and_every_property_a_schema() {
        let doc = normalized(WRAPPERS);
        let current = &doc["components"]["schemas"]["Holder"]["properties"]["current"];
        assert_eq!(current["type"], "object");
        assert_eq!(current["nullable"], Value::Bool(true));
    }

    #[test]
    fn integers_that_fit_in_32_bits_are_int32_and_the_rest_stay() {
        let doc = normalized(WRAPPERS);
        let props = &doc["components"]["schemas"]["Holder"]["properties"];
        assert_eq!(props["count"]["format"], "int32");
        assert_eq!(props["big"]["format"], "int64");
    }

    #[test]
    fn a_page_always_carries_next_cursor() {
        let doc = normalized(WRAPPERS);
        let required = &doc["components"]["schemas"]["Holder"]["required"];
        assert_eq!(required, &yaml("[tier, next_cursor]"));
        assert_eq!(doc["components"]["schemas"]["Holder"]["properties"]["next_cursor"]["nullable"], Value::Bool(true));
    }

    #[test]
    fn a_union_root_is_only_the_union() {
        let doc = normalized(
            "components: {schemas: {U: {type: object, description: U., oneOf: [{$ref: '#/components/schemas/A'}], \
             discriminator: {propertyName: kind}}, A: {type: object, properties: {kind: {type: string}}}}}\n",
        );
        let union = &doc["components"]["schemas"]["U"];
        assert!(union.get("type").is_none());
        assert!(union["oneOf"].is_sequence() && union["discriminator"].is_mapping());
    }

    #[test]
    fn growing_enums_say_what_an_old_app_does_with_a_new_value() {
        let doc = normalized(
            "components: {schemas: {NotificationKind: {type: string, enum: [a], description: 'What it is: `a`.'}, \
             Closed: {type: string, enum: [x], description: '`x`.'}}}\n",
        );
        let kind = &doc["components"]["schemas"]["NotificationKind"];
        let description = kind["description"].as_str().unwrap();
        assert!(description.starts_with("What it is: `a`.") && description.contains("Open for growth"));
        assert!(description.contains("generic notification"));
        // Normalising twice changes nothing.
        let mut again = doc.clone();
        normalize(&mut again);
        assert_eq!(again, doc);
        assert!(!doc["components"]["schemas"]["Closed"]["description"].as_str().unwrap().contains("Open for growth"));
    }

    fn fields() -> BTreeSet<String> {
        ["recorded_at", "due_at", "sent"].into_iter().map(str::to_owned).collect()
    }

    #[test]
    fn example_timestamps_get_six_fractional_digits_in_utc() {
        let mut value = serde_json::json!({
            "recorded_at": "2026-03-01T10:00:00Z",
            "items": [{"due_at": "2026-03-01T10:00:00.5+01:00"}, {"due_at": "2026-03-01T10:00:00.123456789Z"}],
            "sent": ["2026-03-01T10:00:00.000001Z"],
        });
        assert!(fix(&mut value, &fields()));
        assert_eq!(value["recorded_at"], "2026-03-01T10:00:00.000000Z");
        assert_eq!(value["items"][0]["due_at"], "2026-03-01T09:00:00.500000Z");
        assert_eq!(value["items"][1]["due_at"], "2026-03-01T10:00:00.123456Z");
        assert_eq!(value["sent"][0], "2026-03-01T10:00:00.000001Z");
        assert!(!fix(&mut value, &fields()), "a fixed answer stays as it is");
    }

    #[test]
    fn other_example_fields_and_values_that_are_not_timestamps_stay() {
        let mut value = serde_json::json!({
            "notes": "2026-03-01T10:00:00Z",
            "recorded_at": "yesterday",
            "due_at": null,
            "local_date": "2026-03-01",
        });
        let before = value.clone();
        assert!(!fix(&mut value, &fields()));
        assert_eq!(value, before);
    }

    #[test]
    fn the_date_time_fields_are_read_from_the_document() {
        let document: serde_yaml::Value = serde_yaml::from_str(
            "components: {schemas: {A: {properties: {at: {type: string, format: date-time}, \
             day: {type: string, format: date}, times: {type: array, items: {type: string, format: date-time}}}}}}",
        )
        .unwrap();
        let found: Vec<String> = date_time_fields(&document).into_iter().collect();
        assert_eq!(found, ["at", "times"]);
    }
}
