//! Every example that ships `terraform test` files (`*.tftest.hcl`, beside the module or in its
//! `tests/` folder) passes `terraform test` against this build of the provider: these tests are
//! how users check their own assertions, so they must keep working as the schema changes.
//!
//! `mock_provider "atlas"` never calls the provider's reads, but Terraform still loads the
//! provider for its schema: the `dev_overrides` CLI configuration points `local/atlas` at the
//! binary Cargo built, so no `terraform init` and no network are needed.

mod support;

use std::fs;
use std::path::{Path, PathBuf};

use support::{provider_directory, run_to_end, terraform_binary};

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
