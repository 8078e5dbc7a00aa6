/**
 * FFN expert: SwiGLU without biases, `W_down( silu(x W_gate) ⊙ (x W_up) )` — 3·D·I parameters.
 * Also the dense FFN of non-MoE blocks.
 */
import * as tf from '@tensorflow/tfjs-core';

export interface FfnParams {
  /** (D, I) */
  wGate: tf.Variable;
  /** (D, I) */
  wUp: tf.Variable;
  /** (I, D) */
  wDown: tf.Variable;
}

/**
 * SwiGLU forward on the rows routed to this expert.
 *
 * @example
 * const y = ffnForward(x, params); // x (n, D) -> y (n, D)
 */
export function ffnForward(x: tf.Tensor2D, p: FfnParams): tf.Tensor2D {
  const gate = tf.matMul(x, p.wGate); // (n, I)
  const up = tf.matMul(x, p.wUp); // (n, I)
  const hidden = tf.mul(tf.mul(gate, tf.sigmoid(gate)), up); // (n, I) silu(gate) ⊙ up
  return tf.matMul(hidden, p.wDown) as tf.Tensor2D; // (n, D)
}
