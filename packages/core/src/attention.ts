/** Causal multi-head self-attention with RoPE; projections without biases (LLaMA). */
import * as tf from '@tensorflow/tfjs-core';
import { applyRope, type RopeTables } from './rope.ts';

export interface AttentionParams {
  /** (D, D) each, applied as x · W. */
  wQ: tf.Variable;
  wK: tf.Variable;
  wV: tf.Variable;
  wO: tf.Variable;
}

/**
 * x (B·T, D) -> (B·T, D).
 *
 * @example
 * const y = attentionForward(x, params, { batch: 2, seqLen: 16, nHeads: 4, rope: ropeTables(16, 8, 10000), causalMask });
 */
export function attentionForward(
  x: tf.Tensor2D,
  p: AttentionParams,
  shape: { batch: number; seqLen: number; nHeads: number; rope: RopeTables; causalMask: tf.Tensor2D },
): tf.Tensor2D {
  const { batch, seqLen, nHeads } = shape;
  const d = x.shape[1];
  const headDim = d / nHeads;
  const heads = (w: tf.Variable) =>
    tf.transpose(tf.reshape(tf.matMul(x, w), [batch, seqLen, nHeads, headDim]), [0, 2, 1, 3]) as tf.Tensor4D; // (B, H, T, hd)
  const q = applyRope(heads(p.wQ), shape.rope);
  const k = applyRope(heads(p.wK), shape.rope);
  const v = heads(p.wV);
  const scores = tf.add(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(headDim)), shape.causalMask); // (B, H, T, T)
  const mixed = tf.matMul(tf.softmax(scores), v); // (B, H, T, hd)
  const merged = tf.reshape(tf.transpose(mixed, [0, 2, 1, 3]), [batch * seqLen, d]); // (B·T, D)
  return tf.matMul(merged, p.wO) as tf.Tensor2D;
}

/** (T, T) additive mask: 0 on and below the diagonal, −1e9 above (future positions). */
export function causalMask(seqLen: number): tf.Tensor2D {
  const m = new Float32Array(seqLen * seqLen);
  for (let i = 0; i < seqLen; i++) for (let j = i + 1; j < seqLen; j++) m[i * seqLen + j] = -1e9;
  return tf.tensor2d(m, [seqLen, seqLen]);
}
