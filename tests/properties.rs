//! Property tests for the three places that take bytes from outside: the msgpack values
//! Terraform sends over gRPC, the digest challenge in `WWW-Authenticate`, and the Atlas response
//! body. Each must turn any input into a value or a clear error: never a panic, a hang or a
//! large allocation. The fuzz targets in `fuzz/` explore the same functions for longer; every
//! input they found a problem with is kept here as a plain `#[test]`.
//!
//! Case counts are modest so that the file runs in seconds; `PROPTEST_CASES=10000 cargo test
//! --release --test properties` runs them harder.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::json;
use terraform_provider_atlas::atlas::challenge::{Algorithm, ChallengeError, parse_challenge};
use terraform_provider_atlas::atlas::{ApiError, InterfaceEndpoint, RouteFamily};
use terraform_provider_atlas::provider::value::{DecodeError, Value};

// ---------------------------------------------------------------------------------------------
// Counting what a call allocates, per thread (the test harness runs tests on several threads).

struct CountingAllocator;

thread_local! {
    static LIVE_BYTES: Cell<usize> = const { Cell::new(0) };
    static PEAK_BYTES: Cell<usize> = const { Cell::new(0) };
}

fn note_allocated(size: usize) {
    let _ = LIVE_BYTES.try_with(|live| {
        let now = live.get().saturating_add(size);
        live.set(now);
        let _ = PEAK_BYTES.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

fn note_freed(size: usize) {
    // Memory freed on another thread than the one that allocated it only lowers the count.
    let _ = LIVE_BYTES.try_with(|live| live.set(live.get().saturating_sub(size)));
}

// SAFETY: every call is passed on to the system allocator unchanged; the counters are
// thread-local cells with constant initializers, which never allocate.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let pointer = unsafe { System.alloc(layout) };
        if !pointer.is_null() {
            note_allocated(layout.size());
        }
        pointer
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let pointer = unsafe { System.alloc_zeroed(layout) };
        if !pointer.is_null() {
            note_allocated(layout.size());
        }
        pointer
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        unsafe { System.dealloc(pointer, layout) };
        note_freed(layout.size());
    }

    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let moved = unsafe { System.realloc(pointer, layout, new_size) };
        if !moved.is_null() {
            note_freed(layout.size());
            note_allocated(new_size);
        }
        moved
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Runs `work` and returns its result with the most heap it held at once beyond what was live
/// before, in bytes, on this thread.
fn peak_heap<T>(work: impl FnOnce() -> T) -> (T, usize) {
    let before = LIVE_BYTES.with(Cell::get);
    PEAK_BYTES.with(|peak| peak.set(before));
    let result = work();
    let peak = PEAK_BYTES.with(Cell::get);
    (result, peak.saturating_sub(before))
}

/// `cases` unless `PROPTEST_CASES` asks for another number.
fn config(cases: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(cases);
    Config {
        cases,
        // A failure prints its minimal input; it becomes a plain #[test] below, not a file.
        failure_persistence: None,
        ..Config::default()
    }
}

// ---------------------------------------------------------------------------------------------
// (a) msgpack values from Terraform.

/// What decoding allocates at most, beyond the bytes themselves: rmpv builds its own tree of
/// 32-byte values (doubling vectors) and then we build ours. A declared length alone never
/// counts: rmpv preallocates at most 64 KiB for a string and nothing for an array or map.
const HEAP_PER_INPUT_BYTE: usize = 64;
const HEAP_FIXED: usize = 256 * 1024;

fn decode_checked(bytes: &[u8]) -> Result<Value, DecodeError> {
    let (result, peak) = peak_heap(|| Value::from_msgpack(bytes));
    let limit = HEAP_FIXED + HEAP_PER_INPUT_BYTE * bytes.len();
    assert!(
        peak <= limit,
        "decoding {} bytes held {peak} bytes of heap (limit {limit}); input starts {:02x?}",
        bytes.len(),
        &bytes[..bytes.len().min(16)]
    );
    result
}

/// A number Terraform can send: finite or infinite, never NaN (cty has no NaN).
fn number() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<i64>().prop_map(|integer| integer as f64),
        any::<i32>().prop_map(f64::from),
        prop::num::f64::NORMAL
            | prop::num::f64::SUBNORMAL
            | prop::num::f64::ZERO
            | prop::num::f64::INFINITE
            | prop::num::f64::POSITIVE
            | prop::num::f64::NEGATIVE,
    ]
}

fn null_or_unknown_or<S: Strategy<Value = Value> + 'static>(
    known: S,
) -> impl Strategy<Value = Value> {
    prop_oneof![1 => Just(Value::Null), 1 => Just(Value::Unknown), 6 => known]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9_-]{0,24}",
        any::<String>(),
        Just("vpce-08fb7e9319909ec7b".to_owned())
    ]
}

