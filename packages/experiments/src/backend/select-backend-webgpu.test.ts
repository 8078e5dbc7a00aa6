/**
 * The `webgpu` choice on a machine without a GPU, and its numeric self-check. Real Dawn runs
 * here where it finds no adapter (this CI machine): `auto` goes on with one line, an explicit
 * `webgpu` is one clear error. The self-check's both outcomes run on stand-in GPU backends: the
 * `cpu` backend's kernels registered under another name (a correct "GPU"), and the same with
 * one kernel overridden to return wrong numbers (a broken one, like Dawn's null backend).
 */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { initWebGpu, type WebGpuAdapterInfo, type WebGpuInit } from '@moepp/backends';
import { BackendError, selectBackend } from './select-backend.ts';
import { SELF_CHECK_TOLERANCE, selfCheckBackend } from './backend-self-check.ts';
import { selectExecutor } from './select-executor.ts';
import { describeEnvironment } from '../runs/environment.ts';

const missingBlas = () => ({ ok: false as const, reason: 'the OpenBLAS addon is not built (simulated)' });
const realGpu = await initWebGpu();

const H200: WebGpuAdapterInfo = { vendor: 'nvidia', architecture: 'hopper', device: '', description: 'NVIDIA H200 (stand-in)', software: false };

/**
 * Registers `name` as a backend running the cpu kernels, with `wrong` (kernel name → how to
 * spoil its output values in place) applied on top.
 */
function registerStandIn(name: string, wrong: Record<string, (values: Float32Array) => void> = {}): void {
  if (tf.findBackendFactory(name)) return;
  tf.registerBackend(name, () => new MathBackendCPU());
  for (const kernel of tf.getKernelsForBackend('cpu')) {
    const spoil = wrong[kernel.kernelName];
    const kernelFunc: tf.KernelFunc = spoil
      ? (args) => {
          const out = kernel.kernelFunc(args) as tf.TensorInfo;
          spoil((args.backend as MathBackendCPU).data.get(out.dataId).values as Float32Array);
          return out;
        }
      : kernel.kernelFunc;
    tf.registerKernel({ ...kernel, backendName: name, kernelFunc });
  }
}

const standIn = (tfjsBackend: string, adapter: WebGpuAdapterInfo = H200) => async (): Promise<WebGpuInit> => ({ ok: true, tfjsBackend, adapter });

registerStandIn('stand-in-gpu');
// Garbage of Dawn's null backend's size, in every product.
registerStandIn('broken-matmul-gpu', { BatchMatMul: (v) => v.fill(1e25) });
// Only the layer's routing softmax is off (by 1 %): matMuls pass, the MoE layer case must not.
registerStandIn('broken-softmax-gpu', { Softmax: (v) => v.forEach((x, i) => (v[i] = x * 1.01)) });

async function failure(p: Promise<unknown>): Promise<Error | null> {
  return p.then(
    () => null,
    (e: unknown) => e as Error,
  );
}

