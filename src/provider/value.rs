//! Terraform values as they cross the wire: msgpack `DynamicValue`s.
//!
//! Terraform encodes an object as a map holding every attribute of the schema, null as nil, and
//! an unknown value as a msgpack extension (type 0, or type 12 for a refined unknown that carries
//! what is known about it). Any extension type is read as unknown. A value we send back is always
//! fully known.

use std::collections::BTreeMap;

use rmpv::Value as Msgpack;

use crate::proto::tfplugin6::DynamicValue;

/// A Terraform value, without its type (the schema gives that).
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    /// Not known until apply.
    Unknown,
    Bool(bool),
    Number(f64),
    String(String),
    List(Vec<Value>),
    Object(BTreeMap<String, Value>),
}

/// Why a `DynamicValue` could not be read.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum DecodeError {
    #[error("Terraform sent no msgpack value (JSON-encoded values are not supported)")]
    NotMsgpack,
    #[error("the msgpack value is malformed: {0}")]
    Malformed(String),
    #[error("the msgpack value has {0} bytes after its end")]
    TrailingBytes(usize),
    #[error("a map key is not a string")]
    NonStringKey,
    #[error("binary data is not a Terraform value")]
    Binary,
}

/// The nesting Terraform values can have in our schemas is 3; this leaves room and still stops
/// a hostile message from recursing deeply.
const MAX_DEPTH: usize = 64;

impl Value {
    /// Decodes a `DynamicValue` from Terraform.
    pub fn decode(dynamic: Option<&DynamicValue>) -> Result<Value, DecodeError> {
        let Some(dynamic) = dynamic else {
            return Ok(Value::Null);
        };
        if dynamic.msgpack.is_empty() {
            return if dynamic.json.is_empty() {
                Ok(Value::Null)
            } else {
                Err(DecodeError::NotMsgpack)
            };
        }
        Self::from_msgpack(&dynamic.msgpack)
    }

    /// Decodes msgpack bytes into a value; never panics, whatever the bytes.
    pub fn from_msgpack(bytes: &[u8]) -> Result<Value, DecodeError> {
        let mut reader = bytes;
        let parsed = rmpv::decode::read_value_with_max_depth(&mut reader, MAX_DEPTH)
            .map_err(|error| DecodeError::Malformed(error.to_string()))?;
        if !reader.is_empty() {
            return Err(DecodeError::TrailingBytes(reader.len()));
        }
        Self::from_parsed(parsed)
    }

    fn from_parsed(parsed: Msgpack) -> Result<Value, DecodeError> {
        Ok(match parsed {
            Msgpack::Nil => Value::Null,
            Msgpack::Ext(..) => Value::Unknown,
            Msgpack::Boolean(flag) => Value::Bool(flag),
            Msgpack::Integer(integer) => Value::Number(integer.as_f64().unwrap_or(f64::NAN)),
            Msgpack::F32(number) => Value::Number(f64::from(number)),
            Msgpack::F64(number) => Value::Number(number),
            Msgpack::String(text) => Value::String(Self::text(text)),
            Msgpack::Binary(_) => return Err(DecodeError::Binary),
            Msgpack::Array(items) => Value::List(
                items
                    .into_iter()
                    .map(Self::from_parsed)
                    .collect::<Result<_, _>>()?,
            ),
            Msgpack::Map(entries) => {
                let mut object = BTreeMap::new();
                for (key, value) in entries {
                    let Msgpack::String(key) = key else {
                        return Err(DecodeError::NonStringKey);
                    };
                    object.insert(Self::text(key), Self::from_parsed(value)?);
                }
                Value::Object(object)
            }
        })
    }

    /// cty strings are always UTF-8; anything else is kept visibly wrong so that a validator
    /// names the attribute instead of the whole message failing.
    fn text(text: rmpv::Utf8String) -> String {
        match String::from_utf8(text.into_bytes()) {
            Ok(text) => text,
            Err(error) => String::from_utf8_lossy(error.as_bytes()).into_owned(),
        }
    }

    /// Encodes the value for Terraform.
    pub fn encode(&self) -> DynamicValue {
        let mut bytes = Vec::new();
        // Writing into a Vec cannot fail.
        let _ = rmpv::encode::write_value(&mut bytes, &self.to_msgpack());
        DynamicValue {
            msgpack: bytes,
            json: Vec::new(),
        }
    }

