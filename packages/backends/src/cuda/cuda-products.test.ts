/**
 * The `cuda` route on a machine without a GPU: the addon opens a stand-in CUDA runtime and cuBLAS
 * (testing/fake-cuda, which keeps "device" memory apart from host memory and computes cuBLAS's
 * documented column-major product), so what is checked is everything but NVIDIA's code — the
 * library search and its one-line failures, the row-major to column-major mapping of every
 * transpose combination, batch offsets and broadcasting, the copies each way and their sizes,
 * the routing by size through tfjs's kernels, and packed weights declining. A real GPU is
 * measured by bench/gpu/run-on-device.sh (BENCHMARKS.md "GPU").
 */
import { beforeAll, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { blas, describeBlas } from '../testing/blas-setup.ts';
import { buildFakeCuda } from '../testing/fake-cuda.ts';
import { expectSameOnBothBackends, input, values } from '../testing/compare-backends.ts';
import { initWasmBackend } from '../wasm/threads.ts';
import { registerBlasKernels, setBlasThreads, unregisterBlasKernels } from '../blas/blas-kernels.ts';
import { packWeights } from '../blas/packed-weights.ts';
import { cudaLibraryDirs, cudaProductsAddon, gpuWins, openCuda, type GpuCostModel } from './cuda-products.ts';

/** float64 row-major op(A)·op(B) for one entry. */
function reference(transA: boolean, transB: boolean, m: number, n: number, k: number, a: Float32Array, ao: number, b: Float32Array, bo: number): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a[ao + (transA ? p * m + i : i * k + p)] * b[bo + (transB ? j * k + p : p * n + j)];
      c[i * n + j] = s;
    }
  }
  return c;
}

