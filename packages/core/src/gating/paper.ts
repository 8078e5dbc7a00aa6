/**
 * `paper` gating — eq. 1 of the MoE++ paper read literally (moepp-method.md §3): softmax over all
 * E experts, top-K, no renormalisation; a selected zero expert keeps its probability mass (which
 * then contributes nothing).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { GatingMode } from './gating-mode.ts';
import { referenceSoftmax } from './reference.ts';
import { referenceTopK, selectTopK } from './top-k.ts';

export const paperGating: GatingMode = {
  name: 'paper',
  description: 'softmax over all experts, top-K, no renormalisation (the paper\'s eq. 1)',
  gate({ routerLogits, hostLogits, topK }) {
    const [tokens, experts] = routerLogits.shape;
    const selection = selectTopK(hostLogits, tokens, experts, topK);
    const routerProbs = tf.softmax(routerLogits) as tf.Tensor2D; // (N, E)
    const gateWeights = tf.mul(routerProbs, tf.tensor2d(selection.selectedMask, [tokens, experts])) as tf.Tensor2D; // (N, E)
    return { selection, routerProbs, gateWeights };
  },
  reference(logits, _kinds, topK) {
    const probs = referenceSoftmax(logits);
    const top = referenceTopK(logits, topK);
    const weights = new Array<number>(logits.length).fill(0);
    for (const e of top) weights[e] = probs[e];
    return { probs, topK: top, weights };
  },
};
