/**
 * Rotary position embedding in the Hugging Face LLaMA convention ("rotate half": dimension i is
 * paired with i + hd/2), so weights exported to PyTorch reproduce the forward pass there.
 */
import * as tf from '@tensorflow/tfjs-core';

export interface RopeTables {
  /** (T, hd) */
  cos: tf.Tensor2D;
  /** (T, hd) */
  sin: tf.Tensor2D;
}

/** cos/sin tables for positions 0..T−1: angle(t, i) = t · θ^(−2i/hd), repeated for both halves. */
export function ropeTables(seqLen: number, headDim: number, theta: number): RopeTables {
  const half = headDim / 2;
  const cos = new Float32Array(seqLen * headDim);
  const sin = new Float32Array(seqLen * headDim);
  for (let t = 0; t < seqLen; t++) {
    for (let i = 0; i < half; i++) {
      // biome-ignore lint/style/useExponentiationOperator: Math.pow keeps the tables bit-identical to the checkpoints trained so far
      const angle = t * Math.pow(theta, (-2 * i) / headDim);
      for (const j of [i, i + half]) {
        cos[t * headDim + j] = Math.cos(angle);
        sin[t * headDim + j] = Math.sin(angle);
      }
    }
  }
  return { cos: tf.tensor2d(cos, [seqLen, headDim]), sin: tf.tensor2d(sin, [seqLen, headDim]) };
}

/** x (B, H, T, hd) -> rotated (B, H, T, hd); tables cut to the first T positions by the caller. */
export function applyRope(x: tf.Tensor4D, cos: tf.Tensor2D, sin: tf.Tensor2D): tf.Tensor4D {
  const half = x.shape[3] / 2;
  const [x1, x2] = tf.split(x, [half, half], 3); // (B, H, T, hd/2) each
  const rotated = tf.concat([tf.neg(x2), x1], 3); // rotate_half(x)
  return tf.add(tf.mul(x, cos), tf.mul(rotated, sin)) as tf.Tensor4D;
}
