#!/usr/bin/env bash
# Benchmark: what terraform-provider-atlas costs Terraform. Builds the release provider and the
# bench tool (tools/bench), times a clean release build of the provider, then runs the tool, which
# drives the real terraform against the fake Atlas, prints a table of figures against their
# targets, and rewrites docs/performance.md and docs/performance-plan-time.svg.
#
# Usage: scripts/bench.sh [--skip-clean-build] [bench tool options, see --help]
#   --skip-clean-build   do not time a clean build (~5 min on 2 cores); reuse the time recorded in
#                        docs/performance.md, or report n/a
#   e.g. scripts/bench.sh --skip-clean-build --only cpu,handshake
#                        provider CPU per plan (exact, from the kernel) and start-up only, about a
#                        minute after the builds; the other sections are then left out of the doc
#
# Missed targets are printed as MISSED but do not fail the script: it is a report, not a test.
# It fails only when something cannot be built or measured.

set -euo pipefail

repo_root="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

step() { printf '\n==> %s\n' "$*" >&2; }
fail() {
    printf 'bench: %s\n' "$*" >&2
    exit 1
}

skip_clean_build=0
tool_args=()
for argument in "$@"; do
    case "$argument" in
        --skip-clean-build) skip_clean_build=1 ;;
        *) tool_args+=("$argument") ;;
    esac
done

command -v cargo >/dev/null || fail "cargo is not on PATH. Install Rust from https://rustup.rs and run this again."
# shellcheck source=scripts/requirements.sh
source scripts/requirements.sh
require_terraform

step "Building the release provider and the bench tool (with its provider-launcher)"
cargo build --release -p terraform-provider-atlas
cargo build --release -p bench

target_dir="$(cargo metadata --format-version 1 --no-deps |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
target_dir="${target_dir:-$repo_root/target}"

if [[ $skip_clean_build -eq 1 ]]; then
    tool_args+=(--reuse-clean-build)
else
    step "Timing a clean release build of the provider (a fresh target directory)"
    clean_target="$(mktemp -d "${TMPDIR:-/tmp}/atlas-clean-build.XXXXXX")"
    trap 'rm -rf -- "$clean_target"' EXIT
    started="$(date +%s.%N)"
    CARGO_TARGET_DIR="$clean_target" cargo build --release -p terraform-provider-atlas
    finished="$(date +%s.%N)"
    rm -rf -- "$clean_target"
    seconds="$(awk -v start="$started" -v end="$finished" 'BEGIN { printf "%.1f", end - start }')"
    printf 'clean release build: %s s\n' "$seconds" >&2
    tool_args+=(--clean-build-seconds "$seconds")
fi

step "Measuring (this takes a few minutes)"
exec "$target_dir/release/bench" --provider-dir "$target_dir/release" ${tool_args[@]+"${tool_args[@]}"}
