//! Terraform values as they cross the wire: msgpack `DynamicValue`s.
//!
//! Terraform encodes an object as a map holding every attribute of the schema, null as nil, and
//! an unknown value as a msgpack extension (type 0, or type 12 for a refined unknown that carries
//! what is known about it). Any extension type is read as unknown. A value we send back is always
//! fully known.

use std::collections::BTreeMap;

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
/// a hostile message from recursing deeply. It is counted as rmpv counted it when it decoded
/// these messages (two levels for a container or string, see `Decoder`), so the same messages
/// are refused.
const MAX_DEPTH: u16 = 64;

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
    ///
    /// One pass over the bytes straight into `Value`: every configuration Terraform sends goes
    /// through here (twice per read: validate, then read), and decoding into a generic msgpack
    /// tree first and converting it cost a read about 30,000 instructions
    /// (docs/performance.md, Decisions). What it accepts and refuses is what the generic
    /// decoder (rmpv) did: tests/properties.rs checks it against a model over rmpv's trees.
    pub fn from_msgpack(bytes: &[u8]) -> Result<Value, DecodeError> {
        let mut decoder = Decoder {
            bytes,
            position: 0,
            refused: None,
        };
        let value = decoder
            .value(MAX_DEPTH)
            .map_err(|error| DecodeError::Malformed(error.to_string()))?;
        let trailing = bytes.len() - decoder.position;
        if trailing > 0 {
            return Err(DecodeError::TrailingBytes(trailing));
        }
        // Well-formed msgpack that is not a Terraform value: the first such part, in order.
        match decoder.refused {
            Some(refused) => Err(refused),
            None => Ok(value),
        }
    }

    /// Encodes the value for Terraform: the smallest msgpack form of each part, as rmpv wrote
    /// it (tests/properties.rs compares the bytes).
    pub fn encode(&self) -> DynamicValue {
        let mut bytes = Vec::with_capacity(64);
        self.write_msgpack(&mut bytes);
        DynamicValue {
            msgpack: bytes,
            json: Vec::new(),
        }
    }

    fn write_msgpack(&self, out: &mut Vec<u8>) {
        match self {
            Value::Null => out.push(0xc0),
            // fixext 1 of type 0 with one zero byte: Terraform's unknown.
            Value::Unknown => out.extend_from_slice(&[0xd4, 0x00, 0x00]),
            Value::Bool(flag) => out.push(if *flag { 0xc3 } else { 0xc2 }),
            Value::Number(number) if number.fract() == 0.0 && number.abs() < 9.0e15 => {
                write_integer(out, *number as i64);
            }
            Value::Number(number) => {
                out.push(0xcb);
                out.extend_from_slice(&number.to_bits().to_be_bytes());
            }
            Value::String(text) => {
                write_length(out, text.len(), [0xa0, 0xd9, 0xda, 0xdb], 32);
                out.extend_from_slice(text.as_bytes());
            }
            Value::List(items) => {
                write_length(out, items.len(), [0x90, 0x00, 0xdc, 0xdd], 16);
                for item in items {
                    item.write_msgpack(out);
                }
            }
            Value::Object(object) => {
                write_length(out, object.len(), [0x80, 0x00, 0xde, 0xdf], 16);
                for (key, value) in object {
                    write_length(out, key.len(), [0xa0, 0xd9, 0xda, 0xdb], 32);
                    out.extend_from_slice(key.as_bytes());
                    value.write_msgpack(out);
                }
            }
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
    /// `f64`, null as `None`), without building the JSON tree: two copies of every string and
    /// map fewer on each read (docs/performance.md, Decisions). Refuses an unknown value and a
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

/// An integer in its smallest msgpack form.
fn write_integer(out: &mut Vec<u8>, number: i64) {
    if number >= 0 {
        let number = number as u64;
        match number {
            0..=0x7f => out.push(number as u8),
            0x80..=0xff => out.extend_from_slice(&[0xcc, number as u8]),
            0x100..=0xffff => {
                out.push(0xcd);
                out.extend_from_slice(&(number as u16).to_be_bytes());
            }
            0x1_0000..=0xffff_ffff => {
                out.push(0xce);
                out.extend_from_slice(&(number as u32).to_be_bytes());
            }
            _ => {
                out.push(0xcf);
                out.extend_from_slice(&number.to_be_bytes());
            }
        }
    } else if number >= -32 {
        out.push(number as i8 as u8);
    } else if number >= i64::from(i8::MIN) {
        out.extend_from_slice(&[0xd0, number as i8 as u8]);
    } else if number >= i64::from(i16::MIN) {
        out.push(0xd1);
        out.extend_from_slice(&(number as i16).to_be_bytes());
    } else if number >= i64::from(i32::MIN) {
        out.push(0xd2);
        out.extend_from_slice(&(number as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&number.to_be_bytes());
    }
}

/// A length header: the fix form (`markers[0]` plus the length) below `fix_limit`, else the 8
/// (strings only), 16 or 32-bit form.
fn write_length(out: &mut Vec<u8>, length: usize, markers: [u8; 4], fix_limit: usize) {
    if length < fix_limit {
        out.push(markers[0] | length as u8);
    } else if markers[1] != 0 && length <= 0xff {
        out.extend_from_slice(&[markers[1], length as u8]);
    } else if length <= 0xffff {
        out.push(markers[2]);
        out.extend_from_slice(&(length as u16).to_be_bytes());
    } else {
        out.push(markers[3]);
        out.extend_from_slice(&(length as u32).to_be_bytes());
    }
}

/// Why msgpack bytes are not msgpack.
#[derive(Debug)]
enum Malformed {
    Truncated { needed: usize, at: usize },
    TooDeep,
}

impl std::fmt::Display for Malformed {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Malformed::Truncated { needed, at } => {
                write!(formatter, "it ends at byte {at}, {needed} bytes short")
            }
            Malformed::TooDeep => formatter.write_str("it nests too deeply"),
        }
    }
}

/// A single pass over msgpack bytes.
///
/// Depth is counted as rmpv counts it, so that exactly the same messages are too deep: each
/// value takes one level, and the body of an array, a map, a string, a binary or an extension
/// one more (a string's and an extension's bytes one more again, see `body`). Declared lengths are never
/// trusted: nothing is reserved for elements that are not there, and a length longer than what
/// is left is refused before anything is read.
struct Decoder<'a> {
    bytes: &'a [u8],
    position: usize,
    /// The first well-formed part that is no Terraform value (binary data, a key that is not a
    /// string): reported once the whole message is known to be well formed.
    refused: Option<DecodeError>,
}