/// An attribute value our schemas allow: string, bool, number or list of strings.
fn attribute() -> impl Strategy<Value = Value> {
    null_or_unknown_or(prop_oneof![
        text().prop_map(Value::String),
        any::<bool>().prop_map(Value::Bool),
        number().prop_map(Value::Number),
        vec(null_or_unknown_or(text().prop_map(Value::String)), 0..5).prop_map(Value::List),
    ])
}

/// An object as Terraform sends a configuration: attributes and perhaps a nested block.
fn schema_value() -> impl Strategy<Value = Value> {
    let attributes = || btree_map("[a-z_]{1,20}", attribute(), 0..8);
    let block = null_or_unknown_or(attributes().prop_map(Value::Object));
    null_or_unknown_or(
        (attributes(), prop::option::of(block)).prop_map(|(mut object, block)| {
            if let Some(block) = block {
                object.insert("timeouts".to_owned(), block);
            }
            Value::Object(object)
        }),
    )
}

/// Any value the codec can hold, nested a few levels.
fn any_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        Just(Value::Unknown),
        any::<bool>().prop_map(Value::Bool),
        number().prop_map(Value::Number),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::List),
            btree_map(any::<String>(), inner, 0..6).prop_map(Value::Object),
        ]
    })
}

/// Any msgpack tree, including what Terraform never sends: binary, non-string keys, odd
/// extensions. (rmpv writes a string that is not UTF-8 as binary, so strings of any bytes are
/// tested on their own, below.)
fn msgpack_tree() -> impl Strategy<Value = rmpv::Value> {
    use rmpv::Value as M;
    let leaf = prop_oneof![
        Just(M::Nil),
        any::<bool>().prop_map(M::Boolean),
        any::<i64>().prop_map(M::from),
        any::<u64>().prop_map(M::from),
        any::<f32>().prop_map(M::F32),
        any::<f64>().prop_map(M::F64),
        any::<String>().prop_map(|text| M::String(text.into())),
        vec(any::<u8>(), 0..8).prop_map(M::Binary),
        (any::<i8>(), vec(any::<u8>(), 0..20)).prop_map(|(kind, data)| M::Ext(kind, data)),
    ];
    leaf.prop_recursive(8, 96, 8, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..8).prop_map(M::Array),
            // Mostly string keys, as Terraform's, so that the values below them are reached.
            vec(
                (
                    prop_oneof![
                        4 => "[a-z_]{0,8}".prop_map(|key| M::String(key.into())),
                        1 => inner.clone(),
                    ],
                    inner
                ),
                0..8
            )
            .prop_map(M::Map),
        ]
    })
}

/// What `Value::from_msgpack` must make of a msgpack tree, written independently.
fn expected_value(tree: &rmpv::Value) -> Result<Value, DecodeError> {
    use rmpv::Value as M;
    Ok(match tree {
        M::Nil => Value::Null,
        M::Boolean(flag) => Value::Bool(*flag),
        M::Integer(integer) => Value::Number(
            integer
                .as_i64()
                .map(|value| value as f64)
                .or(integer.as_u64().map(|value| value as f64))
                .unwrap(),
        ),
        M::F32(number) => Value::Number(f64::from(*number)),
        M::F64(number) => Value::Number(*number),
        M::String(text) => Value::String(String::from_utf8_lossy(text.as_bytes()).into_owned()),
        M::Binary(_) => return Err(DecodeError::Binary),
        M::Array(items) => Value::List(items.iter().map(expected_value).collect::<Result<_, _>>()?),
        M::Map(entries) => {
            let mut object = BTreeMap::new();
            for (key, value) in entries {
                let M::String(key) = key else {
                    return Err(DecodeError::NonStringKey);
                };
                object.insert(
                    String::from_utf8_lossy(key.as_bytes()).into_owned(),
                    expected_value(value)?,
                );
            }
            Value::Object(object)
        }
        M::Ext(..) => Value::Unknown,
    })
}

/// Shaped like the data sources' configurations: strings, an optional list, a flattened part.
#[derive(Debug, PartialEq, serde::Deserialize)]
struct ConfigLike {
    project_id: String,
    #[serde(default)]
    count: Option<f64>,
    #[serde(flatten)]
    wait: WaitLike,
}

#[derive(Debug, PartialEq, serde::Deserialize)]
struct WaitLike {
    wait_for_status: Option<Vec<String>>,
    wait_timeout: Option<String>,
    nested: Option<BTreeMap<String, Option<bool>>>,
}

#[derive(Debug, PartialEq, serde::Deserialize)]
struct Newtype(Vec<Option<String>>);

