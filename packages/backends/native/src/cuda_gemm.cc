#include "cuda_gemm.h"

#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cstring>

namespace moepp {
namespace {

// The few CUDA runtime, driver and cuBLAS entry points used, by their C signatures. Every status
// is an int (cudaError_t, CUresult, cublasStatus_t are enums whose success value is 0).
using CudaGetDeviceCount = int (*)(int*);
using CudaSetDevice = int (*)(int);
using CudaMalloc = int (*)(void**, size_t);
using CudaFree = int (*)(void*);
using CudaMemcpy = int (*)(void*, const void*, size_t, int);
using CudaDeviceSynchronize = int (*)();
using CudaGetErrorString = const char* (*)(int);
using CudaVersion = int (*)(int*);
using CudaDeviceGetAttribute = int (*)(int*, int, int);
using CudaMemGetInfo = int (*)(size_t*, size_t*);
using CuDeviceGetName = int (*)(char*, int, int);
using CublasCreate = int (*)(void**);
using CublasDestroy = int (*)(void*);
using CublasGetVersion = int (*)(void*, int*);
using CublasSgemm = int (*)(void*, int, int, int, int, int, const float*, const float*, int, const float*, int, const float*, float*, int);

constexpr int kHostToDevice = 1;
constexpr int kDeviceToHost = 2;
constexpr int kAttrComputeCapabilityMajor = 75;
constexpr int kAttrComputeCapabilityMinor = 76;
constexpr int kOpN = 0;
constexpr int kOpT = 1;

struct Cuda {
  void* cudart = nullptr;
  void* cublas = nullptr;
  CudaGetDeviceCount getDeviceCount = nullptr;
  CudaSetDevice setDevice = nullptr;
  CudaMalloc malloc = nullptr;
  CudaFree free = nullptr;
  CudaMemcpy memcpy = nullptr;
  CudaDeviceSynchronize synchronize = nullptr;
  CudaGetErrorString errorString = nullptr;
  CudaVersion runtimeVersion = nullptr;
  CudaVersion driverVersion = nullptr;
  CudaDeviceGetAttribute attribute = nullptr;
  CudaMemGetInfo memGetInfo = nullptr;
  CublasCreate create = nullptr;
  CublasDestroy destroy = nullptr;
  CublasGetVersion getVersion = nullptr;
  CublasSgemm sgemm = nullptr;
  void* handle = nullptr;
  CudaDeviceInfo info;
  // Device buffers, grown as products need and kept between them.
  float* dA = nullptr;
  float* dB = nullptr;
  float* dC = nullptr;
  size_t capA = 0, capB = 0, capC = 0;
  CudaTimings last;
};

Cuda g;

// The newest soname first: the wheels beside PyTorch 2.11 are CUDA 13, a system CUDA may be 12.
const char* const kCudartNames[] = {"libcudart.so.13", "libcudart.so.12", "libcudart.so"};
const char* const kCublasNames[] = {"libcublas.so.13", "libcublas.so.12", "libcublas.so"};

// dlopen of the first name found in a directory of dirs, then by the loader's search path.
void* OpenFirst(const std::vector<std::string>& dirs, const char* const* names, size_t count, std::string* path, std::string* errors) {
  for (const std::string& dir : dirs) {
    for (size_t i = 0; i < count; i++) {
      const std::string full = dir + "/" + names[i];
      if (void* h = dlopen(full.c_str(), RTLD_NOW | RTLD_GLOBAL)) {
        *path = full;
        return h;
      }
    }
  }
  for (size_t i = 0; i < count; i++) {
    if (void* h = dlopen(names[i], RTLD_NOW | RTLD_GLOBAL)) {
      *path = names[i];
      return h;
    }
    const char* e = dlerror();
    if (errors->empty() && e && !std::strstr(e, "No such file")) *errors = e;
  }
  return nullptr;
}

template <typename F>
bool Symbol(void* lib, const char* name, F* out, std::string* why) {
  *out = reinterpret_cast<F>(dlsym(lib, name));
  if (!*out) *why = std::string(name) + " not found in the library";
  return *out != nullptr;
}

std::string CudaError(const char* step, int status) {
  const char* s = g.errorString ? g.errorString(status) : nullptr;
  return std::string(step) + " failed: " + (s ? s : "error") + " (" + std::to_string(status) + ")";
}

std::string CublasError(const char* step, int status) {
  return std::string(step) + " failed: cuBLAS status " + std::to_string(status);
}

// Grows a device buffer to hold at least `floats` (by half again, to settle after a few sizes).
bool Reserve(float** buffer, size_t* capacity, size_t floats, std::string* why) {
  if (floats <= *capacity) return true;
  if (*buffer) g.free(*buffer);
  *buffer = nullptr;
  *capacity = 0;
  const size_t want = floats + floats / 2;
  void* p = nullptr;
  const int status = g.malloc(&p, want * sizeof(float));
  if (status != 0) {
    *why = CudaError("cudaMalloc", status);
    return false;
  }
  *buffer = static_cast<float*>(p);
  *capacity = want;
  return true;
}

double Seconds(std::chrono::steady_clock::time_point from) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - from).count();
}

}  // namespace

