//! `terraform plan` of N reads of our data source against the floor, the same plan with N
//! `terraform_data` resources (built into Terraform: no plugin starts), interleaved.

use std::path::PathBuf;

use crate::BenchError;
use crate::stats::Sample;
use crate::terraform::{Terraform, run_timed};

const PLAN: &[&str] = &["plan", "-input=false", "-lock=false", "-no-color"];

/// The plan times for one N.
pub struct PlanPoint {
    pub reads: usize,
    pub ours: Sample,
    pub floor: Sample,
}

impl PlanPoint {
    pub fn ratio(&self) -> f64 {
        self.ours.median() / self.floor.median()
    }
}

struct Case {
    reads: usize,
    ours_directory: PathBuf,
    floor_directory: PathBuf,
}

/// Runs a warm-up round, then `rounds` rounds; within a round every N is planned on both sides,
/// the side that goes first alternating, so that whatever else the machine is doing falls on
/// both alike.
pub fn measure(
    terraform: &Terraform,
    scratch: &std::path::Path,
    ids: &[String],
    counts: &[usize],
    rounds: usize,
) -> Result<Vec<PlanPoint>, BenchError> {
    let mut cases = Vec::new();
    for &reads in counts {
        let ours_directory = scratch.join(format!("plan-ours-{reads}"));
        let floor_directory = scratch.join(format!("plan-floor-{reads}"));
        std::fs::create_dir_all(&ours_directory)?;
        std::fs::create_dir_all(&floor_directory)?;
        std::fs::write(
            ours_directory.join("main.tf"),
            terraform.provider_config(&ids[..reads]),
        )?;
        std::fs::write(
            floor_directory.join("main.tf"),
            terraform.floor_config(&ids[..reads]),
        )?;
        cases.push(Case {
            reads,
            ours_directory,
            floor_directory,
        });
    }
    let mut points: Vec<PlanPoint> = counts
        .iter()
        .map(|&reads| PlanPoint {
            reads,
            ours: Sample::default(),
            floor: Sample::default(),
        })
        .collect();
    for round in 0..=rounds {
        let warm_up = round == 0;
        for (index, case) in cases.iter().enumerate() {
            let ours_first = (round + index) % 2 == 0;
            for ours in [ours_first, !ours_first] {
                let directory = if ours {
                    &case.ours_directory
                } else {
                    &case.floor_directory
                };
                let description = format!(
                    "terraform plan ({} {})",
                    case.reads,
                    if ours { "reads" } else { "terraform_data" }
                );
                let run = run_timed(terraform.command(directory, PLAN), &description, |_| {})?;
                if !warm_up {
                    let point = &mut points[index];
                    if ours {
                        point.ours.push(run.elapsed);
                    } else {
                        point.floor.push(run.elapsed);
                    }
                }
            }
        }
        if warm_up {
            eprintln!("  warm-up round done");
        } else {
            let summary: Vec<String> = points
                .iter()
                .map(|point| {
                    format!(
                        "N={} {:.0}/{:.0} ms",
                        point.reads,
                        point.ours.median(),
                        point.floor.median()
                    )
                })
                .collect();
            eprintln!(
                "  round {round}/{rounds}: medians so far (ours/floor) {}",
                summary.join(", ")
            );
        }
    }
    Ok(points)
}
