//! Testing at the provider's boundary: arbitrary provider and data source configurations built
//! from the schemas the provider announces in GetProviderSchema, run through
//! ValidateProviderConfig, ConfigureProvider, ValidateDataResourceConfig and ReadDataSource of an
//! in-process `AtlasProvider` against a fresh fake Atlas. Shared by `tests/plugin/boundary.rs`
//! (proptest) and `fuzz/fuzz_targets/boundary_config.rs` (cargo fuzz), so both explore the same
//! space.
//!
//! # Design
//! - **From the schema.** The generator reads the schema messages, not our Rust types: a new data
//!   source or attribute is covered as soon as the provider announces it. The schema is
//!   re-decoded into the message shapes below, which carry Terraform's full field set (nested
//!   attributes included), so that nested attributes are covered once the provider sends them.
//! - **From a byte stream.** Every choice is read from the input bytes, the simplest option
//!   (null, empty) being choice 0 and what an exhausted stream gives: proptest shrinks a failure
//!   to a short stream and so to a small configuration, and libFuzzer mutates the same bytes.
//! - **Hints by attribute name, for safety and depth, not coverage.** A name ending in `_url`
//!   only ever gets the fake's address, loopback variants or text that is no URL, so no request
//!   leaves 127.0.0.1. A name ending in `_file` gets files in a scratch directory (never devices).
//!   A name containing `timeout` gets durations valid, huge, malformed; `status` lists get Atlas
//!   statuses. Everything else is an arbitrary value of the attribute's type, or of another type.
//! - **Bounded time.** A legitimate read may wait a long time (`wait_for_status` with
//!   `wait_timeout = "24h"` on a PENDING endpoint), so a read is not required to end by itself.
//!   If it is still running after `patience`, the harness sends StopProvider, as Terraform does
//!   on Ctrl-C, and the read must then end within `grace` (with a state if it was just
//!   finishing, else an error diagnostic). When every `timeout` argument of the data source was
//!   given a duration of at most 1 s, the read must end by itself within `short_wait_limit`
//!   (wait, one retry, slack): this is what catches a wait that ignores its bound. Every other
//!   RPC must answer within `rpc_limit`.
//! - **Checks.** No panic (a panic fails the test or is the fuzzer's crash); every RPC answers
//!   `Ok`; every diagnostic has a valid severity and a summary; a read either returns a state that
//!   is an object with exactly the schema's attributes, or an error diagnostic.
#![allow(dead_code)]
// Requests end in `..Default::default()` so that fields the proto gains later need no change here.
#![allow(clippy::needless_update)]

use std::path::Path;
use std::time::Duration;

use fake_atlas::{
    Endpoint, FakeAtlas, Fault, PRIVATE_KEY, PRIVATE_LINK_ID, PROJECT_ID, PUBLIC_KEY,
};
use prost::Message as _;
use rmpv::Value as Msgpack;
use terraform_provider_atlas::proto::tfplugin6 as proto;
use terraform_provider_atlas::proto::tfplugin6::provider_server::Provider;
use terraform_provider_atlas::provider::AtlasProvider;
use tonic::Request;

/// Endpoints the fake holds in the default project and private link, one per status.
pub const ENDPOINTS: [(&str, &str); 5] = [
    ("vpce-0a0000000000000a1", "AVAILABLE"),
    ("vpce-0b0000000000000b2", "PENDING"),
    ("vpce-0c0000000000000c3", "FAILED"),
    ("vpce-0d0000000000000d4", "REJECTED"),
    ("vpce-0e0000000000000e5", "DELETING"),
];

/// Private endpoint services and endpoint ids of every cloud the fake holds
/// ([`FakeAtlas::seed_clouds`]), by Atlas's spelling of the cloud.
pub const CLOUD_ENDPOINTS: [(&str, &str, &str); 3] = [
    ("AWS", PRIVATE_LINK_ID, "vpce-0a0000000000000a1"),
    (
        "AZURE",
        fake_atlas::AZURE_PRIVATE_LINK_ID,
        fake_atlas::AZURE_ENDPOINT_ID,
    ),
    (
        "GCP",
        fake_atlas::GCP_PRIVATE_LINK_ID,
        fake_atlas::GCP_ENDPOINT_GROUP,
    ),
];

const STATUSES: [&str; 9] = [
    "AVAILABLE",
    "PENDING",
    "PENDING_ACCEPTANCE",
    "FAILED",
    "REJECTED",
    "DELETING",
    "INITIATING",
    "WAITING_FOR_USER",
    "available",
];

