//! Verdicts from intervals. "reproduced" only when the intervals support a claim, "not
//! reproduced" when they contradict it, "inconclusive at n seeds" otherwise (every one-seed
//! sweep, whose intervals are unavailable, included). The rule text is printed with each.
//!
//! Which verdicts a sweep gets follows from its data, not from a figure's name:
//! - **a parameterization's transfer claim** (`VerdictKind::Claim`), for every swept axis and
//!   every parameterization in the sweep that claims something along it (param::claims): its
//!   rule, translated into each family's multipliers, predicts each family's exponent, hence
//!   whether it transfers; each family's own verdict comes from the declared tolerances
//!   (analysis::transfer);
//! - **nGPT's steps-to-loss speedup** over GPT at the largest budget, alone or along the
//!   context length, when the sweep has budgets;
//! - **anGPT over GPT+** on the ablation ladder, when the sweep compares those variants;
//! - **the compute multipliers** of a compute ladder (multiplier_verdict.rs).
//!
//! The figure registry names the kind each figure reads; report.md and report.html show all.

use super::outcome::inconclusive;
pub use super::outcome::{Outcome, Verdict};
use crate::analysis::bootstrap::{DRAWS, Interval, gain_interval};
use crate::analysis::transfer::{TransferOutcome, rule_text};
use crate::config::ParamName;
use crate::param::claims::{ClaimSetting, ScaledAxis, claim, fmt_exp, hidden_lr_exponent};
use crate::report::{Analysis, Drift, SpeedupRow};
/// Which verdict a figure reads (data in the figure registry, not a branch on its name).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VerdictKind {
    /// `claimant`'s transfer claim along the config column `axis`.
    Claim { axis: &'static str, claimant: ParamName },
    /// nGPT over GPT: S > 1 at the largest budget at every context length.
    SpeedupLargestBudget,
    /// The same, and S growing with the context length.
    SpeedupContext,
    /// anGPT's paired loss gain over GPT+.
    Ladder,
    /// The compute ladder: anGPT's multiplier over GPT+ with the same exponent.
    MultiplierAnGpt,
    /// The compute ladder: nGPT's multiplier over GPT, growing with compute.
    MultiplierNGpt,
}

const SPEEDUP_RULE: &str = "reproduced when the lower bound of S (nGPT over GPT) at the largest budget is > 1 at every context length; not reproduced when the upper bound is < 1 at some context length.";
const CONTEXT_RULE: &str = "at the largest budget: reproduced when S's lower bound is > 1 at every context length and, with ≥ 2 context lengths, S at the longest lies above S at the shortest (its lower bound above the other's upper bound); not reproduced when S's upper bound is < 1 at some context length or S at the longest lies below S at the shortest (its upper bound below the other's lower bound).";
const LADDER_RULE: &str = "the paper's headline is anGPT ahead of GPT+ (1.4× fewer steps, so a lower loss at one budget): reproduced when the 95% interval of anGPT's loss gain over GPT+ (seeds paired) lies above 0; not reproduced when it lies below 0.";

/// Every verdict the sweep's data support, in a stable order (claims, speedups, ladder).
pub fn all_verdicts(a: &Analysis) -> Vec<(VerdictKind, Verdict)> {
    let mut kinds: Vec<VerdictKind> = Vec::new();
    for axis in a.axes() {
        let Some(axis) = crate::analysis::runs::AXES.iter().find(|k| **k == axis) else { continue };
        for &p in ParamName::ALL {
            kinds.push(VerdictKind::Claim { axis, claimant: p });
        }
    }
    // A compute ladder's speedups are per size at one context: the context rule would read its
    // sizes as repeated contexts, and the multiplier verdicts answer the speedup question there.
    if !matches!(a.compute_ladder, Some(Ok(_))) {
        kinds.push(VerdictKind::SpeedupContext);
    }
    kinds.extend([VerdictKind::Ladder, VerdictKind::MultiplierAnGpt, VerdictKind::MultiplierNGpt]);
    let mut out: Vec<(VerdictKind, Verdict)> = Vec::new();
    for k in kinds {
        let Some(v) = verdict(k, a) else { continue };
        // Claimants whose rules predict the same thing share one verdict (μP's and SP's width
        // rule are both η_hidden ∝ 1/width).
        if let Some(same) = out.iter_mut().find(|(_, w)| w.evidence == v.evidence && w.outcome == v.outcome) {
            same.1.title = same.1.title.replacen("'s claim along", &format!("'s and {}'s claims along", claimant_of(k)), 1);
            continue;
        }
        out.push((k, v));
    }
    out
}

fn claimant_of(k: VerdictKind) -> String {
    match k {
        VerdictKind::Claim { claimant, .. } => claimant.to_string(),
        _ => String::new(),
    }
}

/// The verdict of `kind` on this sweep, or `None` when its data are not in the sweep.
pub fn verdict(kind: VerdictKind, a: &Analysis) -> Option<Verdict> {
    match kind {
        VerdictKind::Claim { axis, claimant } => claim_verdict(a, axis, claimant),
        VerdictKind::SpeedupLargestBudget | VerdictKind::SpeedupContext => speedup_verdict(a, kind == VerdictKind::SpeedupContext),
        VerdictKind::Ladder => ladder_verdict(a),
        VerdictKind::MultiplierAnGpt => super::multiplier_verdict::angpt_verdict(a.compute_ladder.as_ref()?.as_ref().ok()?),
        VerdictKind::MultiplierNGpt => super::multiplier_verdict::ngpt_verdict(a.compute_ladder.as_ref()?.as_ref().ok()?),
    }
}

