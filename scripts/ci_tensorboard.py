"""CI check of normlab's TensorBoard output and typed Parquet tables (called by ci-tensorboard.sh).

usage: ci_tensorboard.py RUN_DIR [SWEEP_DIR]   (without SWEEP_DIR: the run's scalars only)

* every scalar TensorBoard's own EventAccumulator reads back equals metrics.parquet, step by
  step (its reader silently skips records with a bad CRC, so counts are compared too);
* the HParams plugin data parses with tensorboard's protos: the session's hparams are the
  swept keys with the run's values, the sweep root holds the experiment;
* metrics / results / report read with pandas, pyarrow and polars give the expected dtypes
  and row counts.
"""

import json
import math
import sys
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pyarrow.parquet as pq
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2

failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
        print("FAIL:", msg)


def tag_of(col):
    fixed = {"train_loss": "train/loss", "val_loss": "val/loss", "lr": "train/lr", "grad_norm": "train/grad_norm"}
    return fixed.get(col) or "diag/" + col.removeprefix("diag.")


def same_f32(a, b):
    a, b = np.float32(a), np.float32(b)
    return (math.isnan(a) and math.isnan(b)) or a == b


def accumulator(path):
    acc = EventAccumulator(str(path), size_guidance={"scalars": 0, "tensors": 0})
    acc.Reload()
    return acc


def hparams_data(acc, tag):
    content = acc.PluginTagToContent("hparams").get(tag)
    if content is None:
        return None
    return plugin_data_pb2.HParamsPluginData.FromString(content)


def pb_value(v):
    kind = v.WhichOneof("kind")
    return {"number_value": v.number_value, "string_value": v.string_value, "bool_value": v.bool_value}[kind]


def check_run(run, expected_hparams):
    """Scalars equal metrics.parquet; the session's hparams equal `expected_hparams`."""
    t = pq.read_table(run / "metrics.parquet")
    m = {c: t.column(c).to_pylist() for c in t.column_names}
    n_rows = t.num_rows
    acc = accumulator(run / "tb")
    tags = acc.Tags()["scalars"]
    cols = [c for c in m if c in ("train_loss", "val_loss", "lr", "grad_norm") or c.startswith("diag.")]
    compared = 0
    for col in cols:
        # Nulls (no eval at that step) are not written; NaN (a diverged step) is.
        want = [(s, v) for s, v in zip(m["step"], m[col]) if v is not None]
        tag = tag_of(col)
        if not want:
            continue
        check(tag in tags, f"{run.name}: tag {tag} missing (have {tags})")
        if tag not in tags:
            continue
        got = [(e.step, e.value) for e in acc.Scalars(tag)]
        check(len(got) == len(want), f"{run.name}: {tag}: {len(got)} events vs {len(want)} parquet rows")
        for (gs, gv), (ws, wv) in zip(got, want):
            check(gs == ws and same_f32(gv, wv), f"{run.name}: {tag} step {gs}/{ws}: {gv} vs {wv}")
            compared += 1
    tps = [e.value for e in acc.Scalars("perf/tokens_per_s")]
    check(len(tps) == n_rows, f"{run.name}: tokens/s events {len(tps)} vs {n_rows} rows")
    check(all(v > 0 for v in tps), f"{run.name}: non-positive tokens/s")
    start = hparams_data(acc, "_hparams_/session_start_info")
    check(start is not None, f"{run.name}: no session_start_info")
    if start is not None:
        got = {k: pb_value(v) for k, v in start.session_start_info.hparams.items()}
        check(got == expected_hparams, f"{run.name}: hparams {got} vs {expected_hparams}")
        check(start.session_start_info.group_name == run.name, f"{run.name}: group {start.session_start_info.group_name}")
    end = hparams_data(acc, "_hparams_/session_end_info")
    summary = json.loads((run / "summary.json").read_text())
    check(end is not None and end.session_end_info.status == 1, f"{run.name}: session_end_info {end}")
    final = [e.value for e in acc.Scalars("hparams/final_val_loss")]
    check(len(final) == 1 and same_f32(final[0], summary["final_val_loss"]), f"{run.name}: final val {final} vs {summary['final_val_loss']}")
    best = [e.value for e in acc.Scalars("hparams/best_val_loss")]
    check(len(best) == 1 and same_f32(best[0], summary["best_val_loss"]), f"{run.name}: best val {best}")
    check(compared >= n_rows * 3, f"{run.name}: only {compared} values compared for {n_rows} rows")
    return compared


def dotted(table, key):
    for part in key.split("."):
        table = table[part]
    return table


