//! Shared by the tests that drive the real `terraform` binary: a workspace with its own fake
//! Atlas and a `dev_overrides` CLI configuration, and the captured result of a command.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::time::{Duration, Instant};

use fake_atlas::{FakeAtlas, PRIVATE_KEY, PUBLIC_KEY, RecordedRequest};
use serde_json::Value as Json;
use tempfile::TempDir;

/// How long one terraform command may run before the test gives up on it.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);

pub const AVAILABLE_ENDPOINT: &str = "vpce-0a0000000000000a1";
pub const PENDING_ENDPOINT: &str = "vpce-0b0000000000000b2";
/// Well formed, but not in the fake.
pub const MISSING_ENDPOINT: &str = "vpce-0c0000000000000c3";
/// Well formed, but not a private link of the default project.
pub const MISSING_PRIVATE_LINK: &str = "6b0000000000000000000bad";

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// The `terraform` on PATH, or a failed test saying how to get one.
pub fn terraform_binary() -> PathBuf {
    fake_atlas::terraform::find_on_path().unwrap_or_else(|| {
        panic!(
            "`terraform` was not found on PATH ({}). These end-to-end tests run the real Terraform CLI \
             (1.7 or later, see scripts/requirements.sh) against the provider: install it (e.g. to /usr/local/bin/terraform) and run \
             the tests again.",
            std::env::var_os("PATH").unwrap_or_default().to_string_lossy()
        )
    })
}

/// The directory holding the provider binary Cargo built for these tests.
pub fn provider_directory() -> PathBuf {
    let binary = Path::new(env!("CARGO_BIN_EXE_terraform-provider-atlas"));
    assert!(
        binary.is_file(),
        "the provider binary {} does not exist",
        binary.display()
    );
    binary
        .parent()
        .expect("the provider binary has a parent directory")
        .to_path_buf()
}

pub use fake_atlas::terraform::hcl;

/// Collapses every run of whitespace to one space: Terraform wraps diagnostic text at 78
/// columns, so a phrase may be split across lines.
pub fn squash(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// One finished terraform command.
pub struct Run {
    pub command: String,
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Everything the user saw, whitespace collapsed.
    pub fn text(&self) -> String {
        squash(&format!("{}\n{}", self.stdout, self.stderr))
    }

    /// The diagnostics (`Error: ...` / `Warning: ...` to the next one or the end of the
    /// stream), each whitespace-collapsed and starting with its severity.
    pub fn diagnostics(&self) -> Vec<String> {
        let mut blocks = Vec::new();
        for stream in [&self.stdout, &self.stderr] {
            let mut current: Option<String> = None;
            for line in stream.lines() {
                let starts = line.starts_with("Error: ") || line.starts_with("Warning: ");
                if starts && let Some(block) = current.take() {
                    blocks.push(squash(&block));
                }
                if starts {
                    current = Some(String::new());
                }
                if let Some(block) = current.as_mut() {
                    block.push_str(line);
                    block.push('\n');
                }
            }
            if let Some(block) = current {
                blocks.push(squash(&block));
            }
        }
        blocks
    }

    /// The one diagnostic starting with `heading` (e.g. "Error: Invalid Project ID") that also
    /// contains `mentioning`.
    pub fn diagnostic(&self, heading: &str, mentioning: &str) -> String {
        let found: Vec<String> = self
            .diagnostics()
            .into_iter()
            .filter(|block| block.starts_with(heading) && block.contains(mentioning))
            .collect();
        assert_eq!(
            found.len(),
            1,
            "expected exactly one diagnostic `{heading}` mentioning {mentioning:?}, found {}:\n{self}",
            found.len()
        );
        found.into_iter().next().unwrap()
    }

    pub fn assert_success(&self) -> &Self {
        assert!(self.status.success(), "expected success:\n{self}");
        self
    }

    pub fn assert_failure(&self) -> &Self {
        assert!(!self.status.success(), "expected failure:\n{self}");
        self
    }

    pub fn assert_shows(&self, phrase: &str) -> &Self {
        assert!(
            self.text().contains(&squash(phrase)),
            "expected the output to show {phrase:?}:\n{self}"
        );
        self
    }

    /// Terraform's `<address>: Read complete after <time> [id=<id>]` line.
    pub fn assert_read_complete(&self, address: &str, id: &str) -> &Self {
        let prefix = format!("{address}: Read complete after ");
        let suffix = format!(" [id={id}]");
        assert!(
            self.stdout
                .lines()
                .any(|line| line.starts_with(&prefix) && line.ends_with(&suffix)),
            "expected `{prefix}... {suffix}`:\n{self}"
        );
        self
    }

    pub fn assert_hides(&self, phrase: &str) -> &Self {
        assert!(
            !self.text().contains(&squash(phrase))
                && !self.stdout.contains(phrase)
                && !self.stderr.contains(phrase),
            "expected the output not to show {phrase:?}:\n{self}"
        );
        self
    }
}

impl fmt::Display for Run {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "$ {}\n[{}]\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.command, self.status, self.stdout, self.stderr
        )
    }
}

