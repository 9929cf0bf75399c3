//! Running the real `terraform` against a provider under test, for the end-to-end tests and the
//! benchmark alike: the CLI configuration that points `local/atlas` at a built provider, and a
//! command whose environment holds nothing of the developer's own.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Environment variables that never reach terraform: the Atlas key and URL fallbacks (so a
/// developer's own key cannot leak into a run), Terraform's own settings (the CLI configuration,
/// logging, `TF_CLI_ARGS`, `TF_VAR_*`), and proxies.
const CLEARED_PREFIXES: &[&str] = &["MONGODB_ATLAS_", "MCLI_", "TF_", "CHECKPOINT_"];
const CLEARED_NAMES: &[&str] = &[
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
];

/// The `terraform` on PATH.
pub fn find_on_path() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|directory| directory.join("terraform"))
        .find(|candidate| candidate.is_file())
}

/// An HCL string literal.
pub fn hcl(text: &str) -> String {
    serde_json::to_string(text).expect("a string serializes")
}

/// A CLI configuration whose `dev_overrides` make Terraform use the provider binary in
/// `provider_directory` for `local/atlas`, without `terraform init`.
pub fn dev_overrides_config(provider_directory: &Path) -> String {
    format!(
        "provider_installation {{\n  dev_overrides {{\n    \"local/atlas\" = {}\n  }}\n  direct {{}}\n}}\n",
        hcl(&provider_directory.to_string_lossy())
    )
}

/// `terraform <arguments>` in `directory` with the CLI configuration `cli_config`, in automation
/// mode, with the cleared variables (and `also_cleared`) removed from the inherited environment.
pub fn clean_command(
    terraform: &Path,
    directory: &Path,
    cli_config: &Path,
    arguments: &[&str],
    also_cleared: &[&str],
) -> Command {
    let mut command = Command::new(terraform);
    command
        .args(arguments)
        .current_dir(directory)
        .stdin(Stdio::null());
    for (name, _) in std::env::vars_os() {
        let text = name.to_string_lossy();
        if CLEARED_PREFIXES
            .iter()
            .any(|prefix| text.starts_with(prefix))
            || CLEARED_NAMES.contains(&text.as_ref())
            || also_cleared.contains(&text.as_ref())
        {
            command.env_remove(&name);
        }
    }
    command
        .env("TF_CLI_CONFIG_FILE", cli_config)
        .env("TF_IN_AUTOMATION", "1")
        .env("CHECKPOINT_DISABLE", "1");
    command
}
