//! Derivation: the merged table → η* per group, drifts, speedups and the ablation ladder.

use super::*;

pub(super) fn bits(x: f64) -> u64 {
    x.to_bits()
}

pub(super) fn unbits(b: u64) -> f64 {
    f64::from_bits(b)
}

/// (variant key indices, context key indices) of the group keys: the variant is the
/// architecture, the parameterization and the architecture switches; the context is every
/// other key except the budget and the sequence length.
pub(super) fn split_keys(keys: &[String]) -> (Vec<usize>, Vec<usize>) {
    let mut v = Vec::new();
    let mut c = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        if k == ARCH || k.starts_with("cfg.param") || k.starts_with("cfg.model.norm.") {
            v.push(i);
        } else if k != STEPS && k != SEQ_LEN {
            c.push(i);
        }
    }
    (v, c)
}

pub(super) fn pick<T: Clone>(v: &[T], idx: &[usize]) -> Vec<T> {
    idx.iter().map(|&i| v[i].clone()).collect()
}

/// The best LR of one budget: lowest seed-mean loss (a diverged seed makes its LR +∞);
/// returns that LR's [(seed, loss)].
pub(super) fn best_at_budget(by_lr: &BTreeMap<u64, Vec<(f64, f64)>>) -> Option<(f64, Vec<(f64, f64)>)> {
    by_lr
        .iter()
        .map(|(lr, v)| (unbits(*lr), v.clone(), v.iter().map(|p| p.1).sum::<f64>() / v.len() as f64))
        .min_by(|a, b| {
            let (x, y) = (if a.2.is_nan() { f64::INFINITY } else { a.2 }, if b.2.is_nan() { f64::INFINITY } else { b.2 });
            x.partial_cmp(&y).unwrap()
        })
        .map(|(lr, v, _)| (lr, v))
}

/// Per seed: [(budget, loss at the budget's best LR)].
pub(super) fn seed_curves(t: &BudgetTable) -> Vec<Vec<(f64, f64)>> {
    let mut by_seed: BTreeMap<u64, Vec<(f64, f64)>> = BTreeMap::new();
    for (b, by_lr) in t {
        if let Some((_, pts)) = best_at_budget(by_lr) {
            for (seed, loss) in pts {
                by_seed.entry(bits(seed)).or_default().push((unbits(*b), loss));
            }
        }
    }
    by_seed.into_values().collect()
}

/// (budget, seed-mean loss at the best LR) and the seed std, per budget.
pub(super) fn mean_curve(t: &BudgetTable) -> Vec<(f64, f64, Option<f64>, usize, f64)> {
    t.iter()
        .filter_map(|(b, by_lr)| {
            let (lr, pts) = best_at_budget(by_lr)?;
            let losses: Vec<f64> = pts.iter().map(|p| p.1).collect();
            let mean = losses.iter().sum::<f64>() / losses.len() as f64;
            Some((unbits(*b), mean, std(&losses), losses.len(), lr))
        })
        .collect()
}

/// The reference for a variant: GPT+ for anGPT (when present), else GPT, else GPT+; among
/// several variants of that architecture, the one with fewest switches set.
pub(super) fn reference_for<'a>(var_arch: &str, variants: &'a Variants) -> Option<&'a str> {
    let has = |a: &str| variants.values().any(|v| v.0 == a);
    let ref_arch = if var_arch == "angpt" && has("gpt_plus") {
        "gpt_plus"
    } else if has("gpt") {
        "gpt"
    } else if has("gpt_plus") {
        "gpt_plus"
    } else {
        return None;
    };
    variants.iter().filter(|(_, v)| v.0 == ref_arch).min_by_key(|(_, v)| v.1.len()).map(|(k, _)| k.as_str())
}

pub(super) fn ladder_rank(arch: &str, flags: &[String]) -> f64 {
    let f = |n: &str| flags.iter().any(|x| x == n);
    match arch {
        "gpt" => 0.0,
        "gpt_plus" if f("no_qk_norm") => 1.0,
        "gpt_plus" => 2.0,
        "ngpt" if f("norm_at_most_one") => 3.5,
        "ngpt" => 3.0,
        "angpt" => 5.0,
        _ => 6.0,
    }
}

