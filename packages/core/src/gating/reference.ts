/**
 * `reference` gating — what the released MoE++ 7B does (moepp-method.md §3), the default:
 *   1. z = G / (std_E(G) / λ), std over the E logits of each token (unbiased, E − 1), λ = 1;
 *   2. p = softmax(z) over all E experts, FFN and zero-computation alike;
 *   3. top-K of p (the same experts as top-K of G: the map is increasing per token);
 *   4. a selected zero expert gets weight 0, then the K weights are renormalised to sum to 1 —
 *      FFN_a + zero gives FFN_a weight 1; if every selected weight is 0 the output is 0, never NaN.
 */
import * as tf from '@tensorflow/tfjs-core';
import { expertKind } from '../experts/index.ts';
import type { GatingMode } from './gating-mode.ts';
import { renormalisedSelectedWeights } from './selected-weights.ts';
import { referenceTopK, selectTopK } from './top-k.ts';

/** λ of z = G / (std_E(G) / λ). */
const REFERENCE_LAMBDA = 1;
/** Floor on std_E(G): a token whose E logits are all equal would otherwise divide by zero. */
const MIN_LOGIT_STD = 1e-6;

/** z = G / (std_E(G) / λ), std with the unbiased (E − 1) estimator as in the released 7B. */
function referenceNormalise(routerLogits: tf.Tensor2D): tf.Tensor2D {
  const experts = routerLogits.shape[1];
  const mean = tf.mean(routerLogits, 1, true); // (N, 1)
  const centred = tf.sub(routerLogits, mean);
  const variance = tf.div(tf.sum(tf.square(centred), 1, true), Math.max(experts - 1, 1)); // (N, 1)
  // Clamp before the sqrt: its gradient at 0 is infinite, and 0·∞ would turn into NaN.
  const std = tf.sqrt(tf.maximum(variance, MIN_LOGIT_STD * MIN_LOGIT_STD));
  return tf.div(routerLogits, tf.div(std, REFERENCE_LAMBDA)) as tf.Tensor2D;
}

export const referenceGating: GatingMode = {
  name: 'reference',
  description: 'std-normalised softmax over all experts, top-K, zero experts weightless, renormalised (the released MoE++ 7B)',
  gate({ routerLogits, hostLogits, kinds, topK }) {
    const [tokens, experts] = routerLogits.shape;
    const selection = selectTopK(hostLogits, tokens, experts, topK);
    const routerProbs = tf.softmax(referenceNormalise(routerLogits)) as tf.Tensor2D; // (N, E)
    return { selection, routerProbs, gateWeights: renormalisedSelectedWeights(routerProbs, selection, kinds) };
  },
  reference(logits, kinds, topK) {
    const E = logits.length;
    const mean = logits.reduce((a, b) => a + b, 0) / E;
    const std = Math.sqrt(logits.reduce((s, v) => s + (v - mean) ** 2, 0) / (E - 1));
    const probs = referenceSoftmax(logits.map((v) => v / std));
    const top = referenceTopK(logits, topK);
    const weights = new Array<number>(E).fill(0);
    for (const e of top) weights[e] = expertKind(kinds[e]).outputIsZero ? 0 : probs[e];
    const total = top.reduce((s, e) => s + weights[e], 0);
    for (const e of top) weights[e] = total > 0 ? weights[e] / total : 0;
    return { probs, topK: top, weights };
  },
};

/** Float64 softmax of one row. */
export function referenceSoftmax(row: number[]): number[] {
  const m = Math.max(...row);
  const e = row.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}
