// AdamW's update (training_math.h), in the same order of operations as the tf-ops update of
// @moepp/experiments' adamw.ts, and built with the addon's strict IEEE flags (not the fast-math
// library), so the two paths agree to float32 round-off.
#include <cmath>

#include "training_math.h"

namespace moepp {

void AdamWUpdate(const float* p, const float* g, const float* m, const float* v, int64_t n, const AdamWStep& s, float* pOut, float* mOut, float* vOut) {
  for (int64_t i = 0; i < n; i++) {
    const float mi = m[i] * s.beta1 + g[i] * s.gradCoefficient1;
    const float vi = v[i] * s.beta2 + (g[i] * g[i]) * s.gradCoefficient2;
    const float direction = mi / (std::sqrt(vi * s.invCorrection2) + s.epsilon);
    pOut[i] = p[i] * s.decayFactor - direction * s.stepSize;
    mOut[i] = mi;
    vOut[i] = vi;
  }
}

}  // namespace moepp
