//! The data source framework, called in-process the way Terraform calls the provider:
//! - a data source defined only in this file, registered only here, gets a served schema (with a
//!   nested list), validation at validate time and before the read, a typed read and a docs page,
//!   with no other code: adding a data source is its file and a registry line;
//! - `atlas_interface_endpoints` keeps at most 4 endpoint reads in flight, measured by a server
//!   that counts the requests it is answering at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tonic::Request;

use crate::plugin_client::{object, provider_config, text};

use terraform_provider_atlas::proto::tfplugin6 as proto;
use terraform_provider_atlas::proto::tfplugin6::provider_server::Provider;
use terraform_provider_atlas::provider::AtlasProvider;
use terraform_provider_atlas::provider::data_sources::{
    self, DataSource, ReadContext, RegisteredDataSource,
};
use terraform_provider_atlas::provider::diagnostics::{Diagnostic, Diagnostics};
use terraform_provider_atlas::provider::schema::{Attribute, AttributeType, Schema};
use terraform_provider_atlas::provider::validators::{self, Validator};
use terraform_provider_atlas::provider::value::Value;

// ---------------------------------------------------------------------------------------------
// A data source that exists only in this test
// ---------------------------------------------------------------------------------------------

/// Counts its reads, so that the test can tell a read refused before it started.
struct Greeting {
    reads: Arc<AtomicUsize>,
}

#[derive(Deserialize)]
struct GreetingConfig {
    project_id: String,
    name: String,
}

#[derive(Serialize)]
struct GreetingState {
    message: String,
    letters: Vec<Letter>,
}

#[derive(Serialize)]
struct Letter {
    letter: String,
    vowel: bool,
}

#[async_trait::async_trait]
impl DataSource for Greeting {
    type Config = GreetingConfig;
    type State = GreetingState;
    const NAME: &'static str = "test_greeting";
    const WHAT: &'static str = "greeting";

    fn schema(&self) -> Schema {
        Schema {
            description: "Greets someone in a project.",
            attributes: vec![
                Attribute::required("project_id", AttributeType::String, "The project.")
                    .validated(validators::is_object_id("an Atlas project")),
                Attribute::required("name", AttributeType::String, "Whom to greet.").validated(
                    Validator::string(|attribute, name| {
                        name.is_empty().then(|| {
                            Diagnostic::error("Empty Name", "Say whom to greet.").on(attribute)
                        })
                    }),
                ),
                Attribute::computed("message", AttributeType::String, "The greeting."),
                Attribute::computed(
                    "letters",
                    AttributeType::ListNested(vec![
                        Attribute::computed("letter", AttributeType::String, "One letter."),
                        Attribute::computed("vowel", AttributeType::Bool, "Whether it is a vowel."),
                    ]),
                    "The name's letters.",
                ),
            ],
        }
    }

    async fn read(
        &self,
        config: GreetingConfig,
        _context: &ReadContext<'_>,
    ) -> Result<GreetingState, Diagnostics> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        Ok(GreetingState {
            message: format!("Hello, {} of {}", config.name, config.project_id),
            letters: config
                .name
                .chars()
                .map(|letter| Letter {
                    letter: letter.to_string(),
                    vowel: "aeiou".contains(letter),
                })
                .collect(),
        })
    }
}

const PROJECT: &str = "5f1a2b3c4d5e6f7a8b9c0d1e";
const LINK: &str = "6a1a2b3c4d5e6f7a8b9c0d1e";

fn greeting_config(project: &str, name: &str) -> Value {
    object(&[
        ("project_id", text(project)),
        ("name", text(name)),
        ("message", Value::Null),
        ("letters", Value::Null),
    ])
}

