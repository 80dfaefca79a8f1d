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

impl VerdictLine {
    /// "**title: outcome.** Rule: … Evidence: … What would decide it: …" — the one text of a
    /// verdict, in report.md, report.html's source data and each figure's README.md.
    pub fn markdown(&self) -> String {
        let mut md = format!("**{}: {}.** Rule: {} Evidence: {}.", self.title, self.outcome, self.rule, self.evidence);
        if let Some(p) = &self.power {
            md += &format!(" What would decide it: {p}.");
        }
        md
    }
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
            md += &format!("- {}\n", v.markdown());
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
    /// The verdicts of this sweep: every claim, speedup and ladder verdict its data support
    /// (report::verdict), then each family's transfer verdict along each swept axis.
    pub fn verdict_lines(&self) -> Vec<VerdictLine> {
        let mut lines: Vec<VerdictLine> = super::verdict::all_verdicts(self).into_iter().map(|(_, v)| v.line()).collect();
        let rule = crate::analysis::transfer::rule_text(self.tolerances);
        for d in &self.drifts {
            lines.push(VerdictLine {
                title: format!("{} along {}", d.label, crate::analysis::runs::short_key(&d.axis)),
                outcome: d.transfer.outcome.to_string(),
                rule: format!("{rule}; tolerances: {}.", self.tolerance_source),
                evidence: super::verdict::family_evidence(d),
                power: d.transfer.power.clone(),
            });
        }
        lines
    }

    /// The verdicts and the builds of the merged table's finished runs.
    pub fn header(&self) -> Result<Header> {
        Ok(Header { verdicts: self.verdict_lines(), builds: builds::of_results_file(&self.dir)? })
    }
}
