//! The benchmark behind docs/performance.md: what terraform-provider-atlas costs Terraform.
//!
//! Run it through `scripts/bench.sh`, which builds the release provider first. It starts the fake
//! Atlas in process, drives the real `terraform`, prints a table of figures against their targets
//! and rewrites docs/performance.md and docs/performance-plan-time.svg. It exits 0 when a target is
//! missed (it is a report, not a test) and non-zero only when it could not measure.

mod apply;
mod cpu;
mod handshake;
mod machine;
mod plan;
mod report;
mod stats;
mod terraform;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use fake_atlas::{Endpoint, FakeAtlas};

use report::{CleanBuild, Results};

pub type BenchError = Box<dyn std::error::Error>;

/// How many distinct endpoints the fake holds.
const ENDPOINTS: usize = 300;

const USAGE: &str = "\
usage: bench [options]
  --rounds N               interleaved plan rounds after the warm-up (default 31)
  --counts 1,10,...        numbers of reads to plan (default 1,10,25,50,100)
  --handshake-runs N       starts of each kind (default 250)
  --apply-runs N           300-read applies (default 3)
  --cpu-rounds N           plan rounds of the provider CPU measurement (default 31)
  --cpu-counts 1,10,...    numbers of reads for the CPU measurement (default 1,10,50,100)
  --compare NAME=DIR[,VAR=VALUE...]
                           also measure the provider in DIR (with VAR=VALUE in its environment)
                           in the same interleaved CPU rounds; printed, and listed in the report
  --phase-plans N          1-read plans with the provider's TRACE log, for CPU by phase (default 0)
  --only LIST              any of cpu,plan,handshake,apply (default all)
  --provider-dir DIR       the directory holding terraform-provider-atlas (default target/release)
  --clean-build-seconds S  the clean build time measured by scripts/bench.sh
  --reuse-clean-build      take the clean build time recorded in docs/performance.md
  --repo DIR               the repository (default: where this tool was built from)
  --no-write               print the table only; leave docs/ alone";

/// `--compare NAME=DIR[,VAR=VALUE...]`: another provider build (or the same with other
/// environment) measured in the same CPU rounds.
type Comparison = (String, PathBuf, Vec<(String, String)>);

struct Options {
    rounds: usize,
    counts: Vec<usize>,
    handshake_runs: usize,
    apply_runs: usize,
    cpu_rounds: usize,
    cpu_counts: Vec<usize>,
    phase_plans: usize,
    compare: Vec<Comparison>,
    only: Vec<String>,
    provider_dir: Option<PathBuf>,
    clean_build_seconds: Option<f64>,
    reuse_clean_build: bool,
    repo: PathBuf,
    write: bool,
}

impl Options {
    fn parse() -> Result<Options, String> {
        let mut options = Options {
            rounds: 31,
            counts: vec![1, 10, 25, 50, 100],
            handshake_runs: 250,
            apply_runs: 3,
            cpu_rounds: 31,
            cpu_counts: vec![1, 10, 50, 100],
            phase_plans: 0,
            compare: Vec::new(),
            only: vec![
                "cpu".into(),
                "plan".into(),
                "handshake".into(),
                "apply".into(),
            ],
            provider_dir: None,
            clean_build_seconds: None,
            reuse_clean_build: false,
            repo: Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."),
            write: true,
        };
        let mut arguments = std::env::args().skip(1);
        while let Some(flag) = arguments.next() {
            let mut value = || {
                arguments
                    .next()
                    .ok_or_else(|| format!("{flag} needs a value"))
            };
            let number = |text: String| {
                text.parse::<usize>()
                    .map_err(|_| format!("not a number: {text}"))
            };
            match flag.as_str() {
                "--rounds" => options.rounds = number(value()?)?.max(1),
                "--handshake-runs" => options.handshake_runs = number(value()?)?.max(1),
                "--apply-runs" => options.apply_runs = number(value()?)?,
                "--cpu-rounds" => options.cpu_rounds = number(value()?)?.max(1),
                "--phase-plans" => options.phase_plans = number(value()?)?,
                "--compare" => {
                    let text = value()?;
                    let (name, rest) = text.split_once('=').ok_or_else(|| {
                        format!("--compare wants NAME=DIR[,VAR=VALUE...]: {text}")
                    })?;
                    let mut parts = rest.split(',');
                    let directory = PathBuf::from(parts.next().unwrap_or_default());
                    let environment = parts
                        .map(|pair| {
                            pair.split_once('=')
                                .map(|(name, value)| (name.to_owned(), value.to_owned()))
                                .ok_or_else(|| format!("not VAR=VALUE: {pair}"))
                        })
                        .collect::<Result<_, _>>()?;
                    options
                        .compare
                        .push((name.to_owned(), directory, environment));
                }
                "--counts" | "--cpu-counts" => {
                    let counts = value()?
                        .split(',')
                        .map(|count| number(count.trim().to_owned()))
                        .collect::<Result<Vec<_>, _>>()?;
                    if counts.iter().any(|&n| n == 0 || n > ENDPOINTS) {
                        return Err(format!("counts must be between 1 and {ENDPOINTS}"));
                    }
                    if flag == "--counts" {
                        options.counts = counts;
                    } else {
                        options.cpu_counts = counts;
                    }
                }
                "--only" => {
                    options.only = value()?.split(',').map(str::to_owned).collect();
                }
                "--provider-dir" => options.provider_dir = Some(PathBuf::from(value()?)),
                "--clean-build-seconds" => {
                    let text = value()?;
                    options.clean_build_seconds = Some(
                        text.parse()
                            .map_err(|_| format!("not a number of seconds: {text}"))?,
                    );
                }
                "--reuse-clean-build" => options.reuse_clean_build = true,
                "--repo" => options.repo = PathBuf::from(value()?),
                "--no-write" => options.write = false,
                "-h" | "--help" => {
                    println!("{USAGE}");
                    std::process::exit(0);
                }
                other => return Err(format!("unknown argument {other}\n{USAGE}")),
            }
        }
        Ok(options)
    }

