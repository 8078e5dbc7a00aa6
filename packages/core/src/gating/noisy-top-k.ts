/**
 * `noisy-top-k` gating (Shazeer et al. 2017, "Outrageously Large Neural Networks", eq. 3–5):
 *   H = G + ε ⊙ softplus(x W_noise), ε ~ N(0, 1) per token and expert, in training only;
 *   top-K of H, weights = softmax over the K selected entries of H.
 * W_noise (D, E) is learned (it reaches the loss through the selected weights) and starts at 0, as
 * in the paper. In evaluation H = G: the mode is then `mixtral` exactly, and deterministic.
 * The balance loss averages softmax(H) over all E (the paper's own smooth load loss is not used:
 * the layer's heterogeneous balance loss applies to every mode).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { GatingMode } from './gating-mode.ts';
import { mixtralGating } from './mixtral.ts';
import { selectTopK } from './top-k.ts';

/**
 * `count` standard normal draws from a uniform source (Box–Muller, two per pair of draws), in the
 * order the mode uses them: token-major over the (N, E) logits.
 *
 * @example
 * standardNormals(trainingContext('run', 0).rng, 4); // Float32Array(4)
 */
export function standardNormals(rng: () => number, count: number): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i += 2) {
    const u1 = rng() || Number.MIN_VALUE;
    const r = Math.sqrt(-2 * Math.log(u1));
    const angle = 2 * Math.PI * rng();
    out[i] = r * Math.cos(angle);
    if (i + 1 < count) out[i + 1] = r * Math.sin(angle);
  }
  return out;
}

export const noisyTopKGating: GatingMode = {
  name: 'noisy-top-k',
  description: 'top-K of logits + learned noise ε·softplus(x W_noise) in training, softmax over the K (Shazeer et al. 2017)',
  parameters: ({ dModel, experts }) => [{ key: 'wNoise', name: 'w_noise', shape: [dModel, experts], init: { kind: 'zeros' } }],
  gate({ routerLogits, hostLogits, topK, routerInput, params }, { training, rng }) {
    const [tokens, experts] = routerLogits.shape;
    let noisy = routerLogits; // (N, E)
    let hostNoisy = hostLogits;
    if (training) {
      const epsilon = tf.tensor2d(standardNormals(rng, tokens * experts), [tokens, experts]); // (N, E)
      noisy = tf.add(routerLogits, tf.mul(epsilon, tf.softplus(tf.matMul(routerInput, params.wNoise)))) as tf.Tensor2D; // (N, E)
      hostNoisy = noisy.dataSync() as Float32Array; // sync read: dispatch
    }
    const selection = selectTopK(hostNoisy, tokens, experts, topK);
    const routerProbs = tf.softmax(noisy) as tf.Tensor2D; // (N, E)
    const selected = tf.tensor2d(selection.selectedMask, [tokens, experts]); // (N, E)
    const masked = tf.add(noisy, tf.mul(tf.sub(selected, 1), 1e9)); // (N, E), −1e9 off the top-K
    return { selection, routerProbs, gateWeights: tf.softmax(masked) as tf.Tensor2D };
  },
  // Evaluation adds no noise: the mode is then `mixtral`, reference included.
  reference: (logits, kinds, topK) => mixtralGating.reference(logits, kinds, topK),
};
