// The row moves of row_ops.h. Built with the addon's strict IEEE flags: every value is computed
// in float64 and rounded to float32 once, as JS does when it stores into a Float32Array.
#include "row_ops.h"

#include <cstddef>
#include <vector>

namespace moepp {

void ScatterAddWeighted(float* out, const float* y, const float* w, const int32_t* index, const int32_t* weightIndex, int64_t count, int64_t d) {
  for (int64_t i = 0; i < count; i++) {
    const double wi = w[weightIndex[i]];
    if (wi == 0) continue;
    float* o = out + static_cast<int64_t>(index[i]) * d;
    const float* yi = y + i * d;
    for (int64_t j = 0; j < d; j++) o[j] = static_cast<float>(static_cast<double>(o[j]) + wi * static_cast<double>(yi[j]));
  }
}

void GatherWeighted(float* dst, const float* g, const float* w, const int32_t* index, const int32_t* weightIndex, int64_t count, int64_t d) {
  for (int64_t i = 0; i < count; i++) {
    const double wi = w[weightIndex[i]];
    const float* gi = g + static_cast<int64_t>(index[i]) * d;
    float* di = dst + i * d;
    for (int64_t j = 0; j < d; j++) di[j] = static_cast<float>(wi * static_cast<double>(gi[j]));
  }
}

void ScatterAddWithDot(float* dx, float* dW, const float* dxe, const float* y, const float* g, const int32_t* index, const int32_t* weightIndex, int64_t count, int64_t d) {
  for (int64_t i = 0; i < count; i++) {
    const int64_t t = static_cast<int64_t>(index[i]) * d;
    const float* dxi = dxe + i * d;
    const float* yi = y + i * d;
    double dot = 0;
    for (int64_t j = 0; j < d; j++) {
      dx[t + j] = static_cast<float>(static_cast<double>(dx[t + j]) + static_cast<double>(dxi[j]));
      dot += static_cast<double>(yi[j]) * static_cast<double>(g[t + j]);
    }
    dW[weightIndex[i]] = static_cast<float>(static_cast<double>(dW[weightIndex[i]]) + dot);
  }
}

namespace {

// Σ_j a[j] · b[j] over d values in eight float64 lanes (row-ops.ts's laneDot).
double LaneDot(const float* a, const float* b, int64_t d) {
  double lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t j = 0;
  for (; j + 8 <= d; j += 8) {
    for (int k = 0; k < 8; k++) lane[k] += static_cast<double>(a[j + k]) * static_cast<double>(b[j + k]);
  }
  for (int k = 0; j + k < d; k++) lane[k] += static_cast<double>(a[j + k]) * static_cast<double>(b[j + k]);
  return ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
}

}  // namespace

void RowDots(const float* x, const float* v, const float* mask, int64_t rows, int64_t d, double* out) {
  for (int64_t n = 0; n < rows; n++) out[n] = mask[n] == 0 ? 0 : LaneDot(x + n * d, v, d);
}

void PairDots(const float* a, const float* b, int64_t rows, int64_t d, double* out) {
  for (int64_t n = 0; n < rows; n++) out[n] = LaneDot(a + n * d, b + n * d, d);
}

void AddWeightedRowSum(float* out, const double* c, const float* x, int64_t rows, int64_t d) {
  std::vector<double> sum(static_cast<size_t>(d), 0.0);
  for (int64_t n = 0; n < rows; n++) {
    const double cn = c[n];
    if (cn == 0) continue;
    const float* xn = x + n * d;
    for (int64_t j = 0; j < d; j++) sum[j] += cn * static_cast<double>(xn[j]);
  }
  for (int64_t j = 0; j < d; j++) out[j] = static_cast<float>(static_cast<double>(out[j]) + sum[j]);
}

void AddScaledVector(float* out, const double* c, const float* v, int64_t rows, int64_t d) {
  for (int64_t n = 0; n < rows; n++) {
    const double cn = c[n];
    if (cn == 0) continue;
    float* o = out + n * d;
    for (int64_t j = 0; j < d; j++) o[j] = static_cast<float>(static_cast<double>(o[j]) + cn * static_cast<double>(v[j]));
  }
}

void AddScaledRows(float* out, const double* c, const float* x, int64_t rows, int64_t d) {
  for (int64_t n = 0; n < rows; n++) {
    const double cn = c[n];
    if (cn == 0) continue;
    float* o = out + n * d;
    const float* xn = x + n * d;
    for (int64_t j = 0; j < d; j++) o[j] = static_cast<float>(static_cast<double>(o[j]) + cn * static_cast<double>(xn[j]));
  }
}

}  // namespace moepp
