/*
 * A stand-in CUDA runtime and cuBLAS for testing the `cuda` route on a machine without a GPU
 * (testing/fake-cuda.ts builds it). "Device" memory is host memory, but every allocation is
 * recorded, so a copy in the wrong direction, a copy or product that reaches outside an allocation,
 * or a host pointer handed to cuBLAS is an error, as it would be on a GPU. cublasSgemm_v2 computes
 * what cuBLAS documents: column-major C = op(A)·op(B), leading dimensions checked, in float64.
 *
 * Built twice from this file: -DFAKE_CUDART gives libcudart.so.13, -DFAKE_CUBLAS libcublas.so.13
 * (linked against the first, whose allocation table it checks pointers against).
 * FAKE_CUDA_DEVICES=0 makes cudaGetDeviceCount fail as on a machine without a GPU;
 * FAKE_CUBLAS_SKEW=x adds x to every product's entries (a GPU that computes wrong numbers).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int fake_cuda_span(const void* p, size_t* bytesLeft);

#ifdef FAKE_CUDART
#define MAX_ALLOCATIONS 4096
static struct { char* base; size_t bytes; } allocations[MAX_ALLOCATIONS];

/* 1 when p lies inside an allocation, with the bytes from p to its end. */
int fake_cuda_span(const void* p, size_t* bytesLeft) {
  for (int i = 0; i < MAX_ALLOCATIONS; i++) {
    const char* c = (const char*)p;
    if (allocations[i].base && c >= allocations[i].base && c < allocations[i].base + allocations[i].bytes) {
      *bytesLeft = (size_t)(allocations[i].base + allocations[i].bytes - c);
      return 1;
    }
  }
  return 0;
}

int cudaGetDeviceCount(int* count) {
  const char* devices = getenv("FAKE_CUDA_DEVICES");
  *count = devices ? atoi(devices) : 1;
  return *count > 0 ? 0 : 100; /* cudaErrorNoDevice */
}
int cudaSetDevice(int device) { return device == 0 ? 0 : 101; }
int cudaMalloc(void** p, size_t bytes) {
  for (int i = 0; i < MAX_ALLOCATIONS; i++) {
    if (!allocations[i].base) {
      allocations[i].base = malloc(bytes ? bytes : 1);
      allocations[i].bytes = bytes;
      *p = allocations[i].base;
      return 0;
    }
  }
  return 2; /* cudaErrorMemoryAllocation */
}
int cudaFree(void* p) {
  for (int i = 0; i < MAX_ALLOCATIONS; i++) {
    if (allocations[i].base == p) {
      free(p);
      allocations[i].base = NULL;
      return 0;
    }
  }
  return 1; /* cudaErrorInvalidValue: not a device pointer */
}
int cudaMemcpy(void* dst, const void* src, size_t bytes, int kind) {
  size_t left = 0;
  if (kind == 1 && !(fake_cuda_span(dst, &left) && left >= bytes && !fake_cuda_span(src, &left))) return 1;
  if (kind == 2 && !(fake_cuda_span(src, &left) && left >= bytes && !fake_cuda_span(dst, &left))) return 1;
  if (kind != 1 && kind != 2) return 21; /* cudaErrorInvalidMemcpyDirection */
  memcpy(dst, src, bytes);
  return 0;
}
int cudaDeviceSynchronize(void) { return 0; }
const char* cudaGetErrorString(int status) {
  switch (status) {
    case 1: return "invalid argument";
    case 2: return "out of memory";
    case 100: return "no CUDA-capable device is detected";
    default: return "unknown error";
  }
}
int cudaRuntimeGetVersion(int* v) { *v = 13000; return 0; }
int cudaDriverGetVersion(int* v) { *v = 13000; return 0; }
int cudaDeviceGetAttribute(int* value, int attribute, int device) {
  (void)device;
  *value = attribute == 75 ? 9 : attribute == 76 ? 0 : 0;
  return 0;
}
int cudaMemGetInfo(size_t* freeBytes, size_t* totalBytes) {
  *freeBytes = (size_t)1 << 30;
  *totalBytes = (size_t)1 << 30;
  return 0;
}
#endif

#ifdef FAKE_CUBLAS
int cublasCreate_v2(void** handle) {
  static int token;
  *handle = &token;
  return 0;
}
int cublasDestroy_v2(void* handle) { (void)handle; return 0; }
int cublasGetVersion_v2(void* handle, int* version) { (void)handle; *version = 130000; return 0; }

/* Whether a column-major (rows, cols) operand with leading dimension ld fits in device memory at p. */
static int fits(const float* p, int rows, int cols, int ld) {
  size_t left = 0;
  if (rows == 0 || cols == 0) return 1;
  return fake_cuda_span(p, &left) && left >= ((size_t)(cols - 1) * ld + rows) * sizeof(float);
}

int cublasSgemm_v2(void* handle, int transa, int transb, int m, int n, int k, const float* alpha, const float* A, int lda,
                   const float* B, int ldb, const float* beta, float* C, int ldc) {
  if (!handle) return 1; /* CUBLAS_STATUS_NOT_INITIALIZED */
  if (m < 0 || n < 0 || k < 0 || (transa != 0 && transa != 1) || (transb != 0 && transb != 1)) return 7;
  const int aRows = transa == 0 ? m : k, aCols = transa == 0 ? k : m;
  const int bRows = transb == 0 ? k : n, bCols = transb == 0 ? n : k;
  if (lda < (aRows > 1 ? aRows : 1) || ldb < (bRows > 1 ? bRows : 1) || ldc < (m > 1 ? m : 1)) return 7; /* CUBLAS_STATUS_INVALID_VALUE */
  if (!fits(A, aRows, aCols, lda) || !fits(B, bRows, bCols, ldb) || !fits(C, m, n, ldc)) return 13; /* CUBLAS_STATUS_EXECUTION_FAILED */
  const char* skewText = getenv("FAKE_CUBLAS_SKEW");
  const double skew = skewText ? atof(skewText) : 0.0;
  for (int j = 0; j < n; j++) {
    for (int i = 0; i < m; i++) {
      double sum = 0;
      for (int p = 0; p < k; p++) {
        const double a = transa == 0 ? A[i + (size_t)p * lda] : A[p + (size_t)i * lda];
        const double b = transb == 0 ? B[p + (size_t)j * ldb] : B[j + (size_t)p * ldb];
        sum += a * b;
      }
      float* c = &C[i + (size_t)j * ldc];
      *c = (float)(*alpha * sum + (*beta == 0.0f ? 0.0 : *beta * *c) + skew);
    }
  }
  return 0;
}
#endif