describe('selectBackend: webgpu', () => {
  it.runIf(!realGpu.ok)('without a GPU adapter, auto goes on to the next backend with a one-line notice', async () => {
    await tf.setBackend('cpu');
    const warnings: string[] = [];
    const b = await selectBackend({ env: {}, threads: 1, loadBlas: missingBlas, warn: (line) => warnings.push(line) });
    expect(b.backend).toBe('wasm');
    expect(b.webgpuNotice).toMatch(/^notice: webgpu \(GPU\) unavailable: .+; using wasm\.$/);
    expect(b.webgpuNotice).not.toContain('\n');
    expect(warnings[0]).toBe(b.webgpuNotice);
    expect(b.detail).toMatch(/^auto; cuda unavailable \(.+\); webgpu unavailable \(/);
  });

  it.runIf(!realGpu.ok)('an explicit webgpu without a GPU adapter is one line saying why and what to use instead', async () => {
    const before = tf.getBackend();
    const error = await failure(selectBackend({ requested: 'webgpu', env: {} }));
    expect(error).toBeInstanceOf(BackendError);
    expect(error?.message).toMatch(/^backend "webgpu" cannot be used: .+\. On a GPU machine, install its Vulkan driver and loader \(libvulkan1\); or use another backend: --backend wasm/);
    expect(error?.message).toContain(realGpu.ok ? '' : realGpu.reason);
    expect(error?.message).not.toContain('\n');
    expect(tf.getBackend()).toBe(before);
  });

  it('auto looks for a GPU only where a GPU device node exists; asked for by name, always', async () => {
    let calls = 0;
    const counted = async () => {
      calls += 1;
      return standIn('stand-in-gpu')();
    };
    const warnings: string[] = [];
    const cpuMachine = await selectBackend({ env: {}, loadBlas: missingBlas, initWebGpu: counted, gpuDevicePresent: () => false, warn: (line) => warnings.push(line) });
    expect(calls).toBe(0);
    expect(cpuMachine.backend).toBe('wasm');
    expect(cpuMachine.webgpuNotice).toBe('notice: webgpu (GPU) unavailable: no GPU device (/dev/nvidiactl, /dev/dri/renderD*); using wasm.');
    const named = await selectBackend({ requested: 'webgpu', env: {}, initWebGpu: counted, gpuDevicePresent: () => false });
    expect(calls).toBe(1);
    expect(named.backend).toBe('webgpu');
    const gpuMachine = await selectBackend({ env: {}, loadBlas: missingBlas, initWebGpu: counted, gpuDevicePresent: () => true });
    expect(calls).toBe(2);
    expect(gpuMachine.backend).toBe('webgpu');
    await tf.setBackend('wasm');
  });

  it('auto prefers a GPU that passes the self-check, and runs the tf-ops executor there', async () => {
    const b = await selectBackend({ env: {}, loadBlas: missingBlas, initWebGpu: standIn('stand-in-gpu'), gpuDevicePresent: () => true });
    expect(b).toMatchObject({ backend: 'webgpu', tfjsBackend: 'stand-in-gpu', adapter: 'nvidia hopper (NVIDIA H200 (stand-in))', threads: 1 });
    expect(tf.getBackend()).toBe('stand-in-gpu');
    expect(b.selfCheckError).toBeLessThanOrEqual(SELF_CHECK_TOLERANCE);
    expect(b.webgpuNotice).toBeUndefined();
    // cuda, tried first on a GPU machine, runs on the (here missing) OpenBLAS addon.
    expect(b.cudaNotice).toMatch(/^notice: cuda \(cuBLAS GEMM\) unavailable: it runs on the OpenBLAS addon, which is not available .+; using webgpu\.$/);
    expect(b.description).toMatch(/^webgpu \(WebGPU on nvidia hopper \(NVIDIA H200 \(stand-in\)\), self-check \d\.\de[-+]\d+ of cpu\) — auto; cuda: OpenBLAS addon not available$/);
    expect(selectExecutor(b.backend, undefined, {})).toBe('tf-ops');
    expect(describeEnvironment(b, 1)).toMatchObject({ backend: 'webgpu', threads: 1, gpuAdapter: 'nvidia hopper (NVIDIA H200 (stand-in))' });
    await tf.setBackend('wasm');
  });

  it('a GPU that fails the self-check is an error naming the case and its error, in auto and when asked for', async () => {
    await tf.setBackend('wasm');
    for (const requested of ['auto', 'webgpu']) {
      const error = await failure(selectBackend({ requested, env: {}, loadBlas: missingBlas, initWebGpu: standIn('broken-matmul-gpu'), gpuDevicePresent: () => true }));
      expect(error).toBeInstanceOf(BackendError);
      expect(error?.message).toMatch(
        /^backend "webgpu" \(nvidia hopper \(NVIDIA H200 \(stand-in\)\)\) fails its numeric self-check against cpu: matMul .+ has a max relative error of \d\.\d\de\+\d+ \(tolerance 0\.0001\), so its results cannot be trusted; use another backend: --backend blas or --backend wasm/,
      );
      expect(error?.message).not.toContain('\n');
      expect(tf.getBackend()).toBe('wasm'); // never left on the broken backend
    }
  });

  it('auto skips a software adapter (a CPU Vulkan) with a notice; asked for explicitly, it is used', async () => {
    const lavapipe = { ...H200, vendor: 'mesa', architecture: '', description: 'llvmpipe (LLVM 19.1.7, 256 bits)', software: true };
    const warnings: string[] = [];
    const b = await selectBackend({ env: {}, loadBlas: missingBlas, initWebGpu: standIn('stand-in-gpu', lavapipe), gpuDevicePresent: () => true, warn: (line) => warnings.push(line) });
    expect(b.backend).toBe('wasm');
    expect(b.webgpuNotice).toBe('notice: webgpu (GPU) unavailable: only a software adapter, mesa (llvmpipe (LLVM 19.1.7, 256 bits)), no faster than the CPU backends; using wasm.');
    const explicit = await selectBackend({ requested: 'webgpu', env: {}, initWebGpu: standIn('stand-in-gpu', lavapipe) });
    expect(explicit.backend).toBe('webgpu');
    await tf.setBackend('wasm');
  });
});

describe('selfCheckBackend', () => {
  it('passes a backend computing what cpu computes, well inside the tolerance', async () => {
    const check = await selfCheckBackend('stand-in-gpu');
    expect(check.ok).toBe(true);
    expect(check.cases.map((c) => c.name)).toEqual([
      'matMul 64×96·96×80',
      'matMul with transposeA',
      'matMul with transposeB',
      'host read (dataSync) of a computed matMul',
      'MoE++ layer forward (4 FFN + zero, copy, constant experts, top-2)',
    ]);
    for (const c of check.cases) expect(c.relativeError).toBe(0); // the same kernels: bit-identical
  });

  it('catches an error outside the products: a 1 % wrong softmax fails the MoE layer case only', async () => {
    const numTensors = tf.memory().numTensors;
    const check = await selfCheckBackend('broken-softmax-gpu');
    expect(check.ok).toBe(false);
    expect(check.worst.name).toMatch(/^MoE\+\+ layer forward/);
    expect(check.worst.relativeError).toBeGreaterThan(SELF_CHECK_TOLERANCE);
    expect(check.cases.slice(0, 4).every((c) => c.relativeError === 0)).toBe(true);
    expect(tf.memory().numTensors).toBe(numTensors);
  });

  it('a backend that cannot read synchronously (tfjs-backend-webgpu in Node) fails with what it threw', async () => {
    registerStandIn('async-only-gpu');
    const backend = tf.engine().findBackend('async-only-gpu') as MathBackendCPU;
    const readSync = backend.readSync.bind(backend);
    backend.read = async (dataId) => readSync(dataId);
    backend.readSync = () => {
      throw new ReferenceError('OffscreenCanvas is not defined');
    };
    const error = await failure(selectBackend({ requested: 'webgpu', env: {}, initWebGpu: standIn('async-only-gpu') }));
    const check = await selfCheckBackend('async-only-gpu');
    expect(check.cases.map((c) => c.error ?? 'ok')).toEqual(['ok', 'ok', 'ok', 'OffscreenCanvas is not defined', expect.stringContaining('OffscreenCanvas')]);
    expect(error?.message).toMatch(/fails its numeric self-check against cpu: host read \(dataSync\) of a computed matMul threw \(OffscreenCanvas is not defined\), so its results cannot be trusted/);
  });

  it('treats NaN results as an infinite error', async () => {
    registerStandIn('nan-gpu', { BatchMatMul: (v) => v.fill(Number.NaN) });
    const check = await selfCheckBackend('nan-gpu');
    expect(check.ok).toBe(false);
    expect(check.worst.relativeError).toBe(Number.POSITIVE_INFINITY);
    // The MoE layer case: core refuses NaN router logits, and that is a failed case, not a crash.
    expect(check.cases[4]).toMatchObject({ relativeError: Number.POSITIVE_INFINITY, error: expect.stringMatching(/router logit is NaN/) });
    const error = await failure(selectBackend({ requested: 'webgpu', env: {}, initWebGpu: standIn('nan-gpu') }));
    expect(error?.message).toMatch(/fails its numeric self-check against cpu: matMul 64×96·96×80 has a max relative error of Infinity \(tolerance/);
  });
});
