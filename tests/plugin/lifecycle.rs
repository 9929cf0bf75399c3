//! In-process tests of the plugin's life: panics answered as diagnostics, GetFunctions, ending
//! when Terraform's connection closes, stopping reads in flight when serving ends, and serving
//! Terraform while other local processes flood the socket.

use std::time::{Duration, Instant};

use crate::plugin_client::{
    ClientIdentity, Plugin, configure, endpoint_config, keys_only_environment, object,
    read_request, terraform_like_certificate, text, until_atlas_received,
};
use fake_atlas::{Endpoint, FakeAtlas, Fault, PRIVATE_LINK_ID, PROJECT_ID};
use terraform_provider_atlas::plugin::Lifetime;
use terraform_provider_atlas::plugin::accept::HANDSHAKE_DEADLINE;
use terraform_provider_atlas::plugin::lifetime::HOST_RECONNECT_GRACE;
use terraform_provider_atlas::proto::tfplugin6 as proto;
use terraform_provider_atlas::proto::tfplugin6::provider_client::ProviderClient;
use terraform_provider_atlas::provider::AtlasProvider;
use terraform_provider_atlas::provider::data_sources::{
    DataSource, ReadContext, RegisteredDataSource,
};
use terraform_provider_atlas::provider::diagnostics::Diagnostics;
use terraform_provider_atlas::provider::schema::{Attribute, AttributeType, Schema};
use terraform_provider_atlas::provider::validators::Validator;
use terraform_provider_atlas::provider::value::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use tonic::transport::Channel;

/// The endpoint id whose validator panics (a bug in a validator); any other id reaches the read.
const PANICS_IN_VALIDATION: &str = "vpce-0000000000000dead";

/// A data source with a bug: it panics when validated or read. Registered only here.
struct PanickingDataSource;

#[derive(serde::Deserialize)]
struct PanickingConfig {}

#[async_trait::async_trait]
impl DataSource for PanickingDataSource {
    type Config = PanickingConfig;
    type State = ();
    const NAME: &'static str = "panicking";
    const WHAT: &'static str = "panic";

    fn schema(&self) -> Schema {
        let required = |name| Attribute::required(name, AttributeType::String, "An id.");
        let computed = |name| Attribute::computed(name, AttributeType::String, "A result.");
        Schema {
            description: "Panics.",
            attributes: vec![
                required("project_id"),
                required("private_link_id"),
                required("interface_endpoint_id").validated(Validator::string(|_, value| {
                    if value == PANICS_IN_VALIDATION {
                        panic!("index out of bounds: the len is 0 but the index is 3")
                    }
                    None
                })),
                computed("connection_status"),
                computed("error_message"),
                Attribute::computed("delete_requested", AttributeType::Bool, "A result."),
                computed("id"),
            ],
        }
    }

    async fn read(
        &self,
        _config: PanickingConfig,
        _context: &ReadContext<'_>,
    ) -> Result<(), Diagnostics> {
        // The panic of issue 10, item 1, as `Instant + Duration` raises it, with a String payload.
        let far = std::time::Duration::from_secs(u64::MAX);
        let deadline = std::time::Instant::now()
            .checked_add(far)
            .ok_or_else(|| format!("{} when adding duration to instant", "overflow"));
        match deadline {
            Ok(_) => Ok(()),
            Err(message) => std::panic::panic_any(message),
        }
    }
}

fn endpoint_ids(id: &str) -> Value {
    endpoint_config(text(PROJECT_ID), text(PRIVATE_LINK_ID), text(id))
}

/// Configures the provider with only `base_url` (the keys come from the environment).
async fn configure_base_url(client: &mut ProviderClient<Channel>, base_url: &str) {
    let diagnostics = configure(client, object(&[("base_url", text(base_url))])).await;
    assert!(
        diagnostics
            .iter()
            .all(|diagnostic| diagnostic.severity != proto::diagnostic::Severity::Error as i32),
        "{diagnostics:?}"
    );
}

