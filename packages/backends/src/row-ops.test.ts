/**
 * The host executor's row moves (row-ops.ts): the JS loops against a float64 reference written
 * out here, and the addon's native loops against the JS ones bit for bit; a slot whose token or
 * weight lies outside its array is a RangeError from the addon, never a write outside it. The
 * token-wise experts' row loops the same way, at every length remainder of laneDot's eight lanes.
 */
import { describe, expect, it } from 'vitest';
import { values } from './testing/compare-backends.ts';
import { blas, describeBlas } from './testing/blas-setup.ts';
import { jsRowOps, laneDot, type RowOps } from './row-ops.ts';

const d = 13;
const tokens = 40;
const experts = 6;
const count = 57;
// Slots in no particular order, tokens repeating (a token reaches several experts), some weights 0.
const index = Int32Array.from({ length: count }, (_, i) => (i * 17) % tokens);
const weightIndex = Int32Array.from({ length: count }, (_, i) => index[i] * experts + (i % experts));
const w = values(tokens * experts, 1).map((x, i) => (i % 5 === 0 ? 0 : x));
const y = values(count * d, 2);
const g = values(tokens * d, 3);

function runAll(ops: RowOps) {
  const out = values(tokens * d, 4);
  ops.scatterAddWeighted(out, y, w, index, weightIndex, d);
  const dst = new Float32Array(count * d);
  ops.gatherWeighted(dst, g, w, index, weightIndex, d);
  const dx = values(tokens * d, 5);
  const dW = values(tokens * experts, 6);
  ops.scatterAddWithDot(dx, dW, dst, y, g, index, weightIndex, d);
  return { out, dst, dx, dW };
}

/** The token-wise row loops on `rows` rows of `width` values, some rows masked (weight 0). */
function runTokenwise(ops: RowOps, rows: number, width: number) {
  const x = values(rows * width, 7);
  const v = values(width, 8);
  const mask = values(rows, 9).map((m, n) => (n % 3 === 1 ? 0 : m));
  const dots = new Float64Array(rows).fill(Number.NaN);
  ops.rowDots(x, v, mask, width, dots);
  const c = Float64Array.from(dots, (l, n) => (n % 4 === 2 ? 0 : l / 3));
  const out = values(rows * width, 10);
  ops.addScaledVector(out, c, v, width);
  ops.addScaledRows(out, c, x, width);
  const g = values(rows * width, 11);
  const pairs = new Float64Array(rows).fill(Number.NaN);
  ops.pairDots(x, g, width, pairs);
  const sum = values(width, 12);
  ops.addWeightedRowSum(sum, c, g, width);
  return { x, v, mask, dots, c, out, g, pairs, sum };
}

describe('row moves in JS', () => {
  it('token-wise loops equal the float64 reference, at every remainder of the eight lanes', () => {
    for (const width of [1, 7, 8, 9, 15, 16, 23, 768]) {
      const got = runTokenwise(jsRowOps, 11, width);
      const out = Array.from(values(11 * width, 10));
      for (let n = 0; n < 11; n++) {
        let dot = 0;
        let scale = 0;
        for (let j = 0; j < width; j++) {
          dot += got.x[n * width + j] * got.v[j];
          scale += Math.abs(got.x[n * width + j] * got.v[j]);
        }
        if (got.mask[n] === 0) expect(got.dots[n]).toBe(0);
        else expect(Math.abs(got.dots[n] - dot), `width ${width} row ${n}`).toBeLessThanOrEqual(1e-14 * scale);
        if (got.mask[n] !== 0) expect(laneDot(got.x, n * width, got.v, width)).toBe(got.dots[n]);
        for (let j = 0; j < width; j++) out[n * width + j] += got.c[n] * got.v[j] + got.c[n] * got.x[n * width + j];
      }
      const worst = out.reduce((m, r, i) => Math.max(m, Math.abs(got.out[i] - r)), 0);
      expect(worst, `width ${width}`).toBeLessThan(1e-6);
      const sum = new Array<number>(width).fill(0); // Σ_n c[n]·g row n, added to the start values once
      for (let n = 0; n < 11; n++) {
        let pair = 0;
        let scale = 0;
        for (let j = 0; j < width; j++) {
          pair += got.x[n * width + j] * got.g[n * width + j];
          scale += Math.abs(got.x[n * width + j] * got.g[n * width + j]);
          sum[j] += got.c[n] * got.g[n * width + j];
        }
        expect(Math.abs(got.pairs[n] - pair), `pairDots width ${width} row ${n}`).toBeLessThanOrEqual(1e-14 * scale);
        expect(laneDot(got.x, n * width, got.g, width, n * width)).toBe(got.pairs[n]);
      }
      const start = values(width, 12);
      for (let j = 0; j < width; j++) expect(got.sum[j], `addWeightedRowSum width ${width} column ${j}`).toBe(Math.fround(start[j] + sum[j]));
    }
  });

  it('equal the float64 reference', () => {
    const got = runAll(jsRowOps);
    const out = Array.from(values(tokens * d, 4));
    const dx = Array.from(values(tokens * d, 5));
    const dW = Array.from(values(tokens * experts, 6));
    for (let i = 0; i < count; i++) {
      const wi = w[weightIndex[i]];
      let dot = 0;
      for (let j = 0; j < d; j++) {
        out[index[i] * d + j] += wi * y[i * d + j];
        const dst = wi * g[index[i] * d + j];
        expect(Math.abs(got.dst[i * d + j] - dst)).toBeLessThan(1e-7);
        dx[index[i] * d + j] += Math.fround(dst);
        dot += y[i * d + j] * g[index[i] * d + j];
      }
      dW[weightIndex[i]] += dot;
    }
    const worst = (a: ArrayLike<number>, b: number[]) => b.reduce((m, v, i) => Math.max(m, Math.abs(a[i] - v)), 0);
    expect(worst(got.out, out)).toBeLessThan(1e-6);
    expect(worst(got.dx, dx)).toBeLessThan(1e-6);
    expect(worst(got.dW, dW)).toBeLessThan(1e-6);
  });
});

