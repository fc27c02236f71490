//! The published OpenAPI document: what poem-openapi generates from the code, finished with what
//! it cannot say by itself, so generated clients and contract tests see the API as it behaves:
//!
//! - a success answered with a bare `Json<T>` is described by its schema's description;
//! - security is explicit on every operation: `BearerAuth` by default (top level), `[]` on the
//!   operations listed in [`PUBLIC_OPERATIONS`];
//! - request bodies are closed (`additionalProperties: false`), because unknown fields are
//!   rejected; the variants of a tagged union are folded into one object each so that closing
//!   them does not forbid their own tag;
//! - tagged unions are `oneOf` (exactly one variant matches; their tags differ);
//! - optional properties without a default are `nullable`: the service writes `null` for an
//!   absent value and reads `null` as absent;
//! - formats are the standard ones: `date` rather than `naive-date`, `int32`/`int64` with a
//!   minimum of 0 rather than `uint8` … `uint64`.

use std::collections::{BTreeMap, BTreeSet};

use serde_yaml::{Mapping, Value};

/// Operations anyone may call without a token. Every other operation requires `BearerAuth`.
pub const PUBLIC_OPERATIONS: &[&str] = &["getHealth", "getReadiness", "register", "createToken", "getVapidPublicKey"];

const SCHEMA_PREFIX: &str = "#/components/schemas/";
const METHODS: &[&str] = &["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// The finished document, in both encodings.
#[derive(Debug, Clone)]
pub struct Published {
    pub document: Value,
    pub json: String,
    pub yaml: String,
}

impl Published {
    pub fn new() -> Self {
        let document = document();
        Self {
            json: serde_json::to_string_pretty(&document).expect("the document is JSON"),
            yaml: serde_yaml::to_string(&document).expect("the document is YAML"),
            document,
        }
    }
}

impl Default for Published {
    fn default() -> Self {
        Self::new()
    }
}

/// The finished document.
pub fn document() -> Value {
    let generated = super::openapi().spec_yaml();
    let mut document: Value = serde_yaml::from_str(&generated).expect("poem-openapi writes valid YAML");
    finish(&mut document);
    document
}

fn finish(document: &mut Value) {
    describe_bare_responses(document);
    problem_examples(document);
    mark_security(document);
    fold_union_variants(document);
    close_request_schemas(document);
    require_a_field(document);
    nullable_optionals(document);
    standard_formats(document);
    super::spec_normalize::normalize(document);
}

fn key(name: &str) -> Value {
    Value::String(name.to_owned())
}

fn mapping_mut<'a>(value: &'a mut Value, name: &str) -> Option<&'a mut Mapping> {
    value.get_mut(name).and_then(Value::as_mapping_mut)
}

fn operations_mut(document: &mut Value) -> impl Iterator<Item = &mut Mapping> {
    mapping_mut(document, "paths").into_iter().flat_map(|paths| {
        paths.values_mut().filter_map(Value::as_mapping_mut).flat_map(|item| {
            item.iter_mut()
                .filter(|(method, _)| method.as_str().is_some_and(|m| METHODS.contains(&m)))
                .filter_map(|(_, operation)| operation.as_mapping_mut())
        })
    })
}

/// Bearer by default; `security: []` where anyone may call. An operation that poem-openapi
/// generated without security and that is not listed stays without, so a test can point at it.
fn mark_security(document: &mut Value) {
    let bearer = || {
        let mut requirement = Mapping::new();
        requirement.insert(key("BearerAuth"), Value::Sequence(vec![]));
        Value::Sequence(vec![Value::Mapping(requirement)])
    };
    for operation in operations_mut(document) {
        let public =
            operation.get("operationId").and_then(Value::as_str).is_some_and(|id| PUBLIC_OPERATIONS.contains(&id));
        if public {
            operation.insert(key("security"), Value::Sequence(vec![]));
        }
    }
    if let Some(root) = document.as_mapping_mut() {
        // After `components`, where readers look for what `BearerAuth` is.
        root.insert(key("security"), bearer());
    }
}

/// poem-openapi leaves the description of a bare `Json<T>` answer empty; the schema says what it is.
fn describe_bare_responses(document: &mut Value) {
    let descriptions: BTreeMap<String, Value> = document
        .get("components")
        .and_then(|c| c.get("schemas"))
        .and_then(Value::as_mapping)
        .into_iter()
        .flatten()
        .filter_map(|(name, schema)| Some((name.as_str()?.to_owned(), schema.get("description")?.clone())))
        .collect();
    for operation in operations_mut(document) {
        let Some(responses) = operation.get_mut("responses").and_then(Value::as_mapping_mut) else { continue };
        for response in responses.values_mut().filter_map(Value::as_mapping_mut) {
            if response.get("description").and_then(Value::as_str).is_some_and(|d| !d.trim().is_empty()) {
                continue;
            }
            let mut refs = Vec::new();
            if let Some(content) = response.get("content") {
                collect_refs(content, &mut refs);
            }
            if let Some(description) = refs.first().and_then(|name| descriptions.get(*name)) {
                response.insert(key("description"), description.clone());
            }
        }
    }
}

