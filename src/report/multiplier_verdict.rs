//! The compute ladder's two verdicts, written before the ladder was run (docs/LOG.md,
//! 2026-12-06): anGPT ≈ 1.4× over GPT+ with the same exponent, nGPT > 1 and growing. Both read
//! the training-FLOPs axis at the lowest loss both frontiers reached.

use super::outcome::{Outcome, Verdict, inconclusive};
use super::{ComputeLadder, CostAxis};
use crate::analysis::compute_multiplier::exponent_ratio;

pub const ANGPT_RULE: &str = "anGPT over GPT+ in training FLOPs at the lowest loss both reached: reproduced when M's 95% lower bound is ≥ 1.2 (the paper's ≈ 1.4×; variants.md §8.2 accepts ≥ 1.2) and the interval of the exponent ratio α_anGPT/α_GPT+ lies within [0.8, 1.25] (the same exponent); not reproduced when M's upper bound is < 1.2 or the ratio's interval lies entirely outside [0.8, 1.25].";
pub const NGPT_RULE: &str = "nGPT over GPT in training FLOPs: reproduced when M's 95% lower bound at the lowest loss both reached is > 1 and the slope d ln M / d ln C has a lower bound > 0 (the advantage grows with compute); not reproduced when M's upper bound there is < 1 or the slope's upper bound is < 0.";

/// The ratio band that counts as "the same exponent".
const SAME_EXPONENT: (f64, f64) = (0.8, 1.25);

fn by_arch<'a>(l: &'a ComputeLadder, a: &str) -> Option<&'a str> {
    l.variants.iter().find(|v| v.arch == a).map(|v| v.label.as_str())
}

/// anGPT over GPT+ (`None` when the ladder lacks either).
pub fn angpt_verdict(l: &ComputeLadder) -> Option<Verdict> {
    let (an, plus) = (by_arch(l, "angpt")?, by_arch(l, "gpt_plus")?);
    let c = l.comparison(an, plus, CostAxis::Flops)?;
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
        Some(Verdict { title: "anGPT over GPT+ (compute multiplier)".into(), outcome, rule: ANGPT_RULE.into(), evidence, power: None })
    }
}

/// nGPT over GPT (`None` when the ladder lacks either).
pub fn ngpt_verdict(l: &ComputeLadder) -> Option<Verdict> {
    let (ng, gpt) = (by_arch(l, "ngpt")?, by_arch(l, "gpt")?);
    let c = l.comparison(ng, gpt, CostAxis::Flops)?;
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
        Some(Verdict { title: "nGPT over GPT (compute multiplier)".into(), outcome, rule: NGPT_RULE.into(), evidence, power: None })
    }
}
