//! The provider driven by the real `terraform` binary (and the newcomer's scripts), each test in
//! a workspace of its own with its own fake Atlas. One binary, so the crate and the provider
//! executable are built once for all of them.

#[path = "../support/mod.rs"]
mod support;

mod atlas_today;
mod clouds;
mod e2e;
mod examples_validate;
mod lifetime;
mod network;
mod privatelink;
mod promises;
mod reliability;
mod test_examples;
