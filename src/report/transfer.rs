//! The transfer statistics of each (family, axis) of an LR sweep: the exponent of η* against
//! the named predictions of the parameterizations (param::claims), the paired regret from the
//! smallest size to each larger one, and the verdict under the sweep's declared tolerances
//! (analysis::transfer holds the statistics; this file only feeds them the sweep's groups).

use super::*;
use crate::analysis::transfer::{self, SizeRuns};
use crate::config::{ArchName, ParamName};
use crate::param::claims::{ClaimSetting, ScaledAxis, fmt_exp, predictions};

/// Never transfer axes: they name the variant, not a size.
fn is_variant_key(key: &str, param: Option<&str>) -> bool {
    key == ARCH || Some(key) == param || key.starts_with("cfg.param.") || key.starts_with("cfg.model.norm.")
}

impl Analysis {
    /// The swept axes: every group key whose values are all numbers, other than the variant's
    /// keys (architecture, parameterization, switches) — width, depth and steps first, then
    /// anything else a sweep varies (batch size, weight decay, …).
    pub fn axes(&self) -> Vec<String> {
        let param = self.keys.iter().find(|k| short_key(k) == "param").map(String::as_str);
        let mut axes: Vec<String> = self
            .keys
            .iter()
            .enumerate()
            .filter(|(_, k)| !is_variant_key(k, param))
            .filter(|(i, _)| self.runs.iter().all(|r| r.key[*i].is_empty() || r.key[*i].parse::<f64>().is_ok()))
            .map(|(_, k)| k.clone())
            .collect();
        axes.sort_by_key(|k| AXES.iter().position(|a| a == k).unwrap_or(AXES.len()));
        axes
    }

    /// `sizes`: (axis value, its LR group), sorted by value, at least two.
    pub(super) fn transfer_of(&self, sizes: &[(f64, &LrGroup)], axis: &str, arch: &str, param: &str, scale_horizon: Option<bool>) -> Transfer {
        let runs: Vec<SizeRuns> = sizes.iter().map(|(x, g)| SizeRuns { x: *x, seeds: g.per_seed.clone() }).collect();
        let exponent = transfer::exponent(&runs, BOOTSTRAP_DRAWS);
        let mut regrets = Vec::new();
        let mut regret_missing = Vec::new();
        for big in &runs[1..] {
            match transfer::regret(&runs[0], big, BOOTSTRAP_DRAWS) {
                Ok(r) => regrets.push(r),
                Err(why) => regret_missing.push((big.x, why)),
            }
        }
        let t = self.tolerances;
        let outcome = transfer::verdict(&regrets, exponent.as_ref().ok(), t);
        let power = matches!(outcome, TransferOutcome::Inconclusive { .. })
            .then(|| transfer::power_note(&regrets, exponent.as_ref().ok(), t, &short_key(axis)));
        let extrapolation = exponent.as_ref().ok().map(|e| {
            let x = 10.0 * sizes.last().map_or(1.0, |s| s.0);
            let (eta, ci) = e.predict(x);
            (x, eta, ci)
        });
        let predictions = match (ScaledAxis::of_key(axis), parse_arch(arch), parse_param(param)) {
            (Some(ax), Some(a), Some(p)) => predictions(p, ClaimSetting { arch: a, scale_horizon: scale_horizon.unwrap_or(true) }, ax),
            // No parameterization scales this axis: the one prediction is that η* stays put.
            _ => vec![Prediction { name: "η* unchanged (no parameterization scales this axis)".into(), exponent: 0.0, own: true }],
        };
        Transfer { exponent, predictions, regrets, regret_missing, outcome, power, extrapolation }
    }
}

pub(super) fn parse_arch(s: &str) -> Option<ArchName> {
    ArchName::ALL.iter().copied().find(|a| a.as_str() == s)
}

pub(super) fn parse_param(s: &str) -> Option<ParamName> {
    ParamName::ALL.iter().copied().find(|p| p.as_str() == s)
}

