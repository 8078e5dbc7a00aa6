/** Global-norm gradient clipping (clip 1.0 in the paper). */
import * as tf from '@tensorflow/tfjs-core';

/**
 * Scales all gradients in place (replacing the map's tensors) so their global L2 norm is at most
 * `maxNorm`; returns the norm before clipping. A non-finite norm is returned as is, unclipped, so
 * the caller can stop the run.
 */
export function clipGradientsByGlobalNorm(grads: Map<string, tf.Tensor>, maxNorm: number): number {
  const norm = tf.tidy(() => tf.sqrt(tf.addN([...grads.values()].map((g) => tf.sum(tf.square(g))))).dataSync()[0]);
  if (!Number.isFinite(norm) || norm <= maxNorm) return norm;
  const scale = maxNorm / norm;
  for (const [name, g] of grads) {
    grads.set(name, tf.mul(g, scale));
    g.dispose();
  }
  return norm;
}
