/**
 * Zero expert: the zero vector — the token is *discarded* by this expert. No parameters, no
 * work: executors skip it, and the `reference` gating gives it weight 0 before renormalising,
 * so FFN_a + zero gives FFN_a weight 1 (moepp-method.md §3).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ExpertKind } from './expert-kind.ts';

/** x (n, D) -> (n, D) zeros */
export function zeroExpertForward(x: tf.Tensor2D): tf.Tensor2D {
  return tf.zerosLike(x);
}

export const zeroExpert: ExpertKind = {
  name: 'zero',
  description: 'zero expert, discards the token',
  costClass: 'zero-computation',
  layoutOrder: 3,
  dispatch: 'tokenwise',
  outputIsZero: true,
  parameters: () => [],
  flopsPerToken: () => 0,
  forward: (x) => zeroExpertForward(x),
  // Its output is identically zero: the host executor skips it.
  host: null,
  reference: (_params, x) => x.map(() => 0),
};
