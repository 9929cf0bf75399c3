//! The results: the table on the terminal, docs/performance.md and the SVG plot.

use std::fmt::Write as _;

use crate::apply::ApplyRun;
use crate::cpu::{CpuPoint, PhaseTable};
use crate::handshake::HandshakeTimes;
use crate::machine::Machine;
use crate::plan::PlanPoint;

/// The recorded clean build time is kept in the markdown in this comment, so that
/// `--skip-clean-build` can carry it over.
const CLEAN_BUILD_MARKER: &str = "<!-- clean-build:";

/// Why the figures are what they are; written by hand, copied into the report.
const DECISIONS: &str = include_str!("decisions.md");

pub const SVG_NAME: &str = "performance-plan-time.svg";
pub const CPU_SVG_NAME: &str = "performance-cpu.svg";

/// One line of the plot: its label, its colour, and the value it draws for a point.
type Series = (&'static str, &'static str, fn(&PlanPoint) -> f64);

const MEGABYTE: f64 = 1_000_000.0;

#[derive(Clone, Debug)]
pub enum CleanBuild {
    /// Measured in this run, in seconds.
    Measured(f64),
    /// Carried over from an earlier report: seconds, and the date it was measured.
    Recorded(f64, String),
    NotAvailable,
}

impl CleanBuild {
    /// The clean build time recorded in an earlier docs/performance.md.
    pub fn recorded_in(markdown: &str) -> CleanBuild {
        markdown
            .lines()
            .find_map(|line| line.trim().strip_prefix(CLEAN_BUILD_MARKER))
            .and_then(|rest| {
                let rest = rest.trim().trim_end_matches("-->").trim();
                let (seconds, date) = rest.split_once(" s on ")?;
                Some(CleanBuild::Recorded(
                    seconds.trim().parse().ok()?,
                    date.trim().to_owned(),
                ))
            })
            .unwrap_or(CleanBuild::NotAvailable)
    }

    fn seconds_and_date(&self, today: &str) -> Option<(f64, String)> {
        match self {
            CleanBuild::Measured(seconds) => Some((*seconds, today.to_owned())),
            CleanBuild::Recorded(seconds, date) => Some((*seconds, date.clone())),
            CleanBuild::NotAvailable => None,
        }
    }
}

pub struct Results {
    pub machine: Machine,
    pub load_after: String,
    pub rounds: usize,
    pub plan: Option<Vec<PlanPoint>>,
    pub handshake: Option<HandshakeTimes>,
    pub apply: Option<Vec<ApplyRun>>,
    pub cpu: Option<Vec<CpuPoint>>,
    pub cpu_rounds: usize,
    pub phases: Option<PhaseTable>,
    pub binary_bytes: u64,
    /// The shared libraries the release binary loads (the loader's list, vdso and loader aside).
    pub shared_libraries: Option<Vec<String>>,
    pub clean_build: CleanBuild,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Pass,
    Missed,
    NoTarget,
    NotMeasured,
}

impl Verdict {
    fn of(passed: bool) -> Verdict {
        if passed {
            Verdict::Pass
        } else {
            Verdict::Missed
        }
    }

    fn label(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Missed => "MISSED",
            Verdict::NoTarget => "-",
            Verdict::NotMeasured => "not measured",
        }
    }
}

struct Row {
    figure: String,
    measured: String,
    target: &'static str,
    verdict: Verdict,
}

impl Results {
    fn plan_point(&self, reads: usize) -> Option<&PlanPoint> {
        self.plan
            .as_ref()?
            .iter()
            .find(|point| point.reads == reads && point.ours.len() > 0)
    }

    /// The apply run with the most requests per read (the worst case).
    fn worst_apply_by_requests(&self) -> Option<&ApplyRun> {
        self.apply
            .as_ref()?
            .iter()
            .max_by(|a, b| a.requests_per_read().total_cmp(&b.requests_per_read()))
    }

    /// The largest peak resident set of any provider process: polled during the applies, and
    /// the kernel's `ru_maxrss` of every process of the CPU plans.
    fn max_peak_rss(&self) -> Option<u64> {
        let applies = self
            .apply
            .as_ref()
            .and_then(|runs| runs.iter().map(ApplyRun::max_peak_rss).max());
        let plans = self
            .cpu
            .as_ref()
            .and_then(|points| points.iter().map(|point| point.max_rss_kb * 1024).max());
        applies.max(plans)
    }

