/**
 * The `cuda` configuration: `blas` (wasm + OpenBLAS kernels, blas-kernels.ts) with its larger
 * products computed by cuBLAS on an NVIDIA GPU. It sits on the same seam as `blas` — the
 * `BatchMatMul` / `_FusedMatMul` kernels call the addon's `sgemmBatch` — and only swaps what that
 * call does: a product the cost model below sends to the GPU copies its operands there, runs
 * `cublasSgemm` and copies the result back (native/src/cuda_gemm.h); any other stays on OpenBLAS,
 * where the copies would cost more than the product.
 *
 * Tensors never leave the wasm heap, so every synchronous host read the model makes (the router's
 * dispatch, the metrics) works as on `blas`; that is what tfjs's WebGPU backend cannot offer in
 * Node. The price is the copies, per product, which `cudaLastTimings` reports apart.
 * The CUDA libraries are opened at run time (dlopen), never linked, so the addon builds and loads
 * on machines without them and `openCuda` says in one line what is missing.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { BlasAddon } from '../blas/addon.ts';

/** What `cudaOpen` reports about the GPU and the libraries it loaded. */
export interface CudaDevice {
  device: string;
  computeCapability: string;
  memoryMiB: number;
  /** 1000·major + 10·minor, as CUDA encodes versions. */
  runtimeVersion: number;
  driverVersion: number;
  cublasVersion: number;
  /** The library files loaded. */
  cudart: string;
  cublas: string;
}

export type CudaOpen = { ok: true; device: CudaDevice } | { ok: false; reason: string };

/** Seconds and bytes of the last GPU product's copies and GEMMs. */
export interface CudaTimings {
  upload: number;
  compute: number;
  download: number;
  bytesUp: number;
  bytesDown: number;
}

/**
 * When a product goes to the GPU: when its copies there and back (bytes over `copyBytesPerSecond`,
 * plus `fixedSeconds` per call for the launches and synchronisations) would take less than
 * OpenBLAS takes for its arithmetic (FLOPs over `cpuFlopsPerThread` times OpenBLAS's threads).
 * The GEMM itself on the GPU is left out: an H200 does float32 at tens of TFLOP/s, far faster
 * than the copies feed it. So with many CPU threads only products of high arithmetic intensity
 * (many rows through one weight) go to the GPU.
 */
export interface GpuCostModel {
  copyBytesPerSecond: number;
  fixedSeconds: number;
  cpuFlopsPerThread: number;
}

/**
 * Predictions, not measurements: ~12 GB/s for copies from pageable host memory over PCIe, ~50 µs
 * per call, and the ~90 GFLOP/s per OpenBLAS thread measured on this project's CPU machine
 * (BENCHMARKS.md, "BLAS GEMM kernels"). The device script's `cuda-gemm` sweep measures the first
 * two and the GPU machine's own per-thread rate, and says which products the model sends the
 * wrong way (BENCHMARKS.md, "GPU").
 */
export const DEFAULT_GPU_COST_MODEL: GpuCostModel = { copyBytesPerSecond: 12e9, fixedSeconds: 50e-6, cpuFlopsPerThread: 90e9 };

/** Whether the model sends a product of `flops` moving `bytes` (operands up, result down) to the GPU, with OpenBLAS on `threads`. */
export function gpuWins(model: GpuCostModel, flops: number, bytes: number, threads: number): boolean {
  return flops > 0 && bytes / model.copyBytesPerSecond + model.fixedSeconds < flops / (model.cpuFlopsPerThread * threads);
}

/**
 * Where to look for libcudart / libcublas, in order: `MOEPP_CUDA_LIBS` (colon-separated), NVIDIA's
 * Python wheels in the Pythons and virtual environments under `pythonRoots`, a system CUDA.
 */
