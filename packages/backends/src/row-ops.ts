/**
 * The host executor's row moves (@moepp/core's executors/host.ts): the weighted combine of each
 * expert's output rows into its tokens' rows, and the two loops of its backward. Slot i moves row
 * i of a per-slot array and row `index[i]` of a per-token array; its routing weight is
 * `w[weightIndex[i]]`. Rows are `d` values.
 *
 * Two implementations that give the same bits: JS loops (every value computed in float64, rounded
 * once as it is stored) and the OpenBLAS addon's native loops (native/src/row_ops.h, the same
 * arithmetic in the same order, several times faster). The native ones are used while the `blas`
 * kernels are registered, the JS ones everywhere else.
 */
import { blasKernelsAddon } from './blas/blas-kernels.ts';

export interface RowOps {
  /** out[index[i]] += w[weightIndex[i]] · y[i], for each slot whose weight is not 0. */
  scatterAddWeighted(out: Float32Array, y: Float32Array, w: Float32Array, index: Int32Array, weightIndex: Int32Array, d: number): void;
  /** dst[i] = w[weightIndex[i]] · g[index[i]]. */
  gatherWeighted(dst: Float32Array, g: Float32Array, w: Float32Array, index: Int32Array, weightIndex: Int32Array, d: number): void;
  /** dx[index[i]] += dxe[i] and dW[weightIndex[i]] += ⟨y[i], g[index[i]]⟩. */
  scatterAddWithDot(dx: Float32Array, dW: Float32Array, dxe: Float32Array, y: Float32Array, g: Float32Array, index: Int32Array, weightIndex: Int32Array, d: number): void;
}

export const jsRowOps: RowOps = {
  scatterAddWeighted(out, y, w, index, weightIndex, d) {
    for (let i = 0; i < index.length; i++) {
      const wi = w[weightIndex[i]];
      if (wi === 0) continue;
      const t = index[i] * d;
      const r = i * d;
      for (let j = 0; j < d; j++) out[t + j] += wi * y[r + j];
    }
  },
  gatherWeighted(dst, g, w, index, weightIndex, d) {
    for (let i = 0; i < index.length; i++) {
      const wi = w[weightIndex[i]];
      const t = index[i] * d;
      const r = i * d;
      for (let j = 0; j < d; j++) dst[r + j] = wi * g[t + j];
    }
  },
  scatterAddWithDot(dx, dW, dxe, y, g, index, weightIndex, d) {
    for (let i = 0; i < index.length; i++) {
      const t = index[i] * d;
      const r = i * d;
      let dot = 0;
      for (let j = 0; j < d; j++) {
        dx[t + j] += dxe[r + j];
        dot += y[r + j] * g[t + j];
      }
      dW[weightIndex[i]] += dot;
    }
  },
};

/** The row moves to use now: native while the `blas` kernels are registered, else JS. */
export function hostRowOps(): RowOps {
  return blasKernelsAddon() ?? jsRowOps;
}
