/** The patched wasm `SplitV` against the `cpu` backend: even and uneven splits along every axis. */
import { beforeAll, describe, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { expectSameOnBothBackends, initWasmForKernelTests, input } from '../../testing/compare-backends.ts';

beforeAll(() => initWasmForKernelTests());

describe('patched SplitV (wasm)', () => {
  it('SplitV matches cpu (even and uneven splits, every axis)', () => {
    for (const axis of [0, 1, 2, -1]) {
      for (const split of [2, [1, 3, 2]] as (number | number[])[]) {
        const shape = [6, 6, 6];
        for (let part = 0; part < (Array.isArray(split) ? split.length : split); part++) {
          expectSameOnBothBackends(`split ${split} axis ${axis} part ${part}`, () => tf.split(input(shape, 84), split, axis)[part], 0);
        }
      }
    }
  });
});
