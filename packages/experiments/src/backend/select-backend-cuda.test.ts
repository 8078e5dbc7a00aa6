/**
 * The `cuda` choice on a machine without a GPU, through the addon's real loading code on a
 * stand-in CUDA runtime and cuBLAS (@moepp/backends' testing/fake-cuda: host memory posing as
 * device memory, cuBLAS's documented product): asked for by name it is one clear line when the
 * libraries or the device are missing; found, `auto` prefers it on a GPU machine (before
 * WebGPU), runs its self-check with every product on the "GPU", records the GPU in the run's
 * environment, and refuses a "GPU" whose products are wrong, in `auto` too. A later `blas`
 * choice in the same process is plain OpenBLAS again.
 */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { blasKernelsAddon, DEFAULT_GPU_COST_MODEL, loadBlasAddon, openCuda, type BlasAddon } from '@moepp/backends';
import { buildFakeCuda } from '@moepp/backends/testing/fake-cuda';
import { BackendError, selectBackend } from './select-backend.ts';
import { SELF_CHECK_TOLERANCE } from './backend-self-check.ts';
import { selectExecutor } from './select-executor.ts';
import { describeEnvironment } from '../runs/environment.ts';

const blas = loadBlasAddon();
const fake = buildFakeCuda();
const openFake = (addon: BlasAddon) => openCuda(addon, [fake.ok ? fake.dir : '/nonexistent']);
const noGpu = async () => ({ ok: false as const, reason: 'Dawn found no GPU adapter (simulated)' });

async function failure(p: Promise<unknown>): Promise<Error | null> {
  return p.then(
    () => null,
    (e: unknown) => e as Error,
  );
}

describe.runIf(blas.ok)('selectBackend: cuda', () => {
  // Before the route opens: once open it stays open for the process.
  it('asked for by name without the libraries or a device, it is one line saying why and what to do', async () => {
    const missing = await failure(selectBackend({ requested: 'cuda', env: {}, openCuda: (addon) => openCuda(addon, ['/nonexistent-moepp-cuda']) }));
    expect(missing).toBeInstanceOf(BackendError);
    expect(missing?.message).toMatch(/^backend "cuda" cannot be used: .+ was not found in the loader's search path or 1 folder\(s\) searched\. It needs the OpenBLAS addon, an NVIDIA GPU and the CUDA runtime and cuBLAS \(set MOEPP_CUDA_LIBS .+\); or use another backend: --backend blas/);
    expect(missing?.message).not.toContain('\n');
    process.env.FAKE_CUDA_DEVICES = '0';
    try {
      const noDevice = await failure(selectBackend({ requested: 'cuda', env: {}, openCuda: openFake }));
      expect(noDevice?.message).toContain('backend "cuda" cannot be used: no CUDA device: cudaGetDeviceCount failed: no CUDA-capable device is detected (100).');
    } finally {
      delete process.env.FAKE_CUDA_DEVICES;
    }
    const noAddon = await failure(selectBackend({ requested: 'cuda', env: {}, loadBlas: () => ({ ok: false, reason: 'the OpenBLAS addon is not built (simulated)' }) }));
    expect(noAddon?.message).toContain('backend "cuda" cannot be used: it runs on the OpenBLAS addon, which is not available (the OpenBLAS addon is not built (simulated))');
  });

  it('a "GPU" whose products are wrong fails the self-check: an error naming the case, in auto and when asked for', async () => {
    expect(fake.ok, fake.ok ? '' : fake.reason).toBe(true);
    process.env.FAKE_CUBLAS_SKEW = '0.01';
    try {
      for (const requested of ['cuda', 'auto']) {
        const error = await failure(selectBackend({ requested, env: {}, openCuda: openFake, initWebGpu: noGpu, gpuDevicePresent: () => true }));
        expect(error, requested).toBeInstanceOf(BackendError);
        expect(error?.message).toMatch(
          /^backend "cuda" \(CUDA device 0 \(compute 9\.0\)\) fails its numeric self-check against cpu: .+ has a max relative error of \d\.\d\de-\d+ \(tolerance 0\.0001\), so its results cannot be trusted; use another backend: --backend blas or --backend wasm/,
        );
        // Nothing half-registered is left behind.
        expect(blasKernelsAddon()).toBeNull();
      }
    } finally {
      delete process.env.FAKE_CUBLAS_SKEW;
    }
  });

  it('auto prefers it on a GPU machine, before WebGPU: self-check with every product on the GPU, host executor, GPU recorded', async () => {
    let webgpuTried = false;
    const warnings: string[] = [];
    const b = await selectBackend({
      env: {},
      threads: 2,
      openCuda: openFake,
      initWebGpu: async () => {
        webgpuTried = true;
        return noGpu();
      },
      gpuDevicePresent: () => true,
      warn: (line) => warnings.push(line),
    });
    expect(webgpuTried).toBe(false);
    expect(warnings).toEqual([]);
    expect(b).toMatchObject({ backend: 'cuda', tfjsBackend: 'wasm', threads: 2, wasmThreads: 1 });
    expect(b.cuda).toMatchObject({ device: 'CUDA device 0', computeCapability: '9.0', cudart: `${fake.ok ? fake.dir : ''}/libcudart.so.13` });
    expect(b.selfCheckError).toBeLessThanOrEqual(SELF_CHECK_TOLERANCE);
    const routed = blasKernelsAddon();
    // The check's products went to the GPU; afterwards only those the cost model sends do.
    expect(routed?.gpuProducts?.gpuCalls).toBeGreaterThanOrEqual(4);
    expect(routed?.gpuProducts?.all).toBe(false);
    expect(b.cuda?.costModel).toEqual(DEFAULT_GPU_COST_MODEL);
    expect(b.description).toMatch(/^cuda \(cuBLAS on CUDA device 0 \(compute 9\.0\) for products whose copies cost less than OpenBLAS, OpenBLAS for the rest, 2 threads, self-check \d\.\de[-+]\d+ of cpu\) — auto$/);
    expect(selectExecutor(b.backend, undefined, {})).toBe('host');
    expect(describeEnvironment(b, 1)).toMatchObject({ backend: 'cuda', threads: 2, gpuAdapter: 'CUDA device 0 (compute 9.0), CUDA runtime 13.0, driver 13.0, cuBLAS 13.0.0' });
    // A product the model sends to the GPU (67 MFLOP, 1.6 MB: 0.18 ms of copies and calls against 0.37 ms on 2 threads) goes there, through the kernels the run uses.
    const before = routed?.gpuProducts?.gpuCalls ?? 0;
    const y = tf.tidy(() => tf.matMul(tf.ones([512, 128]), tf.ones([128, 512])));
    expect(y.dataSync()[0]).toBe(128);
    y.dispose();
    expect(routed?.gpuProducts?.gpuCalls).toBe(before + 1);
  });

  it('blas after cuda in one process is plain OpenBLAS again', async () => {
    const b = await selectBackend({ requested: 'blas', env: {}, threads: 1 });
    expect(b.backend).toBe('blas');
    expect(blasKernelsAddon()?.gpuProducts).toBeUndefined();
  });
});
