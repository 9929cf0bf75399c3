#!/usr/bin/env bash
# Quick start: builds the provider and the fake Atlas, installs the provider where a plain
# `terraform init` finds it, starts the fake Atlas on a free loopback port, and applies
# examples/quickstart against it. The repository is left untouched; any failure exits non-zero.
#
# Usage: scripts/quickstart.sh   (from any directory)

set -euo pipefail

repo_root="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

step() { printf '\n==> %s\n' "$*"; }
fail() {
    printf 'quickstart: %s\n' "$*" >&2
    exit 1
}

# shellcheck source=scripts/requirements.sh
source "$repo_root/scripts/requirements.sh"
require_cargo
require_terraform

step "Building the provider and the fake Atlas (release)"
# Two builds, not one: cargo merges the features a single build asks of a shared dependency,
# and the fake's tokio (multi-threaded runtime) would then be compiled into the provider too,
# which loads libm and costs every start (docs/performance.md, Decisions).
cargo build --release -p terraform-provider-atlas
cargo build --release -p fake-atlas

# `cargo pkgid` prints path+file:///…#terraform-provider-atlas@0.1.0 (or …#0.1.0).
pkgid="$(cargo pkgid -p terraform-provider-atlas)"
version="${pkgid##*[#@]}"
target_dir="$(cargo metadata --format-version 1 --no-deps |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
target_dir="${target_dir:-$repo_root/target}"

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
step "Installing terraform-provider-atlas $version into $plugin_dir"
install -d "$plugin_dir"
install -m 0755 "$target_dir/release/terraform-provider-atlas" \
    "$plugin_dir/terraform-provider-atlas_v$version"

work_dir="$(mktemp -d "${TMPDIR:-/tmp}/atlas-quickstart.XXXXXX")"
fake_pid=""
cleanup() {
    if [[ -n "$fake_pid" ]]; then
        kill "$fake_pid" 2>/dev/null || true
        wait "$fake_pid" 2>/dev/null || true
    fi
    rm -rf -- "$work_dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

step "Starting the fake Atlas"
fake_log="$work_dir/fake-atlas.log"
# Port 0: the operating system picks a free port, and the fake prints the URL it got.
"$target_dir/release/fake-atlas" --port 0 >"$fake_log" 2>&1 &
fake_pid=$!
for _ in $(seq 100); do
    grep -q '^private key ' "$fake_log" && break
    kill -0 "$fake_pid" 2>/dev/null || fail "the fake Atlas exited at start: $(cat "$fake_log")"
    sleep 0.1
done
base_url="$(sed -n '1s/^fake Atlas listening on //p' "$fake_log")"
public_key="$(sed -n 's/^public key //p' "$fake_log")"
private_key="$(sed -n 's/^private key //p' "$fake_log")"
[[ -n "$base_url" && -n "$public_key" && -n "$private_key" ]] ||
    fail "the fake Atlas did not print its URL and key within 10 seconds: $(cat "$fake_log")"
cat "$fake_log"

step "Applying examples/quickstart (in $work_dir/quickstart)"
cp -R examples/quickstart "$work_dir/quickstart"
export TF_VAR_base_url="$base_url"
export MONGODB_ATLAS_PUBLIC_API_KEY="$public_key"
export MONGODB_ATLAS_PRIVATE_API_KEY="$private_key"
terraform -chdir="$work_dir/quickstart" init -input=false
terraform -chdir="$work_dir/quickstart" apply -input=false -auto-approve

step "Done"
cat <<EOF
The provider is installed for every Terraform configuration that requires source "local/atlas".
Next: the examples/ folder (examples/data-sources/<type>/ for each data source), and README.md for real Atlas.
EOF
