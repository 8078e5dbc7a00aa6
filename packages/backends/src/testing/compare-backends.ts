/**
 * Test support: run the same tfjs computation on `cpu` and on `wasm` (patched, or with the BLAS
 * GEMM kernels) and compare, relative to the output's scale. Used by the kernel tests beside
 * each kernel; not a test file itself.
 */
import { expect } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import '@tensorflow/tfjs-backend-cpu';

/** Deterministic values in [-1, 1), different per seed. */
export function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = (seed * 2654435761) >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

export const sizeOf = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);
export const input = (shape: number[], seed: number): tf.Tensor => tf.tensor(values(sizeOf(shape), seed), shape);

export interface Result {
  shape: number[];
  data: Float32Array | Int32Array | Uint8Array;
}

/** Runs `f` on `backend` and returns its (single or first) output, read to the host. */
export function on(backend: 'cpu' | 'wasm', f: () => tf.Tensor): Result {
  tf.setBackend(backend);
  const t = tf.tidy(f);
  const r = { shape: t.shape, data: t.dataSync() as Result['data'] };
  t.dispose();
  return r;
}

/**
 * Asserts wasm(f) equals cpu(reference ?? f) to float32 rounding (relative to the output's scale).
 */
export function expectSameOnBothBackends(label: string, f: () => tf.Tensor, tolerance = 1e-5, reference?: () => tf.Tensor): void {
  const cpu = on('cpu', reference ?? f);
  const wasm = on('wasm', f);
  expect(wasm.shape, label).toEqual(cpu.shape);
  let scale = 1e-30;
  let err = 0;
  for (let i = 0; i < cpu.data.length; i++) {
    scale = Math.max(scale, Math.abs(cpu.data[i]));
    err = Math.max(err, Math.abs(cpu.data[i] - wasm.data[i]));
  }
  expect(cpu.data.length, label).toBe(sizeOf(cpu.shape));
  expect(err / scale, label).toBeLessThanOrEqual(tolerance);
}

/** Backend buffers and engine tensors, to check that kernels free their temporaries. */
export function counts(): { tensors: number; buffers: number } {
  return { tensors: tf.memory().numTensors, buffers: tf.engine().backend.numDataIds() };
}

/**
 * The configuration the wasm kernel tests check: `blas` when `MOEPP_BACKEND=blas` (CI's default
 * run: the patched kernels then run with the BLAS GEMM kernels over them, as in a `blas` run),
 * else plain patched `wasm` (CI's second run of these tests).
 */
export const kernelTestConfig = (env: Record<string, string | undefined> = process.env): 'wasm' | 'blas' =>
  env.MOEPP_BACKEND?.trim().toLowerCase() === 'blas' ? 'blas' : 'wasm';

/**
 * Initialises `wasm` (by default with 2 threads, so the thread-pool branches of the patched
 * kernels run), applies the kernel patches and, under {@link kernelTestConfig} `blas`, registers
 * the BLAS GEMM kernels — failing loudly when the addon cannot load, since `blas` was asked for.
 */
export async function initWasmForKernelTests(threads = 2): Promise<void> {
  const { initWasmBackend } = await import('../wasm/threads.ts');
  const { patchWasmKernels } = await import('../wasm/kernel-patches.ts');
  await initWasmBackend({ threads });
  patchWasmKernels();
  if (kernelTestConfig() === 'blas') {
    const { loadBlasAddon, BLAS_INSTALL_HINT } = await import('../blas/addon.ts');
    const { registerBlasKernels } = await import('../blas/blas-kernels.ts');
    const blas = loadBlasAddon();
    if (!blas.ok) throw new Error(`MOEPP_BACKEND=blas, but ${blas.reason}; ${BLAS_INSTALL_HINT}`);
    registerBlasKernels(blas.addon);
  }
}