fn deeper(depth: u16) -> Result<u16, Malformed> {
    depth.checked_sub(1).ok_or(Malformed::TooDeep)
}

impl<'a> Decoder<'a> {
    fn take(&mut self, count: usize) -> Result<&'a [u8], Malformed> {
        let left = self.bytes.len() - self.position;
        if count > left {
            return Err(Malformed::Truncated {
                needed: count - left,
                at: self.bytes.len(),
            });
        }
        let taken = &self.bytes[self.position..self.position + count];
        self.position += count;
        Ok(taken)
    }

    fn byte(&mut self) -> Result<u8, Malformed> {
        Ok(self.take(1)?[0])
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], Malformed> {
        let mut array = [0; N];
        array.copy_from_slice(self.take(N)?);
        Ok(array)
    }

    fn length(&mut self, width: usize) -> Result<usize, Malformed> {
        Ok(match width {
            1 => usize::from(self.byte()?),
            2 => usize::from(u16::from_be_bytes(self.array()?)),
            _ => u32::from_be_bytes(self.array()?) as usize,
        })
    }

    fn refuse(&mut self, refused: DecodeError) {
        self.refused.get_or_insert(refused);
    }

    /// The `length` bytes of a binary body, or of a string's or an extension's.
    fn body(&mut self, length: usize, depth: u16) -> Result<&'a [u8], Malformed> {
        deeper(depth)?;
        self.take(length)
    }

    fn string(&mut self, length: usize, depth: u16) -> Result<String, Malformed> {
        let bytes = self.body(length, deeper(depth)?)?;
        // cty strings are always UTF-8; anything else is kept visibly wrong so that a
        // validator names the attribute instead of the whole message failing.
        Ok(match std::str::from_utf8(bytes) {
            Ok(text) => text.to_owned(),
            Err(_) => String::from_utf8_lossy(bytes).into_owned(),
        })
    }

    fn extension(&mut self, length: usize, depth: u16) -> Result<Value, Malformed> {
        let depth = deeper(depth)?;
        self.byte()?; // the extension type: any type is an unknown value
        self.body(length, depth)?;
        Ok(Value::Unknown)
    }

    fn list(&mut self, length: usize, depth: u16) -> Result<Value, Malformed> {
        let depth = deeper(depth)?;
        let mut items = Vec::new();
        for _ in 0..length {
            items.push(self.value(depth)?);
        }
        Ok(Value::List(items))
    }

    fn object(&mut self, length: usize, depth: u16) -> Result<Value, Malformed> {
        let depth = deeper(depth)?;
        let mut object = BTreeMap::new();
        for _ in 0..length {
            // A key that is not a string is refused as such, whatever is inside it.
            let earlier = self.refused.take();
            let key = self.value(depth)?;
            self.refused = earlier;
            let key = match key {
                Value::String(key) => key,
                _ => {
                    self.refuse(DecodeError::NonStringKey);
                    String::new()
                }
            };
            let value = self.value(depth)?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }

    fn value(&mut self, depth: u16) -> Result<Value, Malformed> {
        let depth = deeper(depth)?;
        let marker = self.byte()?;
        Ok(match marker {
            0x00..=0x7f => Value::Number(f64::from(marker)),
            0x80..=0x8f => self.object(usize::from(marker & 0x0f), depth)?,
            0x90..=0x9f => self.list(usize::from(marker & 0x0f), depth)?,
            0xa0..=0xbf => Value::String(self.string(usize::from(marker & 0x1f), depth)?),
            // 0xc1 is reserved; rmpv read it as nil, and so do we.
            0xc0 | 0xc1 => Value::Null,
            0xc2 => Value::Bool(false),
            0xc3 => Value::Bool(true),
            0xc4..=0xc6 => {
                let length = self.length(1 << (marker - 0xc4))?;
                self.body(length, depth)?;
                self.refuse(DecodeError::Binary);
                Value::Null
            }
            0xc7..=0xc9 => {
                let length = self.length(1 << (marker - 0xc7))?;
                self.extension(length, depth)?
            }
            0xca => Value::Number(f64::from(f32::from_be_bytes(self.array()?))),
            0xcb => Value::Number(f64::from_be_bytes(self.array()?)),
            0xcc => Value::Number(f64::from(self.byte()?)),
            0xcd => Value::Number(f64::from(u16::from_be_bytes(self.array()?))),
            0xce => Value::Number(f64::from(u32::from_be_bytes(self.array()?))),
            0xcf => Value::Number(u64::from_be_bytes(self.array()?) as f64),
            0xd0 => Value::Number(f64::from(i8::from_be_bytes(self.array()?))),
            0xd1 => Value::Number(f64::from(i16::from_be_bytes(self.array()?))),
            0xd2 => Value::Number(f64::from(i32::from_be_bytes(self.array()?))),
            0xd3 => Value::Number(i64::from_be_bytes(self.array()?) as f64),
            0xd4..=0xd8 => self.extension(1 << (marker - 0xd4), depth)?,
            0xd9..=0xdb => {
                let length = self.length(1 << (marker - 0xd9))?;
                Value::String(self.string(length, depth)?)
            }
            0xdc | 0xdd => {
                let length = self.length(if marker == 0xdc { 2 } else { 4 })?;
                self.list(length, depth)?
            }
            0xde | 0xdf => {
                let length = self.length(if marker == 0xde { 2 } else { 4 })?;
                self.object(length, depth)?
            }
            0xe0..=0xff => Value::Number(f64::from(marker as i8)),
        })
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