/// Each error response shows the problem it typically carries, so a client sees the `code` and
/// fields of a 401 or a 429 without provoking one.
fn problem_examples(document: &mut Value) {
    for operation in operations_mut(document) {
        let Some(responses) = operation.get_mut("responses").and_then(Value::as_mapping_mut) else { continue };
        for (status, response) in responses.iter_mut() {
            let Some(status) = status.as_str().and_then(|s| s.parse::<u16>().ok()) else { continue };
            let Some(media) = response
                .get_mut("content")
                .and_then(|c| c.get_mut(super::error::PROBLEM_JSON))
                .and_then(Value::as_mapping_mut)
            else {
                continue;
            };
            let example = serde_yaml::to_value(super::error::example_problem(status)).expect("a problem serialises");
            media.insert(key("example"), example);
        }
    }
}

fn schemas_mut(document: &mut Value) -> Option<&mut Mapping> {
    mapping_mut(document, "components").and_then(|c| c.get_mut("schemas")).and_then(Value::as_mapping_mut)
}

fn ref_name(value: &Value) -> Option<&str> {
    value.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix(SCHEMA_PREFIX))
}

/// Every `$ref` to a component schema in `value`, with repetitions.
fn collect_refs<'a>(value: &'a Value, into: &mut Vec<&'a str>) {
    match value {
        Value::Mapping(map) => {
            if let Some(name) = ref_name(value) {
                into.push(name);
            }
            for item in map.values() {
                collect_refs(item, into);
            }
        }
        Value::Sequence(items) => items.iter().for_each(|item| collect_refs(item, into)),
        _ => {}
    }
}

fn rewrite_refs(value: &mut Value, from: &str, to: &str) {
    let (from, to) = (format!("{SCHEMA_PREFIX}{from}"), format!("{SCHEMA_PREFIX}{to}"));
    fn walk(value: &mut Value, from: &str, to: &str) {
        match value {
            Value::String(s) if s == from => *s = to.to_owned(),
            Value::Mapping(map) => map.values_mut().for_each(|v| walk(v, from, to)),
            Value::Sequence(items) => items.iter_mut().for_each(|v| walk(v, from, to)),
            _ => {}
        }
    }
    walk(value, &from, &to);
}

/// poem-openapi writes each variant of a tagged union as `allOf: [{the tag}, {$ref: Variant}]`.
/// That cannot be closed (the variant's own schema would forbid the tag), so each becomes one
/// object: the tag's property first, then the variant's. The folded schema takes the variant's
/// name when nothing else uses the variant on its own, and the wrapper's otherwise.
fn fold_union_variants(document: &mut Value) {
    let Some(schemas) = schemas_mut(document) else { return };
    let unions: Vec<(String, Vec<String>)> = schemas
        .iter()
        .filter(|(_, schema)| schema.get("discriminator").is_some())
        .filter_map(|(name, schema)| {
            let variants = schema.get("anyOf").or_else(|| schema.get("oneOf"))?.as_sequence()?;
            let names = variants.iter().filter_map(ref_name).map(str::to_owned).collect();
            Some((name.as_str()?.to_owned(), names))
        })
        .collect();
    for (union, _) in &unions {
        if let Some(schema) = schemas.get_mut(union.as_str()).and_then(Value::as_mapping_mut)
            && let Some(variants) = schema.remove("anyOf")
        {
            schema.insert(key("oneOf"), variants);
        }
    }
    for (_, wrappers) in unions {
        for wrapper in wrappers {
            fold_variant(document, &wrapper);
        }
    }
}

