//! What a verdict is: an outcome with the rule that decided it, the intervals it read and, when
//! inconclusive, what would decide it (report::verdict computes them).

use crate::analysis::bootstrap::Interval;
use std::fmt;

#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Reproduced,
    NotReproduced,
    Inconclusive { seeds: usize },
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Reproduced => write!(f, "reproduced"),
            Outcome::NotReproduced => write!(f, "not reproduced"),
            Outcome::Inconclusive { seeds } => write!(f, "inconclusive at {seeds} seed{}", if *seeds == 1 { "" } else { "s" }),
        }
    }
}

/// A verdict: the outcome, the rule it applied, the intervals it read and, when inconclusive,
/// what would decide it.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    pub title: String,
    pub outcome: Outcome,
    pub rule: String,
    pub evidence: String,
    pub power: Option<String>,
}

impl Verdict {
    pub fn line(&self) -> super::VerdictLine {
        super::VerdictLine {
            title: self.title.clone(),
            outcome: self.outcome.to_string(),
            rule: self.rule.clone(),
            evidence: self.evidence.clone(),
            power: self.power.clone(),
        }
    }

    pub fn markdown(&self) -> String {
        format!("{}\n\n", self.line().markdown())
    }
}

pub(super) fn inconclusive(cis: &[Interval]) -> Outcome {
    Outcome::Inconclusive { seeds: cis.iter().map(Interval::seeds).min().unwrap_or(0) }
}