fn assert_internal_error(diagnostics: &[proto::Diagnostic], rpc: &str, panic_text: &str) {
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    let diagnostic = &diagnostics[0];
    assert_eq!(
        diagnostic.severity,
        proto::diagnostic::Severity::Error as i32
    );
    assert_eq!(diagnostic.summary, "Internal Error in the Provider");
    for expected in [rpc, panic_text, "Please report this issue"] {
        assert!(
            diagnostic.detail.contains(expected),
            "{expected:?} missing from {:?}",
            diagnostic.detail
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_panicking_data_source_is_an_error_diagnostic_and_the_plugin_keeps_serving() {
    let identity = terraform_like_certificate();
    let provider = AtlasProvider::with_data_sources(
        keys_only_environment(),
        vec![RegisteredDataSource::new(PanickingDataSource)],
    );
    let plugin = Plugin::start_with(
        provider,
        Some(identity.pem.clone()),
        Lifetime::until_shutdown(),
    )
    .await;
    let mut client = plugin.provider(Some(&identity)).await;

    let validated = client
        .validate_data_resource_config(proto::validate_data_resource_config::Request {
            type_name: "atlas_panicking".into(),
            config: Some(endpoint_ids(PANICS_IN_VALIDATION).encode()),
        })
        .await
        .expect("a panic is an answer, not a broken connection")
        .into_inner();
    assert_internal_error(
        &validated.diagnostics,
        "ValidateDataResourceConfig",
        "index out of bounds",
    );

    configure_base_url(&mut client, "http://127.0.0.1:9").await;
    let read = client
        .read_data_source(proto::read_data_source::Request {
            type_name: "atlas_panicking".into(),
            config: Some(endpoint_ids("vpce-0a0000000000000a1").encode()),
            provider_meta: None,
            client_capabilities: None,
        })
        .await
        .expect("a panic is an answer, not a broken connection")
        .into_inner();
    assert!(read.state.is_none());
    assert_internal_error(
        &read.diagnostics,
        "ReadDataSource",
        "overflow when adding duration to instant",
    );

    // Same connection, same process: still serving.
    let metadata = client
        .get_metadata(proto::get_metadata::Request {})
        .await
        .expect("the plugin keeps serving after a panic")
        .into_inner();
    assert_eq!(metadata.data_sources[0].type_name, "atlas_panicking");
    assert!(plugin.socket.exists());
    assert!(!plugin.served.is_finished());
}

#[tokio::test(flavor = "multi_thread")]
async fn get_functions_answers_with_no_functions() {
    let identity = terraform_like_certificate();
    let plugin = Plugin::start(Some(identity.pem.clone())).await;
    let mut client = plugin.provider(Some(&identity)).await;
    let functions = client
        .get_functions(proto::get_functions::Request {})
        .await
        .expect("GetFunctions is served, not UNIMPLEMENTED")
        .into_inner();
    assert!(functions.functions.is_empty());
    assert!(functions.diagnostics.is_empty());
    let schema = client
        .get_provider_schema(proto::get_provider_schema::Request {})
        .await
        .unwrap()
        .into_inner();
    assert!(schema.functions.is_empty());
    assert!(
        schema
            .data_source_schemas
            .contains_key("atlas_interface_endpoint")
    );
}

/// Waits up to `limit` for the plugin to stop serving; the time it took, or None.
async fn ended_within(plugin: &mut Plugin, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    match tokio::time::timeout(limit, &mut plugin.served).await {
        Ok(served) => {
            served
                .expect("the serving task did not panic")
                .expect("serving ended cleanly");
            Some(started.elapsed())
        }
        Err(_) => None,
    }
}

fn host_rule(grace: Duration) -> Lifetime {
    Lifetime::while_host_connected(grace)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_closed_host_connection_ends_the_server_and_removes_the_socket() {
    let identity = terraform_like_certificate();
    let provider = AtlasProvider::with_environment(Box::new(|_: &str| None));
    let mut plugin = Plugin::start_with(
        provider,
        Some(identity.pem.clone()),
        host_rule(Duration::from_millis(300)),
    )
    .await;
    // Not before any connection was served: Terraform has not connected yet.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(!plugin.served.is_finished());

    let mut client = plugin.provider(Some(&identity)).await;
    client
        .get_metadata(proto::get_metadata::Request {})
        .await
        .unwrap();
    drop(client);
    let took = ended_within(&mut plugin, Duration::from_secs(10))
        .await
        .expect("the plugin still serves 10 s after Terraform's connection closed");
    assert!(
        took >= Duration::from_millis(300),
        "ended {took:?} after the close, before the grace period"
    );
    assert!(!plugin.socket.exists(), "the socket file was left behind");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_connection_within_the_grace_period_keeps_the_server() {
    let identity = terraform_like_certificate();
    let provider = AtlasProvider::with_environment(Box::new(|_: &str| None));
    let grace = Duration::from_secs(1);
    let mut plugin =
        Plugin::start_with(provider, Some(identity.pem.clone()), host_rule(grace)).await;
    let mut first = plugin.provider(Some(&identity)).await;
    first
        .get_metadata(proto::get_metadata::Request {})
        .await
        .unwrap();
    drop(first);
    // A reconnect (grpc-go's, or a reattaching Terraform) arrives well within the grace period.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut second = plugin.provider(Some(&identity)).await;
    tokio::time::sleep(grace + Duration::from_millis(500)).await;
    assert!(
        !plugin.served.is_finished(),
        "the plugin ended with a connection open"
    );
    second
        .get_metadata(proto::get_metadata::Request {})
        .await
        .expect("the second connection is served");
    drop(second);
    ended_within(&mut plugin, Duration::from_secs(15))
        .await
        .expect("the plugin ends once the last connection closed");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_the_host_rule_the_server_outlives_every_connection() {
    // Debug mode (reattach): Terraform connects and leaves once per command.
    let plugin = Plugin::start(None).await;
    for _ in 0..2 {
        let mut client = plugin.provider(None).await;
        client
            .get_metadata(proto::get_metadata::Request {})
            .await
            .unwrap();
        drop(client);
        // Longer than the grace the host rule gives after the last connection closed.
        tokio::time::sleep(HOST_RECONNECT_GRACE + Duration::from_millis(500)).await;
        assert!(!plugin.served.is_finished());
        assert!(plugin.socket.exists());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn ending_the_serve_cancels_a_read_in_flight_and_removes_the_socket() {
    let atlas = FakeAtlas::start().await;
    let endpoint = "vpce-0a0000000000000a1";
    atlas.put(endpoint, Endpoint::with_status("AVAILABLE"));
    atlas.push_fault(Fault::Hang);
    let identity = terraform_like_certificate();
    let provider = AtlasProvider::with_environment(keys_only_environment());
    let mut plugin = Plugin::start_with(
        provider,
        Some(identity.pem.clone()),
        Lifetime::until_shutdown(),
    )
    .await;
    let mut client = plugin.provider(Some(&identity)).await;
    configure_base_url(&mut client, &atlas.url()).await;
    let reading = tokio::spawn(async move {
        client
            .read_data_source(read_request(endpoint_ids(endpoint)))
            .await
    });
    until_atlas_received(&atlas, |request| request.had_authorization).await;
    // What SIGTERM, SIGHUP, a dead parent or a closed host connection do.
    plugin.shutdown.cancel();
    let answer = tokio::time::timeout(Duration::from_secs(10), reading)
        .await
        .expect("the read was not cancelled")
        .unwrap()
        .expect("the cancelled read is answered before the server stops")
        .into_inner();
    assert_eq!(answer.diagnostics.len(), 1, "{:?}", answer.diagnostics);
    assert_eq!(answer.diagnostics[0].summary, "Read Cancelled");
    ended_within(&mut plugin, Duration::from_secs(10))
        .await
        .expect("the plugin stops");
    assert!(!plugin.socket.exists());
}

/// Connects `count` raw streams to `socket`, retrying while the backlog is full.
async fn hold_connections(socket: &std::path::Path, count: usize) -> Vec<UnixStream> {
    let mut held = Vec::with_capacity(count);
    let deadline = Instant::now() + Duration::from_secs(60);
    while held.len() < count {
        match UnixStream::connect(socket).await {
            Ok(stream) => held.push(stream),
            Err(error) => {
                assert!(
                    Instant::now() < deadline,
                    "could only open {} connections: {error}",
                    held.len()
                );
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    }
    held
}

#[tokio::test(flavor = "multi_thread")]
async fn terraform_is_served_while_another_process_holds_2000_connections() {
    let identity = terraform_like_certificate();
    let plugin = Plugin::start(Some(identity.pem.clone())).await;
    let held = hold_connections(&plugin.socket, 2000).await;

    let started = Instant::now();
    let schema = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            // grpc-go retries a connect the kernel refuses (a full backlog) with backoff.
            match plugin.channel(Some(&identity)).await {
                Ok(channel) => {
                    break ProviderClient::new(channel)
                        .get_provider_schema(proto::get_provider_schema::Request {})
                        .await;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    })
    .await
    .expect("Terraform was not served within 60 s");
    let took = started.elapsed();
    assert!(
        schema
            .expect("GetProviderSchema succeeds")
            .into_inner()
            .data_source_schemas
            .contains_key("atlas_interface_endpoint")
    );
    eprintln!("served Terraform in {took:?} while 2000 idle connections were held");
    drop(held);
}

#[tokio::test(flavor = "multi_thread")]
async fn half_sent_client_hellos_are_dropped_after_the_handshake_deadline() {
    let identity = terraform_like_certificate();
    let plugin = Plugin::start(Some(identity.pem.clone())).await;
    // Before connecting: the deadline counts from each accept, which follows the connect.
    let started = Instant::now();
    let mut peers = hold_connections(&plugin.socket, 200).await;
    // A TLS record header announcing a 512-byte ClientHello, and only its first bytes.
    let partial_hello = [
        0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03,
    ];
    for peer in &mut peers {
        peer.write_all(&partial_hello).await.unwrap();
    }

    // Terraform is served meanwhile.
    let mut client = plugin.provider(Some(&identity)).await;
    client
        .get_metadata(proto::get_metadata::Request {})
        .await
        .expect("Terraform is served while 200 handshakes hang");

    let limit = HANDSHAKE_DEADLINE + Duration::from_secs(20);
    for (index, peer) in peers.iter_mut().enumerate() {
        let mut buffer = [0u8; 64];
        let remaining = limit.saturating_sub(started.elapsed());
        match tokio::time::timeout(remaining, peer.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {}
            Ok(Ok(read)) => panic!("peer {index} was answered with {read} bytes"),
            Err(_) => panic!("peer {index} was still open {limit:?} after its half ClientHello"),
        }
    }
    let took = started.elapsed();
    assert!(
        took >= HANDSHAKE_DEADLINE,
        "dropped after {took:?}, before the {HANDSHAKE_DEADLINE:?} deadline"
    );
    eprintln!("200 half-sent ClientHellos were dropped after {took:?}");
}

/// One connection, as Terraform makes it (no retry), to a plugin behind 600 silent ones; how
/// long it took to be served.
async fn served_once_after_600_silent_connections(identity: Option<&ClientIdentity>) -> Duration {
    let plugin = Plugin::start(identity.map(|identity| identity.pem.clone())).await;
    let silent = hold_connections(&plugin.socket, 600).await;
    let started = Instant::now();
    let served = tokio::time::timeout(Duration::from_secs(20), async {
        let channel = plugin
            .channel(identity)
            .await
            .map_err(|error| format!("{error:?}"))?;
        ProviderClient::new(channel)
            .get_metadata(proto::get_metadata::Request {})
            .await
            .map_err(|status| status.to_string())
            .map(|_| ())
    })
    .await;
    let took = started.elapsed();
    match served {
        Ok(Ok(())) => {}
        Ok(Err(error)) => panic!("Terraform's one connection failed after {took:?}: {error}"),
        Err(_) => panic!("Terraform's one connection was not served within 20 s"),
    }
    drop(silent);
    took
}

/// Issue 21 item 9: 600 silent connections opened after the handshake line and before
/// Terraform's connect made the plan fail ("Plugin did not respond"): every silent peer counted
/// as having spoken, so the peers dropped to make room were the newest, Terraform's among them.
#[tokio::test]
async fn terraform_connecting_once_after_600_silent_connections_is_served_at_once() {
    let identity = terraform_like_certificate();
    let took = served_once_after_600_silent_connections(Some(&identity)).await;
    eprintln!("served Terraform's one TLS connection {took:?} after 600 silent connections");
}

/// The same in plaintext (`--debug`, where Terraform reattaches without TLS): silent peers
/// were handed to the HTTP/2 server, which held all 512 slots waiting for their preface.
#[tokio::test]
async fn a_plaintext_connection_after_600_silent_connections_is_served_at_once() {
    let took = served_once_after_600_silent_connections(None).await;
    eprintln!("served one plaintext connection {took:?} after 600 silent connections");
}
