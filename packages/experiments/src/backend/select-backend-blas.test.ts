/**
 * The `blas` choice (wasm + OpenBLAS GEMM kernels): without the addon (simulated by an injected
 * loader, or by MOEPP_BLAS_ADDON pointing nowhere) `auto` falls back to wasm with a one-line
 * notice saying what to install and `blas` is a BackendError giving the reason; with the addon
 * (when this machine has built it) `auto` takes `blas`, threads set OpenBLAS's pool and are
 * read back from it, the run environment records them, and `wasm` afterwards is plain wasm again.
 */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { blasKernelsRegistered, loadBlasAddon } from '@moepp/backends';
import { BackendError, selectBackend } from './select-backend.ts';
import { describeEnvironment } from '../runs/environment.ts';

const missingBlas = () => ({ ok: false as const, reason: 'the OpenBLAS addon is not built (simulated)' });
/** A machine without a GPU, whatever this one has: `auto` would rightly prefer a working one. */
const noGpu = async () => ({ ok: false as const, reason: 'Dawn found no GPU adapter (simulated)' });
const noCuda = () => ({ ok: false as const, reason: 'the CUDA runtime (libcudart.so.13 or .12) was not found (simulated)' });
const blas = loadBlasAddon();

function nativeAddonInstalled(): boolean {
  const require = createRequire(import.meta.url);
  return ['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'].some((pkg) => {
    try {
      const lib = join(dirname(require.resolve(`${pkg}/package.json`)), 'lib');
      return existsSync(lib) && readdirSync(lib).some((d) => existsSync(join(lib, d, 'tfjs_binding.node')));
    } catch {
      return false;
    }
  });
}
const withoutNative = !nativeAddonInstalled();

describe('selectBackend: blas', () => {
  it.runIf(withoutNative)('auto falls back to wasm with a one-line notice saying what to install when the addon is missing', async () => {
    const warnings: string[] = [];
    const b = await selectBackend({ env: {}, threads: 1, loadBlas: missingBlas, initWebGpu: noGpu, gpuDevicePresent: () => true, warn: (line) => warnings.push(line) });
    expect(b.backend).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(blasKernelsRegistered()).toBe(false);
    expect(b.notice).toBe(
      'notice: blas (OpenBLAS GEMM) unavailable: the OpenBLAS addon is not built (simulated); using wasm. ' +
        'To enable it: apt-get install libopenblas-dev libopenblas-pthread-dev build-essential, then pnpm build:native.',
    );
    expect(warnings).toEqual([b.cudaNotice, b.webgpuNotice, b.notice]); // once each
    expect(b.detail).toContain('blas unavailable (the OpenBLAS addon is not built (simulated))');
    expect(b.description).toMatch(/ — auto; cuda, blas: OpenBLAS addon not available; /);
  });

  it.runIf(withoutNative)('MOEPP_BLAS_ADDON pointing at a missing file is a missing addon too', async () => {
    const warnings: string[] = [];
    const b = await selectBackend({ env: { MOEPP_BLAS_ADDON: '/nonexistent/moepp_blas.node' }, threads: 1, initWebGpu: noGpu, gpuDevicePresent: () => true, warn: (line) => warnings.push(line) });
    expect(b.backend).toBe('wasm');
    expect(warnings).toHaveLength(3);
    expect(warnings[2]).toContain('the OpenBLAS addon is not built (/nonexistent/moepp_blas.node does not exist)');
  });

  it('an explicit blas request without the addon fails with the reason and what to install, in one line', async () => {
    const before = tf.getBackend();
    for (const options of [{ requested: 'blas', loadBlas: missingBlas }, { env: { MOEPP_BACKEND: 'blas' }, loadBlas: missingBlas }]) {
      const error = await selectBackend({ env: {}, ...options }).then(
        () => null,
        (e: unknown) => e as Error,
      );
      expect(error).toBeInstanceOf(BackendError);
      expect(error?.message).toBe(
        'backend "blas" cannot be used: the OpenBLAS addon is not built (simulated). ' +
          'To enable it: apt-get install libopenblas-dev libopenblas-pthread-dev build-essential, then pnpm build:native; ' +
          'or use --backend wasm (or MOEPP_BACKEND=wasm).',
      );
      expect(error?.message).not.toContain('\n');
    }
    expect(tf.getBackend()).toBe(before); // a failed choice leaves the active backend alone
  });

  it.runIf(blas.ok && withoutNative)('auto picks blas when the addon loads: OpenBLAS threads from --threads, read back from the library, recorded in the run environment', async () => {
    if (!blas.ok) return;
    const warnings: string[] = [];
    const b = await selectBackend({ env: {}, threads: 2, initWebGpu: noGpu, openCuda: noCuda, gpuDevicePresent: () => true, warn: (line) => warnings.push(line) });
    expect(b.backend).toBe('blas');
    expect(b.tfjsBackend).toBe('wasm'); // heap-io and core's host paths recognise the heap by this name
    expect(tf.getBackend()).toBe('wasm');
    expect(blasKernelsRegistered()).toBe(true);
    expect(b.threads).toBe(2);
    expect(blas.addon.getNumThreads()).toBe(2);
    expect(b.wasmThreads).toBe(1);
    expect(b.blasLibrary).toMatch(/^OpenBLAS /);
    expect(b.patches).toContain('BatchMatMul');
    expect(b.notice).toBeUndefined();
    expect(warnings).toEqual([b.cudaNotice, b.webgpuNotice]);
    expect(b.cudaNotice).toBe('notice: cuda (cuBLAS GEMM) unavailable: the CUDA runtime (libcudart.so.13 or .12) was not found (simulated); using blas.');
    expect(b.description).toMatch(/^blas \(OpenBLAS GEMM, 2 threads, 10 fused training kernels, wasm SIMD, 1 thread, \d+ kernel patches\) — auto; cuda: CUDA libraries not found; webgpu: no GPU adapter; tensorflow-gpu, tensorflow: libtensorflow not installed$/);
    const env = describeEnvironment(b, 7);
    expect(env).toMatchObject({ backend: 'blas', threads: 2, wasmThreads: 1, seed: 7 });
    expect(env.blasLibrary).toMatch(/^OpenBLAS /);
  });

  it.runIf(blas.ok)('MOEPP_THREADS sets the OpenBLAS threads of an explicit blas; a later wasm choice removes the BLAS kernels', async () => {
    if (!blas.ok) return;
    const b = await selectBackend({ env: { MOEPP_BACKEND: 'blas', MOEPP_THREADS: '1' } });
    expect(b).toMatchObject({ backend: 'blas', threads: 1 });
    expect(b.detail).toMatch(/^requested by MOEPP_BACKEND/);
    expect(blas.addon.getNumThreads()).toBe(1);
    expect(blasKernelsRegistered()).toBe(true);
    const w = await selectBackend({ requested: 'wasm', env: {} });
    expect(w.backend).toBe('wasm');
    expect(blasKernelsRegistered()).toBe(false);
    const again = await selectBackend({ requested: 'blas', env: {}, threads: 2 });
    expect(again.threads).toBe(2);
    expect(blasKernelsRegistered()).toBe(true);
  });
});
