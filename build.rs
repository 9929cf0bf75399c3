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
