/**
 * One SwiGLU expert's forward in one native call (packed-swiglu-expert.ts,
 * native/src/packed_swiglu_expert.cc): against a float64 reference across the packed kernel's
 * blocking remainders, with repeated tokens and a zero weight; bit for bit against the tf ops
 * (products on the same packs, the SwiGLU kernel, the scatter) it replaces; declining, with out
 * untouched, wherever the products would not use the packs; one-line errors for bad sizes.
 */
import { beforeAll, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { values } from '../testing/compare-backends.ts';
import { blas, describeBlas, initBlasForTests, packedCalls, packedExpertCalls } from '../testing/blas-setup.ts';
import { readRows } from '../heap-io.ts';
import { TRAINING_KERNELS } from '../training-kernels.ts';
import type { BlasAddon } from './addon.ts';
import { setBlasThreads } from './blas-kernels.ts';
import { addPackedSwiGluExpert } from './packed-swiglu-expert.ts';
import { packWeights } from './packed-weights.ts';

const addon = () => (blas as { addon: BlasAddon }).addon;

/** N tokens of D, an expert (D, I), its slots: tokens repeat, slot 2's weight is 0, and the output starts non-zero. */
function fixture(tokens: number, d: number, hidden: number, seed: number) {
  const x = tf.tensor2d(values(tokens * d, seed), [tokens, d]);
  const experts = 3;
  const wValues = values(tokens * experts, seed + 1);
  const index = Int32Array.from({ length: tokens + 2 }, (_, i) => (i * 5) % tokens);
  const weightIndex = Int32Array.from(index, (n, i) => n * experts + (i % experts));
  wValues[weightIndex[2]] = 0;
  const w = tf.tensor2d(wValues, [tokens, experts]);
  const params = {
    wGate: tf.tensor2d(values(d * hidden, seed + 2).map((v) => v / Math.sqrt(d)), [d, hidden]),
    wUp: tf.tensor2d(values(d * hidden, seed + 3).map((v) => v / Math.sqrt(d)), [d, hidden]),
    wDown: tf.tensor2d(values(hidden * d, seed + 4).map((v) => v / Math.sqrt(hidden)), [hidden, d]),
  };
  const start = values(tokens * d, seed + 5);
  const dispose = () => tf.dispose([x, w, params.wGate, params.wUp, params.wDown]);
  return { x, w, index, weightIndex, params, start, dispose };
}

/** out after the fused call (or null when it declined), from `start`. */
function fused(f: ReturnType<typeof fixture>): Float32Array | null {
  const out = Float32Array.from(f.start);
  return addPackedSwiGluExpert(out, readRows(f.x), readRows(f.w), f.index, f.weightIndex, f.params) ? out : null;
}

describeBlas('one SwiGLU expert per native call on packed weights', () => {
  beforeAll(async () => {
    await initBlasForTests(1);
  });

  it('matches a float64 reference across the blocking remainders', () => {
    // D and I: under one 16-column panel, across panels, deeper than one 256-row block; 1–13 slots.
    for (const [tokens, d, hidden] of [[1, 5, 7], [4, 16, 40], [11, 300, 33], [9, 40, 260]]) {
      const f = fixture(tokens, d, hidden, tokens + d);
      const packs = packWeights(Object.values(f.params));
      const out = fused(f)!;
      packs.dispose();
      expect(out).not.toBeNull();
      const [xs, ws, g, u, dn] = [f.x, f.w, f.params.wGate, f.params.wUp, f.params.wDown].map((t) => t.dataSync() as Float32Array);
      const ref = Float64Array.from(f.start);
      const scale = Float64Array.from(f.start, Math.abs);
      for (let i = 0; i < f.index.length; i++) {
        const wi = ws[f.weightIndex[i]];
        const row = xs.subarray(f.index[i] * d, (f.index[i] + 1) * d);
        const h = new Float64Array(hidden);
        const hScale = new Float64Array(hidden);
        for (let j = 0; j < hidden; j++) {
          let a = 0, b = 0, sa = 0, sb = 0;
          for (let p = 0; p < d; p++) {
            a += row[p] * g[p * hidden + j];
            b += row[p] * u[p * hidden + j];
            sa += Math.abs(row[p] * g[p * hidden + j]);
            sb += Math.abs(row[p] * u[p * hidden + j]);
          }
          const s = 1 / (1 + Math.exp(-a));
          h[j] = a * s * b;
          hScale[j] = sa * sb + Math.abs(a * s) * sb;
        }
        for (let c = 0; c < d; c++) {
          let y = 0, sy = 0;
          for (let j = 0; j < hidden; j++) {
            y += h[j] * dn[j * d + c];
            sy += hScale[j] * Math.abs(dn[j * d + c]);
          }
          ref[f.index[i] * d + c] += wi * y;
          scale[f.index[i] * d + c] += Math.abs(wi) * sy;
        }
      }
      for (let i = 0; i < ref.length; i++) {
        if (!(Math.abs(out[i] - ref[i]) <= 1e-5 * scale[i] + 1e-30)) expect.fail(`${tokens}x${d}x${hidden}: out[${i}] = ${out[i]}, float64 ${ref[i]} (scale ${scale[i]})`);
      }
      f.dispose();
    }
  });

  it('gives the bits of the tf ops it replaces, on the same packs', () => {
    // The second is larger than the scratch kept between calls (4 Mi floats), so it takes its own.
    for (const [tokens, d, hidden] of [[13, 300, 70], [800, 64, 2700]]) expectTfOpsBits(tokens, d, hidden);
  });

  function expectTfOpsBits(tokens: number, d: number, hidden: number): void {
    const f = fixture(tokens, d, hidden, 7);
    const packs = packWeights(Object.values(f.params));
    const expertCalls = packedExpertCalls.count;
    const products = packedCalls.count;
    const out = fused(f)!;
    expect(packedExpertCalls.count).toBe(expertCalls + 1);
    // The route of the host executor without this call: gathered rows, three products on the packs, the SwiGLU kernel, the scatter.
    const y = tf.tidy(() => {
      const rows = tf.gather(f.x, Array.from(f.index)) as tf.Tensor2D;
      const gate = tf.matMul(rows, f.params.wGate);
      const up = tf.matMul(rows, f.params.wUp);
      const h = tf.engine().runKernel(TRAINING_KERNELS.swiGlu, { gate, up }) as tf.Tensor2D;
      return tf.matMul(h, f.params.wDown);
    });
    expect(packedCalls.count).toBe(products + 3);
    const viaOps = Float32Array.from(f.start);
    addon().scatterAddWeighted(viaOps, y.dataSync() as Float32Array, f.w.dataSync() as Float32Array, f.index, f.weightIndex, d);
    const firstDifference = out.findIndex((v, i) => !Object.is(v, viaOps[i]));
    expect(firstDifference, `${tokens}x${d}x${hidden}: out[${firstDifference}] = ${out[firstDifference]}, tf ops ${viaOps[firstDifference]}`).toBe(-1);
    tf.dispose(y);
    packs.dispose();
    f.dispose();
  }

  it('declines, leaving out as it was, wherever the products would not use the packs', () => {
    const f = fixture(6, 20, 24, 3);
    expect(fused(f)).toBeNull(); // nothing packed
    const some = packWeights([f.params.wGate, f.params.wUp]);
    expect(fused(f)).toBeNull(); // W_down not packed
    const all = packWeights([f.params.wDown]);
    expect(fused(f)).not.toBeNull();
    setBlasThreads(addon(), 2);
    try {
      expect(fused(f)).toBeNull(); // OpenBLAS on 2 threads: packs step aside
    } finally {
      setBlasThreads(addon(), 1);
    }
    all.dispose();
    expect(fused(f)).toBeNull(); // disposed
    some.dispose();
    // Packs whose shapes do not make a (D, I), (D, I), (I, D) expert.
    const swapped = { wGate: f.params.wGate, wUp: f.params.wUp, wDown: f.params.wGate };
    const wrong = packWeights([f.params.wGate, f.params.wUp]);
    const out = Float32Array.from(f.start);
    expect(addPackedSwiGluExpert(out, readRows(f.x), readRows(f.w), f.index, f.weightIndex, swapped)).toBe(false);
    expect(out).toEqual(f.start);
    wrong.dispose();
    f.dispose();
  });

  it('rejects bad sizes with one line', () => {
    const d = 16, hidden = 16;
    const x = new Float32Array(4 * d);
    const w = new Float32Array(4);
    const p = new Float32Array(d * hidden);
    const call = (over: Partial<{ index: Int32Array; weightIndex: Int32Array; out: Float32Array; down: Float32Array }>) => () =>
      addon().packedSwiGluExpert(x, over.index ?? Int32Array.of(0, 3), over.weightIndex ?? Int32Array.of(0, 3), w, p, p, over.down ?? p, d, hidden, over.out ?? new Float32Array(4 * d));
    expect(call({})).not.toThrow();
    expect(call({ index: Int32Array.of(0, 4) })).toThrow(/^moepp_blas: packedSwiGluExpert: a slot's token lies outside the per-token array$/);
    expect(call({ weightIndex: Int32Array.of(0, 4) })).toThrow(/a slot's weight lies outside the weights/);
    expect(call({ weightIndex: Int32Array.of(0) })).toThrow(/index and weightIndex must have the same length/);
    expect(call({ out: new Float32Array(3 * d) })).toThrow(/out must have x's size/);
    expect(call({ down: new Float32Array(d * hidden - 1) })).toThrow(/down must be a packed \(hidden, d\) weight/);
  });
});
