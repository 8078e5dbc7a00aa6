// The host executor's row moves (row_ops.cc): the weighted combine of experts' output rows into
// their tokens' rows and its backward. Arithmetic in float64 rounded once per stored value, in
// the same order as the JS loops of @moepp/backends' row-ops.ts, so both give the same bits.
// moepp_blas.cc checks every index against the arrays before calling these.
#pragma once
#include <cstdint>

namespace moepp {

// out[index[i]·d + j] += w[weightIndex[i]] · y[i·d + j], for each slot i whose weight is not 0.
void ScatterAddWeighted(float* out, const float* y, const float* w, const int32_t* index, const int32_t* weightIndex, int64_t count, int64_t d);

// dst[i·d + j] = w[weightIndex[i]] · g[index[i]·d + j].
void GatherWeighted(float* dst, const float* g, const float* w, const int32_t* index, const int32_t* weightIndex, int64_t count, int64_t d);

// dx[index[i]·d + j] += dxe[i·d + j] and dW[weightIndex[i]] += Σ_j y[i·d + j] · g[index[i]·d + j].
void ScatterAddWithDot(float* dx, float* dW, const float* dxe, const float* y, const float* g, const int32_t* index, const int32_t* weightIndex, int64_t count, int64_t d);

}  // namespace moepp
