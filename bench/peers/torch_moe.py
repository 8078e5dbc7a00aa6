#!/usr/bin/env python3
"""PyTorch peer of the MoE / MoE++ layer benchmark (`pnpm bench --peer torch`).

A faithful, idiomatic PyTorch implementation of the same layer as @moepp/core
(docs: /work/shared/design/moepp-method.md §2-§4, `reference` gating):

  router   G = x W_r (+ G_prev W_g for MoE++), z = G / std_E(G) (unbiased), p = softmax(z),
           top-K of p, a selected zero expert gets weight 0, the K weights renormalised to 1
  experts  per-expert dispatch as in Hugging Face Mixtral / OLMoE: for each expert, the tokens
           that chose it (torch.where on the top-K indices), index_select their rows, run the
           expert, scale by the routing weight and index_add_ the result back
           FFN: SwiGLU W_down(silu(x W_gate) * (x W_up)); copy: x; constant: softmax(x W_c) mix
           of x and v; zero: nothing

It reads the weights, the inputs and the routing from a .safetensors file written by the
TypeScript bench (tensor names below), checks that its outputs (and gradients) equal the ones the
bench computed with the same weights, then times the same measures with the same statistics,
interleaving MoE and MoE++ in rounds. It prints one JSON object on stdout.

Needs only torch and numpy (Debian: python3-torch, libopenblas0-pthread); the .safetensors file
is parsed here directly, so the `safetensors` package is not needed. The spec's thread count is
set on torch and on its OpenBLAS (openblas_threads.py), and OpenBLAS's own report of it is in the
output as `openblas_threads` (null when torch does not use OpenBLAS).

Tensors in the file (float32; indices stored as float32, exact below 2**24):
  experts.{e}.w_gate (D, I), experts.{e}.w_up (D, I), experts.{e}.w_down (I, D)   shared FFN experts
  {impl}.router.w_r (D, E), moepp.router.w_g (E, E), {impl}.experts.{e}.w_c (D, 2), .v (D)
  case.{key}.x (N, D), case.{key}.prev (N, E) (MoE++ only), case.{key}.dy (N, D), case.{key}.topk (N, K)
  expect.{key}.{measure}.output (N, D) | expect.{key}.layer_forward_backward.{dx | grad.<name>}
Metadata `spec` (JSON): d_model, d_ffn, top_k, threads, impls {impl: {kinds, residual}},
  cases [{key, impl, tau, tokens}], measures [...], timing {warmup, reps, min_reps, max_seconds},
  check_only (bool).
"""
import json
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

from openblas_threads import require_openblas_threads

