"""PyTorch peer of normlab's GPT and nGPT (NVIDIA/ngpt conventions).

Written from tests/data/reference/README.md (the golden-tensor spec), not
copied from any other code base. It exists to

  * check that our reading of the reference spec reproduces the shipped golden
    folders (scripts/make_golden.py --check DIR),
  * generate extra golden folders with other sizes (scripts/make_golden.py),
  * benchmark PyTorch-CPU against normlab (scripts/bench_torch.py).

Conventions (see the README for the full story):
  * parameter names: transformer.wte.weight, transformer.h.N.{query,key,value,
    att_c_proj,c_fc,mlp_c_proj}.weight, lm_head.weight; GPT: rmsnorm_att /
    rmsnorm_mlp / rmsnorm_f gains; nGPT: attn_alpha, mlp_alpha, sqk, suv, sz.
  * Linear weights in PyTorch layout [out, in], y = x W^T, no biases.
  * no position embedding, untied lm_head, nGPT has no final norm.
  * SwiGLU: c_fc d -> 8d, hidden = first half * SiLU(second half).
  * RMSNorm: x / sqrt(mean(x^2) + 1e-6) * gain.
  * softmax scale 1/sqrt(D) (GPT) and sqrt(D) (nGPT).
  * nGPT scale trick: base_scale = 1/sqrt(n_embd); alpha_eff = |theta*0.05/base|,
    sqk_eff = theta/base, suv_eff = theta*sqrt(n_embd), sz_eff = theta/base.
  * rotary: "reference" (NVIDIA's function, not a rotation) or "standard"
    (interleaved adjacent pairs).
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

RMS_EPS = 1e-6
ROPE_BASE = 10000.0
ALPHA_INIT = 0.05


# ---------------------------------------------------------------------------
# rotary functions; x has positions on axis -2 and head channels on axis -1
# ---------------------------------------------------------------------------

def _angles(T, D, device=None):
    # omega_i = exp(2i * (-ln 10000 / D)), angles t * omega_i, shape [T, D/2]
    i = torch.arange(0, D, 2, dtype=torch.float32, device=device)
    omega = torch.exp(i * (-math.log(ROPE_BASE) / D))
    t = torch.arange(T, dtype=torch.float32, device=device)
    return t[:, None] * omega[None, :]


def rope_reference(x):
    """NVIDIA/ngpt's rotary function (the buggy one, issue NVIDIA/ngpt#10).

    E[t, 2i] = sin(t w_i), E[t, 2i+1] = cos(t w_i); A = E[:, :D/2], B = E[:, D/2:];
    out[2j] = -x[2j+1] * B[t, j]; out[2j+1] = x[2j] * A[t, j].
    """
    T, D = x.shape[-2], x.shape[-1]
    ang = _angles(T, D, x.device)
    E = torch.stack((torch.sin(ang), torch.cos(ang)), dim=-1).reshape(T, D)
    A, B = E[:, : D // 2], E[:, D // 2:]
    x_even, x_odd = x[..., 0::2], x[..., 1::2]
    out_even = -x_odd * B
    out_odd = x_even * A
    return torch.stack((out_even, out_odd), dim=-1).flatten(-2)


def rope_standard(x):
    """Textbook RoPE on interleaved adjacent pairs (2i, 2i+1)."""
    T, D = x.shape[-2], x.shape[-1]
    ang = _angles(T, D, x.device)
    cos, sin = torch.cos(ang), torch.sin(ang)
    x_even, x_odd = x[..., 0::2], x[..., 1::2]
    out_even = x_even * cos - x_odd * sin
    out_odd = x_even * sin + x_odd * cos
    return torch.stack((out_even, out_odd), dim=-1).flatten(-2)


ROPES = {"reference": rope_reference, "standard": rope_standard}


def unit(x, dim=-1):
    """x / ||x||_2 along dim, no epsilon (as the reference)."""
    return x / x.norm(p=2, dim=dim, keepdim=True)


# ---------------------------------------------------------------------------
# modules
# ---------------------------------------------------------------------------

class RMSNorm(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + RMS_EPS) * self.weight


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        C = cfg.n_embd
        self.cfg = cfg
        self.query = nn.Linear(C, C, bias=False)
        self.key = nn.Linear(C, C, bias=False)
        self.value = nn.Linear(C, C, bias=False)
        self.att_c_proj = nn.Linear(C, C, bias=False)
        self.c_fc = nn.Linear(C, 8 * C, bias=False)
        self.mlp_c_proj = nn.Linear(4 * C, C, bias=False)
        if cfg.use_ngpt:
            b = cfg.base_scale
            self.attn_alpha = nn.Parameter(torch.full((C,), b))
            self.mlp_alpha = nn.Parameter(torch.full((C,), b))
            self.sqk = nn.Parameter(torch.full((C,), b))
            self.suv = nn.Parameter(torch.ones(8 * C))
        else:
            self.rmsnorm_att = RMSNorm(C)
            self.rmsnorm_mlp = RMSNorm(C)

    def forward(self, h):
        cfg = self.cfg
        B, T, C = h.shape
        H = cfg.n_head
        D = C // H
        rope = ROPES[cfg.rope]

        # ---- attention ----
        x = h if cfg.use_ngpt else self.rmsnorm_att(h)
        q = F.linear(x, self.query.weight).view(B, T, H, D).transpose(1, 2)  # [B,H,T,D]
        k = F.linear(x, self.key.weight).view(B, T, H, D).transpose(1, 2)
        v = F.linear(x, self.value.weight).view(B, T, H, D).transpose(1, 2)
        q, k = rope(q), rope(k)
        if cfg.use_ngpt:
            s = (self.sqk * (1.0 / cfg.base_scale)).view(1, H, 1, D)
            q = s * unit(q)
            k = s * unit(k)
            scale = math.sqrt(D)
        else:
            scale = 1.0 / math.sqrt(D)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=scale)
        y = y.transpose(1, 2).reshape(B, T, C)
        a = F.linear(y, self.att_c_proj.weight)
        if cfg.use_ngpt:
            alpha = torch.abs(self.attn_alpha * (ALPHA_INIT / cfg.base_scale))
            hn = unit(h)
            h = unit(hn + alpha * (unit(a) - hn))
        else:
            h = h + a

        # ---- SwiGLU MLP ----
        x = h if cfg.use_ngpt else self.rmsnorm_mlp(h)
        uv = F.linear(x, self.c_fc.weight)
        if cfg.use_ngpt:
            uv = uv * (self.suv * math.sqrt(C))
        u, g = uv[..., : 4 * C], uv[..., 4 * C:]
        m = F.linear(u * F.silu(g), self.mlp_c_proj.weight)
        if cfg.use_ngpt:
            alpha = torch.abs(self.mlp_alpha * (ALPHA_INIT / cfg.base_scale))
            hn = unit(h)
            h = unit(hn + alpha * (unit(m) - hn))
        else:
            h = h + m
        return h


class PeerConfig:
    def __init__(self, vocab_size, n_embd, n_head, n_layer, use_ngpt, rope="standard"):
        assert n_embd % n_head == 0 and (n_embd // n_head) % 2 == 0, "head dim must be even"
        assert rope in ROPES
        self.vocab_size = vocab_size
        self.n_embd = n_embd
        self.n_head = n_head
        self.n_layer = n_layer
        self.use_ngpt = bool(use_ngpt)
        self.rope = rope
        self.base_scale = 1.0 / math.sqrt(n_embd) if use_ngpt else 0.02


class Peer(nn.Module):
    """GPT (use_ngpt=False) or nGPT (use_ngpt=True) with the reference's names."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        C, V = cfg.n_embd, cfg.vocab_size
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(V, C),
            h=nn.ModuleList([Block(cfg) for _ in range(cfg.n_layer)]),
        ))
        self.lm_head = nn.Linear(C, V, bias=False)
        if cfg.use_ngpt:
            self.sz = nn.Parameter(torch.full((V,), cfg.base_scale))
        else:
            self.rmsnorm_f = RMSNorm(C)
        self.init_weights()
        if cfg.use_ngpt:
            self.normalize_matrices()

    @torch.no_grad()
    def init_weights(self):
        """N(0, base^2) for every matrix; output projections N(0, (base/sqrt(2L))^2)."""
        b = self.cfg.base_scale
        for mod in self.modules():
            if isinstance(mod, (nn.Linear, nn.Embedding)):
                mod.weight.normal_(0.0, b)
        std_proj = b / math.sqrt(2 * self.cfg.n_layer)
        for blk in self.transformer.h:
            blk.att_c_proj.weight.normal_(0.0, std_proj)
            blk.mlp_c_proj.weight.normal_(0.0, std_proj)

    @torch.no_grad()
    def normalize_matrices(self):
        """nGPT: unit-norm vectors along the C (embedding) side, no epsilon.

        PyTorch dim 1 for wte, lm_head, query/key/value, c_fc; dim 0 for
        att_c_proj and mlp_c_proj.
        """
        assert self.cfg.use_ngpt
        t = self.transformer
        t.wte.weight.copy_(unit(t.wte.weight, 1))
        self.lm_head.weight.copy_(unit(self.lm_head.weight, 1))
        for blk in t.h:
            for lin in (blk.query, blk.key, blk.value, blk.c_fc):
                lin.weight.copy_(unit(lin.weight, 1))
            for lin in (blk.att_c_proj, blk.mlp_c_proj):
                lin.weight.copy_(unit(lin.weight, 0))

    def forward(self, idx, targets=None, collect=None):
        """Returns (logits, loss). If `collect` is a dict, fills embed, block.N, final_norm."""
        h = self.transformer.wte(idx)
        if collect is not None:
            collect["embed"] = h.detach().clone()
        for i, blk in enumerate(self.transformer.h):
            h = blk(h)
            if collect is not None:
                collect[f"block.{i}"] = h.detach().clone()
        if not self.cfg.use_ngpt:
            h = self.rmsnorm_f(h)
            if collect is not None:
                collect["final_norm"] = h.detach().clone()
        logits = F.linear(h, self.lm_head.weight)
        if self.cfg.use_ngpt:
            logits = logits * (self.sz * (1.0 / self.cfg.base_scale))
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)
        return logits, loss

    def state_tensors(self):
        """name -> detached clone of every parameter (reference names)."""
        return {n: p.detach().clone().contiguous() for n, p in self.named_parameters()}

    @torch.no_grad()
    def load_tensors(self, tensors):
        params = dict(self.named_parameters())
        missing = set(params) - set(tensors)
        extra = set(tensors) - set(params)
        if missing or extra:
            raise KeyError(f"weights mismatch: missing {sorted(missing)}, unexpected {sorted(extra)}")
        for n, p in params.items():
            src = tensors[n]
            if tuple(src.shape) != tuple(p.shape):
                raise ValueError(f"{n}: shape {tuple(src.shape)} vs {tuple(p.shape)}")
            p.copy_(src)


def make_optimizer(model, lr, weight_decay, betas=(0.9, 0.95), eps=1e-8, fused=False, foreach=False):
    """AdamW with two groups: wd on tensors with >= 2 dims, 0 on 1-D tensors."""
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    groups = [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=lr, betas=betas, eps=eps, fused=fused, foreach=foreach)


def global_grad_norm(model):
    """Global L2 norm over all gradients (the norm clip_grad_norm_ computes)."""
    norms = [p.grad.detach().norm(2) for p in model.parameters() if p.grad is not None]
    return torch.linalg.vector_norm(torch.stack(norms), 2)


def train_step(model, opt, idx, targets, grad_clip=None):
    """forward -> backward -> (clip) -> AdamW step -> zero_grad -> (nGPT) normalise.

    Returns (loss, grads-before-clip dict, pre-clip global grad norm)."""
    _, loss = model(idx, targets)
    loss.backward()
    grads = {n: p.grad.detach().clone() for n, p in model.named_parameters()}
    gnorm = global_grad_norm(model)
    if grad_clip is not None and grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    opt.step()
    opt.zero_grad(set_to_none=True)
    if model.cfg.use_ngpt:
        model.normalize_matrices()
    return loss.detach(), grads, gnorm
