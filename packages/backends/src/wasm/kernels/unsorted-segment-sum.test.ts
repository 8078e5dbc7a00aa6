/**
 * The added wasm `UnsortedSegmentSum` against the `cpu` backend, and the gradient of `tf.gather`
 * (which needs it) on wasm.
 */
import { beforeAll, describe, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { expectSameOnBothBackends, initWasmForKernelTests, input } from '../../testing/compare-backends.ts';

beforeAll(() => initWasmForKernelTests());

describe('added UnsortedSegmentSum (wasm)', () => {
  it('UnsortedSegmentSum matches cpu, dropping out-of-range ids', () => {
    const ids = tf.tensor1d([2, 0, 2, 5, -1, 1, 2], 'int32');
    expectSameOnBothBackends('rows', () => tf.unsortedSegmentSum(input([7, 6], 41), ids, 4));
    expectSameOnBothBackends('scalars', () => tf.unsortedSegmentSum(input([7], 42), ids, 3));
    expectSameOnBothBackends('3-D', () => tf.unsortedSegmentSum(input([7, 2, 3], 43), ids, 6));
    expectSameOnBothBackends('int32', () => tf.unsortedSegmentSum(tf.cast(tf.mul(input([7, 2], 44), 100), 'int32'), ids, 3), 0);
  });

  it('the gradient of tf.gather now works on wasm and equals cpu', () => {
    for (const axis of [0, 1]) {
      expectSameOnBothBackends(`d gather axis ${axis}`, () => {
        const probe = tf.reshape(input([6, 8], 51), axis === 0 ? [6, 8] : [8, 6]);
        const g = tf.grad((p: tf.Tensor) => tf.sum(tf.mul(tf.gather(p, tf.tensor1d([3, 3, 0, 7, 1, 3], 'int32'), axis), probe)));
        return g(input([8, 8], 52));
      });
    }
  });
});
