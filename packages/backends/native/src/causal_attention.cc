// Causal attention with RoPE (layer_math.h), forward and backward. Each batch and head is a
// strided (T, hd) block of the (B·T, D) projections, handed to cblas_sgemm with a leading
// dimension of D, so no head is transposed or copied; the (T, T) probabilities are the only
// per-head buffer the backward needs (it is saved, as tfjs saves its softmax).
#include "layer_math.h"
#include "training_math.h"

#include <cblas.h>

#include <cmath>
#include <vector>

namespace moepp {
namespace {

// y = x·cos + rotate_half(x)·sin on one head's hd values of position t (rotate_half(x) =
// [−x₂, x₁]); the products and the sum rounded as tf's mul, mul, add.
void Rope(const float* x, const float* cos, const float* sin, int64_t hd, float* y) {
  const int64_t half = hd / 2;
  for (int64_t j = 0; j < hd; j++) {
    const float rotated = j < half ? -x[j + half] : x[j - half];
    y[j] = x[j] * cos[j] + rotated * sin[j];
  }
}

// The transpose of Rope: dx = dy·cos + rotate_halfᵀ(dy·sin), rotate_halfᵀ(z) = [z₂, −z₁]. In place.
void RopeBackwardInPlace(float* dy, const float* cos, const float* sin, int64_t hd, float* scratch) {
  const int64_t half = hd / 2;
  for (int64_t j = 0; j < hd; j++) scratch[j] = dy[j];
  for (int64_t j = 0; j < hd; j++) {
    const float rotated = j < half ? scratch[j + half] * sin[j + half] : -(scratch[j - half] * sin[j - half]);
    dy[j] = scratch[j] * cos[j] + rotated;
  }
}

float Scale(int64_t hd) { return static_cast<float>(1.0 / std::sqrt(static_cast<double>(hd))); }

}  // namespace

void CausalAttention(const float* q, const float* k, const float* v, const float* cos, const float* sin, const AttentionShape& s,
                     float* out, float* probs, float* qRot, float* kRot) {
  const int64_t T = s.seqLen, hd = s.headDim, D = s.heads * hd;
  const float scale = Scale(hd);
  for (int64_t n = 0; n < s.batch * T; n++) {
    const int64_t t = n % T;
    for (int64_t h = 0; h < s.heads; h++) {
      Rope(q + n * D + h * hd, cos + t * hd, sin + t * hd, hd, qRot + n * D + h * hd);
      Rope(k + n * D + h * hd, cos + t * hd, sin + t * hd, hd, kRot + n * D + h * hd);
    }
  }
  const int ti = static_cast<int>(T), hi = static_cast<int>(hd), di = static_cast<int>(D);
  for (int64_t b = 0; b < s.batch; b++) {
    for (int64_t h = 0; h < s.heads; h++) {
      const int64_t at = b * T * D + h * hd;  // row b·T, head h's first column
      float* p = probs + (b * s.heads + h) * T * T;
      // p (T, T) = qRot_bh · kRot_bhᵀ
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, ti, ti, hi, 1.0f, qRot + at, di, kRot + at, di, 0.0f, p, ti);
      for (int64_t i = 0; i < T; i++) {
        float* row = p + i * T;
        float mx = row[0] * scale;
        for (int64_t j = 0; j <= i; j++) {
          row[j] *= scale;
          mx = row[j] > mx ? row[j] : mx;
        }
        const float sum = ExpShifted(row, i + 1, mx, row);
        for (int64_t j = 0; j <= i; j++) row[j] /= sum;
        for (int64_t j = i + 1; j < T; j++) row[j] = 0.0f;
      }
      // out_bh (T, hd) = p · v_bh
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, ti, hi, ti, 1.0f, p, ti, v + at, di, 0.0f, out + at, di);
    }
  }
}

void CausalAttentionGrad(const float* qRot, const float* kRot, const float* v, const float* probs, const float* dOut, const float* cos,
                         const float* sin, const AttentionShape& s, float* dq, float* dk, float* dv) {
  const int64_t T = s.seqLen, hd = s.headDim, D = s.heads * hd;
  const float scale = Scale(hd);
  const int ti = static_cast<int>(T), hi = static_cast<int>(hd), di = static_cast<int>(D);
  std::vector<float> dScores(static_cast<size_t>(T * T));  // (T, T) dprobs, then dscores in place
  for (int64_t b = 0; b < s.batch; b++) {
    for (int64_t h = 0; h < s.heads; h++) {
      const int64_t at = b * T * D + h * hd;
      const float* p = probs + (b * s.heads + h) * T * T;
      float* ds = dScores.data();
      // dv_bh = pᵀ · dOut_bh; dprobs = dOut_bh · v_bhᵀ
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, ti, hi, ti, 1.0f, p, ti, dOut + at, di, 0.0f, dv + at, di);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, ti, ti, hi, 1.0f, dOut + at, di, v + at, di, 0.0f, ds, ti);
      // Softmax backward, then the 1/√hd: dscores = (dprobs − Σ_j p·dprobs)·p·scale; zero above the diagonal.
      for (int64_t i = 0; i < T; i++) {
        const float* pr = p + i * T;
        float* dr = ds + i * T;
        double dot = 0;
        for (int64_t j = 0; j <= i; j++) dot += static_cast<double>(pr[j]) * dr[j];
        const float d = static_cast<float>(dot);
        for (int64_t j = 0; j <= i; j++) dr[j] = ((dr[j] - d) * pr[j]) * scale;
        for (int64_t j = i + 1; j < T; j++) dr[j] = 0.0f;
      }
      // dqRot_bh = dscores · kRot_bh; dkRot_bh = dscoresᵀ · qRot_bh
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, ti, hi, ti, 1.0f, ds, ti, kRot + at, di, 0.0f, dq + at, di);
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, ti, hi, ti, 1.0f, ds, ti, qRot + at, di, 0.0f, dk + at, di);
    }
  }
  std::vector<float> scratch(static_cast<size_t>(hd));
  for (int64_t n = 0; n < s.batch * T; n++) {
    const int64_t t = n % T;
    for (int64_t h = 0; h < s.heads; h++) {
      RopeBackwardInPlace(dq + n * D + h * hd, cos + t * hd, sin + t * hd, hd, scratch.data());
      RopeBackwardInPlace(dk + n * D + h * hd, cos + t * hd, sin + t * hd, hd, scratch.data());
    }
  }
}

}  // namespace moepp
