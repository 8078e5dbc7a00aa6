/** RMSNorm (LLaMA): `x / sqrt(mean(x²) + eps) · g`, no bias, no mean subtraction. */
import * as tf from '@tensorflow/tfjs-core';

/** x (N, D), gain (D) -> (N, D) */
export function rmsNorm(x: tf.Tensor2D, gain: tf.Variable, eps: number): tf.Tensor2D {
  const meanSquare = tf.mean(tf.square(x), 1, true); // (N, 1)
  return tf.mul(tf.mul(x, tf.rsqrt(tf.add(meanSquare, eps))), gain) as tf.Tensor2D;
}
