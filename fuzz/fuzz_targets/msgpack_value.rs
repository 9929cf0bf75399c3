//! The msgpack `DynamicValue` bytes Terraform sends: any bytes decode to a value or an error,
//! whatever decodes re-encodes to bytes that decode to the same value, and the provider's
//! one-pass decoder agrees with the generic decoder (rmpv) it replaced: the same value, or an
//! error of the same kind.

#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use terraform_provider_atlas::provider::value::{DecodeError, Value};

fuzz_target!(|data: &[u8]| {
    let decoded = Value::from_msgpack(data);
    match (&decoded, decoded_by_rmpv(data)) {
        (Ok(ours), Ok(theirs)) => assert_eq!(
            ours.encode().msgpack,
            theirs.encode().msgpack,
            "{data:02x?}"
        ),
        (Err(DecodeError::Malformed(_)), Err(DecodeError::Malformed(_))) => {}
        (ours, theirs) => assert_eq!(ours, &theirs, "{data:02x?}"),
    }
    let Ok(value) = decoded else {
        return;
    };
    let encoded = value.encode().msgpack;
    let again = Value::from_msgpack(&encoded)
        .unwrap_or_else(|error| panic!("{value:?} encoded to {encoded:02x?}: {error}"));
    // Compared by encoding, so that a NaN equals itself.
    assert_eq!(
        again.encode().msgpack,
        encoded,
        "{value:?} did not round trip"
    );
});

/// What the provider made of `bytes` when it decoded them with rmpv (depth limit 64, trailing
/// bytes refused, then the tree converted).
fn decoded_by_rmpv(bytes: &[u8]) -> Result<Value, DecodeError> {
    let mut reader = bytes;
    let tree = rmpv::decode::read_value_with_max_depth(&mut reader, 64)
        .map_err(|error| DecodeError::Malformed(error.to_string()))?;
    if !reader.is_empty() {
        return Err(DecodeError::TrailingBytes(reader.len()));
    }
    converted(tree)
}

fn converted(tree: rmpv::Value) -> Result<Value, DecodeError> {
    use rmpv::Value as M;
    Ok(match tree {
        M::Nil => Value::Null,
        M::Ext(..) => Value::Unknown,
        M::Boolean(flag) => Value::Bool(flag),
        M::Integer(integer) => Value::Number(integer.as_f64().unwrap_or(f64::NAN)),
        M::F32(number) => Value::Number(f64::from(number)),
        M::F64(number) => Value::Number(number),
        M::String(text) => Value::String(String::from_utf8_lossy(text.as_bytes()).into_owned()),
        M::Binary(_) => return Err(DecodeError::Binary),
        M::Array(items) => Value::List(items.into_iter().map(converted).collect::<Result<_, _>>()?),
        M::Map(entries) => {
            let mut object = BTreeMap::new();
            for (key, value) in entries {
                let M::String(key) = key else {
                    return Err(DecodeError::NonStringKey);
                };
                object.insert(String::from_utf8_lossy(key.as_bytes()).into_owned(), converted(value)?);
            }
            Value::Object(object)
        }
    })
}