/// How long the harness waits, per case.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// How long a read may run before the harness sends StopProvider.
    pub patience: Duration,
    /// How long a read may take to end after StopProvider.
    pub grace: Duration,
    /// How long any other RPC may take.
    pub rpc_limit: Duration,
    /// How long a read whose waits are all at most 1 s may take to end by itself (`None`: no
    /// such check, such a read is stopped after `patience` like any other).
    pub short_wait_limit: Option<Duration>,
}

// ---------------------------------------------------------------------------------------------
// Choices read from the input bytes.

/// The input bytes as a stream of choices; an exhausted stream answers 0.
pub struct Choices<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Choices<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, at: 0 }
    }

    fn byte(&mut self) -> u8 {
        let byte = self.bytes.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        byte
    }

    /// A number in `0..n` (0 when `n` is 0).
    fn below(&mut self, n: usize) -> usize {
        match n {
            0 | 1 => 0,
            2..=256 => usize::from(self.byte()) % n,
            _ => (usize::from(self.byte()) << 8 | usize::from(self.byte())) % n,
        }
    }

    fn pick<'t, T>(&mut self, options: &'t [T]) -> &'t T {
        &options[self.below(options.len())]
    }

    fn u64(&mut self) -> u64 {
        (0..8).fold(0, |value, _| value << 8 | u64::from(self.byte()))
    }
}

// ---------------------------------------------------------------------------------------------
// The schema, as Terraform's tfplugin6 messages define it (field numbers from tfplugin6.proto).

