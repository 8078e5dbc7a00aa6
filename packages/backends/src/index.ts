/**
 * @moepp/backends — tfjs backend plumbing: making the `wasm` backend fast and trainable in Node
 * (threads, kernel patches), OpenBLAS GEMM kernels over it (the optional `blas` configuration),
 * the same with its larger products on cuBLAS (`cuda`),
 * tfjs's WebGPU backend on Dawn (the `webgpu` choice), and reading / writing tensor data in place
 * on the host (heap I/O).
 * The model never selects a backend; @moepp/experiments' select-backend does, with these.
 */
export { initWasmBackend, runtimeSupportsWasmThreads, MAX_WASM_THREADS, type WasmInitOptions, type WasmBackendInfo } from './wasm/threads.ts';
export { patchWasmKernels, patchedWasmKernels, WASM_KERNEL_PATCHES, type WasmKernelPatch } from './wasm/kernel-patches.ts';
export { loadBlasAddon, BLAS_INSTALL_HINT, DEFAULT_BLAS_ADDON_PATH, type BlasAddon, type BlasAddonLoad } from './blas/addon.ts';
export { registerBlasKernels, unregisterBlasKernels, blasKernelsRegistered, blasKernelsAddon, setBlasThreads, BLAS_KERNELS, type BlasKernel } from './blas/blas-kernels.ts';
export { packWeights, packedWeightsUnavailable, type PackedWeights } from './blas/packed-weights.ts';
export { addPackedSwiGluExpert, type SwiGluExpertWeights } from './blas/packed-swiglu-expert.ts';
export { hostRowOps, jsRowOps, laneDot, type RowOps } from './row-ops.ts';
export { TRAINING_KERNELS, hasTrainingKernel, type TrainingKernel } from './training-kernels.ts';
export { openCuda, cudaProductsAddon, cudaLibraryDirs, gpuWins, DEFAULT_GPU_COST_MODEL, type GpuCostModel, type CudaDevice, type CudaOpen, type CudaTimings, type GpuProducts } from './cuda/cuda-products.ts';
export { initWebGpu, adapterLabel, type WebGpuInit, type WebGpuAdapterInfo } from './webgpu/init-webgpu.ts';
export { transposedOperandsAreFree } from './transposed-operands.ts';
export { readRows, writeRows, heapView, activeWasmBackend, type HeapArray, type HeapOwner, type WasmBackendView } from './heap-io.ts';
