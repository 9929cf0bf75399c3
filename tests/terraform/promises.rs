//! Promises from README.md that no other ring covers: what the newcomer's scripts check before
//! they build anything.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

/// Runs `require_terraform` from scripts/requirements.sh with a stand-in `terraform` that
/// reports `version`, as the quick start does.
fn require_terraform_with(version: &str) -> Output {
    let directory = tempfile::tempdir().unwrap();
    let terraform = directory.path().join("terraform");
    std::fs::write(
        &terraform,
        format!(
            "#!/bin/sh\nprintf '{{\\n  \"terraform_version\": \"{version}\",\\n  \"platform\": \"linux_amd64\"\\n}}\\n'\n"
        ),
    )
    .unwrap();
    std::fs::set_permissions(&terraform, std::fs::Permissions::from_mode(0o755)).unwrap();
    let requirements = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/requirements.sh");
    Command::new("bash")
        .arg("-c")
        .arg(r#"fail() { printf '%s\n' "$*" >&2; exit 1; }; source "$1"; require_terraform"#)
        .arg("bash")
        .arg(&requirements)
        .env(
            "PATH",
            format!("{}:/usr/bin:/bin", directory.path().display()),
        )
        .output()
        .unwrap()
}

/// README "Before you start": Terraform 1.7 or later, and the scripts refuse an older one.
#[test]
fn the_scripts_refuse_a_terraform_older_than_the_readme_minimum() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    assert!(
        readme.contains("**Terraform 1.7 or later**"),
        "the README's minimum changed: change scripts/requirements.sh and this test with it"
    );

    let old = require_terraform_with("1.6.6");
    let message = String::from_utf8_lossy(&old.stderr);
    assert!(!old.status.success(), "Terraform 1.6.6 was accepted");
    assert!(
        message.contains("is Terraform 1.6.6; this needs 1.7.0 or later"),
        "{message}"
    );

    for accepted in ["1.7.0", "1.11.4"] {
        let run = require_terraform_with(accepted);
        assert!(
            run.status.success(),
            "Terraform {accepted} was refused: {}",
            String::from_utf8_lossy(&run.stderr)
        );
    }
}
