/**
 * Test support for the BLAS kernels: the addon (or why it is missing), a `describe` that turns
 * into one skipped test naming the reason and what to install, and a count of GEMM calls so that
 * a test can tell a BLAS result from one the fallback kernel computed.
 */
import { describe, expect, it } from 'vitest';
import type * as tf from '@tensorflow/tfjs-core';
import { BLAS_INSTALL_HINT, loadBlasAddon, type BlasAddon } from '../blas/addon.ts';
import { expectSameOnBothBackends } from './compare-backends.ts';

export const blas = loadBlasAddon();

/** sgemmBatch calls made through the kernels registered by {@link initBlasForTests}. */
export const gemmCalls = { count: 0 };
/** gemmPacked calls (products on packed weights) made through them. */
export const packedCalls = { count: 0 };
/** packedSwiGluExpert calls (one FFN expert's forward on packed weights) made through them. */
export const packedExpertCalls = { count: 0 };

/** The addon with its GEMM calls counted. */
export function countingAddon(addon: BlasAddon): BlasAddon {
  return {
    ...addon,
    sgemmBatch: (...args) => {
      gemmCalls.count++;
      return addon.sgemmBatch(...args);
    },
    gemmPacked: (...args) => {
      packedCalls.count++;
      return addon.gemmPacked(...args);
    },
    packedSwiGluExpert: (...args) => {
      packedExpertCalls.count++;
      return addon.packedSwiGluExpert(...args);
    },
  };
}

/**
 * wasm with `wasmThreads` (1, as `blas` runs use: a plain ArrayBuffer heap that moves when it
 * grows, the case the heap views must survive), the kernel patches, the BLAS kernels (counting
 * their calls) and `blasThreads` OpenBLAS threads. Returns the thread count OpenBLAS reports.
 */
export async function initBlasForTests(blasThreads = 2, wasmThreads = 1): Promise<number> {
  if (!blas.ok) throw new Error(blas.reason);
  const { initWasmBackend } = await import('../wasm/threads.ts');
  const { registerBlasKernels, setBlasThreads } = await import('../blas/blas-kernels.ts');
  await initWasmBackend({ threads: wasmThreads });
  registerBlasKernels(countingAddon(blas.addon));
  return setBlasThreads(blas.addon, blasThreads);
}

/** `describe`, or — without the addon — one skipped test that says why and what to install. */
export function describeBlas(name: string, body: () => void): void {
  if (blas.ok) describe(name, body);
  else describe(name, () => it.skip(`skipped: ${blas.reason}. To run: ${BLAS_INSTALL_HINT}`, () => {}));
}

/** {@link expectSameOnBothBackends}, and the wasm side must have gone through BLAS. */
export function expectSameThroughBlas(label: string, f: () => tf.Tensor, tolerance = 1e-5, reference?: () => tf.Tensor): void {
  const before = gemmCalls.count;
  expectSameOnBothBackends(label, f, tolerance, reference);
  expect(gemmCalls.count, `${label}: no BLAS call`).toBeGreaterThan(before);
}
