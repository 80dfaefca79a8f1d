#!/usr/bin/env python3
"""PyTorch-CPU training throughput of the peer GPT / nGPT (scripts/torch_peer.py).

Same model and optimizer as normlab's `bench`: standard (interleaved) RoPE, SwiGLU
d -> 8d -> d, untied lm_head, AdamW (0.9, 0.95), eps 1e-8, lr 1e-3, weight decay
0.1 on >=2-D tensors for GPT and 0 for nGPT, global-norm clipping at 1.0, and the
nGPT matrix normalisation after every step (inside the timed step). Random tokens.

One timed step = forward + backward + clip + AdamW step + zero_grad (+ nGPT
normalisation). Prints one JSON line with the median step time and tokens/s.

--compile: the same model under torch.compile (inductor, default mode; the nGPT
normalisation compiled too) with AdamW(fused=True), or foreach=True where this CPU
build has no fused kernel (the JSON's "optimizer" says which). The warm-up steps
(at least 3) absorb compilation; "compile_s" is the first step's time, and
"recompiled_during_timing" is true if dynamo compiled a new graph in a timed step.

    python scripts/bench_torch.py --arch gpt --d-model 128 --threads 2
    python scripts/bench_torch.py --arch gpt --d-model 128 --threads 2 --compile
    python scripts/bench_torch.py --peak --threads 2      # f32 matmul peak (1024^3 loop)
"""

import argparse
import json
import os
import statistics
import sys
import time

import torch

sys.dont_write_bytecode = True  # no scripts/__pycache__ in the work tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_peer import Peer, PeerConfig, make_optimizer  # noqa: E402


def matmul_params(cfg):
    """Parameters taking part in matmuls: blocks (16 d^2 each) + lm_head (V d); wte is a lookup."""
    d = cfg.n_embd
    return cfg.n_layer * 16 * d * d + cfg.vocab_size * d


def peak(threads, n=1024, seconds=3.0):
    torch.set_num_threads(threads)
    a = torch.randn(n, n)
    b = torch.randn(n, n)
    c = torch.empty(n, n)
    for _ in range(3):
        torch.mm(a, b, out=c)
    times = []
    t_end = time.perf_counter() + seconds
    while time.perf_counter() < t_end or len(times) < 5:
        t0 = time.perf_counter()
        torch.mm(a, b, out=c)
        times.append(time.perf_counter() - t0)
    best = min(times)
    med = statistics.median(times)
    flop = 2.0 * n ** 3
    print(json.dumps({
        "peak": True, "n": n, "threads": threads, "iters": len(times),
        "gflops_best": round(flop / best / 1e9, 2), "gflops_median": round(flop / med / 1e9, 2),
        "torch": torch.__version__,
    }))


def compiled_optimizer(model, wd):
    """Fused AdamW where this build has the CPU kernel, else foreach; returns (opt, name).

    The probe step on a throw-away tensor is what fails on a build without the kernel
    (the constructor alone accepts fused=True)."""
    try:
        p = torch.nn.Parameter(torch.zeros(2))
        p.grad = torch.ones(2)
        torch.optim.AdamW([p], lr=1e-3, fused=True).step()
        return make_optimizer(model, 1e-3, wd, (0.9, 0.95), 1e-8, fused=True), "fused"
    except (RuntimeError, TypeError) as e:
        print(f"fused AdamW unavailable on this CPU build ({e}); using foreach", file=sys.stderr)
        return make_optimizer(model, 1e-3, wd, (0.9, 0.95), 1e-8, foreach=True), "foreach"


def unique_graphs():
    from torch._dynamo.utils import counters
    return counters["stats"]["unique_graphs"]


def bench(a):
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    use_ngpt = a.arch == "ngpt"
    cfg = PeerConfig(a.vocab, a.d_model, a.n_head, a.n_layer, use_ngpt, "standard")
    model = Peer(cfg)
    wd = 0.0 if use_ngpt else 0.1
    params = list(model.parameters())
    if a.compile:
        opt, opt_name = compiled_optimizer(model, wd)
        forward = torch.compile(model)
        normalize = torch.compile(model.normalize_matrices) if use_ngpt else None
        a.warmup = max(a.warmup, 3)
    else:
        opt = make_optimizer(model, 1e-3, wd, (0.9, 0.95), 1e-8, fused=a.fused, foreach=a.foreach)
        opt_name = "fused" if a.fused else "foreach" if a.foreach else "default"
        forward = model
        normalize = model.normalize_matrices if use_ngpt else None
    g = torch.Generator().manual_seed(a.seed + 1)
    n = a.warmup + a.steps
    xs = torch.randint(0, a.vocab, (n, a.batch, a.seq_len), generator=g)
    ys = torch.randint(0, a.vocab, (n, a.batch, a.seq_len), generator=g)

    times, warm, losses = [], [], []
    graphs_after_warmup = None
    for i in range(n):
        if i == a.warmup and a.compile:
            graphs_after_warmup = unique_graphs()
        t0 = time.perf_counter()
        _, loss = forward(xs[i], ys[i])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        if normalize is not None:
            normalize()
        t1 = time.perf_counter()
        losses.append(loss.item())
        (times if i >= a.warmup else warm).append(t1 - t0)
    med = statistics.median(times)
    extra = {}
    if a.compile:
        extra = {"compile_s": round(warm[0], 2), "warmup_s": round(sum(warm), 2),
                 "graphs": unique_graphs(), "recompiled_during_timing": unique_graphs() != graphs_after_warmup}
    tokens = a.batch * a.seq_len
    print(json.dumps({
        "arch": a.arch, "d_model": a.d_model, "n_layer": a.n_layer, "n_head": a.n_head,
        "seq_len": a.seq_len, "batch": a.batch, "vocab": a.vocab, "threads": a.threads,
        "steps": a.steps, "warmup": a.warmup, "compile": a.compile, "optimizer": opt_name, **extra,
        "params": sum(p.numel() for p in params), "matmul_params": matmul_params(cfg),
        "step_ms_median": round(1e3 * med, 3), "step_ms_min": round(1e3 * min(times), 3),
        "tokens_per_s": round(tokens / med, 1),
        "loss_first": round(losses[0], 4), "loss_last": round(losses[-1], 4),
        "torch": torch.__version__,
    }))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--arch", choices=["gpt", "ngpt"], default="gpt")
    p.add_argument("--d-model", type=int, default=128)
    p.add_argument("--n-layer", type=int, default=4)
    p.add_argument("--n-head", type=int, default=4)
    p.add_argument("--seq-len", type=int, default=128)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--vocab", type=int, default=256)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--fused", action="store_true", help="torch.optim.AdamW(fused=True)")
    p.add_argument("--foreach", action="store_true", help="torch.optim.AdamW(foreach=True)")
    p.add_argument("--compile", action="store_true", help="torch.compile (inductor) + fused AdamW")
    p.add_argument("--peak", action="store_true", help="measure the f32 matmul peak (1024^3) instead")
    a = p.parse_args()
    if a.peak:
        peak(a.threads)
    else:
        bench(a)


if __name__ == "__main__":
    main()