impl Analysis {
    /// The families along `axis` (every axis: `None`) whose architecture `keep` accepts.
    pub fn families<'a>(&'a self, axis: Option<&'a str>, keep: &'a dyn Fn(&str) -> bool) -> impl Iterator<Item = &'a Drift> + 'a {
        self.drifts.iter().filter(move |d| axis.is_none_or(|a| a == d.axis) && keep(&d.arch))
    }

    /// Per family along `axis` (or every axis): the exponent against the named predictions, the
    /// regrets, the verdict under the declared tolerances and what would decide it.
    pub fn transfer_table(&self, axis: Option<&str>, keep: &dyn Fn(&str) -> bool) -> String {
        let headers =
            ["axis", "family", "exponent", "95%", "predictions (✗ = excluded)", "regret from the smallest size", "verdict", "what would decide it"]
                .map(String::from);
        let rows: Vec<Vec<String>> = self
            .families(axis, keep)
            .map(|d| {
                let t = &d.transfer;
                let (exp, ci, preds) = match &t.exponent {
                    Ok(e) => {
                        let bounds = e.interval.bounds();
                        let preds: Vec<String> = t
                            .predictions
                            .iter()
                            .map(|p| {
                                let out = bounds.is_some_and(|(lo, hi)| p.exponent < lo || p.exponent > hi);
                                format!("{}{} {}", if out { "✗ " } else { "" }, fmt_exp(p.exponent), p.name)
                            })
                            .collect();
                        let mut exp = format!("{:+.3}", e.slope);
                        for (x, why) in &e.excluded {
                            exp += &format!(" (without {}={}: {why})", short_key(&d.axis), fmt_num(*x));
                        }
                        (exp, e.interval.show(|v| format!("{v:+.3}")), preds.join("; "))
                    }
                    Err(why) => (format!("none: {why}"), "—".into(), "—".into()),
                };
                let regrets: Vec<String> = t
                    .regrets
                    .iter()
                    .map(|r| {
                        format!(
                            "{}→{}: {:.2}% ({}; {:.4} nats; {})",
                            fmt_num(r.x_base),
                            fmt_num(r.x),
                            r.pct,
                            r.pct_ci.show(|v| format!("{v:.2}%")),
                            r.nats,
                            r.source.describe()
                        )
                    })
                    .chain(t.regret_missing.iter().map(|(x, why)| format!("{}: {why}", fmt_num(*x))))
                    .collect();
                vec![
                    short_key(&d.axis),
                    d.label.clone(),
                    exp,
                    ci,
                    preds,
                    regrets.join("; "),
                    t.outcome.to_string(),
                    t.power.clone().unwrap_or_else(|| "—".into()),
                ]
            })
            .collect();
        let mut md = md_table(&headers, &rows);
        md += &format!(
            "\nExponent: ln η* = c + s·ln x over every size, each weighted by its η*'s precision (seed variance + what the LR placement cannot resolve); regret: loss at the larger size at the smallest size's η* minus its best, within each seed. Tolerances: regret ≤ {}% of the best loss, |s| ≤ {}; {}.\n",
            100.0 * self.tolerances.regret_tol,
            self.tolerances.slope_tol,
            self.tolerance_source
        );
        for d in self.families(axis, keep) {
            if let (Some((x, eta, ci)), Some(STEPS)) = (d.transfer.extrapolation, Some(d.axis.as_str())) {
                md += &format!(
                    "\n{}: the fitted law η* ∝ steps^{:+.3} predicts η* = {:.3e} at {} steps (10× the longest; an extrapolation), 95% {}.\n",
                    d.label,
                    d.transfer.exponent.as_ref().map_or(f64::NAN, |e| e.slope),
                    eta,
                    fmt_num(x),
                    ci.show(|v| format!("{v:.3e}"))
                );
            }
        }
        md
    }
}
