//! In-process gRPC tests: the plugin served on a Unix socket as Terraform starts it, called the
//! way Terraform calls it, over mutual TLS with a P-521 client certificate like Terraform's.

use std::time::Duration;

use crate::plugin_client::{
    Plugin, configure, endpoint_config, object, provider_config, read, terraform_like_certificate,
    text, until_atlas_received,
};
use fake_atlas::{
    CLIENT_ID, CLIENT_SECRET, Endpoint, FakeAtlas, Fault, PRIVATE_KEY, PRIVATE_LINK_ID, PROJECT_ID,
    PUBLIC_KEY,
};
use terraform_provider_atlas::proto::go_plugin::Empty;
use terraform_provider_atlas::proto::go_plugin::grpc_controller_client::GrpcControllerClient;
use terraform_provider_atlas::proto::tfplugin6 as proto;
use terraform_provider_atlas::proto::tfplugin6::provider_client::ProviderClient;
use terraform_provider_atlas::provider::value::Value;
use tonic::transport::Channel;

const ENDPOINT_ID: &str = "vpce-08fb7e9319909ec7b";

#[tokio::test]
async fn health_reports_plugin_serving_over_mtls() {
    let identity = terraform_like_certificate();
    let plugin = Plugin::start(Some(identity.pem.clone())).await;
    assert!(
        plugin.server_certificate.is_some(),
        "AutoMTLS puts the server certificate in the handshake"
    );
    let channel = plugin.channel(Some(&identity)).await.unwrap();
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
    let answer = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: "plugin".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        answer.status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );
}

/// A call of a service the plugin does not serve (tfplugin5, say), or of a method its provider
/// service does not have, is answered UNIMPLEMENTED, as by any gRPC server, and the connection
/// goes on serving.
#[tokio::test]
async fn calls_of_unknown_services_and_methods_are_unimplemented() {
    let identity = terraform_like_certificate();
    let plugin = Plugin::start(Some(identity.pem.clone())).await;
    let channel = plugin.channel(Some(&identity)).await.unwrap();
    for path in [
        "/tfplugin5.Provider/GetSchema",
        "/tfplugin6.Provider/NoSuchMethod",
        "/",
    ] {
        let mut client = tonic::client::Grpc::new(channel.clone());
        client.ready().await.unwrap();
        let answer = client
            .unary::<Empty, Empty, _>(
                tonic::Request::new(Empty {}),
                path.parse().unwrap(),
                tonic_prost::ProstCodec::default(),
            )
            .await
            .unwrap_err();
        assert_eq!(
            answer.code(),
            tonic::Code::Unimplemented,
            "{path}: {answer:?}"
        );
    }
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
    health
        .check(tonic_health::pb::HealthCheckRequest {
            service: "plugin".into(),
        })
        .await
        .expect("the connection still serves");
}

#[tokio::test]
async fn read_over_mtls_returns_the_endpoint_state() {
    let atlas = FakeAtlas::start().await;
    atlas.put(ENDPOINT_ID, Endpoint::with_status("AVAILABLE"));
    let identity = terraform_like_certificate();
    let plugin = Plugin::start(Some(identity.pem.clone())).await;
    let mut client = plugin.provider(Some(&identity)).await;

    assert!(
        configure(&mut client, provider_config(&atlas.url(), PRIVATE_KEY))
            .await
            .is_empty()
    );
    let response = read(
        &mut client,
        endpoint_config(text(PROJECT_ID), text(PRIVATE_LINK_ID), text(ENDPOINT_ID)),
    )
    .await;
    assert!(
        response.diagnostics.is_empty(),
        "{:?}",
        response.diagnostics
    );
    let state = Value::decode(response.state.as_ref()).unwrap();
    assert_eq!(
        state.attribute("connection_status").as_str(),
        Some("AVAILABLE")
    );
    assert_eq!(state.attribute("error_message"), &Value::Null);
    assert_eq!(state.attribute("delete_requested"), &Value::Bool(false));
    assert_eq!(
        state.attribute("id").as_str(),
        Some(format!("{PROJECT_ID}/{PRIVATE_LINK_ID}/{ENDPOINT_ID}").as_str())
    );
    // The read itself (the process's first digest challenge is fetched on the v2 route).
    let requests = atlas.requests();
    let request = requests
        .iter()
        .find(|request| request.had_authorization)
        .expect("an authenticated request");
    assert_eq!(
        request.path,
        format!(
            "/api/atlas/v1.0/groups/{PROJECT_ID}/privateEndpoint/{PRIVATE_LINK_ID}/interfaceEndpoints/{ENDPOINT_ID}"
        )
    );
    let user_agent = request.user_agent.clone().unwrap_or_default();
    assert!(
        user_agent.starts_with("terraform-provider-atlas/")
            && user_agent.ends_with("terraform/1.11.4"),
        "{user_agent}"
    );
}

