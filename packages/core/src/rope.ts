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
  /**
   * (hd, hd) the signed permutation R with x·R = rotate_half(x) = [−x₂, x₁]. One small product
   * replaces a split, a negation and a concat (and their three backward ops), which cost more on
   * the wasm backend (BENCHMARKS.md, "The whole training step"). Each output is one ±x term plus
   * exact zeros, so the result is bit-identical to the split/concat form.
   */
  rotateHalf: tf.Tensor2D;
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
  return { cos: tf.tensor2d(cos, [seqLen, headDim]), sin: tf.tensor2d(sin, [seqLen, headDim]), rotateHalf: rotateHalfMatrix(headDim) };
}

/** (hd, hd) R with (x·R)_j = −x_{j+hd/2} for j < hd/2 and x_{j−hd/2} otherwise. */
export function rotateHalfMatrix(headDim: number): tf.Tensor2D {
  const half = headDim / 2;
  const r = new Float32Array(headDim * headDim); // row k, column j: input dimension k's weight in output j
  for (let j = 0; j < half; j++) {
    r[(j + half) * headDim + j] = -1;
    r[j * headDim + j + half] = 1;
  }
  return tf.tensor2d(r, [headDim, headDim]);
}

/** x (B, H, T, hd) -> rotated (B, H, T, hd); tables cut to the first T positions by the caller. */
export function applyRope(x: tf.Tensor4D, tables: RopeTables): tf.Tensor4D {
  const [b, h, t, hd] = x.shape;
  const rotated = tf.reshape(tf.matMul(tf.reshape(x, [b * h * t, hd]), tables.rotateHalf), x.shape); // rotate_half(x), (B, H, T, hd)
  return tf.add(tf.mul(x, tables.cos), tf.mul(rotated, tables.sin)) as tf.Tensor4D;
}