export function cudaLibraryDirs(env: Record<string, string | undefined> = process.env, pythonRoots = ['/opt', '/usr/local/lib', '/usr/lib']): string[] {
  const dirs = (env.MOEPP_CUDA_LIBS ?? '').split(':').filter(Boolean);
  // The `nvidia-cublas` / `nvidia-cuda-runtime` wheels that PyTorch installs: CUDA 13 puts both
  // libraries in nvidia/cu13/lib, CUDA 12 in nvidia/cublas/lib and nvidia/cuda_runtime/lib.
  for (const root of pythonRoots) {
    for (const sitePackages of findSitePackages(root)) {
      for (const sub of ['cu13/lib', 'cublas/lib', 'cuda_runtime/lib']) {
        const dir = join(sitePackages, 'nvidia', sub);
        if (existsSync(dir)) dirs.push(dir);
      }
    }
  }
  for (const dir of ['/usr/local/cuda/lib64', '/usr/local/cuda/targets/x86_64-linux/lib']) if (existsSync(dir)) dirs.push(dir);
  return [...new Set(dirs)];
}

/** site-packages folders in root (root/python3.*) and one level below it (…/lib, …/.venv/lib, …/venv/lib). */
function findSitePackages(root: string): string[] {
  const libs = [root, ...list(root).flatMap((entry) => ['lib', '.venv/lib', 'venv/lib'].map((lib) => join(root, entry, lib)))];
  return libs.flatMap((lib) =>
    list(lib)
      .filter((p) => p.startsWith('python3'))
      .flatMap((p) => ['site-packages', 'dist-packages'].map((s) => join(lib, p, s)))
      .filter((dir) => existsSync(dir)),
  );
}

/** The entries of dir, or none where it cannot be read. */
function list(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/**
 * Opens the CUDA runtime, cuBLAS and GPU 0 through the addon, or says in one line why not. Once
 * open, the route stays open for the process.
 */
export function openCuda(addon: BlasAddon, dirs: string[] = cudaLibraryDirs()): CudaOpen {
  const r = addon.cudaOpen(dirs);
  if (!r.ok) return { ok: false, reason: r.reason };
  const { ok: _ok, ...device } = r;
  return { ok: true, device };
}

/** The routing of one `cuda` configuration: its cost model, `all` (the self-check sends every product to the GPU), and what went where. */
export interface GpuProducts {
  model: GpuCostModel;
  all: boolean;
  gpuCalls: number;
  cpuCalls: number;
  gpuFlops: number;
}

/**
 * The addon as the `cuda` kernels see it: `sgemmBatch` sends a product to cuBLAS where the cost
 * model says the GPU wins (`gpuWins`, with OpenBLAS's current thread count), else to OpenBLAS;
 * packed weights do not apply (their products would run on the CPU). Everything else is the
 * addon unchanged. `openCuda` must have succeeded first.
 *
 * @example
 * const blas = loadBlasAddon();
 * if (blas.ok && openCuda(blas.addon).ok) registerBlasKernels(cudaProductsAddon(blas.addon));
 */
export function cudaProductsAddon(addon: BlasAddon, model: GpuCostModel = DEFAULT_GPU_COST_MODEL): BlasAddon & { gpuProducts: GpuProducts } {
  const gpuProducts: GpuProducts = { model, all: false, gpuCalls: 0, cpuCalls: 0, gpuFlops: 0 };
  return {
    ...addon,
    gpuProducts,
    sgemmBatch(transA, transB, m, n, k, a, aOffsets, b, bOffsets, c) {
      const batch = aOffsets.length;
      const flops = 2 * m * n * k * batch;
      // What the route copies: each operand once per entry (at most), the result back.
      const bytes = 4 * batch * (m * k + k * n + m * n);
      if (flops > 0 && (gpuProducts.all || gpuWins(gpuProducts.model, flops, bytes, addon.getNumThreads()))) {
        gpuProducts.gpuCalls++;
        gpuProducts.gpuFlops += flops;
        addon.cudaSgemmBatch(transA, transB, m, n, k, a, aOffsets, b, bOffsets, c);
      } else {
        gpuProducts.cpuCalls++;
        addon.sgemmBatch(transA, transB, m, n, k, a, aOffsets, b, bOffsets, c);
      }
    },
  };
}