    fn to_msgpack(&self) -> Msgpack {
        match self {
            Value::Null => Msgpack::Nil,
            // fixext 1 of type 0 with one zero byte: Terraform's unknown.
            Value::Unknown => Msgpack::Ext(0, vec![0]),
            Value::Bool(flag) => Msgpack::Boolean(*flag),
            Value::Number(number) if number.fract() == 0.0 && number.abs() < 9.0e15 => {
                Msgpack::Integer((*number as i64).into())
            }
            Value::Number(number) => Msgpack::F64(*number),
            Value::String(text) => Msgpack::String(text.clone().into()),
            Value::List(items) => Msgpack::Array(items.iter().map(Value::to_msgpack).collect()),
            Value::Object(object) => Msgpack::Map(
                object
                    .iter()
                    .map(|(key, value)| (Msgpack::String(key.clone().into()), value.to_msgpack()))
                    .collect(),
            ),
        }
    }

    /// The attribute `name` of an object; null when absent or when this is not an object.
    pub fn attribute(&self, name: &str) -> &Value {
        match self {
            Value::Object(object) => object.get(name).unwrap_or(&Value::Null),
            _ => &Value::Null,
        }
    }

    pub fn is_known(&self) -> bool {
        !matches!(self, Value::Unknown)
    }

    /// Known, and so is everything inside it.
    pub fn is_wholly_known(&self) -> bool {
        match self {
            Value::Unknown => false,
            Value::List(items) => items.iter().all(Value::is_wholly_known),
            Value::Object(fields) => fields.values().all(Value::is_wholly_known),
            _ => true,
        }
    }

    /// The value as JSON, the inverse of [`Value::from_json`]; `None` when something in it is
    /// unknown or a number is not finite. Configurations are decoded in place
    /// ([`Value::deserialize_into`]), which reads a value as serde_json reads this.
    pub fn to_json(&self) -> Option<serde_json::Value> {
        Some(match self {
            Value::Unknown => return None,
            Value::Null => serde_json::Value::Null,
            Value::Bool(flag) => serde_json::Value::Bool(*flag),
            Value::Number(number) => {
                serde_json::Value::Number(serde_json::Number::from_f64(*number)?)
            }
            Value::String(text) => serde_json::Value::String(text.clone()),
            Value::List(items) => {
                serde_json::Value::Array(items.iter().map(Value::to_json).collect::<Option<_>>()?)
            }
            Value::Object(fields) => serde_json::Value::Object(
                fields
                    .iter()
                    .map(|(name, value)| Some((name.clone(), value.to_json()?)))
                    .collect::<Option<_>>()?,
            ),
        })
    }

    /// A JSON value (a typed state serialized with serde) as a Terraform value.
    pub fn from_json(json: serde_json::Value) -> Value {
        match json {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(flag) => Value::Bool(flag),
            serde_json::Value::Number(number) => number.as_f64().map_or(Value::Null, Value::Number),
            serde_json::Value::String(text) => Value::String(text),
            serde_json::Value::Array(items) => {
                Value::List(items.into_iter().map(Value::from_json).collect())
            }
            serde_json::Value::Object(fields) => Value::Object(
                fields
                    .into_iter()
                    .map(|(name, value)| (name, Value::from_json(value)))
                    .collect(),
            ),
        }
    }

    /// The text of a known string; `None` for null, unknown or another kind.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(text) => Some(text),
            _ => None,
        }
    }

    /// A string or null from an optional text.
    pub fn optional_string(text: Option<&str>) -> Value {
        text.map_or(Value::Null, |text| Value::String(text.to_owned()))
    }
}

impl Value {
    /// Decodes the value into a typed configuration with serde, reading it in place. It
    /// decodes what `serde_json::from_value(self.to_json())` decodes, the same way (numbers as
    /// `f64`, null as `None`), without building a JSON tree. Refuses an unknown value and a
    /// number that is not finite, which JSON cannot hold.
    pub fn deserialize_into<T: serde::de::DeserializeOwned>(&self) -> Result<T, String> {
        T::deserialize(ValueDeserializer(self)).map_err(|error| error.to_string())
    }
}

/// `serde` reading a [`Value`] in place.
#[derive(Clone, Copy)]
struct ValueDeserializer<'a>(&'a Value);

type DeError = serde::de::value::Error;

impl<'de, 'a> serde::de::IntoDeserializer<'de, DeError> for ValueDeserializer<'a> {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}

impl<'de, 'a> serde::Deserializer<'de> for ValueDeserializer<'a> {
    type Error = DeError;

