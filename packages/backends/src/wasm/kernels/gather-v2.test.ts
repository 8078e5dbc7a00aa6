/** The patched wasm `GatherV2` against the `cpu` backend, and its index check (no leaked output). */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { counts, expectSameOnBothBackends, initWasmForKernelTests, input } from '../../testing/compare-backends.ts';

beforeAll(() => initWasmForKernelTests());

describe('patched GatherV2 (wasm)', () => {
  it('GatherV2 matches cpu (rows, other axes, batch dims, int32) and rejects bad indices', () => {
    const idx = (xs: number[]) => tf.tensor1d(xs, 'int32');
    expectSameOnBothBackends('rows', () => tf.gather(input([10, 16], 31), idx([3, 3, 0, 9, 5])), 0);
    expectSameOnBothBackends('axis 1', () => tf.gather(input([4, 10, 3], 32), idx([9, 1, 1]), 1), 0);
    expectSameOnBothBackends('axis 2 (single elements)', () => tf.gather(input([4, 3, 10], 33), idx([2, 7]), 2), 0);
    expectSameOnBothBackends('2-D indices', () => tf.gather(input([10, 4], 34), tf.tensor2d([[1, 2], [3, 9]], [2, 2], 'int32')), 0);
    expectSameOnBothBackends('batchDims 1', () => tf.gather(input([3, 10, 4], 35), tf.tensor2d([[0, 9], [4, 4], [7, 1]], [3, 2], 'int32'), 1, 1), 0);
    expectSameOnBothBackends('int32 table', () => tf.gather(tf.cast(tf.mul(input([10, 4], 36), 50), 'int32'), idx([5, 0])), 0);
    tf.setBackend('wasm');
    const before = counts();
    expect(() => tf.gather(tf.ones([3, 2]), idx([0, 3]))).toThrow('GatherV2: the index value 3 is not in [0, 2]');
    expect(counts().buffers).toBeLessThanOrEqual(before.buffers + 2); // the two inputs, not the output
  });
});