describeBlas('cuda route (stand-in CUDA libraries)', () => {
  const fake = buildFakeCuda();
  const addon = blas.ok ? blas.addon : (undefined as never);

  it('builds the stand-in libraries', () => {
    expect(fake.ok, fake.ok ? '' : fake.reason).toBe(true);
  });

  // Before the route opens (it stays open for the process once it has).
  it('says in one line what is missing: no libraries in the folders, no device', () => {
    const empty = openCuda(addon, ['/nonexistent-moepp-cuda']);
    expect(empty.ok).toBe(false);
    if (!empty.ok) {
      expect(empty.reason).toMatch(/was not found in the loader's search path or 1 folder/);
      expect(empty.reason).not.toContain('\n');
    }
    process.env.FAKE_CUDA_DEVICES = '0';
    try {
      const none = openCuda(addon, [fake.ok ? fake.dir : '']);
      expect(none.ok).toBe(false);
      if (!none.ok) expect(none.reason).toBe('no CUDA device: cudaGetDeviceCount failed: no CUDA-capable device is detected (100)');
    } finally {
      delete process.env.FAKE_CUDA_DEVICES;
    }
    const x = new Float32Array(4);
    expect(() => addon.cudaSgemmBatch(false, false, 2, 2, 1, x, new Int32Array(1), x, new Int32Array(1), x)).toThrow('cudaSgemmBatch: the CUDA route is not open');
  });

  it('searches MOEPP_CUDA_LIBS first, each folder once, then the NVIDIA wheels of Pythons and virtual environments', () => {
    const dirs = cudaLibraryDirs({ MOEPP_CUDA_LIBS: '/a:/b:/a' });
    expect(dirs.slice(0, 2)).toEqual(['/a', '/b']);
    expect(dirs.filter((d) => d === '/a')).toHaveLength(1);
    // As on the GPU machine: PyTorch's venv under /opt (CUDA 13 wheels), a system Python's CUDA 12 wheels.
    const root = mkdtempSync(join(tmpdir(), 'moepp-python-'));
    const venv = join(root, 'torch/.venv/lib/python3.12/site-packages/nvidia/cu13/lib');
    const system = join(root, 'python3.11/dist-packages/nvidia/cublas/lib');
    const notNvidia = join(root, 'other/lib/python3.12/site-packages/numpy');
    for (const d of [venv, system, notNvidia]) mkdirSync(d, { recursive: true });
    expect(cudaLibraryDirs({}, [root]).slice(0, 2).sort()).toEqual([system, venv].sort());
    rmSync(root, { recursive: true });
  });

  it('opens the libraries from the folder given and reports the device', () => {
    if (!fake.ok) throw new Error(fake.reason);
    const open = openCuda(addon, ['/nonexistent-moepp-cuda', fake.dir]);
    expect(open.ok, open.ok ? '' : open.reason).toBe(true);
    if (!open.ok) return;
    expect(open.device).toMatchObject({ device: 'CUDA device 0', computeCapability: '9.0', runtimeVersion: 13000, cublasVersion: 130000 });
    expect(open.device.cudart).toBe(`${fake.dir}/libcudart.so.13`);
    expect(open.device.cublas).toBe(`${fake.dir}/libcublas.so.13`);
  });

  it('computes row-major products: every transpose combination, batch offsets, broadcast entries, copies counted', () => {
    for (const [m, n, k] of [[1, 1, 1], [7, 5, 13], [64, 70, 33], [3, 200, 1]]) {
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          // Three entries: A's second repeats its first (a broadcast), B's start past a gap.
          const a = values(2 * m * k + 3, m + n);
          const b = values(3 * k * n + 5, k);
          const aOffsets = new Int32Array([3, 3, 3 + m * k]);
          const bOffsets = new Int32Array([5, 5 + 2 * k * n, 5 + k * n]);
          const c = new Float32Array(3 * m * n).fill(Number.NaN);
          addon.cudaSgemmBatch(transA, transB, m, n, k, a, aOffsets, b, bOffsets, c);
          for (let i = 0; i < 3; i++) {
            const ref = reference(transA, transB, m, n, k, a, aOffsets[i], b, bOffsets[i]);
            const got = c.subarray(i * m * n, (i + 1) * m * n);
            for (let j = 0; j < ref.length; j++) expect(Math.abs(got[j] - ref[j]), `${m}x${n}x${k} tA=${transA} tB=${transB} entry ${i}`).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(ref[j])));
          }
          const t = addon.cudaLastTimings();
          // The spans the entries touch go up once each; every C comes back.
          expect(t.bytesUp).toBe(4 * (2 * m * k + 3 * k * n));
          expect(t.bytesDown).toBe(4 * 3 * m * n);
        }
      }
    }
  });

  it('writes zeros for k = 0 and nothing for an empty output; one-line errors for entries outside their arrays', () => {
    const c = new Float32Array(6).fill(7);
    addon.cudaSgemmBatch(false, false, 2, 3, 0, new Float32Array(0), new Int32Array(1), new Float32Array(0), new Int32Array(1), c);
    expect([...c]).toEqual([0, 0, 0, 0, 0, 0]);
    const a = new Float32Array(6);
    expect(() => addon.cudaSgemmBatch(false, false, 2, 3, 3, a, new Int32Array([1]), new Float32Array(9), new Int32Array([0]), c)).toThrow('moepp_blas: an entry of a lies outside the array');
    expect(() => addon.cudaSgemmBatch(false, false, 2, 3, 3, a, new Int32Array([0]), new Float32Array(9), new Int32Array([0]), new Float32Array(5))).toThrow('moepp_blas: c is smaller than batch · m · n');
  });

  it('grows its GPU buffers as products grow, and gives the same answers after', () => {
    for (const side of [8, 300, 16]) {
      const a = values(side * side, side);
      const c = new Float32Array(side * side);
      addon.cudaSgemmBatch(false, true, side, side, side, a, new Int32Array(1), a, new Int32Array(1), c);
      const ref = reference(false, true, side, side, side, a, 0, a, 0);
      let worst = 0;
      for (let j = 0; j < ref.length; j++) worst = Math.max(worst, Math.abs(c[j] - ref[j]));
      expect(worst, `side ${side}`).toBeLessThan(1e-5);
    }
  });

  it('the cost model sends a product to the GPU when its copies cost less than OpenBLAS on its threads would', () => {
    const model: GpuCostModel = { copyBytesPerSecond: 10e9, fixedSeconds: 0, cpuFlopsPerThread: 100e9 };
    // (512, 768)·(768, 2048): 1.61 GFLOP, 12.1 MB. OpenBLAS: 16.1 ms on 1 thread, 1.01 ms on 16; copies 1.21 ms.
    const flops = 2 * 512 * 768 * 2048;
    const bytes = 4 * (512 * 768 + 768 * 2048 + 512 * 2048);
    expect(gpuWins(model, flops, bytes, 1)).toBe(true);
    expect(gpuWins(model, flops, bytes, 16)).toBe(false);
    expect(gpuWins(model, flops, bytes, 13)).toBe(true); // 1.24 ms on 13 threads
    expect(gpuWins({ ...model, fixedSeconds: 1e-3 }, flops, bytes, 8)).toBe(false); // 2.21 ms against 2.01 ms on 8 threads
    expect(gpuWins(model, flops, bytes, 8)).toBe(true);
    expect(gpuWins(model, 0, 0, 1)).toBe(false);
  });

  describeBlas('through tfjs kernels', () => {
    // Copies at 10 GB/s and no fixed cost against 100 GFLOP/s on OpenBLAS's one thread.
    const routed = blas.ok ? cudaProductsAddon(blas.addon, { copyBytesPerSecond: 10e9, fixedSeconds: 0, cpuFlopsPerThread: 100e9 }) : (undefined as never);
    beforeAll(async () => {
      await initWasmBackend({ threads: 1 });
      unregisterBlasKernels();
      registerBlasKernels(routed);
    });

    it('sends the products the cost model says the GPU wins there and the others to OpenBLAS, both matching cpu', () => {
      setBlasThreads(blas.ok ? blas.addon : (undefined as never), 1);
      const big = routed.gpuProducts.gpuCalls;
      const small = routed.gpuProducts.cpuCalls;
      // (256, 128)·(128, 256): 16.8 MFLOP, 0.39 MB: 39 µs of copies against 168 µs on one thread: GPU.
      expectSameOnBothBackends('256x128x256', () => tf.matMul(input([256, 128], 1), input([128, 256], 2)));
      expect(routed.gpuProducts.gpuCalls).toBe(big + 1);
      // (256, 4)·(4, 256): 0.52 MFLOP, 0.27 MB: 27 µs of copies against 5 µs: OpenBLAS.
      expectSameOnBothBackends('256x4x256 tB', () => tf.matMul(input([256, 4], 3), input([256, 4], 4), false, true));
      expect(routed.gpuProducts.cpuCalls).toBe(small + 1);
      // A broadcast batch and both transposes, all products on the GPU.
      routed.gpuProducts.all = true;
      try {
        const before = routed.gpuProducts.gpuCalls;
        expectSameOnBothBackends('(3,9,5)ᵀ·(1,7,9)ᵀ', () => tf.matMul(input([3, 5, 9], 5), input([1, 7, 5], 6), true, true));
        expectSameOnBothBackends('matMul gradient', () => {
          const x = input([12, 8], 7);
          const w = input([8, 6], 8);
          const [dx, dw] = tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.square(tf.matMul(p, q))))([x, w]);
          return tf.concat([tf.reshape(dx, [-1]), tf.reshape(dw, [-1])]);
        });
        expect(routed.gpuProducts.gpuCalls).toBeGreaterThan(before + 2);
      } finally {
        routed.gpuProducts.all = false;
      }
    });

    it('declines packed weights, saying why, so no product runs on the CPU behind the route', () => {
      tf.setBackend('wasm');
      const w = tf.tensor2d(values(64 * 32, 9), [64, 32]);
      const packed = packWeights([w]);
      expect(packed.count).toBe(0);
      expect(packed.reason).toBe('the products run on the GPU (cuda), which packed weights do not reach');
      packed.dispose();
      w.dispose();
    });
  });
});
