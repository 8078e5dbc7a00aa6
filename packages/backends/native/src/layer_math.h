// Fused layer kernels of a training step (rms_norm.cc, swiglu.cc, causal_attention.cc): the
// norms, the SwiGLU activation and causal attention with RoPE, each forward and backward. Written
// in tf ops these are dozens of small (often broadcasting) wasm kernels per layer. Plain pointers
// and sizes, row-major; moepp_blas.cc checks every size against the arrays before calling them.
#pragma once
#include <cstdint>

namespace moepp {

// Per row n of x (rows, d): rstd[n] = 1/√(mean_j x[n, j]² + eps), y[n, j] = x[n, j]·rstd[n]·gain[j].
void RmsNorm(const float* x, const float* gain, int64_t rows, int64_t d, float eps, float* y, float* rstd);

// With dyg = dy·gain: dx = dyg·rstd − x·rstd³·mean_j(dyg·x) per row; dgain = Σ_rows dy·x·rstd.
void RmsNormGrad(const float* x, const float* gain, const float* rstd, const float* dy, int64_t rows, int64_t d, float* dx, float* dgain);

// h = silu(gate)·up = gate·σ(gate)·up, elementwise over n values.
void SwiGlu(const float* gate, const float* up, int64_t n, float* h);

// With s = σ(gate): h = gate·s·up, dup = dh·gate·s, dgate = dh·up·s·(1 + gate·(1 − s)).
void SwiGluGrad(const float* gate, const float* up, const float* dh, int64_t n, float* h, float* dgate, float* dup);

// q, k, v and every (B·T, D) array hold row b·T + t, columns h·hd … h·hd + hd − 1 for head h
// (D = heads·hd): the projections' own layout, so no head is ever transposed into place.
struct AttentionShape {
  int64_t batch, seqLen, heads, headDim;
};

// RoPE ("rotate half", cos/sin (T, hd)) on q and k into qRot, kRot; then per batch and head
// probs (T, T) = causal softmax(qRot·kRotᵀ/√hd) (exact zeros above the diagonal) and out = probs·v.
void CausalAttention(const float* q, const float* k, const float* v, const float* cos, const float* sin, const AttentionShape& s,
                     float* out, float* probs, float* qRot, float* kRot);

// The backward of CausalAttention from its saved qRot, kRot, v and probs: dq, dk (through RoPE),
// dv, each (B·T, D) and overwritten.
void CausalAttentionGrad(const float* qRot, const float* kRot, const float* v, const float* probs, const float* dOut, const float* cos,
                         const float* sin, const AttentionShape& s, float* dq, float* dk, float* dv);

}  // namespace moepp