// Unloads what a failed CudaOpen loaded, so that a later call (with other folders) starts afresh.
bool Unload(bool result) {
  if (g.cublas) dlclose(g.cublas);
  if (g.cudart) dlclose(g.cudart);
  g = Cuda();
  return result;
}

bool CudaOpen(const std::vector<std::string>& dirs, CudaDeviceInfo* info, std::string* why) {
  if (g.handle) {
    *info = g.info;
    return true;
  }
  std::string errors;
  std::string where = dirs.empty() ? "the loader's search path" : "the loader's search path or " + std::to_string(dirs.size()) + " folder(s) searched";
  g.cudart = OpenFirst(dirs, kCudartNames, 3, &g.info.cudartPath, &errors);
  if (!g.cudart) {
    *why = "the CUDA runtime (libcudart.so.13 or .12) was not found in " + where + (errors.empty() ? "" : " (" + errors + ")");
    return Unload(false);
  }
  errors.clear();
  g.cublas = OpenFirst(dirs, kCublasNames, 3, &g.info.cublasPath, &errors);
  if (!g.cublas) {
    *why = "cuBLAS (libcublas.so.13 or .12) was not found in " + where + (errors.empty() ? "" : " (" + errors + ")");
    return Unload(false);
  }
  if (!Symbol(g.cudart, "cudaGetDeviceCount", &g.getDeviceCount, why) || !Symbol(g.cudart, "cudaSetDevice", &g.setDevice, why) ||
      !Symbol(g.cudart, "cudaMalloc", &g.malloc, why) || !Symbol(g.cudart, "cudaFree", &g.free, why) ||
      !Symbol(g.cudart, "cudaMemcpy", &g.memcpy, why) || !Symbol(g.cudart, "cudaDeviceSynchronize", &g.synchronize, why) ||
      !Symbol(g.cudart, "cudaGetErrorString", &g.errorString, why) || !Symbol(g.cudart, "cudaRuntimeGetVersion", &g.runtimeVersion, why) ||
      !Symbol(g.cudart, "cudaDriverGetVersion", &g.driverVersion, why) || !Symbol(g.cudart, "cudaDeviceGetAttribute", &g.attribute, why) ||
      !Symbol(g.cudart, "cudaMemGetInfo", &g.memGetInfo, why) || !Symbol(g.cublas, "cublasCreate_v2", &g.create, why) ||
      !Symbol(g.cublas, "cublasDestroy_v2", &g.destroy, why) || !Symbol(g.cublas, "cublasGetVersion_v2", &g.getVersion, why) ||
      !Symbol(g.cublas, "cublasSgemm_v2", &g.sgemm, why)) {
    return Unload(false);
  }
  int count = 0;
  int status = g.getDeviceCount(&count);
  if (status != 0 || count < 1) {
    *why = status != 0 ? "no CUDA device: " + CudaError("cudaGetDeviceCount", status) : "no CUDA device: cudaGetDeviceCount found 0";
    return Unload(false);
  }
  if ((status = g.setDevice(0)) != 0) {
    *why = CudaError("cudaSetDevice(0)", status);
    return Unload(false);
  }
  g.runtimeVersion(&g.info.runtimeVersion);
  g.driverVersion(&g.info.driverVersion);
  g.attribute(&g.info.ccMajor, kAttrComputeCapabilityMajor, 0);
  g.attribute(&g.info.ccMinor, kAttrComputeCapabilityMinor, 0);
  size_t freeBytes = 0, totalBytes = 0;
  if (g.memGetInfo(&freeBytes, &totalBytes) == 0) g.info.memoryMiB = static_cast<double>(totalBytes) / (1024.0 * 1024.0);
  // The name comes from the driver API (the runtime's cudaDeviceProp changes layout between
  // versions); the runtime has already loaded and initialised the driver.
  g.info.device = "CUDA device 0";
  if (void* driver = dlopen("libcuda.so.1", RTLD_NOW | RTLD_NOLOAD)) {
    if (auto name = reinterpret_cast<CuDeviceGetName>(dlsym(driver, "cuDeviceGetName"))) {
      char buffer[256] = {0};
      if (name(buffer, sizeof buffer - 1, 0) == 0 && buffer[0]) g.info.device = buffer;
    }
  }
  void* handle = nullptr;
  if ((status = g.create(&handle)) != 0) {
    *why = CublasError("cublasCreate_v2", status);
    return Unload(false);
  }
  g.getVersion(handle, &g.info.cublasVersion);
  g.handle = handle;
  *info = g.info;
  return true;
}

