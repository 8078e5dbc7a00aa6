/** The patched wasm `_FusedMatMul` against the `cpu` backend: bias, activation, transposes, batches. */
import { beforeAll, describe, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { expectSameOnBothBackends, initWasmForKernelTests, input } from '../../testing/compare-backends.ts';

beforeAll(() => initWasmForKernelTests());

describe('patched _FusedMatMul (wasm)', () => {
  it('_FusedMatMul (bias, activation, transposes, batches) matches cpu — the original adds the wrong bias there', () => {
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        expectSameOnBothBackends(`fused 2-D tA=${ta} tB=${tb}`, () =>
          tf.fused.matMul({ a: input(ta ? [6, 9] : [9, 6], 5) as tf.Tensor2D, b: input(tb ? [7, 6] : [6, 7], 6) as tf.Tensor2D, transposeA: ta, transposeB: tb, bias: input([7], 7), activation: 'relu' }),
        );
        expectSameOnBothBackends(`fused batched a tA=${ta} tB=${tb}`, () =>
          tf.fused.matMul({ a: input(ta ? [3, 6, 9] : [3, 9, 6], 5) as tf.Tensor3D, b: input(tb ? [7, 6] : [6, 7], 6) as tf.Tensor2D, transposeA: ta, transposeB: tb, bias: input([7], 7), activation: 'linear' }),
        );
        expectSameOnBothBackends(`fused batched a and b tA=${ta} tB=${tb}`, () =>
          tf.fused.matMul({ a: input(ta ? [3, 6, 9] : [3, 9, 6], 5) as tf.Tensor3D, b: input(tb ? [3, 7, 6] : [3, 6, 7], 6) as tf.Tensor3D, transposeA: ta, transposeB: tb, bias: input([7], 7), activation: 'relu' }),
        );
      }
    }
  });
});
