/**
 * The BLAS `_FusedMatMul` against the `cpu` backend: each activation (linear, relu, relu6, elu,
 * sigmoid, leakyrelu with its alpha, prelu with its weights), with and without bias, bias shapes
 * that broadcast differently, every transpose combination, batched, shared and broadcast
 * operands, the gradients through a fused product, and no leaked intermediates. Every case must
 * go through BLAS (counted).
 */
import { beforeAll, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { counts, input } from '../testing/compare-backends.ts';
import { describeBlas, expectSameThroughBlas, initBlasForTests } from '../testing/blas-setup.ts';

type Activation = 'linear' | 'relu' | 'relu6' | 'elu' | 'sigmoid' | 'leakyrelu' | 'prelu';
const ACTIVATIONS: Activation[] = ['linear', 'relu', 'relu6', 'elu', 'sigmoid', 'leakyrelu', 'prelu'];

const swap = (s: number[], t: boolean) => (t ? [...s.slice(0, -2), s[s.length - 1], s[s.length - 2]] : s);

interface FusedCase {
  a: number[];
  b: number[];
  bias?: number[];
  prelu?: number[];
}

/** tf.fused.matMul of seeded inputs; `broadcastTo` expands a and b to `full` first (the cpu reference). */
function fused(c: FusedCase, activation: Activation, ta: boolean, tb: boolean, full?: number[]): tf.Tensor {
  let a = input(swap(c.a, ta), 5);
  let b = input(swap(c.b, tb), 6);
  if (full) {
    a = tf.broadcastTo(a, [...full, ...swap(c.a, ta).slice(-2)]);
    b = tf.broadcastTo(b, [...full, ...swap(c.b, tb).slice(-2)]);
  }
  // Inputs around 1 in size, so that relu6's clipping and sigmoid's saturation are exercised.
  const scale = activation === 'relu6' ? 8 : 1;
  return tf.fused.matMul({
    a: tf.mul(a, scale) as tf.Tensor3D,
    b: b as tf.Tensor3D,
    transposeA: ta,
    transposeB: tb,
    ...(c.bias ? { bias: input(c.bias, 7) } : {}),
    activation,
    ...(activation === 'prelu' ? { preluActivationWeights: input(c.prelu ?? [c.b[c.b.length - 1]], 8) } : {}),
    ...(activation === 'leakyrelu' ? { leakyreluAlpha: 0.37 } : {}),
  });
}

describeBlas('BLAS _FusedMatMul', () => {
  beforeAll(async () => {
    expect(await initBlasForTests(2)).toBe(2);
  });

  it('matches cpu for every activation, with and without bias, all transposes (2-D)', () => {
    for (const activation of ACTIVATIONS) {
      for (const bias of [undefined, [7], [9, 7], [1, 7]]) {
        for (const ta of [false, true]) {
          for (const tb of [false, true]) {
            const c: FusedCase = { a: [9, 6], b: [6, 7], ...(bias ? { bias } : {}) };
            expectSameThroughBlas(`${activation} bias=${bias} tA=${ta} tB=${tb}`, () => fused(c, activation, ta, tb));
          }
        }
      }
    }
  });

  it('matches cpu for every activation on batched, shared and broadcast operands, all transposes', () => {
    const cases: FusedCase[] = [
      { a: [3, 9, 6], b: [6, 7], bias: [7] }, // b shared
      { a: [3, 9, 6], b: [3, 6, 7], bias: [7] }, // both batched
      { a: [3, 9, 6], b: [3, 6, 7], bias: [3, 1, 7] }, // a bias per batch entry
      { a: [9, 6], b: [2, 6, 7], bias: [9, 7] }, // a shared
      { a: [2, 3, 5, 6], b: [1, 6, 4], bias: [4] }, // b broadcast over two batch axes
      // (No two-way broadcast: tfjs-core's fused op flattens each operand's batch axes into one
      // before the kernel, so (2,1,…)·(1,3,…) fails there on every backend.)
      { a: [2, 130, 100], b: [2, 100, 90], bias: [90], prelu: [130, 90] }, // large entries; prelu weights per element
    ];
    for (const c of cases) {
      const full = tf.broadcast_util.assertAndGetBroadcastShape(c.a.slice(0, -2), c.b.slice(0, -2));
      for (const activation of ACTIVATIONS) {
        for (const ta of [false, true]) {
          for (const tb of [false, true]) {
            expectSameThroughBlas(
              `${c.a}·${c.b} bias=${c.bias} ${activation} tA=${ta} tB=${tb}`,
              () => fused(c, activation, ta, tb),
              1e-5,
              () => fused(c, activation, ta, tb, full),
            );
          }
        }
      }
    }
  });

  it('gradients through a fused product (bias, relu, transposes) match cpu', () => {
    for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]]) {
      for (const which of [0, 1, 2]) {
        expectSameThroughBlas(`d/d${['a', 'b', 'bias'][which]} tA=${ta} tB=${tb}`, () => {
          const probe = input([3, 9, 7], 9);
          const g = tf.grads((a: tf.Tensor, b: tf.Tensor, bias: tf.Tensor) =>
            tf.sum(tf.mul(tf.fused.matMul({ a: a as tf.Tensor3D, b: b as tf.Tensor3D, transposeA: ta, transposeB: tb, bias, activation: 'relu' }), probe)),
          );
          return g([input(ta ? [3, 6, 9] : [3, 9, 6], 1), input(tb ? [3, 7, 6] : [3, 6, 7], 2), input([7], 3)])[which];
        });
      }
    }
  });

  it('frees its intermediates (the product before bias and activation)', () => {
    tf.setBackend('wasm');
    const a = input([3, 9, 6], 1);
    const b = input([6, 7], 2);
    const bias = input([7], 3);
    const before = counts();
    tf.tidy(() => {
      for (const activation of ACTIVATIONS) {
        tf.fused.matMul({ a: a as tf.Tensor3D, b: b as tf.Tensor2D, bias, activation, ...(activation === 'prelu' ? { preluActivationWeights: bias } : {}) });
        tf.fused.matMul({ a: a as tf.Tensor3D, b: b as tf.Tensor2D, activation, transposeB: false, ...(activation === 'prelu' ? { preluActivationWeights: bias } : {}) });
      }
    });
    expect(counts()).toEqual(before);
    tf.dispose([a, b, bias]);
  });
});
