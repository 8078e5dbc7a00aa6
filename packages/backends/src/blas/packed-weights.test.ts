/**
 * Packed weights (packed-weights.ts, native/src/packed_gemm.cc): the packed kernel against a
 * float64 product for every remainder of its 6-row, 16-column and 256-deep blocking and more rows
 * than one row block; products on packed weights against `cpu` through `BatchMatMul` and
 * `_FusedMatMul`, counted, so a silent OpenBLAS fallback fails; what is not packed (transposed or
 * batched right operands, disposed packs, two OpenBLAS threads) going to OpenBLAS; AdamW refusing
 * a packed parameter; and one-line errors for bad sizes.
 */
import { afterEach, beforeAll, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { expectSameOnBothBackends, input, values } from '../testing/compare-backends.ts';
import { blas, describeBlas, expectSameThroughBlas, gemmCalls, initBlasForTests, packedCalls } from '../testing/blas-setup.ts';
import { TRAINING_KERNELS } from '../training-kernels.ts';
import type { BlasAddon } from './addon.ts';
import { setBlasThreads } from './blas-kernels.ts';
import { packedSize, packWeights, packedWeightsUnavailable } from './packed-weights.ts';

const addon = () => (blas as { addon: BlasAddon }).addon;

/** a (m, k) · b (k, n) in float64, and Σ|a||b| per entry (the rounding scale). */
function reference(a: Float32Array, b: Float32Array, m: number, k: number, n: number): { c: Float64Array; scale: Float64Array } {
  const c = new Float64Array(m * n);
  const scale = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      const av = a[i * k + p];
      for (let j = 0; j < n; j++) {
        c[i * n + j] += av * b[p * n + j];
        scale[i * n + j] += Math.abs(av * b[p * n + j]);
      }
    }
  }
  return { c, scale };
}

