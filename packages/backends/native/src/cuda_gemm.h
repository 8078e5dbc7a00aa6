// GEMM offload to cuBLAS for the `cuda` backend: the `blas` configuration with its larger
// products on an NVIDIA GPU. The CUDA runtime and cuBLAS are opened at run time with dlopen, never
// linked: the addon builds on a machine without CUDA, loads on every machine, and finds the GPU
// libraries where they are (a system CUDA, or the `nvidia-cublas` Python wheel beside PyTorch).
// Only their stable C entry points are used (cudaMalloc, cudaMemcpy, cublasSgemm_v2, …), declared
// here by hand, so no CUDA header is needed either.
//
// Tensors stay on the host (the wasm heap): each product copies its operands to the GPU, runs
// there and copies the result back. That keeps every synchronous host read of the model working
// (which tfjs's WebGPU backend cannot do in Node) at the price of the copies, which
// CudaLastTimings reports apart from the GEMM itself.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace moepp {

struct CudaDeviceInfo {
  std::string device;       // the GPU's name, from the driver (or "CUDA device 0" without libcuda)
  int ccMajor = 0, ccMinor = 0;
  double memoryMiB = 0;     // total device memory
  int runtimeVersion = 0;   // cudaRuntimeGetVersion: 1000·major + 10·minor
  int driverVersion = 0;    // cudaDriverGetVersion, the same encoding
  int cublasVersion = 0;    // cublasGetVersion_v2
  std::string cudartPath, cublasPath;
};

// Opens the CUDA runtime and cuBLAS (trying each of dirs, then the loader's own search path),
// selects device 0 and creates a cuBLAS handle. Idempotent once it succeeded. On failure returns
// false with *why naming the step ("libcublas.so.13 not found in …", "no CUDA device: …").
bool CudaOpen(const std::vector<std::string>& dirs, CudaDeviceInfo* info, std::string* why);
// Frees the device buffers and the handle (the libraries stay loaded).
void CudaClose();

// The contract of sgemmBatch (moepp_blas.cc): for each entry i < batch,
//   C_i (m, n) = op(A_i) · op(B_i), row-major, A_i at a + aOffsets[i], B_i at b + bOffsets[i],
//   C_i at c + i·m·n; c overwritten. The spans of a and b the entries touch are copied to the GPU
// once, every entry runs there, and C comes back. Returns false with *why on a CUDA error.
bool CudaSgemmBatch(bool transA, bool transB, int64_t m, int64_t n, int64_t k, const float* a, const int32_t* aOffsets,
                    const float* b, const int32_t* bOffsets, size_t batch, float* c, std::string* why);

// Seconds the last CudaSgemmBatch spent copying to the GPU, in the products, and copying back.
struct CudaTimings {
  double upload = 0, compute = 0, download = 0;
  double bytesUp = 0, bytesDown = 0;
};
CudaTimings CudaLastTimings();

}  // namespace moepp
