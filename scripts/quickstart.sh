#!/usr/bin/env bash
# Quick start: builds and installs the provider (scripts/install.sh), builds the fake Atlas,
# starts it on a free loopback port, and applies examples/quickstart against it. The repository
# is left untouched; any failure exits non-zero.
#
# Usage: scripts/quickstart.sh                   (from any directory)
#        scripts/quickstart.sh --prebuilt DIR    use the binaries in DIR instead of building

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

prebuilt=""
case "${1:-}" in
    "") ;;
    --prebuilt)
        # Binaries already built (both terraform-provider-atlas and fake-atlas in DIR), as the
        # test of this script uses; it then builds nothing.
        [[ $# -eq 2 && -d "$2" ]] || fail "usage: scripts/quickstart.sh [--prebuilt DIR]"
        prebuilt="$(cd -- "$2" && pwd)"
        ;;
    *) fail "unknown argument $1 (usage: scripts/quickstart.sh [--prebuilt DIR])" ;;
esac

if [[ -n "$prebuilt" ]]; then
    bin_dir="$prebuilt"
    step "Installing the provider from $bin_dir"
    "$repo_root/scripts/install.sh" --binary "$bin_dir/terraform-provider-atlas"
else
    step "Building and installing the provider"
    "$repo_root/scripts/install.sh"
    step "Building the fake Atlas (release)"
    # A build of its own: cargo merges the features one build asks of a shared dependency, and
    # the fake's tokio (multi-threaded runtime) would then be compiled into the provider too.
    cargo build --release -p fake-atlas
    target_dir="$(cargo metadata --format-version 1 --no-deps |
        sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
    bin_dir="${target_dir:-$repo_root/target}/release"
fi

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
# The log exists before the fake starts: the loop below reads it at once, and the shell opens
# the background job's redirection only when the job runs.
: >"$fake_log"
# Port 0: the operating system picks a free port, and the fake prints the URL it got.
"$bin_dir/fake-atlas" --port 0 >"$fake_log" 2>&1 &
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
