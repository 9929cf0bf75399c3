//! Provider CPU per plan: the kernel's account (`wait4` rusage) of every provider process
//! Terraform starts, through `provider-launcher` (see src/bin/provider-launcher.rs), and the CPU
//! of each process split by phase from the provider's own TRACE log lines.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::BenchError;
use crate::stats::Sample;
use crate::terraform::{Terraform, run_timed};

const PLAN: &[&str] = &["plan", "-input=false", "-lock=false", "-no-color"];

/// The name Terraform looks for in a `dev_overrides` directory.
const PROVIDER_FILE: &str = "terraform-provider-atlas";

/// One provider process, as the launcher recorded it.
#[derive(Clone, Debug)]
pub struct ProcessUsage {
    pub started_unix_ns: u128,
    pub user_us: u64,
    pub system_us: u64,
    pub maxrss_kb: u64,
    pub minor_faults: u64,
    /// `(cpu_ns, log line)` for each line on stderr, when phases were asked for.
    pub log_lines: Vec<(u64, String)>,
}

impl ProcessUsage {
    pub fn cpu(&self) -> Duration {
        Duration::from_micros(self.user_us + self.system_us)
    }

    fn parse(record: &str) -> Option<ProcessUsage> {
        let fields: BTreeMap<&str, &str> = record
            .split_whitespace()
            .filter_map(|field| field.split_once('='))
            .collect();
        let number = |name: &str| fields.get(name)?.parse::<u64>().ok();
        Some(ProcessUsage {
            started_unix_ns: fields.get("started_unix_ns")?.parse().ok()?,
            user_us: number("user_us")?,
            system_us: number("system_us")?,
            maxrss_kb: number("maxrss_kb")?,
            minor_faults: number("minflt")?,
            log_lines: Vec::new(),
        })
    }
}

/// CPU per plan for one N.
pub struct CpuPoint {
    pub reads: usize,
    /// Sum over the plan's provider processes.
    pub per_plan: Sample,
    /// By start order within the plan (first, second, ... process).
    pub per_process: Vec<Sample>,
    pub processes_per_plan: Vec<usize>,
    pub max_rss_kb: u64,
    pub minor_faults_per_plan: Sample,
}

/// The CPU of one phase of one process, by process (in start order) and phase label.
pub struct PhaseTable {
    pub plans: usize,
    /// For each process in start order: the RPCs it served, and (phase, CPU) samples in order.
    pub processes: Vec<(String, Vec<(String, Sample)>)>,
}

/// Terraform with its `dev_overrides` pointing at the launcher, which starts `provider`.
pub struct Launched {
    terraform: Terraform,
    provider: PathBuf,
    records: PathBuf,
    /// Extra environment for the provider (for comparing variants of one build).
    environment: Vec<(String, String)>,
}

impl Launched {
    /// Puts a copy of the launcher named like the provider into `scratch/launcher`.
    pub fn new(
        terraform_binary: PathBuf,
        scratch: &Path,
        launcher: &Path,
        provider: &Path,
        atlas_url: String,
    ) -> Result<Self, BenchError> {
        let directory = scratch.join("launcher");
        let records = scratch.join("launcher-records");
        std::fs::create_dir_all(&directory)?;
        std::fs::create_dir_all(&records)?;
        std::fs::copy(launcher, directory.join(PROVIDER_FILE))
            .map_err(|error| format!("cannot copy {}: {error}", launcher.display()))?;
        let config_directory = scratch.join("launcher-config");
        std::fs::create_dir_all(&config_directory)?;
        Ok(Self {
            terraform: Terraform::new(terraform_binary, &config_directory, &directory, atlas_url)?,
            provider: fresh_copy(provider, &scratch.join("provider-0"))?,
            records,
            environment: Vec::new(),
        })
    }

