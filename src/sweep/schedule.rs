//! Order in which the local runner starts runs: longest estimated first, so the sweep's tail
//! is short runs packed onto all cores instead of one long run alone while the others idle.
//! Ties keep the plan's order; the order changes no run's result (each run is its own process).

use super::plan::PlannedRun;

pub fn longest_first(runs: &mut [&PlannedRun]) {
    runs.sort_by(|a, b| b.cost_s.total_cmp(&a.cost_s));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RunConfig;

    #[test]
    fn longest_estimate_starts_first_and_ties_keep_plan_order() {
        let text = "arch = \"gpt\"\n";
        let cfg = RunConfig::from_toml_str(text, "t", &[]).unwrap();
        let run = |id: &str, cost_s| PlannedRun { id: id.into(), cfg: cfg.clone(), varying: vec![], cost_s };
        let all = [run("a", 1.0), run("b", 9.0), run("c", 1.0), run("d", 4.0)];
        let mut order: Vec<&PlannedRun> = all.iter().collect();
        longest_first(&mut order);
        let ids: Vec<&str> = order.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["b", "d", "a", "c"]);
    }
}
