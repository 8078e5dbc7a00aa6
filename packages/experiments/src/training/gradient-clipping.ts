/**
 * Global-norm gradient clipping (clip 1.0 in the paper): the norm over every gradient, and the
 * factor that brings it down to the limit, which the optimizer applies as it reads each
 * gradient (AdamW.apply's `gradScale`) — no scaled copies of the gradients are made.
 */
import * as tf from '@tensorflow/tfjs-core';
import { hasTrainingKernel, TRAINING_KERNELS } from '@moepp/backends';

/**
 * The global L2 norm of `grads` and the factor `min(1, maxNorm / norm)`. A non-finite norm comes
 * back as is with factor 1, so the caller can stop the run.
 *
 * @example
 * const { norm, scale } = globalNormClip(grads, 1.0);
 * optimizer.apply(params, grads, lr, scale);
 */
export function globalNormClip(grads: Map<string, tf.Tensor>, maxNorm: number): { norm: number; scale: number } {
  const norm = tf.tidy(() => {
    // The backend's fused sum of squares where it has one (`blas`: one native float64 pass),
    // else two kernels per gradient (wasm's float32 Sum is ~1e-4 relative low on 10⁵⁺ values).
    if (hasTrainingKernel(TRAINING_KERNELS.sumOfSquares)) return Math.sqrt((tf.engine().runKernel(TRAINING_KERNELS.sumOfSquares, [...grads.values()] as unknown as tf.NamedTensorMap) as tf.Tensor).dataSync()[0]);
    return tf.sqrt(tf.addN([...grads.values()].map((g) => tf.sum(tf.square(g))))).dataSync()[0];
  });
  return { norm, scale: Number.isFinite(norm) && norm > maxNorm ? maxNorm / norm : 1 };
}