/// A directory with a CLI configuration pointing `local/atlas` at the provider under test, a
/// `main.tf`, and a fake Atlas of its own.
pub struct Workspace {
    pub directory: TempDir,
    pub atlas: FakeAtlas,
    pub cli_config: PathBuf,
    pub terraform: PathBuf,
    /// Set in the child's environment on top of the cleaned inherited one.
    pub environment: BTreeMap<String, String>,
}

impl Workspace {
    /// A workspace with the fake's key pair in MONGODB_ATLAS_PUBLIC_API_KEY and
    /// MONGODB_ATLAS_PRIVATE_API_KEY.
    pub async fn new() -> Workspace {
        let terraform = terraform_binary();
        let atlas = FakeAtlas::start().await;
        let directory = tempfile::Builder::new()
            .prefix("terraform-e2e-")
            .tempdir()
            .expect("a temporary directory");
        let cli_config = directory.path().join("terraform.tfrc");
        std::fs::write(
            &cli_config,
            fake_atlas::terraform::dev_overrides_config(&provider_directory()),
        )
        .expect("writing the CLI configuration");
        let environment = [
            ("MONGODB_ATLAS_PUBLIC_API_KEY", PUBLIC_KEY),
            ("MONGODB_ATLAS_PRIVATE_API_KEY", PRIVATE_KEY),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect();
        Workspace {
            directory,
            atlas,
            cli_config,
            terraform,
            environment,
        }
    }

    pub fn set_env(&mut self, name: &str, value: &str) {
        self.environment.insert(name.to_owned(), value.to_owned());
    }

    pub fn remove_env(&mut self, name: &str) {
        self.environment.remove(name);
    }

    /// The `terraform` and `provider` blocks, with `provider_arguments` added to the provider.
    pub fn preamble(&self, provider_arguments: &str) -> String {
        format!(
            "terraform {{\n  required_providers {{\n    atlas = {{ source = \"local/atlas\" }}\n  }}\n}}\n\n\
             provider \"atlas\" {{\n  base_url = {}\n{provider_arguments}}}\n\n",
            hcl(&self.atlas.url())
        )
    }

    /// Writes `main.tf`: the preamble, then `body`.
    pub fn write_config(&self, body: &str) {
        self.write_main_tf(&format!("{}{body}", self.preamble("")));
    }

    pub fn write_main_tf(&self, text: &str) {
        std::fs::write(self.directory.path().join("main.tf"), text).expect("writing main.tf");
    }

    /// `terraform <arguments>` in the workspace, with the cleaned environment.
    pub fn command(&self, arguments: &[&str]) -> Command {
        let mut command = fake_atlas::terraform::clean_command(
            &self.terraform,
            self.directory.path(),
            &self.cli_config,
            arguments,
            &[],
        );
        command.envs(&self.environment);
        command
    }

    /// Runs `terraform <arguments>` in the workspace, with the fake's runtime still serving.
    pub async fn terraform(&self, arguments: &[&str]) -> Run {
        let command = self.command(arguments);
        let description = format!("terraform {}", arguments.join(" "));
        let directory = self.directory.path().to_path_buf();
        tokio::task::spawn_blocking(move || run_to_end(command, description, &directory))
            .await
            .expect("the terraform runner thread did not panic")
    }

    /// Starts `terraform <arguments>` in a process group of its own, as a shell in a terminal
    /// does, so that an interrupt reaches Terraform and its providers together.
    pub fn start(&self, arguments: &[&str]) -> Running {
        use std::os::unix::process::CommandExt;
        let capture = tempfile::Builder::new()
            .prefix(".capture-")
            .tempdir_in(self.directory.path())
            .expect("a capture directory");
        let stdout_path = capture.path().join("stdout");
        let stderr_path = capture.path().join("stderr");
        let mut command = self.command(arguments);
        command
            .process_group(0)
            .stdout(File::create(&stdout_path).expect("creating the stdout file"))
            .stderr(File::create(&stderr_path).expect("creating the stderr file"));
        let description = format!("terraform {}", arguments.join(" "));
        let child = command
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start `{description}`: {error}"));
        Running {
            child,
            description,
            stdout_path,
            stderr_path,
            _capture: capture,
        }
    }

    /// `terraform plan`, as in automation.
    pub async fn plan(&self) -> Run {
        self.terraform(&["plan", "-no-color", "-input=false"]).await
    }

    /// `terraform apply -auto-approve`, as in automation, with `extra` arguments.
    pub async fn apply(&self, extra: &[&str]) -> Run {
        let mut arguments = vec!["apply", "-no-color", "-input=false", "-auto-approve"];
        arguments.extend_from_slice(extra);
        self.terraform(&arguments).await
    }

    pub async fn validate(&self) -> Run {
        self.terraform(&["validate", "-no-color"]).await
    }

    /// `terraform output -json`, parsed, after checking it succeeded.
    pub async fn outputs(&self) -> Json {
        let run = self.terraform(&["output", "-json"]).await;
        run.assert_success();
        let outputs: Json = serde_json::from_str(&run.stdout).unwrap_or_else(|error| {
            panic!("`terraform output -json` is not JSON ({error}):\n{run}")
        });
        outputs
    }

    /// An `atlas_interface_endpoint` data source block.
    pub fn data_source(name: &str, project: &str, link: &str, endpoint: &str) -> String {
        format!(
            "data \"atlas_interface_endpoint\" \"{name}\" {{\n  project_id            = {}\n  \
             private_link_id       = {}\n  interface_endpoint_id = {}\n}}\n\n",
            hcl(project),
            hcl(link),
            hcl(endpoint)
        )
    }

    /// The GET requests to endpoint paths that Atlas answered with 200.
    pub fn successful_reads(&self) -> Vec<RecordedRequest> {
        self.atlas
            .requests()
            .into_iter()
            .filter(|request| {
                request.method == "GET"
                    && request.status == 200
                    && request.path.contains("/interfaceEndpoints/")
            })
            .collect()
    }
}

/// A terraform command started with [`Workspace::start`].
pub struct Running {
    child: std::process::Child,
    description: String,
    stdout_path: PathBuf,
    stderr_path: PathBuf,
    _capture: TempDir,
}

impl Running {
    /// Sends SIGINT to the whole process group, as Ctrl-C in a terminal does.
    pub fn interrupt(&self) {
        let group = format!("-{}", self.child.id());
        let status = Command::new("kill")
            .args(["-INT", "--", &group])
            .status()
            .expect("running kill");
        assert!(status.success(), "kill -INT {group} failed");
    }