#[tokio::test]
async fn connection_without_client_certificate_is_refused() {
    let identity = terraform_like_certificate();
    let plugin = Plugin::start(Some(identity.pem.clone())).await;
    let refused = match plugin.channel(None).await {
        Err(_) => true,
        Ok(channel) => ProviderClient::new(channel)
            .get_metadata(proto::get_metadata::Request {})
            .await
            .is_err(),
    };
    assert!(
        refused,
        "a client without a certificate must not get an answer"
    );
}

#[tokio::test]
async fn connection_with_a_strangers_certificate_is_refused() {
    let terraform = terraform_like_certificate();
    let stranger = terraform_like_certificate();
    let plugin = Plugin::start(Some(terraform.pem.clone())).await;
    let refused = match plugin.channel(Some(&stranger)).await {
        Err(_) => true,
        Ok(channel) => ProviderClient::new(channel)
            .get_metadata(proto::get_metadata::Request {})
            .await
            .is_err(),
    };
    assert!(
        refused,
        "only the certificate from PLUGIN_CLIENT_CERT gets in"
    );
    // Terraform's own certificate still works on the same server.
    let mut client = plugin.provider(Some(&terraform)).await;
    assert!(
        client
            .get_metadata(proto::get_metadata::Request {})
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn plaintext_when_terraform_sends_no_certificate() {
    let plugin = Plugin::start(None).await;
    assert!(plugin.server_certificate.is_none());
    let mut client = plugin.provider(None).await;
    let metadata = client
        .get_metadata(proto::get_metadata::Request {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        metadata.data_sources[0].type_name,
        "atlas_interface_endpoint"
    );
    assert!(
        metadata
            .server_capabilities
            .unwrap()
            .get_provider_schema_optional
    );
}

#[tokio::test]
async fn schema_declares_the_contract() {
    let plugin = Plugin::start(None).await;
    let mut client = plugin.provider(None).await;
    let schema = client
        .get_provider_schema(proto::get_provider_schema::Request {})
        .await
        .unwrap()
        .into_inner();
    let provider = schema.provider.unwrap().block.unwrap();
    let private_key = provider
        .attributes
        .iter()
        .find(|attribute| attribute.name == "private_key")
        .unwrap();
    assert!(private_key.sensitive && private_key.optional);
    for name in ["public_key", "base_url"] {
        let attribute = provider
            .attributes
            .iter()
            .find(|attribute| attribute.name == name)
            .unwrap();
        assert!(
            attribute.optional && !attribute.description.is_empty(),
            "{name}"
        );
    }
    let data_source = schema.data_source_schemas["atlas_interface_endpoint"]
        .block
        .clone()
        .unwrap();
    let flags = |name: &str| {
        let attribute = data_source
            .attributes
            .iter()
            .find(|attribute| attribute.name == name)
            .unwrap();
        (
            attribute.required,
            attribute.computed,
            String::from_utf8(attribute.r#type.clone()).unwrap(),
        )
    };
    for name in ["project_id", "private_link_id", "interface_endpoint_id"] {
        assert_eq!(flags(name), (true, false, "\"string\"".into()), "{name}");
    }
    for name in ["connection_status", "error_message", "id"] {
        assert_eq!(flags(name), (false, true, "\"string\"".into()), "{name}");
    }
    assert_eq!(flags("delete_requested"), (false, true, "\"bool\"".into()));
    assert!(
        schema
            .server_capabilities
            .unwrap()
            .get_provider_schema_optional
    );
}

#[tokio::test]
async fn validation_names_each_bad_id_before_any_request() {
    let atlas = FakeAtlas::start().await;
    let plugin = Plugin::start(None).await;
    let mut client = plugin.provider(None).await;
    let config = endpoint_config(
        text("../../admin"),
        text("6A1A2B3C4D5E6F7A8B9C0D1E"),
        text("vpce-0?x=1"),
    );
    let diagnostics = client
        .validate_data_resource_config(proto::validate_data_resource_config::Request {
            type_name: "atlas_interface_endpoint".into(),
            config: Some(config.encode()),
        })
        .await
        .unwrap()
        .into_inner()
        .diagnostics;
    let attributes: Vec<String> = diagnostics
        .iter()
        .map(
            |diagnostic| match &diagnostic.attribute.as_ref().unwrap().steps[0].selector {
                Some(proto::attribute_path::step::Selector::AttributeName(name)) => name.clone(),
                other => panic!("unexpected path {other:?}"),
            },
        )
        .collect();
    assert_eq!(
        attributes,
        ["project_id", "private_link_id", "interface_endpoint_id"]
    );
    assert!(
        diagnostics[0].detail.contains("\"../../admin\""),
        "{}",
        diagnostics[0].detail
    );

    // A read with the same ids is refused the same way and never reaches Atlas.
    assert!(
        configure(&mut client, provider_config(&atlas.url(), PRIVATE_KEY))
            .await
            .is_empty()
    );
    let response = read(&mut client, config).await;
    assert_eq!(response.diagnostics.len(), 3);
    assert!(response.state.is_none());
    assert_eq!(atlas.request_count(), 0);
}

#[tokio::test]
async fn unknown_provider_values_are_skipped_at_validation() {
    let plugin = Plugin::start(None).await;
    let mut client = plugin.provider(None).await;
    let config = object(&[
        ("public_key", Value::Unknown),
        ("private_key", Value::Unknown),
        ("base_url", Value::Unknown),
    ]);
    let diagnostics = client
        .validate_provider_config(proto::validate_provider_config::Request {
            config: Some(config.encode()),
        })
        .await
        .unwrap()
        .into_inner()
        .diagnostics;
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
}

/// Issue 23 item 2: missing credentials were reported by every data source's read ("Missing
/// Atlas Credentials" three times), never on the provider block. They are one problem of the
/// provider configuration, reported once by ConfigureProvider.
#[tokio::test]
async fn missing_keys_are_reported_once_by_configure_naming_arguments_and_variables() {
    let plugin = Plugin::start(None).await;
    let mut client = plugin.provider(None).await;
    let config = object(&[
        ("public_key", Value::Null),
        ("private_key", Value::Null),
        ("base_url", Value::Null),
    ]);
    let diagnostics = configure(&mut client, config).await;
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    let diagnostic = &diagnostics[0];
    assert_eq!(diagnostic.summary, "Missing Atlas Credentials");
    assert_eq!(
        diagnostic.severity,
        proto::diagnostic::Severity::Error as i32
    );
    for needed in [
        "public_key",
        "private_key",
        "MONGODB_ATLAS_PUBLIC_API_KEY",
        "MONGODB_ATLAS_PRIVATE_API_KEY",
        "client_id",
        "MONGODB_ATLAS_CLIENT_ID",
    ] {
        assert!(
            diagnostic.detail.contains(needed),
            "{needed}: {}",
            diagnostic.detail
        );
    }
}

#[tokio::test]
async fn wrong_private_key_is_refused_by_digest_auth() {
    let atlas = FakeAtlas::start().await;
    atlas.put(ENDPOINT_ID, Endpoint::with_status("AVAILABLE"));
    let plugin = Plugin::start(None).await;
    let mut client = plugin.provider(None).await;
    let wrong = "00000000-0000-0000-0000-000000000000";
    configure(&mut client, provider_config(&atlas.url(), wrong)).await;
    let response = read(
        &mut client,
        endpoint_config(text(PROJECT_ID), text(PRIVATE_LINK_ID), text(ENDPOINT_ID)),
    )
    .await;
    let diagnostic = &response.diagnostics[0];
    assert_eq!(diagnostic.summary, "Atlas Rejected the API Key");
    assert!(diagnostic.detail.contains(PUBLIC_KEY) && diagnostic.detail.contains("HTTP 401"));
    assert!(!diagnostic.detail.contains(wrong));
}

#[tokio::test]
async fn stop_provider_cancels_a_read_that_hangs() {
    let atlas = FakeAtlas::start().await;
    atlas.put(ENDPOINT_ID, Endpoint::with_status("AVAILABLE"));
    atlas.push_fault(Fault::Hang);
    let plugin = Plugin::start(None).await;
    let mut client = plugin.provider(None).await;
    configure(&mut client, provider_config(&atlas.url(), PRIVATE_KEY)).await;
    let mut reader = client.clone();
    let pending = tokio::spawn(async move {
        read(
            &mut reader,
            endpoint_config(text(PROJECT_ID), text(PRIVATE_LINK_ID), text(ENDPOINT_ID)),
        )
        .await
    });
    // Wait until the hanging request has reached Atlas, then stop.
    until_atlas_received(&atlas, |request| request.had_authorization).await;
    client
        .stop_provider(proto::stop_provider::Request {})
        .await
        .unwrap();
    let response = tokio::time::timeout(Duration::from_secs(10), pending)
        .await
        .expect("the read ends once the provider is stopped")
        .unwrap();
    assert_eq!(response.diagnostics[0].summary, "Read Cancelled");
}

#[tokio::test]
async fn shutdown_stops_the_server_and_removes_the_socket() {
    let identity = terraform_like_certificate();
    let plugin = Plugin::start(Some(identity.pem.clone())).await;
    assert!(plugin.socket.exists());
    let channel = plugin.channel(Some(&identity)).await.unwrap();
    GrpcControllerClient::new(channel)
        .shutdown(Empty {})
        .await
        .unwrap();
    let outcome = tokio::time::timeout(Duration::from_secs(10), plugin.served)
        .await
        .expect("the server stops after Shutdown")
        .unwrap();
    assert!(outcome.is_ok(), "{outcome:?}");
    assert!(
        !plugin.socket.exists(),
        "the socket file is removed on exit"
    );
    assert!(plugin.shutdown.is_cancelled());
}

#[tokio::test]
async fn socket_is_private_to_its_owner() {
    use std::os::unix::fs::PermissionsExt;
    let plugin = Plugin::start(None).await;
    let mode = std::fs::metadata(&plugin.socket)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o077, 0, "mode {mode:o}");
}

/// Encodes an endpoint config whose `field` holds `raw` bytes as its msgpack string, valid
/// UTF-8 or not (Terraform never sends invalid UTF-8, but a hostile peer might).
fn config_with_raw_string(field: &str, raw: &[u8]) -> proto::DynamicValue {
    let placeholder = "\u{1}PLACEHOLDER\u{1}";
    let mut valid = vec![
        ("project_id", text(PROJECT_ID)),
        ("private_link_id", text(PRIVATE_LINK_ID)),
        ("interface_endpoint_id", text(ENDPOINT_ID)),
    ];
    for (name, value) in valid.iter_mut() {
        if *name == field {
            *value = text(placeholder);
        }
    }
    let mut bytes = object(&valid).encode().msgpack;
    // The placeholder is a fixstr; swap it (header and body) for a str8/str32 of the raw bytes.
    let needle: Vec<u8> = std::iter::once(0xa0 | placeholder.len() as u8)
        .chain(placeholder.bytes())
        .collect();
    let at = bytes
        .windows(needle.len())
        .position(|window| window == needle)
        .unwrap();
    let mut header = if raw.len() < 256 {
        vec![0xd9, raw.len() as u8]
    } else {
        let mut header = vec![0xdb];
        header.extend_from_slice(&(raw.len() as u32).to_be_bytes());
        header
    };
    header.extend_from_slice(raw);
    bytes.splice(at..at + needle.len(), header);
    proto::DynamicValue {
        msgpack: bytes,
        json: Vec::new(),
    }
}

#[tokio::test]
async fn hostile_ids_of_every_shape_are_diagnostics_on_the_attribute_and_never_requests() {
    let atlas = FakeAtlas::start().await;
    atlas.put(ENDPOINT_ID, Endpoint::with_status("AVAILABLE"));
    let plugin = Plugin::start(None).await;
    let mut client = plugin.provider(None).await;
    configure(&mut client, provider_config(&atlas.url(), PRIVATE_KEY)).await;
    let megabyte = "a".repeat(1024 * 1024);
    let shapes: Vec<(&str, Vec<u8>)> = vec![
        ("empty", b"".to_vec()),
        ("one megabyte", megabyte.clone().into_bytes()),
        ("NUL bytes", b"5f1a2b3c4d5e\0f7a8b9c0d1e".to_vec()),
        ("not UTF-8", vec![0xff, 0xfe, 0x35, 0x66, 0xc3, 0x28]),
        (
            "Cyrillic look-alike",
            "5f1a2b3c4d5е6f7a8b9c0d1e".as_bytes().to_vec(),
        ),
        ("path traversal", b"../../../../admin/groups".to_vec()),
        ("encoded slash", b"5f1a2b3c4d5e%2F7a8b9c0d1".to_vec()),
        ("query", b"5f1a2b3c4d5e?f7a8b9c0d1e".to_vec()),
        ("fragment", b"5f1a2b3c4d5e#f7a8b9c0d1e".to_vec()),
        ("spaces", b"5f1a2b3c 4d5e6f7a8b9c0d1e".to_vec()),
        ("upper-case hex", b"5F1A2B3C4D5E6F7A8B9C0D1E".to_vec()),
    ];
    for field in ["project_id", "private_link_id", "interface_endpoint_id"] {
        for (shape, raw) in &shapes {
            let config = config_with_raw_string(field, raw);
            let validated = client
                .validate_data_resource_config(proto::validate_data_resource_config::Request {
                    type_name: "atlas_interface_endpoint".into(),
                    config: Some(config.clone()),
                })
                .await
                .unwrap_or_else(|status| panic!("{field} {shape}: {status}"))
                .into_inner()
                .diagnostics;
            let read = client
                .read_data_source(proto::read_data_source::Request {
                    type_name: "atlas_interface_endpoint".into(),
                    config: Some(config),
                    provider_meta: None,
                    client_capabilities: None,
                })
                .await
                .unwrap_or_else(|status| panic!("{field} {shape}: {status}"))
                .into_inner();
            assert!(
                read.state.is_none(),
                "{field} {shape}: read returned a state"
            );
            for diagnostics in [&validated, &read.diagnostics] {
                assert_eq!(diagnostics.len(), 1, "{field} {shape}: {diagnostics:?}");
                let diagnostic = &diagnostics[0];
                let path = &diagnostic
                    .attribute
                    .as_ref()
                    .expect("on an attribute")
                    .steps[0]
                    .selector;
                assert_eq!(
                    path,
                    &Some(proto::attribute_path::step::Selector::AttributeName(
                        field.into()
                    )),
                    "{field} {shape}"
                );
                assert!(
                    diagnostic.detail.contains("Got \""),
                    "{field} {shape}: {}",
                    diagnostic.detail
                );
                assert!(
                    diagnostic.detail.len() < 2000,
                    "{field} {shape}: the value is shown cut short"
                );
            }
        }
    }
    assert_eq!(
        atlas.request_count(),
        0,
        "no hostile id reached the network"
    );
}

#[tokio::test]
async fn no_error_path_shows_the_private_key() {
    let atlas = FakeAtlas::start().await;
    atlas.put(ENDPOINT_ID, Endpoint::with_status("AVAILABLE"));
    let plugin = Plugin::start(None).await;
    let mut client = plugin.provider(None).await;
    let secret = "7e0c9d7a-2b1f-4c55-8c3e-5a9d1e2f3b4c";
    let mut seen = Vec::new();
    let mut read_with =
        async |client: &mut ProviderClient<Channel>, base_url: &str, config: Value| {
            let configured = configure(client, provider_config(base_url, secret)).await;
            let response = read(client, config).await;
            seen.extend(configured.into_iter().chain(response.diagnostics));
        };
    let good = || endpoint_config(text(PROJECT_ID), text(PRIVATE_LINK_ID), text(ENDPOINT_ID));
    // 401 (the secret is not the fake's key), 404, validation, transport failure.
    read_with(&mut client, &atlas.url(), good()).await;
    read_with(
        &mut client,
        &atlas.url(),
        endpoint_config(
            text(PROJECT_ID),
            text(PRIVATE_LINK_ID),
            text("vpce-0ffffffffffffffff"),
        ),
    )
    .await;
    read_with(
        &mut client,
        &atlas.url(),
        endpoint_config(text(secret), text(PRIVATE_LINK_ID), text(ENDPOINT_ID)),
    )
    .await;
    read_with(&mut client, "http://127.0.0.1:9", good()).await;
    read_with(&mut client, "not a url", good()).await;
    assert!(seen.len() >= 5, "{seen:?}");
    for diagnostic in &seen {
        let shown = format!("{diagnostic:?}");
        // The third read put the secret in project_id on purpose: that diagnostic may show
        // the project id it got, which is the user's own input, not the key.
        if diagnostic.summary == "Invalid Project ID" {
            continue;
        }
        assert!(!shown.contains(secret), "the private key leaked: {shown}");
    }
}

#[tokio::test]
async fn an_id_over_two_mebibytes_gets_a_diagnostic_and_the_server_keeps_serving() {
    let plugin = Plugin::start(None).await;
    let mut client = plugin.provider(None).await;
    let huge = "a".repeat(3 * 1024 * 1024);
    let config = endpoint_config(text(&huge), text(PRIVATE_LINK_ID), text(ENDPOINT_ID));
    let response = client
        .validate_data_resource_config(proto::validate_data_resource_config::Request {
            type_name: "atlas_interface_endpoint".into(),
            config: Some(config.encode()),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(response.diagnostics.len(), 1, "{:?}", response.diagnostics);
    assert_eq!(response.diagnostics[0].summary, "Configuration Too Large");
    assert!(response.diagnostics[0].detail.contains("2 MiB"));
}

#[tokio::test]
async fn a_request_over_the_transport_limit_is_refused_and_the_server_keeps_serving() {
    let plugin = Plugin::start(None).await;
    let mut client = plugin.provider(None).await;
    let huge = "a".repeat(terraform_provider_atlas::plugin::MAX_REQUEST_BYTES + 1);
    let config = endpoint_config(text(&huge), text(PRIVATE_LINK_ID), text(ENDPOINT_ID));
    let status = client
        .validate_data_resource_config(proto::validate_data_resource_config::Request {
            type_name: "atlas_interface_endpoint".into(),
            config: Some(config.encode()),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::OutOfRange, "{status:?}");
    // The plugin is still there for the next request.
    assert!(
        client
            .get_metadata(proto::get_metadata::Request {})
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn stop_provider_cancels_a_wait_for_status() {
    let atlas = FakeAtlas::start().await;
    atlas.put(ENDPOINT_ID, Endpoint::with_status("PENDING"));
    let plugin = Plugin::start(None).await;
    let mut client = plugin.provider(None).await;
    configure(&mut client, provider_config(&atlas.url(), PRIVATE_KEY)).await;
    let mut config = endpoint_config(text(PROJECT_ID), text(PRIVATE_LINK_ID), text(ENDPOINT_ID));
    if let Value::Object(attributes) = &mut config {
        attributes.insert(
            "wait_for_status".into(),
            Value::List(vec![text("AVAILABLE")]),
        );
        attributes.insert("wait_timeout".into(), text("10m"));
    }
    let mut reader = client.clone();
    let pending = tokio::spawn(async move { read(&mut reader, config).await });
    // Wait until the first poll has been answered (PENDING): the read now sleeps until its next poll.
    until_atlas_received(&atlas, |request| request.status == 200).await;
    client
        .stop_provider(proto::stop_provider::Request {})
        .await
        .unwrap();
    let response = tokio::time::timeout(Duration::from_secs(10), pending)
        .await
        .expect("the wait ends once the provider is stopped")
        .unwrap();
    assert_eq!(response.diagnostics[0].summary, "Read Cancelled");
    let polls = atlas
        .requests()
        .iter()
        .filter(|request| request.status == 200)
        .count();
    assert_eq!(
        polls, 1,
        "the wait ended during its pause, without polling again"
    );
}

/// SECURITY.md: `private_key`, `client_secret` and `access_token` are `sensitive` in the
/// provider schema, so Terraform redacts them; the non-secret arguments are not.
#[tokio::test]
async fn every_secret_provider_argument_is_sensitive_and_no_other_is() {
    let plugin = Plugin::start(None).await;
    let mut client = plugin.provider(None).await;
    let schema = client
        .get_provider_schema(proto::get_provider_schema::Request {})
        .await
        .unwrap()
        .into_inner();
    let provider = schema.provider.unwrap().block.unwrap();
    let mut sensitive: Vec<&str> = provider
        .attributes
        .iter()
        .filter(|attribute| attribute.sensitive)
        .map(|attribute| attribute.name.as_str())
        .collect();
    sensitive.sort_unstable();
    assert_eq!(sensitive, ["access_token", "client_secret", "private_key"]);
}

/// SECURITY.md and docs/atlas-api.md: a service account's token is fetched on the first read,
/// never when the provider is configured or a configuration validated.
#[tokio::test]
async fn a_service_account_token_is_fetched_by_the_first_read_not_before() {
    let atlas = FakeAtlas::start().await;
    atlas.put(ENDPOINT_ID, Endpoint::with_status("AVAILABLE"));
    let plugin = Plugin::start(None).await;
    let mut client = plugin.provider(None).await;
    let diagnostics = configure(
        &mut client,
        object(&[
            ("client_id", text(CLIENT_ID)),
            ("client_secret", text(CLIENT_SECRET)),
            ("base_url", text(&atlas.url())),
            ("api_version", text("v2")),
        ]),
    )
    .await;
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let config = endpoint_config(text(PROJECT_ID), text(PRIVATE_LINK_ID), text(ENDPOINT_ID));
    let validated = client
        .validate_data_resource_config(proto::validate_data_resource_config::Request {
            type_name: "atlas_interface_endpoint".into(),
            config: Some(config.encode()),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(validated.diagnostics.is_empty(), "{validated:?}");
    assert_eq!(atlas.token_requests(), 0, "a token before any read");
    let response = read(&mut client, config).await;
    assert!(response.diagnostics.is_empty(), "{response:?}");
    assert_eq!(atlas.token_requests(), 1);
}

/// A call's request headers as Terraform's gRPC client sends them.
fn grpc_call(path: &str) -> tonic::codegen::http::Request<()> {
    tonic::codegen::http::Request::builder()
        .method("POST")
        .uri(format!("http://localhost{path}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(())
        .unwrap()
}

/// A whole GetMetadata call on a raw HTTP/2 connection; whether it was answered OK.
async fn get_metadata_over(client: &mut h2::client::SendRequest<tonic::codegen::Bytes>) -> bool {
    let Ok(()) = std::future::poll_fn(|context| client.poll_ready(context)).await else {
        return false;
    };
    let (answer, mut request) = client
        .send_request(grpc_call("/tfplugin6.Provider/GetMetadata"), false)
        .unwrap();
    // An empty message: no compression, length 0.
    request
        .send_data(tonic::codegen::Bytes::from_static(&[0, 0, 0, 0, 0]), true)
        .unwrap();
    let Ok(answer) = answer.await else {
        return false;
    };
    let mut body = answer.into_body();
    while let Some(data) = body.data().await {
        let Ok(data) = data else { return false };
        let _ = body.flow_control().release_capacity(data.len());
    }
    let trailers = body.trailers().await.ok().flatten();
    trailers.is_some_and(|trailers| trailers.get("grpc-status").is_some_and(|code| code == "0"))
}

/// Terraform sends at most its -parallelism of calls at once (10 by default). A peer that opens
/// ReadDataSource calls and never finishes sending them gets at most MAX_CONCURRENT_STREAMS of them
/// on its connection (each held a task and its buffers: 60,000 of them took hundreds of MB); further
/// calls wait in the peer's own client. Other connections are served meanwhile, and this one is
/// served again once the half-sent calls are reset.
#[tokio::test]
async fn half_sent_reads_on_one_connection_are_bounded_and_the_connection_recovers() {
    use terraform_provider_atlas::plugin::MAX_CONCURRENT_STREAMS;
    let plugin = Plugin::start(None).await;
    let socket = tokio::net::UnixStream::connect(&plugin.socket)
        .await
        .unwrap();
    let (mut client, connection) = h2::client::handshake(socket).await.unwrap();
    tokio::spawn(connection);
    // Once a whole call is answered, the server's settings have arrived.
    assert!(get_metadata_over(&mut client).await);

    let attempts = 3 * MAX_CONCURRENT_STREAMS as usize;
    let mut half_sent = Vec::new();
    for _ in 0..attempts {
        let ready = std::future::poll_fn(|context| client.poll_ready(context));
        match tokio::time::timeout(Duration::from_millis(500), ready).await {
            Ok(ready) => ready.unwrap(),
            // The client holds the next call back: the server's bound is reached.
            Err(_) => break,
        }
        let (answer, mut request) = client
            .send_request(grpc_call("/tfplugin6.Provider/ReadDataSource"), false)
            .unwrap();
        // A message announced as 1,000 bytes, of which 10 are sent, and never the rest.
        let mut partial = vec![0, 0, 0, 0x03, 0xe8];
        partial.extend_from_slice(&[0x0a; 10]);
        request
            .send_data(tonic::codegen::Bytes::from(partial), false)
            .unwrap();
        half_sent.push((answer, request));
        // The connection's own task sends the call.
        tokio::task::yield_now().await;
    }
    // h2's client lets one call past the bound wait in its queue before it holds back the next.
    assert!(
        half_sent.len() <= MAX_CONCURRENT_STREAMS as usize + 1,
        "{} half-sent calls open on one connection; the bound is {MAX_CONCURRENT_STREAMS}",
        half_sent.len()
    );
    assert!(
        half_sent.len() >= 10,
        "Terraform's parallelism of 10 must fit"
    );

    // Another connection (Terraform's, say) is served meanwhile.
    let mut other = plugin.provider(None).await;
    tokio::time::timeout(
        Duration::from_secs(10),
        other.get_metadata(proto::get_metadata::Request {}),
    )
    .await
    .expect("answered while the other connection is full")
    .unwrap();

    // Reset the half-sent calls (dropping them sends RST_STREAM): the connection serves again.
    drop(half_sent);
    let served = tokio::time::timeout(Duration::from_secs(10), get_metadata_over(&mut client));
    assert!(
        served.await.unwrap_or(false),
        "the connection is served again"
    );
}