impl Analysis {
    /// Read `dir/results.parquet` (and `curves.parquet` when present) and derive everything.
    pub fn load(dir: &Path) -> Result<Self> {
        let path = crate::sweep::merge::results_path(dir);
        if !path.exists() {
            anyhow::bail!("no {} (run `normlab sweep merge {}` first)", path.display(), dir.display());
        }
        let df = read_parquet(&path)?;
        let keys = group_keys(&df)?;
        let runs = runs::runs(&df, &keys)?;
        let curves = read_curves(&crate::sweep::merge::curves_path(dir)).unwrap_or_default();
        let (tolerances, tolerance_source) = match crate::sweep::spec::declared_transfer(dir) {
            Some(t) => (t.tolerances(), format!("declared in {} before the data", dir.join("sweep.toml").display())),
            None => (DEFAULT_TOLERANCES, "the defaults (README, Statistics): the sweep declares no [transfer]".to_string()),
        };
        let mut a = Analysis {
            dir: dir.to_path_buf(),
            keys,
            runs,
            lr_sweep: false,
            lr: Vec::new(),
            drifts: Vec::new(),
            speedups: Vec::new(),
            ladder: Vec::new(),
            tolerances,
            tolerance_source,
            compute_ladder: None,
            comparisons: Vec::new(),
            curves,
        };
        a.lr_transfer();
        a.comparisons();
        a.compute_ladder = ComputeLadder::derive(&a).transpose();
        Ok(a)
    }