    /// Waits up to `limit` for the command to end; returns what it printed and how long the
    /// wait took. Kills the group and fails the test if it does not end in time.
    pub async fn wait(mut self, limit: Duration) -> (Run, Duration) {
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("waiting for terraform") {
                break status;
            }
            if started.elapsed() > limit {
                let _ = Command::new("kill")
                    .args(["-KILL", "--", &format!("-{}", self.child.id())])
                    .status();
                let _ = self.child.wait();
                panic!(
                    "`{}` did not end within {limit:?}; stdout:\n{}\nstderr:\n{}",
                    self.description,
                    std::fs::read_to_string(&self.stdout_path).unwrap_or_default(),
                    std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
                );
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        let read = |path: &Path| {
            String::from_utf8_lossy(&std::fs::read(path).expect("reading captured output"))
                .into_owned()
        };
        let run = Run {
            command: self.description.clone(),
            status,
            stdout: read(&self.stdout_path),
            stderr: read(&self.stderr_path),
        };
        (run, started.elapsed())
    }
}

/// Runs `command` with stdout and stderr sent to files (no pipe can fill up), killing it after
/// [`COMMAND_TIMEOUT`].
pub fn run_to_end(mut command: Command, description: String, directory: &Path) -> Run {
    let capture = tempfile::Builder::new()
        .prefix(".capture-")
        .tempdir_in(directory)
        .expect("a capture directory");
    let stdout_path = capture.path().join("stdout");
    let stderr_path = capture.path().join("stderr");
    command
        .stdout(File::create(&stdout_path).expect("creating the stdout file"))
        .stderr(File::create(&stderr_path).expect("creating the stderr file"));
    let mut child = command
        .spawn()
        .unwrap_or_else(|error| panic!("cannot start `{description}`: {error}"));
    let deadline = Instant::now() + COMMAND_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for terraform") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "`{description}` did not finish within {COMMAND_TIMEOUT:?}; stdout:\n{}\nstderr:\n{}",
                std::fs::read_to_string(&stdout_path).unwrap_or_default(),
                std::fs::read_to_string(&stderr_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let read = |path: &Path| {
        String::from_utf8_lossy(&std::fs::read(path).expect("reading captured output")).into_owned()
    };
    Run {
        command: description,
        status,
        stdout: read(&stdout_path),
        stderr: read(&stderr_path),
    }
}

/// The fields of an object output, or a failed test.
pub fn field<'a>(object: &'a Json, name: &str) -> &'a Json {
    object
        .get(name)
        .unwrap_or_else(|| panic!("no `{name}` in {object:#}"))
}