    fn runs(&self, part: &str) -> bool {
        self.only.iter().any(|only| only == part)
    }
}

fn main() -> ExitCode {
    let options = match Options::parse() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("bench: {message}");
            return ExitCode::from(2);
        }
    };
    match run(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("bench: {error}");
            ExitCode::FAILURE
        }
    }
}

/// `vpce-` and 17 hex digits, different for every index (multiplying by an odd constant is a
/// bijection on 64-bit integers; the leading digit is fixed at 0).
fn endpoint_id(index: usize) -> String {
    let mixed = (index as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    format!("vpce-0{mixed:016x}")
}

fn run(options: &Options) -> Result<(), BenchError> {
    let repo = options.repo.canonicalize()?;
    let provider_dir = options
        .provider_dir
        .clone()
        .unwrap_or_else(|| repo.join("target/release"))
        .canonicalize()?;
    let provider_binary = provider_dir.join("terraform-provider-atlas");
    if !provider_binary.is_file() {
        return Err(format!(
            "{} does not exist: run `cargo build --release -p terraform-provider-atlas` (scripts/bench.sh does)",
            provider_binary.display()
        )
        .into());
    }
    let docs = repo.join("docs");
    let markdown_path = docs.join("performance.md");
    let clean_build = match options.clean_build_seconds {
        Some(seconds) => CleanBuild::Measured(seconds),
        None if options.reuse_clean_build => {
            CleanBuild::recorded_in(&std::fs::read_to_string(&markdown_path).unwrap_or_default())
        }
        None => CleanBuild::NotAvailable,
    };

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let atlas = runtime.block_on(FakeAtlas::start());
    let ids: Vec<String> = (0..ENDPOINTS).map(endpoint_id).collect();
    for id in &ids {
        atlas.put(id, Endpoint::with_status("AVAILABLE"));
    }

    let scratch = tempfile::Builder::new().prefix("atlas-bench-").tempdir()?;
    let terraform = terraform::Terraform::new(
        terraform::find_terraform()?,
        scratch.path(),
        &provider_dir,
        atlas.url(),
    )?;
    let machine = machine::Machine::describe(terraform.version(scratch.path()));
    eprintln!(
        "bench: provider {}, fake Atlas at {}, {} cores, load {}",
        provider_binary.display(),
        atlas.url(),
        machine.cores,
        machine.load_before
    );

    let (cpu, phases) = if options.runs("cpu") {
        let launcher = std::env::current_exe()?.with_file_name("provider-launcher");
        if !launcher.is_file() {
            return Err(format!(
                "{} does not exist: run `cargo build --release -p bench` (scripts/bench.sh does)",
                launcher.display()
            )
            .into());
        }
        let launched = cpu::Launched::new(
            terraform.binary.clone(),
            scratch.path(),
            &launcher,
            &provider_binary,
            atlas.url(),
        )?;
        eprintln!(
            "bench: provider CPU per plan, N in {:?}, {} rounds after a warm-up",
            options.cpu_counts, options.cpu_rounds
        );
        let variants: Vec<cpu::Launched> = options
            .compare
            .iter()
            .enumerate()
            .map(|(index, (_, directory, environment))| {
                launched.variant(
                    index + 1,
                    &directory.join("terraform-provider-atlas"),
                    environment.clone(),
                )
            })
            .collect::<Result<_, _>>()?;
        let mut providers = vec![&launched];
        providers.extend(variants.iter());
        let mut measured = cpu::measure(
            &providers,
            scratch.path(),
            |reads| terraform.provider_config(&ids[..reads]),
            &options.cpu_counts,
            options.cpu_rounds,
        )?;
        let points = measured.remove(0);
        for ((name, directory, environment), points) in options.compare.iter().zip(measured) {
            let summary: Vec<String> = points
                .iter()
                .map(|point| {
                    format!(
                        "N={} {:.2} ms (p10 {:.2}, p90 {:.2})",
                        point.reads,
                        point.per_plan.median(),
                        point.per_plan.quantile(0.1),
                        point.per_plan.quantile(0.9)
                    )
                })
                .collect();
            eprintln!(
                "bench: compared {name} ({} {environment:?}): {}",
                directory.display(),
                summary.join(", ")
            );
        }
        let phases = if options.phase_plans > 0 {
            eprintln!(
                "bench: provider CPU by phase, {} plans of 1 read with TF_LOG_PROVIDER=trace",
                options.phase_plans
            );
            Some(cpu::measure_phases(
                &launched,
                scratch.path(),
                &terraform.provider_config(&ids[..1]),
                options.phase_plans,
            )?)
        } else {
            None
        };
        (Some(points), phases)
    } else {
        (None, None)
    };

    let plan = if options.runs("plan") {
        eprintln!(
            "bench: terraform plan, N in {:?}, {} rounds after a warm-up",
            options.counts, options.rounds
        );
        Some(plan::measure(
            &terraform,
            scratch.path(),
            &ids,
            &options.counts,
            options.rounds,
        )?)
    } else {
        None
    };

    let handshake = if options.runs("handshake") {
        eprintln!(
            "bench: exec to handshake line, {} runs of each kind",
            options.handshake_runs
        );
        let sockets = scratch.path().join("sockets");
        std::fs::create_dir_all(&sockets)?;
        let certificate = handshake::terraform_like_client_certificate()?;
        Some(handshake::measure(
            &provider_binary,
            &sockets,
            &certificate,
            options.handshake_runs,
        )?)
    } else {
        None
    };

    let apply = if options.runs("apply") && options.apply_runs > 0 {
        let mut runs = Vec::new();
        for attempt in 0..options.apply_runs {
            let run = apply::measure(&terraform, &atlas, scratch.path(), &ids, attempt)?;
            eprintln!(
                "bench: apply {}/{}: {} reads in {:.2} s, {} requests, {} challenges, {} provider processes, peak RSS {:.1} MB",
                attempt + 1,
                options.apply_runs,
                run.reads,
                run.elapsed.as_secs_f64(),
                run.requests,
                run.challenges,
                run.peak_rss.len(),
                run.max_peak_rss() as f64 / 1e6
            );
            runs.push(run);
        }
        Some(runs)
    } else {
        None
    };

    let results = Results {
        machine,
        load_after: machine::load_average(),
        rounds: options.rounds,
        plan,
        handshake,
        apply,
        cpu,
        cpu_rounds: options.cpu_rounds,
        phases,
        binary_bytes: std::fs::metadata(&provider_binary)?.len(),
        shared_libraries: shared_libraries(&provider_binary),
        clean_build,
    };
    let (table, missed) = results.terminal_table();
    println!("\n{table}");
    if missed {
        println!("Some targets were MISSED (see docs/performance.md, Decisions).");
    } else {
        println!("Every target was met.");
    }
    if options.write {
        std::fs::write(&markdown_path, results.markdown())?;
        let mut written = vec![markdown_path.display().to_string()];
        for (name, svg) in [
            (report::SVG_NAME, results.svg()),
            (report::CPU_SVG_NAME, results.cpu_svg()),
        ] {
            if let Some(svg) = svg {
                std::fs::write(docs.join(name), svg)?;
                written.push(docs.join(name).display().to_string());
            }
        }
        println!("Wrote {}.", written.join(", "));
    }
    drop(atlas);
    runtime.shutdown_background();
    Ok(())
}

/// The shared libraries `binary` loads, as the dynamic loader lists them when
/// `LD_TRACE_LOADED_OBJECTS` is set (what `ldd` does), without the vdso and the loader itself.
/// A release binary built together with a package that asks for tokio's multi-threaded runtime
/// (this tool, the fake Atlas) gets it too, and with it `libm`: this figure shows it.
fn shared_libraries(binary: &std::path::Path) -> Option<Vec<String>> {
    let output = std::process::Command::new(binary)
        .env("LD_TRACE_LOADED_OBJECTS", "1")
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    Some(
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| line.split_whitespace().next())
            .filter(|name| !name.starts_with("linux-vdso") && !name.contains("ld-linux"))
            .map(str::to_owned)
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_ids_are_well_formed_and_distinct() {
        let ids: std::collections::HashSet<String> = (0..ENDPOINTS).map(endpoint_id).collect();
        assert_eq!(ids.len(), ENDPOINTS);
        for id in ids {
            let suffix = id.strip_prefix("vpce-").unwrap();
            assert_eq!(suffix.len(), 17);
            assert!(
                suffix
                    .chars()
                    .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
            );
        }
    }
}
