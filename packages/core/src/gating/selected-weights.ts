/**
 * The MoE++ rule for the weights of the selected experts (moepp-method.md §3, step 4), shared by
 * every mode that follows it: a selected expert whose output is identically zero gets weight 0,
 * and the K selected scores are renormalised to sum to 1 — so FFN_a + zero gives FFN_a weight 1,
 * and a token whose top-K holds only zero experts outputs 0, never NaN.
 */
import * as tf from '@tensorflow/tfjs-core';
import { expertKind } from '../experts/index.ts';
import type { Selection } from './gating-mode.ts';

/** (N) 1 where every selected expert of the token has an identically zero output. */
function onlyZeroOutputsSelected(selection: Selection, outputIsZero: boolean[]): Float32Array {
  const out = new Float32Array(selection.tokens);
  for (let n = 0; n < selection.tokens; n++) {
    let allZero = 1;
    for (let j = 0; j < selection.topK; j++) if (!outputIsZero[selection.topKIndex[n * selection.topK + j]]) allZero = 0;
    out[n] = allZero;
  }
  return out;
}

/**
 * (N, E) the selected `scores` with zero-output experts weightless, renormalised per token.
 *
 * @example
 * const gateWeights = renormalisedSelectedWeights(tf.softmax(z), selection, kinds); // (N, E)
 */
export function renormalisedSelectedWeights(scores: tf.Tensor2D, selection: Selection, kinds: readonly string[]): tf.Tensor2D {
  const [tokens, experts] = scores.shape;
  const outputIsZero = kinds.map((k) => expertKind(k).outputIsZero);
  const selected = tf.tensor2d(selection.selectedMask, [tokens, experts]); // (N, E)
  const notZero = tf.tensor1d(outputIsZero.map((z) => (z ? 0 : 1))); // (E)
  const raw = tf.mul(tf.mul(scores, selected), notZero); // (N, E)
  const total = tf.sum(raw, 1, true); // (N, 1)
  // A token whose top-K holds only zero experts has all weights 0: divide by 1, not 0, so its
  // output is 0, never NaN. Known on the host, which keeps the condition out of the gradient.
  const onlyZero = tf.tensor2d(onlyZeroOutputsSelected(selection, outputIsZero), [tokens, 1]); // (N, 1)
  return tf.div(raw, tf.add(total, onlyZero)) as tf.Tensor2D; // (N, E)
}

/** Float64 reference of the same rule for one token: `scores` (E), `top` its selected experts. */
export function referenceRenormalisedWeights(scores: number[], top: number[], kinds: readonly string[]): number[] {
  const weights = new Array<number>(scores.length).fill(0);
  for (const e of top) weights[e] = expertKind(kinds[e]).outputIsZero ? 0 : scores[e];
  const total = top.reduce((s, e) => s + weights[e], 0);
  for (const e of top) weights[e] = total > 0 ? weights[e] / total : 0;
  return weights;
}
