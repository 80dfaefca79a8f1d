//! The transfer statistics on synthetic loss-vs-LR curves with a known optimum path: coverage of
//! the η* interval on a coarse (4×-spaced) grid, of the exponent and of the regret intervals,
//! and the power of the verdicts (pure Rust, no training; deterministic RNG).
//!
//! The synthetic sweep: sizes x, a true optimum ln η*(x) = ln η₀ + s·ln(x/x₀), a parabola in
//! ln LR whose curvature may differ per size (flat at the smallest width, as the main job's
//! d = 32 curves are), a different rise on each side of η* (`asymmetry`), a per-seed offset of the
//! whole curve (its data order and init) and per-run noise.

use normlab::analysis::bootstrap::{DRAWS, optimum_boot};
use normlab::analysis::lr_optimum::lr_optimum;
use normlab::analysis::transfer::{
    DEFAULT_TOLERANCES, SizeRuns, Tolerances, TransferOutcome, exponent, power_note, regret, seeds_to_decide, verdict,
};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

fn normal(rng: &mut SmallRng) -> f64 {
    let (u, v): (f64, f64) = (rng.random_range(f64::EPSILON..1.0), rng.random());
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

/// A synthetic family along one axis.
#[derive(Clone, Debug)]
struct Truth {
    sizes: Vec<f64>,
    /// η* at the first size and the exponent.
    eta0: f64,
    slope: f64,
    /// Curvature of the loss in ln LR, per size.
    curvature: Vec<f64>,
    /// Per size, the curvature above η* over the one below (real curves are not symmetric,
    /// and not in the same way at every size).
    asymmetry: Vec<f64>,
    seed_sd: f64,
    noise: f64,
}

impl Truth {
    fn eta(&self, i: usize) -> f64 {
        self.eta0 * (self.sizes[i] / self.sizes[0]).powf(self.slope)
    }
    /// Noise-free loss at size i.
    fn loss(&self, i: usize, lr: f64) -> f64 {
        let d = lr.ln() - self.eta(i).ln();
        let a = if d > 0.0 { self.curvature[i] * self.asymmetry[i] } else { self.curvature[i] };
        1.8 - 0.05 * (self.sizes[i] / self.sizes[0]).ln() + a * d * d
    }
    /// The true regret of using η*(size 0) at size i, in % of the best loss there.
    fn regret_pct(&self, i: usize) -> f64 {
        let best = self.loss(i, self.eta(i));
        100.0 * (self.loss(i, self.eta(0)) - best) / best
    }
    /// A new draw of each size's asymmetry: ln(ratio) ~ N(0, sd²).
    fn with_asymmetry(&self, rng: &mut SmallRng, sd: f64) -> Truth {
        Truth { asymmetry: self.sizes.iter().map(|_| (sd * normal(rng)).exp()).collect(), ..self.clone() }
    }
    /// One experiment: every size at `lrs(i)` and `seeds` seeds.
    fn sample(&self, rng: &mut SmallRng, lrs: &dyn Fn(usize) -> Vec<f64>, seeds: usize) -> Vec<SizeRuns> {
        (0..self.sizes.len())
            .map(|i| SizeRuns {
                x: self.sizes[i],
                seeds: (1..=seeds as u64)
                    .map(|s| {
                        let offset = self.seed_sd * normal(rng);
                        (s, lrs(i).iter().map(|&lr| (lr, self.loss(i, lr) + offset + self.noise * normal(rng))).collect())
                    })
                    .collect(),
            })
            .collect()
    }
}

/// LRs a factor `ratio` apart from `lo`, `n` of them.
fn ladder(lo: f64, ratio: f64, n: usize) -> Vec<f64> {
    (0..n).map(|k| lo * ratio.powi(k as i32)).collect()
}

fn coverage(hits: &[bool]) -> f64 {
    hits.iter().filter(|h| **h).count() as f64 / hits.len() as f64
}

const REPLICATIONS: usize = 200;

/// Item 0 of the transfer work: three LRs a factor 4 apart pin a parabola exactly, so the seed
/// bootstrap alone sees only seed noise. On curves that rise faster above η* than below (as real
/// ones do), that interval misses the optimum far more often than 5%; the interval widened to
/// what the placement resolves (half the bracketing gap) covers it.
#[test]
fn eta_star_interval_on_a_4x_grid_includes_what_the_grid_cannot_resolve() {
    let mut rng = SmallRng::seed_from_u64(31);
    let (mut ours, mut seed_only) = (Vec::new(), Vec::new());
    for rep in 0..REPLICATIONS {
        // The optimum anywhere between the grid's 2nd and 3rd point.
        let eta = 4e-3 * 4f64.powf(rep as f64 / REPLICATIONS as f64);
        let t = Truth { sizes: vec![1.0], eta0: eta, slope: 0.0, curvature: vec![0.05], asymmetry: vec![2.0], seed_sd: 0.012, noise: 0.003 };
        let runs = t.sample(&mut rng, &|_| ladder(1e-3, 4.0, 4), 3);
        let seeds: Vec<Vec<(f64, f64)>> = runs[0].seeds.iter().map(|s| s.1.clone()).collect();
        let b = optimum_boot(&seeds, DRAWS);
        let (lo, hi) = b.eta.bounds().unwrap();
        ours.push(lo <= eta && eta <= hi);
        // The seed-only interval: the same draws without the resolution floor.
        let o = b.opt.as_ref().unwrap();
        let reps: Vec<f64> = b.replicates.iter().map(|r| r.map_or(f64::NAN, |r| r.0)).collect();
        let (slo, shi) = normlab::analysis::bootstrap::interval(o.eta_star, &reps, 3, normlab::analysis::bootstrap::Scale::Log).bounds().unwrap();
        seed_only.push(slo <= eta && eta <= shi);
    }
    let (c, s) = (coverage(&ours), coverage(&seed_only));
    assert!(c >= 0.90, "η* interval with the resolution floor covered {c:.3}");
    assert!(s < 0.85, "the seed-only interval covered {s:.3}: the test would not catch the too-narrow interval");
}

/// A main-job-like family: 3 widths, flatter at the smallest, with the spread the main job's runs
/// show (measured on the 2026-12-06 run of the main job near each η*, ±1.5 in ln LR:
/// curvature 0.04–0.18 per ln², run noise sd 0.008–0.04, seed offsets sd 0.003–0.026, and a
/// cubic term of either sign, ±0.02–0.09, i.e. ≈ 20–40% asymmetry within one √2 step).
fn family(slope: f64) -> Truth {
    Truth {
        sizes: vec![32.0, 64.0, 128.0],
        eta0: 8e-3,
        slope,
        curvature: vec![0.04, 0.06, 0.08],
        asymmetry: vec![1.0; 3],
        seed_sd: 0.012,
        noise: 0.015,
    }
}

/// ln of the curvature ratio above/below η*, drawn per size and replication.
const ASYMMETRY_SD: f64 = 0.3;

/// The main job's placement: a coarse grid a factor 4 apart (1e-3 … 6.4e-2), plus the pair that
/// `[refine]`'s bracketing adds a factor √2 apart around its estimate of η* (off the true
/// optimum by up to half a bracket here).
fn around_truth(t: &Truth) -> impl Fn(usize) -> Vec<f64> + '_ {
    move |i| {
        let e = t.eta(i) * 2f64.powf(0.25 * (i as f64 - 1.0));
        let mut lrs = ladder(1e-3, 4.0, 4);
        lrs.extend([e / 2f64.powf(0.25), e * 2f64.powf(0.25)]);
        lrs
    }
}

