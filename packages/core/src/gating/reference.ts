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
import type { GatingMode, Selection } from './gating-mode.ts';
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

export const referenceGating: GatingMode = {
  name: 'reference',
  description: 'std-normalised softmax over all experts, top-K, zero experts weightless, renormalised (the released MoE++ 7B)',
  gate({ routerLogits, hostLogits, kinds, topK }) {
    const [tokens, experts] = routerLogits.shape;
    const selection = selectTopK(hostLogits, tokens, experts, topK);
    const outputIsZero = kinds.map((k) => expertKind(k).outputIsZero);
    const routerProbs = tf.softmax(referenceNormalise(routerLogits)) as tf.Tensor2D; // (N, E)
    const selected = tf.tensor2d(selection.selectedMask, [tokens, experts]); // (N, E)
    const notZero = tf.tensor1d(outputIsZero.map((z) => (z ? 0 : 1))); // (E)
    const raw = tf.mul(tf.mul(routerProbs, selected), notZero); // (N, E)
    const total = tf.sum(raw, 1, true); // (N, 1)
    // A token whose top-K holds only zero experts has all weights 0: divide by 1, not 0, so its
    // output is 0, never NaN. Known on the host, which keeps the condition out of the gradient.
    const onlyZero = tf.tensor2d(onlyZeroOutputsSelected(selection, outputIsZero), [tokens, 1]); // (N, 1)
    const gateWeights = tf.div(raw, tf.add(total, onlyZero)) as tf.Tensor2D; // (N, E)
    return { selection, routerProbs, gateWeights };
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
