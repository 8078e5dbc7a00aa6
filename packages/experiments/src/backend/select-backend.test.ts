/**
 * Backend selection on this kind of machine: no libtensorflow (the native packages are installed
 * without their addon), so `auto` lands on wasm when the OpenBLAS addon is missing too (simulated
 * here; `blas` itself is tested in select-backend-blas.test.ts); explicit choices and invalid
 * settings.
 */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { BACKEND_CHOICES, BackendError, selectBackend } from './select-backend.ts';

const noEnv = {};
/** An OpenBLAS addon that was never built, whatever this machine has. */
const missingBlas = () => ({ ok: false as const, reason: 'the OpenBLAS addon is not built (simulated)' });
/** A machine without a GPU, whatever this one has (webgpu itself: select-backend-webgpu.test.ts). */
const noGpu = async () => ({ ok: false as const, reason: 'Dawn found no GPU adapter (simulated)' });

/** Whether a native TensorFlow addon is installed (then auto would rightly not pick wasm). */
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

describe('selectBackend', () => {
  it.runIf(withoutNative)('auto picks wasm with threads and kernel patches when native TensorFlow and the OpenBLAS addon cannot load', async () => {
    const warnings: string[] = [];
    const b = await selectBackend({ env: noEnv, threads: 2, loadBlas: missingBlas, initWebGpu: noGpu, gpuDevicePresent: () => true, warn: (line) => warnings.push(line) });
    expect(b.backend).toBe('wasm');
    expect(b.tfjsBackend).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(b.threads).toBe(2);
    expect(b.simd).toBe(true);
    expect(b.patches).toContain('BatchMatMul');
    expect(b.patches).toContain('UnsortedSegmentSum');
    expect(b.detail).toMatch(/^auto; cuda unavailable \(it runs on the OpenBLAS addon, which is not available \(the OpenBLAS addon is not built \(simulated\)\)\); webgpu unavailable \(Dawn found no GPU adapter \(simulated\)\); tensorflow-gpu unavailable \(.*tfjs-node-gpu.*\); tensorflow unavailable \(.*tfjs-node.*\); blas unavailable \(the OpenBLAS addon is not built \(simulated\)\)$/);
    expect(b.description).toMatch(/^wasm \(SIMD, 2 threads, \d+ kernel patches\) — auto; cuda, blas: OpenBLAS addon not available; webgpu: no GPU adapter; tensorflow-gpu, tensorflow: libtensorflow not installed$/);
    expect(b.description).not.toContain('\n');
    expect(warnings).toEqual([b.cudaNotice, b.webgpuNotice, b.notice]);
    expect(b.cudaNotice).toBe('notice: cuda (cuBLAS GEMM) unavailable: it runs on the OpenBLAS addon, which is not available (the OpenBLAS addon is not built (simulated)); using wasm.');
    expect(b.webgpuNotice).toBe('notice: webgpu (GPU) unavailable: Dawn found no GPU adapter (simulated); using wasm.');
  });

  it('explicit cpu works, from the option or from MOEPP_BACKEND', async () => {
    const b = await selectBackend({ requested: 'cpu', env: noEnv });
    expect(b).toMatchObject({ backend: 'cpu', tfjsBackend: 'cpu', threads: 1, patches: [] });
    expect(b.detail).toBe('requested by --backend');
    const fromEnv = await selectBackend({ env: { MOEPP_BACKEND: 'CPU' } });
    expect(fromEnv.backend).toBe('cpu');
    expect(fromEnv.detail).toBe('requested by MOEPP_BACKEND');
  });

  it('the option overrides MOEPP_BACKEND, and wasm can be chosen explicitly', async () => {
    const b = await selectBackend({ requested: 'wasm', env: { MOEPP_BACKEND: 'cpu', MOEPP_THREADS: '2' } });
    expect(b.backend).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(b.threads).toBe(2);
  });

  it('says when wasm keeps the thread count of its first initialisation', async () => {
    const b = await selectBackend({ requested: 'wasm', env: { MOEPP_THREADS: '1' } });
    expect(b.threads).toBe(2);
    expect(b.detail).toMatch(/already initialised with 2 thread/);
  });

  it('rejects an unknown backend name, listing the valid values', async () => {
    await expect(selectBackend({ requested: 'gpu', env: noEnv })).rejects.toThrow(BackendError);
    await expect(selectBackend({ env: { MOEPP_BACKEND: 'webgl' } })).rejects.toThrow(
      `unknown backend "webgl" (from MOEPP_BACKEND); valid values: ${BACKEND_CHOICES.join(', ')}`,
    );
  });

  it('rejects an invalid thread count', async () => {
    await expect(selectBackend({ requested: 'wasm', env: { MOEPP_THREADS: 'two' } })).rejects.toThrow(/invalid thread count "two" \(from MOEPP_THREADS\)/);
    await expect(selectBackend({ requested: 'wasm', threads: 0, env: noEnv })).rejects.toThrow(/from --threads/);
  });

  it.runIf(withoutNative)('explains why an explicitly requested native backend cannot load and what to do', async () => {
    for (const [name, pkg] of [['tensorflow', '@tensorflow/tfjs-node'], ['tensorflow-gpu', '@tensorflow/tfjs-node-gpu']]) {
      const error = await selectBackend({ requested: name, env: noEnv }).then(
        () => null,
        (e: unknown) => e as Error,
      );
      expect(error).toBeInstanceOf(BackendError);
      expect(error?.name).toBe('BackendError');
      expect(error?.message).toContain(`backend "${name}" (${pkg}) cannot be used:`);
      expect(error?.message).toMatch(/libtensorflow/);
      expect(error?.message).toContain('--backend wasm');
    }
    expect(tf.getBackend()).toBe('wasm'); // a failed choice leaves the active backend alone
  });
});
