/**
 * The SwiGLU activation and its backward against float64 values written out here (h, and the
 * gradients as central differences of the float64 h), on every backend — on `blas` through the
 * fused kernels, elsewhere through tf ops — including saturated gates, where σ is 0 or 1.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import seedrandom from 'seedrandom';
import { swiGlu, swiGluBackward } from './swiglu.ts';
import { hasNativeKernels, TEST_BACKENDS, useBackend } from '../testing/backends.ts';
import { randomMatrix } from '../testing/random-layer.ts';

const swiglu64 = (g: number, u: number) => (g / (1 + Math.exp(-g))) * u;

describe.each(TEST_BACKENDS)('SwiGLU on %s', (backend) => {
  beforeAll(() => useBackend(backend));
  const rng = seedrandom('swiglu');
  const [rows, cols] = [9, 130];
  const gate = randomMatrix(rng, rows, cols, 6);
  gate[0].splice(0, 4, 40, -40, 200, -200); // σ saturates
  const up = randomMatrix(rng, rows, cols);
  const dh = randomMatrix(rng, rows, cols);

  /** The float64 h, dgate and dup (central differences of h; h is linear in up). */
  const reference = () => {
    const e = (g: number) => 1e-5 * Math.max(1, Math.abs(g));
    const h = gate.map((row, n) => row.map((g, j) => swiglu64(g, up[n][j])));
    const dGate = gate.map((row, n) => row.map((g, j) => (dh[n][j] * (swiglu64(g + e(g), up[n][j]) - swiglu64(g - e(g), up[n][j]))) / (2 * e(g))));
    const dUp = gate.map((row, n) => row.map((g, j) => dh[n][j] * swiglu64(g, 1)));
    return { h, dGate, dUp };
  };
  const worst = (a: number[][], b: number[][]) => {
    const [af, bf] = [a.flat(), b.flat()];
    return Math.max(...af.map((v, i) => Math.abs(v - bf[i]) / Math.max(1, Math.abs(bf[i]))));
  };

  it('h and the gradients tf.grads takes through swiGlu equal the float64 values', () => {
    const ref = reference();
    const [g, u, w] = [tf.tensor2d(gate), tf.tensor2d(up), tf.tensor2d(dh)];
    const h = tf.tidy(() => swiGlu(g, u).arraySync());
    const [dg, du] = tf.grads((a: tf.Tensor, b: tf.Tensor) => swiGlu(a as tf.Tensor2D, b as tf.Tensor2D))([g, u], w);
    expect(worst(h, ref.h)).toBeLessThan(2e-6);
    expect(worst(dg.arraySync() as number[][], ref.dGate)).toBeLessThan(1e-5);
    expect(worst(du.arraySync() as number[][], ref.dUp)).toBeLessThan(2e-6);
    tf.dispose([g, u, w, dg, du]);
  });

  it('swiGluBackward returns h, dgate and dup, and leaves nothing else behind', () => {
    const ref = reference();
    const [g, u, w] = [tf.tensor2d(gate), tf.tensor2d(up), tf.tensor2d(dh)];
    const before = tf.memory().numTensors;
    const out = swiGluBackward(g, u, w);
    expect(tf.memory().numTensors).toBe(before + 3);
    expect(worst(out.h.arraySync(), ref.h)).toBeLessThan(2e-6);
    expect(worst(out.dGate.arraySync(), ref.dGate)).toBeLessThan(1e-5);
    expect(worst(out.dUp.arraySync(), ref.dUp)).toBeLessThan(2e-6);
    tf.dispose([g, u, w, out.h, out.dGate, out.dUp]);
  });

  it(`runs ${hasNativeKernels(backend) ? 'as the fused kernels' : 'in tf ops'}`, async () => {
    const [g, u] = [tf.tensor2d(gate), tf.tensor2d(up)];
    const { kernelNames } = await tf.profile(() => {
      const grads = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(swiGlu(a as tf.Tensor2D, b as tf.Tensor2D)))([g, u]);
      tf.dispose(grads);
    });
    expect(kernelNames.includes('MoeppSwiGlu') && kernelNames.includes('MoeppSwiGluGrad')).toBe(hasNativeKernels(backend));
    expect(kernelNames.includes('Sigmoid')).toBe(!hasNativeKernels(backend));
    tf.dispose([g, u]);
  });
});
