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
    fn bytes_that_are_not_json_are_malformed() {
        assert!(matches!(parse::<Outer>(b"{\"name\": "), Err(ApiError::Malformed(_))));
        assert!(matches!(parse::<Outer>(b""), Err(ApiError::Malformed(_))));
    }
}