/// What `claimant`'s rule expects of one family: its exponent and hence its outcome.
struct Expectation<'a> {
    drift: &'a Drift,
    exponent: f64,
    outcome: TransferOutcome,
}

fn claim_verdict(a: &Analysis, axis: &'static str, claimant: ParamName) -> Option<Verdict> {
    let scaled = ScaledAxis::of_key(axis)?;
    let tol = a.tolerances;
    let setting = |d: &Drift| Some(ClaimSetting { arch: super::transfer::parse_arch(&d.arch)?, scale_horizon: d.scale_horizon.unwrap_or(true) });
    let families: Vec<&Drift> = a.drifts.iter().filter(|d| d.axis == axis).collect();
    // The claimant must have run in this sweep, and its rule must speak to each family's arch.
    if !families.iter().any(|d| d.param == claimant.as_str()) {
        return None;
    }
    let expectations: Vec<Expectation> = families
        .iter()
        .filter_map(|d| {
            let s = setting(d)?;
            let k = claim(claimant, s, scaled)?;
            let param = super::transfer::parse_param(&d.param)?;
            let exponent = k.exponent + hidden_lr_exponent(claimant, s, scaled) - hidden_lr_exponent(param, s, scaled);
            let outcome = if exponent.abs() <= tol.slope_tol { TransferOutcome::Transfers } else { TransferOutcome::DoesNotTransfer };
            Some(Expectation { drift: d, exponent, outcome })
        })
        .collect();
    if expectations.is_empty() {
        return None;
    }
    let slope_ci = |e: &Expectation| e.drift.transfer.exponent.as_ref().ok().and_then(|x| x.interval.bounds());
    let contains = |e: &Expectation| slope_ci(e).is_some_and(|(lo, hi)| lo <= e.exponent && e.exponent <= hi);
    let excludes = |e: &Expectation| slope_ci(e).is_some_and(|(lo, hi)| e.exponent < lo || e.exponent > hi);
    let decisive = |o: TransferOutcome| !matches!(o, TransferOutcome::Inconclusive { .. });
    let met = |e: &Expectation| e.drift.transfer.outcome == e.outcome && (e.outcome == TransferOutcome::Transfers || contains(e));
    let against = |e: &Expectation| {
        let o = e.drift.transfer.outcome;
        (decisive(o) && o != e.outcome) || (e.outcome == TransferOutcome::DoesNotTransfer && excludes(e))
    };
    let seeds = expectations.iter().map(|e| e.drift.transfer.exponent.as_ref().map_or(0, |x| x.interval.seeds())).min().unwrap_or(0);
    let outcome = if expectations.iter().any(against) {
        Outcome::NotReproduced
    } else if expectations.iter().all(met) {
        Outcome::Reproduced
    } else {
        Outcome::Inconclusive { seeds }
    };
    let axis_name = crate::analysis::runs::short_key(axis);
    let expected: Vec<String> = expectations.iter().map(|e| format!("{} {} ({})", e.drift.label, e.outcome, fmt_exp(e.exponent))).collect();
    let rule = format!(
        "{claimant}'s claim along {axis_name}, translated into each family's multipliers, expects: {}. Reproduced when every family's verdict is the expected one and each expected non-zero exponent lies in its interval; not reproduced when a family's verdict is decisive the other way or its interval excludes the expected non-zero exponent; inconclusive otherwise. Each family's verdict: {}; tolerances: {}.",
        expected.join("; "),
        rule_text(tol),
        a.tolerance_source
    );
    let evidence = expectations.iter().map(|e| family_evidence(e.drift)).collect::<Vec<_>>().join("; ");
    let power: Vec<String> = expectations
        .iter()
        .filter(|e| !met(e) && !against(e))
        .filter_map(|e| Some(format!("{}: {}", e.drift.label, e.drift.transfer.power.as_ref()?)))
        .collect();
    let power = (!power.is_empty() && matches!(outcome, Outcome::Inconclusive { .. })).then(|| power.join("; "));
    Some(Verdict { title: format!("{claimant}'s claim along {axis_name}"), outcome, rule, evidence, power })
}

/// One family's transfer numbers, as the verdicts print them.
pub fn family_evidence(d: &Drift) -> String {
    let t = &d.transfer;
    let exp = match &t.exponent {
        Ok(e) => format!("exponent {:+.3}, 95% {}", e.slope, e.interval.show(|v| format!("{v:+.3}"))),
        Err(why) => format!("no exponent ({why})"),
    };
    let regrets: Vec<String> = t
        .regrets
        .iter()
        .map(|r| {
            let ci = r.pct_ci.show(|v| format!("{v:.2}%"));
            format!("regret {}→{} {:.2}% ({ci}; {})", fmt_num(r.x_base), fmt_num(r.x), r.pct, r.source.describe())
        })
        .chain(t.regret_missing.iter().map(|(x, why)| format!("no regret at {} ({why})", fmt_num(*x))))
        .collect();
    format!("{}: {} ({exp}; {})", d.label, t.outcome, regrets.join(", "))
}

fn fmt_num(x: f64) -> String {
    crate::plot::fmt_num(x)
}

fn speedup_verdict(a: &Analysis, context: bool) -> Option<Verdict> {
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
    let (rule, outcome) = if !context {
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
    let title = if context { "nGPT's speedup over GPT along the context" } else { "nGPT's speedup over GPT at the largest budget" };
    Some(Verdict { title: title.into(), outcome, rule: rule.into(), evidence, power: None })
}

fn ladder_verdict(a: &Analysis) -> Option<Verdict> {
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
    Some(Verdict { title: "anGPT over GPT+ (ablation ladder)".into(), outcome, rule: LADDER_RULE.into(), evidence, power: None })
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
