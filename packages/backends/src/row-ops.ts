/**
 * The host executor's row moves (@moepp/core's executors/host.ts): the weighted combine of each
 * expert's output rows into its tokens' rows, and the two loops of its backward. Slot i moves row
 * i of a per-slot array and row `index[i]` of a per-token array; its routing weight is
 * `w[weightIndex[i]]`. Rows are `d` values. Also the row loops of the token-wise experts'
 * combine (`E(x) = a(x)·x + b(x)` for every token at once) and its backward: per-row dot
 * products, per-row scaled additions and weighted sums of rows.
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
  /** out[n] = laneDot(x row n, v) for each row n (mask.length rows) whose mask[n] is not 0, else 0. */
  rowDots(x: Float32Array, v: Float32Array, mask: Float32Array, d: number, out: Float64Array): void;
  /** out row n += c[n] · v, for each row (c.length rows) whose c[n] is not 0. */
  addScaledVector(out: Float32Array, c: Float64Array, v: Float32Array, d: number): void;
  /** out row n += c[n] · (x row n), for each row (c.length rows) whose c[n] is not 0. */
  addScaledRows(out: Float32Array, c: Float64Array, x: Float32Array, d: number): void;
  /** out[n] = laneDot(a row n, b row n), for each row n (out.length rows). */
  pairDots(a: Float32Array, b: Float32Array, d: number, out: Float64Array): void;
  /**
   * out (d) += Σ_n c[n] · (x row n) over the rows (c.length) whose c[n] is not 0, each sum in
   * float64 in row order, rounded once as it is stored.
   */
  addWeightedRowSum(out: Float32Array, c: Float64Array, x: Float32Array, d: number): void;
}

/**
 * ⟨a[offset … offset + d), b[bOffset … bOffset + d)⟩ in float64, in eight lanes (lane k sums the
 * j with j mod 8 = k) combined as ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7)): an order the
 * native loop can vectorise and still match bit for bit (native/src/row_ops.h).
 */
export function laneDot(a: Float32Array, offset: number, b: Float32Array, d: number, bOffset = 0): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
  let j = 0;
  for (; j + 8 <= d; j += 8) {
    const o = offset + j;
    const q = bOffset + j;
    s0 += a[o] * b[q];
    s1 += a[o + 1] * b[q + 1];
    s2 += a[o + 2] * b[q + 2];
    s3 += a[o + 3] * b[q + 3];
    s4 += a[o + 4] * b[q + 4];
    s5 += a[o + 5] * b[q + 5];
    s6 += a[o + 6] * b[q + 6];
    s7 += a[o + 7] * b[q + 7];
  }
  // The last d mod 8 values go to lanes 0, 1, … in turn.
  const o = offset + j;
  const q = bOffset + j;
  if (j < d) s0 += a[o] * b[q];
  if (j + 1 < d) s1 += a[o + 1] * b[q + 1];
  if (j + 2 < d) s2 += a[o + 2] * b[q + 2];
  if (j + 3 < d) s3 += a[o + 3] * b[q + 3];
  if (j + 4 < d) s4 += a[o + 4] * b[q + 4];
  if (j + 5 < d) s5 += a[o + 5] * b[q + 5];
  if (j + 6 < d) s6 += a[o + 6] * b[q + 6];
  return (s0 + s1 + (s2 + s3)) + (s4 + s5 + (s6 + s7));
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
  rowDots(x, v, mask, d, out) {
    for (let n = 0; n < mask.length; n++) out[n] = mask[n] === 0 ? 0 : laneDot(x, n * d, v, d);
  },
  addScaledVector(out, c, v, d) {
    for (let n = 0; n < c.length; n++) {
      const cn = c[n];
      if (cn === 0) continue;
      const t = n * d;
      for (let j = 0; j < d; j++) out[t + j] += cn * v[j];
    }
  },
  addScaledRows(out, c, x, d) {
    for (let n = 0; n < c.length; n++) {
      const cn = c[n];
      if (cn === 0) continue;
      const t = n * d;
      for (let j = 0; j < d; j++) out[t + j] += cn * x[t + j];
    }
  },
  pairDots(a, b, d, out) {
    for (let n = 0; n < out.length; n++) out[n] = laneDot(a, n * d, b, d, n * d);
  },
  addWeightedRowSum(out, c, x, d) {
    const sum = new Float64Array(d);
    for (let n = 0; n < c.length; n++) {
      const cn = c[n];
      if (cn === 0) continue;
      const t = n * d;
      for (let j = 0; j < d; j++) sum[j] += cn * x[t + j];
    }
    for (let j = 0; j < d; j++) out[j] += sum[j];
  },
};

/** The row moves to use now: native while the `blas` kernels are registered, else JS. */
export function hostRowOps(): RowOps {
  return blasKernelsAddon() ?? jsRowOps;
}
