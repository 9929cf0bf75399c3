//! The fake Atlas's own tests, one binary: how it authenticates, its routes, its hostile
//! faults, and its executable as the quick start runs it.

mod auth;
mod binary;
#[allow(dead_code)]
mod common;
mod hostile;
mod routes;
