#!/usr/bin/env python3
"""Golden folders from our own PyTorch peer (scripts/torch_peer.py).

Generate a folder with the layout of tests/data/reference/<name>/:

    .venv-bench/bin/python scripts/make_golden.py --model gpt --rope standard \
        --vocab 80 --n-embd 48 --n-head 3 --n-layer 3 --seed 3 \
        --out tests/data/reference-extra/gpt-d48-h3-l3-v80

Check the peer against shipped folders (loads weights + io inputs, recomputes
everything and prints max abs errors against the folder's files):

    .venv-bench/bin/python scripts/make_golden.py --check tests/data/reference/gpt [DIR ...]

Procedure (README "How they were produced"): float32, 1 thread,
torch.use_deterministic_algorithms(True); seed -> build (nGPT: normalise) ->
save weights; batch = randint(0, V, (B, T+1)) from a torch.Generator seeded
data_seed, inputs = [:, :-1], targets = [:, 1:]; forward + backward; AdamW
(two groups, lr 1e-3 constant, betas (0.9, 0.95), eps 1e-8) step, zero grads,
(nGPT) normalise; a second step on the same batch; the clip file rebuilds the
model from the same seed and clips at global norm 1.0 before its single step.
"""

import argparse
import json
import math
import os
import sys

import torch
from safetensors.torch import load_file, save_file

sys.dont_write_bytecode = True  # no scripts/__pycache__ in the work tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_peer import ROPES, Peer, PeerConfig, global_grad_norm, make_optimizer  # noqa: E402

LR = 1e-3
BETA1, BETA2 = 0.9, 0.95
EPS = 1e-8
GRAD_CLIP = 1.0
FILES = [
    "weights.safetensors",
    "io.safetensors",
    "activations.safetensors",
    "grads.safetensors",
    "after_step.safetensors",
    "grads_step2.safetensors",
    "after_step2.safetensors",
    "after_step_clip.safetensors",
]


def setup_torch():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.set_default_dtype(torch.float32)


def _grads(model):
    return {n: p.grad.detach().clone().contiguous() for n, p in model.named_parameters()}


def _post_step(model, opt):
    opt.step()
    opt.zero_grad(set_to_none=True)
    if model.cfg.use_ngpt:
        model.normalize_matrices()


def run_pipeline(cfg, factory, idx, targets, rope_in, weight_decay):
    """Everything a golden folder holds, computed by the peer.

    factory() must return a fresh Peer at the initial weights (called twice:
    once for the two-step run, once for the clipped step)."""
    out = {}
    model = factory()
    out["weights"] = model.state_tensors()

    acts = {}
    logits, loss = model(idx, targets, collect=acts)
    loss.backward()
    out["grads"] = _grads(model)
    grad_norm = global_grad_norm(model).detach()
    opt = make_optimizer(model, LR, weight_decay, (BETA1, BETA2), EPS)
    _post_step(model, opt)
    out["after_step"] = model.state_tensors()

    _, loss2 = model(idx, targets)
    loss2.backward()
    out["grads_step2"] = _grads(model)
    _post_step(model, opt)
    out["after_step2"] = model.state_tensors()

    model = factory()
    _, loss_c = model(idx, targets)
    loss_c.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), GRAD_CLIP)
    opt = make_optimizer(model, LR, weight_decay, (BETA1, BETA2), EPS)
    _post_step(model, opt)
    out["after_step_clip"] = model.state_tensors()

    with torch.no_grad():
        acts["rope_in"] = rope_in.clone()
        acts["rope_out"] = ROPES[cfg.rope](rope_in).contiguous()
    out["activations"] = {k: v.contiguous() for k, v in acts.items()}
    out["io"] = {
        "input_ids": idx.clone(),
        "targets": targets.clone(),
        "logits": logits.detach().contiguous(),
        "loss": loss.detach().reshape(1),
        "loss_step2": loss2.detach().reshape(1),
        "grad_norm": grad_norm.reshape(1),
    }
    return out


def optimizer_alone(cfg, weights, grads, grads2, weight_decay, clip):
    """Load weights, apply the golden grads (then grads_step2); returns (after_step, after_step2)."""
    model = Peer(cfg)
    model.load_tensors(weights)
    opt = make_optimizer(model, LR, weight_decay, (BETA1, BETA2), EPS)
    res = []
    for g in ([grads] if clip else [grads, grads2]):
        for n, p in model.named_parameters():
            p.grad = g[n].clone()
        if clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), GRAD_CLIP)
        _post_step(model, opt)
        res.append(model.state_tensors())
    return res


