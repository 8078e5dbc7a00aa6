/**
 * The host executor's row moves (row-ops.ts): the JS loops against a float64 reference written
 * out here, and the addon's native loops against the JS ones bit for bit; a slot whose token or
 * weight lies outside its array is a RangeError from the addon, never a write outside it.
 */
import { describe, expect, it } from 'vitest';
import { values } from './testing/compare-backends.ts';
import { blas, describeBlas } from './testing/blas-setup.ts';
import { jsRowOps, type RowOps } from './row-ops.ts';

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

describe('row moves in JS', () => {
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
