import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { AdamW } from './adamw.ts';
import { learningRate } from './lr-schedule.ts';
import { globalNormClip } from './gradient-clipping.ts';

describe('AdamW, schedule, clipping (against hand-computed values)', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('AdamW matches a scalar re-derivation over three steps, with decay on matrices only', () => {
    const settings = { beta1: 0.9, beta2: 0.95, epsilon: 1e-8, weightDecay: 0.1 };
    const opt = new AdamW(settings);
    const matrix = tf.variable(tf.tensor2d([[1.0]]));
    const vector = tf.variable(tf.tensor1d([1.0]));
    const params = new Map<string, tf.Variable>([['m', matrix], ['v', vector]]);
    const grads = [0.5, -0.2, 0.3];
    let pm = 1, pv = 1, m = 0, v = 0;
    grads.forEach((g, i) => {
      opt.apply(params, new Map<string, tf.Tensor>([['m', tf.tensor2d([[g]])], ['v', tf.tensor1d([g])]]), 0.01);
      m = 0.9 * m + 0.1 * g;
      v = 0.95 * v + 0.05 * g * g;
      const update = m / (1 - 0.9 ** (i + 1)) / (Math.sqrt(v / (1 - 0.95 ** (i + 1))) + 1e-8);
      pm -= 0.01 * (update + 0.1 * pm);
      pv -= 0.01 * update;
    });
    expect(matrix.dataSync()[0]).toBeCloseTo(pm, 6);
    expect(vector.dataSync()[0]).toBeCloseTo(pv, 6);
    // State round-trips exactly.
    const restored = new AdamW(settings);
    restored.loadState(opt.stateArrays(), opt.step);
    expect(Array.from(restored.stateArrays().get('m.m')!.data)).toEqual(Array.from(opt.stateArrays().get('m.m')!.data));
    expect(restored.stateArrays().get('m.m')!.shape).toEqual([1, 1]);
    opt.dispose();
    restored.dispose();
    tf.dispose([matrix, vector]);
  });

  it('warm-up is linear and cosine decay ends at minLr', () => {
    const s = { lr: 1e-3, minLr: 1e-4, warmupSteps: 10, totalSteps: 110 };
    expect(learningRate(0, s)).toBeCloseTo(1e-4, 12);
    expect(learningRate(9, s)).toBeCloseTo(1e-3, 12);
    expect(learningRate(60, s)).toBeCloseTo(1e-4 + 0.5 * 9e-4, 12); // halfway: cos(π/2) = 0
    expect(learningRate(110, s)).toBeCloseTo(1e-4, 12);
  });

  it('clips to the global norm and reports the norm before clipping', () => {
    const grads = new Map<string, tf.Tensor>([['a', tf.tensor1d([3])], ['b', tf.tensor1d([4])]]);
    const clipped = globalNormClip(grads, 1);
    expect(clipped.norm).toBeCloseTo(5, 6);
    // The clipped gradients the optimizer sees: 3 → 0.6, 4 → 0.8.
    expect(3 * clipped.scale).toBeCloseTo(0.6, 6);
    expect(4 * clipped.scale).toBeCloseTo(0.8, 6);
    const under = globalNormClip(new Map([['a', tf.tensor1d([0.6])], ['b', tf.tensor1d([0.8])]]), 10);
    expect(under.norm).toBeCloseTo(1, 6);
    expect(under.scale).toBe(1);
    expect(globalNormClip(new Map([['a', tf.tensor1d([Number.NaN])]]), 1)).toEqual({ norm: Number.NaN, scale: 1 });
    tf.dispose([...grads.values()]);
  });

  it('AdamW applies the clip factor to the gradient it reads', () => {
    const settings = { beta1: 0.9, beta2: 0.95, epsilon: 1e-8, weightDecay: 0 };
    const scaled = new AdamW(settings);
    const reference = new AdamW(settings);
    const p1 = tf.variable(tf.tensor1d([1, -2]));
    const p2 = tf.variable(tf.tensor1d([1, -2]));
    scaled.apply(new Map([['p', p1]]), new Map([['p', tf.tensor1d([3, 4])]]), 0.1, 0.2);
    reference.apply(new Map([['p', p2]]), new Map([['p', tf.tensor1d([0.6, 0.8])]]), 0.1);
    // Equal up to float32 rounding of the reference's pre-scaled gradient.
    const close = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).forEach((x, i) => expect(x).toBeCloseTo(b[i], 6));
    close(p1.dataSync(), p2.dataSync());
    close(scaled.stateArrays().get('v.p')!.data, reference.stateArrays().get('v.p')!.data);
    expect(Array.from(p1.dataSync())).not.toEqual([1, -2]);
    tf.dispose([p1, p2]);
  });
});