# ---------------------------------------------------------------------------
# generation
# ---------------------------------------------------------------------------

def generate(a):
    setup_torch()
    use_ngpt = a.model == "ngpt"
    cfg = PeerConfig(a.vocab, a.n_embd, a.n_head, a.n_layer, use_ngpt, a.rope)
    wd = 0.0 if use_ngpt else 0.1
    D = a.n_embd // a.n_head

    def factory():
        torch.manual_seed(a.seed)
        return Peer(cfg)

    g = torch.Generator().manual_seed(a.data_seed)
    data = torch.randint(0, a.vocab, (a.batch, a.seq_len + 1), generator=g, dtype=torch.int64)
    idx, targets = data[:, :-1].contiguous(), data[:, 1:].contiguous()
    g = torch.Generator().manual_seed(a.data_seed + 1)
    rope_in = torch.randn(1, a.n_head, a.seq_len, D, generator=g)

    out = run_pipeline(cfg, factory, idx, targets, rope_in, wd)
    os.makedirs(a.out, exist_ok=True)
    for name in ["weights", "io", "activations", "grads", "after_step", "grads_step2", "after_step2", "after_step_clip"]:
        save_file(out[name], os.path.join(a.out, name + ".safetensors"))
    config = {
        "vocab_size": a.vocab,
        "n_embd": a.n_embd,
        "n_head": a.n_head,
        "n_layer": a.n_layer,
        "block_size": a.seq_len,
        "batch_size": a.batch,
        "seq_len": a.seq_len,
        "seed": a.seed,
        "data_seed": a.data_seed,
        "lr": LR,
        "beta1": BETA1,
        "beta2": BETA2,
        "eps": EPS,
        "grad_clip": GRAD_CLIP,
        "set": "extra (normlab scripts/make_golden.py, own PyTorch peer scripts/torch_peer.py; rope_in from data_seed+1)",
        "use_nGPT": int(use_ngpt),
        "rope": a.rope,
        "weight_decay": wd,
        "base_scale": cfg.base_scale,
        "model_name": "nGPT" if use_ngpt else "GPT",
        "torch_version": torch.__version__,
        "dtype": "float32",
        "device": "cpu",
        "num_threads": 1,
        "deterministic_algorithms": True,
        "attention": "exact causal softmax attention in float32 (F.scaled_dot_product_attention, is_causal, explicit scale)",
        "weight_layout": "PyTorch nn.Linear [out_features, in_features]; y = x @ W^T",
        "optimizer": "torch.optim.AdamW, fused=False, foreach=False; eps=1e-8 (torch default)",
        "param_groups": "decay group = params with ndim>=2 (weight_decay as given); no-decay group = ndim<2 (weight_decay 0)",
        "step_order": "forward -> backward -> [clip, only for after_step_clip] -> AdamW step -> zero_grad -> (nGPT) normalize matrices",
        "files": FILES,
    }
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    io = out["io"]
    print(f"wrote {a.out}: loss {io['loss'].item():.6f} loss_step2 {io['loss_step2'].item():.6f} "
          f"grad_norm {io['grad_norm'].item():.6f}")


# ---------------------------------------------------------------------------
# check against a folder
# ---------------------------------------------------------------------------

def max_abs(a, b):
    return (a.double() - b.double()).abs().max().item() if a.numel() else 0.0


def dict_err(ours, ref, mask=None):
    """(max abs err, worst tensor name) over all tensors; mask selects entries."""
    worst, wname = 0.0, ""
    if set(ours) != set(ref):
        raise KeyError(f"names differ: {sorted(set(ours) ^ set(ref))}")
    for n in ref:
        d = (ours[n].double() - ref[n].double()).abs()
        if mask is not None:
            d = d[mask[n]]
        e = d.max().item() if d.numel() else 0.0
        if e > worst:
            worst, wname = e, n
    return worst, wname


