/**
 * What the wasm kernel patches (and the BLAS GEMM kernels) share: tfjs's kernel types, a few
 * shape helpers, and the matMul shape rules tfjs itself applies (kept so errors read the same).
 */
import * as tf from '@tensorflow/tfjs-core';

export type TensorInfo = tf.TensorInfo;
export type KernelFunc = tf.KernelConfig['kernelFunc'];
export type KernelArgs = Parameters<KernelFunc>[0];

export const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** The same data under another shape (no copy): what the wasm reshape kernel returns. */
export const withShape = (info: TensorInfo, shape: number[]): TensorInfo => ({ dataId: info.dataId, shape, dtype: info.dtype });

/** Dtypes whose values sit on the wasm heap as plain arrays (what the host-side kernels handle). */
export const heapDtype = (dtype: string): boolean => dtype === 'float32' || dtype === 'int32' || dtype === 'bool';

/** Flat index into a (broadcast) batch of shape `inBatch` for flat output batch index `i`. */
export function broadcastBatchIndex(i: number, outBatch: number[], inBatch: number[]): number {
  let index = 0;
  let stride = 1;
  let rest = i;
  // Walk the output batch axes from the innermost; `inBatch` is right-aligned against them.
  for (let axis = outBatch.length - 1; axis >= 0; axis--) {
    const coord = rest % outBatch[axis];
    rest = Math.floor(rest / outBatch[axis]);
    const inAxis = axis - (outBatch.length - inBatch.length);
    if (inAxis < 0) continue;
    const dim = inBatch[inAxis];
    if (dim !== 1) index += coord * stride;
    stride *= dim;
  }
  return index;
}

export interface MatMulShapes {
  outBatch: number[];
  m: number;
  k: number;
  n: number;
}

/** Shapes of `a·b` after the transposes, with tfjs's own error for mismatched inner sizes. */
export function matMulShapes(a: TensorInfo, b: TensorInfo, transposeA: boolean, transposeB: boolean): MatMulShapes {
  const ra = a.shape.length;
  const rb = b.shape.length;
  const k = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
  const kB = transposeB ? b.shape[rb - 1] : b.shape[rb - 2];
  const m = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
  const n = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
  tf.util.assert(
    k === kB,
    () => `Error in matMul: inner shapes (${k}) and (${kB}) of Tensors with shapes ${a.shape} and ${b.shape} and transposeA=${transposeA} and transposeB=${transposeB} must match.`,
  );
  const outBatch = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  return { outBatch, m, k, n };
}
