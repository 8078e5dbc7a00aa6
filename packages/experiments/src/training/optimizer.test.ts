import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { hasTrainingKernel, initWasmBackend, loadBlasAddon, registerBlasKernels, TRAINING_KERNELS, unregisterBlasKernels } from '@moepp/backends';
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

/**
 * Where the backend registers the fused AdamW and squared-norm kernels (`blas`), the optimizer
 * and the clip run them; they must give what the tf-ops path gives on `cpu`.
 */
describe('AdamW and clipping through the backend\'s fused kernels', () => {
  const blas = loadBlasAddon();
  const settings = { beta1: 0.9, beta2: 0.95, epsilon: 1e-8, weightDecay: 0.1 };
  const shapes: Record<string, number[]> = { w: [37, 11], b: [11] };
  const seeded = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 1000 + i) * (seed % 3 === 0 ? 10 : 1));

  /** Three clipped steps of AdamW from fixed weights and gradients; the weights, moments and norms after. */
  function threeSteps() {
    const params = new Map(Object.entries(shapes).map(([name, s], k) => [name, tf.variable(tf.tensor(seeded(s.reduce((a, b) => a * b, 1), k + 1), s))]));
    const opt = new AdamW(settings);
    const norms: number[] = [];
    for (let step = 1; step <= 3; step++) {
      const grads = new Map(Object.entries(shapes).map(([name, s], k) => [name, tf.tensor(seeded(s.reduce((a, b) => a * b, 1), 10 * step + k), s)]));
      const { norm, scale } = globalNormClip(grads, 1);
      norms.push(norm);
      opt.apply(params, grads, 0.01, scale);
      tf.dispose([...grads.values()]);
    }
    const out = { weights: new Map([...params].map(([k, p]) => [k, Array.from(p.dataSync())])), state: opt.stateArrays(), norms };
    opt.dispose();
    tf.dispose([...params.values()]);
    return out;
  }

  it.skipIf(!blas.ok)('give the tf-ops results of cpu, to float32 rounding', async () => {
    if (!blas.ok) return;
    await tf.setBackend('cpu');
    const reference = threeSteps();
    await initWasmBackend({ threads: 1 });
    registerBlasKernels(blas.addon);
    try {
      expect(hasTrainingKernel(TRAINING_KERNELS.adamW)).toBe(true);
      const fused = threeSteps();
      fused.norms.forEach((n, i) => expect(Math.abs(n - reference.norms[i]) / reference.norms[i]).toBeLessThan(1e-6));
      for (const [name, w] of reference.weights) {
        fused.weights.get(name)!.forEach((v, i) => expect(Math.abs(v - w[i]), `${name}[${i}]`).toBeLessThan(1e-6 * Math.max(1, Math.abs(w[i]))));
      }
      for (const [key, a] of reference.state) {
        const b = fused.state.get(key)!.data;
        const scale = Math.max(...Array.from(a.data, Math.abs));
        a.data.forEach((v, i) => expect(Math.abs(b[i] - v), `${key}[${i}]`).toBeLessThan(1e-6 * scale));
      }
    } finally {
      unregisterBlasKernels();
      await tf.setBackend('cpu');
    }
  });
});