def check(dirpath, verbose=True):
    setup_torch()
    with open(os.path.join(dirpath, "config.json")) as f:
        c = json.load(f)
    cfg = PeerConfig(c["vocab_size"], c["n_embd"], c["n_head"], c["n_layer"], c["use_nGPT"], c["rope"])
    if abs(cfg.base_scale - c["base_scale"]) > 1e-12:
        raise ValueError(f"base_scale {c['base_scale']} vs peer {cfg.base_scale}")
    assert c["lr"] == LR and c["beta1"] == BETA1 and c["beta2"] == BETA2 and c["eps"] == EPS
    wd = c["weight_decay"]
    ref = {name: load_file(os.path.join(dirpath, name + ".safetensors"))
           for name in ["weights", "io", "activations", "grads", "after_step", "grads_step2", "after_step2", "after_step_clip"]}
    weights = ref["weights"]

    def factory():
        m = Peer(cfg)
        m.load_tensors(weights)
        return m

    io = ref["io"]
    out = run_pipeline(cfg, factory, io["input_ids"], io["targets"], ref["activations"]["rope_in"], wd)

    g1, g2 = ref["grads"], ref["grads_step2"]
    wc1 = {n: (g == 0) | (g.abs() >= 1e-6) for n, g in g1.items()}
    wc2 = {n: wc1[n] & ((g2[n] == 0) | (g2[n].abs() >= 1e-6)) for n in g1}

    rows = []  # (name, err, tol, detail)
    rows.append(("logits", max_abs(out["io"]["logits"], io["logits"]), 1e-4, ""))
    for k in sorted(ref["activations"]):
        if k == "rope_in":
            continue
        rows.append((f"activation {k}", max_abs(out["activations"][k], ref["activations"][k]), 1e-4, ""))
    rows.append(("loss", max_abs(out["io"]["loss"], io["loss"]), 1e-5, f"{out['io']['loss'].item():.6f}"))
    rows.append(("grad_norm", max_abs(out["io"]["grad_norm"], io["grad_norm"]), 1e-5, f"{out['io']['grad_norm'].item():.6f}"))
    e, n = dict_err(out["grads"], g1)
    rows.append(("grads", e, 1e-5, n))
    # optimizer alone: golden grads in, compare after-step files
    a1, a2 = optimizer_alone(cfg, weights, g1, g2, wd, clip=False)
    (ac,) = optimizer_alone(cfg, weights, g1, g2, wd, clip=True)
    for name, ours in (("after_step", a1), ("after_step2", a2), ("after_step_clip", ac)):
        e, n = dict_err(ours, ref[name])
        rows.append((f"optimizer alone: {name}", e, 1e-6, n))
    # end to end (own gradients)
    rows.append(("end to end: loss_step2", max_abs(out["io"]["loss_step2"], io["loss_step2"]), 1e-5,
                 f"{out['io']['loss_step2'].item():.6f}"))
    e, n = dict_err(out["grads_step2"], g2)
    rows.append(("end to end: grads_step2", e, 1e-5, n))
    for name, wc in (("after_step", wc1), ("after_step2", wc2), ("after_step_clip", wc1)):
        e_all, n_all = dict_err(out[name], ref[name])
        e_wc, n_wc = dict_err(out[name], ref[name], wc)
        inv = {k: ~v for k, v in wc.items()}
        e_ill, _ = dict_err(out[name], ref[name], inv)
        n_ill = sum(int(v.sum()) for v in inv.values())
        rows.append((f"end to end: {name} (well-cond.)", e_wc, 1e-5, n_wc))
        rows.append((f"end to end: {name} (all)", e_all, 2 * LR + 1e-6,
                     f"{n_ill} ill-conditioned entries, worst {e_ill:.2e}"))

    ok = all(e <= tol for _, e, tol, _ in rows)
    if verbose:
        print(f"== {dirpath}  ({'nGPT' if cfg.use_ngpt else 'GPT'}, rope={cfg.rope}, "
              f"V={cfg.vocab_size} C={cfg.n_embd} H={cfg.n_head} L={cfg.n_layer})")
        for name, e, tol, detail in rows:
            print(f"{'ok  ' if e <= tol else 'FAIL'} {name:40s} max abs err {e:9.2e}  tol {tol:7.1e}  {detail}")
        print(f"check: {'PASS' if ok else 'FAIL'}")
    return ok, rows


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--check", nargs="+", metavar="DIR", help="compare the peer against golden folder(s)")
    p.add_argument("--model", choices=["gpt", "ngpt"])
    p.add_argument("--rope", choices=sorted(ROPES), default="standard")
    p.add_argument("--vocab", type=int, default=96)
    p.add_argument("--n-embd", type=int, default=64)
    p.add_argument("--n-head", type=int, default=4)
    p.add_argument("--n-layer", type=int, default=2)
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--seq-len", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-seed", type=int, default=1000)
    p.add_argument("--out", help="output folder")
    a = p.parse_args()
    if a.check:
        results = [check(d)[0] for d in a.check]
        sys.exit(0 if all(results) else 1)
    if not a.model or not a.out:
        p.error("--model and --out are required (or use --check DIR)")
    generate(a)


if __name__ == "__main__":
    main()
