/** The patched wasm `Slice` against the `cpu` backend: contiguous or not, ranks 1–5, int32 and bool. */
import { beforeAll, describe, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { expectSameOnBothBackends, initWasmForKernelTests, input } from '../../testing/compare-backends.ts';

beforeAll(() => initWasmForKernelTests());

describe('patched Slice (wasm)', () => {
  it('Slice matches cpu (contiguous or not, ranks 1–5, int32 and bool)', () => {
    const cases: [number[], number[], number[]][] = [
      [[20], [3], [7]],
      [[9, 7], [2, 0], [4, -1]], // whole rows: one contiguous run
      [[9, 7], [2, 3], [4, 2]],
      [[4, 5, 6], [1, 2, 3], [2, 3, 3]],
      [[3, 4, 5, 6], [0, 1, 0, 0], [3, 2, 5, 6]],
      [[2, 3, 4, 5, 6], [1, 0, 2, 1, 3], [1, 3, 2, 4, 2]],
      [[4, 5], [0, 0], [0, 5]], // empty
    ];
    for (const [shape, begin, sz] of cases) {
      expectSameOnBothBackends(`slice ${shape} ${begin} ${sz}`, () => tf.slice(input(shape, 81), begin, sz), 0);
      expectSameOnBothBackends(`slice int32 ${shape}`, () => tf.slice(tf.cast(tf.mul(input(shape, 82), 100), 'int32'), begin, sz), 0);
    }
    expectSameOnBothBackends('slice bool', () => tf.cast(tf.slice(tf.greater(input([6, 5], 83), 0), [1, 1], [3, 3]), 'int32'), 0);
  });
});
