//! `normlab bench`: median tokens/s and the step split, architectures side by side.

use anyhow::{Result, bail};
use normlab::backend::DeviceSpec;
use normlab::bench::{BenchResult, bench_config, median};
use normlab::config::ArchName;

#[derive(clap::Args)]
pub struct BenchArgs {
    /// Comma-separated architectures, measured side by side.
    #[arg(long, default_value = "gpt", value_delimiter = ',')]
    arch: Vec<ArchName>,
    /// Override the bench config (d=128 L=4 H=4 T=128 batch 16): --set model.d_model=256.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    #[arg(long, default_value_t = 256)]
    vocab: usize,
    /// Timed steps per architecture.
    #[arg(long, default_value_t = 30)]
    steps: usize,
    #[arg(long, default_value_t = 3)]
    warmup: usize,
    /// Choose the batch to fill this many GiB of device memory: the largest power of two whose
    /// estimated training footprint (train::memory) stays within half of it (the GPU path runs
    /// composite ops that keep more for backward than the estimate's fused CPU kernels).
    #[arg(long, value_name = "GIB")]
    fill_gib: Option<f64>,
    #[command(flatten)]
    device: DeviceSpec,
}

pub fn run(a: BenchArgs) -> Result<()> {
    let (device, info) = a.device.open()?;
    let mut set = a.set.clone();
    if let Some(gib) = a.fill_gib {
        let batch = batch_to_fill(&a.arch, &a.set, a.vocab, gib)?;
        println!("bench: batch {batch}, the largest power of two whose estimated footprint fits half of {gib} GiB");
        set.push(format!("data.batch_size={batch}"));
    }
    println!("bench on {}", info.describe(a.device.backend));
    let results = normlab::bench::run(&a.arch, &set, a.vocab, a.steps, a.warmup, 5, &device)?;
    print_bench(&results);
    for r in &results {
        let cfg = bench_config(r.arch, &set)?;
        let peak = r.times.peak_bytes.map_or("-".to_string(), |b| format!("{:.0}", b as f64 / (1u64 << 20) as f64));
        println!(
            "bench-row: arch={} d={} T={} batch={} tok_s={:.0} peak_mib={peak}",
            r.arch.as_str(),
            cfg.model.d_model,
            cfg.data.seq_len,
            cfg.data.batch_size,
            r.tokens_per_s()
        );
    }
    Ok(())
}

/// The largest power-of-two batch (up to 4096) whose estimated footprint for every
/// architecture fits in half of `gib`.
fn batch_to_fill(archs: &[ArchName], set: &[String], vocab: usize, gib: f64) -> Result<usize> {
    let fits = |batch: usize| -> Result<bool> {
        let mut with_batch = set.to_vec();
        with_batch.push(format!("data.batch_size={batch}"));
        for &arch in archs {
            let (state, act) = normlab::train::memory::estimate(&bench_config(arch, &with_batch)?, vocab);
            if state + act > 0.5 * gib * (1u64 << 30) as f64 {
                return Ok(false);
            }
        }
        Ok(true)
    };
    if !fits(1)? {
        bail!("bench --fill-gib {gib}: even batch 1 needs more than half of {gib} GiB by the estimate");
    }
    let mut batch = 1;
    while batch < 4096 && fits(batch * 2)? {
        batch *= 2;
    }
    Ok(batch)
}

fn print_bench(results: &[normlab::bench::BenchResult]) {
    println!("{:<10} {:>10} {:>10} {:>10} {:>10} {:>11} {:>10}", "arch", "tok/s", "step ms", "fwd ms", "bwd ms", "optim ms", "constr ms");
    for r in results {
        let t = &r.times;
        println!(
            "{:<10} {:>10.0} {:>10.1} {:>10.1} {:>10.1} {:>11.1} {:>10.1}",
            r.arch.as_str(),
            r.tokens_per_s(),
            1e3 * median(&t.total),
            1e3 * median(&t.forward),
            1e3 * median(&t.backward),
            1e3 * median(&t.optimizer),
            1e3 * median(&t.constraint)
        );
    }
    if let Some(base) = results.first() {
        let ratio = |a: &BenchResult, b: &BenchResult| {
            format!("{}_vs_{}={:.3}", a.arch.as_str(), b.arch.as_str(), median(&a.times.total) / median(&b.times.total))
        };
        let mut ratios: Vec<String> = results[1..].iter().map(|r| ratio(r, base)).collect();
        // anGPT's target is against GPT+ (its baseline in the paper), not GPT.
        let find = |name: &str| results.iter().find(|r| r.arch.as_str() == name);
        if let (Some(a), Some(p)) = (find("angpt"), find("gpt_plus")) {
            ratios.push(ratio(a, p));
        }
        if !ratios.is_empty() {
            println!("step-time ratios: {}", ratios.join(" "));
        }
    }
}
