// The cross-entropy, squared-norm and exponential kernels of training_math.h. Built as its own static library (binding.gyp) with
// -ffast-math so that GCC vectorises expf through glibc's libmvec, in an AVX2 variant chosen at
// run time where the CPU has it; the rest of the addon keeps strict IEEE semantics.
#include "training_math.h"

#include <cmath>

namespace moepp {
namespace {

#if defined(__x86_64__)
#define MOEPP_AVX2 __attribute__((target("avx2,fma")))
bool HasAvx2() {
  static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return has;
}
#else
#define MOEPP_AVX2
bool HasAvx2() { return false; }
#endif

inline float RowMax(const float* row, int64_t cols) {
  float mx = row[0];
  for (int64_t j = 1; j < cols; j++) mx = row[j] > mx ? row[j] : mx;
  return mx;
}

// Σ_j exp(row[j] − shift), accumulated in float lanes (V ≤ a few 10⁵ terms of at most 1 each).
inline float ExpSum(const float* row, int64_t cols, float shift) {
  float s = 0;
  for (int64_t j = 0; j < cols; j++) s += expf(row[j] - shift);
  return s;
}
MOEPP_AVX2 float ExpSumAvx2(const float* row, int64_t cols, float shift) {
  float s = 0;
  for (int64_t j = 0; j < cols; j++) s += expf(row[j] - shift);
  return s;
}
MOEPP_AVX2 float RowMaxAvx2(const float* row, int64_t cols) {
  float mx = row[0];
  for (int64_t j = 1; j < cols; j++) mx = row[j] > mx ? row[j] : mx;
  return mx;
}

inline void ScaledExp(const float* row, int64_t cols, float shift, float scale, float* out) {
  for (int64_t j = 0; j < cols; j++) out[j] = scale * expf(row[j] - shift);
}
MOEPP_AVX2 void ScaledExpAvx2(const float* row, int64_t cols, float shift, float scale, float* out) {
  for (int64_t j = 0; j < cols; j++) out[j] = scale * expf(row[j] - shift);
}

// From e = exp(−|x|) ∈ (0, 1], which never overflows: under -ffast-math an overflowing expf is
// not guaranteed to give inf, and 1 / (1 + exp(−x)) came out NaN at x = −100.
inline float StableSigmoid(float x) {
  const float e = expf(-fabsf(x));
  const float r = 1.0f / (1.0f + e);
  return x >= 0.0f ? r : e * r;
}
inline void SigmoidInto(const float* x, int64_t n, float* out) {
  for (int64_t j = 0; j < n; j++) out[j] = StableSigmoid(x[j]);
}
MOEPP_AVX2 void SigmoidIntoAvx2(const float* x, int64_t n, float* out) {
  for (int64_t j = 0; j < n; j++) out[j] = StableSigmoid(x[j]);
}

}  // namespace

float ExpShifted(const float* x, int64_t n, float shift, float* out) {
  if (HasAvx2()) ScaledExpAvx2(x, n, shift, 1.0f, out);
  else ScaledExp(x, n, shift, 1.0f, out);
  float s = 0;
  for (int64_t j = 0; j < n; j++) s += out[j];
  return s;
}

void Sigmoid(const float* x, int64_t n, float* out) {
  if (HasAvx2()) SigmoidIntoAvx2(x, n, out);
  else SigmoidInto(x, n, out);
}

void SoftmaxCrossEntropy(const float* logits, const int32_t* targets, int64_t rows, int64_t cols, float* loss, float* lse) {
  const bool avx2 = HasAvx2();
  for (int64_t n = 0; n < rows; n++) {
    const float* row = logits + n * cols;
    const float mx = avx2 ? RowMaxAvx2(row, cols) : RowMax(row, cols);
    // A row holding +inf or NaN gives NaN (the caller stops the run on a non-finite loss).
    const float s = avx2 ? ExpSumAvx2(row, cols, mx) : ExpSum(row, cols, mx);
    lse[n] = mx + logf(s);
    loss[n] = lse[n] - row[targets[n]];
  }
}

void SoftmaxCrossEntropyGrad(const float* logits, const float* lse, const int32_t* targets, int64_t rows, int64_t cols, float scale, float* dlogits) {
  const bool avx2 = HasAvx2();
  for (int64_t n = 0; n < rows; n++) {
    const float* row = logits + n * cols;
    float* out = dlogits + n * cols;
    if (avx2) ScaledExpAvx2(row, cols, lse[n], scale, out);
    else ScaledExp(row, cols, lse[n], scale, out);
    out[targets[n]] -= scale;
  }
}

double SumOfSquares(const float* x, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; i++) s += static_cast<double>(x[i]) * x[i];
  return s;
}

}  // namespace moepp