    fn cpu_point(&self, reads: usize) -> Option<&CpuPoint> {
        self.cpu
            .as_ref()?
            .iter()
            .find(|point| point.reads == reads && point.per_plan.len() > 0)
    }

    /// The least-squares line through the CPU medians: (ms per plan, ms per read).
    fn cpu_fit(&self) -> Option<(f64, f64)> {
        let measured: Vec<(f64, f64)> = self
            .cpu
            .as_ref()?
            .iter()
            .filter(|point| point.per_plan.len() > 0)
            .map(|point| (point.reads as f64, point.per_plan.median()))
            .collect();
        fit_pairs(&measured)
    }

    fn rows(&self) -> Vec<Row> {
        let mut rows = Vec::new();
        let figure = "provider CPU per plan, 1 read (median)".to_owned();
        rows.push(match self.cpu_point(1) {
            Some(point) => Row {
                figure,
                measured: format!(
                    "{:.2} ms (p10 {:.2}, p90 {:.2}; {} processes)",
                    point.per_plan.median(),
                    point.per_plan.quantile(0.1),
                    point.per_plan.quantile(0.9),
                    point.processes_per_plan.iter().max().copied().unwrap_or(0)
                ),
                target: "<= 12 ms",
                verdict: Verdict::of(point.per_plan.median() <= 12.0),
            },
            None => not_measured(figure, "<= 12 ms"),
        });
        let figure = "provider CPU per additional read (slope)".to_owned();
        rows.push(match self.cpu_fit() {
            Some((_, slope)) => Row {
                figure,
                measured: format!("{slope:.3} ms"),
                target: "<= 0.12 ms",
                verdict: Verdict::of(slope <= 0.12),
            },
            None => not_measured(figure, "<= 0.12 ms"),
        });
        for (reads, limit, target) in [(1, Some(2.0), "<= 2.0"), (50, None, "-")] {
            let figure = format!(
                "plan, {reads} read{} / floor",
                if reads == 1 { "" } else { "s" }
            );
            rows.push(match self.plan_point(reads) {
                Some(point) => Row {
                    figure,
                    measured: format!(
                        "{:.2} ({:.0} ms / {:.0} ms)",
                        point.ratio(),
                        point.ours.median(),
                        point.floor.median()
                    ),
                    target,
                    verdict: match limit {
                        Some(limit) => Verdict::of(point.ratio() <= limit),
                        None => Verdict::NoTarget,
                    },
                },
                None => not_measured(figure, target),
            });
        }
        let figure = "exec to handshake, AutoMTLS (median)".to_owned();
        rows.push(match &self.handshake {
            Some(times) => Row {
                figure,
                measured: format!(
                    "{:.2} ms (p10 {:.2}, p90 {:.2}; {} runs)",
                    times.mtls.median(),
                    times.mtls.quantile(0.1),
                    times.mtls.quantile(0.9),
                    times.mtls.len()
                ),
                target: "<= 1.5 ms",
                verdict: Verdict::of(times.mtls.median() <= 1.5),
            },
            None => not_measured(figure, "<= 1.5 ms"),
        });
        if let Some(times) = &self.handshake {
            rows.push(Row {
                figure: "CPU to serving, AutoMTLS (median)".to_owned(),
                measured: format!(
                    "{:.2} ms (p10 {:.2}, p90 {:.2})",
                    times.mtls_cpu.median(),
                    times.mtls_cpu.quantile(0.1),
                    times.mtls_cpu.quantile(0.9)
                ),
                target: "-",
                verdict: Verdict::NoTarget,
            });
            rows.push(Row {
                figure: "exec to handshake, plaintext (median)".to_owned(),
                measured: format!(
                    "{:.2} ms (p10 {:.2}, p90 {:.2})",
                    times.plaintext.median(),
                    times.plaintext.quantile(0.1),
                    times.plaintext.quantile(0.9)
                ),
                target: "-",
                verdict: Verdict::NoTarget,
            });
            rows.push(Row {
                figure: "exec to `--version` line (median)".to_owned(),
                measured: format!(
                    "{:.2} ms (p10 {:.2}, p90 {:.2})",
                    times.version.median(),
                    times.version.quantile(0.1),
                    times.version.quantile(0.9)
                ),
                target: "-",
                verdict: Verdict::NoTarget,
            });
            if times.nothing_cpu.len() > 0 {
                rows.push(Row {
                    figure: "CPU of a start that does nothing (`true`), the floor of each start"
                        .to_owned(),
                    measured: format!(
                        "{:.2} ms (p10 {:.2}, p90 {:.2}); three starts per plan: {:.2} ms",
                        times.nothing_cpu.median(),
                        times.nothing_cpu.quantile(0.1),
                        times.nothing_cpu.quantile(0.9),
                        3.0 * times.nothing_cpu.median()
                    ),
                    target: "-",
                    verdict: Verdict::NoTarget,
                });
            }
        }
        let figure = "HTTP requests per read (300 reads)".to_owned();
        rows.push(match self.worst_apply_by_requests() {
            Some(run) => Row {
                figure: format!("HTTP requests per read ({} reads)", run.reads),
                measured: format!(
                    "{:.3} ({} requests, {} challenge{})",
                    run.requests_per_read(),
                    run.requests,
                    run.challenges,
                    if run.challenges == 1 { "" } else { "s" }
                ),
                target: "<= 1.05",
                verdict: Verdict::of(run.requests_per_read() <= 1.05),
            },
            None => not_measured(figure, "<= 1.05"),
        });
        let figure = "peak RSS of a provider process".to_owned();
        rows.push(match self.max_peak_rss() {
            Some(bytes) => Row {
                figure,
                measured: format!("{:.1} MB", bytes as f64 / MEGABYTE),
                target: "<= 20 MB",
                verdict: Verdict::of(bytes as f64 <= 20.0 * MEGABYTE),
            },
            None => not_measured(figure, "<= 20 MB"),
        });
        rows.push(Row {
            figure: "stripped release binary".to_owned(),
            measured: format!("{:.2} MB", self.binary_bytes as f64 / MEGABYTE),
            target: "<= 10 MB",
            verdict: Verdict::of(self.binary_bytes as f64 <= 10.0 * MEGABYTE),
        });
        rows.push(match &self.shared_libraries {
            Some(libraries) => Row {
                figure: "shared libraries loaded at start".to_owned(),
                measured: libraries.join(", "),
                target: "-",
                verdict: Verdict::NoTarget,
            },
            None => not_measured("shared libraries loaded at start".to_owned(), "-"),
        });
        rows.push(Row {
            figure: "clean release build (-p terraform-provider-atlas)".to_owned(),
            measured: match &self.clean_build {
                CleanBuild::Measured(seconds) => format!("{seconds:.0} s"),
                CleanBuild::Recorded(seconds, date) => {
                    format!("{seconds:.0} s (recorded {date})")
                }
                CleanBuild::NotAvailable => "n/a".to_owned(),
            },
            target: "-",
            verdict: Verdict::NoTarget,
        });
        rows
    }

