// Row kernels of a training step that are not GEMMs (training_math.cc): the vocabulary
// cross-entropy, AdamW's update, the squared norm for global-norm clipping, and the vectorised
// exponentials the layer kernels (layer_math.h) use. Plain pointers and
// sizes; moepp_blas.cc checks every size against the arrays before calling them.
#pragma once
#include <cstdint>

namespace moepp {

// For each row n of logits (rows, cols): lse[n] = log Σ_j exp(logits[n, j]) and
// loss[n] = lse[n] − logits[n, targets[n]]. targets must lie in [0, cols).
void SoftmaxCrossEntropy(const float* logits, const int32_t* targets, int64_t rows, int64_t cols, float* loss, float* lse);

// dlogits[n, j] = scale · (exp(logits[n, j] − lse[n]) − [j == targets[n]]).
void SoftmaxCrossEntropyGrad(const float* logits, const float* lse, const int32_t* targets, int64_t rows, int64_t cols, float scale, float* dlogits);

// out[j] = exp(x[j] − shift) for j < n; returns Σ out, accumulated in float lanes. For the
// causal softmax of causal_attention.cc (vectorised here, with the cross-entropy's exponentials).
float ExpShifted(const float* x, int64_t n, float shift, float* out);

// out[j] = 1 / (1 + exp(−x[j])), for swiglu.cc.
void Sigmoid(const float* x, int64_t n, float* out);

// Σ x² in float64.
double SumOfSquares(const float* x, int64_t n);

// AdamW's scalars for one step, each computed by the caller in float64 and rounded once (as tfjs
// rounds the scalars of the tf-ops update).
struct AdamWStep {
  float beta1, beta2;
  float gradCoefficient1;  // (1 − β₁)·s, s the clip factor applied as the gradient is read
  float gradCoefficient2;  // (1 − β₂)·s²
  float invCorrection2;    // 1 / (1 − β₂ᵗ)
  float epsilon;
  float decayFactor;       // 1 − lr·λ (1 where the parameter is not decayed)
  float stepSize;          // lr / (1 − β₁ᵗ)
};

// m ← β₁m + (1−β₁)s·g, v ← β₂v + (1−β₂)s²·g², p ← p·(1 − lr·λ) − lr/(1−β₁ᵗ) · m / (√(v/(1−β₂ᵗ)) + ε),
// written to pOut, mOut, vOut (which may alias p, m, v).
void AdamWUpdate(const float* p, const float* g, const float* m, const float* v, int64_t n, const AdamWStep& s, float* pOut, float* mOut, float* vOut);

}  // namespace moepp