    pub(super) fn lr_transfer(&mut self) {
        let mut groups: BTreeMap<Vec<String>, Vec<&Run>> = BTreeMap::new();
        for r in &self.runs {
            groups.entry(r.key.clone()).or_default().push(r);
        }
        self.lr_sweep = groups.values().any(|rs| rs.iter().map(|r| bits(r.lr)).collect::<BTreeSet<_>>().len() >= 2);
        if !self.lr_sweep {
            return;
        }
        for (key, rs) in &groups {
            // A group run at one LR only (e.g. the fixed-LR budgets of a speedup sweep) has no η*.
            if rs.iter().map(|r| bits(r.lr)).collect::<BTreeSet<_>>().len() < 2 {
                continue;
            }
            let data: Vec<&&Run> = rs.iter().filter(|r| r.is_data()).collect();
            // Seeds are the resampling unit of the bootstrap (analysis::bootstrap).
            let mut by_seed: BTreeMap<u64, Vec<(f64, f64)>> = BTreeMap::new();
            for r in &data {
                by_seed.entry(r.seed as u64).or_default().push((r.lr, r.loss));
            }
            let per_seed: Vec<(u64, Vec<(f64, f64)>)> = by_seed.into_iter().collect();
            let boot = optimum_boot(&per_seed.iter().map(|s| s.1.clone()).collect::<Vec<_>>(), BOOTSTRAP_DRAWS);
            let mut by_lr: BTreeMap<u64, Vec<f64>> = BTreeMap::new();
            for r in &data {
                by_lr.entry(bits(r.lr)).or_default().push(if r.loss.is_finite() { r.loss } else { f64::INFINITY });
            }
            let mut curve: Vec<(f64, f64)> = by_lr.into_iter().map(|(lr, v)| (unbits(lr), v.iter().sum::<f64>() / v.len() as f64)).collect();
            curve.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap());
            self.lr.push(LrGroup {
                key: key.clone(),
                label: label(&self.keys, key),
                arch: rs[0].arch.clone(),
                param: rs[0].param.clone(),
                opt: boot.opt.clone(),
                curve,
                runs: data.len(),
                diverged_runs: data.iter().filter(|r| r.status == "diverged").count(),
                missing: rs.len() - data.len(),
                seeds: boot.seeds,
                eta_ci: boot.eta,
                loss_ci: boot.loss,
                boot,
                per_seed,
            });
        }
        self.lr.sort_by(|a, b| natural_cmp(&a.key, &b.key));
        for axis in self.axes() {
            let Some(ai) = self.keys.iter().position(|k| *k == axis) else { continue };
            let mut fams: BTreeMap<Vec<String>, Vec<&LrGroup>> = BTreeMap::new();
            for g in &self.lr {
                let mut f = g.key.clone();
                f[ai] = String::new();
                fams.entry(f).or_default().push(g);
            }
            for (fam, gs) in fams {
                // Every size enters the transfer statistics, which name the ones they cannot use.
                let mut sizes: Vec<(f64, &LrGroup)> = gs.iter().filter_map(|g| Some((g.key[ai].parse::<f64>().ok()?, *g))).collect();
                sizes.sort_by(|a, b| a.0.total_cmp(&b.0));
                if sizes.len() < 2 {
                    continue;
                }
                let sh = self.runs.iter().find(|r| gs.iter().any(|g| g.key == r.key)).and_then(|r| r.scale_horizon);
                let transfer = self.transfer_of(&sizes, &axis, &gs[0].arch, &gs[0].param, sh);
                let members: Vec<(f64, &LrGroup)> = sizes.iter().filter(|(_, g)| g.opt.is_some()).cloned().collect();
                let points: Vec<(f64, f64, bool, f64)> = members
                    .iter()
                    .map(|(x, g)| {
                        let o = g.opt.as_ref().expect("filtered above");
                        (*x, o.eta_star, o.at_edge(), o.loss_star)
                    })
                    .collect();
                let boots: Vec<(f64, &OptimumBoot)> = members.iter().map(|(x, g)| (*x, &g.boot)).collect();
                let unavailable = Interval::Unavailable { seeds: 0 };
                let (drift, drift_ci, slope, slope_ci) = axis_intervals(&boots).unwrap_or((f64::NAN, unavailable, f64::NAN, unavailable));
                self.drifts.push(Drift {
                    axis: axis.to_string(),
                    label: label(&self.keys, &fam),
                    family: fam,
                    arch: gs[0].arch.clone(),
                    param: gs[0].param.clone(),
                    drift,
                    drift_ci,
                    slope,
                    slope_ci,
                    eta_ci: members.iter().map(|(_, g)| g.eta_ci).collect(),
                    points,
                    scale_horizon: sh,
                    transfer,
                });
            }
        }
    }

    pub(super) fn comparisons(&mut self) {
        let (vi, ci) = split_keys(&self.keys);
        let mut comps: BTreeMap<(Vec<String>, u64), Comparison> = BTreeMap::new();
        for r in self.runs.iter().filter(|r| r.is_data() && r.steps.is_finite()) {
            let ctx = pick(&r.key, &ci);
            let vkey = pick(&r.key, &vi);
            let vkeys: Vec<String> = pick(&self.keys, &vi);
            let vlabel = if vi.is_empty() { r.arch.clone() } else { label(&vkeys, &vkey) };
            let flags: Vec<String> = vkeys
                .iter()
                .zip(&vkey)
                .filter(|(k, v)| k.starts_with("cfg.model.norm.") && (*v == "1" || *v == "true"))
                .map(|(k, _)| short_key(k))
                .collect();
            let c = comps.entry((ctx.clone(), bits(r.seq_len))).or_insert_with(|| Comparison {
                context: label(&pick(&self.keys, &ci), &ctx),
                seq_len: r.seq_len,
                variants: BTreeMap::new(),
                step_times: BTreeMap::new(),
                run_ids: BTreeMap::new(),
            });
            let v = c.variants.entry(vlabel.clone()).or_insert_with(|| (r.arch.clone(), flags, vkey.clone(), BTreeMap::new()));
            v.3.entry(bits(r.steps)).or_default().entry(bits(r.lr)).or_default().push((r.seed, r.loss));
            if r.status == "done" && r.step_time_s.is_finite() {
                c.step_times.entry(vlabel.clone()).or_default().push(r.step_time_s);
            }
            c.run_ids.entry(vlabel).or_default().push((r.id.clone(), r.steps, r.lr));
        }
        let budgets_vary = self.keys.iter().any(|k| k == STEPS);
        let shape_varies = self.keys.iter().any(|k| k == WIDTH || k == DEPTH);
        for c in comps.values() {
            if c.variants.len() < 2 {
                continue;
            }
            if budgets_vary {
                for (vname, (varch, _, _, vt)) in &c.variants {
                    let Some(rname) = reference_for(varch, &c.variants) else { continue };
                    if rname == vname {
                        continue;
                    }
                    let (rarch, _, _, rt) = &c.variants[rname];
                    let (rs, vs) = (seed_curves(rt), seed_curves(vt));
                    let rmean: Vec<(f64, f64)> = mean_curve(rt).iter().map(|p| (p.0, p.1)).collect();
                    let vmean: Vec<(f64, f64)> = mean_curve(vt).iter().map(|p| (p.0, p.1)).collect();
                    if vmean.len() < 2 {
                        continue;
                    }
                    let med = |n: &str| c.step_times.get(n).and_then(|v| sp::median(v));
                    let step_ratio = match (med(vname), med(rname)) {
                        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
                        _ => None,
                    };
                    for s in sp::speedups(&rmean, &vmean) {
                        let (ci, censored) = speedup_interval(s.speedup, &rs, &vs, s.budget_ref, BOOTSTRAP_DRAWS);
                        self.speedups.push(SpeedupRow {
                            context: c.context.clone(),
                            variant: vname.clone(),
                            var_arch: varch.clone(),
                            reference: rname.to_string(),
                            ref_arch: rarch.clone(),
                            seq_len: c.seq_len,
                            s,
                            ci,
                            censored,
                            wall_ci: step_ratio.map_or(Interval::Unavailable { seeds: 0 }, |r| scaled(ci, r)),
                            seeds: (rs.len(), vs.len()),
                            step_ratio,
                            wall: step_ratio.map(|r| s.speedup / r),
                        });
                    }
                }
            }
            if !(self.lr_sweep && shape_varies) {
                // The ladder: the largest budget every variant ran (else each one's largest).
                let common: Option<u64> = c
                    .variants
                    .values()
                    .map(|v| v.3.keys().cloned().collect::<BTreeSet<u64>>())
                    .reduce(|a, b| a.intersection(&b).cloned().collect())
                    .and_then(|s| s.into_iter().max_by(|a, b| unbits(*a).partial_cmp(&unbits(*b)).unwrap()));
                let mut rows: Vec<LadderRow> = c
                    .variants
                    .iter()
                    .filter_map(|(name, (arch, flags, _, t))| {
                        let b = common.or_else(|| t.keys().cloned().max_by(|a, b| unbits(*a).partial_cmp(&unbits(*b)).unwrap()))?;
                        let (_, pts) = best_at_budget(t.get(&b)?)?;
                        let losses: Vec<f64> = pts.iter().map(|p| p.1).collect();
                        Some(LadderRow {
                            context: c.context.clone(),
                            variant: name.clone(),
                            arch: arch.clone(),
                            flags: flags.clone(),
                            seq_len: c.seq_len,
                            budget: unbits(b),
                            loss: losses.iter().sum::<f64>() / losses.len() as f64,
                            std: std(&losses),
                            seeds: losses.len(),
                            gain_pct: None,
                            gain_ci: Interval::Unavailable { seeds: losses.len() },
                            per_seed: pts,
                        })
                    })
                    .collect();
                rows.sort_by(|a, b| {
                    ladder_rank(&a.arch, &a.flags).partial_cmp(&ladder_rank(&b.arch, &b.flags)).unwrap().then(a.variant.cmp(&b.variant))
                });
                if let Some(base) = rows.first().map(|r| r.per_seed.clone()) {
                    rows[0].gain_pct = Some(0.0);
                    for r in rows.iter_mut().skip(1) {
                        if let Some((gain, ci)) = gain_interval(&base, &r.per_seed, BOOTSTRAP_DRAWS) {
                            (r.gain_pct, r.gain_ci) = (Some(gain), ci);
                        }
                    }
                }
                self.ladder.extend(rows);
            }
        }
        self.comparisons = comps.into_values().collect();
        self.comparisons.sort_by(|a, b| a.context.cmp(&b.context).then(a.seq_len.partial_cmp(&b.seq_len).unwrap_or(std::cmp::Ordering::Equal)));
        self.speedups.sort_by(|a, b| {
            (a.context.as_str(), a.variant.as_str())
                .cmp(&(b.context.as_str(), b.variant.as_str()))
                .then(a.seq_len.partial_cmp(&b.seq_len).unwrap_or(std::cmp::Ordering::Equal))
                .then(a.s.budget_ref.partial_cmp(&b.s.budget_ref).unwrap_or(std::cmp::Ordering::Equal))
        });
    }

    /// Counts by status and the number of missing runs (neither done nor diverged).
    pub fn counts(&self) -> (BTreeMap<String, usize>, usize) {
        let c = runs::status_counts(&self.runs);
        let missing = self.runs.iter().filter(|r| !r.is_data()).count();
        (c, missing)
    }
}

/// Linear-interpolated quantile of the finite values.
pub(super) fn quantile(values: &[f64], q: f64) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().cloned().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let pos = q * (v.len() - 1) as f64;
    let (i, f) = (pos.floor() as usize, pos.fract());
    Some(if i + 1 < v.len() { v[i] * (1.0 - f) + v[i + 1] * f } else { v[i] })
}

pub(super) fn dedup(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v.dedup();
    v
}

/// `curves.parquet` → run id → [(step, val loss)] at eval steps.
pub(super) fn read_curves(path: &Path) -> Result<BTreeMap<String, Vec<(f64, f64)>>> {
    let df = read_parquet(path)?;
    let ids = df.column("run_id")?.str()?.clone();
    let step = df.column("step")?.cast(&DataType::Float64)?;
    let val = df.column("val_loss")?.cast(&DataType::Float64)?;
    let (step, val) = (step.f64()?, val.f64()?);
    let mut out: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    for i in 0..df.height() {
        if let (Some(id), Some(s), Some(v)) = (ids.get(i), step.get(i), val.get(i))
            && v.is_finite()
        {
            out.entry(id.to_string()).or_default().push((s, v));
        }
    }
    Ok(out)
}
