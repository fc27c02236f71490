//! The JSON request body extractor. poem-openapi's own `Json` stops at the first problem and
//! often without naming the field; this one answers 400 for bytes that are not JSON and 422
//! naming the field for JSON of the wrong shape (wrong type, unknown or missing field). Range
//! and format rules are checked afterwards by the domain parsers, which report every field.

use poem::{Request, RequestBody};
use poem_openapi::impl_apirequest_for_payload;
use poem_openapi::payload::{ParsePayload, Payload};
use poem_openapi::registry::{MetaSchemaRef, Registry};
use poem_openapi::types::Type;
use serde::de::DeserializeOwned;

use super::error::{ApiError, ProblemField};

pub struct JsonBody<T>(pub T);

impl<T: Type> Payload for JsonBody<T> {
    const CONTENT_TYPE: &'static str = "application/json";

    fn check_content_type(content_type: &str) -> bool {
        matches!(content_type.parse::<mime::Mime>(), Ok(mime) if mime.type_() == "application"
            && (mime.subtype() == "json" || mime.suffix().is_some_and(|s| s == "json")))
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: Type + DeserializeOwned + Send> ParsePayload for JsonBody<T> {
    const IS_REQUIRED: bool = true;

    async fn from_request(request: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        let bytes = <Vec<u8> as poem::FromRequest>::from_request(request, body).await?;
        parse(&bytes).map(JsonBody).map_err(Into::into)
    }
}

impl_apirequest_for_payload!(JsonBody<T>, T: Type + DeserializeOwned + Send);

pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.is_empty() {
        return Err(ApiError::Malformed("The request body is empty; a JSON object is expected.".into()));
    }
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::Malformed(format!("The request body is not valid JSON: {e}.")))?;
    let mut with_nul = Vec::new();
    nul_fields(&value, &mut String::new(), &mut with_nul);
    if !with_nul.is_empty() {
        return Err(ApiError::Validation(
            with_nul
                .into_iter()
                .map(|field| ProblemField {
                    field,
                    code: "nul_character".into(),
                    message: "must not contain the NUL character (U+0000)".into(),
                })
                .collect(),
        ));
    }
    if !value.is_object() {
        // serde would read a JSON array into a struct by position; requests are objects.
        return Err(ApiError::Validation(vec![ProblemField {
            field: "body".into(),
            code: "invalid_type".into(),
            message: "must be a JSON object".into(),
        }]));
    }
    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        let message = error.inner().to_string();
        ApiError::Validation(vec![shape_problem(&path, &message)])
    })
}

/// The paths of the strings holding a NUL, named the way serde_path_to_error names fields
/// (`regions[0].note`).
fn nul_fields(value: &serde_json::Value, path: &mut String, found: &mut Vec<String>) {
    match value {
        serde_json::Value::String(text) if text.contains('\0') => {
            found.push(if path.is_empty() { "body".to_owned() } else { path.clone() });
        }
        serde_json::Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                let length = path.len();
                path.push_str(&format!("[{index}]"));
                nul_fields(item, path, found);
                path.truncate(length);
            }
        }
        serde_json::Value::Object(fields) => {
            for (name, item) in fields {
                let length = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                // A name with a NUL is no field of any request; named without it.
                path.push_str(&name.replace('\0', ""));
                nul_fields(item, path, found);
                path.truncate(length);
            }
        }
        _ => {}
    }
}

/// Names the offending field: serde reports unknown and missing fields at their parent's path.
fn shape_problem(path: &str, message: &str) -> ProblemField {
    let parent = if path == "." { String::new() } else { format!("{path}.") };
    let quoted = |prefix: &str| {
        message.strip_prefix(prefix).and_then(|rest| rest.split('`').next()).map(|name| format!("{parent}{name}"))
    };
    let (field, code, message) = if let Some(field) = quoted("unknown field `") {
        // serde_path_to_error already appends the unknown name to the path.
        let field = if path.rsplit('.').next() == field.rsplit('.').next() { path.to_owned() } else { field };
        (field, "unknown_field", "is not a field of this request".to_owned())
    } else if let Some(field) = quoted("missing field `") {
        (field, "required", "is required".to_owned())
    } else if message.starts_with("unknown variant `") {
        // The variant is the value, so the path already names the field.
        (path.to_owned(), "invalid_value", message.to_owned())
    } else {
        (if path == "." { "body".to_owned() } else { path.to_owned() }, "invalid_type", message.to_owned())
    };
    ProblemField { field, code: code.into(), message }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        name: String,
        inner: Inner,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        start: u8,
    }

    fn field_of(body: &str) -> (String, String) {
        match parse::<Outer>(body.as_bytes()).unwrap_err() {
            ApiError::Validation(errors) => (errors[0].field.clone(), errors[0].code.clone()),
            other => panic!("expected validation, got {other:?}"),
        }
    }

    #[test]
    fn names_the_field_of_each_shape_problem() {
        assert_eq!(field_of(r#"{"name": 3, "inner": {"start": 1}}"#), ("name".into(), "invalid_type".into()));
        assert_eq!(
            field_of(r#"{"name": "a", "inner": {"start": "x"}}"#),
            ("inner.start".into(), "invalid_type".into())
        );
        assert_eq!(
            field_of(r#"{"name": "a", "inner": {"start": 1, "end": 2}}"#),
            ("inner.end".into(), "unknown_field".into())
        );
        assert_eq!(
            field_of(r#"{"name": "a", "extra": 1, "inner": {"start": 1}}"#),
            ("extra".into(), "unknown_field".into())
        );
        assert_eq!(field_of(r#"{"inner": {"start": 1}}"#), ("name".into(), "required".into()));
        assert_eq!(field_of(r#"[1, 2]"#), ("body".into(), "invalid_type".into()));
    }

    #[test]
    fn every_string_with_a_nul_is_named() {
        let body = r#"{"name": "a\u0000b", "inner": {"start": 1}, "list": [{"note": "x"}, {"note": "\u0000"}]}"#;
        match parse::<serde_json::Value>(body.as_bytes()).unwrap_err() {
            ApiError::Validation(errors) => {
                let named: Vec<(&str, &str)> = errors.iter().map(|e| (e.field.as_str(), e.code.as_str())).collect();
                assert_eq!(named, [("list[1].note", "nul_character"), ("name", "nul_character")]);
            }
            other => panic!("expected validation, got {other:?}"),
        }
        assert!(parse::<serde_json::Value>(br#"{"name": "a\u0001b"}"#).is_ok(), "other rules are the fields' own");
    }

    #[test]
    fn bytes_that_are_not_json_are_malformed() {
        assert!(matches!(parse::<Outer>(b"{\"name\": "), Err(ApiError::Malformed(_))));
        assert!(matches!(parse::<Outer>(b""), Err(ApiError::Malformed(_))));
    }
}
