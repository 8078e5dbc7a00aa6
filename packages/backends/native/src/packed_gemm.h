// A GEMM whose right operand was packed once, for products that reuse one weight across many
// calls (forward-only use: evaluation, inference, the expert-forward benchmark). OpenBLAS packs
// B into its blocked layout inside every cblas_sgemm call; for an FFN expert with few rows that
// pass over the whole (D, I) weight, streamed from memory, costs as much as a large share of the
// arithmetic (BENCHMARKS.md, "Fifth pass"). Packed here, a weight is read once per call,
// in the order the kernel consumes it.
//
// Layout: B (k, n) row-major is cut into blocks of 256 rows; each block into panels of 16 columns
// (zero-padded past n), stored block after block and, within a block, panel after panel, each
// panel its rows of 16 floats one after another.
#pragma once
#include <cstdint>

namespace moepp {

// Floats the packed form of a (k, n) matrix takes.
int64_t PackedSize(int64_t k, int64_t n);

// Whether this CPU runs the packed kernel (AVX2 and FMA); where not, nothing may call the two below.
bool PackedGemmSupported();

// packed (PackedSize(k, n)) = the panels of b (k, n), row-major with leading dimension n.
void PackB(const float* b, int64_t k, int64_t n, float* packed);

// c (m, n) = a (m, k) · B, a and c row-major and contiguous, B given as PackB's output; c is
// overwritten. One thread: with more, OpenBLAS's own threading is the better choice
// (BENCHMARKS.md, "Fifth pass"), so the kernels use this only where OpenBLAS runs one.
void GemmPacked(const float* a, const float* packed, int64_t m, int64_t n, int64_t k, float* c);

}  // namespace moepp