fn fold_variant(document: &mut Value, wrapper: &str) {
    let Some(schemas) = schemas_mut(document) else { return };
    let Some(parts) = schemas.get(wrapper).and_then(|s| s.get("allOf")).and_then(Value::as_sequence).cloned() else {
        return;
    };
    let [Value::Mapping(tag), inner] = parts.as_slice() else { return };
    let Some(inner_name) = ref_name(inner).map(str::to_owned) else { return };
    let Some(Value::Mapping(variant)) = schemas.get(inner_name.as_str()).cloned() else { return };

    let mut folded = Mapping::new();
    folded.insert(key("type"), key("object"));
    for field in ["title", "description"] {
        if let Some(value) = variant.get(field) {
            folded.insert(key(field), value.clone());
        }
    }
    let mut required = Vec::new();
    let mut properties = Mapping::new();
    for part in [tag, &variant] {
        required.extend(part.get("required").and_then(Value::as_sequence).cloned().unwrap_or_default());
        if let Some(props) = part.get("properties").and_then(Value::as_mapping) {
            properties.extend(props.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
    }
    folded.insert(key("required"), Value::Sequence(required));
    folded.insert(key("properties"), Value::Mapping(properties));
    if let (Some(Value::Mapping(example)), Some(tag_name), Some(tag_value)) =
        (variant.get("example"), tag.get("required").and_then(|r| r.get(0)), tag_example(tag))
    {
        let mut example_with_tag = Mapping::new();
        example_with_tag.insert(tag_name.clone(), tag_value);
        example_with_tag.extend(example.iter().map(|(k, v)| (k.clone(), v.clone())));
        folded.insert(key("example"), Value::Mapping(example_with_tag));
    }

    let mut refs = Vec::new();
    collect_refs(document, &mut refs);
    let used_alone = refs.iter().filter(|name| **name == inner_name).count() > 1;
    let Some(schemas) = schemas_mut(document) else { return };
    if used_alone {
        schemas.insert(key(wrapper), Value::Mapping(folded));
    } else {
        schemas.remove(wrapper);
        schemas.insert(key(&inner_name), Value::Mapping(folded));
        rewrite_refs(document, wrapper, &inner_name);
    }
}

fn tag_example(tag: &Mapping) -> Option<Value> {
    let name = tag.get("required")?.get(0)?.as_str()?;
    let property = tag.get("properties")?.get(name)?;
    property.get("enum")?.get(0).cloned()
}

/// Closes every object schema a request body can reach: the service rejects unknown fields.
/// Request schemas whose fields are all optional but that must name at least one of them.
const AT_LEAST_ONE_FIELD: &[&str] = &["CareGrantUpdate"];

fn require_a_field(document: &mut Value) {
    let Some(schemas) = schemas_mut(document) else { return };
    for name in AT_LEAST_ONE_FIELD {
        if let Some(schema) = schemas.get_mut(*name).and_then(Value::as_mapping_mut) {
            schema.insert(key("minProperties"), Value::Number(1.into()));
        }
    }
}

fn close_request_schemas(document: &mut Value) {
    let mut roots = Vec::new();
    if let Some(paths) = document.get("paths").and_then(Value::as_mapping) {
        for item in paths.values().filter_map(Value::as_mapping) {
            for operation in item.values() {
                if let Some(body) = operation.get("requestBody") {
                    collect_refs(body, &mut roots);
                }
            }
        }
    }
    let roots: Vec<String> = roots.into_iter().map(str::to_owned).collect();
    let Some(schemas) = schemas_mut(document) else { return };
    let mut seen = BTreeSet::new();
    let mut queue = roots;
    while let Some(name) = queue.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        if let Some(schema) = schemas.get(name.as_str()) {
            let mut refs = Vec::new();
            collect_refs(schema, &mut refs);
            queue.extend(refs.into_iter().map(str::to_owned));
        }
    }
    for name in seen {
        if let Some(schema) = schemas.get_mut(name.as_str()).and_then(Value::as_mapping_mut) {
            close_objects(schema);
        }
    }
}

/// Closes an object schema and the inline object schemas in its properties and items.
fn close_objects(schema: &mut Mapping) {
    if schema.get("properties").is_some() && schema.get("additionalProperties").is_none() {
        schema.insert(key("additionalProperties"), Value::Bool(false));
    }
    for nested in ["properties"] {
        if let Some(props) = schema.get_mut(nested).and_then(Value::as_mapping_mut) {
            for property in props.values_mut().filter_map(Value::as_mapping_mut) {
                close_objects(property);
            }
        }
    }
    if let Some(items) = schema.get_mut("items").and_then(Value::as_mapping_mut) {
        close_objects(items);
    }
}

/// Marks optional properties without a default `nullable`, in every object schema.
fn nullable_optionals(document: &mut Value) {
    fn walk(value: &mut Value) {
        match value {
            Value::Mapping(map) => {
                let required: BTreeSet<String> = map
                    .get("required")
                    .and_then(Value::as_sequence)
                    .map(|r| r.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                    .unwrap_or_default();
                if let Some(props) = map.get_mut("properties").and_then(Value::as_mapping_mut) {
                    for (name, property) in props.iter_mut() {
                        let optional = name.as_str().is_some_and(|n| !required.contains(n));
                        if let Some(property) = property.as_mapping_mut()
                            && optional
                            && property.get("default").is_none()
                        {
                            property.insert(key("nullable"), Value::Bool(true));
                        }
                    }
                }
                map.values_mut().for_each(walk);
            }
            Value::Sequence(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    if let Some(schemas) = schemas_mut(document) {
        schemas.values_mut().for_each(walk);
    }
}

/// Replaces poem-openapi's own formats with standard ones.
fn standard_formats(document: &mut Value) {
    let unsigned: BTreeMap<&str, &str> =
        [("uint8", "int32"), ("uint16", "int32"), ("uint32", "int64"), ("uint64", "int64")].into();
    fn walk(value: &mut Value, unsigned: &BTreeMap<&str, &str>) {
        match value {
            Value::Mapping(map) => {
                let format = map.get("format").and_then(Value::as_str).map(str::to_owned);
                match format.as_deref() {
                    Some("naive-date") => {
                        map.insert(key("format"), key("date"));
                    }
                    Some("naive-time") => {
                        map.insert(key("format"), key("time"));
                    }
                    Some(f) if unsigned.contains_key(f) => {
                        map.insert(key("format"), key(unsigned[f]));
                        if map.get("minimum").is_none() {
                            map.insert(key("minimum"), Value::Number(0.into()));
                        }
                    }
                    _ => {}
                }
                map.values_mut().for_each(|v| walk(v, unsigned));
            }
            Value::Sequence(items) => items.iter_mut().for_each(|v| walk(v, unsigned)),
            _ => {}
        }
    }
    walk(document, &unsigned);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finished(yaml: &str) -> Value {
        let mut document: Value = serde_yaml::from_str(yaml).unwrap();
        finish(&mut document);
        document
    }

    const UNION: &str = r#"
paths:
  /token:
    post:
      operationId: createToken
      requestBody:
        content:
          application/json:
            schema:
              $ref: '#/components/schemas/TokenRequest'
      responses: {}
  /me:
    get:
      operationId: getProfile
      security:
      - BearerAuth: []
      responses: {}
components:
  schemas:
    TokenRequest:
      type: object
      anyOf:
      - $ref: '#/components/schemas/TokenRequest_PasswordGrant'
      discriminator:
        propertyName: grant_type
        mapping:
          password: '#/components/schemas/TokenRequest_PasswordGrant'
    TokenRequest_PasswordGrant:
      allOf:
      - type: object
        required: [grant_type]
        properties:
          grant_type: {type: string, enum: [password]}
      - $ref: '#/components/schemas/PasswordGrant'
    PasswordGrant:
      type: object
      description: Sign in.
      required: [email]
      properties:
        email: {type: string}
        quiet: {type: object, properties: {start: {type: string}}}
        age: {type: integer, format: uint8}
      example: {email: a@example.org}
"#;

    #[test]
    fn union_variants_fold_into_closed_objects_named_after_the_variant() {
        let doc = finished(UNION);
        let schemas = &doc["components"]["schemas"];
        assert!(schemas.get("TokenRequest_PasswordGrant").is_none());
        assert_eq!(schemas["TokenRequest"]["oneOf"][0]["$ref"], "#/components/schemas/PasswordGrant");
        assert_eq!(
            schemas["TokenRequest"]["discriminator"]["mapping"]["password"],
            "#/components/schemas/PasswordGrant"
        );
        let grant = &schemas["PasswordGrant"];
        assert_eq!(grant["required"], serde_yaml::from_str::<Value>("[grant_type, email]").unwrap());
        assert_eq!(grant["additionalProperties"], Value::Bool(false));
        assert_eq!(grant["properties"]["quiet"]["additionalProperties"], Value::Bool(false));
        assert_eq!(grant["description"], "Sign in.");
        assert_eq!(grant["example"]["grant_type"], "password");
        assert_eq!(grant["properties"]["age"]["format"], "int32");
        assert_eq!(grant["properties"]["age"]["minimum"], Value::Number(0.into()));
        assert_eq!(grant["properties"]["age"]["nullable"], Value::Bool(true));
        assert!(grant["properties"]["email"].get("nullable").is_none());
    }

    #[test]
    fn security_is_explicit_on_public_operations_and_bearer_by_default() {
        let doc = finished(UNION);
        assert_eq!(doc["paths"]["/token"]["post"]["security"], Value::Sequence(vec![]));
        assert!(doc["security"][0]["BearerAuth"].is_sequence());
        assert!(doc["paths"]["/me"]["get"]["security"][0]["BearerAuth"].is_sequence());
    }
}
