//! Every example that ships `terraform test` files (`*.tftest.hcl`, beside the module or in its
//! `tests/` folder) passes `terraform test` against this build of the provider: these tests are
//! how users check their own assertions, so they must keep working as the schema changes.
//!
//! `mock_provider "atlas"` never calls the provider's reads, but Terraform still loads the
//! provider for its schema: the `dev_overrides` CLI configuration points `local/atlas` at the
//! binary Cargo built, so no `terraform init` and no network are needed.

use std::fs;
use std::path::{Path, PathBuf};

use crate::support::{provider_directory, run_to_end, terraform_binary};

fn repository_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn files_ending(directory: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(directory)
        .map(|entries| {
            entries
                .filter_map(|entry| entry.ok().map(|entry| entry.path()))
                .filter(|path| path.is_file() && path.to_string_lossy().ends_with(suffix))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// The test files of an example: beside it and in its `tests/` folder, where `terraform test`
/// looks by default.
fn test_files(example: &Path) -> Vec<PathBuf> {
    let mut files = files_ending(example, ".tftest.hcl");
    files.extend(files_ending(&example.join("tests"), ".tftest.hcl"));
    files
}

/// Every example directory with at least one test file.
fn examples_with_tests() -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = fs::read_dir(repository_root().join("examples"))
        .expect("examples/ is readable")
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.is_dir() && !test_files(path).is_empty())
        .collect();
    found.sort();
    found
}

/// Copies the module and its tests, so that state or a `.terraform` folder left by someone's
/// manual run cannot change the outcome.
fn copy_example(example: &Path, copy: &Path) {
    fs::create_dir_all(copy.join("tests")).expect("creating the copy");
    for file in files_ending(example, ".tf")
        .into_iter()
        .chain(files_ending(example, ".tftest.hcl"))
    {
        fs::copy(&file, copy.join(file.file_name().unwrap_or_default())).expect("copying");
    }
    for file in files_ending(&example.join("tests"), ".tftest.hcl") {
        fs::copy(
            &file,
            copy.join("tests")
                .join(file.file_name().unwrap_or_default()),
        )
        .expect("copying");
    }
}

/// How many `run` blocks the test files declare: each must be reported as passed.
fn declared_runs(example: &Path) -> usize {
    test_files(example)
        .iter()
        .map(|file| {
            fs::read_to_string(file)
                .expect("the test file is readable")
                .lines()
                .filter(|line| line.trim_start().starts_with("run \""))
                .count()
        })
        .sum()
}

#[test]
fn every_example_with_terraform_tests_passes_them_against_this_build() {
    let examples = examples_with_tests();
    assert!(
        examples.iter().any(|example| example.ends_with("testing")),
        "examples/testing holds the terraform test example; found only {examples:?}"
    );
    let terraform = terraform_binary();
    let scratch = tempfile::tempdir().expect("a temporary directory");
    let cli_config = scratch.path().join("terraform.tfrc");
    fs::write(
        &cli_config,
        fake_atlas::terraform::dev_overrides_config(&provider_directory()),
    )
    .expect("writing the CLI configuration");

    let mut failures = Vec::new();
    for example in &examples {
        let name = example
            .strip_prefix(repository_root())
            .unwrap_or(example)
            .display()
            .to_string();
        let copy = scratch.path().join(name.replace('/', "__"));
        copy_example(example, &copy);
        let command = fake_atlas::terraform::clean_command(
            &terraform,
            &copy,
            &cli_config,
            &["test", "-no-color"],
            &[],
        );
        let run = run_to_end(command, format!("terraform test in {name}"), &copy);
        let runs = declared_runs(example);
        let summary = format!("Success! {runs} passed, 0 failed.");
        if !run.status.success() || !run.text().contains(&summary) {
            failures.push(format!("{name}: expected {summary:?}\n{run}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Issue 22: a list of endpoints mocked with `override_data` reaches the module whole, and the
/// run that expects the check to fail on a PENDING endpoint is a real test: with that endpoint
/// AVAILABLE instead, the same run fails with "Missing expected failure". (With `endpoints` as
/// nested attributes, Terraform 1.11 refused the list: "incompatible types; expected object
/// type, found tuple".)
#[test]
fn a_mocked_list_with_a_pending_endpoint_fails_the_check_and_without_it_the_run_fails() {
    let example = repository_root().join("examples/testing");
    let scratch = tempfile::tempdir().expect("a temporary directory");
    let cli_config = scratch.path().join("terraform.tfrc");
    fs::write(
        &cli_config,
        fake_atlas::terraform::dev_overrides_config(&provider_directory()),
    )
    .expect("writing the CLI configuration");
    let test_file = Path::new("tests/private_endpoints.tftest.hcl");
    let run_in = |copy: &Path| {
        let command = fake_atlas::terraform::clean_command(
            &terraform_binary(),
            copy,
            &cli_config,
            &[
                "test",
                "-no-color",
                "-filter",
                &test_file.display().to_string(),
            ],
            &[],
        );
        run_to_end(command, "terraform test".to_owned(), copy)
    };

    let as_shipped = scratch.path().join("as_shipped");
    copy_example(&example, &as_shipped);
    let run = run_in(&as_shipped);
    assert!(
        run.status.success() && run.text().contains("Success! 2 passed, 0 failed."),
        "{run}"
    );

    let all_available = scratch.path().join("all_available");
    copy_example(&example, &all_available);
    let path = all_available.join(test_file);
    let text = fs::read_to_string(&path).expect("the test file is readable");
    assert!(
        text.contains("status = \"PENDING\""),
        "the test mocks a PENDING endpoint"
    );
    fs::write(
        &path,
        text.replace("status = \"PENDING\"", "status = \"AVAILABLE\""),
    )
    .expect("writing the changed test");
    let run = run_in(&all_available);
    assert!(!run.status.success(), "{run}");
    assert!(run.text().contains("Missing expected failure"), "{run}");
}

/// The provider binary Cargo built for these tests, and the directory it is in.
fn built_provider() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_terraform-provider-atlas"))
}

/// A script of `scripts/` run with a clean environment and `home` as HOME, as a new user's shell
/// would run it (no CLI configuration, no plugin cache, no Terraform variables of ours).
fn script(name: &str, arguments: &[&std::ffi::OsStr], home: &Path) -> std::process::Command {
    let mut command = std::process::Command::new("bash");
    command
        .arg(repository_root().join("scripts").join(name))
        .args(arguments)
        .current_dir(home)
        .stdin(std::process::Stdio::null())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("TMPDIR", home)
        .env("CHECKPOINT_DISABLE", "1");
    command
}

/// Issue 23 items 3 and 5: there was no command that only installs the provider, and
/// `terraform test` on examples/testing before `terraform init` fails ("Missing required
/// provider"). Followed as documented: `scripts/install.sh` (here with the binary Cargo built,
/// so no build runs inside the test), then `terraform init` and `terraform test` in a copy of
/// examples/testing, with no dev_overrides: the plain implicit local mirror.
#[test]
fn install_then_init_then_test_works_as_documented() {
    let home = tempfile::tempdir().expect("a temporary HOME");
    let binary = built_provider();
    let output = script(
        "install.sh",
        &["--binary".as_ref(), binary.as_os_str()],
        home.path(),
    )
    .output()
    .expect("running scripts/install.sh");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let version = env!("CARGO_PKG_VERSION");
    let installed = home
        .path()
        .join(".terraform.d/plugins/registry.terraform.io/local/atlas")
        .join(version);
    assert!(
        stdout.contains(&format!("Installed terraform-provider-atlas {version}"))
            && stdout.contains(&installed.display().to_string()),
        "install.sh names the version and the path: {stdout}"
    );
    assert!(stderr.is_empty(), "no stray error lines: {stderr}");

    let example = repository_root().join("examples/testing");
    let copy = home.path().join("testing");
    copy_example(&example, &copy);
    // An empty CLI configuration: no provider_installation block, so the implicit mirror in
    // HOME is where `terraform init` looks.
    let cli_config = home.path().join("empty.tfrc");
    fs::write(&cli_config, "").expect("writing the CLI configuration");
    let terraform = terraform_binary();
    for (arguments, expected) in [
        (
            &["init", "-no-color", "-input=false"][..],
            format!("Installing local/atlas v{version}"),
        ),
        (
            &["test", "-no-color"][..],
            format!("Success! {} passed, 0 failed.", declared_runs(&example)),
        ),
    ] {
        let mut command =
            fake_atlas::terraform::clean_command(&terraform, &copy, &cli_config, arguments, &[]);
        command.env("HOME", home.path());
        let run = run_to_end(command, format!("terraform {}", arguments[0]), &copy);
        assert!(
            run.status.success() && run.text().contains(&expected),
            "expected {expected:?}:\n{run}"
        );
    }

    // The README and the example say that `terraform init` comes first.
    for document in ["README.md", "examples/testing/main.tf"] {
        let text = fs::read_to_string(repository_root().join(document)).expect("readable");
        let init = text.find("terraform init");
        let test = text.find("terraform test` in");
        assert!(
            matches!((init, test), (Some(init), Some(test)) if init < test),
            "{document} says to run `terraform init` before `terraform test` in the module's folder"
        );
    }
}

/// Issue 23 item 4: the quickstart printed `grep: .../fake-atlas.log: No such file or
/// directory` (it read the fake's log before the background job had opened it). A successful
/// run prints no stray error line. Run from the binaries Cargo built (`--prebuilt`), so that no
/// release build runs inside the test; fake-atlas's binary is built by `cargo test --workspace`.
#[test]
fn quickstart_applies_the_example_without_stray_error_lines() {
    let bin_dir = built_provider()
        .parent()
        .expect("the binary has a directory")
        .to_path_buf();
    assert!(
        bin_dir.join("fake-atlas").is_file(),
        "fake-atlas's binary is missing from {}: run the tests with `cargo test --workspace`, which builds it",
        bin_dir.display()
    );
    let home = tempfile::tempdir().expect("a temporary HOME");
    let output = script(
        "quickstart.sh",
        &["--prebuilt".as_ref(), bin_dir.as_os_str()],
        home.path(),
    )
    .output()
    .expect("running scripts/quickstart.sh");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("\"vpce-0a0000000000000a1\" = \"AVAILABLE\"")
            && stdout.contains("Installed terraform-provider-atlas"),
        "{stdout}"
    );
    assert!(stderr.trim().is_empty(), "stray lines on stderr: {stderr}");
}
