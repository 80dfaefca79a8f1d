//! `normlab figure compute-multiplier`: the compute ladder's frontiers with their fitted laws
//! and the multiplier M(L) over GPT; its two verdicts (report::multiplier_verdict) were written
//! before the ladder was run (docs/LOG.md, 2026-12-06).

use super::{Figure, write_snippet};
use crate::report::{Analysis, save_charts};
use anyhow::{Result, bail};
use std::path::Path;

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
    for k in fig.verdicts {
        if let Some(v) = crate::report::verdict::verdict(*k, &a) {
            md += &v.markdown();
        }
    }
    md += &lr_check(dir);
    md += &l.markdown();
    write_snippet(fig, dir, dest, &pngs, &md)
}
