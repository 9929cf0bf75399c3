//! The provider served in-process (and, in `process`, as its own executable) and called the way
//! Terraform calls it: over gRPC on the plugin socket, or through its `Provider` service
//! directly. One binary, so the crate is linked once for all of them.

#[path = "../support/boundary.rs"]
mod boundary_cases;
#[allow(dead_code)]
#[path = "../plugin_client/mod.rs"]
mod plugin_client;

mod boundary;
mod data_source_framework;
mod grpc;
mod lifecycle;
mod process;
