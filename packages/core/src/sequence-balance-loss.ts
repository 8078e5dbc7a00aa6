/**
 * DeepSeek-V3's complementary sequence-wise balance loss (Liu et al. 2024, eq. 17–20), per MoE++
 * layer, averaged over the B sequences of the batch:
 *   f_i = E / (K·T) · Σ_t 1[expert i in token t's top-K],   P_i = (1/T) Σ_t p_{t,i},
 *   L = Σ_i f_i · P_i,
 * with p the layer's routing probabilities (for `sigmoid-bias`, s' = s / Σ_e s, as in the paper).
 * 1.0 means perfectly balanced within each sequence. f has no gradient; P does.
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * The loss of one layer from its (N, E) routing probabilities and (N·E) selection mask, N = B·T
 * in row-major (sequence, position) order.
 *
 * @example
 * const loss = sequenceBalanceLoss(out.routerProbs, out.plan.selectedMask, batch, seqLen, topK); // scalar
 */
export function sequenceBalanceLoss(routerProbs: tf.Tensor2D, selectedMask: Float32Array, batch: number, seqLen: number, topK: number): tf.Scalar {
  const experts = routerProbs.shape[1];
  const f = new Float32Array(batch * experts); // (B, E)
  for (let i = 0; i < selectedMask.length; i++) {
    const sequence = Math.floor(i / (seqLen * experts));
    f[sequence * experts + (i % experts)] += experts / (topK * seqLen) * selectedMask[i];
  }
  const meanProbs = tf.mean(tf.reshape(routerProbs, [batch, seqLen, experts]), 1); // (B, E) P per sequence
  return tf.mean(tf.sum(tf.mul(meanProbs, tf.tensor2d(f, [batch, experts])), 1)) as tf.Scalar;
}
