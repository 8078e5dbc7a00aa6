/**
 * The `blas` configuration: tfjs's `wasm` backend with its GEMM kernels (`BatchMatMul`,
 * `_FusedMatMul`) replaced by OpenBLAS calls on the wasm heap, plus the addon's fused training
 * kernels (../training-kernels.ts: cross-entropy, AdamW, clip norm, RMSNorm, SwiGLU, causal
 * attention); every other op stays wasm.
 *
 * The BLAS kernels are registered over the `wasm` backend itself, not as a backend of their own:
 * `tf.getBackend()` stays `'wasm'`, so everything that recognises the wasm heap by that name
 * (heap-io's `activeWasmBackend`, which core's host-side ops use) keeps working unchanged, and
 * there is one wasm module, one heap and one thread pool. `blas` is the name runs record.
 * Registration is reversible, so one process can measure or test `wasm` and `blas` side by side.
 */
import * as tf from '@tensorflow/tfjs-core';
import { patchWasmKernels } from '../wasm/kernel-patches.ts';
import type { KernelFunc } from '../wasm/kernels/kernel-utils.ts';
import type { BlasAddon } from './addon.ts';
import { blasBatchMatMul } from './batch-mat-mul.ts';
import { blasFusedMatMul } from './fused-mat-mul.ts';
import { blasLayerKernels } from './layer-kernels.ts';
import { blasTrainingKernels } from './training-kernels.ts';

/** Kernels the `blas` configuration replaces. */
export const BLAS_KERNELS = ['BatchMatMul', '_FusedMatMul'] as const;
export type BlasKernel = (typeof BLAS_KERNELS)[number];

const MAKERS: Record<BlasKernel, (addon: BlasAddon, previous: KernelFunc) => KernelFunc> = {
  BatchMatMul: blasBatchMatMul,
  _FusedMatMul: blasFusedMatMul,
};

/**
 * The same marker the wasm kernel patches carry (kernel-patches.ts), so that `patchWasmKernels`
 * after this sees patched kernels and leaves them alone instead of wrapping BLAS in the patch.
 */
const PATCHED = Symbol.for('moepp.wasmKernelPatch');

/** The configs the BLAS kernels replaced, to restore on unregistering; null while not registered. */
let replaced: Map<BlasKernel, tf.KernelConfig> | null = null;
/** The fused training kernels registered with them (names wasm itself does not have). */
let added: string[] = [];
let registeredAddon: BlasAddon | null = null;

/**
 * Registers the BLAS GEMM kernels over the `wasm` backend (applying the wasm kernel patches
 * first: they stay underneath, for dtypes BLAS does not take). Idempotent. Works before or after
 * the backend is initialised.
 *
 * @example
 * const blas = loadBlasAddon();
 * if (blas.ok) { registerBlasKernels(blas.addon); setBlasThreads(blas.addon, 2); }
 * tf.matMul(a, b, false, true); // cblas_sgemm(…, CblasTrans, …) on the wasm heap
 */
export function registerBlasKernels(addon: BlasAddon): BlasKernel[] {
  if (replaced) return [...BLAS_KERNELS];
  patchWasmKernels();
  const saved = new Map<BlasKernel, tf.KernelConfig>();
  for (const name of BLAS_KERNELS) {
    const config = tf.getKernel(name, 'wasm') as tf.KernelConfig;
    saved.set(name, config);
    const kernelFunc = MAKERS[name](addon, config.kernelFunc) as KernelFunc & { [PATCHED]?: string };
    kernelFunc[PATCHED] = `blas:${name}`;
    tf.unregisterKernel(name, 'wasm');
    // setupFunc stays: the wasm kernel underneath still needs its wasm function bound.
    tf.registerKernel({ ...config, kernelFunc });
  }
  for (const [kernelName, kernelFunc] of Object.entries({ ...blasTrainingKernels(addon), ...blasLayerKernels(addon) })) {
    tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc });
    added.push(kernelName);
  }
  replaced = saved;
  registeredAddon = addon;
  return [...BLAS_KERNELS];
}

/** Restores the kernels `registerBlasKernels` replaced (plain, patched `wasm` again). */
export function unregisterBlasKernels(): void {
  if (!replaced) return;
  for (const [name, config] of replaced) {
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel(config);
  }
  for (const name of added) tf.unregisterKernel(name, 'wasm');
  added = [];
  replaced = null;
  registeredAddon = null;
}

/** Whether the BLAS kernels are registered now. */
export function blasKernelsRegistered(): boolean {
  return replaced !== null;
}

/** The addon the registered kernels call, or null while they are not registered. */
export function blasKernelsAddon(): BlasAddon | null {
  return registeredAddon;
}

/**
 * Sets OpenBLAS's thread count and returns the count OpenBLAS reports back (the number to
 * record: it is what the library will use, not what was asked for).
 */
export function setBlasThreads(addon: BlasAddon, threads: number): number {
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`setBlasThreads: threads must be an integer ≥ 1, got ${threads}`);
  return addon.setNumThreads(threads);
}