/// `Value::deserialize_into` against the JSON road it replaced, for `T`: both succeed with the
/// same result or both fail.
fn decodes_as_through_json<T>(value: &Value) -> Result<(), TestCaseError>
where
    T: serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let direct = value.deserialize_into::<T>();
    let through_json = value
        .to_json()
        .ok_or_else(|| "not JSON".to_owned())
        .and_then(|json| serde_json::from_value::<T>(json).map_err(|error| error.to_string()));
    match (direct, through_json) {
        (Ok(direct), Ok(through_json)) => prop_assert_eq!(direct, through_json),
        (Err(_), Err(_)) => {}
        (direct, through_json) => {
            prop_assert!(
                false,
                "{value:?}: directly {direct:?}, through JSON {through_json:?}"
            )
        }
    }
    Ok(())
}

/// A configuration-like object: the fields above, each sometimes of another kind or absent.
fn config_like_value() -> impl Strategy<Value = Value> {
    let field = |good: BoxedStrategy<Value>| prop_oneof![4 => good, 1 => any_value()];
    (
        field(text().prop_map(Value::String).boxed()),
        field(prop_oneof![Just(Value::Null), number().prop_map(Value::Number)].boxed()),
        field(
            prop_oneof![
                Just(Value::Null),
                vec(text().prop_map(Value::String), 0..4).prop_map(Value::List)
            ]
            .boxed(),
        ),
        field(prop_oneof![Just(Value::Null), text().prop_map(Value::String)].boxed()),
        btree_map(
            "[a-z]{0,3}",
            prop_oneof![Just(Value::Null), any::<bool>().prop_map(Value::Bool)],
            0..3,
        ),
        any::<bool>(),
    )
        .prop_map(
            |(project_id, count, statuses, timeout, nested, with_nested)| {
                let mut object = BTreeMap::from([
                    ("project_id".to_owned(), project_id),
                    ("count".to_owned(), count),
                    ("wait_for_status".to_owned(), statuses),
                    ("wait_timeout".to_owned(), timeout),
                ]);
                if with_nested {
                    object.insert("nested".to_owned(), Value::Object(nested));
                }
                Value::Object(object)
            },
        )
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn any_value_reads_in_place_as_it_reads_through_json(value in any_value()) {
        decodes_as_through_json::<serde_json::Value>(&value)?;
        decodes_as_through_json::<Option<Vec<Option<String>>>>(&value)?;
        decodes_as_through_json::<Newtype>(&value)?;
        decodes_as_through_json::<ConfigLike>(&value)?;
    }

    #[test]
    fn configurations_read_in_place_as_they_read_through_json(value in config_like_value()) {
        decodes_as_through_json::<ConfigLike>(&value)?;
    }
}

#[test]
fn every_length_and_integer_form_round_trips() {
    let mut values: Vec<Value> = [
        0.0,
        127.0,
        128.0,
        255.0,
        256.0,
        65535.0,
        65536.0,
        4294967295.0,
        4294967296.0,
        8.9e15,
        9.1e15,
        -1.0,
        -32.0,
        -33.0,
        -128.0,
        -129.0,
        -32768.0,
        -32769.0,
        -2147483648.0,
        -2147483649.0,
        -8.9e15,
        -9.1e15,
        0.5,
        -0.0,
        f64::INFINITY,
    ]
    .into_iter()
    .map(Value::Number)
    .collect();
    for length in [0, 15, 16, 31, 32, 255, 256, 65535, 65536] {
        values.push(Value::String(
            "é".repeat(length / 2) + &"x".repeat(length % 2),
        ));
        values.push(Value::List(vec![Value::Bool(true); length]));
        values.push(Value::Object(
            (0..length)
                .map(|key| (key.to_string(), Value::Null))
                .collect(),
        ));
    }
    for value in values {
        let encoded = value.encode().msgpack;
        assert_eq!(
            Value::from_msgpack(&encoded).map(|v| v.encode().msgpack),
            Ok(encoded)
        );
    }
}

/// Equal as Terraform would see them: by their encoding, so that NaN equals itself.
fn same_value(left: &Value, right: &Value) -> bool {
    left.encode().msgpack == right.encode().msgpack
}

/// Headers that declare a length or count, each with its largest declaration.
const HUGE_DECLARATIONS: &[(&str, &[u8])] = &[
    ("array32 of 2^32-1", &[0xdd, 0xff, 0xff, 0xff, 0xff]),
    ("map32 of 2^32-1", &[0xdf, 0xff, 0xff, 0xff, 0xff]),
    ("str32 of 4 GiB", &[0xdb, 0xff, 0xff, 0xff, 0xff]),
    ("bin32 of 4 GiB", &[0xc6, 0xff, 0xff, 0xff, 0xff]),
    ("ext32 of 4 GiB", &[0xc9, 0xff, 0xff, 0xff, 0xff, 0x00]),
    ("array16 of 65535", &[0xdc, 0xff, 0xff]),
    ("map16 of 65535", &[0xde, 0xff, 0xff]),
    ("str16 of 65535", &[0xda, 0xff, 0xff]),
];