#[test]
fn exponent_interval_covers_the_true_exponent() {
    let mut rng = SmallRng::seed_from_u64(32);
    for slope in [0.0, -0.75, -1.0] {
        let t = family(slope);
        let hits: Vec<bool> = (0..REPLICATIONS)
            .map(|_| {
                let t = t.with_asymmetry(&mut rng, ASYMMETRY_SD);
                let e = exponent(&t.sample(&mut rng, &around_truth(&t), 3), DRAWS).unwrap();
                let (lo, hi) = e.interval.bounds().unwrap();
                lo <= slope && slope <= hi
            })
            .collect();
        let c = coverage(&hits);
        assert!((0.90..=0.99).contains(&c), "slope {slope}: exponent interval covered {c:.3} of {REPLICATIONS}");
    }
}

#[test]
fn regret_interval_covers_the_true_regret() {
    let mut rng = SmallRng::seed_from_u64(33);
    for slope in [-0.25, -0.5] {
        let t = family(slope);
        let hits: Vec<bool> = (0..REPLICATIONS)
            .map(|_| {
                let t = t.with_asymmetry(&mut rng, ASYMMETRY_SD);
                let runs = t.sample(&mut rng, &around_truth(&t), 3);
                let r = regret(&runs[0], &runs[2], DRAWS).unwrap();
                let (lo, hi) = r.pct_ci.bounds().unwrap();
                let truth = t.regret_pct(2);
                lo <= truth && truth <= hi
            })
            .collect();
        let c = coverage(&hits);
        assert!((0.90..=0.99).contains(&c), "slope {slope}: regret interval covered {c:.3} of {REPLICATIONS}");
    }
}

