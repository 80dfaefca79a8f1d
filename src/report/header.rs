//! What heads report.md and report.html, above every table and plot: the verdicts, each with
//! its rule, evidence and (when known) power, and a warning when the sweep's finished runs
//! come from more than one build (`sweep::builds`).

use super::Analysis;
use crate::sweep::builds::{self, Builds};
use anyhow::Result;
use serde::Serialize;

/// One verdict as the reader sees it: "μP width transfer: reproduced", the rule that decided
/// it, the intervals it read and, when measured, the power of the test.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VerdictLine {
    /// What is judged ("μP width transfer for GPT").
    pub title: String,
    /// "reproduced", "not reproduced", "transfers", "does not transfer", "inconclusive at 3 seeds", …
    pub outcome: String,
    pub rule: String,
    pub evidence: String,
    pub power: Option<String>,
}

/// Shown when no verdict applies.
pub const NO_VERDICT: &str = "No verdict rule applies to this sweep.";

/// The head of the report.
#[derive(Clone, Debug, Default)]
pub struct Header {
    pub verdicts: Vec<VerdictLine>,
    pub builds: Builds,
}

impl Header {
    pub fn build_warning(&self) -> Option<String> {
        self.builds.warning()
    }

    /// The verdict section and the build warning of report.md.
    pub fn markdown(&self) -> String {
        let mut md = String::from("## Verdicts\n\n");
        if self.verdicts.is_empty() {
            md += &format!("{NO_VERDICT}\n\n");
        }
        for v in &self.verdicts {
            md += &format!("- **{}: {}.** Rule: {} Evidence: {}.", v.title, v.outcome, v.rule, v.evidence);
            if let Some(p) = &v.power {
                md += &format!(" Power: {p}.");
            }
            md += "\n";
        }
        if !self.verdicts.is_empty() {
            md += "\n";
        }
        if let Some(w) = self.build_warning() {
            md += &format!("> **Mixed builds:** {w}.\n\n");
        }
        md
    }
}

impl Analysis {
    /// The verdicts of this sweep. The slot is empty until the transfer verdicts per family and
    /// axis (from declared tolerances) are computed here; the figure verdicts
    /// (`figures::verdict`) stay in each figure's README.md.
    pub fn verdict_lines(&self) -> Vec<VerdictLine> {
        Vec::new()
    }

    /// The verdicts and the builds of the merged table's finished runs.
    pub fn header(&self) -> Result<Header> {
        Ok(Header { verdicts: self.verdict_lines(), builds: builds::of_results_file(&self.dir)? })
    }
}