fn length_header() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::sample::select(vec![0xdd_u8, 0xdf, 0xdb, 0xc6, 0xc9]),
        any::<u32>(),
    )
        .prop_map(|(marker, length)| {
            let mut bytes = vec![marker];
            bytes.extend(length.to_be_bytes());
            if marker == 0xc9 {
                bytes.push(0x00);
            }
            bytes
        })
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn schema_values_round_trip(value in schema_value()) {
        let encoded = value.encode();
        prop_assert_eq!(Value::decode(Some(&encoded)), Ok(value.clone()));
        prop_assert_eq!(Value::from_msgpack(&encoded.msgpack), Ok(value));
    }

    #[test]
    fn any_value_round_trips(value in any_value()) {
        let encoded = value.encode();
        prop_assert_eq!(decode_checked(&encoded.msgpack), Ok(value));
    }

    #[test]
    fn arbitrary_bytes_never_panic_or_allocate_much(bytes in vec(any::<u8>(), 0..1024)) {
        if let Ok(value) = decode_checked(&bytes) {
            // Whatever decodes encodes to something that decodes to the same value.
            let again = Value::from_msgpack(&value.encode().msgpack);
            prop_assert!(again.as_ref().is_ok_and(|again| same_value(again, &value)), "{again:?}");
        }
    }

    #[test]
    fn arbitrary_msgpack_trees_decode_as_modelled(tree in msgpack_tree()) {
        let mut bytes = Vec::new();
        rmpv::encode::write_value(&mut bytes, &tree).unwrap();
        let decoded = decode_checked(&bytes);
        match (decoded, expected_value(&tree)) {
            (Ok(decoded), Ok(expected)) => prop_assert!(same_value(&decoded, &expected),
                "{decoded:?} != {expected:?}"),
            (decoded, expected) => prop_assert_eq!(decoded, expected),
        }
    }

    #[test]
    fn strings_of_any_bytes_are_kept_for_the_validator(bytes in vec(any::<u8>(), 0..300)) {
        // str8/str16 as Terraform would frame them; the bytes need not be UTF-8.
        let mut encoded = if bytes.len() < 256 {
            vec![0xd9, bytes.len() as u8]
        } else {
            let mut header = vec![0xda];
            header.extend((bytes.len() as u16).to_be_bytes());
            header
        };
        encoded.extend(&bytes);
        prop_assert_eq!(
            decode_checked(&encoded),
            Ok(Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        );
    }

    #[test]
    fn declared_lengths_are_not_trusted(
        prefix in vec(prop::sample::select(vec![0x91_u8, 0x81, 0xa1]), 0..4),
        header in length_header(),
        tail in vec(any::<u8>(), 0..64),
    ) {
        // A fixarray/fixmap/fixstr prefix puts the declaration below a container or key.
        let mut bytes = prefix;
        bytes.extend(header);
        bytes.extend(tail);
        let started = Instant::now();
        let _ = decode_checked(&bytes);
        prop_assert!(started.elapsed() < Duration::from_secs(2));
    }
}

