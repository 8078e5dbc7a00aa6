/**
 * The BLAS `BatchMatMul` against the `cpu` backend: every transpose combination, 2-D and
 * batched, shared, broadcast and two-way broadcast batches, empty products, tfjs's error for
 * mismatched inner sizes, the matMul gradients (which use the transpose flags), an output whose
 * allocation grows the heap, and no leaked tensors or wasm buffers. Every case must go through
 * BLAS (counted), so a silent fallback to the wasm kernel fails the test.
 */
import { beforeAll, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { counts, input, values } from '../testing/compare-backends.ts';
import { blas, describeBlas, expectSameThroughBlas, gemmCalls, initBlasForTests } from '../testing/blas-setup.ts';
import { activeWasmBackend } from '../heap-io.ts';

const swap = (s: number[], t: boolean) => (t ? [...s.slice(0, -2), s[s.length - 1], s[s.length - 2]] : s);

describeBlas('BLAS BatchMatMul', () => {
  beforeAll(async () => {
    expect(await initBlasForTests(2)).toBe(2);
  });

  it('writes a product whose output allocation grows (moves) the heap', () => {
    // First in the file, while the heap is still small: the output alone is larger than it.
    tf.setBackend('wasm');
    const wasm = activeWasmBackend()!;
    const heapBytes = () => (wasm.wasm.wasmMemory?.buffer ?? wasm.wasm.HEAPU8.buffer).byteLength;
    const before = heapBytes();
    const side = Math.ceil(Math.sqrt(before / 4)) + 64;
    const k = 3;
    const a = values(side * k, 1);
    const b = values(k * side, 2);
    const calls = gemmCalls.count;
    const c = tf.tidy(() => tf.matMul(tf.tensor2d(a, [side, k]), tf.tensor2d(b, [k, side])));
    expect(gemmCalls.count).toBe(calls + 1);
    expect(heapBytes()).toBeGreaterThan(before);
    const out = c.dataSync();
    for (const [i, j] of [[0, 0], [side - 1, side - 1], [side >> 1, 7], [5, side - 3]]) {
      let ref = 0;
      for (let p = 0; p < k; p++) ref += a[i * k + p] * b[p * side + j];
      expect(out[i * side + j]).toBeCloseTo(ref, 5);
    }
    c.dispose();
  });

  it('matches cpu: 2-D, all transpose combinations', () => {
    for (const [m, k, n] of [[1, 1, 1], [7, 13, 5], [64, 33, 70], [300, 128, 257]]) {
      for (const ta of [false, true]) {
        for (const tb of [false, true]) {
          expectSameThroughBlas(`${m}x${k}x${n} tA=${ta} tB=${tb}`, () =>
            tf.matMul(input(ta ? [k, m] : [m, k], 1), input(tb ? [n, k] : [k, n], 2), ta, tb),
          );
        }
      }
    }
  });

  it('matches cpu: batched, shared, broadcast and two-way broadcast operands, all transposes', () => {
    const cases: [number[], number[]][] = [
      [[4, 9, 6], [4, 6, 5]], // both batched
      [[2, 128, 128], [2, 128, 64]], // both batched, large entries
      [[3, 2, 16, 8], [3, 2, 8, 12]], // attention-like (B, H, T, d)
      [[5, 7, 6], [6, 4]], // b shared: folded into one GEMM (unless a is transposed)
      [[2, 3, 7, 6], [1, 6, 4]], // b broadcast over two batch axes
      [[7, 6], [3, 6, 4]], // a shared
      [[1, 130, 100], [3, 100, 90]], // a shared, large entries
      [[2, 1, 5, 6], [1, 3, 6, 4]], // two-way broadcast
      [[3, 1, 130, 100], [1, 2, 100, 90]], // two-way broadcast, large entries
      [[2, 1, 1, 5, 6], [4, 1, 6, 3]], // two-way broadcast, ranks 5 and 4
    ];
    for (const [sa, sb] of cases) {
      // tfjs's cpu kernel mishandles two-way broadcasting, so the reference broadcasts both
      // operands to the full batch shape first.
      const batch = tf.broadcast_util.assertAndGetBroadcastShape(sa.slice(0, -2), sb.slice(0, -2));
      const full = (s: number[]) => [...batch, ...s.slice(-2)];
      for (const ta of [false, true]) {
        for (const tb of [false, true]) {
          const a = () => input(swap(sa, ta), 3);
          const b = () => input(swap(sb, tb), 4);
          expectSameThroughBlas(
            `${sa}·${sb} tA=${ta} tB=${tb}`,
            () => tf.matMul(a(), b(), ta, tb),
            1e-5,
            () => tf.matMul(tf.broadcastTo(a(), full(swap(sa, ta))), tf.broadcastTo(b(), full(swap(sb, tb))), ta, tb),
          );
        }
      }
    }
  });

  it('matches cpu for empty products (m, n or k of 0)', () => {
    for (const [m, k, n] of [[0, 4, 3], [3, 4, 0], [3, 0, 4]]) {
      for (const tb of [false, true]) {
        expectSameThroughBlas(`${m}x${k}x${n} tB=${tb}`, () => tf.add(tf.matMul(tf.ones([m, k]), tf.ones(tb ? [n, k] : [k, n]), false, tb), 1));
      }
    }
  });

  it('reports mismatched inner sizes as tfjs does', () => {
    tf.setBackend('wasm');
    expect(() => tf.matMul(tf.ones([2, 3]), tf.ones([4, 5]), false, false)).toThrow(/inner shapes \(3\) and \(4\)/);
    expect(() => tf.matMul(tf.ones([2, 2, 3]), tf.ones([3, 3, 4]))).toThrow(/broadcast/i);
  });

  it('matMul gradients (which use the transpose flags) match cpu', () => {
    const cases: [number[], number[], number[]][] = [
      [[9, 6], [6, 5], [9, 5]],
      [[3, 9, 6], [3, 6, 5], [3, 9, 5]],
      [[2, 3, 9, 6], [2, 3, 6, 5], [2, 3, 9, 5]],
    ];
    for (const [sa, sb, so] of cases) {
      for (const which of [0, 1]) {
        expectSameThroughBlas(`d/d${which ? 'b' : 'a'} ${sa}·${sb}`, () => {
          const probe = input(so, 9);
          const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.matMul(a, b), probe)));
          return g([input(sa, 1), input(sb, 2)])[which];
        });
      }
    }
  });

  it('leaves int32 products to the kernel underneath (wasm refuses them, with its own error)', () => {
    tf.setBackend('wasm');
    const calls = gemmCalls.count;
    const a = tf.tensor2d([1, 2, 3, 4], [2, 2], 'int32');
    expect(() => tf.matMul(a, a)).toThrow(/non-float32 tensors not yet supported/);
    expect(gemmCalls.count).toBe(calls);
    a.dispose();
  });

  it('frees every temporary (engine tensors and wasm buffers)', () => {
    tf.setBackend('wasm');
    const a = input([3, 130, 100], 61);
    const b = input([3, 100, 90], 62);
    const before = counts();
    tf.tidy(() => {
      for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]]) {
        tf.matMul(ta ? tf.transpose(a, [0, 2, 1]) : a, tb ? tf.transpose(b, [0, 2, 1]) : b, ta, tb);
        tf.matMul(ta ? tf.transpose(a, [0, 2, 1]) : a, tf.slice(tb ? tf.transpose(b, [0, 2, 1]) : b, [0, 0, 0], [1, -1, -1]), ta, tb);
      }
      tf.matMul(a, input([100, 7], 63));
    });
    expect(counts()).toEqual(before);
    tf.dispose([a, b]);
  });
});

it.runIf(blas.ok)('the addon rejects views too small for the product instead of writing past them', () => {
  if (!blas.ok) return;
  const { addon } = blas;
  const a = new Float32Array(6);
  const b = new Float32Array(6);
  const c = new Float32Array(3); // (2, 2) needs 4
  expect(() => addon.sgemmBatch(false, false, 2, 2, 3, a, new Int32Array([0]), b, new Int32Array([0]), c)).toThrow(/c is smaller/);
  expect(() => addon.sgemmBatch(false, false, 2, 2, 3, a, new Int32Array([1]), b, new Int32Array([0]), new Float32Array(4))).toThrow(/entry of a/);
  expect(() => addon.sgemmBatch(true, false, 2, 2, 3, a, new Int32Array([0]), b, new Int32Array([-1]), new Float32Array(4))).toThrow(/entry of b/);
});
