/** The patched wasm `Sum` and `Mean` against the `cpu` backend over leading, middle, trailing and split axes. */
import { beforeAll, describe, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { expectSameOnBothBackends, initWasmForKernelTests, input } from '../../testing/compare-backends.ts';

beforeAll(() => initWasmForKernelTests());

describe('patched Sum and Mean (wasm)', () => {
  it('Sum and Mean match cpu over leading, middle, trailing and split axes', () => {
    const x = [4, 6, 5, 3];
    const axes: (number | number[])[] = [0, 1, 2, -1, [0, 1], [1, 2], [0, 1, 2], [0, 2], [0, 1, 2, 3]];
    for (const axis of axes) {
      for (const keepDims of [false, true]) {
        expectSameOnBothBackends(`sum ${axis} ${keepDims}`, () => tf.sum(input(x, 21), axis, keepDims));
        expectSameOnBothBackends(`mean ${axis} ${keepDims}`, () => tf.mean(input(x, 22), axis, keepDims));
      }
    }
    expectSameOnBothBackends('sum (1024, 128) axis 0', () => tf.sum(input([1024, 128], 23), 0), 1e-5);
    expectSameOnBothBackends('sum int32 axis 0', () => tf.sum(tf.cast(tf.mul(input([8, 5], 24), 100), 'int32'), 0), 0);
  });
});
