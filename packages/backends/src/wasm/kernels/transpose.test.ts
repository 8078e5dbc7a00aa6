/** The patched wasm `Transpose` against the `cpu` backend: last-two swaps (the host path) and other permutations. */
import { beforeAll, describe, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { expectSameOnBothBackends, initWasmForKernelTests, input } from '../../testing/compare-backends.ts';

beforeAll(() => initWasmForKernelTests());

describe('patched Transpose (wasm)', () => {
  it('Transpose matches cpu for swaps of the last two axes and other permutations', () => {
    const cases: [number[], number[]][] = [
      [[37, 53], [1, 0]],
      [[3, 17, 40], [0, 2, 1]],
      [[2, 3, 5, 7], [0, 1, 3, 2]],
      [[1, 5, 1, 7], [0, 3, 2, 1]], // size-1 axes around the swap
      [[2, 3, 5, 7], [0, 2, 1, 3]], // not a last-two swap: original kernel
      [[4, 6, 8], [2, 0, 1]],
    ];
    for (const [shape, perm] of cases) {
      expectSameOnBothBackends(`transpose ${shape} ${perm}`, () => tf.transpose(input(shape, 11), perm), 0);
      expectSameOnBothBackends(`transpose int32 ${shape} ${perm}`, () => tf.transpose(tf.cast(tf.mul(input(shape, 12), 100), 'int32'), perm), 0);
    }
    expectSameOnBothBackends('transpose bool', () => tf.cast(tf.transpose(tf.greater(input([9, 4], 13), 0)), 'int32'), 0);
  });
});
