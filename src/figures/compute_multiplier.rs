//! `normlab figure compute-multiplier`: the compute ladder's frontiers with their fitted laws
//! and the multiplier M(L) over GPT, with two verdict rules written before the ladder was run
//! (docs/LOG.md, 2026-12-06): anGPT ≈ 1.4× over GPT+ with the same exponent, nGPT > 1 and
//! growing. Both read the training-FLOPs axis at the lowest loss both frontiers reached.

use super::verdict::{Outcome, Verdict};
use super::{Figure, write_snippet};
use crate::analysis::bootstrap::Interval;
use crate::analysis::compute_multiplier::exponent_ratio;
use crate::report::{Analysis, ComputeLadder, CostAxis, save_charts};
use anyhow::{Result, bail};
use std::path::Path;

pub const ANGPT_RULE: &str = "anGPT over GPT+ in training FLOPs at the lowest loss both reached: reproduced when M's 95% lower bound is ≥ 1.2 (the paper's ≈ 1.4×; variants.md §8.2 accepts ≥ 1.2) and the interval of the exponent ratio α_anGPT/α_GPT+ lies within [0.8, 1.25] (the same exponent); not reproduced when M's upper bound is < 1.2 or the ratio's interval lies entirely outside [0.8, 1.25].";
pub const NGPT_RULE: &str = "nGPT over GPT in training FLOPs: reproduced when M's 95% lower bound at the lowest loss both reached is > 1 and the slope d ln M / d ln C has a lower bound > 0 (the advantage grows with compute); not reproduced when M's upper bound there is < 1 or the slope's upper bound is < 0.";

/// The ratio band that counts as "the same exponent".
const SAME_EXPONENT: (f64, f64) = (0.8, 1.25);

fn inconclusive(cis: &[Interval]) -> Outcome {
    Outcome::Inconclusive { seeds: cis.iter().map(Interval::seeds).min().unwrap_or(0) }
}

/// The two verdicts, each `None` when the ladder lacks its variants.
pub fn verdicts(l: &ComputeLadder) -> Vec<Verdict> {
    let by_arch = |a: &str| l.variants.iter().find(|v| v.arch == a).map(|v| v.label.as_str());
    let mut out = Vec::new();
    if let (Some(an), Some(plus)) = (by_arch("angpt"), by_arch("gpt_plus"))
        && let Some(c) = l.comparison(an, plus, CostAxis::Flops)
    {
        let laws = (
            l.variant(plus).and_then(|v| v.axis(CostAxis::Flops).fit.as_ref().ok()),
            l.variant(an).and_then(|v| v.axis(CostAxis::Flops).fit.as_ref().ok()),
        );
        let ratio = match laws {
            (Some(r), Some(v)) => exponent_ratio(r, v),
            _ => None,
        };
        let (outcome, evidence) = match (&c.common, &ratio, &c.note) {
            (Some(m), Some((rho, rci)), None) => {
                let (mb, rb) = (m.ci.bounds(), rci.bounds());
                let inside = rb.is_some_and(|(lo, hi)| lo >= SAME_EXPONENT.0 && hi <= SAME_EXPONENT.1);
                let outside = rb.is_some_and(|(lo, hi)| hi < SAME_EXPONENT.0 || lo > SAME_EXPONENT.1);
                let outcome = if mb.is_some_and(|b| b.1 < 1.2) || outside {
                    Outcome::NotReproduced
                } else if mb.is_some_and(|b| b.0 >= 1.2) && inside {
                    Outcome::Reproduced
                } else {
                    inconclusive(&[m.ci, *rci])
                };
                let ev = format!(
                    "M {:.2}× (95% {}) at loss {:.4}; α ratio {rho:.2} (95% {})",
                    m.m,
                    m.ci.show(|v| format!("{v:.2}×")),
                    m.level,
                    rci.show(|v| format!("{v:.2}"))
                );
                (outcome, ev)
            }
            _ => (Outcome::Inconclusive { seeds: l.seeds.len() }, c.note.clone().unwrap_or("no multiplier or no exponent ratio".into())),
        };
        out.push(Verdict { outcome, rule: ANGPT_RULE, evidence });
    }
    if let (Some(ng), Some(gpt)) = (by_arch("ngpt"), by_arch("gpt"))
        && let Some(c) = l.comparison(ng, gpt, CostAxis::Flops)
    {
        let (outcome, evidence) = match (&c.common, &c.trend, &c.note) {
            (Some(m), Some((slope, sci)), None) => {
                let (mb, sb) = (m.ci.bounds(), sci.bounds());
                let outcome = if mb.is_some_and(|b| b.1 < 1.0) || sb.is_some_and(|b| b.1 < 0.0) {
                    Outcome::NotReproduced
                } else if mb.is_some_and(|b| b.0 > 1.0) && sb.is_some_and(|b| b.0 > 0.0) {
                    Outcome::Reproduced
                } else {
                    inconclusive(&[m.ci, *sci])
                };
                let ev = format!(
                    "M {:.2}× (95% {}) at loss {:.4}; slope {slope:+.3} (95% {})",
                    m.m,
                    m.ci.show(|v| format!("{v:.2}×")),
                    m.level,
                    sci.show(|v| format!("{v:+.3}"))
                );
                (outcome, ev)
            }
            (Some(m), None, None) => (
                inconclusive(&[m.ci]),
                format!("M {:.2}× (95% {}); no slope: fewer than 2 levels both reached", m.m, m.ci.show(|v| format!("{v:.2}×"))),
            ),
            _ => (Outcome::Inconclusive { seeds: l.seeds.len() }, c.note.clone().unwrap_or("no multiplier at a loss both reached".into())),
        };
        out.push(Verdict { outcome, rule: NGPT_RULE, evidence });
    }
    out
}

