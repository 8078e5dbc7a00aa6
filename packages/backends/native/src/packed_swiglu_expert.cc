// packed_swiglu_expert.h: gather, x·W_gate and x·W_up, the SwiGLU activation, ·W_down and the
// weighted scatter, on one scratch buffer.
#include "packed_swiglu_expert.h"

#include "layer_math.h"
#include "packed_gemm.h"
#include "row_ops.h"

#include <cstring>
#include <vector>

namespace moepp {

void PackedSwiGluExpertForward(const float* x, const int32_t* index, const int32_t* weightIndex, int64_t count, const float* w,
                               const float* gate, const float* up, const float* down, int64_t d, int64_t hidden, float* out) {
  if (count == 0) return;
  const size_t rowsSize = static_cast<size_t>(count * d), hiddenSize = static_cast<size_t>(count * hidden);
  const size_t need = 2 * rowsSize + 2 * hiddenSize;
  // Kept between calls up to kKeptFloats (the experts of one layer call reuse it); a larger call
  // (a big evaluation batch) gets its own buffer, freed on return, so no thread holds it for good.
  constexpr size_t kKeptFloats = size_t{4} << 20;
  thread_local std::vector<float> kept;
  std::vector<float> large;
  float* scratch;
  if (need <= kKeptFloats) {
    if (kept.size() < need) kept.resize(need);
    scratch = kept.data();
  } else {
    large.resize(need);
    scratch = large.data();
  }
  float* rows = scratch;            // (count, d) the routed rows
  float* g = rows + rowsSize;       // (count, hidden) rows · W_gate, then the activation
  float* u = g + hiddenSize;        // (count, hidden) rows · W_up
  float* y = u + hiddenSize;        // (count, d) the expert's output
  for (int64_t i = 0; i < count; i++) std::memcpy(rows + i * d, x + static_cast<int64_t>(index[i]) * d, static_cast<size_t>(d) * sizeof(float));
  GemmPacked(rows, gate, count, hidden, d, g);
  GemmPacked(rows, up, count, hidden, d, u);
  SwiGlu(g, u, count * hidden, g);  // elementwise, so h may overwrite gate
  GemmPacked(g, down, count, d, hidden, y);
  ScatterAddWeighted(out, y, w, index, weightIndex, count, d);
}

}  // namespace moepp