async fn configured(provider: &AtlasProvider, base_url: &str) {
    let response = provider
        .configure_provider(Request::new(proto::configure_provider::Request {
            terraform_version: "1.11.4".into(),
            config: Some(provider_config(base_url, fake_atlas::PRIVATE_KEY).encode()),
            client_capabilities: None,
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(
        response.diagnostics.is_empty(),
        "{:?}",
        response.diagnostics
    );
}

async fn read(
    provider: &AtlasProvider,
    type_name: &str,
    config: Value,
) -> proto::read_data_source::Response {
    provider
        .read_data_source(Request::new(proto::read_data_source::Request {
            type_name: type_name.into(),
            config: Some(config.encode()),
            provider_meta: None,
            client_capabilities: None,
        }))
        .await
        .unwrap()
        .into_inner()
}

#[tokio::test]
async fn a_data_source_registered_only_in_a_test_gets_schema_validation_read_and_docs() {
    let reads = Arc::new(AtomicUsize::new(0));
    let provider = AtlasProvider::with_data_sources(
        Box::new(|_| None),
        vec![RegisteredDataSource::new(Greeting {
            reads: Arc::clone(&reads),
        })],
    );

    // The schema Terraform gets: the type name built from the provider's prefix, the nested
    // list as a nested attribute with LIST nesting.
    let schema = provider
        .get_provider_schema(Request::new(proto::get_provider_schema::Request {}))
        .await
        .unwrap()
        .into_inner();
    let block = schema.data_source_schemas["atlas_test_greeting"]
        .block
        .clone()
        .unwrap();
    let letters = block
        .attributes
        .iter()
        .find(|attribute| attribute.name == "letters")
        .unwrap();
    let nested = letters.nested_type.as_ref().expect("a nested attribute");
    assert!(letters.computed && letters.r#type.is_empty());
    assert_eq!(
        nested.nesting,
        proto::schema::object::NestingMode::List as i32
    );
    assert_eq!(nested.attributes.len(), 2);

    // Validation comes from the schema's validators.
    let validation = provider
        .validate_data_resource_config(Request::new(
            proto::validate_data_resource_config::Request {
                type_name: "atlas_test_greeting".into(),
                config: Some(greeting_config("nope", "").encode()),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    let summaries: Vec<_> = validation
        .diagnostics
        .iter()
        .map(|diagnostic| diagnostic.summary.as_str())
        .collect();
    assert_eq!(summaries, ["Invalid Project ID", "Empty Name"]);

    // The same validators run before the read: a bad value never reaches the data source.
    configured(&provider, "http://127.0.0.1:9").await;
    let refused = read(
        &provider,
        "atlas_test_greeting",
        greeting_config("nope", "x"),
    )
    .await;
    assert_eq!(refused.diagnostics[0].summary, "Invalid Project ID");
    assert!(refused.state.is_none());
    assert_eq!(reads.load(Ordering::SeqCst), 0);

    // A good read: typed config in, typed state out, arguments echoed, nested list encoded.
    let answer = read(
        &provider,
        "atlas_test_greeting",
        greeting_config(PROJECT, "ada"),
    )
    .await;
    assert!(answer.diagnostics.is_empty(), "{:?}", answer.diagnostics);
    let state = Value::decode(answer.state.as_ref()).unwrap();
    assert_eq!(state.attribute("name"), &text("ada"));
    assert_eq!(
        state.attribute("message"),
        &text(&format!("Hello, ada of {PROJECT}"))
    );
    assert_eq!(
        state.attribute("letters"),
        &Value::List(vec![
            object(&[("letter", text("a")), ("vowel", Value::Bool(true))]),
            object(&[("letter", text("d")), ("vowel", Value::Bool(false))]),
            object(&[("letter", text("a")), ("vowel", Value::Bool(true))]),
        ])
    );
    assert_eq!(reads.load(Ordering::SeqCst), 1);

    // Docs: the page comes from the schema and examples/data-sources/<type>/ alone.
    let root = tempfile::tempdir().unwrap();
    let examples = root
        .path()
        .join("examples/data-sources/atlas_test_greeting");
    std::fs::create_dir_all(examples.join("loud")).unwrap();
    std::fs::create_dir_all(root.path().join("examples/provider")).unwrap();
    std::fs::write(
        root.path().join("examples/provider/provider.tf"),
        "provider \"atlas\" {}\n",
    )
    .unwrap();
    std::fs::write(
        examples.join("data-source.tf"),
        "data \"atlas_test_greeting\" \"x\" {}\n",
    )
    .unwrap();
    std::fs::write(
        examples.join("loud/main.tf"),
        "# Greet loudly\n#\n# Shouts.\noutput \"x\" {}\n",
    )
    .unwrap();
    let pages = docgen::render_for(root.path(), provider.data_sources()).unwrap();
    let page = pages
        .iter()
        .find(|page| page.path == docgen::data_source_page_path("atlas_test_greeting"))
        .expect("a page for the test data source");
    for expected in [
        "Greets someone in a project.",
        "data \"atlas_test_greeting\" \"x\" {}",
        "### Greet loudly",
        "# Shouts.",
        "- `letters` (Attributes List) The name's letters.",
        "### Nested Schema for `letters`",
        "- `vowel` (Boolean) Whether it is a vowel.",
    ] {
        assert!(
            page.contents.contains(expected),
            "{expected:?} not in:\n{}",
            page.contents
        );
    }
}

#[test]
fn the_registry_serves_every_data_source_each_with_its_examples() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let names: Vec<String> = data_sources::registry()
        .iter()
        .map(|data_source| data_source.type_name().to_owned())
        .collect();
    assert_eq!(
        names,
        [
            "atlas_interface_endpoint",
            "atlas_interface_endpoints",
            "atlas_private_endpoint",
            "atlas_private_endpoints",
            "atlas_private_link"
        ]
    );
    for name in names {
        assert!(
            root.join(format!("examples/data-sources/{name}/data-source.tf"))
                .is_file(),
            "{name} has no example"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Requests in flight for a list of endpoints
// ---------------------------------------------------------------------------------------------

/// An HTTP server on 127.0.0.1 that answers the private link with `endpoints` ids and each
/// endpoint after `delay`, recording how many endpoint requests it held at once.
struct CountingAtlas {
    url: String,
    in_flight: Arc<AtomicUsize>,
    most_in_flight: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
}

impl CountingAtlas {
    async fn start(endpoints: usize, delay: Duration) -> CountingAtlas {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let atlas = CountingAtlas {
            url,
            in_flight: Arc::new(AtomicUsize::new(0)),
            most_in_flight: Arc::new(AtomicUsize::new(0)),
            requests: Arc::new(AtomicUsize::new(0)),
        };
        let ids: Vec<String> = (0..endpoints)
            .map(|number| format!("vpce-{number:017x}"))
            .collect();
        let (in_flight, most, requests) = (
            Arc::clone(&atlas.in_flight),
            Arc::clone(&atlas.most_in_flight),
            Arc::clone(&atlas.requests),
        );
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (ids, in_flight, most, requests) = (
                    ids.clone(),
                    Arc::clone(&in_flight),
                    Arc::clone(&most),
                    Arc::clone(&requests),
                );
                tokio::spawn(async move {
                    let _ = serve(stream, &ids, delay, &in_flight, &most, &requests).await;
                });
            }
        });
        atlas
    }
}

/// Answers requests on one keep-alive connection: a request without `Authorization` gets a
/// digest challenge (the client reuses its nonce afterwards), any answer to it is accepted, and
/// only those answered requests are counted.
async fn serve(
    mut stream: TcpStream,
    ids: &[String],
    delay: Duration,
    in_flight: &AtomicUsize,
    most: &AtomicUsize,
    requests: &AtomicUsize,
) -> std::io::Result<()> {
    let mut buffer = Vec::new();
    loop {
        let mut chunk = [0u8; 4096];
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            return Ok(());
        }
        buffer.extend_from_slice(&chunk[..read]);
        let Some(end) = buffer.windows(4).position(|window| window == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&buffer[..end]).into_owned();
        buffer.drain(..end + 4);
        if !head.to_ascii_lowercase().contains("\r\nauthorization:") {
            let body = r#"{"error":401,"reason":"Unauthorized","detail":"You are not authorized for this resource."}"#;
            let response = format!(
                "HTTP/1.1 401 Unauthorized\r\nwww-authenticate: Digest realm=\"MMS Public API\", domain=\"\", \
                 nonce=\"counting\", algorithm=MD5, qop=\"auth\", stale=false\r\ncontent-type: application/json\r\n\
                 content-length: {}\r\n\r\n{body}",
                body.len()
            );
            stream.write_all(response.as_bytes()).await?;
            continue;
        }
        requests.fetch_add(1, Ordering::SeqCst);
        let path = head
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .to_owned();
        let body = if let Some(endpoint) = path.split("/interfaceEndpoints/").nth(1) {
            let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(delay).await;
            in_flight.fetch_sub(1, Ordering::SeqCst);
            serde_json::json!({
                "interfaceEndpointId": endpoint,
                "connectionStatus": "AVAILABLE",
                "errorMessage": null,
                "deleteRequested": false,
            })
        } else {
            serde_json::json!({
                "id": LINK,
                "endpointServiceName": "com.amazonaws.vpce.us-east-1.vpce-svc-0a1b2c3d4e5f60718",
                "errorMessage": null,
                "interfaceEndpoints": ids,
                "status": "AVAILABLE",
            })
        }
        .to_string();
        let response = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(response.as_bytes()).await?;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_list_of_30_endpoints_keeps_at_most_4_reads_in_flight_and_costs_31_requests() {
    let atlas = CountingAtlas::start(30, Duration::from_millis(50)).await;
    let provider = AtlasProvider::with_environment(Box::new(|_| None));
    configured(&provider, &atlas.url).await;
    let answer = read(
        &provider,
        "atlas_interface_endpoints",
        object(&[
            ("project_id", text(PROJECT)),
            ("private_link_id", text(LINK)),
            ("endpoints", Value::Null),
            ("id", Value::Null),
        ]),
    )
    .await;
    assert!(answer.diagnostics.is_empty(), "{:?}", answer.diagnostics);
    let state = Value::decode(answer.state.as_ref()).unwrap();
    let Value::List(endpoints) = state.attribute("endpoints") else {
        panic!("{state:?}")
    };
    let ids: Vec<_> = endpoints
        .iter()
        .map(|endpoint| {
            endpoint
                .attribute("interface_endpoint_id")
                .as_str()
                .unwrap()
        })
        .collect();
    let expected: Vec<String> = (0..30)
        .map(|number| format!("vpce-{number:017x}"))
        .collect();
    assert_eq!(ids, expected, "in Atlas's order");
    assert_eq!(atlas.requests.load(Ordering::SeqCst), 31);
    let most = atlas.most_in_flight.load(Ordering::SeqCst);
    eprintln!("30 endpoints: 31 answered requests, at most {most} endpoint reads in flight");
    // Bounded by 4; and with 50 ms per answer the reads do overlap (a sequential read would
    // be correct but slow: 30 round trips in a row).
    assert!((2..=4).contains(&most), "at most 4 in flight, got {most}");
}

/// The configuration of `atlas_interface_endpoints` for the fake's link.
fn endpoints_config() -> Value {
    object(&[
        ("project_id", text(PROJECT)),
        ("private_link_id", text(LINK)),
        ("endpoints", Value::Null),
        ("id", Value::Null),
    ])
}

/// A 200 answer of the fake with this JSON body, for the next authenticated request.
fn answer_with(body: serde_json::Value) -> fake_atlas::Fault {
    fake_atlas::Fault::Body {
        content_type: "application/json".into(),
        body: body.to_string().into_bytes(),
    }
}

/// The link's v1.0 body listing `ids`.
fn link_listing(ids: &[&str]) -> serde_json::Value {
    serde_json::json!({
        "id": LINK,
        "endpointServiceName": fake_atlas::ENDPOINT_SERVICE_NAME,
        "errorMessage": null,
        "interfaceEndpoints": ids,
        "status": "AVAILABLE",
    })
}

/// The fake and a provider configured for it.
async fn provider_on_fake() -> (fake_atlas::FakeAtlas, AtlasProvider) {
    let atlas = fake_atlas::FakeAtlas::start().await;
    let provider = AtlasProvider::with_environment(Box::new(|_| None));
    configured(&provider, &atlas.url()).await;
    (atlas, provider)
}

/// The endpoint reads the fake saw (paths below the link's).
fn endpoint_reads(atlas: &fake_atlas::FakeAtlas) -> Vec<String> {
    atlas
        .requests()
        .into_iter()
        .filter(|request| request.had_authorization && request.path.contains("interfaceEndpoints"))
        .map(|request| request.path)
        .collect()
}

fn listed_ids(answer: &proto::read_data_source::Response) -> Vec<String> {
    let state = Value::decode(answer.state.as_ref()).unwrap();
    let Value::List(endpoints) = state.attribute("endpoints") else {
        panic!("{state:?}")
    };
    endpoints
        .iter()
        .map(|endpoint| {
            endpoint
                .attribute("interface_endpoint_id")
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

/// An endpoint's v1.0 body, AVAILABLE, with this id.
fn endpoint_answer(id: &str) -> serde_json::Value {
    serde_json::json!({
        "interfaceEndpointId": id,
        "connectionStatus": "AVAILABLE",
        "errorMessage": null,
        "deleteRequested": false,
    })
}

/// The one diagnostic of a read that returned no state.
fn only_error(answer: &proto::read_data_source::Response) -> &proto::Diagnostic {
    assert!(answer.state.is_none(), "a state was returned");
    let [diagnostic] = &answer.diagnostics[..] else {
        panic!("{:?}", answer.diagnostics)
    };
    diagnostic
}

const ENDPOINT_A: &str = "vpce-0a0000000000000a1";
const ENDPOINT_B: &str = "vpce-0b0000000000000b2";

#[tokio::test]
async fn a_link_listing_dot_segments_and_an_empty_id_fails_naming_them_and_reads_no_endpoint() {
    let (atlas, provider) = provider_on_fake().await;
    atlas.put(ENDPOINT_A, fake_atlas::Endpoint::with_status("AVAILABLE"));
    atlas.push_fault(answer_with(link_listing(&[".", "..", "", ENDPOINT_A])));
    let answer = read(&provider, "atlas_interface_endpoints", endpoints_config()).await;
    let diagnostic = only_error(&answer);
    assert_eq!(diagnostic.summary, "Atlas Listed an Unusable Id");
    for shown in [r#"".""#, r#""..""#, r#""""#] {
        assert!(diagnostic.detail.contains(shown), "{}", diagnostic.detail);
    }
    assert!(
        diagnostic.detail.contains("3 interface endpoint id(s)"),
        "{}",
        diagnostic.detail
    );
    assert!(diagnostic.detail.contains(LINK), "{}", diagnostic.detail);
    assert_eq!(
        endpoint_reads(&atlas),
        Vec::<String>::new(),
        "no endpoint is read"
    );
}

#[tokio::test]
async fn an_id_listed_twice_is_read_once_in_its_first_place() {
    let (atlas, provider) = provider_on_fake().await;
    atlas.put(ENDPOINT_A, fake_atlas::Endpoint::with_status("AVAILABLE"));
    atlas.put(ENDPOINT_B, fake_atlas::Endpoint::with_status("PENDING"));
    atlas.push_fault(answer_with(link_listing(&[
        ENDPOINT_B, ENDPOINT_A, ENDPOINT_B, ENDPOINT_A,
    ])));
    let answer = read(&provider, "atlas_interface_endpoints", endpoints_config()).await;
    assert!(answer.diagnostics.is_empty(), "{:?}", answer.diagnostics);
    assert_eq!(listed_ids(&answer), [ENDPOINT_B, ENDPOINT_A]);
    assert_eq!(
        endpoint_reads(&atlas).len(),
        2,
        "{:?}",
        endpoint_reads(&atlas)
    );
}

#[tokio::test]
async fn an_answer_about_another_endpoint_is_an_error_naming_both_ids() {
    let (atlas, provider) = provider_on_fake().await;
    atlas.push_fault(answer_with(link_listing(&[ENDPOINT_A])));
    atlas.push_fault(answer_with(endpoint_answer(ENDPOINT_B)));
    let answer = read(&provider, "atlas_interface_endpoints", endpoints_config()).await;
    let diagnostic = only_error(&answer);
    assert_eq!(diagnostic.summary, "Atlas Answered for Another Endpoint");
    assert!(
        diagnostic.detail.contains(ENDPOINT_A) && diagnostic.detail.contains(ENDPOINT_B),
        "{}",
        diagnostic.detail
    );
}

#[tokio::test]
async fn megabyte_error_messages_are_cut_with_a_marker_saying_how_long_they_were() {
    let (atlas, provider) = provider_on_fake().await;
    let message = "AWS says no. ".repeat(80_000);
    for number in 0..20 {
        let mut endpoint = fake_atlas::Endpoint::with_status("REJECTED");
        endpoint.error_message = Some(message.clone());
        atlas.put(&format!("vpce-{number:017x}"), endpoint);
    }
    let answer = read(&provider, "atlas_interface_endpoints", endpoints_config()).await;
    assert!(answer.diagnostics.is_empty(), "{:?}", answer.diagnostics);
    let state = Value::decode(answer.state.as_ref()).unwrap();
    let Value::List(endpoints) = state.attribute("endpoints") else {
        panic!("{state:?}")
    };
    assert_eq!(endpoints.len(), 20);
    let expected_end = format!(
        "… [cut by the provider at 4096 bytes; Atlas sent {} bytes]",
        message.len()
    );
    for endpoint in endpoints {
        let shown = endpoint.attribute("error_message").as_str().unwrap();
        assert!(shown.starts_with("AWS says no. AWS says no."), "{shown}");
        assert!(shown.ends_with(&expected_end), "{shown}");
        assert!(shown.len() <= 4096 + expected_end.len());
    }
}

#[tokio::test]
async fn a_list_over_16_mib_fails_naming_the_limit() {
    let (atlas, provider) = provider_on_fake().await;
    // 17 answers just under Atlas's 1 MiB body limit each: each is accepted, the whole is not.
    let status = "P".repeat(1_000_000);
    for number in 0..17 {
        atlas.put(
            &format!("vpce-{number:017x}"),
            fake_atlas::Endpoint::with_status(&status),
        );
    }
    let answer = read(&provider, "atlas_interface_endpoints", endpoints_config()).await;
    let diagnostic = only_error(&answer);
    assert_eq!(diagnostic.summary, "List from Atlas Too Large");
    assert!(
        diagnostic.detail.contains("16 MiB"),
        "{}",
        diagnostic.detail
    );
    assert!(
        diagnostic.detail.contains("at endpoint 17 of 17"),
        "{}",
        diagnostic.detail
    );
}

#[tokio::test]
async fn a_single_endpoint_answered_with_another_id_is_an_error_naming_both() {
    let (atlas, provider) = provider_on_fake().await;
    atlas.push_fault(answer_with(endpoint_answer(ENDPOINT_B)));
    let config = object(&[
        ("project_id", text(PROJECT)),
        ("private_link_id", text(LINK)),
        ("interface_endpoint_id", text(ENDPOINT_A)),
        ("wait_for_status", Value::Null),
        ("wait_timeout", Value::Null),
        ("connection_status", Value::Null),
        ("error_message", Value::Null),
        ("delete_requested", Value::Null),
        ("id", Value::Null),
    ]);
    let answer = read(&provider, "atlas_interface_endpoint", config).await;
    let diagnostic = only_error(&answer);
    assert_eq!(diagnostic.summary, "Atlas Answered for Another Endpoint");
    assert!(
        diagnostic.detail.contains(ENDPOINT_A) && diagnostic.detail.contains(ENDPOINT_B),
        "{}",
        diagnostic.detail
    );
}
