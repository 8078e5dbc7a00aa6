/**
 * Test support: the backends every core test runs on — `cpu`, `wasm` and, where the OpenBLAS
 * addon is built, `blas` (wasm with OpenBLAS GEMM kernels, @moepp/backends). `wasm` and `blas`
 * run single-threaded here (tests check numbers, not speed), so results do not depend on the
 * machine's core count.
 *
 * `blas` comes last: registering its kernels also applies the wasm kernel patches, which cannot
 * be undone, and the `wasm` cases run on the unpatched backend. With `MOEPP_BACKEND=blas` (CI's
 * default run) a missing addon is an error, not a skip: `blas` was asked for.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { loadBlasAddon, registerBlasKernels, setBlasThreads, unregisterBlasKernels } from '@moepp/backends';

const blas = loadBlasAddon();
const blasRequired = process.env.MOEPP_BACKEND?.trim().toLowerCase() === 'blas';
if (blasRequired && !blas.ok) throw new Error(`MOEPP_BACKEND=blas but ${blas.reason}`);
/** Why the `blas` cases do not run here, or null when they do. */
export const BLAS_UNAVAILABLE: string | null = blas.ok ? null : blas.reason;

export type TestBackend = 'cpu' | 'wasm' | 'blas';
export const TEST_BACKENDS: readonly TestBackend[] = blas.ok ? ['cpu', 'wasm', 'blas'] : ['cpu', 'wasm'];

/** Switches tfjs to `name` and waits until it is ready. */
export async function useBackend(name: TestBackend): Promise<void> {
  if (name !== 'blas') unregisterBlasKernels();
  const ok = await tf.setBackend(name === 'blas' ? 'wasm' : name);
  if (!ok) throw new Error(`backend ${name} failed to initialise`);
  await tf.ready();
  if (name === 'blas') {
    if (!blas.ok) throw new Error(blas.reason);
    registerBlasKernels(blas.addon);
    setBlasThreads(blas.addon, 1);
  }
}
