//! Verdicts from intervals: each sweep figure's claim as a rule on 95% seed-bootstrap
//! intervals. "reproduced" only when the interval supports the claim, "not reproduced" when it
//! contradicts it, "inconclusive at n seeds" otherwise (including every one-seed sweep, whose
//! intervals are unavailable). The rule text is printed into the figure's README.md.

use crate::analysis::bootstrap::{DRAWS, Interval, gain_interval};
use crate::analysis::runs::{DEPTH, STEPS, WIDTH};
use crate::report::{Analysis, Drift, SpeedupRow};
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

/// A figure's verdict: the outcome, the rule it applied and the intervals it read.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    pub outcome: Outcome,
    pub rule: &'static str,
    pub evidence: String,
}

impl Verdict {
    pub fn markdown(&self) -> String {
        format!("**Verdict: {}.** Rule: {} Intervals: {}.\n\n", self.outcome, self.rule, self.evidence)
    }
}

const WIDTH_RULE: &str = "reproduced when νGPT's width drift upper bound ≤ 2× and nGPT's lower bound lies above νGPT's upper bound; not reproduced when νGPT's lower bound > 2×, nGPT's upper bound ≤ 2×, or nGPT's upper bound lies below νGPT's lower bound.";
const MUP_RULE: &str = "reproduced when μP's width drift upper bound ≤ 2× and SP's lower bound lies above μP's upper bound; not reproduced when μP's lower bound > 2× or SP's upper bound lies below μP's lower bound.";
const DEPTH_RULE: &str = "reproduced when the depth drift upper bound of both nGPT and νGPT is ≤ 2×; not reproduced when either lower bound is > 2×.";
const HORIZON_RULE: &str = "without the m_data factor: reproduced when the slope interval lies below 0 and contains −1/3; not reproduced when it lies entirely above −0.2 or below −0.5.";
const SPEEDUP_RULE: &str = "reproduced when the lower bound of S (nGPT over GPT) at the largest budget is > 1 at every context length; not reproduced when the upper bound is < 1 at some context length.";
const CONTEXT_RULE: &str = "at the largest budget: reproduced when S's lower bound is > 1 at every context length and, with ≥ 2 context lengths, S at the longest lies above S at the shortest (its lower bound above the other's upper bound); not reproduced when S's upper bound is < 1 at some context length or S at the longest lies below S at the shortest (its upper bound below the other's lower bound).";
const LADDER_RULE: &str = "the paper's headline is anGPT ahead of GPT+ (1.4× fewer steps, so a lower loss at one budget): reproduced when the 95% interval of anGPT's loss gain over GPT+ (seeds paired) lies above 0; not reproduced when it lies below 0.";

