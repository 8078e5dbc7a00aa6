/**
 * The patched wasm `BatchMatMul` against the `cpu` backend on the same inputs: all transpose
 * combinations, batched and broadcast operands, tfjs's error for mismatched inner sizes, and the
 * matMul gradients (which use the transpose flags).
 *
 * wasm runs with 2 threads here, so both branches of the batched matMul run: per-entry fast path
 * for large entries, the original kernel for small ones on a thread pool.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { expectSameOnBothBackends, initWasmForKernelTests, input } from '../../testing/compare-backends.ts';

beforeAll(() => initWasmForKernelTests());

describe('patched BatchMatMul (wasm)', () => {
  it('BatchMatMul matches cpu: 2-D, all transpose combinations', () => {
    for (const [m, k, n] of [[1, 1, 1], [7, 13, 5], [64, 33, 70], [300, 128, 257]]) {
      for (const ta of [false, true]) {
        for (const tb of [false, true]) {
          expectSameOnBothBackends(`${m}x${k}x${n} tA=${ta} tB=${tb}`, () =>
            tf.matMul(input(ta ? [k, m] : [m, k], 1), input(tb ? [n, k] : [k, n], 2), ta, tb),
          );
        }
      }
    }
  });

  it('BatchMatMul matches cpu: batched, shared and broadcast operands', () => {
    const cases: [number[], number[]][] = [
      [[4, 9, 6], [4, 6, 5]], // both batched, small entries (original kernel on a thread pool)
      [[2, 128, 128], [2, 128, 64]], // both batched, large entries (per-entry fast path)
      [[3, 2, 16, 8], [3, 2, 8, 12]], // attention-like (B, H, T, d)
      [[5, 7, 6], [6, 4]], // b shared: folded into one product
      [[2, 3, 7, 6], [1, 6, 4]], // b broadcast over two batch axes
      [[7, 6], [3, 6, 4]], // a shared
      [[1, 130, 100], [3, 100, 90]], // a shared, large entries
      [[2, 1, 5, 6], [1, 3, 6, 4]], // two-way broadcast, small entries
      [[3, 1, 130, 100], [1, 2, 100, 90]], // two-way broadcast, large entries
    ];
    const swap = (s: number[], t: boolean) => (t ? [...s.slice(0, -2), s[s.length - 1], s[s.length - 2]] : s);
    for (const [sa, sb] of cases) {
      // tfjs's cpu kernel mishandles two-way broadcasting (see the patch), so the reference
      // broadcasts both operands to the full batch shape first.
      const batch = tf.broadcast_util.assertAndGetBroadcastShape(sa.slice(0, -2), sb.slice(0, -2));
      const full = (s: number[]) => [...batch, ...s.slice(-2)];
      for (const ta of [false, true]) {
        for (const tb of [false, true]) {
          const a = () => input(swap(sa, ta), 3);
          const b = () => input(swap(sb, tb), 4);
          expectSameOnBothBackends(
            `${sa}·${sb} tA=${ta} tB=${tb}`,
            () => tf.matMul(a(), b(), ta, tb),
            1e-5,
            () => tf.matMul(tf.broadcastTo(a(), full(swap(sa, ta))), tf.broadcastTo(b(), full(swap(sb, tb))), ta, tb),
          );
        }
      }
    }
  });

  it('BatchMatMul reports mismatched inner sizes as tfjs does', () => {
    tf.setBackend('wasm');
    expect(() => tf.matMul(tf.ones([2, 3]), tf.ones([4, 5]), false, false)).toThrow(/inner shapes \(3\) and \(4\)/);
  });

  it('matMul gradients (which use the transpose flags) match cpu', () => {
    const cases: [number[], number[], number[]][] = [
      [[9, 6], [6, 5], [9, 5]],
      [[3, 9, 6], [3, 6, 5], [3, 9, 5]],
      // (A batched a with a 2-D b is left out: tfjs-core's matMul gradient does not reduce the
      // broadcast batch of b on any backend.)
    ];
    for (const [sa, sb, so] of cases) {
      for (const which of [0, 1]) {
        expectSameOnBothBackends(`d/d${which ? 'b' : 'a'} ${sa}·${sb}`, () => {
          const probe = input(so, 9);
          const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.matMul(a, b), probe)));
          return g([input(sa, 1), input(sb, 2)])[which];
        });
      }
    }
  });
});
