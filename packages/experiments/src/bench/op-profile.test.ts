/**
 * The per-op profile counts every kernel once: a custom op (timed by tfjs inclusively, with the
 * kernels it runs inside it) is marked and kept out of the kernel total.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { profileOps } from './op-profile.ts';

describe('profileOps', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('marks custom ops as inclusive and sums registered kernels only', async () => {
    const a = tf.randomNormal([64, 64]) as tf.Tensor2D; // (64, 64)
    const custom = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
      value: tf.matMul(args[0] as tf.Tensor2D, a), // (64, 64)
      gradFunc: (dy: tf.Tensor) => [dy],
    }));
    const profile = await profileOps(() => {
      const y = tf.tidy('fused', () => custom(a) as tf.Tensor); // (64, 64)
      y.dataSync();
      y.dispose();
    });
    const fused = profile.ops.find((o) => o.op === 'fused');
    const matMul = profile.ops.find((o) => o.op === 'BatchMatMul');
    expect(fused?.inclusive).toBe(true);
    expect(matMul?.inclusive).toBe(false);
    expect(matMul?.calls).toBe(1);
    // The custom op's time contains its matMul's, so it cannot be shorter.
    expect(fused!.ms).toBeGreaterThanOrEqual(matMul!.ms);
    const registered = profile.ops.filter((o) => !o.inclusive && o.op !== '(outside kernels)').reduce((s, o) => s + o.ms, 0);
    expect(profile.kernelMs).toBeCloseTo(registered, 6);
    expect(profile.kernelMs).toBeLessThanOrEqual(profile.wallMs);
    // The shape breakdown is of a registered kernel, never of the inclusive custom op.
    expect(profile.topOpByShape.every((s) => s.op !== 'fused')).toBe(true);
    a.dispose();
  });

  it('lists at most four input shapes and counts the rest', async () => {
    const xs = Array.from({ length: 6 }, () => tf.ones([2, 3])); // six (2, 3)
    const profile = await profileOps(() => {
      const y = tf.addN(xs); // (2, 3)
      y.dataSync();
      y.dispose();
    });
    expect(profile.ops.find((o) => o.op === 'AddN')?.example).toBe('2x3 · 2x3 · 2x3 · 2x3 · … (6 inputs)');
    tf.dispose(xs);
  });
});
