import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import seedrandom from 'seedrandom';
import { hasTrainingKernel, TRAINING_KERNELS } from '@moepp/backends';
import { crossEntropy } from './cross-entropy.ts';
import { hasNativeKernels, TEST_BACKENDS, useBackend } from './testing/backends.ts';
import { randomMatrix } from './testing/random-layer.ts';

/** Float64 mean cross-entropy and its gradient w.r.t. the logits. */
function reference(logits: number[][], target: number[]): { loss: number; grad: number[][] } {
  let loss = 0;
  const grad = logits.map((row, n) => {
    const m = Math.max(...row);
    const e = row.map((v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    loss += m + Math.log(s) - row[target[n]];
    return e.map((v, j) => (v / s - (j === target[n] ? 1 : 0)) / logits.length);
  });
  return { loss: loss / logits.length, grad };
}

describe.each(TEST_BACKENDS)('cross-entropy on %s', (backend) => {
  beforeAll(() => useBackend(backend));
  const rng = seedrandom('ce');
  const logits = randomMatrix(rng, 24, 37, 6); // wide logits: the max shift matters
  const target = Array.from({ length: 24 }, () => Math.floor(rng() * 37));
  const ref = reference(logits, target);

  it('runs the fused kernels exactly where the backend has them (blas, cuda), tf ops elsewhere', () => {
    expect(hasTrainingKernel(TRAINING_KERNELS.softmaxCrossEntropy)).toBe(hasNativeKernels(backend));
  });

  it('loss and dlogits equal the float64 reference, without leaks', () => {
    const x = tf.variable(tf.tensor2d(logits));
    const t = tf.tensor2d(target, [4, 6], 'int32');
    const before = tf.memory().numTensors;
    const value = tf.tidy(() => crossEntropy(x as tf.Tensor2D, t).dataSync()[0]);
    expect(Math.abs(value - ref.loss)).toBeLessThan(1e-5);
    const { value: loss, grads } = tf.variableGrads(() => crossEntropy(x as tf.Tensor2D, t), [x]);
    expect(Math.abs(loss.dataSync()[0] - ref.loss)).toBeLessThan(1e-5);
    const g = grads[x.name].arraySync() as number[][];
    let worst = 0;
    g.forEach((row, n) => row.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - ref.grad[n][j])))));
    expect(worst).toBeLessThan(1e-7);
    tf.dispose([loss, ...Object.values(grads)]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, t]);
  });

  it('stays exact where the target\'s probability underflows float32 (logit gaps past 100)', () => {
    const extreme = [[0, 150, -20, 3], [-300, 0, 0, 1]];
    const t = [0, 0];
    const ref2 = reference(extreme, t);
    const got = tf.tidy(() => crossEntropy(tf.tensor2d(extreme), tf.tensor1d(t, 'int32')).dataSync()[0]);
    expect(Number.isFinite(got)).toBe(true);
    expect(Math.abs(got - ref2.loss) / ref2.loss).toBeLessThan(1e-6);
  });

  it('rejects a target outside the vocabulary and a count mismatch', () => {
    tf.tidy(() => {
      expect(() => crossEntropy(tf.zeros([2, 3]) as tf.Tensor2D, tf.tensor1d([0, 3], 'int32'))).toThrow(/target 3 at row 1 is outside the vocabulary \[0, 3\)/);
      expect(() => crossEntropy(tf.zeros([2, 3]) as tf.Tensor2D, tf.tensor1d([0], 'int32'))).toThrow(/1 targets for 2 rows/);
    });
  });
});
