/**
 * `gshard` gating (Lepikhin et al. 2021, GShard, Algorithm 1; fairseq's `top2gating` with
 * `second_expert_policy='random'`): top-2 of p = softmax(G) over all E; in training the second
 * expert is kept only with probability min(1, 2·p₂) — random routing, so a token whose second
 * choice is weak usually uses one expert, saving capacity. Weights w₁ = p₁ / (p₁ + p₂),
 * w₂ = p₂ / (p₁ + p₂), whether or not the second expert is kept (as in GShard and fairseq).
 * A declined second slot is not routed at all: it takes no capacity and is not a dropped slot.
 * Capacity is the layer's own γ (`moe.capacityFactor`), applied after the random decision.
 *
 * Evaluation keeps the second expert always (fairseq's 'all' policy): deterministic, and the
 * model then uses the full top-2 it was trained to weigh.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { GatingMode } from './gating-mode.ts';
import { referenceSoftmax } from './reference.ts';
import { referenceTopK, selectTopK } from './top-k.ts';

export const gshardGating: GatingMode = {
  name: 'gshard',
  description: 'top-2 of softmax, second expert kept with probability min(1, 2·p₂) in training (GShard random routing)',
  options: {
    randomRouting: {
      default: true,
      description: 'drop the second expert at random in training (false: always keep it)',
      check: (v, { topK }) => {
        if (typeof v !== 'boolean') return `expected true or false, got ${JSON.stringify(v)}`;
        return topK === 2 ? null : `GShard gating is top-2, but moe.topK is ${topK}; set moe.topK: 2`;
      },
    },
  },
  gate({ routerLogits, hostLogits, topK, options }, { training, rng }) {
    const [tokens, experts] = routerLogits.shape;
    const selection = selectTopK(hostLogits, tokens, experts, topK);
    const routerProbs = tf.softmax(routerLogits) as tf.Tensor2D; // (N, E)
    const top2 = tf.tensor2d(selection.selectedMask.slice(), [tokens, experts]); // (N, E) both choices, before the random decision
    if (training && options.randomRouting) {
      const hostProbs = routerProbs.dataSync() as Float32Array; // sync read: dispatch
      for (let n = 0; n < tokens; n++) {
        const second = n * experts + selection.topKIndex[n * topK + 1];
        if (!(2 * hostProbs[second] > rng())) selection.selectedMask[second] = 0; // declined: not routed
      }
    }
    const pair = tf.mul(routerProbs, top2); // (N, E)
    return { selection, routerProbs, gateWeights: tf.div(pair, tf.sum(pair, 1, true)) as tf.Tensor2D };
  },
  reference(logits, _kinds, topK) {
    // Evaluation: both experts kept.
    const probs = referenceSoftmax(logits);
    const top = referenceTopK(logits, topK);
    const total = top.reduce((s, e) => s + probs[e], 0);
    return { probs, topK: top, weights: probs.map((p, e) => (top.includes(e) ? p / total : 0)) };
  },
};
