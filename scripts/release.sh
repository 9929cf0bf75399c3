#!/usr/bin/env bash
# Builds a release of the provider for this machine's platform, in the layout the Terraform
# registry and provider mirrors use. Writes into dist/:
#   terraform-provider-atlas_<version>_<os>_<arch>.zip   holding terraform-provider-atlas_v<version>
#   terraform-provider-atlas_<version>_SHA256SUMS        sha256 of the zip and the manifest
#   terraform-provider-atlas_<version>_manifest.json     a copy of terraform-registry-manifest.json
# docs/releases.md tells how to serve them to `terraform init` from a mirror.
#
# Usage: scripts/release.sh [version]   (default: the version in Cargo.toml)
#        DIST_DIR=/some/where scripts/release.sh   to write somewhere other than dist/

set -euo pipefail

repo_root="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

name=terraform-provider-atlas

fail() {
    printf 'release: %s\n' "$*" >&2
    exit 1
}

missing=()
command -v cargo >/dev/null || missing+=("cargo (install Rust from https://rustup.rs)")
command -v zip >/dev/null || missing+=("zip (apt-get install -y zip)")
if command -v sha256sum >/dev/null; then
    sha256() { sha256sum "$@"; }
elif command -v shasum >/dev/null; then
    sha256() { shasum -a 256 "$@"; }
else
    missing+=("sha256sum (apt-get install -y coreutils) or shasum")
fi
if ((${#missing[@]})); then
    printf 'release: missing tools:\n' >&2
    printf '  %s\n' "${missing[@]}" >&2
    exit 1
fi

# `cargo pkgid` prints path+file:///…#terraform-provider-atlas@0.1.0 (or …#0.1.0).
pkgid="$(cargo pkgid -p "$name")"
crate_version="${pkgid##*[#@]}"
version="${1:-$crate_version}"
version="${version#v}"
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]+)?$ ]] ||
    fail "version \"$version\" is not a semantic version such as 0.1.0, which Terraform requires"
if [[ "$version" != "$crate_version" ]]; then
    printf 'release: warning: releasing %s, but Cargo.toml says %s, which the binary reports in its User-Agent.\n' \
        "$version" "$crate_version" >&2
fi

case "$(uname -s)" in
    Linux) os=linux ;;
    Darwin) os=darwin ;;
    FreeBSD) os=freebsd ;;
    OpenBSD) os=openbsd ;;
    *) fail "unsupported operating system $(uname -s)" ;;
esac
case "$(uname -m)" in
    x86_64 | amd64) arch=amd64 ;;
    aarch64 | arm64) arch=arm64 ;;
    i386 | i686) arch=386 ;;
    armv6l | armv7l) arch=arm ;;
    *) fail "unsupported architecture $(uname -m)" ;;
esac

printf '==> Building %s %s for %s_%s (release)\n' "$name" "$version" "$os" "$arch"
cargo build --release --locked -p "$name" --bin "$name"
target_dir="$(cargo metadata --format-version 1 --no-deps |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
binary="${target_dir:-$repo_root/target}/release/$name"
[[ -x "$binary" ]] || fail "cargo built no $binary"

dist="${DIST_DIR:-$repo_root/dist}"
mkdir -p "$dist"
zip_name="${name}_${version}_${os}_${arch}.zip"
sums_name="${name}_${version}_SHA256SUMS"
manifest_name="${name}_${version}_manifest.json"

staging="$(mktemp -d)"
trap 'rm -rf "$staging"' EXIT
install -m 0755 "$binary" "$staging/${name}_v${version}"
# zip adds to an existing archive, so start from none.
rm -f "$dist/$zip_name"
(cd "$staging" && zip -q -X "$dist/$zip_name" "${name}_v${version}")
cp terraform-registry-manifest.json "$dist/$manifest_name"
# Every zip of this version in dist/ (other platforms' too, when copied in) and the manifest.
(
    cd "$dist"
    sha256 "${name}_${version}"_*.zip "$manifest_name" >"$sums_name"
)

zip_sha="$(sha256 "$dist/$zip_name" | cut -d' ' -f1)"
printf '\n==> Wrote to %s:\n' "$dist"
printf '  %s\n' "$zip_name" "$sums_name" "$manifest_name"
printf '\nzh: hash of the zip (for a network mirror'"'"'s %s.json and the lock file): zh:%s\n' "$version" "$zip_sha"
printf 'To install it with terraform init from a mirror, see docs/releases.md.\n'
