/**
 * Differentiable row gather and its adjoint, the row scatter-add. Dispatch moves token rows into
 * expert order and back with these two ops; each is the other's gradient.
 *
 * Why not `tf.gather`: its gradient needs the `UnsortedSegmentSum` kernel, which the `wasm`
 * backend lacks, and on `wasm`/`cpu` a gather of rows runs ~8× slower than copying the rows on
 * the host (architecture.md). Native TensorFlow has fast kernels for both, so it keeps them.
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * `out[i] = x[index[i]]` for a 2-D `x` (rows, D); differentiable in `x`.
 *
 * @example
 * gatherRows(tf.tensor2d([[1, 2], [3, 4]]), Int32Array.from([1, 1, 0])); // [[3,4],[3,4],[1,2]]
 */
export function gatherRows(x: tf.Tensor2D, index: Int32Array): tf.Tensor2D {
  const rows = x.shape[0];
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
    value: gatherRowsForward(args[0] as tf.Tensor2D, index),
    gradFunc: (dy: tf.Tensor) => scatterAddRowsForward(dy as tf.Tensor2D, index, rows),
  }));
  return op(x) as tf.Tensor2D;
}

/**
 * `out[index[i]] += y[i]` into `rows` zero rows; differentiable in `y`.
 *
 * @example
 * scatterAddRows(tf.tensor2d([[1, 2], [3, 4]]), Int32Array.from([1, 1]), 3); // [[0,0],[4,6],[0,0]]
 */
export function scatterAddRows(y: tf.Tensor2D, index: Int32Array, rows: number): tf.Tensor2D {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
    value: scatterAddRowsForward(args[0] as tf.Tensor2D, index, rows),
    gradFunc: (dy: tf.Tensor) => gatherRowsForward(dy as tf.Tensor2D, index),
  }));
  return op(y) as tf.Tensor2D;
}

function usesNativeKernels(): boolean {
  return tf.getBackend() === 'tensorflow';
}

function gatherRowsForward(x: tf.Tensor2D, index: Int32Array): tf.Tensor2D {
  const [rows, d] = x.shape;
  checkIndex(index, rows);
  if (usesNativeKernels()) return tf.tidy(() => tf.gather(x, tf.tensor1d(index, 'int32')));
  const src = x.dataSync() as Float32Array; // sync read: dispatch
  const out = new Float32Array(index.length * d);
  for (let i = 0; i < index.length; i++) {
    const r = index[i];
    out.set(src.subarray(r * d, r * d + d), i * d);
  }
  return tf.tensor2d(out, [index.length, d]); // (M, D)
}

function scatterAddRowsForward(y: tf.Tensor2D, index: Int32Array, rows: number): tf.Tensor2D {
  const d = y.shape[1];
  if (index.length !== y.shape[0]) throw new Error(`scatterAddRows: ${index.length} indices for ${y.shape[0]} rows`);
  checkIndex(index, rows);
  if (usesNativeKernels()) return tf.tidy(() => tf.unsortedSegmentSum(y, tf.tensor1d(index, 'int32'), rows));
  const src = y.dataSync() as Float32Array; // sync read: dispatch
  const out = new Float32Array(rows * d);
  for (let i = 0; i < index.length; i++) {
    const o = index[i] * d;
    const s = i * d;
    for (let j = 0; j < d; j++) out[o + j] += src[s + j];
  }
  return tf.tensor2d(out, [rows, d]); // (rows, D)
}

function checkIndex(index: Int32Array, rows: number): void {
  for (let i = 0; i < index.length; i++) {
    if (index[i] < 0 || index[i] >= rows) throw new Error(`row index ${index[i]} out of range [0, ${rows})`);
  }
}