#[derive(Clone, PartialEq, prost::Message)]
pub struct SchemaMessage {
    #[prost(message, optional, tag = "2")]
    pub block: Option<BlockMessage>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct BlockMessage {
    #[prost(message, repeated, tag = "2")]
    pub attributes: Vec<AttributeMessage>,
    #[prost(message, repeated, tag = "3")]
    pub block_types: Vec<NestedBlockMessage>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct AttributeMessage {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(bytes = "vec", tag = "2")]
    pub r#type: Vec<u8>,
    #[prost(bool, tag = "4")]
    pub required: bool,
    #[prost(bool, tag = "5")]
    pub optional: bool,
    #[prost(bool, tag = "6")]
    pub computed: bool,
    #[prost(message, optional, tag = "10")]
    pub nested_type: Option<ObjectMessage>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ObjectMessage {
    #[prost(message, repeated, tag = "1")]
    pub attributes: Vec<AttributeMessage>,
    #[prost(int32, tag = "3")]
    pub nesting: i32,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct NestedBlockMessage {
    #[prost(string, tag = "1")]
    pub type_name: String,
    #[prost(message, optional, tag = "2")]
    pub block: Option<BlockMessage>,
    #[prost(int32, tag = "3")]
    pub nesting: i32,
}

/// A cty type.
#[derive(Clone, Debug)]
pub enum Type {
    String,
    Number,
    Bool,
    Dynamic,
    List(Box<Type>),
    Set(Box<Type>),
    Map(Box<Type>),
    Object(Vec<Field>),
    Tuple(Vec<Type>),
}

/// One attribute of an object or block.
#[derive(Clone, Debug)]
pub struct Field {
    pub name: String,
    pub kind: Type,
    /// Computed and neither required nor optional: Terraform sends null in a configuration.
    pub computed_only: bool,
    pub required: bool,
}

/// The type of a cty type in its JSON form ("string", ["list","string"], ["object",{...}]).
fn type_from_json(json: &serde_json::Value) -> Type {
    use serde_json::Value as J;
    match json {
        J::String(name) => match name.as_str() {
            "string" => Type::String,
            "number" => Type::Number,
            "bool" => Type::Bool,
            _ => Type::Dynamic,
        },
        J::Array(parts) => match (parts.first().and_then(J::as_str), parts.get(1)) {
            (Some("list"), Some(element)) => Type::List(Box::new(type_from_json(element))),
            (Some("set"), Some(element)) => Type::Set(Box::new(type_from_json(element))),
            (Some("map"), Some(element)) => Type::Map(Box::new(type_from_json(element))),
            (Some("object"), Some(J::Object(attributes))) => Type::Object(
                attributes
                    .iter()
                    .map(|(name, kind)| Field {
                        name: name.clone(),
                        kind: type_from_json(kind),
                        computed_only: false,
                        required: false,
                    })
                    .collect(),
            ),
            (Some("tuple"), Some(J::Array(elements))) => {
                Type::Tuple(elements.iter().map(type_from_json).collect())
            }
            _ => Type::Dynamic,
        },
        _ => Type::Dynamic,
    }
}

fn field_from_attribute(attribute: &AttributeMessage) -> Field {
    let kind = match &attribute.nested_type {
        Some(object) => {
            let fields = Type::Object(object.attributes.iter().map(field_from_attribute).collect());
            match object.nesting {
                2 => Type::List(Box::new(fields)),
                3 => Type::Set(Box::new(fields)),
                4 => Type::Map(Box::new(fields)),
                _ => fields,
            }
        }
        None => serde_json::from_slice(&attribute.r#type)
            .map(|json| type_from_json(&json))
            .unwrap_or(Type::Dynamic),
    };
    Field {
        name: attribute.name.clone(),
        kind,
        computed_only: attribute.computed && !attribute.required && !attribute.optional,
        required: attribute.required,
    }
}

/// The fields of a block: its attributes, then its nested blocks.
pub fn fields_of_block(block: &BlockMessage) -> Vec<Field> {
    let mut fields: Vec<Field> = block.attributes.iter().map(field_from_attribute).collect();
    for nested in &block.block_types {
        let inner = Type::Object(
            nested
                .block
                .as_ref()
                .map(fields_of_block)
                .unwrap_or_default(),
        );
        let kind = match nested.nesting {
            2 => Type::List(Box::new(inner)),
            3 => Type::Set(Box::new(inner)),
            4 => Type::Map(Box::new(inner)),
            _ => inner,
        };
        fields.push(Field {
            name: nested.type_name.clone(),
            kind,
            computed_only: false,
            required: false,
        });
    }
    fields
}

/// The fields of a schema from the provider.
pub fn fields_of(schema: &proto::Schema) -> Vec<Field> {
    SchemaMessage::decode(schema.encode_to_vec().as_slice())
        .ok()
        .and_then(|schema| schema.block)
        .map(|block| fields_of_block(&block))
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Values.

/// What the generator needs to know about the world of one case.
pub struct World<'a> {
    pub fake_url: String,
    pub fake_port: u16,
    pub scratch: &'a Path,
    /// A calm case: attributes null or plausible, so that most reads reach the fake and
    /// return a state (half the cases; the others are wild).
    pub calm: bool,
    /// A token the fake accepts, for an `access_token` argument.
    pub access_token: String,
}

/// What the generator chose, as far as the harness needs to know.
#[derive(Default)]
struct Chosen {
    /// Whether every `timeout` argument got a valid duration of at most 1 s.
    short_waits: bool,
}

/// What a name says about how to generate its value.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Hint {
    None,
    Url,
    File,
    Duration,
    Status,
}

fn hint_for(name: &str) -> Hint {
    if name.ends_with("_url") {
        Hint::Url
    } else if name.ends_with("_file") {
        Hint::File
    } else if name.contains("timeout") {
        Hint::Duration
    } else if name.contains("status") {
        Hint::Status
    } else {
        Hint::None
    }
}

pub fn text(value: impl Into<String>) -> Msgpack {
    Msgpack::String(value.into().into())
}

/// Text of any kind: control characters, quotes, escapes, non-ASCII, lookalikes, long.
fn arbitrary_text(choices: &mut Choices, forbidden: &[char]) -> String {
    const ALPHABET: &[char] = &[
        'a',
        'f',
        'z',
        'A',
        'Z',
        '0',
        '1',
        '9',
        '-',
        '_',
        '.',
        '/',
        ':',
        '?',
        '#',
        '%',
        '@',
        '"',
        '\\',
        '\'',
        ' ',
        '\t',
        '\n',
        '\r',
        '\0',
        '\u{7f}',
        '\u{85}',
        '\u{a0}',
        '\u{b5}',
        '\u{3bc}',
        'é',
        'е',
        'Д',
        '\u{200b}',
        '\u{202e}',
        '\u{feff}',
        '😀',
        '\u{10ffff}',
        '{',
        '$',
        '*',
    ];
    let length = match choices.below(8) {
        7 => choices.below(70_000),
        _ => choices.below(40),
    };
    let repeat = choices.below(4) == 3;
    let mut result = String::new();
    let mut last = 'a';
    for _ in 0..length {
        if !repeat || result.is_empty() {
            last = *choices.pick(ALPHABET);
        }
        if !forbidden.contains(&last) {
            result.push(last);
        }
    }
    result
}

fn number(choices: &mut Choices) -> Msgpack {
    match choices.below(24) {
        0 => Msgpack::from(0),
        1 => Msgpack::from(1),
        2 => Msgpack::from(choices.below(30) as i64),
        3 => Msgpack::from(-1),
        4 => Msgpack::from(i64::MIN),
        5 => Msgpack::from(u64::MAX),
        6 => Msgpack::from((1u64 << 53) + 1),
        7 => Msgpack::from(choices.u64()),
        8 => Msgpack::F64(0.1),
        9 => Msgpack::F64(2.5),
        10 => Msgpack::F64(-0.0),
        11 => Msgpack::F64(1e300),
        12 => Msgpack::F64(-1e300),
        13 => Msgpack::F64(f64::INFINITY),
        14 => Msgpack::F64(f64::NEG_INFINITY),
        15 => Msgpack::F64(f64::NAN),
        16 => Msgpack::F32(3.5),
        17 => Msgpack::F64(f64::from_bits(choices.u64())),
        18 => Msgpack::F64(4.0),
        // Terraform sends a number that no float64 holds as its decimal text.
        19 => text("2.000000000000000000001"),
        20 => text("1e400"),
        21 => text("99999999999999999999999999"),
        22 => text("-0.5"),
        _ => text(arbitrary_text(choices, &[])),
    }
}

fn duration_text(choices: &mut Choices, chosen: &mut Chosen) -> String {
    const SHORT: [&str; 4] = ["100ms", "300ms", "1s", "0.5s"];
    const OTHER: [&str; 22] = [
        "30s",
        "10m",
        "1h",
        "1h30m",
        "1.5h",
        "24h",
        "24h0m1s",
        "25h",
        "0",
        "0s",
        "-5s",
        "1d",
        "1M",
        "5 m",
        " 1s",
        "",
        "300000000000y",
        "18446744073709551615s",
        "292277024626y",
        "2562047h47m16.854775807s",
        "9223372036854775807ns",
        ".s",
    ];
    match choices.below(8) {
        // Leaves `short_waits` as it is: true unless an earlier duration was long.
        0..=3 => choices.pick(&SHORT).to_string(),
        4..=6 => {
            chosen.short_waits = false;
            choices.pick(&OTHER).to_string()
        }
        _ => {
            chosen.short_waits = false;
            arbitrary_text(choices, &[])
        }
    }
}

fn string_for(hint: Hint, choices: &mut Choices, world: &World, chosen: &mut Chosen) -> String {
    match hint {
        Hint::Url => match choices.below(8) {
            0 => world.fake_url.clone(),
            1 => format!("{}/api/", world.fake_url.trim_end_matches('/')),
            // Nothing listens on port 1 of the loopback address.
            2 => "http://127.0.0.1:1".into(),
            3 => format!("http://admin:pw@127.0.0.1:{}/", world.fake_port),
            4 => format!("https://127.0.0.1:{}", world.fake_port),
            5 => format!("http://localhost:{}/?x=1#y", world.fake_port),
            // No ':' so never a URL with a scheme, so never a request to another host.
            _ => arbitrary_text(choices, &[':']),
        },
        Hint::File => {
            let path = world
                .scratch
                .join(format!("file-{}", choices.below(1 << 16)));
            match choices.below(5) {
                0 => path.display().to_string(),
                1 => {
                    let contents = arbitrary_text(choices, &[]);
                    let _ = std::fs::write(&path, contents);
                    path.display().to_string()
                }
                2 => {
                    let _ = std::fs::write(
                        &path,
                        "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n",
                    );
                    path.display().to_string()
                }
                3 => world.scratch.display().to_string(),
                // No '/' so only ever a relative name in the test's directory.
                _ => arbitrary_text(choices, &['/']),
            }
        }
        Hint::Duration => duration_text(choices, chosen),
        Hint::Status => match choices.below(4) {
            0..=2 => choices.pick(&STATUSES).to_string(),
            _ => arbitrary_text(choices, &[]),
        },
        Hint::None => match choices.below(12) {
            0 => PROJECT_ID.into(),
            1 => PRIVATE_LINK_ID.into(),
            2..=4 => choices.pick(&ENDPOINTS).0.into(),
            5 => "vpce-0ffffffffffffffff".into(),
            6 => "6b0000000000000000000bad".into(),
            7 => choices
                .pick(&[
                    PUBLIC_KEY,
                    PRIVATE_KEY,
                    fake_atlas::CLIENT_ID,
                    fake_atlas::CLIENT_SECRET,
                    world.access_token.as_str(),
                    "v1.0",
                    "v2",
                    "",
                    " ",
                ])
                .to_string(),
            8 => format!("{PROJECT_ID}\n"),
            9 => {
                let (cloud, link, endpoint) = *choices.pick(&CLOUD_ENDPOINTS);
                match choices.below(5) {
                    0 => cloud.to_owned(),
                    1 => cloud.to_lowercase(),
                    2 => link.to_owned(),
                    3 => endpoint.to_owned(),
                    // An Azure id already encoded: refused before any request.
                    _ => endpoint.replace('/', "%2F"),
                }
            }
            _ => arbitrary_text(choices, &[]),
        },
    }
}

/// Any value at all, of no particular type.
fn any_value(choices: &mut Choices, world: &World, depth: usize, chosen: &mut Chosen) -> Msgpack {
    let kinds = [
        Type::String,
        Type::Number,
        Type::Bool,
        Type::List(Box::new(Type::String)),
        Type::Map(Box::new(Type::Number)),
        Type::Dynamic,
    ];
    let kind = choices.pick(&kinds).clone();
    typed_value(&kind, Hint::None, choices, world, depth + 1, chosen)
}

/// A value for an attribute of type `kind`: usually of that type, sometimes null, unknown, a
/// refined unknown or a value of another type.
fn value(
    kind: &Type,
    hint: Hint,
    choices: &mut Choices,
    world: &World,
    depth: usize,
    chosen: &mut Chosen,
) -> Msgpack {
    let duration = hint == Hint::Duration;
    let before = chosen.short_waits;
    if duration {
        // A null, unknown or mistyped duration means the default or an error: not short.
        chosen.short_waits = false;
    }
    let generated = match choices.below(16) {
        0 => Msgpack::Nil,
        // An unknown value, as Terraform encodes it.
        1 => Msgpack::Ext(0, vec![0]),
        // A refined unknown (ext type 12) with any refinement bytes.
        2 => {
            let length = choices.below(12);
            Msgpack::Ext(12, (0..length).map(|_| choices.byte()).collect())
        }
        3 => any_value(choices, world, depth, chosen),
        _ => {
            if duration {
                chosen.short_waits = true;
            }
            typed_value(kind, hint, choices, world, depth, chosen)
        }
    };
    if duration {
        chosen.short_waits &= before;
    }
    generated
}

fn collection_length(choices: &mut Choices, depth: usize) -> usize {
    if depth > 3 {
        return choices.below(2);
    }
    match choices.below(8) {
        7 => choices.below(200),
        _ => choices.below(5),
    }
}

fn typed_value(
    kind: &Type,
    hint: Hint,
    choices: &mut Choices,
    world: &World,
    depth: usize,
    chosen: &mut Chosen,
) -> Msgpack {
    match kind {
        Type::String => text(string_for(hint, choices, world, chosen)),
        Type::Number => number(choices),
        Type::Bool => Msgpack::Boolean(choices.below(2) == 1),
        Type::Dynamic => {
            // Terraform sends a dynamic value as [type as JSON, value].
            Msgpack::Array(vec![
                Msgpack::Binary(b"\"string\"".to_vec()),
                text(arbitrary_text(choices, &[])),
            ])
        }
        Type::List(element) | Type::Set(element) => {
            let length = collection_length(choices, depth);
            Msgpack::Array(
                (0..length)
                    .map(|_| value(element, hint, choices, world, depth + 1, chosen))
                    .collect(),
            )
        }
        Type::Map(element) => {
            let length = collection_length(choices, depth);
            Msgpack::Map(
                (0..length)
                    .map(|_| {
                        (
                            text(arbitrary_text(choices, &[])),
                            value(element, hint, choices, world, depth + 1, chosen),
                        )
                    })
                    .collect(),
            )
        }
        Type::Object(fields) => object(fields, choices, world, depth + 1, chosen),
        Type::Tuple(elements) => Msgpack::Array(
            elements
                .iter()
                .map(|element| value(element, hint, choices, world, depth + 1, chosen))
                .collect(),
        ),
    }
}

/// An object with every field, as Terraform sends a configuration; rarely one is left out.
fn object(
    fields: &[Field],
    choices: &mut Choices,
    world: &World,
    depth: usize,
    chosen: &mut Chosen,
) -> Msgpack {
    let mut entries = Vec::new();
    for field in fields {
        let hint = hint_for(&field.name);
        if world.calm {
            let entry = if field.computed_only || (!field.required && choices.below(2) == 0) {
                if hint == Hint::Duration {
                    // Null means the default, which is not short.
                    chosen.short_waits = false;
                }
                Msgpack::Nil
            } else {
                plausible(field, hint, choices, world, chosen)
            };
            entries.push((text(field.name.clone()), entry));
            continue;
        }
        let entry = match choices.below(32) {
            0 => {
                if hint == Hint::Duration {
                    chosen.short_waits = false;
                }
                continue;
            }
            _ if field.computed_only && choices.below(8) != 0 => Msgpack::Nil,
            _ => value(&field.kind, hint, choices, world, depth, chosen),
        };
        entries.push((text(field.name.clone()), entry));
    }
    Msgpack::Map(entries)
}

/// A value the provider should accept, chosen by the attribute's name and type.
fn plausible(
    field: &Field,
    hint: Hint,
    choices: &mut Choices,
    world: &World,
    chosen: &mut Chosen,
) -> Msgpack {
    let name = field.name.as_str();
    match (&field.kind, hint) {
        (Type::String, Hint::Url) => text(world.fake_url.clone()),
        (Type::String, Hint::File) => Msgpack::Nil,
        (Type::String, Hint::Duration) => {
            let (duration, short) = *choices.pick(&[
                ("100ms", true),
                ("1s", true),
                ("30s", false),
                ("24h", false),
            ]);
            chosen.short_waits &= short;
            text(duration)
        }
        (Type::String, _) if name.contains("client_id") => text(fake_atlas::CLIENT_ID),
        (Type::String, _) if name.contains("client_secret") => text(fake_atlas::CLIENT_SECRET),
        (Type::String, _) if name.contains("token") => text(world.access_token.clone()),
        (Type::String, _) if name.contains("project") => text(PROJECT_ID),
        // Each cloud's own service and endpoint, mostly; now and then another cloud's.
        (Type::String, _) if name == "cloud_provider" => text(choices.pick(&CLOUD_ENDPOINTS).0),
        (Type::String, _) if name.contains("private_link") => {
            text(choices.pick(&CLOUD_ENDPOINTS).1)
        }
        (Type::String, _) if name == "endpoint_id" => text(choices.pick(&CLOUD_ENDPOINTS).2),
        (Type::String, _) if name.contains("endpoint") => text(choices.pick(&ENDPOINTS).0),
        (Type::String, _) if name.contains("public") => text(PUBLIC_KEY),
        (Type::String, _) if name.contains("private") => text(PRIVATE_KEY),
        (Type::String, _) if name.contains("version") => text(*choices.pick(&["v1.0", "v2"])),
        (Type::String, _) => text(string_for(hint, choices, world, chosen)),
        (Type::Number, _) => Msgpack::from(choices.below(5) as i64),
        (Type::Bool, _) => Msgpack::Boolean(choices.below(2) == 1),
        (Type::List(element) | Type::Set(element), Hint::Status)
            if matches!(**element, Type::String) =>
        {
            let length = 1 + choices.below(2);
            Msgpack::Array(
                (0..length)
                    .map(|_| text(*choices.pick(&STATUSES[..4])))
                    .collect(),
            )
        }
        (Type::Object(fields), _) => object(fields, choices, world, 1, chosen),
        _ => Msgpack::Nil,
    }
}

fn encode(value: &Msgpack) -> proto::DynamicValue {
    let mut msgpack = Vec::new();
    rmpv::encode::write_value(&mut msgpack, value).expect("writing to a Vec cannot fail");
    proto::DynamicValue {
        msgpack,
        json: Vec::new(),
    }
}

// ---------------------------------------------------------------------------------------------
// One case.

/// What one case did, for statistics.
#[derive(Debug, Default)]
pub struct Outcome {
    pub reads: usize,
    pub reads_with_state: usize,
    pub reads_stopped: usize,
    /// What the last read answered, for tests of one configuration.
    pub last_diagnostics: Vec<proto::Diagnostic>,
}

fn check_diagnostics(rpc: &str, diagnostics: &[proto::Diagnostic]) -> Result<(), String> {
    for diagnostic in diagnostics {
        if !(1..=2).contains(&diagnostic.severity) || diagnostic.summary.trim().is_empty() {
            return Err(format!(
                "{rpc} returned a malformed diagnostic: {diagnostic:?}"
            ));
        }
    }
    Ok(())
}

fn has_error(diagnostics: &[proto::Diagnostic]) -> bool {
    diagnostics
        .iter()
        .any(|diagnostic| diagnostic.severity == 1)
}

async fn bounded<T>(
    rpc: &str,
    limit: Duration,
    call: impl std::future::Future<Output = Result<tonic::Response<T>, tonic::Status>>,
) -> Result<T, String> {
    match tokio::time::timeout(limit, call).await {
        Err(_) => Err(format!("{rpc} did not answer within {limit:?}")),
        Ok(Err(status)) => Err(format!(
            "{rpc} failed with gRPC status {status:?}, not a diagnostic"
        )),
        Ok(Ok(response)) => Ok(response.into_inner()),
    }
}

/// Runs one case: a fresh fake Atlas, a fresh provider, configurations from `bytes`. A failure
/// says what went wrong and shows the configurations that led there.
pub async fn run_case(bytes: &[u8], limits: Limits) -> Result<Outcome, String> {
    let mut trail = String::new();
    run_case_recording(bytes, limits, &mut trail)
        .await
        .map_err(|problem| format!("{problem}\n{trail}"))
}

/// Shows a configuration in a failure message, cut to a readable length.
fn note(trail: &mut String, what: &str, value: &Msgpack) {
    let mut shown = value.to_string();
    if shown.len() > 2000 {
        let cut = (0..=2000)
            .rev()
            .find(|at| shown.is_char_boundary(*at))
            .unwrap_or(0);
        shown.truncate(cut);
        shown.push_str(" …");
    }
    trail.push_str(&format!("{what}: {shown}\n"));
}

async fn run_case_recording(
    bytes: &[u8],
    limits: Limits,
    trail: &mut String,
) -> Result<Outcome, String> {
    let session = Session::start(limits).await?;
    let mut choices = Choices::new(bytes);
    let world = World {
        fake_url: session.atlas.url(),
        fake_port: session.atlas.address().port(),
        scratch: session.scratch.path(),
        calm: choices.below(2) == 1,
        access_token: session.atlas.issue_token(Duration::from_secs(3600)),
    };
    match choices.below(8) {
        0 => session.atlas.push_fault(Fault::Status {
            status: 503,
            error_code: Some("SERVICE_UNAVAILABLE".into()),
            retry_after: Some("1".into()),
        }),
        1 => session.atlas.push_fault(Fault::Status {
            status: 500,
            error_code: None,
            retry_after: None,
        }),
        2 => session.atlas.push_fault(Fault::Reset),
        3 => session.atlas.push_fault(Fault::Body {
            content_type: "application/json".into(),
            body: arbitrary_text(&mut choices, &[]).into_bytes(),
        }),
        _ => {}
    }
    let provider_fields = session.provider_fields();
    let mut ignored = Chosen::default();
    let provider_config = object(&provider_fields, &mut choices, &world, 0, &mut ignored);
    note(trail, "provider configuration", &provider_config);
    session.configure(&provider_config).await?;

    let mut outcome = Outcome::default();
    let type_names = session.data_source_types();
    let reads = 1 + choices.below(3);
    for _ in 0..reads {
        let type_name = choices.pick(&type_names).clone();
        let mut chosen = Chosen { short_waits: true };
        let config = object(
            &session.data_source_fields(&type_name),
            &mut choices,
            &world,
            0,
            &mut chosen,
        );
        note(trail, &format!("{type_name} configuration"), &config);
        let stopped = session
            .read(&type_name, &config, chosen.short_waits, &mut outcome)
            .await?;
        if stopped {
            // A stopped provider stays stopped; the remaining reads would only be cancelled.
            break;
        }
    }
    Ok(outcome)
}

/// A fresh fake Atlas (holding [`ENDPOINTS`]) and a fresh provider whose environment points at
/// it, with the schemas the provider announced.
pub struct Session {
    pub atlas: FakeAtlas,
    pub provider: AtlasProvider,
    pub scratch: tempfile::TempDir,
    pub schemas: proto::get_provider_schema::Response,
    pub limits: Limits,
}

impl Session {
    pub async fn start(limits: Limits) -> Result<Session, String> {
        let atlas = FakeAtlas::start().await;
        for (endpoint_id, status) in ENDPOINTS {
            atlas.put(endpoint_id, Endpoint::with_status(status));
        }
        atlas.seed_clouds();
        let scratch =
            tempfile::tempdir().map_err(|error| format!("no scratch directory: {error}"))?;
        let fake_url = atlas.url();
        // Null arguments fall back to the environment: the fake, its keys, and no SSL_CERT_FILE.
        let provider = AtlasProvider::with_environment(Box::new(move |name| match name {
            "MONGODB_ATLAS_BASE_URL" => Some(fake_url.clone()),
            "MONGODB_ATLAS_PUBLIC_API_KEY" => Some(PUBLIC_KEY.to_owned()),
            "MONGODB_ATLAS_PRIVATE_API_KEY" => Some(PRIVATE_KEY.to_owned()),
            _ => None,
        }));
        let schemas = bounded(
            "GetProviderSchema",
            limits.rpc_limit,
            provider.get_provider_schema(Request::new(proto::get_provider_schema::Request {})),
        )
        .await?;
        Ok(Session {
            atlas,
            provider,
            scratch,
            schemas,
            limits,
        })
    }

    pub fn provider_fields(&self) -> Vec<Field> {
        self.schemas
            .provider
            .as_ref()
            .map(fields_of)
            .unwrap_or_default()
    }

    /// The data source type names, sorted so that a choice means the same one every run.
    pub fn data_source_types(&self) -> Vec<String> {
        let mut names: Vec<String> = self.schemas.data_source_schemas.keys().cloned().collect();
        names.sort();
        names
    }

    pub fn data_source_fields(&self, type_name: &str) -> Vec<Field> {
        self.schemas
            .data_source_schemas
            .get(type_name)
            .map(fields_of)
            .unwrap_or_default()
    }

    /// ValidateProviderConfig, then ConfigureProvider whatever the validation said: Terraform
    /// would stop at a validation error, but the provider must cope either way.
    pub async fn configure(&self, config: &Msgpack) -> Result<(), String> {
        let config = encode(config);
        let validated = bounded(
            "ValidateProviderConfig",
            self.limits.rpc_limit,
            self.provider.validate_provider_config(Request::new(
                proto::validate_provider_config::Request {
                    config: Some(config.clone()),
                    ..Default::default()
                },
            )),
        )
        .await?;
        check_diagnostics("ValidateProviderConfig", &validated.diagnostics)?;
        let configured = bounded(
            "ConfigureProvider",
            self.limits.rpc_limit,
            self.provider
                .configure_provider(Request::new(proto::configure_provider::Request {
                    terraform_version: "1.11.4".into(),
                    config: Some(config),
                    ..Default::default()
                })),
        )
        .await?;
        check_diagnostics("ConfigureProvider", &configured.diagnostics)
    }

    /// ValidateDataResourceConfig, then ReadDataSource bounded as the module docs say. Returns
    /// whether the read had to be stopped.
    pub async fn read(
        &self,
        type_name: &str,
        config: &Msgpack,
        short_waits: bool,
        outcome: &mut Outcome,
    ) -> Result<bool, String> {
        let limits = self.limits;
        let fields = self.data_source_fields(type_name);
        let config = encode(config);
        let validated = bounded(
            "ValidateDataResourceConfig",
            limits.rpc_limit,
            self.provider.validate_data_resource_config(Request::new(
                proto::validate_data_resource_config::Request {
                    type_name: type_name.to_owned(),
                    config: Some(config.clone()),
                    ..Default::default()
                },
            )),
        )
        .await?;
        check_diagnostics("ValidateDataResourceConfig", &validated.diagnostics)?;
        let read = self
            .provider
            .read_data_source(Request::new(proto::read_data_source::Request {
                type_name: type_name.to_owned(),
                config: Some(config),
                ..Default::default()
            }));
        tokio::pin!(read);
        let must_end_by_itself = limits.short_wait_limit.filter(|_| short_waits);
        let (answer, stopped) = tokio::select! {
            answer = &mut read => (answer, false),
            _ = tokio::time::sleep(must_end_by_itself.unwrap_or(limits.patience)) => {
                if let Some(limit) = must_end_by_itself {
                    return Err(format!(
                        "ReadDataSource of {type_name} ran longer than {limit:?} although every wait it \
                         was given is at most 1s"
                    ));
                }
                bounded(
                    "StopProvider",
                    limits.rpc_limit,
                    self.provider.stop_provider(Request::new(proto::stop_provider::Request {})),
                )
                .await?;
                match tokio::time::timeout(limits.grace, &mut read).await {
                    Ok(answer) => (answer, true),
                    Err(_) => {
                        return Err(format!(
                            "ReadDataSource of {type_name} did not end within {:?} of StopProvider",
                            limits.grace
                        ));
                    }
                }
            }
        };
        let answer = answer
            .map_err(|status| format!("ReadDataSource failed with gRPC status {status:?}"))?
            .into_inner();
        check_diagnostics("ReadDataSource", &answer.diagnostics)?;
        outcome.reads += 1;
        match &answer.state {
            Some(state) => {
                check_state(type_name, &fields, state, &answer.diagnostics)?;
                outcome.reads_with_state += 1;
            }
            None if has_error(&answer.diagnostics) => {}
            None => {
                return Err(format!(
                    "ReadDataSource of {type_name} returned neither a state nor an error: {:?}",
                    answer.diagnostics
                ));
            }
        }
        outcome.last_diagnostics = answer.diagnostics;
        // A stopped read may still return its state: the read can finish while StopProvider
        // is on its way. What matters is that it ends, with a state or an error (checked above).
        if stopped {
            outcome.reads_stopped += 1;
        }
        Ok(stopped)
    }
}

/// A state must be an object holding exactly the schema's attributes, or Terraform fails.
fn check_state(
    type_name: &str,
    fields: &[Field],
    state: &proto::DynamicValue,
    diagnostics: &[proto::Diagnostic],
) -> Result<(), String> {
    if has_error(diagnostics) {
        return Ok(());
    }
    let decoded = rmpv::decode::read_value(&mut state.msgpack.as_slice())
        .map_err(|error| format!("the state of {type_name} is not msgpack: {error}"))?;
    let Msgpack::Map(entries) = decoded else {
        return Err(format!(
            "the state of {type_name} is not an object: {decoded}"
        ));
    };
    let mut names: Vec<&str> = entries.iter().filter_map(|(key, _)| key.as_str()).collect();
    let mut expected: Vec<&str> = fields.iter().map(|field| field.name.as_str()).collect();
    names.sort_unstable();
    expected.sort_unstable();
    if names != expected {
        return Err(format!(
            "the state of {type_name} has attributes {names:?}, the schema {expected:?}"
        ));
    }
    Ok(())
}
