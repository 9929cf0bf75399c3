# What this repository needs, in one place: sourced by scripts/quickstart.sh and .ci/run, and
# stated in README.md ("Before you start"). Change the numbers here and in the README together.
#
# Terraform 1.7 is the true minimum for everything under examples/: the provider speaks plugin
# protocol 6 (Terraform 1.0+), examples/data-sources/atlas_interface_endpoint/check-block uses
# `check` blocks (1.5+), and examples/testing uses `mock_provider` and `override_data` in
# `terraform test` (1.7+).
TERRAFORM_MINIMUM="1.7.0"

# Rust: the `rust-version` of Cargo.toml, read from there so it is written down only once.
RUST_MINIMUM="$(sed -n 's/^rust-version *= *"\(.*\)"/\1/p' "$(dirname -- "${BASH_SOURCE[0]}")/../Cargo.toml")"

# Fails (through the caller's `fail`) unless terraform is on PATH and at least TERRAFORM_MINIMUM.
require_terraform() {
    command -v terraform >/dev/null ||
        fail "terraform is not on PATH. Install Terraform $TERRAFORM_MINIMUM or later (https://developer.hashicorp.com/terraform/install) and run this again."
    local found
    found="$(terraform version -json 2>/dev/null | sed -n 's/.*"terraform_version": *"\([^"]*\)".*/\1/p')"
    [[ -n "$found" ]] || fail "could not read the version of $(command -v terraform); Terraform $TERRAFORM_MINIMUM or later is needed."
    if [[ "$(printf '%s\n%s\n' "$TERRAFORM_MINIMUM" "$found" | sort -V | head -n 1)" != "$TERRAFORM_MINIMUM" ]]; then
        fail "$(command -v terraform) is Terraform $found; this needs $TERRAFORM_MINIMUM or later."
    fi
}

# Fails unless cargo is on PATH.
require_cargo() {
    command -v cargo >/dev/null ||
        fail "cargo is not on PATH. Install Rust $RUST_MINIMUM or later from https://rustup.rs and run this again."
}
