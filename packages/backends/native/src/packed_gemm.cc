// The packed-B GEMM of packed_gemm.h: an AVX2/FMA micro-kernel of 6 rows × 16 columns
// (12 accumulators), blocked so that a 256-row slice of one panel (16 KiB) stays in L1 while a
// block of A's rows (up to 384 × 256 floats) stays in L2. A is read in place (rows of a row-major
// matrix), its values broadcast one at a time, so only B needs a packed form. The packed slices
// lie in the order the loops visit them, so a call streams B from memory front to back.
#include "packed_gemm.h"

#include <immintrin.h>

#include <algorithm>
#include <cstring>

namespace moepp {
namespace {

constexpr int64_t kNr = 16;   // columns per panel (two 8-float vectors)
constexpr int64_t kMr = 6;    // rows per micro-kernel call
constexpr int64_t kKc = 256;  // k per block: kKc × kNr floats of B in L1
constexpr int64_t kMc = 384;  // rows per block: kMc × kKc floats of A in L2

// c[0..Rows)[0..16) (+)= a[0..Rows)[0..kc) · panel[0..kc)[0..16); `accumulate` adds to c.
// c rows are ldc apart, a rows lda apart. The twelve accumulators are named variables (an
// array of vectors is kept in memory by GCC, which halves the rate); rows past Rows compile away.
template <int Rows>
__attribute__((target("avx2,fma"))) void MicroKernel(int64_t kc, const float* a, int64_t lda, const float* panel, const float* next, float* c, int64_t ldc, bool accumulate) {
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
#define MOEPP_ROWS(X) X(0, c00, c01) X(1, c10, c11) X(2, c20, c21) X(3, c30, c31) X(4, c40, c41) X(5, c50, c51)
#define MOEPP_LOAD(r, lo, hi) if (Rows > r && accumulate) { lo = _mm256_loadu_ps(c + r * ldc); hi = _mm256_loadu_ps(c + r * ldc + 8); }
#define MOEPP_FMA(r, lo, hi) if (Rows > r) { const __m256 ar = _mm256_broadcast_ss(a + r * lda + p); lo = _mm256_fmadd_ps(ar, b0, lo); hi = _mm256_fmadd_ps(ar, b1, hi); }
#define MOEPP_STORE(r, lo, hi) if (Rows > r) { _mm256_storeu_ps(c + r * ldc, lo); _mm256_storeu_ps(c + r * ldc + 8, hi); }
  MOEPP_ROWS(MOEPP_LOAD)
  for (int64_t p = 0; p < kc; p++) {
    const __m256 b0 = _mm256_loadu_ps(panel + p * kNr);
    const __m256 b1 = _mm256_loadu_ps(panel + p * kNr + 8);
    if (next) _mm_prefetch(reinterpret_cast<const char*>(next + p * kNr), _MM_HINT_T0);
    MOEPP_ROWS(MOEPP_FMA)
  }
  MOEPP_ROWS(MOEPP_STORE)
#undef MOEPP_STORE
#undef MOEPP_FMA
#undef MOEPP_LOAD
#undef MOEPP_ROWS
}

using Kernel = void (*)(int64_t, const float*, int64_t, const float*, const float*, float*, int64_t, bool);
constexpr Kernel kKernels[kMr + 1] = {nullptr, MicroKernel<1>, MicroKernel<2>, MicroKernel<3>, MicroKernel<4>, MicroKernel<5>, MicroKernel<6>};

// n rounded up to whole panels.
int64_t PaddedColumns(int64_t n) { return (n + kNr - 1) / kNr * kNr; }

}  // namespace

int64_t PackedSize(int64_t k, int64_t n) { return PaddedColumns(n) * k; }

bool PackedGemmSupported() { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }

void PackB(const float* b, int64_t k, int64_t n, float* packed) {
  const int64_t paddedN = PaddedColumns(n);
  for (int64_t pc = 0; pc < k; pc += kKc) {
    const int64_t kc = std::min(kKc, k - pc);
    for (int64_t p = 0; p * kNr < n; p++) {
      const int64_t cols = std::min(kNr, n - p * kNr);
      float* out = packed + pc * paddedN + p * kc * kNr;
      for (int64_t row = 0; row < kc; row++) {
        std::memcpy(out + row * kNr, b + (pc + row) * n + p * kNr, static_cast<size_t>(cols) * sizeof(float));
        std::memset(out + row * kNr + cols, 0, static_cast<size_t>(kNr - cols) * sizeof(float));
      }
    }
  }
}

void GemmPacked(const float* a, const float* packed, int64_t m, int64_t n, int64_t k, float* c) {
  if (m == 0 || n == 0) return;
  if (k == 0) {
    std::memset(c, 0, static_cast<size_t>(m * n) * sizeof(float));
    return;
  }
  alignas(32) float edge[kMr * kNr];  // the last panel's tile where n is not a multiple of 16
  const int64_t paddedN = PaddedColumns(n);
  for (int64_t pc = 0; pc < k; pc += kKc) {
    const int64_t kc = std::min(kKc, k - pc);
    for (int64_t ic = 0; ic < m; ic += kMc) {
      const int64_t mc = std::min(kMc, m - ic);
      for (int64_t p = 0; p * kNr < n; p++) {
        const float* panel = packed + pc * paddedN + p * kc * kNr;
        const int64_t cols = std::min(kNr, n - p * kNr);
        for (int64_t ir = ic, rows = 0; ir < ic + mc; ir += rows) {
          // 7–9 rows left run as two calls of 3–5 and 4, not 6 and 1–3: a call of fewer than 4
          // rows waits on its FMAs' latency as long as a call of 4 does.
          const int64_t left = ic + mc - ir;
          rows = left > kMr && left < kMr + 4 ? left - 4 : std::min(kMr, left);
          const float* ab = a + ir * k + pc;
          float* cb = c + ir * n + p * kNr;
          // The last row block pulls the next slice of B into cache while this one is in use. Not
          // the first: over the remaining blocks A's rows and this slice would evict it from L1
          // before it is read (BENCHMARKS.md, "Sixth pass"). A prefetch past the end of B is
          // harmless: prefetches never fault.
          const float* next = ir + rows == ic + mc ? panel + kc * kNr : nullptr;
          if (cols == kNr) {
            kKernels[rows](kc, ab, k, panel, next, cb, n, pc > 0);
          } else {
            for (int r = 0; r < rows; r++) std::memcpy(edge + r * kNr, cb + r * n, static_cast<size_t>(cols) * sizeof(float));
            kKernels[rows](kc, ab, k, panel, next, edge, kNr, pc > 0);
            for (int r = 0; r < rows; r++) std::memcpy(cb + r * n, edge + r * kNr, static_cast<size_t>(cols) * sizeof(float));
          }
        }
      }
    }
  }
}

}  // namespace moepp
