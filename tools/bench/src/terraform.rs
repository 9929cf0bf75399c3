//! Running the real `terraform` against the provider under test and the fake Atlas.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use fake_atlas::terraform::{clean_command, dev_overrides_config, hcl};
use fake_atlas::{PRIVATE_KEY, PRIVATE_LINK_ID, PROJECT_ID, PUBLIC_KEY};

use crate::BenchError;

/// OpenSSL's CA bundle overrides, cleared on top of what every terraform run clears: some CI
/// machines set them, a typical workstation does not.
const ALSO_CLEARED: &[&str] = &["SSL_CERT_FILE", "SSL_CERT_DIR"];

/// How long one terraform command may take before the bench gives up.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(600);

/// The `terraform` on PATH.
pub fn find_terraform() -> Result<PathBuf, BenchError> {
    fake_atlas::terraform::find_on_path()
        .ok_or_else(|| "`terraform` is not on PATH: install Terraform 1.11 or later".into())
}

/// What every terraform run shares: the binary, the CLI configuration (`dev_overrides` pointing
/// `local/atlas` at the provider directory) and the fake's URL.
pub struct Terraform {
    pub binary: PathBuf,
    pub cli_config: PathBuf,
    pub atlas_url: String,
}

impl Terraform {
    /// Writes the CLI configuration into `directory`.
    pub fn new(
        binary: PathBuf,
        directory: &Path,
        provider_directory: &Path,
        atlas_url: String,
    ) -> Result<Self, BenchError> {
        let cli_config = directory.join("bench.tfrc");
        std::fs::write(&cli_config, dev_overrides_config(provider_directory))?;
        Ok(Self {
            binary,
            cli_config,
            atlas_url,
        })
    }

    /// `terraform <arguments>` in `directory`, with the cleaned environment, the CLI configuration,
    /// automation mode, and the fake's key pair.
    pub fn command(&self, directory: &Path, arguments: &[&str]) -> Command {
        let mut command = clean_command(
            &self.binary,
            directory,
            &self.cli_config,
            arguments,
            ALSO_CLEARED,
        );
        command
            .env("MONGODB_ATLAS_PUBLIC_API_KEY", PUBLIC_KEY)
            .env("MONGODB_ATLAS_PRIVATE_API_KEY", PRIVATE_KEY);
        command
    }

    /// The first line of `terraform version`.
    pub fn version(&self, scratch: &Path) -> String {
        self.command(scratch, &["version"])
            .output()
            .ok()
            .and_then(|output| {
                String::from_utf8_lossy(&output.stdout)
                    .lines()
                    .find(|line| line.starts_with("Terraform v"))
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| "unknown".to_owned())
    }

    /// `main.tf` with `count` reads of `atlas_interface_endpoint`, one per id.
    pub fn provider_config(&self, ids: &[String]) -> String {
        format!(
            "terraform {{\n  required_providers {{\n    atlas = {{ source = \"local/atlas\" }}\n  }}\n}}\n\n\
             provider \"atlas\" {{\n  base_url = {}\n}}\n\n{}\
             data \"atlas_interface_endpoint\" \"e\" {{\n  count                 = length(local.ids)\n  \
             project_id            = {}\n  private_link_id       = {}\n  \
             interface_endpoint_id = local.ids[count.index]\n}}\n",
            hcl(&self.atlas_url),
            locals(ids),
            hcl(PROJECT_ID),
            hcl(PRIVATE_LINK_ID),
        )
    }

    /// The floor: the same shape with Terraform's built-in `terraform_data`, so no plugin starts.
    pub fn floor_config(&self, ids: &[String]) -> String {
        format!(
            "{}resource \"terraform_data\" \"e\" {{\n  count = length(local.ids)\n  \
             input = local.ids[count.index]\n}}\n",
            locals(ids)
        )
    }
}

fn locals(ids: &[String]) -> String {
    let list: Vec<String> = ids.iter().map(|id| format!("    {},\n", hcl(id))).collect();
    format!("locals {{\n  ids = [\n{}  ]\n}}\n\n", list.concat())
}

/// A finished terraform command.
pub struct Run {
    pub elapsed: Duration,
}

/// Runs `command` to the end (output to files, so no pipe fills up) and times it from spawn to
/// exit; `during` is called with the child right after it starts and must return promptly.
/// A non-zero exit is an error carrying what terraform printed.
pub fn run_timed(
    mut command: Command,
    description: &str,
    during: impl FnOnce(&Child),
) -> Result<Run, BenchError> {
    let capture = tempfile::tempdir()?;
    let stdout_path = capture.path().join("stdout");
    let stderr_path = capture.path().join("stderr");
    command
        .stdout(std::fs::File::create(&stdout_path)?)
        .stderr(std::fs::File::create(&stderr_path)?);
    let started = Instant::now();
    let mut child = command
        .spawn()
        .map_err(|error| format!("cannot start `{description}`: {error}"))?;
    during(&child);
    let pid = child.id();
    // A thread waits, so the exit is seen at once; the timeout only guards against a hang.
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = sender.send(child.wait());
    });
    let status = match receiver.recv_timeout(COMMAND_TIMEOUT) {
        Ok(status) => status?,
        Err(_) => {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            return Err(format!("`{description}` did not finish in {COMMAND_TIMEOUT:?}").into());
        }
    };
    let elapsed = started.elapsed();
    if !status.success() {
        return Err(format!(
            "`{description}` failed ({status}):\n--- stdout ---\n{}\n--- stderr ---\n{}",
            std::fs::read_to_string(&stdout_path).unwrap_or_default(),
            std::fs::read_to_string(&stderr_path).unwrap_or_default()
        )
        .into());
    }
    Ok(Run { elapsed })
}
