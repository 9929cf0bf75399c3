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
    }
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
