// The row moves of row_ops.h. Built with the addon's strict IEEE flags: every value is computed
// in float64 and rounded to float32 once, as JS does when it stores into a Float32Array.
#include "row_ops.h"

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

}  // namespace moepp
