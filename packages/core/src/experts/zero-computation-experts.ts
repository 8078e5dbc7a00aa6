/**
 * The two parameter-free zero-computation experts. Their cost is O(D) per token, against O(D·I)
 * for an FFN expert — the source of MoE++'s speed.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Zero expert: discards the token (the zero vector). x (n, D) -> (n, D) */
export function zeroExpertForward(x: tf.Tensor2D): tf.Tensor2D {
  return tf.zerosLike(x);
}

/** Copy expert: the token skips the layer (its normalised input, unchanged). x (n, D) -> (n, D) */
export function copyExpertForward(x: tf.Tensor2D): tf.Tensor2D {
  return x;
}
