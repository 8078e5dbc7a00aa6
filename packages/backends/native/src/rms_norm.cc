// RMSNorm forward and backward of layer_math.h. Row sums in float64; every stored value follows
// the tf-ops form's order of products (rms-norm.ts of @moepp/core), rounded once each.
#include "layer_math.h"

#include <cmath>
#include <vector>

namespace moepp {

void RmsNorm(const float* x, const float* gain, int64_t rows, int64_t d, float eps, float* y, float* rstd) {
  for (int64_t n = 0; n < rows; n++) {
    const float* xr = x + n * d;
    double sq = 0;
    for (int64_t j = 0; j < d; j++) sq += static_cast<double>(xr[j]) * xr[j];
    const float r = 1.0f / std::sqrt(static_cast<float>(sq / static_cast<double>(d)) + eps);
    rstd[n] = r;
    float* yr = y + n * d;
    for (int64_t j = 0; j < d; j++) yr[j] = (xr[j] * r) * gain[j];
  }
}

void RmsNormGrad(const float* x, const float* gain, const float* rstd, const float* dy, int64_t rows, int64_t d, float* dx, float* dgain) {
  std::vector<double> gainSum(static_cast<size_t>(d), 0.0);
  for (int64_t n = 0; n < rows; n++) {
    const float* xr = x + n * d;
    const float* gr = dy + n * d;
    const float r = rstd[n];
    double dot = 0;  // Σ_j (dy·gain)·x
    for (int64_t j = 0; j < d; j++) {
      dot += static_cast<double>(gr[j] * gain[j]) * xr[j];
      gainSum[static_cast<size_t>(j)] += static_cast<double>(gr[j] * (xr[j] * r));
    }
    const float coefficient = static_cast<float>(dot / static_cast<double>(d)) * (r * r * r);
    float* out = dx + n * d;
    for (int64_t j = 0; j < d; j++) out[j] = (gr[j] * gain[j]) * r - xr[j] * coefficient;
  }
  for (int64_t j = 0; j < d; j++) dgain[j] = static_cast<float>(gainSum[static_cast<size_t>(j)]);
}

}  // namespace moepp
