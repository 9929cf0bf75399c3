//! Every configuration under examples/ passes `terraform validate` against this build of the
//! provider, and opens with a comment that says what it shows.
//!
//! Terraform finds the provider through a `dev_overrides` CLI configuration pointing at the
//! binary Cargo just built, so no `terraform init` and no network are needed.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

const PROVIDER_SOURCE: &str = "local/atlas";

#[test]
fn every_example_validates_against_this_build() {
    let examples = example_directories();
    assert!(!examples.is_empty(), "no *.tf files found under examples/");
    let scratch = tempfile::tempdir().expect("a temporary directory");
    let cli_config = write_dev_overrides(scratch.path());

    let mut failures = Vec::new();
    for example in &examples {
        let copy = scratch
            .path()
            .join(relative_name(example).replace('/', "__"));
        copy_tf_files(example, &copy).expect("the example copies to a temporary directory");
        let output = run_terraform_validate(&copy, &cli_config);
        if !output.status.success() {
            failures.push(format!(
                "{}: terraform validate failed ({})\n{}{}",
                relative_name(example),
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} examples do not validate:\n\n{}",
        failures.len(),
        examples.len(),
        failures.join("\n")
    );
}

#[test]
fn every_example_file_opens_with_a_comment_saying_what_it_shows() {
    let mut missing = Vec::new();
    for example in example_directories() {
        for file in tf_files(&example).expect("the example directory is readable") {
            let text = fs::read_to_string(&file).expect("the example is readable");
            let first_line = text.lines().next().unwrap_or_default();
            let said = first_line
                .strip_prefix('#')
                .map(str::trim)
                .unwrap_or_default();
            if said.is_empty() {
                missing.push(format!(
                    "{}: first line is {first_line:?}",
                    file.strip_prefix(repository_root())
                        .unwrap_or(&file)
                        .display()
                ));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "Each example must start with a `# ...` comment that says what it shows:\n{}",
        missing.join("\n")
    );
}

fn repository_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Every directory under examples/ that holds a `.tf` file, sorted.
fn example_directories() -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![repository_root().join("examples")];
    while let Some(directory) = pending.pop() {
        let entries = fs::read_dir(&directory)
            .unwrap_or_else(|error| panic!("cannot read {}: {error}", directory.display()));
        let mut holds_tf = false;
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            if path.is_dir() && !name.starts_with('.') {
                pending.push(path);
            } else if is_tf_file(&path) {
                holds_tf = true;
            }
        }
        if holds_tf {
            found.push(directory);
        }
    }
    found.sort();
    found
}

fn is_tf_file(path: &Path) -> bool {
    path.is_file() && path.extension().is_some_and(|extension| extension == "tf")
}

fn tf_files(directory: &Path) -> io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in fs::read_dir(directory)? {
        let path = entry?.path();
        if is_tf_file(&path) {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// `examples/for-each`, for messages.
fn relative_name(example: &Path) -> String {
    example
        .strip_prefix(repository_root())
        .unwrap_or(example)
        .to_string_lossy()
        .into_owned()
}

/// Copies only the configuration, so that a `.terraform` directory, lock file or state left
/// behind by someone's manual run cannot change the outcome.
fn copy_tf_files(example: &Path, copy: &Path) -> io::Result<()> {
    fs::create_dir_all(copy)?;
    for file in tf_files(example)? {
        fs::copy(&file, copy.join(file.file_name().unwrap_or_default()))?;
    }
    Ok(())
}

/// A CLI configuration that makes Terraform use the provider binary Cargo built for this test.
fn write_dev_overrides(scratch: &Path) -> PathBuf {
    let binary = Path::new(env!("CARGO_BIN_EXE_terraform-provider-atlas"));
    let binary_directory = binary
        .parent()
        .expect("the provider binary is in a directory");
    let path = scratch.join("dev-overrides.tfrc");
    let config = format!(
        "provider_installation {{\n  dev_overrides {{\n    {PROVIDER_SOURCE:?} = {:?}\n  }}\n  direct {{}}\n}}\n",
        binary_directory.display().to_string()
    );
    fs::write(&path, config).expect("the CLI configuration is writable");
    path
}

fn run_terraform_validate(directory: &Path, cli_config: &Path) -> std::process::Output {
    Command::new("terraform")
        .args(["validate", "-no-color"])
        .current_dir(directory)
        .env("TF_CLI_CONFIG_FILE", cli_config)
        .env("TF_IN_AUTOMATION", "1")
        .env("CHECKPOINT_DISABLE", "1")
        .env_remove("TF_DATA_DIR")
        .env_remove("TF_CLI_ARGS")
        .env_remove("TF_CLI_ARGS_validate")
        .output()
        .unwrap_or_else(|error| {
            panic!(
                "cannot run `terraform` ({error}). These tests need the Terraform CLI (1.7 or later, see \
                 scripts/requirements.sh) on PATH: install it from HashiCorp's releases or package repository."
            )
        })
}
