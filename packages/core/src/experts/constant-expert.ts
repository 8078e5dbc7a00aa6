/**
 * Constant expert: `[a1, a2] = softmax(x W_c)`, output `a1·x + a2·v` — it replaces the token by a
 * learned vector to a degree the token itself decides. `W_c` (D, 2), `v` (D).
 */
import * as tf from '@tensorflow/tfjs-core';

export interface ConstantExpertParams {
  /** (D, 2) */
  wC: tf.Variable;
  /** (D) */
  v: tf.Variable;
}

/**
 * @example
 * const y = constantExpertForward(x, params); // x (n, D) -> y (n, D)
 */
export function constantExpertForward(x: tf.Tensor2D, p: ConstantExpertParams): tf.Tensor2D {
  const mix = tf.softmax(tf.matMul(x, p.wC)); // (n, 2)
  const [keepInput, takeConstant] = tf.split(mix, 2, 1); // (n, 1) each
  return tf.add(tf.mul(keepInput, x), tf.mul(takeConstant, p.v)) as tf.Tensor2D; // (n, D)
}
