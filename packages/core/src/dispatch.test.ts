import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { gatherRows, scatterAddRows, type RowMoves } from './dispatch.ts';
import { TEST_BACKENDS, useBackend } from './testing/backends.ts';

// tf-ops row moves need the backend's UnsortedSegmentSum kernel, which plain wasm lacks (the
// wasm kernel patches of @moepp/backends add it); native TensorFlow and cpu have it.
const CASES: (readonly [(typeof TEST_BACKENDS)[number], RowMoves])[] = [...TEST_BACKENDS.map((b) => [b, 'host'] as const), ['cpu', 'tf-ops']];

describe.each(CASES)('row gather / scatter-add on %s, %s row moves', (backend, moves) => {
  beforeAll(() => useBackend(backend));

  it('gather picks rows, scatter-add accumulates repeated rows', () => {
    tf.tidy(() => {
      const x = tf.tensor2d([[1, 2], [3, 4], [5, 6]]);
      expect(gatherRows(x, Int32Array.from([2, 0, 2]), moves).arraySync()).toEqual([[5, 6], [1, 2], [5, 6]]);
      expect(scatterAddRows(x, Int32Array.from([1, 1, 3]), 4, moves).arraySync()).toEqual([[0, 0], [4, 6], [0, 0], [5, 6]]);
    });
  });

  it('each is the adjoint of the other: <gather(x), y> = <x, scatterAdd(y)>, and so are the gradients', () => {
    const index = Int32Array.from([3, 1, 1, 0, 3, 3]);
    const x = tf.variable(tf.randomNormal([4, 5], 0, 1, 'float32', 1));
    const y = tf.variable(tf.randomNormal([6, 5], 0, 1, 'float32', 2));
    const left = tf.tidy(() => tf.sum(tf.mul(gatherRows(x as tf.Tensor2D, index, moves), y)).dataSync()[0]);
    const right = tf.tidy(() => tf.sum(tf.mul(x, scatterAddRows(y as tf.Tensor2D, index, 4, moves))).dataSync()[0]);
    expect(left).toBeCloseTo(right, 4);
    const { grads, value } = tf.variableGrads(() => tf.sum(tf.mul(gatherRows(x as tf.Tensor2D, index, moves), y)) as tf.Scalar, [x]);
    const expected = tf.tidy(() => scatterAddRows(y as tf.Tensor2D, index, 4, moves));
    expect(Array.from(grads[x.name].dataSync())).toEqual(Array.from(expected.dataSync()));
    tf.dispose([x, y, value, expected, ...Object.values(grads)]);
  });

  it('rejects out-of-range indices', () => {
    tf.tidy(() => {
      expect(() => gatherRows(tf.zeros([2, 2]) as tf.Tensor2D, Int32Array.from([2]), moves)).toThrow(/out of range/);
    });
  });
});
