//! Compiles the protocol definitions in `proto/` with protox (pure Rust, no `protoc` needed).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protos = [
        "proto/tfplugin6.proto",
        "proto/grpc_controller.proto",
        "proto/grpc_stdio.proto",
    ];
    for proto in protos {
        println!("cargo:rerun-if-changed={proto}");
    }
    // A position-dependent executable: the loader then has no relocations to apply at every
    // start (about 14,800 in a PIE build), which Terraform pays three times per plan
    // (docs/performance.md, Decisions). Linker argument only: no dependency is rebuilt.
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-link-arg-bins=-no-pie");
        if std::env::var("CARGO_CFG_TARGET_ENV").as_deref() == Ok("gnu") {
            link_the_unwinder_statically()?;
        }
        lay_out_the_code_a_plan_runs_together();
    }
    strip_the_release_executable();
    let descriptors = protox::compile(protos, ["proto"])?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        // Clients (used by the tests) connect through our own Unix-socket connector.
        .build_transport(false)
        .compile_fds(descriptors)?;
    Ok(())
}

/// Links GCC's unwinder into the executable (`libgcc_eh.a`) instead of loading `libgcc_s.so.1`
/// at every start, as `gcc -static-libgcc` does for C and C++ programs.
///
/// Rust's standard library asks for `-lgcc_s` by name, so `-static-libgcc` alone does not take
/// it away: a directory searched first holds a `libgcc_s.a` that is a one-line linker script
/// naming the compiler's own `libgcc_eh.a` (GNU ld reads a linker script wherever it expects a
/// library). Each shared library costs every start its mapping and relocation, and Terraform
/// starts the plugin three times per plan: with `libm` gone too (nothing links it since the
/// multi-threaded runtime went), `--version` costs 0.72 ms of CPU instead of 0.88
/// (docs/performance.md, Decisions). Unwinding, which
/// the panic guard on every RPC relies on, works the same: the unwinder finds each loaded
/// object's `.eh_frame_hdr` through `dl_iterate_phdr`. Where the compiler has no `libgcc_eh.a`,
/// nothing changes.
fn link_the_unwinder_statically() -> Result<(), Box<dyn std::error::Error>> {
    let compiler = std::env::var("CC").unwrap_or_else(|_| "cc".to_owned());
    let Ok(output) = std::process::Command::new(&compiler)
        .arg("-print-file-name=libgcc_eh.a")
        .output()
    else {
        return Ok(());
    };
    let printed = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    let archive = std::path::Path::new(&printed);
    // Without the library, gcc prints the bare name back.
    if !output.status.success() || !archive.is_absolute() || !archive.is_file() {
        return Ok(());
    }
    let directory = std::path::PathBuf::from(std::env::var("OUT_DIR")?).join("static-unwinder");
    std::fs::create_dir_all(&directory)?;
    std::fs::write(
        directory.join("libgcc_s.a"),
        format!("INPUT({})\n", archive.display()),
    )?;
    println!("cargo:rerun-if-env-changed=CC");
    println!("cargo:rustc-link-arg-bins=-L{}", directory.display());
    // The integration tests too, so that the panic guard's tests unwind through the same
    // unwinder as the executable (tests/plugin_lifecycle.rs checks that it is the static one).
    println!("cargo:rustc-link-arg-tests=-L{}", directory.display());
    Ok(())
}

