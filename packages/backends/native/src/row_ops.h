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

// The token-wise experts' combine (E(x) = a(x)·x + b(x), evaluated for all tokens at once):
// out[n] = Σ_j x[n·d + j] · v[j] for each row n whose mask[n] is not 0, and 0 for the others. The
// sum runs in eight float64 lanes, lane k over the j with j mod 8 = k, combined as
// ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7)): row-ops.ts's laneDot, so both give the same bits.
void RowDots(const float* x, const float* v, const float* mask, int64_t rows, int64_t d, double* out);

// out[n·d + j] += c[n] · v[j], for each row n whose c[n] is not 0.
void AddScaledVector(float* out, const double* c, const float* v, int64_t rows, int64_t d);

// out[n·d + j] += c[n] · x[n·d + j], for each row n whose c[n] is not 0.
void AddScaledRows(float* out, const double* c, const float* x, int64_t rows, int64_t d);

// out[n] = Σ_j a[n·d + j] · b[n·d + j] for each row n, in RowDots's eight lanes and order.
void PairDots(const float* a, const float* b, int64_t rows, int64_t d, double* out);

// out[j] += Σ_n c[n] · x[n·d + j] over the rows n whose c[n] is not 0, each sum in float64 in row
// order, rounded once as it is stored (row-ops.ts's addWeightedRowSum).
void AddWeightedRowSum(float* out, const double* c, const float* x, int64_t rows, int64_t d);

}  // namespace moepp