void CudaClose() {
  if (g.dA) g.free(g.dA);
  if (g.dB) g.free(g.dB);
  if (g.dC) g.free(g.dC);
  g.dA = g.dB = g.dC = nullptr;
  g.capA = g.capB = g.capC = 0;
  if (g.handle) g.destroy(g.handle);
  g.handle = nullptr;
}

bool CudaSgemmBatch(bool transA, bool transB, int64_t m, int64_t n, int64_t k, const float* a, const int32_t* aOffsets,
                    const float* b, const int32_t* bOffsets, size_t batch, float* c, std::string* why) {
  if (!g.handle) {
    *why = "the CUDA route is not open";
    return false;
  }
  g.last = CudaTimings();
  const size_t mk = static_cast<size_t>(m * k), kn = static_cast<size_t>(k * n), mn = static_cast<size_t>(m * n);
  if (batch == 0 || mn == 0) return true;
  // The spans of a and b that the entries touch (broadcast batches repeat an offset).
  int64_t aLo = aOffsets[0], aHi = aOffsets[0], bLo = bOffsets[0], bHi = bOffsets[0];
  for (size_t i = 1; i < batch; i++) {
    aLo = std::min<int64_t>(aLo, aOffsets[i]);
    aHi = std::max<int64_t>(aHi, aOffsets[i]);
    bLo = std::min<int64_t>(bLo, bOffsets[i]);
    bHi = std::max<int64_t>(bHi, bOffsets[i]);
  }
  const size_t aSpan = static_cast<size_t>(aHi - aLo) + mk, bSpan = static_cast<size_t>(bHi - bLo) + kn, cSize = batch * mn;
  if (!Reserve(&g.dA, &g.capA, std::max<size_t>(aSpan, 1), why) || !Reserve(&g.dB, &g.capB, std::max<size_t>(bSpan, 1), why) ||
      !Reserve(&g.dC, &g.capC, cSize, why)) {
    return false;
  }
  auto t0 = std::chrono::steady_clock::now();
  int status;
  if (mk > 0 && (status = g.memcpy(g.dA, a + aLo, aSpan * sizeof(float), kHostToDevice)) != 0) return *why = CudaError("cudaMemcpy to the GPU", status), false;
  if (kn > 0 && (status = g.memcpy(g.dB, b + bLo, bSpan * sizeof(float), kHostToDevice)) != 0) return *why = CudaError("cudaMemcpy to the GPU", status), false;
  g.last.upload = Seconds(t0);
  g.last.bytesUp = static_cast<double>((mk > 0 ? aSpan : 0) + (kn > 0 ? bSpan : 0)) * sizeof(float);
  t0 = std::chrono::steady_clock::now();
  // Row-major C = op(A)·op(B) is column-major Cᵀ = op(B)ᵀ·op(A)ᵀ: cuBLAS gets B first, with the
  // same flags, and each stored operand's row length as its leading dimension.
  const float one = 1.0f, zero = 0.0f;
  const int lda = static_cast<int>(std::max<int64_t>(transA ? m : k, 1));
  const int ldb = static_cast<int>(std::max<int64_t>(transB ? k : n, 1));
  for (size_t i = 0; i < batch; i++) {
    status = g.sgemm(g.handle, transB ? kOpT : kOpN, transA ? kOpT : kOpN, static_cast<int>(n), static_cast<int>(m), static_cast<int>(k), &one,
                     g.dB + (bOffsets[i] - bLo), ldb, g.dA + (aOffsets[i] - aLo), lda, &zero, g.dC + i * mn, static_cast<int>(n));
    if (status != 0) return *why = CublasError("cublasSgemm_v2", status), false;
  }
  if ((status = g.synchronize()) != 0) return *why = CudaError("cudaDeviceSynchronize", status), false;
  g.last.compute = Seconds(t0);
  t0 = std::chrono::steady_clock::now();
  if ((status = g.memcpy(c, g.dC, cSize * sizeof(float), kDeviceToHost)) != 0) return *why = CudaError("cudaMemcpy from the GPU", status), false;
  g.last.download = Seconds(t0);
  g.last.bytesDown = static_cast<double>(cSize) * sizeof(float);
  return true;
}

CudaTimings CudaLastTimings() { return g.last; }

}  // namespace moepp