    /// The table for the terminal, and whether any target was missed.
    pub fn terminal_table(&self) -> (String, bool) {
        let rows = self.rows();
        let header = ["figure", "measured", "target", "result"];
        let cells: Vec<[String; 4]> = rows
            .iter()
            .map(|row| {
                [
                    row.figure.clone(),
                    row.measured.clone(),
                    row.target.to_owned(),
                    row.verdict.label().to_owned(),
                ]
            })
            .collect();
        let mut widths = header.map(str::len);
        for row in &cells {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let mut text = String::new();
        let line = |text: &mut String, cells: [&str; 4]| {
            let padded: Vec<String> = cells
                .iter()
                .zip(widths)
                .map(|(cell, width)| format!("{cell:<width$}"))
                .collect();
            let _ = writeln!(text, "  {}", padded.join("  ").trim_end());
        };
        line(&mut text, header);
        let rule = widths.map(|width| "-".repeat(width));
        line(&mut text, rule.each_ref().map(String::as_str));
        for row in &cells {
            line(&mut text, row.each_ref().map(String::as_str));
        }
        let missed = rows.iter().any(|row| row.verdict == Verdict::Missed);
        (text, missed)
    }

    pub fn markdown(&self) -> String {
        let machine = &self.machine;
        let mut out = String::new();
        let _ = writeln!(out, "# Performance\n");
        let _ = writeln!(
            out,
            "<!-- generated by scripts/bench.sh (tools/bench); edit tools/bench/src/decisions.md \
             for the Decisions section, not this file -->\n"
        );
        let _ = writeln!(
            out,
            "What the provider costs Terraform, measured with the real `terraform` against the fake \
             Atlas on loopback. Measured on {} ({} cores, see [the machine](#the-machine)). Run \
             `scripts/bench.sh` to measure again.\n",
            machine.date, machine.cores
        );
        if let Some(load) = busy_load(&machine.load_before, machine.cores) {
            let _ = writeln!(
                out,
                "**This run was taken on a busy machine** (1-minute load average {load:.1} on {} \
                 cores at the start): the wall-clock figures are inflated and noisy; the CPU \
                 figures much less so.\n",
                machine.cores
            );
        }
        let _ = writeln!(out, "## Results\n");
        let _ = writeln!(out, "| Figure | Measured | Target | Result |");
        let _ = writeln!(out, "| --- | --- | --- | --- |");
        // The figures without a target are in the sections below.
        for row in self.rows() {
            if let Verdict::NoTarget = row.verdict {
                continue;
            }
            let verdict = match row.verdict {
                Verdict::Missed => "**MISSED**".to_owned(),
                other => other.label().to_owned(),
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                row.figure, row.measured, row.target, verdict
            );
        }
        if let Some((seconds, date)) = self.clean_build.seconds_and_date(&machine.date) {
            let _ = writeln!(out, "\n{CLEAN_BUILD_MARKER} {seconds:.1} s on {date} -->");
        }
        let _ = writeln!(out);

        if let Some(points) = &self.cpu {
            let _ = writeln!(out, "## Provider CPU per plan\n");
            let _ = writeln!(
                out,
                "User + system CPU time of every provider process a `terraform plan` started, \
                 summed per plan: medians of {} rounds, in milliseconds; processes in the order \
                 Terraform started them.\n",
                self.cpu_rounds
            );
            let columns = points
                .iter()
                .map(|point| point.per_process.len())
                .max()
                .unwrap_or(0);
            let process_headers: String = (1..=columns)
                .map(|order| format!(" process {order} (ms) |"))
                .collect();
            let _ = writeln!(
                out,
                "| N | CPU per plan (ms) | p10-p90 (ms) | processes |{process_headers} minor page faults per plan | largest peak RSS (MB) |"
            );
            let _ = writeln!(
                out,
                "| ---: | ---: | ---: | ---: |{} ---: | ---: |",
                " ---: |".repeat(columns)
            );
            for point in points {
                let per_process: String = (0..columns)
                    .map(|order| match point.per_process.get(order) {
                        Some(sample) => format!(" {:.2} |", sample.median()),
                        None => " - |".to_owned(),
                    })
                    .collect();
                let _ = writeln!(
                    out,
                    "| {} | {:.2} | {:.2}-{:.2} | {} |{per_process} {:.0} | {:.1} |",
                    point.reads,
                    point.per_plan.median(),
                    point.per_plan.quantile(0.1),
                    point.per_plan.quantile(0.9),
                    point.processes_per_plan.iter().max().copied().unwrap_or(0),
                    point.minor_faults_per_plan.median(),
                    point.max_rss_kb as f64 * 1024.0 / MEGABYTE,
                );
            }
            if let Some((fixed, slope)) = self.cpu_fit() {
                let _ = writeln!(
                    out,
                    "\nA least-squares line through the medians: provider CPU per plan = \
                     {fixed:.2} ms + N x {slope:.3} ms per read.\n"
                );
            }
            let _ = writeln!(
                out,
                "![provider CPU time per terraform plan against the number of reads]({CPU_SVG_NAME})\n"
            );
        }

        if let Some(table) = &self.phases {
            let _ = writeln!(out, "### Provider CPU by phase\n");
            let _ = writeln!(
                out,
                "{} plans of 1 read with `TF_LOG_PROVIDER=trace`, the process's CPU clock read at \
                 each log line; medians in milliseconds. A stretch that does not sleep is counted \
                 in the next phase; the totals are exact.\n",
                table.plans
            );
            for (order, (rpcs, _)) in table.processes.iter().enumerate() {
                let _ = writeln!(out, "- Process {}: {rpcs}.", order + 1);
            }
            let _ = writeln!(out);
            let headers: String = (1..=table.processes.len())
                .map(|order| format!(" process {order} (ms) |"))
                .collect();
            let _ = writeln!(out, "| Phase |{headers}");
            let _ = writeln!(out, "| --- |{}", " ---: |".repeat(table.processes.len()));
            let mut labels: Vec<&str> = Vec::new();
            for (_, phases) in &table.processes {
                for (label, _) in phases {
                    if !labels.contains(&label.as_str()) {
                        labels.push(label);
                    }
                }
            }
            // The RPCs in the middle, the whole process last.
            labels.sort_by_key(|label| match *label {
                "exec to handshake line" => 0,
                label if label.starts_with("TLS handshake") => 1,
                "between RPCs" => 3,
                label if label.starts_with("after the last RPC") => 4,
                "whole process" => 5,
                _ => 2,
            });
            for label in labels {
                let cells: String = table
                    .processes
                    .iter()
                    .map(
                        |(_, phases)| match phases.iter().find(|(known, _)| known == label) {
                            Some((_, sample)) => format!(" {:.3} |", sample.median()),
                            None => " - |".to_owned(),
                        },
                    )
                    .collect();
                let name = if label == "whole process" {
                    format!("**{label}**")
                } else if label.starts_with(char::is_uppercase) && !label.contains(' ') {
                    format!("RPC `{label}`")
                } else {
                    label.to_owned()
                };
                let _ = writeln!(out, "| {name} |{cells}");
            }
            let _ = writeln!(out);
        }

        if let Some(points) = &self.plan {
            let _ = writeln!(out, "## Plan time by number of reads\n");
            let _ = writeln!(
                out,
                "Medians of {} interleaved rounds, in milliseconds. \"Ours\" plans N reads of \
                 `atlas_interface_endpoint`; the floor plans N `terraform_data`, which Terraform \
                 serves itself.\n",
                self.rounds
            );
            let _ = writeln!(
                out,
                "| N | ours (ms) | floor (ms) | ours - floor (ms) | ours / floor | ours p10-p90 (ms) | floor p10-p90 (ms) |"
            );
            let _ = writeln!(out, "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
            for point in points {
                let _ = writeln!(
                    out,
                    "| {} | {:.0} | {:.0} | {:.0} | {:.2} | {:.0}-{:.0} | {:.0}-{:.0} |",
                    point.reads,
                    point.ours.median(),
                    point.floor.median(),
                    point.ours.median() - point.floor.median(),
                    point.ratio(),
                    point.ours.quantile(0.1),
                    point.ours.quantile(0.9),
                    point.floor.quantile(0.1),
                    point.floor.quantile(0.9),
                );
            }
            if let (Some((ours_fixed, ours_per)), Some((floor_fixed, floor_per))) = (
                fit(points, |point| point.ours.median()),
                fit(points, |point| point.floor.median()),
            ) {
                let _ = writeln!(
                    out,
                    "\nLeast-squares lines: ours {ours_fixed:.0} ms + {ours_per:.2} ms per read; floor \
                     {floor_fixed:.0} ms + {floor_per:.2} ms per `terraform_data`. The fixed parts \
                     differ by {:.0} ms: Terraform starting, connecting to and stopping the plugin \
                     three times.",
                    ours_fixed - floor_fixed,
                );
            }
            let _ = writeln!(
                out,
                "\n![terraform plan time against the number of reads: terraform-provider-atlas and \
                 the floor (terraform_data)]({SVG_NAME})\n"
            );
        }

        if let Some(times) = &self.handshake {
            let _ = writeln!(out, "## Start-up\n");
            let _ = writeln!(
                out,
                "Spawn to first line on stdout, {} interleaved runs of each kind:\n",
                times.mtls.len()
            );
            let _ = writeln!(
                out,
                "| Start | median (ms) | p10 (ms) | p90 (ms) | CPU median (ms) | CPU p10-p90 (ms) |"
            );
            let _ = writeln!(out, "| --- | ---: | ---: | ---: | ---: | ---: |");
            for (label, sample, cpu) in [
                (
                    "handshake line with AutoMTLS (`PLUGIN_CLIENT_CERT` set)",
                    &times.mtls,
                    &times.mtls_cpu,
                ),
                (
                    "handshake line, plaintext",
                    &times.plaintext,
                    &times.plaintext_cpu,
                ),
                (
                    "`--version` (process start only)",
                    &times.version,
                    &times.version_cpu,
                ),
                (
                    "`true`: a program that does nothing, spawn to exit",
                    &times.nothing,
                    &times.nothing_cpu,
                ),
            ] {
                if sample.len() == 0 {
                    continue;
                }
                let _ = writeln!(
                    out,
                    "| {label} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2}-{:.2} |",
                    sample.median(),
                    sample.quantile(0.1),
                    sample.quantile(0.9),
                    cpu.median(),
                    cpu.quantile(0.1),
                    cpu.quantile(0.9)
                );
            }
            let _ = writeln!(out, "\n`true` is what starting any program costs here.");
            let _ = writeln!(out);
        }

        let _ = writeln!(out, "## How it is measured\n");
        let _ = writeln!(out, "{}", METHOD.trim());
        let _ = writeln!(out);
        let _ = writeln!(out, "## The machine\n");
        let _ = writeln!(out, "| | |");
        let _ = writeln!(out, "| --- | --- |");
        let _ = writeln!(out, "| Date (UTC) | {} |", machine.date);
        let _ = writeln!(out, "| Cores (`nproc`) | {} |", machine.cores);
        let _ = writeln!(out, "| CPU | {} |", machine.cpu);
        let _ = writeln!(out, "| Memory | {} |", machine.memory);
        let _ = writeln!(out, "| Kernel | {} |", machine.kernel);
        let _ = writeln!(out, "| Terraform | {} |", machine.terraform);
        let _ = writeln!(out, "| Rust | {} |", machine.rustc);
        let _ = writeln!(
            out,
            "| Load average (1, 5, 15 min) | {} at the start, {} at the end |",
            machine.load_before, self.load_after
        );
        let _ = writeln!(out);
        let _ = writeln!(out, "## How to run it\n");
        let _ = writeln!(out, "{}", HOW_TO_RUN.trim());
        let _ = writeln!(out);
        let _ = writeln!(out, "## Decisions that shape the code\n");
        let _ = writeln!(out, "{}", DECISIONS.trim());
        out
    }

    /// Plan time against the number of reads, both sides.
    pub fn svg(&self) -> Option<String> {
        let points = self.plan.as_ref()?;
        if points.is_empty() {
            return None;
        }
        let series: [Series; 2] = [
            ("terraform-provider-atlas", "#1f77b4", |point| {
                point.ours.median()
            }),
            ("floor (terraform_data)", "#ff7f0e", |point| {
                point.floor.median()
            }),
        ];
        let lines: Vec<PlotLine> = series
            .iter()
            .map(|(label, color, value)| PlotLine {
                label: (*label).to_owned(),
                color,
                points: points
                    .iter()
                    .map(|point| (point.reads as f64, value(point)))
                    .collect(),
                dashed: false,
            })
            .collect();
        Some(line_plot(
            &format!(
                "terraform plan time (median of {} rounds, {})",
                self.rounds, self.machine.date
            ),
            "plan time (ms)",
            &lines,
        ))
    }

    /// Provider CPU per plan against the number of reads, with the fitted line.
    pub fn cpu_svg(&self) -> Option<String> {
        let points = self.cpu.as_ref()?;
        let measured: Vec<(f64, f64)> = points
            .iter()
            .map(|point| (point.reads as f64, point.per_plan.median()))
            .collect();
        let mut lines = vec![PlotLine {
            label: "provider CPU per plan (user + system, all processes)".to_owned(),
            color: "#1f77b4",
            points: measured.clone(),
            dashed: false,
        }];
        if let Some((fixed, slope)) = fit_pairs(&measured) {
            let last = measured.iter().map(|(x, _)| *x).fold(0.0, f64::max);
            lines.push(PlotLine {
                label: format!("least squares: {fixed:.2} ms + {slope:.3} ms per read"),
                color: "#2ca02c",
                points: vec![(0.0, fixed), (last, fixed + slope * last)],
                dashed: true,
            });
        }
        Some(line_plot(
            &format!(
                "provider CPU per terraform plan (median of {} rounds, {})",
                self.cpu_rounds, self.machine.date
            ),
            "CPU time (ms)",
            &lines,
        ))
    }
}

/// One line of a plot.
struct PlotLine {
    label: String,
    color: &'static str,
    points: Vec<(f64, f64)>,
    dashed: bool,
}

/// A line plot against the number of reads, drawn by hand.
fn line_plot(title: &str, y_label: &str, lines: &[PlotLine]) -> String {
    let (width, height) = (760.0, 460.0);
    let (left, right, top, bottom) = (80.0, 30.0, 50.0, 70.0);
    let plot_width = width - left - right;
    let plot_height = height - top - bottom;
    let all = || lines.iter().flat_map(|line| line.points.iter());
    let max_reads = all().map(|(x, _)| *x).fold(1.0, f64::max);
    let max_value = all().map(|(_, y)| *y).fold(0.0, f64::max);
    let y_step = nice_step(max_value / 5.0);
    let y_max = (max_value / y_step).ceil().max(1.0) * y_step;
    let x_step = nice_step(max_reads / 5.0);
    let x = |reads: f64| left + reads / max_reads * plot_width;
    let y = |value: f64| top + plot_height - value / y_max * plot_height;
    let decimals = if y_step < 1.0 { 1 } else { 0 };

    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="13">"#
    );
    let _ = writeln!(
        svg,
        r#"<rect x="0" y="0" width="{width}" height="{height}" fill="white"/>"#
    );
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="28" text-anchor="middle" font-size="16">{title}</text>"#,
        width / 2.0,
    );
    // Grid and y ticks.
    let mut tick = 0.0;
    while tick <= y_max + y_step / 2.0 {
        let _ = writeln!(
            svg,
            r##"<line x1="{left}" y1="{py:.1}" x2="{:.1}" y2="{py:.1}" stroke="#e0e0e0"/><text x="{:.1}" y="{:.1}" text-anchor="end">{tick:.decimals$}</text>"##,
            left + plot_width,
            left - 8.0,
            y(tick) + 4.0,
            py = y(tick)
        );
        tick += y_step;
    }
    // X ticks.
    let mut tick = 0.0;
    while tick <= max_reads + x_step / 2.0 {
        let _ = writeln!(
            svg,
            r##"<line x1="{px:.1}" y1="{:.1}" x2="{px:.1}" y2="{:.1}" stroke="#444"/><text x="{px:.1}" y="{:.1}" text-anchor="middle">{tick:.0}</text>"##,
            top + plot_height,
            top + plot_height + 5.0,
            top + plot_height + 20.0,
            px = x(tick)
        );
        tick += x_step;
    }
    // Axes and their labels.
    let _ = writeln!(
        svg,
        r##"<polyline points="{left},{top} {left},{:.1} {:.1},{:.1}" fill="none" stroke="#444"/>"##,
        top + plot_height,
        left + plot_width,
        top + plot_height
    );
    let _ = writeln!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">number of data source reads (N)</text>"#,
        left + plot_width / 2.0,
        height - 25.0
    );
    let _ = writeln!(
        svg,
        r#"<text x="20" y="{:.1}" text-anchor="middle" transform="rotate(-90 20 {:.1})">{y_label}</text>"#,
        top + plot_height / 2.0,
        top + plot_height / 2.0
    );
    for (index, line) in lines.iter().enumerate() {
        let color = line.color;
        let dash = if line.dashed {
            r#" stroke-dasharray="6 4""#
        } else {
            ""
        };
        let coordinates: Vec<String> = line
            .points
            .iter()
            .map(|(reads, value)| format!("{:.1},{:.1}", x(*reads), y(*value)))
            .collect();
        let _ = writeln!(
            svg,
            r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="2"{dash}/>"#,
            coordinates.join(" ")
        );
        if !line.dashed {
            for (reads, value) in &line.points {
                let _ = writeln!(
                    svg,
                    r#"<circle cx="{:.1}" cy="{:.1}" r="4" fill="{color}"><title>{}: N={reads} {value:.2}</title></circle>"#,
                    x(*reads),
                    y(*value),
                    line.label,
                );
            }
        }
        let legend_y = top + 12.0 + index as f64 * 20.0;
        let _ = writeln!(
            svg,
            r#"<line x1="{:.1}" y1="{legend_y:.1}" x2="{:.1}" y2="{legend_y:.1}" stroke="{color}" stroke-width="2"{dash}/><text x="{:.1}" y="{:.1}">{}</text>"#,
            left + 16.0,
            left + 44.0,
            left + 52.0,
            legend_y + 4.0,
            line.label
        );
    }
    let _ = writeln!(svg, "</svg>");
    svg
}

