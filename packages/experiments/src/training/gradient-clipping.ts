/**
 * Global-norm gradient clipping (clip 1.0 in the paper): the norm over every gradient, and the
 * factor that brings it down to the limit, which the optimizer applies as it reads each
 * gradient (AdamW.apply's `gradScale`) — no scaled copies of the gradients are made.
 */
import * as tf from '@tensorflow/tfjs-core';
import { readRows } from '@moepp/backends';
import type { ExecutorName } from '@moepp/core';

/**
 * The global L2 norm of `grads` and the factor `min(1, maxNorm / norm)`. A non-finite norm comes
 * back as is with factor 1, so the caller can stop the run. `where` is where the sum runs: on
 * host views (`host`, float64) or as tf ops (`tf-ops`).
 *
 * @example
 * const { norm, scale } = globalNormClip(grads, 1.0, 'host');
 * optimizer.apply(params, grads, lr, scale);
 */
export function globalNormClip(grads: Map<string, tf.Tensor>, maxNorm: number, where: ExecutorName): { norm: number; scale: number } {
  let norm: number;
  if (where === 'host') {
    let sum = 0;
    for (const g of grads.values()) {
      const values = readRows(g);
      for (let i = 0; i < values.length; i++) sum += values[i] * values[i];
    }
    norm = Math.sqrt(sum);
  } else {
    norm = tf.tidy(() => tf.sqrt(tf.addN([...grads.values()].map((g) => tf.sum(tf.square(g))))).dataSync()[0]);
  }
  return { norm, scale: Number.isFinite(norm) && norm > maxNorm ? maxNorm / norm : 1 };
}
