/**
 * `expert-choice` routing (Zhou et al. 2022, "Mixture-of-Experts with Expert Choice Routing"):
 * the experts choose the tokens. S = softmax(G) over the experts of each token; every expert e
 * takes the C tokens of the batch with the highest S[:, e], C = ⌈N·K / E⌉ (the paper's capacity
 * factor c = K: the same N·K slots as token-choice top-K), and weighs each by S[n, e]. A token may
 * be taken by several experts or by none (then only the residual stream carries it).
 *
 * For comparison only, in decoder LMs: whether a token is chosen depends on the scores of every
 * token of the batch, later positions of its own sequence included, so a future token changes an
 * earlier token's output (routing-family.test.ts shows it). Training is then not causal and
 * evaluation not comparable with autoregressive decoding; the mode's `caveat` is printed for every
 * run that uses it, and its config names it.
 *
 * Representation: a selection with one slot per expert for each token (topK = E in the selection,
 * ranked by S), where `selectedMask` marks the slots the experts took; the others are not routed.
 * Balance is built in (every expert takes C tokens); the balance loss is computed as for any mode.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { GatingMode } from './gating-mode.ts';
import { referenceSoftmax } from './reference.ts';
import { selectTopK } from './top-k.ts';

/** C: tokens each expert takes from a batch of `tokens`. */
export function expertChoiceCapacity(tokens: number, experts: number, topK: number): number {
  return Math.min(tokens, Math.ceil((tokens * topK) / experts));
}

export const expertChoiceGating: GatingMode = {
  name: 'expert-choice',
  description: 'each expert takes its top-C tokens of the batch, C = ⌈N·K/E⌉ (Zhou et al. 2022); not causal: comparison only',
  ownCapacity: true,
  caveat: 'expert-choice routing is not causal in a decoder LM: an expert\'s choice of a token depends on later tokens of the batch, so its losses are for comparison only',
  gate({ routerLogits, hostLogits, topK }) {
    const [tokens, experts] = routerLogits.shape;
    const routerProbs = tf.softmax(routerLogits) as tf.Tensor2D; // (N, E)
    const hostProbs = routerProbs.dataSync() as Float32Array; // sync read: dispatch
    // Every expert ranked per token (for the slot order), then only the experts' choices kept.
    const selection = selectTopK(hostLogits, tokens, experts, experts);
    selection.selectedMask.fill(0);
    const capacity = expertChoiceCapacity(tokens, experts, topK);
    const order = Array.from({ length: tokens }, (_, n) => n);
    for (let e = 0; e < experts; e++) {
      order.sort((a, b) => hostProbs[b * experts + e] - hostProbs[a * experts + e] || a - b);
      for (let i = 0; i < capacity; i++) selection.selectedMask[order[i] * experts + e] = 1;
    }
    return { selection, routerProbs, gateWeights: routerProbs };
  },
  reference() {
    throw new Error('expert-choice routing has no per-token reference: a token\'s routing depends on the whole batch (see referenceExpertChoice)');
  },
};

/**
 * Float64 reference of the whole batch's expert choice: per token, the experts that took it and
 * their weights S[n, e] (0 elsewhere).
 */
export function referenceExpertChoice(logits: number[][], topK: number): { probs: number[][]; weights: number[][] } {
  const N = logits.length;
  const E = logits[0].length;
  const probs = logits.map(referenceSoftmax);
  const weights = probs.map((row) => row.map(() => 0));
  const C = Math.min(N, Math.ceil((N * topK) / E));
  for (let e = 0; e < E; e++) {
    const chosen = probs.map((row, n) => ({ p: row[e], n })).sort((a, b) => b.p - a.p || a.n - b.n).slice(0, C);
    for (const { n } of chosen) weights[n][e] = probs[n][e];
  }
  return { probs, weights };
}