/// The check of the LR rule at the largest size, from the LR sweep beside the ladder (when run).
fn lr_check(ladder_dir: &Path) -> String {
    let dir = ladder_dir.with_file_name("compute-ladder-lr");
    let Ok(a) = Analysis::load(&dir) else {
        return format!(
            "LR check: {} has no results; `normlab sweep compute-ladder-lr.toml` runs the rule's check at the base and the largest size.\n\n",
            dir.display()
        );
    };
    let mut md = format!("LR check ({}): η* per variant at the base and the largest size under the ladder's rule, 95% intervals.\n\n", dir.display());
    for d in a.drifts.iter().filter(|d| d.axis == crate::analysis::runs::WIDTH) {
        let pts: Vec<String> = d
            .points
            .iter()
            .zip(&d.eta_ci)
            .map(|(p, ci)| {
                format!("d={}: {}{}", p.0, if p.2 { "bound " } else { "" }, crate::plot::fmt_sci(p.1))
                    + &format!(" ({})", ci.show(crate::plot::fmt_sci))
            })
            .collect();
        md += &format!("- {}: {}; drift {:.2}× (95% {})\n", d.label, pts.join(", "), d.drift, d.drift_ci.show(|v| format!("{v:.2}×")));
    }
    md + "\n"
}

pub fn draw(fig: &Figure, dir: &Path, dest: &Path) -> Result<()> {
    let a = Analysis::load(dir)?;
    let l = match &a.compute_ladder {
        Some(Ok(l)) => l,
        Some(Err(why)) => bail!("{}: {why}", dir.display()),
        None => bail!(
            "{} is not a compute ladder: figure {} needs sizes and budgets that both vary and runs that recorded flops_per_step (sweeps/{})",
            dir.display(),
            fig.name,
            fig.sweep
        ),
    };
    let pngs = save_charts(&l.charts(), dest)?;
    let mut md = String::new();
    for v in verdicts(l) {
        md += &v.markdown();
    }
    md += &lr_check(dir);
    md += &l.markdown();
    write_snippet(fig, dir, dest, &pngs, &md)
}
