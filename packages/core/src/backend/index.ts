/**
 * @moepp/core/backend — making the `wasm` backend fast and trainable in Node: threads
 * (`initWasmBackend`) and kernel patches (`patchWasmKernels`). The model never calls these;
 * choosing a backend is the caller's business (see @moepp/experiments' select-backend).
 */
export { initWasmBackend, runtimeSupportsWasmThreads, MAX_WASM_THREADS, type WasmInitOptions, type WasmBackendInfo } from './wasm-threads.js';
export { patchWasmKernels, patchedWasmKernels, WASM_KERNEL_PATCHES, type WasmKernelPatch } from './wasm-kernel-patches.js';
