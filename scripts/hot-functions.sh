#!/usr/bin/env bash
# Writes tools/layout/hot-functions.txt: the functions the provider runs during `terraform plan`,
# in the order the release link places them at the start of the executable's code (build.rs hands
# the list to lld). Each process Terraform starts then maps fewer 64 KiB stretches of code, and
# a 1-read plan costs about 0.5 ms less CPU (docs/performance.md, Decisions).
#
# The list names symbols of one build. Rust symbol names carry hashes of the dependency versions,
# the compiler and the release profile, and the code decides which functions exist and the numbers
# LTO appends to local names, so run this again after changing Cargo.toml, Cargo.lock, the Rust
# toolchain or code that runs during a plan: tests/code_layout.rs fails until you do. A name the
# build no longer has is skipped by the linker, so a stale list loses the gain and breaks nothing.
#
# How: it builds the release provider exactly as `cargo build --release` does but keeping its
# symbols (ATLAS_KEEP_SYMBOLS=1, in target/layout), plans the examples' data sources against the
# fake Atlas with each provider process under valgrind's callgrind (every function it runs), then
# samples the same plans natively with perf when perf is installed (aws-lc picks AVX-512 and
# other code paths natively that valgrind's CPU does not offer).
#
# Needs: cargo, terraform, valgrind, python3; perf optional. Takes about 5 minutes on 2 cores.
# Usage: scripts/hot-functions.sh

set -euo pipefail

repo_root="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

step() { printf '\n==> %s\n' "$*" >&2; }
fail() {
    printf 'hot-functions: %s\n' "$*" >&2
    exit 1
}

# shellcheck source=scripts/requirements.sh
source scripts/requirements.sh
require_cargo
require_terraform
command -v valgrind >/dev/null || fail "valgrind is not on PATH (Debian: apt-get install valgrind)."
command -v python3 >/dev/null || fail "python3 is not on PATH."

work="$(mktemp -d "${TMPDIR:-/tmp}/atlas-hot-functions.XXXXXX")"
fake_pid=""
cleanup() {
    [[ -n "$fake_pid" ]] && kill "$fake_pid" 2>/dev/null
    rm -rf -- "$work"
}
trap cleanup EXIT

step "Building the release provider with its symbols (target/layout) and the fake Atlas"
ATLAS_KEEP_SYMBOLS=1 CARGO_TARGET_DIR="$repo_root/target/layout" \
    cargo build --release -p terraform-provider-atlas
# Its own cargo invocation: built together, the fake's tokio features would be the provider's.
cargo build --release -p fake-atlas
provider="$repo_root/target/layout/release/terraform-provider-atlas"
target_dir="$(cargo metadata --format-version 1 --no-deps |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
fake="${target_dir:-$repo_root/target}/release/fake-atlas"

step "Starting the fake Atlas on 127.0.0.1"
"$fake" --port 0 >"$work/fake.out" 2>&1 &
fake_pid=$!
for _ in $(seq 100); do
    grep -q "listening on" "$work/fake.out" && break
    sleep 0.05
done
base_url="$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$work/fake.out")"
public_key="$(sed -n 's/^public key \(.*\)$/\1/p' "$work/fake.out")"
private_key="$(sed -n 's/^private key \(.*\)$/\1/p' "$work/fake.out")"
[[ -n "$base_url" && -n "$public_key" && -n "$private_key" ]] || fail "the fake Atlas did not start: $(cat "$work/fake.out")"

# configuration NAME: writes $work/NAME/main.tf, the provider pointed at the fake Atlas and then
# the data blocks read from stdin (the fake's seeded project and private link).
configuration() {
    mkdir -p "$work/$1"
    {
        printf 'terraform {\n  required_providers { atlas = { source = "local/atlas" } }\n}\n'
        printf 'provider "atlas" { base_url = "%s" }\n' "$base_url"
        cat
    } >"$work/$1/main.tf"
}

# The benchmark's plan (tools/bench) first, then the other data sources, whose functions come later.
mkdir -p "$work/plugins" "$work/callgrind"
configuration one <<'EOF'
data "atlas_interface_endpoint" "e" {
  project_id            = "5f1a2b3c4d5e6f7a8b9c0d1e"
  private_link_id       = "6a1a2b3c4d5e6f7a8b9c0d1e"
  interface_endpoint_id = "vpce-0a0000000000000a1"
}
EOF
configuration others <<'EOF'
data "atlas_private_link" "l" {
  project_id      = "5f1a2b3c4d5e6f7a8b9c0d1e"
  private_link_id = "6a1a2b3c4d5e6f7a8b9c0d1e"
}
data "atlas_interface_endpoints" "all" {
  project_id      = "5f1a2b3c4d5e6f7a8b9c0d1e"
  private_link_id = "6a1a2b3c4d5e6f7a8b9c0d1e"
}
EOF
cat >"$work/terraformrc" <<EOF
provider_installation {
  dev_overrides { "local/atlas" = "$work/plugins" }
  direct {}
}
EOF

# plan CONFIGURATION [COMMAND...]: one `terraform plan` in $work/CONFIGURATION, run under COMMAND.
plan() {
    local configuration="$1"
    shift
    (cd "$work/$configuration" && env -i PATH="$PATH" HOME="$work" \
        TF_CLI_CONFIG_FILE="$work/terraformrc" TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1 \
        MONGODB_ATLAS_PUBLIC_API_KEY="$public_key" MONGODB_ATLAS_PRIVATE_API_KEY="$private_key" \
        CONFIGURATION="$configuration" "$@" terraform plan -input=false -lock=false -no-color \
        >"$work/plan.out" 2>&1) || fail "terraform plan failed in $configuration: $(cat "$work/plan.out")"
}

step "Planning under callgrind (every function each provider process runs)"
{
    printf '#!/bin/sh\n'
    printf 'exec valgrind --tool=callgrind --demangle=no --dump-instr=no '
    printf -- '--callgrind-out-file="%s/callgrind/$CONFIGURATION.%%p" -- "%s" "$@" 2>/dev/null\n' \
        "$work" "$provider"
} >"$work/plugins/terraform-provider-atlas"
chmod +x "$work/plugins/terraform-provider-atlas"
plan one
plan others

native=/dev/null
if command -v perf >/dev/null; then
    step "Sampling the same plans natively with perf"
    rm "$work/plugins/terraform-provider-atlas"
    ln -s "$provider" "$work/plugins/terraform-provider-atlas"
    for configuration in one others; do
        for round in $(seq 20); do
            plan "$configuration" perf record -q -e cpu-clock:u -F 20000 \
                -o "$work/perf.$configuration.$round" --
        done
    done
    for data in "$work"/perf.*; do
        perf report -i "$data" --dsos terraform-provider-atlas --sort sym --stdio --no-demangle \
            2>/dev/null | sed -n 's/.*\[\.\] \([^ ]*\).*/\1/p'
    done >"$work/native.txt"
    native="$work/native.txt"
else
    printf 'hot-functions: perf is not installed; the list has only what valgrind saw\n' >&2
fi

step "Writing tools/layout/hot-functions.txt"
nm --defined-only "$provider" | awk '$2 ~ /^[tTwW]$/ { print $3 }' >"$work/symbols.txt"
mkdir -p tools/layout
python3 scripts/hot-functions.py "$work/callgrind" "$work/symbols.txt" "$native" \
    "$(rustc --version)" >"$work/hot-functions.txt"
mv "$work/hot-functions.txt" tools/layout/hot-functions.txt
printf 'hot-functions: %s functions listed; rebuild with `cargo build --release`\n' \
    "$(grep -vc '^#' tools/layout/hot-functions.txt)" >&2
