//! Runs the fake Atlas on its own, seeded with one endpoint per status, for the quick start
//! and for trying the provider by hand. Prints its URL and credentials, serves until killed.

use fake_atlas::{
    API_VERSION, AZURE_ENDPOINT_ID, AZURE_INITIATING_ENDPOINT_ID, AZURE_INITIATING_LINK_ID,
    AZURE_PRIVATE_LINK_ID, CLIENT_ID, CLIENT_SECRET, ENDPOINT_SERVICE_NAME, Endpoint, FakeAtlas,
    GCP_ENDPOINT_GROUP, GCP_INITIATING_LINK_ID, GCP_PRIVATE_LINK_ID, GCP_READS_UNTIL_AVAILABLE,
    GCP_SLOW_ENDPOINT_GROUP, PRIVATE_KEY, PRIVATE_LINK_ID, PROJECT_ID, PUBLIC_KEY,
};

const USAGE: &str = "\
fake-atlas: a fake MongoDB Atlas Admin API on 127.0.0.1, for trying the provider by hand

Usage: fake-atlas [--port N] [--v1-gone]

Options:
  --port N     listen on 127.0.0.1:N (default 0: any free port; the URL is printed)
  --v1-gone    answer every v1.0 route with 404 RESOURCE_NOT_FOUND, as where Atlas no longer
               serves them (try the provider's api_version = \"auto\" against it)
  -h, --help   print this help and exit

It serves the interface endpoint and private link routes of the v1.0 and v2 APIs, checks HTTP
Digest auth with the printed key pair, issues bearer tokens at POST /api/oauth/token for the
printed service account, and seeds one AWS interface endpoint per status and Azure and Google
Cloud services and endpoints (v2 routes only). Stop it with Ctrl-C.
";

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

struct Options {
    port: u16,
    v1_gone: bool,
}

/// The options, or the exit status to leave with (0 after `--help`, 2 on a usage error).
fn parse_options(mut arguments: impl Iterator<Item = String>) -> Result<Options, i32> {
    let mut options = Options {
        port: 0,
        v1_gone: false,
    };
    while let Some(argument) = arguments.next() {
        match argument.as_str() {
            "-h" | "--help" => {
                print!("{USAGE}");
                return Err(0);
            }
            "--v1-gone" => options.v1_gone = true,
            "--port" => match arguments.next().map(|value| value.parse::<u16>()) {
                Some(Ok(port)) => options.port = port,
                _ => return Err(usage_error("--port needs a number from 0 to 65535")),
            },
            other => return Err(usage_error(&format!("unknown argument {other:?}"))),
        }
    }
    Ok(options)
}

fn usage_error(problem: &str) -> i32 {
    eprintln!("fake-atlas: {problem}\n\n{USAGE}");
    2
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let options = match parse_options(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(status) => std::process::exit(status),
    };
    let atlas = match FakeAtlas::start_on(options.port).await {
        Ok(atlas) => atlas,
        Err(error) => {
            eprintln!(
                "fake-atlas: cannot listen on 127.0.0.1:{}: {error}",
                options.port
            );
            std::process::exit(1);
        }
    };
    atlas.set_v1_gone(options.v1_gone);
    for (endpoint_id, status, error_message) in SEEDS {
        let mut endpoint = Endpoint::with_status(status);
        endpoint.error_message = error_message.map(str::to_owned);
        endpoint.delete_requested = *status == "DELETING";
        atlas.put(endpoint_id, endpoint);
    }
    // scripts/quickstart.sh reads the first three lines by their prefixes: keep them first.
    println!("fake Atlas listening on {}", atlas.url());
    println!("public key {PUBLIC_KEY}");
    println!("private key {PRIVATE_KEY}");
    println!("service account client id {CLIENT_ID}");
    println!("service account client secret {CLIENT_SECRET}");
    println!(
        "project {PROJECT_ID}, private link {PRIVATE_LINK_ID} (AVAILABLE, {ENDPOINT_SERVICE_NAME})"
    );
    println!(
        "v1.0 routes {}; v2 routes need Accept: application/vnd.atlas.{API_VERSION}+json",
        if options.v1_gone { "gone" } else { "served" }
    );
    for (endpoint_id, status, _) in SEEDS {
        println!("endpoint {endpoint_id} {status}");
    }
    atlas.seed_clouds();
    println!("AZURE private link {AZURE_PRIVATE_LINK_ID} AVAILABLE");
    println!("AZURE endpoint {AZURE_ENDPOINT_ID} AVAILABLE");
    println!("AZURE endpoint {AZURE_INITIATING_ENDPOINT_ID} INITIATING");
    println!("AZURE private link {AZURE_INITIATING_LINK_ID} INITIATING");
    println!("GCP private link {GCP_PRIVATE_LINK_ID} AVAILABLE");
    println!("GCP endpoint {GCP_ENDPOINT_GROUP} AVAILABLE");
    println!(
        "GCP endpoint {GCP_SLOW_ENDPOINT_GROUP} INITIATING, AVAILABLE from read {}",
        GCP_READS_UNTIL_AVAILABLE + 1
    );
    println!("GCP private link {GCP_INITIATING_LINK_ID} INITIATING");
    let _ = tokio::signal::ctrl_c().await;
}
