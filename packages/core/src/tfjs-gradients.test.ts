/**
 * The replaced `Sum` and `Mean` gradients (tfjs-gradients.ts) on every backend: for each axis
 * choice, keepDims or not, dx is dy broadcast over the reduced axes (÷ their size for the mean),
 * the values written out here, and tfjs's other gradients still work alongside.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import './tfjs-gradients.ts';
import { TEST_BACKENDS, useBackend } from './testing/backends.ts';

const shape = [2, 3, 4];
const x = Array.from({ length: 24 }, (_, i) => Math.sin(i + 1));
/** Weights for the reduced output, so every output element has its own dy. */
const weightsFor = (outSize: number) => Array.from({ length: outSize }, (_, i) => 1 + i);

describe.each(TEST_BACKENDS)('Sum and Mean gradients on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  for (const op of ['sum', 'mean'] as const) {
    for (const axis of [null, 0, 1, 2, -1, [0, 2]] as (number | number[] | null)[]) {
      for (const keepDims of [false, true]) {
        it(`${op} over axis ${JSON.stringify(axis)}${keepDims ? ', keepDims' : ''}`, () => {
          const axes = axis === null ? [0, 1, 2] : (Array.isArray(axis) ? axis : [axis]).map((a) => (a + 3) % 3);
          const kept = shape.map((n, i) => (axes.includes(i) ? 1 : n));
          const reduced = axes.reduce((s, a) => s * shape[a], 1);
          const w = weightsFor(24 / reduced);
          const dx = tf.tidy(() => {
            const f = (t: tf.Tensor) => {
              const r = op === 'sum' ? tf.sum(t, axis ?? undefined, keepDims) : tf.mean(t, axis ?? undefined, keepDims);
              return tf.sum(tf.mul(r, tf.reshape(tf.tensor1d(w), r.shape)));
            };
            return tf.grad(f)(tf.tensor3d(x, shape as [number, number, number])).dataSync();
          });
          for (let i = 0; i < 24; i++) {
            const c = [Math.floor(i / 12), Math.floor(i / 4) % 3, i % 4];
            const o = c.reduce((s, ci, k) => s * kept[k] + (axes.includes(k) ? 0 : ci), 0); // flat index into the reduced output
            expect(dx[i], `dx[${i}]`).toBeCloseTo(w[o] / (op === 'mean' ? reduced : 1), 6);
          }
        });
      }
    }
  }
});