#[test]
fn each_huge_declaration_is_refused_quickly_and_cheaply() {
    for (name, header) in HUGE_DECLARATIONS {
        let started = Instant::now();
        let result = decode_checked(header);
        assert!(
            matches!(result, Err(DecodeError::Malformed(_))),
            "{name}: {result:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(1), "{name}");
    }
}

#[test]
fn nested_huge_declarations_stop_at_the_depth_limit() {
    // Each level declares 2^32-1 elements; the first element is the next level.
    let bytes: Vec<u8> = [0xdd, 0xff, 0xff, 0xff, 0xff].repeat(10_000);
    let result = decode_checked(&bytes);
    assert!(
        matches!(result, Err(DecodeError::Malformed(_))),
        "{result:?}"
    );
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    for opener in [0x91_u8, 0x81] {
        let mut bytes = vec![opener; 1_000_000];
        if opener == 0x81 {
            // fixmap of one entry whose key is "" and whose value is the next level.
            bytes = [0x81, 0xa0].repeat(500_000);
        }
        let result = decode_checked(&bytes);
        assert!(
            matches!(result, Err(DecodeError::Malformed(_))),
            "{result:?}"
        );
    }
    // The nesting our schemas need is well within the limit.
    let mut nested = Value::List(vec![Value::String("x".into())]);
    for _ in 0..3 {
        nested = Value::Object(BTreeMap::from([("a".to_owned(), nested)]));
    }
    assert_eq!(Value::from_msgpack(&nested.encode().msgpack), Ok(nested));
}

#[test]
fn a_large_array_of_one_byte_items_costs_a_bounded_multiple_of_its_size() {
    // The worst case for rmpv's tree: an array of a million nils, each one byte on the wire.
    let count: u32 = 1 << 20;
    let mut bytes = vec![0xdd];
    bytes.extend(count.to_be_bytes());
    bytes.resize(bytes.len() + count as usize, 0xc0);
    let (result, peak) = peak_heap(|| Value::from_msgpack(&bytes));
    assert!(matches!(&result, Ok(Value::List(items)) if items.len() == count as usize));
    let per_byte = peak / bytes.len();
    assert!(
        per_byte <= HEAP_PER_INPUT_BYTE,
        "{peak} bytes of heap for {} input bytes",
        bytes.len()
    );
}

#[test]
fn terraform_config_object_decodes() {
    // As Terraform sends the data source's config: every attribute, unset and computed ones
    // null, one unknown (an extension), a list of strings.
    let bytes = terraform_config_msgpack();
    let value = Value::from_msgpack(&bytes).unwrap();
    assert_eq!(
        value.attribute("project_id").as_str(),
        Some("5f4d3c2b1a09876543210fed")
    );
    assert_eq!(value.attribute("private_link_id"), &Value::Unknown);
    assert_eq!(
        value.attribute("wait_for_status"),
        &Value::List(vec![
            Value::String("AVAILABLE".into()),
            Value::String("REJECTED".into())
        ])
    );
    assert_eq!(value.attribute("connection_status"), &Value::Null);
    assert_eq!(Value::from_msgpack(&value.encode().msgpack), Ok(value));
}

fn terraform_config_msgpack() -> Vec<u8> {
    use rmpv::Value as M;
    let object = M::Map(vec![
        (M::from("connection_status"), M::Nil),
        (M::from("delete_requested"), M::Nil),
        (M::from("error_message"), M::Nil),
        (M::from("id"), M::Nil),
        (
            M::from("interface_endpoint_id"),
            M::from("vpce-08fb7e9319909ec7b"),
        ),
        (M::from("private_link_id"), M::Ext(0, vec![0])),
        (M::from("project_id"), M::from("5f4d3c2b1a09876543210fed")),
        (
            M::from("wait_for_status"),
            M::Array(vec![M::from("AVAILABLE"), M::from("REJECTED")]),
        ),
        (M::from("wait_timeout"), M::from("20m")),
    ]);
    let mut bytes = Vec::new();
    rmpv::encode::write_value(&mut bytes, &object).unwrap();
    bytes
}

// ---------------------------------------------------------------------------------------------
// (b) The digest challenge in `WWW-Authenticate`.

/// Text made mostly of the characters the challenge grammar cares about.
fn header_like() -> impl Strategy<Value = String> {
    vec(
        prop_oneof![
            8 => prop::sample::select(vec![
                "Digest", "realm", "nonce", "qop", "stale", "algorithm", "opaque", "domain",
                "charset", "=", "\"", ",", " ", "\\", "\t", "auth", "auth-int", "MD5", "true",
                "UTF-8", "a", "Z", "0",
            ])
            .prop_map(str::to_owned),
            1 => any::<char>().prop_map(String::from),
        ],
        0..40,
    )
    .prop_map(|parts| parts.concat())
}

fn quote(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

/// A parameter, quoted or plain, as `name=value`.
fn parameter(name: &str, value: &str, quoted: bool) -> String {
    if quoted {
        format!("{name}={}", quote(value))
    } else {
        format!("{name}={value}")
    }
}

#[derive(Debug, Clone)]
struct WellFormed {
    header: String,
    /// The same header without its nonce parameter.
    header_without_nonce: String,
    realm: String,
    nonce: String,
    stale: bool,
    algorithm: Algorithm,
    qop_auth: bool,
}

/// A challenge with Atlas's parameters and some unknown ones, each quoted or plain where the
/// grammar allows, in any order, with any of the separators servers use.
fn well_formed_challenge() -> impl Strategy<Value = WellFormed> {
    let algorithms = vec![
        Algorithm::Md5,
        Algorithm::Md5Sess,
        Algorithm::Sha256,
        Algorithm::Sha256Sess,
        Algorithm::Sha512_256,
        Algorithm::Sha512_256Sess,
    ];
    let qops = vec![
        (Some("auth"), true),
        (Some("auth-int"), false),
        (Some("auth,auth-int"), true),
        (Some("auth-int, auth"), true),
        (None, false),
    ];
    (
        ("[ -~]{0,20}", any::<bool>()),
        ("[A-Za-z0-9+/=]{1,48}", any::<bool>()),
        prop::option::of((any::<bool>(), any::<bool>(), any::<bool>())),
        prop::option::of((prop::sample::select(algorithms), any::<bool>())),
        prop::sample::select(qops),
        vec(
            (
                "x[a-z-]{0,8}",
                "[ -~]{0,16}",
                "[a-z0-9]{1,8}",
                any::<bool>(),
            ),
            0..4,
        ),
        prop::sample::select(vec![",", ", ", " , ", ",\t", ",  "]),
        any::<bool>(),
    )
        .prop_flat_map(
            |(realm, nonce, stale, algorithm, qop, extras, separator, domain)| {
                let (realm, realm_plain) = realm;
                let (nonce, nonce_quoted) = nonce;
                // A plain realm must be a token: not empty, no separator, no quote.
                let realm_plain = realm_plain
                    && !realm.is_empty()
                    && !realm.contains(|c: char| c == ',' || c == '"' || c.is_ascii_whitespace());
                // (is the nonce, text)
                let mut parameters = vec![
                    (false, parameter("realm", &realm, !realm_plain)),
                    (true, parameter("nonce", &nonce, nonce_quoted)),
                ];
                let mut stale_flag = false;
                if let Some((flag, upper, quoted)) = stale {
                    stale_flag = flag;
                    let text = if upper {
                        flag.to_string().to_uppercase()
                    } else {
                        flag.to_string()
                    };
                    parameters.push((false, parameter("stale", &text, quoted)));
                }
                let mut expected_algorithm = Algorithm::Md5;
                if let Some((algorithm, quoted)) = algorithm {
                    expected_algorithm = algorithm;
                    parameters.push((false, parameter("algorithm", algorithm.as_str(), quoted)));
                }
                let (qop, qop_auth) = qop;
                if let Some(qop) = qop {
                    parameters.push((false, parameter("qop", qop, true)));
                }
                if domain {
                    parameters.push((false, "domain=\"\"".to_owned()));
                }
                for (name, quoted_value, plain_value, quoted) in extras {
                    parameters.push((
                        false,
                        if quoted {
                            parameter(&format!("{name}q"), &quoted_value, true)
                        } else {
                            parameter(&format!("{name}p"), &plain_value, false)
                        },
                    ));
                }
                let expected = (realm, nonce, stale_flag, expected_algorithm, qop_auth);
                (
                    Just(parameters).prop_shuffle(),
                    Just(separator),
                    Just(expected),
                )
            },
        )
        .prop_map(
            |(parameters, separator, (realm, nonce, stale, algorithm, qop_auth))| {
                let join = |keep_nonce: bool| {
                    let texts: Vec<&str> = parameters
                        .iter()
                        .filter(|(is_nonce, _)| keep_nonce || !is_nonce)
                        .map(|(_, text)| text.as_str())
                        .collect();
                    format!("Digest {}", texts.join(separator))
                };
                WellFormed {
                    header: join(true),
                    header_without_nonce: join(false),
                    realm,
                    nonce,
                    stale,
                    algorithm,
                    qop_auth,
                }
            },
        )
}

fn is_header_value(text: &str) -> bool {
    text.bytes()
        .all(|byte| byte == b'\t' || (b' '..=b'~').contains(&byte))
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn any_string_is_a_challenge_or_an_error(text in any::<String>()) {
        let _ = parse_challenge(&text);
    }

    #[test]
    fn header_like_text_never_panics_and_matches_digest_auths_parser(text in header_like()) {
        let ours = parse_challenge(&text);
        if is_header_value(&text) {
            // What the digest session is handed: the same parser, so the same verdict and nonce.
            let theirs = digest_auth::parse(&text);
            prop_assert_eq!(ours.is_ok(), theirs.is_ok(), "{:?} vs {:?}", ours, theirs);
            if let (Ok(ours), Ok(theirs)) = (ours, theirs) {
                prop_assert_eq!(ours.nonce, theirs.nonce);
                prop_assert_eq!(ours.stale, theirs.stale);
            }
        } else {
            let is_not_ascii = matches!(ours, Err(ChallengeError::NotVisibleAscii { .. }));
            prop_assert!(is_not_ascii, "{:?}", ours);
        }
    }

    #[test]
    fn well_formed_challenges_parse_in_any_order_and_quoting(case in well_formed_challenge()) {
        let challenge = parse_challenge(&case.header);
        prop_assert!(challenge.is_ok(), "{}: {:?}", case.header, challenge);
        let challenge = challenge.unwrap();
        prop_assert_eq!(&challenge.realm, &case.realm, "{}", case.header);
        prop_assert_eq!(&challenge.nonce, &case.nonce, "{}", case.header);
        prop_assert_eq!(challenge.stale, case.stale, "{}", case.header);
        prop_assert_eq!(challenge.algorithm, case.algorithm, "{}", case.header);
        prop_assert_eq!(challenge.qop_auth, case.qop_auth, "{}", case.header);
    }

    #[test]
    fn challenge_without_nonce_is_an_error(case in well_formed_challenge()) {
        prop_assert_eq!(
            parse_challenge(&case.header_without_nonce),
            Err(ChallengeError::Missing("nonce")),
            "{}", case.header_without_nonce
        );
    }
}

#[test]
fn atlas_challenge_header_parses() {
    let header = r#"Digest realm="MMS Public API", domain="", nonce="a7SrZ5xQ0bC2dE4fG6hJ8kL0mN2pQ4r", algorithm=MD5, qop="auth", stale=false"#;
    let challenge = parse_challenge(header).unwrap();
    assert_eq!(challenge.nonce, "a7SrZ5xQ0bC2dE4fG6hJ8kL0mN2pQ4r");
    assert!(challenge.qop_auth && !challenge.stale);
}

#[test]
fn regression_non_ascii_before_a_parameter_name() {
    // digest_auth::parse 0.3.1 panics here (byte index 1 is not a char boundary): it slices the
    // header with character positions. parse_challenge refuses non-ASCII before calling it.
    for header in [
        "€a=1",
        "Digest é realm=\"r\", nonce=\"n\"",
        "ÿÿ\u{10000}nonce=x",
    ] {
        assert!(
            matches!(
                parse_challenge(header),
                Err(ChallengeError::NotVisibleAscii { .. })
            ),
            "{header}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// (c) The Atlas response body.

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value as J;
    let leaf = prop_oneof![
        Just(J::Null),
        any::<bool>().prop_map(J::Bool),
        any::<i64>().prop_map(J::from),
        any::<u64>().prop_map(J::from),
        prop::num::f64::NORMAL.prop_map(J::from),
        any::<String>().prop_map(J::String),
        prop::sample::select(vec!["PENDING", "AVAILABLE", "PRIVATELINK_NOT_FOUND", ""])
            .prop_map(J::from),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(J::Array),
            vec(
                (
                    prop_oneof![
                        3 => prop::sample::select(vec![
                            "interfaceEndpointId", "connectionStatus", "errorMessage",
                            "deleteRequested", "detail", "errorCode", "reason", "error",
                        ])
                        .prop_map(str::to_owned),
                        1 => any::<String>(),
                    ],
                    inner
                ),
                0..6
            )
            .prop_map(|entries| J::Object(entries.into_iter().collect())),
        ]
    })
}

/// What an endpoint decoded from a JSON object must be, written independently.
fn expected_endpoint(value: &serde_json::Value) -> Option<InterfaceEndpoint> {
    let object = value.as_object()?;
    let optional_text = |name: &str| match object.get(name) {
        None | Some(serde_json::Value::Null) => Some(None),
        Some(serde_json::Value::String(text)) => Some(Some(text.clone())),
        Some(_) => None,
    };
    let optional_bool = |name: &str| match object.get(name) {
        None | Some(serde_json::Value::Null) => Some(None),
        Some(serde_json::Value::Bool(flag)) => Some(Some(*flag)),
        Some(_) => None,
    };
    Some(InterfaceEndpoint {
        interface_endpoint_id: object.get("interfaceEndpointId")?.as_str()?.to_owned(),
        connection_status: object.get("connectionStatus")?.as_str()?.to_owned(),
        error_message: optional_text("errorMessage")?,
        delete_requested: optional_bool("deleteRequested")?,
    })
}

fn status() -> impl Strategy<Value = u16> {
    prop_oneof![
        prop::sample::select(vec![400_u16, 401, 403, 404, 429, 500, 502, 503]),
        any::<u16>()
    ]
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn arbitrary_bytes_are_an_endpoint_or_an_error(bytes in vec(any::<u8>(), 0..512), status in status()) {
        let _ = serde_json::from_slice::<InterfaceEndpoint>(&bytes);
        let error = ApiError::from_body(status, &bytes, None, RouteFamily::Versioned);
        prop_assert_eq!(error.status, status);
        if serde_json::from_slice::<serde_json::Value>(&bytes).is_err() {
            // Not JSON: the detail is a short, printable excerpt.
            prop_assert!(error.error_code.is_none());
            if let Some(detail) = &error.detail {
                prop_assert!(detail.chars().count() <= 201, "{detail}");
                prop_assert!(!detail.chars().any(char::is_control), "{detail:?}");
            }
        }
    }

    #[test]
    fn arbitrary_json_decodes_as_modelled(value in json_value(), status in status()) {
        let bytes = serde_json::to_vec(&value).unwrap();
        let decoded = serde_json::from_slice::<InterfaceEndpoint>(&bytes);
        if value.is_object() {
            prop_assert_eq!(decoded.ok(), expected_endpoint(&value));
        }
        let error = ApiError::from_body(status, &bytes, None, RouteFamily::Versioned);
        if let Some(object) = value.as_object() {
            let text = |name: &str| object.get(name).and_then(serde_json::Value::as_str);
            let is_text_or_null = |name: &str| {
                object.get(name).is_none_or(|field| field.is_null() || field.is_string())
            };
            if ["detail", "errorCode", "reason"].into_iter().all(is_text_or_null) {
                // Only Atlas-shaped codes (A-Z, 0-9, _; 1 to 100 long) are kept.
                let atlas_shaped = |code: &&str| {
                    (1..=100).contains(&code.len())
                        && code.bytes().all(|byte| byte.is_ascii_uppercase() || byte.is_ascii_digit() || byte == b'_')
                };
                prop_assert_eq!(error.error_code.as_deref(), text("errorCode").filter(atlas_shaped));
                prop_assert_eq!(error.detail.as_deref(), text("detail").filter(|detail| !detail.is_empty()));
                prop_assert_eq!(error.reason.as_deref(), text("reason"));
            }
        }
    }

    #[test]
    fn valid_endpoint_with_extra_fields_in_any_order_decodes(
        id in "vpce-[0-9a-f]{17}",
        status_text in prop_oneof![
            prop::sample::select(vec!["NONE", "PENDING_ACCEPTANCE", "PENDING", "AVAILABLE",
                                      "REJECTED", "DELETING"]).prop_map(str::to_owned),
            any::<String>(),
        ],
        error_message in prop::option::of(any::<String>()),
        delete_requested in prop::option::of(any::<bool>()),
        explicit_nulls in any::<bool>(),
        extra in vec(("[a-zA-Z_]{1,16}", json_value()), 0..6),
        seed in any::<u64>(),
    ) {
        let mut fields = vec![
            ("connectionStatus".to_owned(), json!(status_text)),
            ("interfaceEndpointId".to_owned(), json!(id)),
        ];
        if error_message.is_some() || explicit_nulls {
            fields.push(("errorMessage".to_owned(), json!(error_message)));
        }
        if delete_requested.is_some() || explicit_nulls {
            fields.push(("deleteRequested".to_owned(), json!(delete_requested)));
        }
        let known = ["connectionStatus", "deleteRequested", "interfaceEndpointId", "errorMessage"];
        fields.extend(extra.into_iter().filter(|(name, _)| !known.contains(&name.as_str())));
        // A shuffle the seed decides, so that the known fields land anywhere.
        let mut order: Vec<usize> = (0..fields.len()).collect();
        order.sort_by_key(|index| (*index as u64 + 1).wrapping_mul(seed | 1).rotate_left(17));
        let body = format!(
            "{{{}}}",
            order
                .iter()
                .map(|&index| {
                    let (name, field) = &fields[index];
                    format!("{}:{}", json!(name), field)
                })
                .collect::<Vec<_>>()
                .join(",")
        );
        let endpoint = serde_json::from_str::<InterfaceEndpoint>(&body);
        prop_assert_eq!(
            endpoint.ok(),
            Some(InterfaceEndpoint {
                interface_endpoint_id: id,
                connection_status: status_text,
                error_message,
                delete_requested,
            }),
            "{}", body
        );
    }
}

#[test]
fn documented_body_decodes() {
    let body =
        br#"{ "interfaceEndpointId": "vpce-08fb7e9319909ec7b", "connectionStatus": "PENDING",
  "errorMessage": null, "deleteRequested": false }"#;
    let endpoint: InterfaceEndpoint = serde_json::from_slice(body).unwrap();
    assert_eq!(endpoint.connection_status, "PENDING");
}

#[test]
fn deeply_nested_json_is_an_error_not_a_stack_overflow() {
    for body in [
        "[".repeat(1_000_000),
        "{\"a\":".repeat(200_000),
        format!(
            "{{\"connectionStatus\":\"PENDING\",\"deleteRequested\":false,\"x\":{}}}",
            "[".repeat(100_000)
        ),
    ] {
        assert!(serde_json::from_str::<InterfaceEndpoint>(&body).is_err());
        let error = ApiError::from_body(500, body.as_bytes(), None, RouteFamily::Legacy);
        assert!(error.detail.unwrap().ends_with('…'));
    }
}

#[test]
fn a_huge_declared_string_in_json_is_not_preallocated() {
    // JSON declares no lengths; an unterminated string of a megabyte is read and refused.
    let body = format!("{{\"connectionStatus\":\"{}", "x".repeat(1 << 20));
    let (result, peak) = peak_heap(|| serde_json::from_str::<InterfaceEndpoint>(&body));
    assert!(result.is_err());
    assert!(peak <= 4 * body.len(), "{peak}");
}
