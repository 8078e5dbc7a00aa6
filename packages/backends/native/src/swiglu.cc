// The SwiGLU activation of layer_math.h and its backward, in blocks small enough for the stack;
// the sigmoids come vectorised from training_math.cc.
#include "layer_math.h"
#include "training_math.h"

#include <algorithm>

namespace moepp {
namespace {
constexpr int64_t kBlock = 1024;
}

void SwiGlu(const float* gate, const float* up, int64_t n, float* h) {
  float s[kBlock];
  for (int64_t start = 0; start < n; start += kBlock) {
    const int64_t len = std::min(kBlock, n - start);
    Sigmoid(gate + start, len, s);
    for (int64_t i = 0; i < len; i++) h[start + i] = (gate[start + i] * s[i]) * up[start + i];
  }
}

void SwiGluGrad(const float* gate, const float* up, const float* dh, int64_t n, float* h, float* dgate, float* dup) {
  float s[kBlock];
  for (int64_t start = 0; start < n; start += kBlock) {
    const int64_t len = std::min(kBlock, n - start);
    Sigmoid(gate + start, len, s);
    for (int64_t i = 0; i < len; i++) {
      const float g = gate[start + i], u = up[start + i], d = dh[start + i], si = s[i];
      const float a = g * si;  // silu(gate)
      h[start + i] = a * u;
      dup[start + i] = d * a;
      dgate[start + i] = (d * u) * (si * (1.0f + g * (1.0f - si)));
    }
  }
}

}  // namespace moepp
