//! `normlab bench`: median tokens/s and the step split, architectures side by side.

use anyhow::Result;
use normlab::bench::{BenchResult, median};
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
}

pub fn run(a: BenchArgs) -> Result<()> {
    let results = normlab::bench::run(&a.arch, &a.set, a.vocab, a.steps, a.warmup, 5)?;
    print_bench(&results);
    Ok(())
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
