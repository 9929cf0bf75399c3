//! A large `terraform apply`: HTTP round trips per read at the fake Atlas, and the peak resident
//! memory of every provider process Terraform starts, polled from /proc.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use fake_atlas::FakeAtlas;

use crate::BenchError;
use crate::terraform::{Terraform, run_timed};

/// How often /proc is scanned while terraform runs.
const POLL_INTERVAL: Duration = Duration::from_millis(3);

/// One `terraform apply -auto-approve` of `reads` data source reads.
pub struct ApplyRun {
    pub reads: usize,
    pub elapsed: Duration,
    pub requests: usize,
    pub challenges: usize,
    /// Peak resident set (`VmHWM`) of each provider process, in bytes, by pid.
    pub peak_rss: HashMap<u32, u64>,
}

impl ApplyRun {
    pub fn requests_per_read(&self) -> f64 {
        self.requests as f64 / self.reads as f64
    }

    pub fn max_peak_rss(&self) -> u64 {
        self.peak_rss.values().copied().max().unwrap_or(0)
    }
}

/// Applies a fresh configuration of `ids.len()` reads in a new directory under `scratch`.
pub fn measure(
    terraform: &Terraform,
    atlas: &FakeAtlas,
    scratch: &Path,
    ids: &[String],
    attempt: usize,
) -> Result<ApplyRun, BenchError> {
    let directory = scratch.join(format!("apply-{}-{attempt}", ids.len()));
    std::fs::create_dir_all(&directory)?;
    std::fs::write(directory.join("main.tf"), terraform.provider_config(ids))?;
    let requests_before = atlas.request_count();
    let challenges_before = atlas.challenges_issued();

    let done = Arc::new(AtomicBool::new(false));
    let mut poller = None;
    let command = terraform.command(
        &directory,
        &[
            "apply",
            "-auto-approve",
            "-input=false",
            "-lock=false",
            "-no-color",
        ],
    );
    let outcome = run_timed(command, "terraform apply", |child| {
        let parent = child.id();
        let done = Arc::clone(&done);
        poller = Some(std::thread::spawn(move || poll_peak_rss(parent, &done)));
    });
    done.store(true, Ordering::SeqCst);
    let peak_rss = poller
        .map(|thread| thread.join().unwrap_or_default())
        .unwrap_or_default();
    let run = outcome?;
    Ok(ApplyRun {
        reads: ids.len(),
        elapsed: run.elapsed,
        requests: atlas.request_count() - requests_before,
        challenges: atlas.challenges_issued() - challenges_before,
        peak_rss,
    })
}

/// Until `done`, keeps the largest `VmHWM` seen of every child of `parent` whose name starts
/// with `terraform-provi` (the kernel cuts `comm` at 15 characters).
fn poll_peak_rss(parent: u32, done: &AtomicBool) -> HashMap<u32, u64> {
    let mut peaks: HashMap<u32, u64> = HashMap::new();
    while !done.load(Ordering::SeqCst) {
        if let Ok(entries) = std::fs::read_dir("/proc") {
            for entry in entries.flatten() {
                let Some(pid) = entry
                    .file_name()
                    .to_str()
                    .and_then(|name| name.parse::<u32>().ok())
                else {
                    continue;
                };
                let Ok(comm) = std::fs::read_to_string(entry.path().join("comm")) else {
                    continue;
                };
                if !comm.starts_with("terraform-provi") {
                    continue;
                }
                let Ok(status) = std::fs::read_to_string(entry.path().join("status")) else {
                    continue;
                };
                if status_field(&status, "PPid:") != Some(u64::from(parent)) {
                    continue;
                }
                if let Some(kilobytes) = status_field(&status, "VmHWM:") {
                    let peak = peaks.entry(pid).or_default();
                    *peak = (*peak).max(kilobytes * 1024);
                }
            }
        }
        std::thread::sleep(POLL_INTERVAL);
    }
    peaks
}

/// The number after `name` on its line of /proc/<pid>/status (`VmHWM:   12345 kB`).
fn status_field(status: &str, name: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix(name))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|number| number.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_status_fields() {
        let status = "Name:\tterraform-provi\nPPid:\t42\nVmHWM:\t   12345 kB\nVmRSS:\t 100 kB\n";
        assert_eq!(status_field(status, "PPid:"), Some(42));
        assert_eq!(status_field(status, "VmHWM:"), Some(12345));
        assert_eq!(status_field(status, "VmSwap:"), None);
    }
}