/// Seeds cancel in the regret: a seed's offset moves all its LR points together.
#[test]
fn regret_is_paired_within_seeds() {
    let mut rng = SmallRng::seed_from_u64(34);
    let mut t = family(-0.5);
    t.noise = 0.0;
    t.seed_sd = 0.05; // four times the realistic offset
    let runs = t.sample(&mut rng, &around_truth(&t), 3);
    let r = regret(&runs[0], &runs[2], DRAWS).unwrap();
    let (lo, hi) = r.nats_ci.bounds().unwrap();
    let truth = t.regret_pct(2) / 100.0 * t.loss(2, t.eta(2));
    assert!(hi - lo < 0.05 * truth, "offsets leaked into the regret: {r:?} (true {truth:.5} nats)");
}

fn outcome(t: &Truth, seeds: usize, tol: Tolerances, rng: &mut SmallRng) -> TransferOutcome {
    let t = t.with_asymmetry(rng, ASYMMETRY_SD);
    let runs = t.sample(rng, &around_truth(&t), seeds);
    let e = exponent(&runs, DRAWS).ok();
    let regrets: Vec<_> = runs[1..].iter().filter_map(|b| regret(&runs[0], b, DRAWS).ok()).collect();
    verdict(&regrets, e.as_ref(), tol)
}

/// One seed: no interval, so no verdict beyond "inconclusive at 1 seed"; one size: no exponent;
/// a size whose every run diverged is named and left out.
#[test]
fn one_seed_is_inconclusive_and_one_size_has_no_exponent() {
    let mut rng = SmallRng::seed_from_u64(35);
    let t = family(-1.0);
    assert_eq!(outcome(&t, 1, DEFAULT_TOLERANCES, &mut rng), TransferOutcome::Inconclusive { seeds: 1 });
    let runs = t.sample(&mut rng, &around_truth(&t), 3);
    let err = exponent(&runs[..1], DRAWS).unwrap_err();
    assert!(err.contains("needs ≥ 2"), "{err}");
    let mut broken = runs.clone();
    for s in &mut broken[0].seeds {
        for p in &mut s.1 {
            p.1 = f64::INFINITY;
        }
    }
    let e = exponent(&broken, DRAWS).unwrap();
    assert_eq!(e.excluded, vec![(32.0, "every run diverged".to_string())]);
    assert_eq!(e.used.len(), 2);
    assert!(lr_optimum(&broken[0].seeds[0].1).is_none());
}

/// The power estimate, applied: where a 3-seed pilot is inconclusive, the design at the seeds
/// its power note asks for decides in ≥ 80% of replications (pooled over several pilots, since
/// each pilot's spread is itself a noisy estimate).
#[test]
fn power_estimate_applied_decides_in_80_percent() {
    let mut rng = SmallRng::seed_from_u64(36);
    let tol = Tolerances { regret_tol: 0.01, slope_tol: 0.5 };
    let seeds_asked = |note: &str| -> Option<usize> { note.split(" seeds at the current LR placement").next()?.rsplit("≈ ").next()?.parse().ok() };
    // Transfer (0) and a drift a little beyond the tolerance (−0.8), where pilots are often
    // inconclusive.
    for slope in [0.0, -0.8] {
        let t = family(slope);
        let (mut decided, mut tried, mut pilots) = (0, 0, 0);
        for _ in 0..40 {
            let pilot = t.with_asymmetry(&mut rng, ASYMMETRY_SD);
            let runs = pilot.sample(&mut rng, &around_truth(&pilot), 3);
            let e = exponent(&runs, DRAWS).unwrap();
            let regrets: Vec<_> = runs[1..].iter().filter_map(|b| regret(&runs[0], b, DRAWS).ok()).collect();
            if !matches!(verdict(&regrets, Some(&e), tol), TransferOutcome::Inconclusive { .. }) {
                continue;
            }
            let Some(k) = seeds_asked(&power_note(&regrets, Some(&e), tol, "d_model")) else { continue };
            for _ in 0..12 {
                decided += usize::from(!matches!(outcome(&t, k, tol, &mut rng), TransferOutcome::Inconclusive { .. }));
                tried += 1;
            }
            pilots += 1;
            if pilots == 6 {
                break;
            }
        }
        assert!(pilots >= 3, "slope {slope}: only {pilots} inconclusive pilots with a seed count: the test did not exercise the estimate");
        let f = decided as f64 / tried as f64;
        assert!(f >= 0.80, "slope {slope}: at the seeds the power notes of {pilots} pilots asked for, decisive in {f:.2}");
    }
}