    /// The same launcher starting another provider binary (variant `number`), with extra
    /// environment.
    pub fn variant(
        &self,
        number: usize,
        provider: &Path,
        environment: Vec<(String, String)>,
    ) -> Result<Launched, BenchError> {
        let scratch = self
            .records
            .parent()
            .ok_or("the launcher records directory has no parent")?;
        Ok(Launched {
            terraform: Terraform {
                binary: self.terraform.binary.clone(),
                cli_config: self.terraform.cli_config.clone(),
                atlas_url: self.terraform.atlas_url.clone(),
            },
            provider: fresh_copy(provider, &scratch.join(format!("provider-{number}")))?,
            records: self.records.clone(),
            environment,
        })
    }

    fn command(&self, directory: &Path, phases: bool) -> Command {
        let mut command = self.terraform.command(directory, PLAN);
        command
            .env("ATLAS_BENCH_PROVIDER", &self.provider)
            .env("ATLAS_BENCH_RUSAGE_DIR", &self.records)
            .envs(self.environment.iter().map(|(name, value)| (name, value)));
        if phases {
            command
                .env("ATLAS_BENCH_PHASES", "1")
                .env("TF_LOG_PROVIDER", "trace");
        }
        command
    }

    /// Plans in `directory` and returns its provider processes in start order.
    fn plan(&self, directory: &Path, phases: bool) -> Result<Vec<ProcessUsage>, BenchError> {
        for entry in std::fs::read_dir(&self.records)? {
            std::fs::remove_file(entry?.path())?;
        }
        run_timed(
            self.command(directory, phases),
            "terraform plan (launcher)",
            |_| {},
        )?;
        let mut processes = Vec::new();
        for entry in std::fs::read_dir(&self.records)? {
            let path = entry?.path();
            if path
                .extension()
                .is_some_and(|extension| extension == "rusage")
            {
                let text = std::fs::read_to_string(&path)?;
                let mut usage = ProcessUsage::parse(&text).ok_or_else(|| {
                    format!("unreadable launcher record {}: {text}", path.display())
                })?;
                if let Ok(lines) = std::fs::read_to_string(path.with_extension("phases")) {
                    usage.log_lines = lines
                        .lines()
                        .filter_map(|line| {
                            let (cpu, text) = line.split_once('\t')?;
                            Some((cpu.parse().ok()?, text.to_owned()))
                        })
                        .collect();
                }
                processes.push(usage);
            }
        }
        if processes.is_empty() {
            return Err("terraform plan started no provider process through the launcher".into());
        }
        processes.sort_by_key(|process| process.started_unix_ns);
        Ok(processes)
    }
}

/// Copies `provider` into `directory` and returns the copy's path.
///
/// Every binary measured is a copy written moments before, so all sit alike in memory: on this
/// virtual machine two byte-identical binaries measured 20.3 and 13.4 ms per plan, interleaved,
/// when one had been written 15 minutes earlier and the other just before (the host had
/// presumably reclaimed the older file's page-cache pages; touching them again is charged to the
/// process as CPU time).
fn fresh_copy(provider: &Path, directory: &Path) -> Result<PathBuf, BenchError> {
    std::fs::create_dir_all(directory)?;
    let copy = directory.join(PROVIDER_FILE);
    std::fs::copy(provider, &copy)
        .map_err(|error| format!("cannot copy {}: {error}", provider.display()))?;
    Ok(copy)
}