/// The 1-minute load average, when it is above the number of cores.
fn busy_load(load_average: &str, cores: usize) -> Option<f64> {
    let load: f64 = load_average.split_whitespace().next()?.parse().ok()?;
    (load > cores as f64).then_some(load)
}

fn not_measured(figure: String, target: &'static str) -> Row {
    Row {
        figure,
        measured: "-".to_owned(),
        target,
        verdict: Verdict::NotMeasured,
    }
}

/// The least-squares line `y = fixed + slope * reads` through the points: (fixed, slope).
fn fit(points: &[PlanPoint], value: impl Fn(&PlanPoint) -> f64) -> Option<(f64, f64)> {
    let measured: Vec<(f64, f64)> = points
        .iter()
        .filter(|point| point.ours.len() > 0)
        .map(|point| (point.reads as f64, value(point)))
        .collect();
    fit_pairs(&measured)
}

/// The least-squares line `y = fixed + slope * x` through `(x, y)` pairs: (fixed, slope).
pub fn fit_pairs(measured: &[(f64, f64)]) -> Option<(f64, f64)> {
    if measured.len() < 2 {
        return None;
    }
    let count = measured.len() as f64;
    let mean_x = measured.iter().map(|(x, _)| x).sum::<f64>() / count;
    let mean_y = measured.iter().map(|(_, y)| y).sum::<f64>() / count;
    let spread: f64 = measured.iter().map(|(x, _)| (x - mean_x).powi(2)).sum();
    if spread == 0.0 {
        return None;
    }
    let slope = measured
        .iter()
        .map(|(x, y)| (x - mean_x) * (y - mean_y))
        .sum::<f64>()
        / spread;
    Some((mean_y - slope * mean_x, slope))
}