#[test]
fn seeds_to_decide_follows_the_standard_error() {
    // Room 0.5 at se 0.25 (3 seeds): the half-width plus z₀.₈·se must fall to 0.5.
    let k = seeds_to_decide(0.0, 0.5, 3, 0.25, 0.0, 0.8).unwrap();
    let up = normlab::analysis::transfer::sd_upper_factor(3);
    assert!((up - (2.0f64 / 0.4463).sqrt()).abs() < 1e-3, "{up}");
    let se_k = up * 0.25 * (3.0 / k as f64).sqrt();
    assert!((normlab::analysis::bootstrap::t975(k - 1) + 0.8416) * se_k <= 0.5);
    let se_before = up * 0.25 * (3.0 / (k - 1) as f64).sqrt();
    assert!((normlab::analysis::bootstrap::t975(k - 2) + 0.8416) * se_before > 0.5, "k = {k} is not the smallest");
    // A model term as large as the room: no number of seeds decides it.
    assert_eq!(seeds_to_decide(0.0, 0.5, 3, 0.25, 0.3, 0.8), None);
    assert!((normlab::analysis::transfer::normal_quantile(0.975) - 1.959964).abs() < 1e-5);
    assert!((normlab::analysis::transfer::normal_quantile(0.8) - 0.841621).abs() < 1e-5);
}

/// The main job's design (sweeps/lr-transfer.toml): 3 widths, LRs 3.5e-3 / 1e-2 / 2.8e-2 × 4
/// seeds, then `[refine]` (target 1.5, 2 LRs per group per round, ≤ 2 rounds) with this
/// family's share of the budget (64 runs over 4 families: 16), spent breadth-first. Each round
/// plans from the noisy runs so far, as the real one does.
fn main_job(t: &Truth, rng: &mut SmallRng) -> Vec<SizeRuns> {
    use normlab::sweep::refine::propose;
    const SEEDS: u64 = 4;
    let offsets: Vec<Vec<f64>> = t.sizes.iter().map(|_| (0..SEEDS).map(|_| t.seed_sd * normal(rng)).collect()).collect();
    let mut runs: Vec<SizeRuns> = t.sizes.iter().map(|&x| SizeRuns { x, seeds: (1..=SEEDS).map(|s| (s, Vec::new())).collect() }).collect();
    let add = |runs: &mut Vec<SizeRuns>, i: usize, lr: f64, rng: &mut SmallRng| {
        for (k, s) in runs[i].seeds.iter_mut().enumerate() {
            s.1.push((lr, t.loss(i, lr) + offsets[i][k] + t.noise * normal(rng)));
        }
    };
    for i in 0..t.sizes.len() {
        for lr in [3.5e-3, 1e-2, 2.8e-2] {
            add(&mut runs, i, lr, rng);
        }
    }
    let mut budget = 16;
    for _round in 0..2 {
        let proposals: Vec<Vec<f64>> = runs.iter().map(|r| propose(&r.seeds.iter().map(|s| s.1.clone()).collect::<Vec<_>>(), 1.5, 2).1).collect();
        for k in 0..2 {
            for (i, p) in proposals.iter().enumerate() {
                if let Some(&lr) = p.get(k)
                    && budget >= SEEDS
                {
                    budget -= SEEDS;
                    add(&mut runs, i, lr, rng);
                }
            }
        }
    }
    runs
}

fn verdict_of(runs: &[SizeRuns], tol: Tolerances) -> TransferOutcome {
    let e = exponent(runs, DRAWS).ok();
    let regrets: Vec<_> = runs[1..].iter().filter_map(|b| regret(&runs[0], b, DRAWS).ok()).collect();
    verdict(&regrets, e.as_ref(), tol)
}

