/**
 * Causal multi-head self-attention with RoPE; projections without biases (LLaMA).
 *
 * In tf ops the heads are transposed into (B, H, T, hd) and back, RoPE and the scaled, masked
 * softmax are a dozen broadcasting kernels, and tfjs differentiates all of it. Where the backend
 * registers the fused attention kernels (`blas`), everything between the projections is one
 * native call each way, reading the heads in place from the (B·T, D) projections.
 */
import * as tf from '@tensorflow/tfjs-core';
import { hasTrainingKernel, TRAINING_KERNELS } from '@moepp/backends';
import { applyRope, type RopeTables } from './rope.ts';
import { isRecordingGradients } from './tape.ts';

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
  if (hasTrainingKernel(TRAINING_KERNELS.causalAttention) && hasTrainingKernel(TRAINING_KERNELS.causalAttentionGrad)) {
    const mixed = fusedCausalAttention(tf.matMul(x, p.wQ), tf.matMul(x, p.wK), tf.matMul(x, p.wV), shape); // (B·T, D)
    return tf.matMul(mixed, p.wO) as tf.Tensor2D;
  }
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

/**
 * q, k, v (B·T, D) → the heads' causal attention with RoPE, merged back to (B·T, D), through the
 * backend's fused kernels (training-kernels.ts of @moepp/backends). The mask is implied.
 */
function fusedCausalAttention(q: tf.Tensor2D, k: tf.Tensor2D, v: tf.Tensor2D, shape: { batch: number; seqLen: number; nHeads: number; rope: RopeTables }): tf.Tensor2D {
  const attrs = { batch: shape.batch, seqLen: shape.seqLen, heads: shape.nHeads };
  const { cos, sin } = shape.rope; // (T, hd) each
  const recording = isRecordingGradients();
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [qIn, kIn, vIn] = args as tf.Tensor2D[];
    const save = args[3] as tf.GradSaveFunc;
    // out (B·T, D), probs (B, H, T, T), qRot and kRot (B·T, D): what the backward reads.
    const [out, probs, qRot, kRot] = tf.engine().runKernel(TRAINING_KERNELS.causalAttention, { q: qIn, k: kIn, v: vIn, cos, sin }, attrs) as tf.Tensor[];
    save(recording ? [qRot, kRot, vIn, probs] : []);
    return {
      value: out as tf.Tensor2D,
      gradFunc: (dOut: tf.Tensor, [qRotSaved, kRotSaved, vSaved, probsSaved]: tf.Tensor[]) =>
        tf.engine().runKernel(TRAINING_KERNELS.causalAttentionGrad, { qRot: qRotSaved, kRot: kRotSaved, v: vSaved, probs: probsSaved, dOut, cos, sin }, attrs) as tf.Tensor[], // dq, dk, dv (B·T, D)
    };
  });
  return op(q, k, v) as tf.Tensor2D;
}

/** (T, T) additive mask: 0 on and below the diagonal, −1e9 above (future positions). */
export function causalMask(seqLen: number): tf.Tensor2D {
  const m = new Float32Array(seqLen * seqLen);
  for (let i = 0; i < seqLen; i++) for (let j = i + 1; j < seqLen; j++) m[i * seqLen + j] = -1e9;
  return tf.tensor2d(m, [seqLen, seqLen]);
}
