//! The release executable places the functions a plan runs together at the start of its code, in
//! the order `tools/layout/hot-functions.txt` lists them (build.rs; docs/performance.md,
//! Decisions). The list names the symbols of one build, and Rust symbol names carry hashes of the
//! dependencies, the compiler and the profile: once any of them changes, the linker finds few of
//! the names and the layout, with its gain, is silently gone. These tests fail first, and say to
//! run `scripts/hot-functions.sh`.

use std::path::Path;

fn repository_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn list() -> String {
    std::fs::read_to_string(repository_root().join("tools/layout/hot-functions.txt"))
        .expect("tools/layout/hot-functions.txt exists (scripts/hot-functions.sh writes it)")
}

/// The value of the `# key: value` line of the list's header.
fn header(list: &str, key: &str) -> String {
    list.lines()
        .filter_map(|line| line.strip_prefix("# "))
        .find_map(|line| line.strip_prefix(key)?.strip_prefix(": "))
        .unwrap_or_else(|| panic!("the list's header has a `# {key}: ` line"))
        .to_owned()
}

fn sha256_of(file: &str) -> String {
    let contents = std::fs::read(repository_root().join(file)).unwrap();
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &contents)
        .as_ref()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

const REGENERATE: &str = "the symbol names in tools/layout/hot-functions.txt are those of another \
    build, so the release link can no longer lay out the code a plan runs; run \
    scripts/hot-functions.sh and commit the list it writes";

#[test]
fn the_list_was_written_for_this_cargo_toml_cargo_lock_and_compiler() {
    let list = list();
    for file in ["Cargo.toml", "Cargo.lock"] {
        assert_eq!(
            header(&list, &format!("{file} sha256")),
            sha256_of(file),
            "{file} changed since the list was written: {REGENERATE}"
        );
    }
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let version = std::process::Command::new(rustc)
        .arg("--version")
        .output()
        .expect("rustc runs");
    assert_eq!(
        header(&list, "rustc"),
        String::from_utf8_lossy(&version.stdout).trim(),
        "the Rust compiler changed since the list was written: {REGENERATE}"
    );
}

#[test]
fn the_list_covers_the_work_of_every_provider_process() {
    let list = list();
    let names: Vec<&str> = list
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .collect();
    assert!(
        names.iter().all(|name| !name.contains(char::is_whitespace)),
        "one symbol per line"
    );
    // aws-lc's symbols carry its version: the list's must be those of the locked aws-lc-sys.
    let lock = std::fs::read_to_string(repository_root().join("Cargo.lock")).unwrap();
    let locked = lock
        .split("[[package]]")
        .find(|package| package.contains("name = \"aws-lc-sys\""))
        .and_then(|package| {
            package
                .lines()
                .find_map(|line| line.strip_prefix("version = "))
        })
        .expect("Cargo.lock locks aws-lc-sys")
        .trim_matches('"')
        .replace('.', "_");
    let prefix = format!("aws_lc_{locked}_");
    let (p521, x25519) = (
        format!("{prefix}p521_jdouble"),
        format!("{prefix}curve25519_x25519"),
    );
    // What each of the three processes of a plan does: start, make its TLS identity, verify
    // Terraform's P-521 handshake signature, serve gRPC, and (the last one) read from Atlas.
    for part in [
        "terraform_provider_atlas3run",
        "ServerIdentity8generate",
        "serve_terraform",
        &p521,
        &x25519,
        "h2..proto..connection",
        "InterfaceEndpointDataSource",
        "AtlasClient",
    ] {
        assert!(
            names.iter().any(|name| name.contains(part)),
            "no function of `{part}` in the list: {REGENERATE}"
        );
    }
    let aws_lc: Vec<&&str> = names
        .iter()
        .filter(|name| name.starts_with("aws_lc_"))
        .collect();
    assert!(aws_lc.len() > 100, "the list has aws-lc's functions");
    assert!(
        aws_lc.iter().all(|name| name.starts_with(&prefix)),
        "aws-lc's functions are named {prefix}... in this build: {REGENERATE}"
    );
}

/// The release link really places the listed functions first: the provider built as `cargo
/// build --release` builds it, with its symbols kept (the same names; build.rs), has nearly all
/// of them in the first stretch of its code, where the linker's own order would spread them over
/// all of it. This builds the release executable (in `target/layout`, which
/// `scripts/hot-functions.sh` shares): about two and a half minutes the first time.
#[test]
fn the_release_link_places_the_listed_functions_first() {
    let target_dir = repository_root().join("target/layout");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let built = std::process::Command::new(cargo)
        .args(["build", "--release", "-p", "terraform-provider-atlas"])
        .env("ATLAS_KEEP_SYMBOLS", "1")
        .env("CARGO_TARGET_DIR", &target_dir)
        .current_dir(repository_root())
        .output()
        .expect("cargo runs");
    assert!(
        built.status.success(),
        "the release build failed:\n{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let executable = target_dir.join("release/terraform-provider-atlas");
    // `nm -n -S`: address, size, type and name of every symbol, in address order.
    let output = std::process::Command::new("nm")
        .args(["-n", "-S", "--defined-only"])
        .arg(&executable)
        .output()
        .expect("nm (binutils) runs");
    let table = String::from_utf8_lossy(&output.stdout);
    let mut functions = std::collections::HashMap::new();
    for line in table.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if let [address, size, kind, name] = fields[..]
            && matches!(kind, "t" | "T" | "W" | "w")
        {
            let address = u64::from_str_radix(address, 16).unwrap();
            let size = u64::from_str_radix(size, 16).unwrap();
            functions.entry(name.to_owned()).or_insert((address, size));
        }
    }
    let code_start = functions
        .values()
        .map(|(address, _)| *address)
        .min()
        .unwrap();
    let list = list();
    // Rust symbol names change with the code too: a function added, removed or inlined
    // differently, and the numbers LTO appends to local names, move when the code does. Every
    // listed Rust function must be in the build, or the list is of older code and the functions
    // this code runs are spread out again (13 more page faults per process, measured).
    let missing: Vec<&str> = list
        .lines()
        .filter(|line| !line.starts_with('#'))
        .map(str::trim)
        .filter(|name| name.starts_with("_R") && !functions.contains_key(*name))
        .collect();
    assert!(
        missing.is_empty(),
        "{} listed Rust functions are not in this build, so the list was written for older code: \
         run scripts/hot-functions.sh and commit tools/layout/hot-functions.txt. The first: {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    let listed: Vec<(u64, u64)> = list
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|name| functions.get(name.trim()).copied())
        .collect();
    assert!(
        listed.len() > 1_000,
        "the build has most of the listed functions"
    );
    let listed_size: u64 = listed.iter().map(|(_, size)| size).sum();
    let code_end = functions
        .values()
        .map(|(address, size)| address + size)
        .max()
        .unwrap();
    assert!(
        listed_size * 2 < code_end - code_start,
        "the listed functions are a small part of the code"
    );
    // Room for what the linker cannot separate from a listed function (an assembly file's
    // other functions share its section) and for alignment.
    let front = code_start + listed_size + listed_size / 5;
    let in_front = listed
        .iter()
        .filter(|(address, _)| *address < front)
        .count();
    assert!(
        in_front * 100 >= listed.len() * 95,
        "only {in_front} of {} listed functions lie in the first {} KiB of code",
        listed.len(),
        (front - code_start) / 1024
    );
}