MIN_LOGIT_STD = 1e-6


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    meta = header.pop("__metadata__", {})
    base = 8 + n
    tensors = {}
    for name, info in header.items():
        if info["dtype"] != "F32":
            raise SystemExit(f"{path}: tensor {name} has dtype {info['dtype']}, expected F32")
        a, b = info["data_offsets"]
        arr = np.frombuffer(data, dtype="<f4", count=(b - a) // 4, offset=base + a).reshape(info["shape"])
        tensors[name] = torch.from_numpy(arr.copy())
    return tensors, meta


class Layer:
    """One MoE / MoE++ layer's parameters (plain tensors, as in a functional forward)."""

    def __init__(self, impl, kinds, residual, tensors):
        self.impl = impl
        self.kinds = kinds
        self.w_r = tensors[f"{impl}.router.w_r"]
        self.w_g = tensors[f"{impl}.router.w_g"] if residual else None
        self.experts = []
        for e, kind in enumerate(kinds):
            if kind == "ffn":
                self.experts.append({k: tensors[f"experts.{e}.{k}"] for k in ("w_gate", "w_up", "w_down")})
            elif kind == "constant":
                self.experts.append({"w_c": tensors[f"{impl}.experts.{e}.w_c"], "v": tensors[f"{impl}.experts.{e}.v"]})
            else:
                self.experts.append(None)
        self.not_zero = torch.tensor([0.0 if k == "zero" else 1.0 for k in kinds])

    def named_parameters(self):
        out = {"router.w_r": self.w_r}
        if self.w_g is not None:
            out["router.w_g"] = self.w_g
        for e, p in enumerate(self.experts):
            if p is None:
                continue
            for k, v in p.items():
                out[f"experts.{e}.{k}"] = v
        return out

    def requires_grad_(self, flag):
        for t in self.named_parameters().values():
            t.requires_grad_(flag)

    def route(self, x, prev, top_k):
        """(top-K indices (N, K), their routing weights (N, K))."""
        logits = x @ self.w_r
        if self.w_g is not None and prev is not None:
            logits = logits + prev @ self.w_g
        std = logits.std(dim=1, keepdim=True, unbiased=True).clamp_min(MIN_LOGIT_STD)
        probs = torch.softmax(logits / std, dim=1)
        top_p, top_i = probs.topk(top_k, dim=1)
        raw = top_p * self.not_zero[top_i]
        total = raw.sum(dim=1, keepdim=True)
        # Only zero experts selected: weights 0 (divide by 1), never NaN.
        safe = total + (self.not_zero[top_i].sum(dim=1, keepdim=True) == 0).to(total.dtype)
        return top_i, raw / safe

    def experts_forward(self, x, top_i, top_w):
        """Per-expert dispatch: index_select the expert's tokens, run it, index_add back."""
        out = torch.zeros_like(x)
        for e, kind in enumerate(self.kinds):
            if kind == "zero":
                continue
            token, slot = torch.where(top_i == e)
            if token.numel() == 0:
                continue
            w = top_w[token, slot].unsqueeze(1)
            xe = x.index_select(0, token)
            p = self.experts[e]
            if kind == "ffn":
                ye = (F.silu(xe @ p["w_gate"]) * (xe @ p["w_up"])) @ p["w_down"]
            elif kind == "copy":
                ye = xe
            else:  # constant
                a = torch.softmax(xe @ p["w_c"], dim=1)
                ye = a[:, :1] * xe + a[:, 1:] * p["v"]
            out = out.index_add(0, token, ye * w)
        return out

    def forward(self, x, prev, top_k):
        top_i, top_w = self.route(x, prev, top_k)
        return self.experts_forward(x, top_i, top_w)


def quantile(values, q):
    return float(np.quantile(np.asarray(values), q))


def main():
    args = sys.argv[1:]
    if not args:
        raise SystemExit("usage: torch_moe.py <bench-spec.safetensors>")
    tensors, meta = read_safetensors(args[0])
    spec = json.loads(meta["spec"])
    threads = int(spec.get("threads", 2))
    torch.set_num_threads(threads)
    # torch.set_num_threads does not reach Debian torch's OpenBLAS pool: set and verify it there.
    openblas_threads, openblas_library = require_openblas_threads(threads)
    top_k = spec["top_k"]
    layers = {impl: Layer(impl, v["kinds"], v["residual"], tensors) for impl, v in spec["impls"].items()}
    cases = spec["cases"]
    measures = spec["measures"]
    timing = spec["timing"]

    inputs = {}
    for c in cases:
        key = c["key"]
        layer = layers[c["impl"]]
        x = tensors[f"case.{key}.x"]
        prev = tensors.get(f"case.{key}.prev")
        with torch.no_grad():
            top_i, top_w = layer.route(x, prev, top_k)
        wanted = tensors[f"case.{key}.topk"].to(torch.int64)
        if not torch.equal(top_i, wanted):
            bad = int((top_i != wanted).any(dim=1).sum())
            raise SystemExit(f"case {key}: torch's router chose other experts than the bench for {bad} tokens")
        inputs[key] = (layer, x, prev, tensors[f"case.{key}.dy"], top_i, top_w)

    def call(measure, key):
        layer, x, prev, dy, top_i, top_w = inputs[key]
        if measure == "expert_forward":
            with torch.no_grad():
                return {"output": layer.experts_forward(x, top_i, top_w)}
        if measure == "layer_forward":
            with torch.no_grad():
                return {"output": layer.forward(x, prev, top_k)}
        xg = x.detach().requires_grad_(True)
        params = layer.named_parameters()
        for p in params.values():
            p.grad = None
            p.requires_grad_(True)
        y = layer.forward(xg, prev, top_k)
        y.backward(dy)
        out = {"dx": xg.grad}
        for name, p in params.items():
            if p.grad is not None:
                out[f"grad.{name}"] = p.grad
        layer.requires_grad_(False)
        return out

    checks = []
    for measure in measures:
        for c in cases:
            key = c["key"]
            got = call(measure, key)
            for what, value in got.items():
                ref = tensors.get(f"expect.{key}.{measure}.{what}")
                if ref is None:
                    continue
                diff = (value.detach() - ref).abs().max().item()
                checks.append({"key": key, "measure": measure, "what": what, "max_abs_diff": diff, "max_abs": ref.abs().max().item()})

    times = {}
    if not spec.get("check_only"):
        for measure in measures:
            keys = [c["key"] for c in cases]
            for _ in range(timing["warmup"]):
                for key in keys:
                    call(measure, key)
            planned = timing["reps"]
            rounds = 0
            while rounds < planned:
                t_round = time.perf_counter()
                for key in keys:
                    t0 = time.perf_counter()
                    call(measure, key)
                    times.setdefault(f"{measure}|{key}", []).append((time.perf_counter() - t0) * 1000)
                if rounds == 0:
                    round_ms = (time.perf_counter() - t_round) * 1000
                    fit = int(timing["max_seconds"] * 1000 // max(round_ms, 1e-9))
                    planned = max(timing["min_reps"], min(timing["reps"], fit))
                rounds += 1

    summary = {
        k: {"median_ms": quantile(v, 0.5), "p20_ms": quantile(v, 0.2), "p80_ms": quantile(v, 0.8), "reps": len(v)}
        for k, v in times.items()
    }
    print(json.dumps({
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "openblas_threads": openblas_threads,
        "openblas_library": openblas_library,
        "checks": checks,
        "times": summary,
    }))


if __name__ == "__main__":
    main()
