/**
 * `mixtral` gating (Mixtral / OLMoE): top-K on the raw logits, softmax over those K only. The
 * routing probabilities the balance loss averages are the softmax over all E.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { GatingMode } from './gating-mode.ts';
import { referenceSoftmax } from './reference.ts';
import { referenceTopK, selectTopK } from './top-k.ts';

export const mixtralGating: GatingMode = {
  name: 'mixtral',
  description: 'top-K of the logits, softmax over the K selected (Mixtral, OLMoE)',
  gate({ routerLogits, hostLogits, topK }) {
    const [tokens, experts] = routerLogits.shape;
    const selection = selectTopK(hostLogits, tokens, experts, topK);
    const routerProbs = tf.softmax(routerLogits) as tf.Tensor2D; // (N, E)
    const selected = tf.tensor2d(selection.selectedMask, [tokens, experts]); // (N, E)
    const masked = tf.add(routerLogits, tf.mul(tf.sub(selected, 1), 1e9)); // (N, E), −1e9 off the top-K
    return { selection, routerProbs, gateWeights: tf.softmax(masked) as tf.Tensor2D };
  },
  reference(logits, _kinds, topK) {
    const top = referenceTopK(logits, topK);
    const selectedSoftmax = referenceSoftmax(top.map((e) => logits[e]));
    const weights = new Array<number>(logits.length).fill(0);
    top.forEach((e, i) => (weights[e] = selectedSoftmax[i]));
    return { probs: referenceSoftmax(logits), topK: top, weights };
  },
};
