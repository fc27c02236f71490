//! `Name<T>`: a domain value set (`domain::Named`) as an OpenAPI string enum, parsed by name
//! from JSON and from query parameters.

use std::borrow::Cow;

use poem_openapi::registry::{MetaSchema, MetaSchemaRef, Registry};
use poem_openapi::types::{ParseError, ParseFromJSON, ParseFromParameter, ParseResult, ToJSON, Type};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::domain::Named;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Name<T>(pub T);

impl<T: Named> Type for Name<T> {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        T::TYPE_NAME.into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Reference(T::TYPE_NAME.to_owned())
    }

    fn register(registry: &mut Registry) {
        registry.create_schema::<Self, _>(T::TYPE_NAME.to_owned(), |_| MetaSchema {
            description: Some(description::<T>()),
            enum_items: T::all().iter().map(|v| Value::String(v.name().to_owned())).collect(),
            ..MetaSchema::new("string")
        });
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

/// The set's description followed by one line per value: `` - `name`: what it means ``.
fn description<T: Named>() -> &'static str {
    let join = |text: &str| text.lines().map(str::trim).collect::<Vec<_>>().join(" ").trim().to_owned();
    let mut text = join(T::DESCRIPTION);
    text.push('\n');
    for value in T::all() {
        text.push_str(&format!("\n- `{}`: {}", value.name(), join(value.description())));
    }
    // The registry wants `&'static str`; the document is built a handful of times per process.
    Box::leak(text.into_boxed_str())
}

impl<T: Named> ParseFromJSON for Name<T> {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value {
            Some(Value::String(name)) => {
                T::from_name(&name).map(Name).ok_or_else(|| ParseError::custom("unknown value"))
            }
            other => Err(ParseError::expected_type(other.unwrap_or_default())),
        }
    }
}

impl<T: Named> ParseFromParameter for Name<T> {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        T::from_name(value).map(Name).ok_or_else(|| {
            let allowed: Vec<&str> = T::all().iter().map(|v| v.name()).collect();
            ParseError::custom(format!("must be one of {}", allowed.join(", ")))
        })
    }
}

impl<T: Named> ToJSON for Name<T> {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(self.0.name().to_owned()))
    }
}

impl<T: Named> Serialize for Name<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0.name())
    }
}

impl<'de, T: Named> Deserialize<'de> for Name<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        T::from_name(&name).map(Name).ok_or_else(|| {
            let allowed: Vec<&str> = T::all().iter().map(|v| v.name()).collect();
            serde::de::Error::custom(format!("unknown variant `{name}`, expected one of {}", allowed.join(", ")))
        })
    }
}