/// Leaves the release executable without its symbol table, as `strip = true` in the profile did.
///
/// Stripping here and not in the profile keeps the profile the same for the build that
/// `scripts/hot-functions.sh` profiles (`ATLAS_KEEP_SYMBOLS=1`): Cargo hashes the whole profile,
/// `strip` included, into every crate's `-C metadata`, and so into every Rust symbol name, and
/// the names in `tools/layout/hot-functions.txt` must be those of the build that `cargo build
/// --release` makes. This variable only changes a linker argument, never the names.
fn strip_the_release_executable() {
    println!("cargo:rerun-if-env-changed=ATLAS_KEEP_SYMBOLS");
    let release = std::env::var("PROFILE").as_deref() == Ok("release");
    if !release || std::env::var("ATLAS_KEEP_SYMBOLS").as_deref() == Ok("1") {
        return;
    }
    // What rustc's own `-C strip=symbols` asks of each platform's linker: GNU ld and lld
    // `--strip-all`; Apple's ld64 `-x` (no local symbols; rustc runs `strip -x` there).
    match std::env::var("CARGO_CFG_TARGET_OS").as_deref() {
        Ok("linux") => println!("cargo:rustc-link-arg-bins=-Wl,--strip-all"),
        Ok("macos") => println!("cargo:rustc-link-arg-bins=-Wl,-x"),
        _ => {}
    }
}

/// Places the functions that a plan runs next to each other at the start of the executable's
/// code, in the order that `tools/layout/hot-functions.txt` lists them (lld's
/// `--symbol-ordering-file`, one symbol per line, `#` starts a comment: lld/Common/Args.cpp,
/// `args::getLines`).
///
/// The linker otherwise leaves them where the compiler emitted them, spread over the 5 MB of
/// code; each process Terraform starts then took a page fault for each 64 KiB stretch of code it
/// ran (60 per process) and unmapped them all again at exit. Laid out together: 35, and a
/// 1-read plan costs about 0.5 ms less CPU (docs/performance.md, Decisions). A name the build no
/// longer has is skipped without a warning, so a stale list costs that gain and nothing else;
/// `scripts/hot-functions.sh` writes it again.
///
/// Only where the linker is lld, which knows the option: rustc links x86_64-unknown-linux-gnu
/// with its own lld from 1.90 on (rust-lang/rust#140525), unless told otherwise through
/// `RUSTFLAGS` or Cargo's `linker` setting (then `RUSTC_LINKER` is set).
fn lay_out_the_code_a_plan_runs_together() {
    let list =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/layout/hot-functions.txt");
    // Without the list, its directory: a path that does not exist makes Cargo run this script
    // at every build.
    match list.is_file() {
        true => println!("cargo:rerun-if-changed={}", list.display()),
        false => println!(
            "cargo:rerun-if-changed={}",
            list.parent().unwrap().display()
        ),
    }
    println!("cargo:rerun-if-env-changed=RUSTC_LINKER");
    let release = std::env::var("PROFILE").as_deref() == Ok("release");
    let target = std::env::var("TARGET").unwrap_or_default();
    if !release
        || target != "x86_64-unknown-linux-gnu"
        || !list.is_file()
        || !rustc_links_with_lld()
    {
        return;
    }
    println!(
        "cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={}",
        list.display()
    );
    println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
}

/// Whether rustc links this build with its own lld: version 1.90 or later, and no linker chosen
/// in Cargo's configuration (`RUSTC_LINKER`) or in the compiler flags (`-C linker=`,
/// `-C linker-features=`, `-C linker-flavor=`, `-C link-self-contained=`).
fn rustc_links_with_lld() -> bool {
    if std::env::var_os("RUSTC_LINKER").is_some() {
        return false;
    }
    let flags = std::env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    if flags
        .split('\u{1f}')
        .any(|flag| flag.contains("linker") || flag.contains("link-self-contained"))
    {
        return false;
    }
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let Ok(output) = std::process::Command::new(rustc).arg("--version").output() else {
        return false;
    };
    // "rustc 1.95.0 (59807616e 2026-04-14)"
    let version = String::from_utf8_lossy(&output.stdout);
    let mut numbers = version
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .split(['.', '-'])
        .map(|part| part.parse::<u32>().unwrap_or(0));
    let (major, minor) = (numbers.next().unwrap_or(0), numbers.next().unwrap_or(0));
    (major, minor) >= (1, 90)
}
