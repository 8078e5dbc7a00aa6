/**
 * @moepp/backends — tfjs backend plumbing: making the `wasm` backend fast and trainable in Node
 * (threads, kernel patches) and reading / writing tensor data in place on the host (heap I/O).
 * The model never selects a backend; @moepp/experiments' select-backend does, with these.
 */
export { initWasmBackend, runtimeSupportsWasmThreads, MAX_WASM_THREADS, type WasmInitOptions, type WasmBackendInfo } from './wasm/threads.ts';
export { patchWasmKernels, patchedWasmKernels, WASM_KERNEL_PATCHES, type WasmKernelPatch } from './wasm/kernel-patches.ts';
export { readRows, writeRows, heapView, activeWasmBackend, type HeapArray, type HeapOwner, type WasmBackendView } from './heap-io.ts';
