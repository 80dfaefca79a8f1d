#!/usr/bin/env python3
"""Table and machine-readable last line of scripts/bench-vs-torch.sh from its raw results.

    bench_summary.py RESULTS SECTION L T V ELAPSED_S

RESULTS lines: `peak {json}` (one or more; the best counts), `ratios k=v ...`, `torch|normlab ARCH D REP TOK`,
`compile ARCH D REP TOK COMPILE_S RECOMPILED OPTIMIZER`.
"""

import json
import math
import statistics
import sys

NAN = float("nan")


def med(xs):
    return statistics.median(xs) if xs else NAN


def parse(path):
    runs, peak, ratios = {}, None, {}
    for line in open(path):
        kind, rest = line.split(" ", 1)
        if kind == "peak":  # measured at start and end: keep the better
            p = json.loads(rest)
            if peak is None or p["gflops_best"] > peak["gflops_best"]:
                peak = p
        elif kind == "ratios":
            ratios = {k: float(v) for k, v in (kv.split("=") for kv in rest.split())}
        else:
            arch, d, rep, tok, *extra = rest.split()
            cell = runs.setdefault((arch, int(d)), {})
            cell.setdefault(kind, {})[int(rep)] = float(tok)
            if kind == "compile":
                cell.setdefault("compile_s", {})[int(rep)] = float(extra[0])
                cell.setdefault("recompiled", []).append(extra[1] == "True")
                cell["optimizer"] = extra[2]
    return runs, peak, ratios


def pair_ratios(cell, other):
    """normlab / other tok/s for every rep where both ran (a triple shares its noise)."""
    if other not in cell:
        return []
    reps = sorted(set(cell[other]) & set(cell["normlab"]))
    return [cell["normlab"][i] / cell[other][i] for i in reps if cell[other][i] > 0 and not math.isnan(cell[other][i])]


def best(cell, other):
    """max normlab tok/s over max other tok/s: each side's least-disturbed run, for a machine
    whose load changes within a triple."""
    if other not in cell or math.isnan(max(cell[other].values())):
        return "-"
    return f"{max(cell['normlab'].values()) / max(cell[other].values()):.2f}"


def mmm(rs):
    return f"{min(rs):.2f}/{statistics.median(rs):.2f}/{max(rs):.2f}" if rs else "-"


def main():
    path, section = sys.argv[1], sys.argv[2]
    L, T, V, elapsed = (int(x) for x in sys.argv[3:7])
    runs, peak, ratios = parse(path)
    pk = peak["gflops_best"]

    def gfs(tok, d):
        return tok * (6 * (16 * L * d * d + V * d) + 12 * L * T * d) / 1e9

    print(f"matmul peak (f32 1024^3, {peak['threads']} threads): best {pk:.1f} GFLOP/s, median {peak['gflops_median']:.1f}")
    print("FLOP/token = 6*(16*L*d^2 + V*d) + 12*L*T*d; ratios = normlab/torch tok/s per triple, min/med/max over reps;")
    print("best/best = best normlab tok/s over best eager (e) / compile (c) tok/s; tok/s and %pk columns are medians")
    hdr = (f"{'arch':5} {'d':>4} {'eager tok/s':>11} {'compile tok/s':>13} {'normlab tok/s':>13} {'nl/eager':>14} {'nl/compile':>14}"
           f" {'best/best e c':>13}"
           f" {'eager %pk':>9} {'compile %pk':>11} {'nl %pk':>7} {'compile s (1st/rest)':>20}")
    print(hdr)
    print("-" * len(hdr))
    allr = {(a, o): [] for a in ("gpt", "ngpt") for o in ("torch", "compile")}
    cell_compile_med = []
    notes = set()
    for arch, d in sorted(runs, key=lambda k: (k[1], k[0] != "gpt")):
        c = runs[(arch, d)]
        re, rc = pair_ratios(c, "torch"), pair_ratios(c, "compile")
        allr[(arch, "torch")] += re
        allr[(arch, "compile")] += rc
        if rc:
            cell_compile_med.append(statistics.median(rc))
        et, ct, nt = (med(list(c.get(k, {}).values())) for k in ("torch", "compile", "normlab"))
        cs = c.get("compile_s", {})
        csec = f"{cs[min(cs)]:.1f}/{med([v for k, v in cs.items() if k != min(cs)]):.1f}" if cs else "-"
        if any(c.get("recompiled", [])):
            notes.add(f"{arch} d={d}: dynamo compiled a graph during timed steps in some run")
        if "optimizer" in c:
            notes.add(f"compiled peer's AdamW: {c['optimizer']}")
        print(f"{arch:5} {d:>4} {et:>11.0f} {ct:>13.0f} {nt:>13.0f} {mmm(re):>14} {mmm(rc):>14} {best(c, 'torch'):>6} {best(c, 'compile'):>6}"
              f" {100 * gfs(et, d) / pk:>8.1f}% {100 * gfs(ct, d) / pk:>10.1f}% {100 * gfs(nt, d) / pk:>6.1f}% {csec:>20}")
    for n in sorted(notes):
        print(f"note: {n}")
    print(f"elapsed {elapsed} s")
    r = {k: med(v) for k, v in allr.items()}
    keys = f"gpt_vs_torch={r[('gpt', 'torch')]:.3f} ngpt_vs_torch={r[('ngpt', 'torch')]:.3f}"
    comp = f"gpt_vs_compile={r[('gpt', 'compile')]:.3f} ngpt_vs_compile={r[('ngpt', 'compile')]:.3f}"
    if section == "small":
        worst = min(cell_compile_med) if cell_compile_med else NAN
        print(f"bench-small: {keys} {comp} worst_vs_compile={worst:.3f}")
    else:
        ng = ratios.get("ngpt_vs_gpt", NAN)
        ag = ratios.get("angpt_vs_gpt", NAN) / ratios.get("gpt_plus_vs_gpt", NAN)
        print(f"bench: {keys} ngpt_vs_gpt={ng:.3f} angpt_vs_gptplus={ag:.3f} {comp}")


if __name__ == "__main__":
    main()