/// The power of the shipped design under the declared tolerances (regret 1%, exponent ±0.15):
/// SP-like data (η* ∝ 1/width) are called "does not transfer" in ≥ 80% of replications; μP-like
/// data (η* flat, flatter curves at the smallest width) are never called "does not transfer"
/// wrongly in more than 5%, but are called "transfers" in only a few percent: over a 4× span the
/// exponent's interval cannot fit inside ±0.15 (README, Results). Over the span the power note
/// names for the exponent, the same design puts the exponent's interval inside ±0.15 in ≥ 80%.
#[test]
fn main_job_design_decides_the_negative_control_and_says_what_the_positive_one_needs() {
    let mut rng = SmallRng::seed_from_u64(37);
    let tol = DEFAULT_TOLERANCES;
    let n = 100;
    let sp = Truth { eta0: 1e-2, ..family(-1.0) };
    let mup = Truth { eta0: 1.1e-2, curvature: vec![0.03, 0.06, 0.08], ..family(0.0) };
    let count = |t: &Truth, want: TransferOutcome, rng: &mut SmallRng| {
        (0..n)
            .filter(|_| {
                let t = t.with_asymmetry(rng, ASYMMETRY_SD);
                verdict_of(&main_job(&t, rng), tol) == want
            })
            .count() as f64
            / n as f64
    };
    let sp_decided = count(&sp, TransferOutcome::DoesNotTransfer, &mut rng);
    let mup_rejected = count(&mup, TransferOutcome::DoesNotTransfer, &mut rng);
    let mup_transfers = count(&mup, TransferOutcome::Transfers, &mut rng);
    println!(
        "main job design: SP-like does not transfer {sp_decided:.2}; μP-like transfers {mup_transfers:.2}, wrongly does not transfer {mup_rejected:.2}"
    );
    assert!(sp_decided >= 0.80, "SP-like called 'does not transfer' in {sp_decided:.2}");
    assert!(mup_rejected <= 0.05, "μP-like wrongly called 'does not transfer' in {mup_rejected:.2}");
    assert!(mup_transfers < 0.80, "μP-like called 'transfers' in {mup_transfers:.2}: the README's power statement is stale");
    // The span the power note names for the exponent, applied: one more width per doubling.
    let t = mup.with_asymmetry(&mut rng, ASYMMETRY_SD);
    let runs = main_job(&t, &mut rng);
    let e = exponent(&runs, DRAWS).unwrap();
    let regrets: Vec<_> = runs[1..].iter().filter_map(|b| regret(&runs[0], b, DRAWS).ok()).collect();
    let note = power_note(&regrets, Some(&e), tol, "d_model");
    println!("power note: {note}");
    let reach: f64 =
        note.split("span would need to reach d_model ≈ ").nth(1).and_then(|s| s.split(' ').next()).and_then(|s| s.parse().ok()).expect(&note);
    let doublings = (reach / 32.0).log2().ceil() as i32;
    let sizes: Vec<f64> = (0..=doublings).map(|k| 32.0 * 2f64.powi(k)).collect();
    let wide = Truth {
        sizes: sizes.clone(),
        curvature: sizes.iter().map(|s| if *s < 64.0 { 0.03 } else { 0.08 }).collect(),
        asymmetry: vec![1.0; sizes.len()],
        ..mup.clone()
    };
    let inside = (0..n / 2)
        .filter(|_| {
            let t = wide.with_asymmetry(&mut rng, ASYMMETRY_SD);
            let e = exponent(&main_job(&t, &mut rng), DRAWS).unwrap();
            e.interval.bounds().is_some_and(|(lo, hi)| -tol.slope_tol <= lo && hi <= tol.slope_tol)
        })
        .count() as f64
        / (n / 2) as f64;
    println!("over d_model 32…{}: exponent inside ±{} in {inside:.2}", sizes.last().unwrap(), tol.slope_tol);
    assert!(
        inside >= 0.80,
        "over the span the power note named ({}), the exponent's interval fit inside ±0.15 in {inside:.2}",
        sizes.last().unwrap()
    );
}

/// The horizon law: η* ∝ steps^(−1/3) over steps 250 → 2000, and the η* it predicts at 10× the
/// longest horizon (an extrapolation) covers the true one in 90–99% of replications.
#[test]
fn horizon_law_extrapolation_interval_covers_the_truth() {
    let mut rng = SmallRng::seed_from_u64(38);
    let t = Truth {
        sizes: vec![250.0, 500.0, 1000.0, 2000.0],
        eta0: 1.2e-2,
        slope: -1.0 / 3.0,
        curvature: vec![0.05, 0.06, 0.07, 0.08],
        asymmetry: vec![1.0; 4],
        seed_sd: 0.012,
        noise: 0.015,
    };
    let truth = t.eta0 * (20000.0f64 / 250.0).powf(t.slope);
    let hits: Vec<bool> = (0..REPLICATIONS)
        .map(|_| {
            let t = t.with_asymmetry(&mut rng, ASYMMETRY_SD);
            let e = exponent(&t.sample(&mut rng, &around_truth(&t), 3), DRAWS).unwrap();
            let (_, ci) = e.predict(20000.0);
            let (lo, hi) = ci.bounds().unwrap();
            lo <= truth && truth <= hi
        })
        .collect();
    let c = coverage(&hits);
    assert!((0.90..=0.99).contains(&c), "η* at 10× the longest horizon: interval covered {c:.3} of {REPLICATIONS}");
}
