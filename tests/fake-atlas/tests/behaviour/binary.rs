//! The `fake-atlas` binary as a newcomer runs it: a real `--help`, usage errors, and the lines
//! `scripts/quickstart.sh` reads.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

const BINARY: &str = env!("CARGO_BIN_EXE_fake-atlas");

#[test]
fn help_prints_usage_and_exits_zero() {
    let output = Command::new(BINARY).arg("--help").output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    let usage = String::from_utf8_lossy(&output.stdout);
    assert!(
        usage.contains("Usage: fake-atlas [--port N] [--v1-gone]"),
        "{usage}"
    );
}

#[test]
fn an_unknown_argument_is_a_usage_error() {
    for arguments in [&["--bogus"][..], &["--port"][..], &["--port", "70000"][..]] {
        let output = Command::new(BINARY).args(arguments).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{arguments:?}");
        assert!(String::from_utf8_lossy(&output.stderr).contains("Usage:"));
    }
}

#[test]
fn it_prints_its_url_and_every_credential_first() {
    let mut child = Command::new(BINARY)
        .args(["--port", "0", "--v1-gone"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    // Read on another thread, so that a binary that stops printing fails the test, not hangs it.
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    let lines: Vec<String> = (0..7)
        .map_while(|_| receiver.recv_timeout(Duration::from_secs(30)).ok())
        .collect();
    child.kill().unwrap();
    let _ = child.wait();
    assert_eq!(lines.len(), 7, "{lines:?}");
    assert!(
        lines[0].starts_with("fake Atlas listening on http://127.0.0.1:"),
        "{lines:?}"
    );
    assert_eq!(lines[1], format!("public key {}", fake_atlas::PUBLIC_KEY));
    assert_eq!(lines[2], format!("private key {}", fake_atlas::PRIVATE_KEY));
    assert_eq!(
        lines[3],
        format!("service account client id {}", fake_atlas::CLIENT_ID)
    );
    assert_eq!(
        lines[4],
        format!(
            "service account client secret {}",
            fake_atlas::CLIENT_SECRET
        )
    );
    assert!(lines[6].starts_with("v1.0 routes gone"), "{lines:?}");
}

/// Issue 22: the binary seeds Azure and Google Cloud services and endpoints and prints their ids.
#[test]
fn it_prints_the_azure_and_google_cloud_ids_it_serves() {
    let mut child = Command::new(BINARY)
        .args(["--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    let last = format!(
        "GCP private link {} INITIATING",
        fake_atlas::GCP_INITIATING_LINK_ID
    );
    let mut lines = Vec::new();
    while let Ok(line) = receiver.recv_timeout(Duration::from_secs(30)) {
        let done = line == last;
        lines.push(line);
        if done || lines.len() > 40 {
            break;
        }
    }
    child.kill().unwrap();
    let _ = child.wait();
    for expected in [
        format!(
            "AZURE private link {} AVAILABLE",
            fake_atlas::AZURE_PRIVATE_LINK_ID
        ),
        format!("AZURE endpoint {} AVAILABLE", fake_atlas::AZURE_ENDPOINT_ID),
        format!(
            "AZURE private link {} INITIATING",
            fake_atlas::AZURE_INITIATING_LINK_ID
        ),
        format!(
            "GCP private link {} AVAILABLE",
            fake_atlas::GCP_PRIVATE_LINK_ID
        ),
        format!("GCP endpoint {} AVAILABLE", fake_atlas::GCP_ENDPOINT_GROUP),
        last.clone(),
    ] {
        assert!(lines.contains(&expected), "{expected:?} not in {lines:#?}");
    }
}