/// Plans each N `rounds` times (after a warm-up round), interleaved; with more than one
/// provider (a variant to compare), every round plans each N with each provider in turn, so that
/// whatever else the machine does falls on all alike. One list of points per provider.
pub fn measure(
    providers: &[&Launched],
    scratch: &Path,
    configuration: impl Fn(usize) -> String,
    counts: &[usize],
    rounds: usize,
) -> Result<Vec<Vec<CpuPoint>>, BenchError> {
    let mut directories = Vec::new();
    for &reads in counts {
        let directory = scratch.join(format!("cpu-{reads}"));
        std::fs::create_dir_all(&directory)?;
        std::fs::write(directory.join("main.tf"), configuration(reads))?;
        directories.push(directory);
    }
    let mut all: Vec<Vec<CpuPoint>> = providers
        .iter()
        .map(|_| {
            counts
                .iter()
                .map(|&reads| CpuPoint {
                    reads,
                    per_plan: Sample::default(),
                    per_process: Vec::new(),
                    processes_per_plan: Vec::new(),
                    max_rss_kb: 0,
                    minor_faults_per_plan: Sample::default(),
                })
                .collect()
        })
        .collect();
    for round in 0..=rounds {
        for (index, directory) in directories.iter().enumerate() {
            for turn in 0..providers.len() {
                let which = (turn + round + index) % providers.len();
                let processes = providers[which].plan(directory, false)?;
                if round == 0 {
                    continue;
                }
                let point = &mut all[which][index];
                point
                    .per_plan
                    .push(processes.iter().map(ProcessUsage::cpu).sum());
                point.processes_per_plan.push(processes.len());
                point.minor_faults_per_plan.push(Duration::from_millis(
                    processes.iter().map(|process| process.minor_faults).sum(),
                ));
                for (order, process) in processes.iter().enumerate() {
                    if point.per_process.len() <= order {
                        point.per_process.push(Sample::default());
                    }
                    point.per_process[order].push(process.cpu());
                    point.max_rss_kb = point.max_rss_kb.max(process.maxrss_kb);
                }
            }
        }
        if round > 0 {
            let summary: Vec<String> = all
                .iter()
                .map(|points| {
                    points
                        .iter()
                        .map(|point| format!("N={} {:.2} ms", point.reads, point.per_plan.median()))
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .collect();
            eprintln!(
                "  round {round}/{rounds}: provider CPU per plan so far {}",
                summary.join(" | ")
            );
        }
    }
    Ok(all)
}

/// Plans one read `plans` times with the provider's TRACE log on, and splits each process's CPU
/// at its log lines.
pub fn measure_phases(
    launched: &Launched,
    scratch: &Path,
    configuration: &str,
    plans: usize,
) -> Result<PhaseTable, BenchError> {
    let directory = scratch.join("cpu-phases");
    std::fs::create_dir_all(&directory)?;
    std::fs::write(directory.join("main.tf"), configuration)?;
    let mut processes: Vec<(String, Vec<(String, Sample)>)> = Vec::new();
    for plan in 0..=plans {
        let usage = launched.plan(&directory, true)?;
        if plan == 0 {
            continue;
        }
        for (order, process) in usage.iter().enumerate() {
            let (rpcs, phases) = split_phases(process);
            if processes.len() <= order {
                processes.push((rpcs, Vec::new()));
            }
            let samples = &mut processes[order].1;
            for (label, cpu) in phases {
                match samples.iter_mut().find(|(known, _)| *known == label) {
                    Some((_, sample)) => sample.push(cpu),
                    None => {
                        let mut sample = Sample::default();
                        sample.push(cpu);
                        samples.push((label, sample));
                    }
                }
            }
        }
    }
    Ok(PhaseTable { plans, processes })
}

/// One process's CPU by phase: to the handshake ("plugin serving"), to the first RPC (TLS
/// handshake, HTTP/2 and go-plugin's own calls), each RPC (received to answered), between RPCs,
/// and from the last RPC to exit (Shutdown, stopping the server, exiting).
fn split_phases(process: &ProcessUsage) -> (String, Vec<(String, Duration)>) {
    let total_ns = process.cpu().as_nanos() as u64;
    let mut phases: Vec<(String, Duration)> = Vec::new();
    let add = |phases: &mut Vec<(String, Duration)>, label: String, ns: u64| {
        let cpu = Duration::from_nanos(ns);
        match phases.iter_mut().find(|(known, _)| *known == label) {
            Some((_, sum)) => *sum += cpu,
            None => phases.push((label, cpu)),
        }
    };
    let mut rpcs: Vec<String> = Vec::new();
    let mut serving = None;
    let mut last_mark = None;
    let mut open: BTreeMap<String, u64> = BTreeMap::new();
    let mut between = 0;
    for (cpu, line) in &process.log_lines {
        let Ok(value) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let message = value["@message"].as_str().unwrap_or_default();
        let rpc = value["tf_rpc"].as_str().unwrap_or_default().to_owned();
        match message {
            "plugin serving" => {
                serving = Some(*cpu);
                last_mark = Some(*cpu);
                add(&mut phases, "exec to handshake line".into(), *cpu);
            }
            "received RPC" => {
                if let Some(mark) = last_mark {
                    if rpcs.is_empty() {
                        add(
                            &mut phases,
                            "TLS handshake, HTTP/2 and go-plugin setup, to the first RPC".into(),
                            cpu.saturating_sub(mark),
                        );
                    } else if open.is_empty() {
                        between += cpu.saturating_sub(mark);
                    }
                }
                open.insert(rpc.clone(), *cpu);
                if !rpcs.contains(&rpc) {
                    rpcs.push(rpc);
                }
            }
            "answered RPC" => {
                if let Some(start) = open.remove(&rpc) {
                    add(&mut phases, rpc.clone(), cpu.saturating_sub(start));
                }
                if open.is_empty() {
                    last_mark = Some(*cpu);
                }
            }
            _ => {}
        }
    }
    if !rpcs.is_empty() {
        add(&mut phases, "between RPCs".into(), between);
    }
    if let (Some(_), Some(mark)) = (serving, last_mark) {
        add(
            &mut phases,
            "after the last RPC: Shutdown, stopping, exit".into(),
            total_ns.saturating_sub(mark),
        );
    }
    add(&mut phases, "whole process".into(), total_ns);
    let rpcs = if rpcs.is_empty() {
        "none".to_owned()
    } else {
        rpcs.join(", ")
    };
    (rpcs, phases)
}

/// The CPU a process has used so far (every thread), from its CPU-time clock.
pub fn cpu_so_far(pid: u32) -> Option<Duration> {
    let mut clock: libc::clockid_t = 0;
    // SAFETY: clock is a valid out pointer.
    if unsafe { libc::clock_getcpuclockid(pid as libc::pid_t, &mut clock) } != 0 {
        return None;
    }
    // SAFETY: an all-zero timespec is valid; clock_gettime writes into it.
    let mut now: libc::timespec = unsafe { std::mem::zeroed() };
    // SAFETY: now is a valid out pointer.
    (unsafe { libc::clock_gettime(clock, &mut now) } == 0)
        .then(|| Duration::new(now.tv_sec as u64, now.tv_nsec as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_launcher_record_is_parsed() {
        let usage = ProcessUsage::parse(
            "pid=7 started_unix_ns=12 wall_ns=5 user_us=1500 system_us=700 maxrss_kb=9000 \
             minflt=800 majflt=0 nvcsw=30 nivcsw=2 status=0\n",
        )
        .unwrap();
        assert_eq!(usage.cpu(), Duration::from_micros(2200));
        assert_eq!(usage.maxrss_kb, 9000);
        assert!(ProcessUsage::parse("pid=7").is_none());
    }

    #[test]
    fn phases_split_at_the_log_lines() {
        let line = |message: &str, rpc: &str| {
            serde_json::json!({"@message": message, "tf_rpc": rpc}).to_string()
        };
        let mut usage = ProcessUsage::parse(
            "started_unix_ns=1 user_us=10 system_us=0 maxrss_kb=1 minflt=1 nvcsw=1",
        )
        .unwrap();
        usage.log_lines = vec![
            (2_000, line("plugin serving", "")),
            (5_000, line("received RPC", "GetProviderSchema")),
            (6_000, line("answered RPC", "GetProviderSchema")),
            (6_500, line("received RPC", "ReadDataSource")),
            (8_500, line("answered RPC", "ReadDataSource")),
        ];
        let (rpcs, phases) = split_phases(&usage);
        assert_eq!(rpcs, "GetProviderSchema, ReadDataSource");
        let phase = |label: &str| {
            phases
                .iter()
                .find(|(known, _)| known.starts_with(label))
                .map(|(_, cpu)| cpu.as_nanos())
        };
        assert_eq!(phase("exec to handshake"), Some(2_000));
        assert_eq!(phase("TLS handshake"), Some(3_000));
        assert_eq!(phase("GetProviderSchema"), Some(1_000));
        assert_eq!(phase("ReadDataSource"), Some(2_000));
        assert_eq!(phase("between RPCs"), Some(500));
        assert_eq!(phase("after the last RPC"), Some(1_500));
        assert_eq!(phase("whole process"), Some(10_000));
    }
}
