//! The committed docs are exactly what the provider's schema and examples/ render today.
//!
//! The rendering is docgen's own code, included as a module so that this test needs no nested
//! `cargo` run and renders in-process with the same schema the binary serves.

#[path = "../tools/docgen/src/lib.rs"]
#[allow(dead_code)]
mod docgen;

use std::path::Path;

#[test]
fn committed_docs_match_the_schema_and_examples() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let pages = docgen::render_all(root).expect("the examples the docs show are readable");
    let drifts = docgen::drift(root, &pages).expect("the committed docs are readable");
    let listing: Vec<String> = drifts.iter().map(|drift| format!("  {drift}")).collect();
    assert!(
        drifts.is_empty(),
        "The docs are out of date with the provider's schema or examples/:\n{}\nRun `{}` and commit the result.",
        listing.join("\n"),
        docgen::FIX_COMMAND
    );
}
