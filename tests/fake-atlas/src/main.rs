//! Runs the fake Atlas on its own, seeded with one endpoint per status, for the quick start
//! and for trying the provider by hand. Prints its URL and key pair, serves until killed.
//!
//! Usage: `fake-atlas [--port N]`

use fake_atlas::{Endpoint, FakeAtlas, PRIVATE_KEY, PRIVATE_LINK_ID, PROJECT_ID, PUBLIC_KEY};

/// The seeded endpoints: one per status Atlas documents.
const SEEDS: &[(&str, &str, Option<&str>)] = &[
    ("vpce-0a0000000000000a1", "AVAILABLE", None),
    ("vpce-0b0000000000000b2", "PENDING", None),
    ("vpce-0c0000000000000c3", "PENDING_ACCEPTANCE", None),
    ("vpce-0d0000000000000d4", "NONE", None),
    (
        "vpce-0e0000000000000e5",
        "REJECTED",
        Some("AWS rejected the connection: the endpoint's subnet has no route."),
    ),
    ("vpce-0f0000000000000f6", "DELETING", None),
];

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut port = 0u16;
    let mut arguments = std::env::args().skip(1);
    while let Some(argument) = arguments.next() {
        match (
            argument.as_str(),
            arguments.next().map(|value| value.parse::<u16>()),
        ) {
            ("--port", Some(Ok(value))) => port = value,
            _ => {
                eprintln!("usage: fake-atlas [--port N]");
                std::process::exit(2);
            }
        }
    }
    let atlas = match FakeAtlas::start_on(port).await {
        Ok(atlas) => atlas,
        Err(error) => {
            eprintln!("fake-atlas: cannot listen on 127.0.0.1:{port}: {error}");
            std::process::exit(1);
        }
    };
    for (endpoint_id, status, error_message) in SEEDS {
        let mut endpoint = Endpoint::with_status(status);
        endpoint.error_message = error_message.map(str::to_owned);
        endpoint.delete_requested = *status == "DELETING";
        atlas.put(endpoint_id, endpoint);
    }
    println!("fake Atlas listening on {}", atlas.url());
    println!("public key {PUBLIC_KEY}");
    println!("private key {PRIVATE_KEY}");
    println!("project {PROJECT_ID}, private link {PRIVATE_LINK_ID}");
    for (endpoint_id, status, _) in SEEDS {
        println!("endpoint {endpoint_id} {status}");
    }
    let _ = tokio::signal::ctrl_c().await;
}
