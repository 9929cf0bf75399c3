//! `cargo run -p docgen` writes the registry docs from the provider's schema;
//! `cargo run -p docgen -- --check` writes nothing and fails when the committed docs differ.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use docgen::{FIX_COMMAND, drift, render_all, stale_pages};

const USAGE: &str = "usage: cargo run -p docgen [-- --check]\n\
                     \n\
                     Renders docs/index.md and docs/data-sources/*.md from the provider's schema and examples/.\n\
                     --check  write nothing; exit 1 and list the files that differ";

fn main() -> ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let check = match arguments.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        [] => false,
        ["--check"] => true,
        ["--help" | "-h"] => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let root = repository_root();
    let outcome = if check {
        check_docs(&root)
    } else {
        write_docs(&root)
    };
    match outcome {
        Ok(code) => code,
        Err(error) => {
            eprintln!("docgen: {error}");
            ExitCode::FAILURE
        }
    }
}

/// This crate lives at `tools/docgen` in the repository.
fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn check_docs(root: &Path) -> std::io::Result<ExitCode> {
    let pages = render_all(root)?;
    let drifts = drift(root, &pages)?;
    if drifts.is_empty() {
        println!("docs are up to date ({} files)", pages.len());
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!("The docs differ from what the provider's schema and examples/ render:");
    for drift in &drifts {
        eprintln!("  {drift}");
    }
    eprintln!("Run `{FIX_COMMAND}` and commit the result.");
    Ok(ExitCode::FAILURE)
}

fn write_docs(root: &Path) -> std::io::Result<ExitCode> {
    let pages = render_all(root)?;
    let stale = stale_pages(root, &pages)?;
    for page in &pages {
        let target = root.join(&page.path);
        if fs::read_to_string(&target).is_ok_and(|committed| committed == page.contents) {
            continue;
        }
        if let Some(directory) = target.parent() {
            fs::create_dir_all(directory)?;
        }
        fs::write(&target, &page.contents)?;
        println!("wrote {}", page.path.display());
    }
    for path in stale {
        fs::remove_file(root.join(&path))?;
        println!("removed {}", path.display());
    }
    println!("docs are up to date ({} files)", pages.len());
    Ok(ExitCode::SUCCESS)
}