/// 1, 2 or 5 times a power of ten, at least `raw`.
fn nice_step(raw: f64) -> f64 {
    if raw <= 0.0 || !raw.is_finite() {
        return 1.0;
    }
    let magnitude = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|factor| factor * magnitude)
        .find(|step| *step >= raw)
        .unwrap_or(10.0 * magnitude)
}

const METHOD: &str = r#"
`target/release/bench` (`tools/bench/`) serves the fake Atlas (`tests/fake-atlas`) on 127.0.0.1
and drives the real `terraform` with `dev_overrides` and a clean environment. Figures are medians;
the two sides of a comparison are interleaved.

- **Provider CPU.** Terraform starts `provider-launcher` in the provider's place; it execs the
  provider and records its user + system time from `wait4`. The CPU per read is the slope of the
  line through the medians.
- **Plan time.** `terraform plan` of N `atlas_interface_endpoint` reads against N `terraform_data`
  (Terraform with no plugin), wall clock.
- **Start-up.** Spawned as Terraform spawns it (AutoMTLS with a P-521 client certificate), timed
  to the handshake line, with `--version` and `true` interleaved.
- **Memory.** `terraform apply` of 300 reads; the largest `VmHWM` of each provider process.
- **Binary.** The stripped release executable; 1 MB is 10^6 bytes.
"#;

