//! The msgpack `DynamicValue` bytes Terraform sends: any bytes decode to a value or an error,
//! and whatever decodes re-encodes to bytes that decode to the same value.

#![no_main]

use libfuzzer_sys::fuzz_target;
use terraform_provider_atlas::provider::value::Value;

fuzz_target!(|data: &[u8]| {
    let decoded = Value::from_msgpack(data);
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