/// The verdict of figure `name`, or `None` for figures without an interval rule (coord-check,
/// alignment, length extrapolation).
pub fn verdict(name: &str, a: &Analysis) -> Option<Verdict> {
    match name {
        "nugpt-width" => {
            let (nu, ng) = (drift(a, WIDTH, "ngpt", "nugpt")?, drift(a, WIDTH, "ngpt", "sp")?);
            let (nu_ci, ng_ci) = (nu.drift_ci, ng.drift_ci);
            let outcome = match (nu_ci.bounds(), ng_ci.bounds()) {
                (Some((nlo, _)), Some((_, ghi))) if nlo > 2.0 || ghi <= 2.0 || ghi < nlo => Outcome::NotReproduced,
                (Some((_, nhi)), Some((glo, _))) if nhi <= 2.0 && glo > nhi => Outcome::Reproduced,
                _ => inconclusive(&[nu_ci, ng_ci]),
            };
            Some(Verdict { outcome, rule: WIDTH_RULE, evidence: format!("νGPT {}, nGPT {}", show_drift(nu), show_drift(ng)) })
        }
        "mup-transfer" => {
            let (mu, sp) = (drift(a, WIDTH, "gpt", "mup")?, drift(a, WIDTH, "gpt", "sp")?);
            let (mu_ci, sp_ci) = (mu.drift_ci, sp.drift_ci);
            let outcome = match (mu_ci.bounds(), sp_ci.bounds()) {
                (Some((mlo, _)), Some((_, shi))) if mlo > 2.0 || shi < mlo => Outcome::NotReproduced,
                (Some((_, mhi)), Some((slo, _))) if mhi <= 2.0 && slo > mhi => Outcome::Reproduced,
                _ => inconclusive(&[mu_ci, sp_ci]),
            };
            Some(Verdict { outcome, rule: MUP_RULE, evidence: format!("μP {}, SP {}", show_drift(mu), show_drift(sp)) })
        }
        "nugpt-depth" => {
            let (nu, ng) = (drift(a, DEPTH, "ngpt", "nugpt")?, drift(a, DEPTH, "ngpt", "sp")?);
            let cis = [nu.drift_ci, ng.drift_ci];
            let outcome = if cis.iter().any(|c| c.lo().is_some_and(|lo| lo > 2.0)) {
                Outcome::NotReproduced
            } else if cis.iter().all(|c| c.hi().is_some_and(|hi| hi <= 2.0)) {
                Outcome::Reproduced
            } else {
                inconclusive(&cis)
            };
            Some(Verdict { outcome, rule: DEPTH_RULE, evidence: format!("νGPT {}, nGPT {}", show_drift(nu), show_drift(ng)) })
        }
        "nugpt-horizon" => {
            let d = a.drifts.iter().find(|d| d.axis == STEPS && d.param == "nugpt" && d.scale_horizon != Some(true))?;
            let outcome = match d.slope_ci.bounds() {
                Some((lo, hi)) if lo > -0.2 || hi < -0.5 => Outcome::NotReproduced,
                Some((lo, hi)) if hi < 0.0 && lo <= -1.0 / 3.0 && -1.0 / 3.0 <= hi => Outcome::Reproduced,
                _ => inconclusive(&[d.slope_ci]),
            };
            let evidence = format!("slope {:+.3}, 95% {}", d.slope, d.slope_ci.show(|v| format!("{v:+.3}")));
            Some(Verdict { outcome, rule: HORIZON_RULE, evidence })
        }
        "ngpt-speedup" | "ngpt-fig1" => {
            let largest = largest_budget_speedups(a);
            if largest.is_empty() {
                return None;
            }
            let cis: Vec<Interval> = largest.iter().map(|r| r.ci).collect();
            let below_one = cis.iter().any(|c| c.hi().is_some_and(|hi| hi < 1.0));
            let above_one = cis.iter().all(|c| c.lo().is_some_and(|lo| lo > 1.0));
            // The intervals of S at the shortest and the longest context (nGPT: S grows with T).
            let ends = match (largest.first().and_then(|r| r.ci.bounds()), largest.last().and_then(|r| r.ci.bounds())) {
                (Some(short), Some(long)) if largest.len() >= 2 => Some((short, long)),
                _ => None,
            };
            let (rule, outcome) = if name == "ngpt-fig1" {
                (
                    SPEEDUP_RULE,
                    if below_one {
                        Outcome::NotReproduced
                    } else if above_one {
                        Outcome::Reproduced
                    } else {
                        inconclusive(&cis)
                    },
                )
            } else {
                let grows = largest.len() < 2 || ends.is_some_and(|(short, long)| long.0 > short.1);
                let shrinks = ends.is_some_and(|(short, long)| long.1 < short.0);
                let outcome = if below_one || shrinks {
                    Outcome::NotReproduced
                } else if above_one && grows {
                    Outcome::Reproduced
                } else {
                    inconclusive(&cis)
                };
                (CONTEXT_RULE, outcome)
            };
            let evidence = largest
                .iter()
                .map(|r| {
                    let ci = if r.censored >= 1.0 { "bound in every draw".into() } else { r.ci.show(|v| format!("{v:.2}×")) };
                    format!("T={} B={}: S {}{:.2}×, 95% {ci}", r.seq_len, r.s.budget_ref, r.s.reach.prefix(), r.s.speedup)
                })
                .collect::<Vec<_>>()
                .join("; ");
            Some(Verdict { outcome, rule, evidence })
        }
        "angpt-ladder" => {
            // anGPT with calibrated ν (the paper's method) against GPT+ at the ladder's budget.
            let plus = a.ladder.iter().find(|r| r.arch == "gpt_plus")?;
            let an = a.ladder.iter().find(|r| r.arch == "angpt" && r.flags.is_empty() && r.context == plus.context && r.seq_len == plus.seq_len)?;
            let (gain, ci) = gain_interval(&plus.per_seed, &an.per_seed, DRAWS)?;
            let outcome = match ci.bounds() {
                Some((lo, _)) if lo > 0.0 => Outcome::Reproduced,
                Some((_, hi)) if hi < 0.0 => Outcome::NotReproduced,
                _ => inconclusive(&[ci]),
            };
            let rungs = a
                .ladder
                .iter()
                .filter(|r| r.context == plus.context && r.seq_len == plus.seq_len)
                .skip(1)
                .filter_map(|r| Some(format!("{} {:+.2}% ({})", r.variant, r.gain_pct?, r.gain_ci.show(|g| format!("{g:+.2}%")))))
                .collect::<Vec<_>>()
                .join(", ");
            let evidence = format!("anGPT over GPT+ {gain:+.2}%, 95% {}; each rung over the first: {rungs}", ci.show(|g| format!("{g:+.2}%")));
            Some(Verdict { outcome, rule: LADDER_RULE, evidence })
        }
        _ => None,
    }
}

/// nGPT-over-GPT speedups at each context length's largest reference budget, by context length.
fn largest_budget_speedups(a: &Analysis) -> Vec<&SpeedupRow> {
    let rows: Vec<&SpeedupRow> = a.speedups.iter().filter(|s| s.var_arch == "ngpt" && s.ref_arch == "gpt").collect();
    let mut largest: Vec<&SpeedupRow> = rows
        .iter()
        .filter(|r| r.s.budget_ref == rows.iter().filter(|x| x.seq_len == r.seq_len).map(|x| x.s.budget_ref).fold(f64::MIN, f64::max))
        .cloned()
        .collect();
    largest.sort_by(|a, b| a.seq_len.total_cmp(&b.seq_len));
    largest
}

fn drift<'a>(a: &'a Analysis, axis: &str, arch: &str, param: &str) -> Option<&'a Drift> {
    a.drifts.iter().find(|d| d.axis == axis && d.arch == arch && d.param == param)
}

fn show_drift(d: &Drift) -> String {
    let bound = if d.points.iter().any(|p| p.2) { " (an η* is a grid-edge bound)" } else { "" };
    format!("{:.2}×, 95% {}{bound}", d.drift, d.drift_ci.show(|v| format!("{v:.2}×")))
}

fn inconclusive(cis: &[Interval]) -> Outcome {
    Outcome::Inconclusive { seeds: cis.iter().map(Interval::seeds).min().unwrap_or(0) }
}
