//! One timestamp format in every answer: RFC 3339 in UTC with exactly six fractional digits,
//! `2026-03-01T10:00:00.000000Z` (microseconds: what both stores keep, so nothing is lost).
//!
//! poem-openapi writes a `DateTime<Utc>` with chrono's automatic precision: no fraction, three or
//! six digits depending on the value, so one field would come in two shapes and strict decoders
//! in generated clients accept one and reject the other. Every instant the API carries is a
//! [`Timestamp`] instead, which is written one way and documented as `format: date-time` like
//! the `DateTime<Utc>` it wraps.

use std::borrow::Cow;
use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use poem_openapi::types::{ParseError, ParseFromJSON, ParseFromParameter, ParseResult, ToJSON, Type};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// The one way the service writes an instant.
pub fn format(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// An instant in the API: read from any RFC 3339 text (any offset, any precision), written in
/// UTC with six fractional digits and `Z`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub DateTime<Utc>);

impl Timestamp {
    fn parse(text: &str) -> Result<Self, chrono::ParseError> {
        text.parse::<DateTime<Utc>>().map(Timestamp)
    }
}

impl std::str::FromStr for Timestamp {
    type Err = chrono::ParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Timestamp::parse(text)
    }
}

impl From<DateTime<Utc>> for Timestamp {
    fn from(at: DateTime<Utc>) -> Self {
        Timestamp(at)
    }
}

impl From<Timestamp> for DateTime<Utc> {
    fn from(at: Timestamp) -> Self {
        at.0
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format(self.0))
    }
}

impl Type for Timestamp {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        // The name poem-openapi gives `DateTime<Utc>`, so the document does not change.
        "string_date-time".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema::new_with_format("string", "date-time")))
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl ParseFromJSON for Timestamp {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value.unwrap_or_default() {
            Value::String(text) => Ok(Timestamp::parse(&text)?),
            other => Err(ParseError::expected_type(other)),
        }
    }
}

impl ParseFromParameter for Timestamp {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        Ok(Timestamp::parse(value)?)
    }
}

impl ToJSON for Timestamp {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(format(self.0)))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format(self.0))
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        DateTime::<Utc>::deserialize(deserializer).map(Timestamp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_instant_is_written_in_utc_with_six_fractional_digits() {
        for (text, written) in [
            ("2026-03-01T10:00:00Z", "2026-03-01T10:00:00.000000Z"),
            ("2026-03-01T10:00:00.5+01:00", "2026-03-01T09:00:00.500000Z"),
            ("2026-03-01T10:00:00.123456789Z", "2026-03-01T10:00:00.123456Z"),
            ("2026-03-01T10:00:00.000001Z", "2026-03-01T10:00:00.000001Z"),
            ("2026-03-01t10:00:00.25-02:30", "2026-03-01T12:30:00.250000Z"),
        ] {
            let at = Timestamp::parse_from_json(Some(Value::String(text.into()))).unwrap();
            assert_eq!(at.to_json(), Some(Value::String(written.into())), "{text}");
            assert_eq!(serde_json::to_value(at).unwrap(), Value::String(written.into()), "{text}");
            let read: Timestamp = serde_json::from_value(Value::String(text.into())).unwrap();
            assert_eq!(read, at, "{text}");
            assert_eq!(Timestamp::parse_from_parameter(text).unwrap(), at, "{text}");
        }
    }

    #[test]
    fn what_is_not_an_instant_is_refused() {
        for value in [serde_json::json!("yesterday"), serde_json::json!("2026-03-01"), serde_json::json!(3)] {
            assert!(Timestamp::parse_from_json(Some(value.clone())).is_err(), "{value}");
            assert!(serde_json::from_value::<Timestamp>(value.clone()).is_err(), "{value}");
        }
    }

    #[test]
    fn it_is_documented_as_the_date_time_it_wraps() {
        assert_eq!(Timestamp::name(), <DateTime<Utc> as Type>::name());
        assert_eq!(
            serde_json::to_value(Timestamp::schema_ref().unwrap_inline()).unwrap(),
            serde_json::to_value(<DateTime<Utc> as Type>::schema_ref().unwrap_inline()).unwrap()
        );
    }
}