    fn deserialize_any<V: serde::de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        use serde::de::Error as _;
        use serde::de::value::{MapDeserializer, SeqDeserializer};
        match self.0 {
            Value::Null => visitor.visit_unit(),
            Value::Unknown => Err(DeError::custom("a value that is not known yet")),
            Value::Bool(flag) => visitor.visit_bool(*flag),
            Value::Number(number) if number.is_finite() => visitor.visit_f64(*number),
            Value::Number(number) => Err(DeError::custom(format!(
                "the number {number} is not finite"
            ))),
            Value::String(text) => visitor.visit_str(text),
            Value::List(items) => {
                let mut items = SeqDeserializer::new(items.iter().map(ValueDeserializer));
                let value = visitor.visit_seq(&mut items)?;
                items.end()?;
                Ok(value)
            }
            Value::Object(fields) => {
                let mut fields = MapDeserializer::new(
                    fields
                        .iter()
                        .map(|(name, value)| (name.as_str(), ValueDeserializer(value))),
                );
                let value = visitor.visit_map(&mut fields)?;
                fields.end()?;
                Ok(value)
            }
        }
    }

    fn deserialize_option<V: serde::de::Visitor<'de>>(
        self,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: serde::de::Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: serde::de::Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        use serde::de::Error as _;
        match self.0 {
            // A unit variant by its name, as serde_json reads one from a string.
            Value::String(text) => visitor.visit_enum(
                serde::de::IntoDeserializer::<DeError>::into_deserializer(text.as_str()),
            ),
            _ => Err(DeError::custom("an enumeration must be a string")),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(entries: &[(&str, Value)]) -> Value {
        Value::Object(
            entries
                .iter()
                .map(|(key, value)| ((*key).to_owned(), value.clone()))
                .collect(),
        )
    }

    #[test]
    fn object_with_every_kind_round_trips() {
        let value = object(&[
            ("absent", Value::Null),
            ("flag", Value::Bool(true)),
            ("count", Value::Number(4.0)),
            ("ratio", Value::Number(0.5)),
            ("name", Value::String("vpce-0123".into())),
            (
                "statuses",
                Value::List(vec![Value::String("AVAILABLE".into())]),
            ),
        ]);
        assert_eq!(Value::decode(Some(&value.encode())).unwrap(), value);
    }

    #[test]
    fn unknown_is_extension_zero_and_decodes_back() {
        let encoded = Value::Unknown.encode();
        assert_eq!(encoded.msgpack, vec![0xd4, 0x00, 0x00]);
        assert_eq!(
            Value::from_msgpack(&encoded.msgpack).unwrap(),
            Value::Unknown
        );
    }

    #[test]
    fn refined_unknown_extension_twelve_is_unknown() {
        // fixext 1 would be 0xd4; a refinement payload is longer: ext 8 with a 3-byte body.
        let refined = [0xc7, 0x03, 0x0c, 0x81, 0x01, 0xc3];
        assert_eq!(Value::from_msgpack(&refined).unwrap(), Value::Unknown);
    }

    #[test]
    fn nil_is_null_and_missing_dynamic_value_is_null() {
        assert_eq!(Value::from_msgpack(&[0xc0]).unwrap(), Value::Null);
        assert_eq!(Value::decode(None).unwrap(), Value::Null);
    }

    #[test]
    fn json_only_dynamic_value_is_refused() {
        let dynamic = DynamicValue {
            msgpack: vec![],
            json: b"{}".to_vec(),
        };
        assert_eq!(Value::decode(Some(&dynamic)), Err(DecodeError::NotMsgpack));
    }

    #[test]
    fn truncated_and_trailing_bytes_are_errors_not_panics() {
        assert!(matches!(
            Value::from_msgpack(&[0x82, 0xa1]),
            Err(DecodeError::Malformed(_))
        ));
        assert_eq!(
            Value::from_msgpack(&[0xc0, 0xc0]),
            Err(DecodeError::TrailingBytes(1))
        );
        assert_eq!(
            Value::from_msgpack(&[0x81, 0x01, 0xc0]),
            Err(DecodeError::NonStringKey)
        );
    }

    #[test]
    fn invalid_utf8_string_survives_for_the_validator_to_name() {
        let value = Value::from_msgpack(&[0xa2, 0xff, 0x41]).unwrap();
        assert_eq!(value, Value::String("\u{fffd}A".into()));
    }

    #[test]
    fn list_of_objects_round_trips_through_msgpack_and_json() {
        let endpoint = object(&[
            ("interface_endpoint_id", Value::String("vpce-1".into())),
            ("error_message", Value::Null),
            ("delete_requested", Value::Bool(false)),
        ]);
        let value = object(&[("endpoints", Value::List(vec![endpoint.clone(), endpoint]))]);
        assert_eq!(Value::decode(Some(&value.encode())).unwrap(), value);
        assert_eq!(Value::from_json(value.to_json().unwrap()), value);
        assert_eq!(Value::List(vec![Value::Unknown]).to_json(), None);
        assert!(!object(&[("a", Value::List(vec![Value::Unknown]))]).is_wholly_known());
    }

    #[test]
    fn attribute_of_object_and_of_non_object() {
        let value = object(&[("id", Value::String("x".into()))]);
        assert_eq!(value.attribute("id").as_str(), Some("x"));
        assert_eq!(value.attribute("missing"), &Value::Null);
        assert_eq!(Value::Null.attribute("id"), &Value::Null);
    }
}