def check_sweep(sweep):
    runs = sorted(p for p in (sweep / "runs").iterdir() if (p / "summary.json").exists())
    compared = 0
    swept = None
    for run in runs:
        pairs = json.loads((run / "hparams.json").read_text())
        swept = [k for k, _ in pairs]
        cfg = tomllib.loads((run / "config.toml").read_text())
        # The session's values are the run's resolved config values (numbers as doubles).
        compared += check_run(run, {k: dotted(cfg, k) for k in swept})
    exp = hparams_data(accumulator(sweep / "tb"), "_hparams_/experiment")
    check(exp is not None, "sweep: no experiment summary")
    if exp is not None:
        infos = {h.name: [pb_value(v) for v in h.domain_discrete.values] for h in exp.experiment.hparam_infos}
        check(sorted(infos) == sorted(swept), f"sweep: experiment hparams {sorted(infos)} vs {swept}")
        check(sorted(infos.get("arch", [])) == ["gpt", "ngpt"], f"sweep: arch domain {infos.get('arch')}")
        check(sorted(infos.get("optim.lr", [])) == [1e-3, 2e-3, 4e-3], f"sweep: lr domain {infos.get('optim.lr')}")
        metrics = sorted(m.name.tag for m in exp.experiment.metric_infos)
        check(metrics == ["hparams/best_val_loss", "hparams/final_val_loss"], f"sweep: metrics {metrics}")
    return len(runs), compared


def dtypes(path):
    """{column: (pyarrow type, pandas dtype, polars dtype)} plus the three row counts."""
    t = pq.read_table(path)
    df = pd.read_parquet(path, dtype_backend="numpy_nullable")
    p = pl.read_parquet(path)
    check(t.num_rows == len(df) == p.height, f"{path.name}: row counts {t.num_rows} {len(df)} {p.height}")
    return {c: (str(t.schema.field(c).type), str(df[c].dtype), str(p[c].dtype)) for c in t.column_names}, t.num_rows


# Text may come as any of Arrow's string layouts (polars writes views) and pandas 3's "str".
STRING = ({"string", "large_string", "string_view"}, {"string", "str"}, {"String"})


def expect(path, types, col, pa_type, pd_type, pl_type):
    got = types.get(col)
    want = STRING if pa_type == "string" else ({pa_type}, {pd_type}, {pl_type})
    ok = got is not None and all(g in w for g, w in zip(got, want))
    check(ok, f"{path.name}: {col} is {got}, expected {(pa_type, pd_type, pl_type)}")


def check_tables(run, sweep, n_runs):
    mt, rows = dtypes(run / "metrics.parquet")
    check(rows == len(pq.read_table(run / "metrics.parquet")), "metrics rows")
    expect(run / "metrics.parquet", mt, "step", "uint32", "UInt32", "UInt32")
    expect(run / "metrics.parquet", mt, "train_loss", "float", "Float32", "Float32")
    rt, rows = dtypes(sweep / "results.parquet")
    check(rows == n_runs, f"results.parquet: {rows} rows for {n_runs} runs")
    r = sweep / "results.parquet"
    for col in ["cfg.model.d_model", "cfg.data.batch_size", "cfg.train.steps", "cfg.seed", "steps", "n_params", "threads"]:
        expect(r, rt, col, "int64", "Int64", "Int64")
    for col in [c for c in rt if c.startswith("cfg.model.norm.") and c not in ("cfg.model.norm.alpha_init", "cfg.model.norm.alpha_scale", "cfg.model.norm.sz_scale")] + ["diverged", "prov.git_dirty"]:
        expect(r, rt, col, "bool", "boolean", "Boolean")
    for col in ["cfg.optim.lr", "final_val_loss", "wall_s"]:
        expect(r, rt, col, "double", "Float64", "Float64")
    for col in ["run_id", "status", "cfg.arch", "prov.git_commit", "prov.host", "prov.cpu_model", "prov.start_time", "prov.end_time", "prov.burn_version"]:
        expect(r, rt, col, "string", "string", "String")
    check(len([c for c in rt if c.startswith("cfg.model.norm.")]) >= 5, f"results: norm columns {[c for c in rt if 'norm' in c]}")
    dt, rows = dtypes(sweep / "report.parquet")
    check(rows == len(pd.read_csv(sweep / "report.csv")), f"report.parquet {rows} rows vs report.csv")
    p = sweep / "report.parquet"
    for col in ["n", "diverged", "missing", "seeds", "seq_len"]:
        expect(p, dt, col, "int64", "Int64", "Int64")
    expect(p, dt, "at_edge", "bool", "boolean", "Boolean")
    expect(p, dt, "kind", "string", "string", "String")
    expect(p, dt, "eta_star", "double", "Float64", "Float64")


def main():
    run = Path(sys.argv[1])
    cfg = tomllib.loads((run / "config.toml").read_text())
    defaults = ["arch", "param.name", "optim.lr", "model.d_model", "model.n_layer", "data.seq_len", "train.steps", "seed"]
    n_single = check_run(run, {k: dotted(cfg, k) for k in defaults})
    if len(sys.argv) < 3:
        if not failures:
            print(f"tensorboard: {n_single} scalars of {run.name} equal metrics.parquet")
        sys.exit(1 if failures else 0)
    sweep = Path(sys.argv[2])
    n_runs, n_sweep = check_sweep(sweep)
    check(n_runs == 6, f"sweep: {n_runs} finished runs, expected 6")
    check_tables(run, sweep, n_runs)
    if failures:
        print(f"{len(failures)} failures")
        sys.exit(1)
    print(f"tensorboard: {n_single} scalars of the run and {n_sweep} of {n_runs} sweep runs equal metrics.parquet; hparams ok; typed parquet ok")


main()
