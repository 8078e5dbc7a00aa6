/**
 * Differentiable row gather and its adjoint, the row scatter-add. Dispatch moves token rows into
 * expert order and back with these two ops; each is the other's gradient.
 *
 * Why not `tf.gather`: its gradient needs the `UnsortedSegmentSum` kernel, which the `wasm`
 * backend lacks, and on `wasm`/`cpu` a gather of rows runs ~8× slower than copying the rows on
 * the host (architecture.md). Native TensorFlow has fast kernels for both, so it keeps them.
 *
 * Host work reads and writes tensors in place where the backend allows it (`readRows`,
 * `writeRows` of @moepp/backends).
 */
import * as tf from '@tensorflow/tfjs-core';
import { readRows, writeRows } from '@moepp/backends';

export { readRows, writeRows };

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

/**
 * Which implementation moves rows and runs the experts: `tf-ops` (the backend's own gather /
 * segment-sum kernels and plain tf ops — fast on native TensorFlow), `host` (host row copies and
 * the layer's fused op with a written-out backward — fast on wasm / cpu), or `auto` (tf-ops on
 * native TensorFlow, host elsewhere). Forcing one exists so the tests can check the tf-ops path,
 * which this machine cannot otherwise run, on the cpu backend.
 */
export type DispatchPath = 'auto' | 'tf-ops' | 'host';
let dispatchPath: DispatchPath = 'auto';

/**
 * @example
 * setDispatchPath('tf-ops'); // … test …; setDispatchPath('auto');
 */
export function setDispatchPath(path: DispatchPath): void {
  dispatchPath = path;
}

/** Whether row moves should use the backend's own gather / segment-sum kernels (native TensorFlow). */
export function usesNativeKernels(): boolean {
  return dispatchPath === 'tf-ops' || (dispatchPath === 'auto' && tf.getBackend() === 'tensorflow');
}

/**
 * `out[i] = x[index[i]]` without a gradient: for ops that write their own backward.
 *
 * @example
 * takeRows(tf.tensor2d([[1, 2], [3, 4]]), Int32Array.from([1])); // [[3, 4]]
 */
export function takeRows(x: tf.Tensor2D, index: Int32Array): tf.Tensor2D {
  return gatherRowsForward(x, index);
}

function gatherRowsForward(x: tf.Tensor2D, index: Int32Array): tf.Tensor2D {
  const [rows, d] = x.shape;
  checkIndex(index, rows);
  if (usesNativeKernels()) return tf.tidy(() => tf.gather(x, tf.tensor1d(index, 'int32')));
  const [out] = writeRows([[index.length, d]], ([dst]) => {
    const src = readRows(x); // sync read: dispatch
    for (let i = 0; i < index.length; i++) {
      const r = index[i];
      dst.set(src.subarray(r * d, r * d + d), i * d);
    }
  });
  return out as tf.Tensor2D; // (M, D)
}

function scatterAddRowsForward(y: tf.Tensor2D, index: Int32Array, rows: number): tf.Tensor2D {
  const d = y.shape[1];
  if (index.length !== y.shape[0]) throw new Error(`scatterAddRows: ${index.length} indices for ${y.shape[0]} rows`);
  checkIndex(index, rows);
  if (usesNativeKernels()) return tf.tidy(() => tf.unsortedSegmentSum(y, tf.tensor1d(index, 'int32'), rows));
  const [out] = writeRows([[rows, d]], ([dst]) => {
    const src = readRows(y); // sync read: dispatch
    for (let i = 0; i < index.length; i++) {
      const o = index[i] * d;
      const s = i * d;
      for (let j = 0; j < d; j++) dst[o + j] += src[s + j];
    }
  });
  return out as tf.Tensor2D; // (rows, D)
}

function checkIndex(index: Int32Array, rows: number): void {
  for (let i = 0; i < index.length; i++) {
    if (index[i] < 0 || index[i] >= rows) throw new Error(`row index ${index[i]} out of range [0, ${rows})`);
  }
}
