#!/usr/bin/env bash
# Builds the provider in release mode and installs it into Terraform's implicit local mirror,
# where a plain `terraform init` finds it for any configuration that requires source
# "local/atlas". Prints the version and the path it installed. Changes nothing in the repository.
#
# Usage: scripts/install.sh                  build (cargo build --release) and install
#        scripts/install.sh --binary PATH    install PATH, an already built provider, instead
#
# The mirror is ~/.terraform.d/plugins/registry.terraform.io/local/atlas/<version>/<os>_<arch>/
# (Terraform's "implicit local mirror" on Linux and macOS). A CLI configuration with its own
# provider_installation block replaces the implicit mirror: add a filesystem_mirror for that
# directory there (README, "Installing for a team").

set -euo pipefail

repo_root="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

step() { printf '\n==> %s\n' "$*"; }
fail() {
    printf 'install: %s\n' "$*" >&2
    exit 1
}

binary=""
case "${1:-}" in
    "") ;;
    --binary)
        [[ $# -eq 2 ]] || fail "usage: scripts/install.sh [--binary PATH]"
        binary="$2"
        [[ -f "$binary" && -x "$binary" ]] || fail "--binary $binary is not an executable file"
        ;;
    -h | --help)
        sed -n '2,12s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
        exit 0
        ;;
    *) fail "unknown argument $1 (usage: scripts/install.sh [--binary PATH])" ;;
esac

if [[ -z "$binary" ]]; then
    # shellcheck source=scripts/requirements.sh
    source "$repo_root/scripts/requirements.sh"
    require_cargo
    step "Building terraform-provider-atlas (release)"
    cargo build --release -p terraform-provider-atlas
    target_dir="$(cargo metadata --format-version 1 --no-deps |
        sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
    binary="${target_dir:-$repo_root/target}/release/terraform-provider-atlas"
fi

# The version the binary reports ("terraform-provider-atlas 0.1.0") names its directory.
version="$("$binary" --version | sed -n 's/^terraform-provider-atlas //p')"
[[ -n "$version" ]] || fail "$binary --version did not print terraform-provider-atlas <version>"

case "$(uname -s)" in
    Linux) os=linux ;;
    Darwin) os=darwin ;;
    FreeBSD) os=freebsd ;;
    *) fail "unsupported operating system $(uname -s)" ;;
esac
case "$(uname -m)" in
    x86_64 | amd64) arch=amd64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) fail "unsupported architecture $(uname -m)" ;;
esac

# Terraform's implicit local mirror: with no provider_installation block in the CLI
# configuration, `terraform init` looks here before the registry.
plugin_dir="$HOME/.terraform.d/plugins/registry.terraform.io/local/atlas/$version/${os}_${arch}"
installed="$plugin_dir/terraform-provider-atlas_v$version"
install -d "$plugin_dir"
install -m 0755 "$binary" "$installed"

cat <<MESSAGE

Installed terraform-provider-atlas $version (${os}_${arch}) at
  $installed
A plain \`terraform init\` now finds it for any configuration with:
  terraform {
    required_providers {
      atlas = { source = "local/atlas", version = "$version" }
    }
  }
MESSAGE