const HOW_TO_RUN: &str = r#"
```sh
scripts/bench.sh                      # everything, with a clean release build (~5 min)
scripts/bench.sh --skip-clean-build --only cpu,handshake   # CPU and start-up (about a minute)
target/release/bench --only cpu --compare before=DIR   # another build in the same CPU rounds
```

The script builds the release provider and the tool, which prints the table and rewrites this file
and its plots (`--no-write` leaves them). `target/release/bench --help` lists the options. A
missed target is printed as MISSED; the tool still exits 0: it is a report, not a test.
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_fitted_exactly() {
        let points: Vec<PlanPoint> = [1usize, 11, 21]
            .iter()
            .map(|&reads| {
                let mut ours = crate::stats::Sample::default();
                ours.push(std::time::Duration::from_millis(100 + 2 * reads as u64));
                PlanPoint {
                    reads,
                    ours,
                    floor: crate::stats::Sample::default(),
                }
            })
            .collect();
        let (fixed, slope) = fit(&points, |point| point.ours.median()).unwrap();
        assert!((fixed - 100.0).abs() < 1e-9 && (slope - 2.0).abs() < 1e-9);
    }

    #[test]
    fn a_load_above_the_core_count_is_busy() {
        assert_eq!(busy_load("7.50 6.00 5.00", 2), Some(7.5));
        assert_eq!(busy_load("1.20 1.00 1.00", 2), None);
        assert_eq!(busy_load("unknown", 2), None);
    }

    #[test]
    fn nice_steps() {
        assert_eq!(nice_step(7.0), 10.0);
        assert_eq!(nice_step(18.0), 20.0);
        assert_eq!(nice_step(41.0), 50.0);
        assert_eq!(nice_step(0.0), 1.0);
    }

    #[test]
    fn the_recorded_clean_build_is_found() {
        let markdown = "text\n<!-- clean-build: 301.4 s on 2026-05-01 -->\nmore";
        match CleanBuild::recorded_in(markdown) {
            CleanBuild::Recorded(seconds, date) => {
                assert_eq!(seconds, 301.4);
                assert_eq!(date, "2026-05-01");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            CleanBuild::recorded_in("nothing"),
            CleanBuild::NotAvailable
        ));
    }
}
