/**
 * Copy expert: the token *skips* the layer — its normalised input, unchanged. No parameters;
 * `E(x) = 1·x`, of the form `a(x)·x + b(x)` the host executor combines.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { ExpertKind, TokenwiseExpertHost } from './expert-kind.ts';

/** x (n, D) -> x */
export function copyExpertForward(x: tf.Tensor2D): tf.Tensor2D {
  return x;
}

const copyHost: TokenwiseExpertHost<null> = {
  prepare: () => null,
  forward(_state, _x, w, _out, keep) {
    for (let n = 0; n < w.length; n++) keep[n] += w[n];
  },
  backward(_state, _x, _g, w, xg, _dx, dWeight, keep) {
    for (let n = 0; n < w.length; n++) {
      dWeight[n] += xg[n]; // ⟨x, g⟩
      keep[n] += w[n];
    }
  },
};

export const copyExpert: ExpertKind = {
  name: 'copy',
  description: 'copy expert, the token skips the layer',
  costClass: 'zero-computation',
  layoutOrder: 2,
  dispatch: 'tokenwise',
  outputIsZero: false,
  parameters: () => [],
  flopsPerToken: () => 0,
  forward: (x) => copyExpertForward(x),
  host: { tokenwise: copyHost as TokenwiseExpertHost },
  reference: (_params, x) => [...x],
};
