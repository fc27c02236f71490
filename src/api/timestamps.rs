//! One timestamp format in every answer: RFC 3339 in UTC with exactly six fractional digits,
//! `2026-03-01T10:00:00.000000Z` (microseconds: what both stores keep, so nothing is lost).
//!
//! poem-openapi writes a `DateTime<Utc>` with chrono's automatic precision: no fraction, three or
//! six digits depending on the value, so one field comes in two shapes and strict decoders in
//! generated clients accept one and reject the other. The fields rewritten are the ones the
//! published document declares `format: date-time`, so a field added later is covered without
//! anyone remembering to; a value there that is not a timestamp is left as it is.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};
use poem::http::header;
use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};
use serde_json::Value;

/// The one way the service writes an instant.
pub fn format(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// The names of the properties the document declares as `date-time`.
pub fn date_time_fields(document: &serde_yaml::Value) -> BTreeSet<String> {
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
pub fn fix(value: &mut Value, fields: &BTreeSet<String>) -> bool {
    fn one(value: &mut Value) -> bool {
        let Value::String(text) = value else { return false };
        let Ok(at) = DateTime::parse_from_rfc3339(text) else { return false };
        let fixed = format(at.to_utc());
        let changed = *text != fixed;
        *text = fixed;
        changed
    }
    match value {
        Value::Object(map) => {
            let mut changed = false;
            for (name, inner) in map.iter_mut() {
                if fields.contains(name) {
                    changed |= match &mut *inner {
                        Value::Array(items) => items.iter_mut().fold(false, |c, item| one(item) | c),
                        other => one(other),
                    };
                }
                changed |= fix(inner, fields);
            }
            changed
        }
        Value::Array(items) => items.iter_mut().fold(false, |changed, item| fix(item, fields) | changed),
        _ => false,
    }
}

/// The middleware that applies [`fix`] to every JSON answer.
pub struct FixedTimestamps {
    fields: Arc<BTreeSet<String>>,
}

impl FixedTimestamps {
    pub fn from_document(document: &serde_yaml::Value) -> Self {
        Self { fields: Arc::new(date_time_fields(document)) }
    }
}

impl<E: Endpoint> Middleware<E> for FixedTimestamps {
    type Output = FixedTimestampsEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        FixedTimestampsEndpoint { inner, fields: self.fields.clone() }
    }
}

pub struct FixedTimestampsEndpoint<E> {
    inner: E,
    fields: Arc<BTreeSet<String>>,
}

impl<E: Endpoint> Endpoint for FixedTimestampsEndpoint<E> {
    type Output = Response;

    async fn call(&self, request: Request) -> Result<Self::Output> {
        let mut response = self.inner.call(request).await?.into_response();
        let json = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("application/json") || t.starts_with("application/problem+json"));
        if !json {
            return Ok(response);
        }
        let bytes = response.take_body().into_bytes().await?;
        let rewritten = serde_json::from_slice::<Value>(&bytes)
            .ok()
            .and_then(|mut value| fix(&mut value, &self.fields).then(|| serde_json::to_vec(&value).ok()).flatten());
        response.set_body(rewritten.unwrap_or_else(|| bytes.to_vec()));
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> BTreeSet<String> {
        ["recorded_at", "due_at", "sent"].into_iter().map(str::to_owned).collect()
    }

    #[test]
    fn every_timestamp_has_six_fractional_digits_in_utc() {
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
    fn other_fields_and_values_that_are_not_timestamps_stay() {
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
    fn the_fields_are_read_from_the_document() {
        let document: serde_yaml::Value = serde_yaml::from_str(
            "components: {schemas: {A: {properties: {at: {type: string, format: date-time}, \
             day: {type: string, format: date}, times: {type: array, items: {type: string, format: date-time}}}}}}",
        )
        .unwrap();
        let found: Vec<String> = date_time_fields(&document).into_iter().collect();
        assert_eq!(found, ["at", "times"]);
    }
}