describeBlas('packed weights', () => {
  beforeAll(async () => {
    await initBlasForTests(1);
  });
  afterEach(() => {
    setBlasThreads(addon(), 1);
  });

  it('the packed kernel matches a float64 product at every blocking remainder', () => {
    expect(addon().packedGemmSupported()).toBe(true); // this machine kind has AVX2 and FMA
    // m: 1 row, each remainder of 6 (7–9 left run as two calls), more rows than one 384-row block; k: one
    // deep, across the 256-deep blocks; n: narrower, equal to and wider than a 16-column panel.
    for (const [m, k, n] of [[1, 1, 1], [5, 7, 16], [6, 256, 17], [7, 257, 15], [8, 20, 16], [9, 40, 20], [13, 600, 40], [15, 33, 48], [390, 300, 33], [11, 512, 2048]]) {
      const a = values(m * k, 3);
      const b = values(k * n, 4);
      const packed = new Float32Array(packedSize(k, n));
      addon().packWeight(b, k, n, packed);
      const c = new Float32Array(m * n).fill(Number.NaN); // every entry must be written
      addon().gemmPacked(a, packed, m, n, k, c);
      const ref = reference(a, b, m, k, n);
      for (let i = 0; i < m * n; i++) {
        const err = Math.abs(c[i] - ref.c[i]);
        if (!(err <= 1e-6 * ref.scale[i] + 1e-30)) expect.fail(`${m}x${k}x${n}: c[${i}] = ${c[i]}, float64 ${ref.c[i]} (Σ|ab| ${ref.scale[i]})`);
      }
    }
  });

  it('BatchMatMul and _FusedMatMul on a packed weight match cpu, through the packed kernel', () => {
    const w = input([96, 70], 1);
    const packed = packWeights([w]);
    expect(packed.reason).toBeNull();
    expect(packed.count).toBe(1);
    expect(packed.bytes).toBe(packedSize(96, 70) * 4);
    for (const m of [1, 6, 37, 200]) {
      const before = packedCalls.count;
      const sgemms = gemmCalls.count;
      expectSameThroughPacked(`${m} rows`, () => tf.matMul(input([m, 96], 2), w));
      expect(gemmCalls.count, 'OpenBLAS was called').toBe(sgemms);
      expect(packedCalls.count).toBe(before + 1);
    }
    // A batched left operand is more rows of the same product.
    expectSameThroughPacked('batched a', () => tf.matMul(input([3, 5, 96], 5), w));
    const bias = input([70], 6);
    expectSameThroughPacked('fused, bias and relu', () => tf.fused.matMul({ a: input([9, 96], 7), b: w, bias, activation: 'relu' }));
    packed.dispose();
    tf.dispose([w, bias]);
  });

  it('leaves to OpenBLAS what is not a packed untransposed weight, and what is used after dispose', () => {
    const w = input([40, 24], 1);
    const packed = packWeights([w]);
    const before = packedCalls.count;
    expectSameThroughBlas('transposed b', () => tf.matMul(input([24, 24], 2), w, false, true));
    expectSameThroughBlas('transposed a', () => tf.matMul(input([40, 8], 3), w, true, false));
    expectSameThroughBlas('batched b', () => tf.matMul(input([2, 5, 40], 4), tf.stack([w, w])));
    expectSameThroughBlas('another weight', () => tf.matMul(input([5, 40], 5), input([40, 24], 6)));
    expect(packedCalls.count).toBe(before);
    // The same weight again, but with two OpenBLAS threads: OpenBLAS's packing is then the faster.
    setBlasThreads(addon(), 2);
    expect(packedWeightsUnavailable()).toMatch(/OpenBLAS runs 2 threads/);
    expectSameThroughBlas('two threads', () => tf.matMul(input([5, 40], 7), w));
    expect(packWeights([w]).reason).toMatch(/OpenBLAS runs 2 threads/);
    setBlasThreads(addon(), 1);
    packed.dispose();
    packed.dispose(); // idempotent
    expectSameThroughBlas('after dispose', () => tf.matMul(input([5, 40], 8), w));
    expect(packedCalls.count).toBe(before);
    w.dispose();
  });

  it('a weight packed by two handles stays packed until both are disposed', () => {
    const w = input([16, 16], 1);
    const first = packWeights([w, w]);
    const second = packWeights([w]);
    expect(first.count).toBe(1);
    first.dispose();
    const before = packedCalls.count;
    expectSameThroughPacked('still packed', () => tf.matMul(input([3, 16], 2), w));
    second.dispose();
    expectSameThroughBlas('unpacked', () => tf.matMul(input([3, 16], 3), w));
    expect(packedCalls.count).toBe(before + 1);
    w.dispose();
  });

  it('AdamW refuses a packed parameter: its pack would go stale', () => {
    tf.setBackend('wasm');
    const p = tf.variable(tf.tensor2d([[1, 2], [3, 4]]), false);
    const m = tf.variable(tf.zeros([2, 2]), false);
    const v = tf.variable(tf.zeros([2, 2]), false);
    const g = tf.ones([2, 2]);
    const packed = packWeights([p]);
    const attrs = { beta1: 0.9, beta2: 0.95, epsilon: 1e-8, gradScale: 1, lr: 0.1, weightDecay: 0, step: 1 };
    expect(() => tf.engine().runKernel(TRAINING_KERNELS.adamW, { param: p, grad: g, m, v }, attrs)).toThrow(/packed for forward-only products \(packWeights\); dispose the packs/);
    packed.dispose();
    const outs = tf.engine().runKernel(TRAINING_KERNELS.adamW, { param: p, grad: g, m, v }, attrs) as tf.Tensor[];
    expect(outs).toHaveLength(3);
    tf.dispose([p, m, v, g, ...outs]);
  });

  it('packs nothing where it does not apply, and says why', () => {
    tf.setBackend('cpu');
    const w = tf.zeros([4, 4]);
    const none = packWeights([w]);
    expect(none.count).toBe(0);
    expect(none.reason).toBe('the blas kernels are not registered');
    w.dispose();
    tf.setBackend('wasm');
    const vector = tf.zeros([4]);
    expect(packWeights([vector]).reason).toBe('no 2-D float32 weight among those given');
    vector.dispose();
  });

  it('rejects wrong sizes with one line naming the problem', () => {
    const a = addon();
    expect(() => a.packWeight(new Float32Array(6), 2, 3, new Float32Array(10))).toThrow(/^moepp_blas: packWeight: packed must hold k · \(n rounded up to 16\) values$/);
    expect(() => a.packWeight(new Float32Array(5), 2, 3, new Float32Array(32))).toThrow(/packWeight: b must hold k · n values/);
    const packed = new Float32Array(packedSize(2, 3));
    a.packWeight(new Float32Array(6), 2, 3, packed);
    expect(() => a.gemmPacked(new Float32Array(4), packed, 2, 3, 2, new Float32Array(5))).toThrow(/gemmPacked: c must hold m · n values/);
    expect(() => a.gemmPacked(new Float32Array(3), packed, 2, 3, 2, new Float32Array(6))).toThrow(/gemmPacked: a must hold m · k values/);
    expect(() => a.gemmPacked(new Float32Array(6), packed, 2, 3, 3, new Float32Array(6))).toThrow(/gemmPacked: packed does not hold a \(k, n\) weight/);
    expect(() => (a.gemmPacked as unknown as (...x: unknown[]) => void)(new Float32Array(6), packed, 2, 3)).toThrow(/gemmPacked takes/);
  });
});

/** expectSameOnBothBackends, and the wasm side must have been a product on a packed weight. */
function expectSameThroughPacked(label: string, f: () => tf.Tensor): void {
  const before = packedCalls.count;
  expectSameOnBothBackends(label, f);
  expect(packedCalls.count, `${label}: no packed product`).toBeGreaterThan(before);
}
