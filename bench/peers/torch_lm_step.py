#!/usr/bin/env python3
"""PyTorch peer of the whole small LM's training step (`pnpm bench --measures train_step --peer torch`).

The same decoder LM as @moepp/core's MoeppLM (packages/core/src/model.ts), written as plain
PyTorch modules whose parameter paths are the moepp paths, so the weights load with
load_state_dict and no mapping table:

  embed_tokens (V, D), tied to the LM head
  layers.{i}.attn_norm (D)   RMSNorm x * rsqrt(mean(x^2) + eps) * g
  layers.{i}.attn.w_{q,k,v,o} (D, D)   causal multi-head attention, RoPE "rotate half" (HF LLaMA)
  layers.{i}.ffn_norm (D)
  layers.{i}.moe.router.w_r (D, E), .w_g (E, E) from the second MoE layer on (gating residual)
  layers.{i}.moe.experts.{e}.{w_gate, w_up, w_down | w_c, v}   FFN / constant experts
  layers.{i}.ffn.{w_gate, w_up, w_down}   dense blocks (moeInterval > 1)
  norm (D)

Weights are (in, out), used as x @ W. The MoE layer is torch_moe.py's: `reference` gating (logits
over the unbiased std, softmax over all E, top-K, zero experts weight 0, renormalised), dropless
per-expert dispatch with index_select / index_add. The loss is cross-entropy + beta * mean over
layers of the heterogeneous balance loss sum_i eta_i f_i P_i (+ z-loss when its coefficient is not
0). The step is backward, global-norm clipping as gradient-clipping.ts (scale by clip/norm when the
norm exceeds clip), and torch.optim.AdamW with decoupled weight decay on matrices only (rank >= 2),
which is the arithmetic of training/adamw.ts.

Usage: torch_lm_step.py <step.safetensors>. That file (written by train-step-peer.ts) holds, per
model key: the batch `{key}.inputs`, `{key}.targets` (B, T) (ids as float32, exact below 2**24);
our results of one step from the saved weights — `{key}.expect.grad.{path}` (before clipping),
`{key}.expect.updated.{path}` (after the AdamW update), `{key}.expect.topk.{layer}` (N, K) — and
metadata `spec` (JSON): threads, models [{key, weights (a file beside this one, written by core's
saveModelWeights; its metadata holds the model config), lr, clip, beta1, beta2, epsilon,
weight_decay, loss, ce, aux_loss, z_loss, grad_norm}], timing {warmup, reps, min_reps,
max_seconds}, tolerance {rtol, atol, norm_rtol}, check_only.

It first takes one step from the saved weights and compares the loss terms, the gradient norm,
every gradient and every updated weight with ours; any difference over atol + rtol * max|ours|
(norm_rtol for the gradient norm) exits with status 3 after printing the report. Then it times steps of every model interleaved in
rounds, as torch_moe.py does. One JSON object on stdout. Run it with glibc's
MALLOC_MMAP_THRESHOLD_ and MALLOC_TRIM_THRESHOLD_ raised (train-step-peer.ts does), or its (N, V)
buffers are mapped and page-faulted afresh every step.
"""
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

from openblas_threads import require_openblas_threads
from torch_moe import MIN_LOGIT_STD, quantile, read_safetensors

# A near tie of the K-th and (K+1)-th logit that float32 round-off may order either way.
NEAR_TIE = 1e-5
FFN_LIKE = {"ffn"}


def rms_norm(x, gain, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * gain


def rope_tables(seq_len, head_dim, theta):
    """cos, sin (T, hd): angle(t, i) = t * theta^(-2i/hd) for both halves, in float64 as rope.ts."""
    half = head_dim // 2
    t = torch.arange(seq_len, dtype=torch.float64)[:, None]
    i = torch.arange(half, dtype=torch.float64)[None, :]
    angle = t * theta ** (-2 * i / head_dim)
    angle = torch.cat([angle, angle], dim=1)
    return angle.cos().float(), angle.sin().float()


def rotate_half(x):
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat([-x2, x1], dim=-1)


class Attention(nn.Module):
    def __init__(self, d, n_heads):
        super().__init__()
        self.n_heads = n_heads
        for name in ("w_q", "w_k", "w_v", "w_o"):
            setattr(self, name, nn.Parameter(torch.empty(d, d)))

    def forward(self, x, cos, sin, causal):
        b, t, d = x.shape
        hd = d // self.n_heads

        def heads(w):
            return (x @ w).view(b, t, self.n_heads, hd).transpose(1, 2)  # (B, H, T, hd)

        q, k, v = heads(self.w_q), heads(self.w_k), heads(self.w_v)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hd))  # (B, H, T, T)
        scores = scores.masked_fill(causal, float("-inf"))
        mixed = torch.softmax(scores, dim=-1) @ v  # (B, H, T, hd)
        return mixed.transpose(1, 2).reshape(b, t, d) @ self.w_o


