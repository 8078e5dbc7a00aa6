// One SwiGLU FFN expert's forward on the rows routed to it, in one call, for forward-only use on
// weights packed by PackB (packed_gemm.h): evaluation, inference and the bench's forward
// measures. Through tf ops the same expert is a row gather, three products, the activation and a
// scatter, each a kernel dispatch with a fresh output tensor, per expert and per call; for
// experts of a few dozen rows that fixed cost is a visible share of the layer (BENCHMARKS.md,
// "Sixth pass"). Here the steps are the same functions in the same order (GemmPacked, SwiGlu,
// ScatterAddWeighted) on scratch that stays in cache, so the result has the same bits.
#pragma once
#include <cstdint>

namespace moepp {

// For each slot i < count, with row = x[index[i]·d …] (d values):
//   out[index[i]·d …] += w[weightIndex[i]] · W_down(silu(row · W_gate) ⊙ (row · W_up)),
// skipping slots whose weight is 0, as ScatterAddWeighted does. gate and up are PackB's form of
// (d, hidden) weights, down of a (hidden, d) one. One thread; PackedGemmSupported() must hold.
void PackedSwiGluExpertForward(const float* x, const int32_t* index, const int32_t* weightIndex, int64_t count, const float* w,
                               const float* gate, const float* up, const float* down, int64_t d, int64_t hidden, float* out);

}  // namespace moepp