describeBlas('row moves in the addon', () => {
  it('give the same bits as the JS loops', () => {
    if (!blas.ok) return;
    const native = runAll(blas.addon);
    const js = runAll(jsRowOps);
    for (const k of ['out', 'dst', 'dx', 'dW'] as const) expect(Array.from(native[k]), k).toEqual(Array.from(js[k]));
  });

  it('token-wise loops give the same bits as the JS loops', () => {
    if (!blas.ok) return;
    for (const width of [1, 7, 8, 9, 15, 16, 23, 768]) {
      const native = runTokenwise(blas.addon, 11, width);
      const js = runTokenwise(jsRowOps, 11, width);
      for (const k of ['dots', 'out', 'pairs', 'sum'] as const) expect(Array.from(native[k]), `${k}, width ${width}`).toEqual(Array.from(js[k]));
    }
  });

  it('token-wise loops reject arrays of the wrong size in one line', () => {
    if (!blas.ok) return;
    const { addon } = blas;
    const x = new Float32Array(12);
    expect(() => addon.rowDots(x, new Float32Array(4), new Float32Array(3), 4, new Float64Array(2))).toThrow(/^moepp_blas: rowDots: out must hold one value per mask entry$/);
    expect(() => addon.rowDots(x, new Float32Array(3), new Float32Array(3), 4, new Float64Array(3))).toThrow(/rowDots: v must hold d values/);
    expect(() => addon.rowDots(x, new Float32Array(4), new Float32Array(2), 4, new Float64Array(2))).toThrow(/rowDots: x must hold one row of d values per mask entry/);
    expect(() => addon.addScaledVector(x, new Float64Array(3), new Float32Array(5), 4)).toThrow(/addScaledVector: v must hold d values/);
    expect(() => addon.addScaledRows(x, new Float64Array(2), x, 4)).toThrow(/addScaledRows: out must hold one row of d values per entry of c/);
    expect(() => addon.addScaledRows(x, new Float64Array(3), new Float32Array(11), 4)).toThrow(/addScaledRows: x must have out's size/);
    expect(() => addon.addScaledRows(x, new Float32Array(3) as unknown as Float64Array, x, 4)).toThrow(/addScaledRows takes \(out: Float32Array, c: Float64Array, x: Float32Array, d\)/);
    expect(() => addon.pairDots(x, new Float32Array(8), 4, new Float64Array(3))).toThrow(/^moepp_blas: pairDots: a and b must hold one row of d values per entry of out$/);
    expect(() => addon.pairDots(x, x, 4, new Float32Array(3) as unknown as Float64Array)).toThrow(/pairDots takes \(a, b: Float32Array, d, out: Float64Array\)/);
    expect(() => addon.addWeightedRowSum(new Float32Array(3), new Float64Array(3), x, 4)).toThrow(/^moepp_blas: addWeightedRowSum: out must hold d values$/);
    expect(() => addon.addWeightedRowSum(new Float32Array(4), new Float64Array(2), x, 4)).toThrow(/addWeightedRowSum: x must hold one row of d values per entry of c/);
  });

  it('reject a slot outside its arrays and arrays of the wrong size, writing nothing', () => {
    if (!blas.ok) return;
    const { addon } = blas;
    const out = new Float32Array(tokens * d);
    const badToken = Int32Array.from(index, (t, i) => (i === 3 ? tokens : t));
    expect(() => addon.scatterAddWeighted(out, y, w, badToken, weightIndex, d)).toThrow(/scatterAddWeighted: a slot's token lies outside the per-token array/);
    expect(out.every((v) => v === 0)).toBe(true);
    const badWeight = Int32Array.from(weightIndex, (e, i) => (i === 0 ? -1 : e));
    expect(() => addon.gatherWeighted(new Float32Array(count * d), g, w, index, badWeight, d)).toThrow(/a slot's weight lies outside the weights/);
    expect(() => addon.scatterAddWithDot(out, w, y.subarray(d), y, g, index, weightIndex, d)).toThrow(/a per-slot array does not hold count · d values/);
    expect(() => addon.scatterAddWeighted(out, y, w, index, weightIndex.subarray(1), d)).toThrow(/index and weightIndex must have the same length/);
  });
});