class FfnExpert(nn.Module):
    def __init__(self, d, hidden):
        super().__init__()
        self.w_gate = nn.Parameter(torch.empty(d, hidden))
        self.w_up = nn.Parameter(torch.empty(d, hidden))
        self.w_down = nn.Parameter(torch.empty(hidden, d))

    def forward(self, x):
        return (F.silu(x @ self.w_gate) * (x @ self.w_up)) @ self.w_down


class ConstantExpert(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.w_c = nn.Parameter(torch.empty(d, 2))
        self.v = nn.Parameter(torch.empty(d))

    def forward(self, x):
        a = torch.softmax(x @ self.w_c, dim=1)
        return a[:, :1] * x + a[:, 1:] * self.v


class CopyExpert(nn.Module):
    def forward(self, x):
        return x


class ZeroExpert(nn.Module):
    """Never run: the layer skips it (its weight is 0 anyway)."""


def make_expert(kind, d, hidden):
    if kind == "ffn":
        return FfnExpert(d, hidden)
    if kind == "constant":
        return ConstantExpert(d)
    if kind == "copy":
        return CopyExpert()
    if kind == "zero":
        return ZeroExpert()
    raise SystemExit(f"torch_lm_step.py: no PyTorch version of expert kind '{kind}'")


class Router(nn.Module):
    def __init__(self, d, experts, residual):
        super().__init__()
        self.w_r = nn.Parameter(torch.empty(d, experts))
        self.w_g = nn.Parameter(torch.empty(experts, experts)) if residual else None


class MoeLayer(nn.Module):
    def __init__(self, d, kinds, cfg, residual):
        super().__init__()
        self.kinds = kinds
        self.top_k = cfg["topK"]
        self.tau = cfg["tau"]
        self.router = Router(d, len(kinds), residual)
        self.experts = nn.ModuleList(make_expert(k, d, cfg["ffnHidden"]) for k in kinds)
        self.register_buffer("not_zero", torch.tensor([0.0 if k == "zero" else 1.0 for k in kinds]), persistent=False)
        self.register_buffer("eta", torch.tensor([1.0 if k in FFN_LIKE else self.tau for k in kinds]), persistent=False)

    def forward(self, x, prev_logits, forced_topk=None):
        """x (N, D) -> (output (N, D), logits passed on (N, E), balance loss, top-K (N, K))."""
        logits = x @ self.router.w_r
        if self.router.w_g is not None and prev_logits is not None:
            logits = logits + prev_logits @ self.router.w_g
        std = logits.std(dim=1, keepdim=True, unbiased=True).clamp_min(MIN_LOGIT_STD)
        probs = torch.softmax(logits / std, dim=1)  # (N, E)
        top_i = probs.topk(self.top_k, dim=1).indices if forced_topk is None else forced_topk
        top_p = probs.gather(1, top_i)
        keep = self.not_zero[top_i]
        raw = top_p * keep
        # Only zero experts selected: weights 0 (divide by 1), never NaN.
        top_w = raw / (raw.sum(dim=1, keepdim=True) + (keep.sum(dim=1, keepdim=True) == 0).to(raw.dtype))

        out = torch.zeros_like(x)
        for e, (kind, expert) in enumerate(zip(self.kinds, self.experts)):
            if kind == "zero":
                continue
            token, slot = torch.where(top_i == e)
            if token.numel() == 0:
                continue
            ye = expert(x.index_select(0, token))
            out = out.index_add(0, token, ye * top_w[token, slot].unsqueeze(1))

        n = x.shape[0]
        f = torch.zeros(len(self.kinds)).index_add_(0, top_i.reshape(-1), torch.ones(top_i.numel())) / n  # no gradient
        balance = (self.eta * f * probs.mean(0)).sum()
        return out, logits, balance, top_i


class Block(nn.Module):
    def __init__(self, d, n_heads, moe, dense_hidden):
        super().__init__()
        self.attn_norm = nn.Parameter(torch.ones(d))
        self.attn = Attention(d, n_heads)
        self.ffn_norm = nn.Parameter(torch.ones(d))
        self.moe = moe
        self.ffn = FfnExpert(d, dense_hidden) if moe is None else None


class LM(nn.Module):
    """MoeppLM's forward: embeddings, pre-norm blocks, final RMSNorm, tied (or separate) LM head."""

    def __init__(self, cfg, kinds_per_layer):
        super().__init__()
        d = cfg["dModel"]
        self.cfg = cfg
        moe_cfg = cfg["moe"]
        if moe_cfg is not None:
            if moe_cfg["gating"] != "reference":
                raise SystemExit(f"torch_lm_step.py implements the 'reference' gating only, not '{moe_cfg['gating']}'")
            if moe_cfg["capacityFactor"] is not None:
                raise SystemExit("torch_lm_step.py is dropless; the config has a capacity factor")
        self.embed_tokens = nn.Parameter(torch.empty(cfg["vocabSize"], d))
        blocks = []
        moe_index = 0
        for i in range(cfg["nLayers"]):
            moe = None
            if moe_cfg is not None and i % cfg["moeInterval"] == cfg["moeInterval"] - 1:
                residual = moe_cfg["gatingResidual"] and moe_index > 0
                moe = MoeLayer(d, kinds_per_layer[moe_index], moe_cfg, residual)
                moe_index += 1
            blocks.append(Block(d, cfg["nHeads"], moe, cfg["denseFfnHidden"]))
        self.layers = nn.ModuleList(blocks)
        self.norm = nn.Parameter(torch.ones(d))
        self.lm_head = None if cfg["tieEmbeddings"] else nn.Parameter(torch.empty(d, cfg["vocabSize"]))
        self.tables = {}

    def forward(self, inputs, targets, forced_topk=None, gaps=None):
        """Loss, its terms, the top-K of every MoE layer; `gaps` collects each layer's (N) logit gap
        between the K-th and (K+1)-th expert, where ranking may flip with round-off."""
        cfg = self.cfg
        b, t = inputs.shape
        if t not in self.tables:
            cos, sin = rope_tables(t, cfg["dModel"] // cfg["nHeads"], cfg["ropeTheta"])
            self.tables[t] = cos, sin, torch.ones(t, t, dtype=torch.bool).triu(1)  # True above the diagonal: the future
        cos, sin, causal = self.tables[t]
        eps = cfg["normEps"]
        h = F.embedding(inputs, self.embed_tokens)  # (B, T, D)
        prev = None
        balance, z_terms, topks = [], [], []
        for block in self.layers:
            h = h + block.attn(rms_norm(h, block.attn_norm, eps), cos, sin, causal)
            x = rms_norm(h, block.ffn_norm, eps).reshape(b * t, -1)  # (N, D)
            if block.moe is None:
                h = h + block.ffn(x).view(b, t, -1)
                continue
            out, prev, lb, top_i = block.moe(x, prev, None if forced_topk is None else forced_topk[len(topks)])
            if gaps is not None and prev.shape[1] > block.moe.top_k:
                top = prev.detach().topk(block.moe.top_k + 1, dim=1).values
                gaps.append(top[:, -2] - top[:, -1])
            elif gaps is not None:
                gaps.append(torch.full((b * t,), math.inf))
            h = h + out.view(b, t, -1)
            balance.append(lb)
            z_terms.append(torch.logsumexp(prev, dim=1).pow(2).mean())
            topks.append(top_i)
        final = rms_norm(h, self.norm, eps)
        logits = final @ self.lm_head if self.lm_head is not None else F.linear(final, self.embed_tokens)  # (B, T, V)
        ce = F.cross_entropy(logits.reshape(b * t, -1), targets.reshape(-1))
        aux = torch.stack(balance).mean() if balance else torch.zeros(())
        z = torch.stack(z_terms).mean() if z_terms else torch.zeros(())
        loss = ce + cfg["routerAuxLossCoef"] * aux
        if cfg["routerZLossCoef"] != 0:
            loss = loss + cfg["routerZLossCoef"] * z
        return loss, {"ce": ce, "aux_loss": aux, "z_loss": z}, topks


def global_norm(grads):
    return torch.sqrt(sum(g.pow(2).sum() for g in grads)).item()


def clip_by_global_norm(params, max_norm):
    """gradient-clipping.ts: scale every gradient by max_norm / norm when the finite norm exceeds max_norm."""
    grads = [p.grad for p in params if p.grad is not None]
    norm = global_norm(grads)
    if math.isfinite(norm) and norm > max_norm:
        scale = max_norm / norm
        for g in grads:
            g.mul_(scale)
    return norm


class Model:
    """One model of the comparison: the LM, its optimizer and its batch."""

    def __init__(self, entry, tensors, base_dir):
        self.key = entry["key"]
        self.entry = entry
        weights, meta = read_safetensors(os.path.join(base_dir, entry["weights"]))
        cfg = json.loads(meta["config"])
        self.lm = LM(cfg, json.loads(meta["expert_kinds"]))
        self.lm.load_state_dict(weights, strict=True)
        self.names = [n for n, _ in self.lm.named_parameters()]
        self.params = [p for _, p in self.lm.named_parameters()]
        matrices = [p for p in self.params if p.dim() >= 2]
        vectors = [p for p in self.params if p.dim() < 2]
        self.optimizer = torch.optim.AdamW(
            [{"params": matrices, "weight_decay": entry["weight_decay"]}, {"params": vectors, "weight_decay": 0.0}],
            lr=entry["lr"], betas=(entry["beta1"], entry["beta2"]), eps=entry["epsilon"],
        )
        self.inputs = tensors[f"{self.key}.inputs"].to(torch.int64)
        self.targets = tensors[f"{self.key}.targets"].to(torch.int64)
        self.ffn_like = [torch.tensor([k in FFN_LIKE for k in kinds]) for kinds in json.loads(meta["expert_kinds"])]
        self.ffn_per_token = []

    def step(self, forced_topk=None, observe=None):
        self.optimizer.zero_grad(set_to_none=True)
        loss, terms, topks = self.lm(self.inputs, self.targets, forced_topk)
        loss.backward()
        # As MoeppLM.lossAndGradients: a parameter off the batch's path (an FFN expert no token
        # chose) gets a zero gradient, so AdamW still decays it and its moments.
        for p in self.params:
            if p.grad is None:
                p.grad = torch.zeros_like(p)
        if observe is not None:
            observe(loss, terms)
        norm = clip_by_global_norm(self.params, self.entry["clip"])
        self.optimizer.step()
        self.ffn_per_token.append([float(ffn[t].sum()) / t.shape[0] for ffn, t in zip(self.ffn_like, topks)])
        return loss.item(), norm


def routing_against_ours(model, tensors):
    """Our top-K per layer, the token-layers where torch's differs, and how many of those are not near ties."""
    wanted = [tensors[f"{model.key}.expect.topk.{layer}"].to(torch.int64) for layer in range(len(model.ffn_like))]
    gaps = []
    with torch.no_grad():
        _, _, mine = model.lm(model.inputs, model.targets, None, gaps=gaps)
    differ = real = 0
    for a, b, gap in zip(mine, wanted, gaps):
        bad = (a.sort(dim=1).values != b.sort(dim=1).values).any(dim=1)
        differ += int(bad.sum())
        real += int((bad & (gap > NEAR_TIE)).sum())
    return wanted, differ, real


def check(model, tensors, tolerance):
    """One step from the saved weights, compared with ours: loss terms, norm, gradients, updated weights."""
    rtol, atol = tolerance["rtol"], tolerance["atol"]
    before = {n: p.detach().clone() for n, p in zip(model.names, model.params)}
    wanted, differ, real = routing_against_ours(model, tensors)
    rows, notes = [], []

    def add(what, got, ref, rtol=rtol):
        got, ref = torch.as_tensor(got, dtype=torch.float64), torch.as_tensor(ref, dtype=torch.float64)
        diff = float((got - ref).abs().max())
        scale = float(ref.abs().max())
        rows.append({"key": model.key, "measure": "train_step", "what": what, "max_abs_diff": diff, "max_abs": scale, "ok": diff <= atol + rtol * scale})

    # Routing that differs only where the K-th and (K+1)-th logits tie to float32 round-off is no
    # disagreement about the model: take ours there, so the rest of the step compares like for like.
    routing = {"differing": differ, "not_near_ties": real}
    if differ:
        notes.append(f"{model.key}: torch chose other experts than ours for {differ} token-layers ({real} not near ties); the check step used our top-K")
    seen = {}

    def observe(loss, terms):
        seen["loss"] = loss.item()
        seen.update({k: v.item() for k, v in terms.items()})
        seen["grad_norm"] = global_norm([p.grad for p in model.params])
        for n, p in zip(model.names, model.params):
            seen[f"grad.{n}"] = p.grad.detach().clone()
            # The update is checked on our gradients: Adam's first step is about g / (|g| + eps)
            # elementwise, so a round-off difference in a gradient entry near eps would move that
            # weight by up to lr, whatever the gradients' agreement.
            p.grad = tensors[f"{model.key}.expect.grad.{n}"].clone()

    model.step(wanted if differ else None, observe)
    for what in ("loss", "ce", "aux_loss", "z_loss"):
        add(what, seen[what], model.entry[what])
    add("grad_norm", seen["grad_norm"], model.entry["grad_norm"], tolerance["norm_rtol"])
    for n in model.names:
        add(f"grad.{n}", seen[f"grad.{n}"], tensors[f"{model.key}.expect.grad.{n}"])
    for n, p in zip(model.names, model.params):
        ref = tensors[f"{model.key}.expect.updated.{n}"]
        add(f"updated.{n}", p.detach(), ref)
        # The step itself, new - old: under a small lr the updated weights alone would hide it.
        add(f"update.{n}", p.detach() - before[n], ref - before[n])
    return rows, notes, routing


def main():
    args = sys.argv[1:]
    if not args:
        raise SystemExit("usage: torch_lm_step.py <step.safetensors>")
    tensors, meta = read_safetensors(args[0])
    spec = json.loads(meta["spec"])
    threads = int(spec["threads"])
    torch.set_num_threads(threads)
    openblas_threads, openblas_library = require_openblas_threads(threads)
    base_dir = os.path.dirname(os.path.abspath(args[0]))
    models = [Model(entry, tensors, base_dir) for entry in spec["models"]]

    checks, notes, routing = [], [], {}
    for m in models:
        rows, n, routing[m.key] = check(m, tensors, spec["tolerance"])
        checks += rows
        notes += n
    failed = [f"{c['key']} {c['what']}: {c['max_abs_diff']:.3g} (max |ours| {c['max_abs']:.3g})" for c in checks if not c["ok"]]
    failed += [f"{k} routing: {r['not_near_ties']} token-layers chose other experts than ours where no logits tie" for k, r in routing.items() if r["not_near_ties"]]

    times = {}
    if not failed and not spec.get("check_only"):
        timing = spec["timing"]
        for _ in range(timing["warmup"]):
            for m in models:
                m.step()
        for m in models:
            m.ffn_per_token.clear()
        planned = timing["reps"]
        rounds = 0
        while rounds < planned:
            t_round = time.perf_counter()
            for m in models:
                t0 = time.perf_counter()
                m.step()
                times.setdefault(m.key, []).append((time.perf_counter() - t0) * 1000)
            if rounds == 0:
                round_ms = (time.perf_counter() - t_round) * 1000
                fit = int(timing["max_seconds"] * 1000 // max(round_ms, 1e-9))
                planned = max(timing["min_reps"], min(timing["reps"], fit))
            rounds += 1

    summary = {k: {"median_ms": quantile(v, 0.5), "p20_ms": quantile(v, 0.2), "p80_ms": quantile(v, 0.8), "reps": len(v)} for k, v in times.items()}
    ffn = {m.key: [sum(r[l] for r in m.ffn_per_token) / len(m.ffn_per_token) for l in range(len(m.ffn_like))] if m.ffn_per_token else [] for m in models}
    print(json.dumps({
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "openblas_threads": openblas_threads,
        "openblas_library": openblas_library,
        "malloc": " ".join(f"{k}={os.environ[k]}" for k in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_") if k in os.environ) or "default",
        "checks": checks,
        "failed": failed,
        "notes": notes,
        "routing": routing,
        "times": summary,
        "ffn_per_token": ffn,
    }))
    if failed:
        sys.exit(3)


if __name__ == "__main__":
    main()
