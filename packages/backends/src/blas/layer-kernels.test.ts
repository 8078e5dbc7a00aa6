/**
 * The `blas` fused layer kernels (layer-kernels.ts) against float64 references written out here:
 * RMSNorm, SwiGLU and causal attention with RoPE, each forward against the formula and each
 * backward against central differences of that float64 forward (and, for attention at a longer
 * sequence, against tfjs's own gradient of the same attention in tf ops on `cpu`). Bad input is
 * an error naming the problem.
 */
import { beforeAll, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { values } from '../testing/compare-backends.ts';
import { describeBlas, initBlasForTests } from '../testing/blas-setup.ts';
import { TRAINING_KERNELS } from '../training-kernels.ts';

const run = (name: string, inputs: tf.NamedTensorMap, attrs: tf.NamedAttrMap = {}) => tf.engine().runKernel(name, inputs, attrs) as tf.Tensor | tf.Tensor[];

/** max |a − b| over max(|b|, floor): the error relative to the reference's scale. */
function relativeError(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-30): number {
  expect(a.length).toBe(b.length);
  let err = 0;
  let scale = floor;
  for (let i = 0; i < b.length; i++) {
    err = Math.max(err, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return err / scale;
}

/** ∂/∂x_i of Σ f(x)·w by central differences, in float64. */
function numericGradient(f: (x: Float64Array) => Float64Array, x: Float64Array, w: ArrayLike<number>, h = 1e-5): Float64Array {
  const loss = (y: Float64Array) => y.reduce((s, v, i) => s + v * w[i], 0);
  const grad = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const saved = x[i];
    x[i] = saved + h;
    const up = loss(f(x));
    x[i] = saved - h;
    const down = loss(f(x));
    x[i] = saved;
    grad[i] = (up - down) / (2 * h);
  }
  return grad;
}

/** Float64 RMSNorm of x (rows, d). */
function rmsNormRef(x: ArrayLike<number>, gain: ArrayLike<number>, rows: number, d: number, eps: number): Float64Array {
  const y = new Float64Array(rows * d);
  for (let n = 0; n < rows; n++) {
    let sq = 0;
    for (let j = 0; j < d; j++) sq += x[n * d + j] ** 2;
    const r = 1 / Math.sqrt(sq / d + eps);
    for (let j = 0; j < d; j++) y[n * d + j] = x[n * d + j] * r * gain[j];
  }
  return y;
}

interface Dims {
  batch: number;
  seqLen: number;
  heads: number;
  headDim: number;
}

/** Float64 RoPE tables (T, hd) as rope.ts builds them. */
function ropeTables(seqLen: number, headDim: number): { cos: Float32Array; sin: Float32Array } {
  const cos = new Float32Array(seqLen * headDim);
  const sin = new Float32Array(seqLen * headDim);
  for (let t = 0; t < seqLen; t++) {
    for (let i = 0; i < headDim / 2; i++) {
      const angle = t * 10000 ** (-2 * i / headDim);
      for (const j of [i, i + headDim / 2]) [cos[t * headDim + j], sin[t * headDim + j]] = [Math.cos(angle), Math.sin(angle)];
    }
  }
  return { cos, sin };
}

/** Float64 causal attention with RoPE on (B·T, D) q, k, v: out, probs, qRot, kRot. */
function attentionRef(q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>, cos: ArrayLike<number>, sin: ArrayLike<number>, s: Dims) {
  const { batch: B, seqLen: T, heads: H, headDim: hd } = s;
  const D = H * hd;
  const half = hd / 2;
  const rope = (x: ArrayLike<number>) => {
    const y = new Float64Array(B * T * D);
    for (let n = 0; n < B * T; n++) {
      const t = n % T;
      for (let h = 0; h < H; h++) {
        for (let j = 0; j < hd; j++) {
          const at = n * D + h * hd;
          const rotated = j < half ? -x[at + j + half] : x[at + j - half];
          y[at + j] = x[at + j] * cos[t * hd + j] + rotated * sin[t * hd + j];
        }
      }
    }
    return y;
  };
  const [qRot, kRot] = [rope(q), rope(k)];
  const out = new Float64Array(B * T * D);
  const probs = new Float64Array(B * H * T * T);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < T; i++) {
        const scores: number[] = [];
        for (let j = 0; j <= i; j++) {
          let dot = 0;
          for (let c = 0; c < hd; c++) dot += qRot[(b * T + i) * D + h * hd + c] * kRot[(b * T + j) * D + h * hd + c];
          scores.push(dot / Math.sqrt(hd));
        }
        const m = Math.max(...scores);
        const e = scores.map((x) => Math.exp(x - m));
        const sum = e.reduce((a, x) => a + x, 0);
        for (let j = 0; j <= i; j++) {
          const p = e[j] / sum;
          probs[((b * H + h) * T + i) * T + j] = p;
          for (let c = 0; c < hd; c++) out[(b * T + i) * D + h * hd + c] += p * v[(b * T + j) * D + h * hd + c];
        }
      }
    }
  }
  return { out, probs, qRot, kRot };
}

/** The same attention in tf ops (heads split by reshape/transpose, RoPE by slices), for tf.grads on cpu. */
function attentionTfOps(q: tf.Tensor2D, k: tf.Tensor2D, v: tf.Tensor2D, cos: tf.Tensor2D, sin: tf.Tensor2D, s: Dims): tf.Tensor2D {
  const { batch: B, seqLen: T, heads: H, headDim: hd } = s;
  const heads = (x: tf.Tensor2D) => tf.transpose(tf.reshape(x, [B, T, H, hd]), [0, 2, 1, 3]) as tf.Tensor4D; // (B, H, T, hd)
  const rope = (x: tf.Tensor4D) => {
    const [x1, x2] = tf.split(x, 2, 3);
    return tf.add(tf.mul(x, cos), tf.mul(tf.concat([tf.neg(x2), x1], 3), sin)) as tf.Tensor4D;
  };
  const mask = tf.tensor2d(Float32Array.from({ length: T * T }, (_, n) => (n % T > Math.floor(n / T) ? -1e9 : 0)), [T, T]);
  const p = tf.softmax(tf.add(tf.mul(tf.matMul(rope(heads(q)), rope(heads(k)), false, true), 1 / Math.sqrt(hd)), mask));
  return tf.reshape(tf.transpose(tf.matMul(p, heads(v)), [0, 2, 1, 3]), [B * T, H * hd]) as tf.Tensor2D;
}

function attentionInputs(s: Dims, seed: number) {
  const n = s.batch * s.seqLen * s.heads * s.headDim;
  const [q, k, v] = [0, 1, 2].map((i) => values(n, seed + i).map((x) => 2 * x));
  return { q, k, v, ...ropeTables(s.seqLen, s.headDim) };
}

function runAttention(inputs: ReturnType<typeof attentionInputs>, s: Dims) {
  const D = s.heads * s.headDim;
  const t = {
    q: tf.tensor2d(inputs.q, [s.batch * s.seqLen, D]),
    k: tf.tensor2d(inputs.k, [s.batch * s.seqLen, D]),
    v: tf.tensor2d(inputs.v, [s.batch * s.seqLen, D]),
    cos: tf.tensor2d(inputs.cos, [s.seqLen, s.headDim]),
    sin: tf.tensor2d(inputs.sin, [s.seqLen, s.headDim]),
  };
  const attrs = { batch: s.batch, seqLen: s.seqLen, heads: s.heads };
  const [out, probs, qRot, kRot] = run(TRAINING_KERNELS.causalAttention, t, attrs) as tf.Tensor[];
  return { t, attrs, out, probs, qRot, kRot };
}

describeBlas('blas fused layer kernels', () => {
  beforeAll(async () => {
    await initBlasForTests(1);
  });

  it('RMSNorm: y and rstd equal the float64 formula; dx and dgain equal central differences', () => {
    for (const [rows, d, eps] of [[5, 37, 1e-6], [300, 256, 1e-5]] as const) {
      const x = values(rows * d, 1).map((v) => v * 3);
      const gain = values(d, 2).map((v) => 1 + v);
      const dy = values(rows * d, 3);
      const [tx, tg, tdy] = [tf.tensor2d(x, [rows, d]), tf.tensor1d(gain), tf.tensor2d(dy, [rows, d])];
      const [y, rstd] = run(TRAINING_KERNELS.rmsNorm, { x: tx, gain: tg }, { eps }) as tf.Tensor[];
      expect(y.shape).toEqual([rows, d]);
      expect(relativeError(y.dataSync(), rmsNormRef(x, gain, rows, d, eps))).toBeLessThan(1e-6);
      for (let n = 0; n < rows; n++) {
        const ms = Array.from(x.subarray(n * d, (n + 1) * d)).reduce((a, v) => a + v * v, 0) / d;
        expect(Math.abs(rstd.dataSync()[n] * Math.sqrt(ms + eps) - 1), `rstd row ${n}`).toBeLessThan(1e-6);
      }
      const [dx, dgain] = run(TRAINING_KERNELS.rmsNormGrad, { x: tx, gain: tg, rstd, dy: tdy }) as tf.Tensor[];
      if (rows <= 5) {
        const x64 = Float64Array.from(x);
        const g64 = Float64Array.from(gain);
        expect(relativeError(dx.dataSync(), numericGradient((xx) => rmsNormRef(xx, g64, rows, d, eps), x64, dy))).toBeLessThan(1e-5);
        expect(relativeError(dgain.dataSync(), numericGradient((gg) => rmsNormRef(x64, gg, rows, d, eps), g64, dy))).toBeLessThan(1e-5);
      } else {
        // dgain = Σ_rows dy · y / gain: the float64 forward's own factor.
        const yRef = rmsNormRef(x, new Float64Array(d).fill(1), rows, d, eps);
        const ref = new Float64Array(d);
        for (let n = 0; n < rows; n++) for (let j = 0; j < d; j++) ref[j] += dy[n * d + j] * yRef[n * d + j];
        expect(relativeError(dgain.dataSync(), ref)).toBeLessThan(1e-5);
      }
      tf.dispose([tx, tg, tdy, y, rstd, dx, dgain]);
    }
  });

  it('RMSNorm rejects input of the wrong rank, dtype or width', () => {
    tf.tidy(() => {
      const x = tf.zeros([2, 4]);
      expect(() => run(TRAINING_KERNELS.rmsNorm, { x: tf.zeros([8]), gain: tf.ones([4]) }, { eps: 1e-6 })).toThrow(/MoeppRmsNorm: x must be \(N, D\), got shape \[8\]/);
      expect(() => run(TRAINING_KERNELS.rmsNorm, { x, gain: tf.ones([3]) }, { eps: 1e-6 })).toThrow(/MoeppRmsNorm: gain must have shape \[4\], got \[3\]/);
      expect(() => run(TRAINING_KERNELS.rmsNorm, { x: tf.zeros([2, 4], 'int32'), gain: tf.ones([4]) }, { eps: 1e-6 })).toThrow(/x must be float32, got int32/);
      expect(() => run(TRAINING_KERNELS.rmsNormGrad, { x, gain: tf.ones([4]), rstd: tf.ones([3]), dy: x })).toThrow(/MoeppRmsNormGrad: rstd must have shape \[2\], got \[3\]/);
    });
  });

  it('SwiGLU: h, dgate and dup equal the float64 formula and central differences, across block edges and at saturated gates', () => {
    const n = 3001; // crosses the native loop's 1024-value blocks
    const gate = values(n, 5).map((v) => v * 8);
    gate.set([100, -100, 1e4, -1e4, 0], 0); // σ saturates to 1 and to 0
    const up = values(n, 6);
    const dh = values(n, 7);
    const swiglu = (g: number, u: number) => (g / (1 + Math.exp(-g))) * u;
    const [tg, tu, tdh] = [tf.tensor2d(gate, [1, n]), tf.tensor2d(up, [1, n]), tf.tensor2d(dh, [1, n])];
    const h = run(TRAINING_KERNELS.swiGlu, { gate: tg, up: tu }) as tf.Tensor;
    const [h2, dgate, dup] = run(TRAINING_KERNELS.swiGluGrad, { gate: tg, up: tu, dh: tdh }) as tf.Tensor[];
    const [hd, h2d, dgd, dud] = [h.dataSync(), h2.dataSync(), dgate.dataSync(), dup.dataSync()];
    for (let i = 0; i < n; i++) {
      const [g, u, e] = [gate[i], up[i], 1e-4 * Math.max(1, Math.abs(gate[i]))];
      const ref = swiglu(g, u);
      expect(Math.abs(hd[i] - ref), `h[${i}]`).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(ref)));
      expect(h2d[i], `h of the backward [${i}]`).toBe(hd[i]);
      const dgRef = (dh[i] * (swiglu(g + e, u) - swiglu(g - e, u))) / (2 * e);
      expect(Math.abs(dgd[i] - dgRef), `dgate[${i}]`).toBeLessThan(1e-5 * Math.max(1, Math.abs(dgRef)));
      expect(Math.abs(dud[i] - dh[i] * (g / (1 + Math.exp(-g)))), `dup[${i}]`).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(g)));
      expect(Number.isFinite(hd[i]) && Number.isFinite(dgd[i])).toBe(true);
    }
    expect(() => run(TRAINING_KERNELS.swiGlu, { gate: tg, up: tf.zeros([1, n - 1]) })).toThrow(/MoeppSwiGlu: up must have shape \[1,3001\], got \[1,3000\]/);
    tf.dispose([tg, tu, tdh, h, h2, dgate, dup]);
  });

  it('attention: out, probs and the rotated q, k equal the float64 forward; probs are exact zeros above the diagonal', () => {
    for (const s of [{ batch: 2, seqLen: 6, heads: 3, headDim: 4 }, { batch: 1, seqLen: 70, heads: 2, headDim: 16 }]) {
      const inputs = attentionInputs(s, 10);
      const ref = attentionRef(inputs.q, inputs.k, inputs.v, inputs.cos, inputs.sin, s);
      const r = runAttention(inputs, s);
      expect(r.probs.shape).toEqual([s.batch, s.heads, s.seqLen, s.seqLen]);
      expect(relativeError(r.out.dataSync(), ref.out)).toBeLessThan(2e-6);
      expect(relativeError(r.qRot.dataSync(), ref.qRot)).toBeLessThan(1e-6);
      expect(relativeError(r.kRot.dataSync(), ref.kRot)).toBeLessThan(1e-6);
      const p = r.probs.dataSync();
      expect(relativeError(p, ref.probs)).toBeLessThan(2e-6);
      for (let i = 0; i < p.length; i++) if (ref.probs[i] === 0) expect(p[i], `probs[${i}] above the diagonal`).toBe(0);
      tf.dispose([...Object.values(r.t), r.out, r.probs, r.qRot, r.kRot]);
    }
  });

  it('attention backward: dq, dk, dv equal central differences of the float64 forward', () => {
    const s = { batch: 2, seqLen: 5, heads: 2, headDim: 4 };
    const inputs = attentionInputs(s, 20);
    const dOut = values(inputs.q.length, 23);
    const r = runAttention(inputs, s);
    const tdOut = tf.tensor2d(dOut, r.out.shape as [number, number]);
    const grads = run(TRAINING_KERNELS.causalAttentionGrad, { qRot: r.qRot, kRot: r.kRot, v: r.t.v, probs: r.probs, dOut: tdOut, cos: r.t.cos, sin: r.t.sin }, r.attrs) as tf.Tensor[];
    const x = { q: Float64Array.from(inputs.q), k: Float64Array.from(inputs.k), v: Float64Array.from(inputs.v) };
    (['q', 'k', 'v'] as const).forEach((name, i) => {
      const f = (changed: Float64Array) => attentionRef(...(['q', 'k', 'v'] as const).map((m) => (m === name ? changed : x[m])) as [Float64Array, Float64Array, Float64Array], inputs.cos, inputs.sin, s).out;
      expect(relativeError(grads[i].dataSync(), numericGradient(f, x[name], dOut)), `d${name}`).toBeLessThan(1e-5);
    });
    tf.dispose([...Object.values(r.t), r.out, r.probs, r.qRot, r.kRot, tdOut, ...grads]);
  });

  it('attention backward at 70 positions equals tfjs\'s gradient of the tf-ops attention on cpu', () => {
    const s = { batch: 2, seqLen: 70, heads: 2, headDim: 16 };
    const inputs = attentionInputs(s, 30);
    const dOut = values(inputs.q.length, 33);
    const D = s.heads * s.headDim;
    tf.setBackend('cpu');
    const reference = tf.tidy(() => {
      const [q, k, v] = [inputs.q, inputs.k, inputs.v].map((a) => tf.tensor2d(a, [s.batch * s.seqLen, D]));
      const [cos, sin] = [inputs.cos, inputs.sin].map((a) => tf.tensor2d(a, [s.seqLen, s.headDim]));
      const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => attentionTfOps(a as tf.Tensor2D, b as tf.Tensor2D, c as tf.Tensor2D, cos, sin, s);
      return tf.grads(f)([q, k, v], tf.tensor2d(dOut, [s.batch * s.seqLen, D])).map((g) => g.dataSync().slice());
    });
    tf.setBackend('wasm');
    const r = runAttention(inputs, s);
    const tdOut = tf.tensor2d(dOut, r.out.shape as [number, number]);
    const grads = run(TRAINING_KERNELS.causalAttentionGrad, { qRot: r.qRot, kRot: r.kRot, v: r.t.v, probs: r.probs, dOut: tdOut, cos: r.t.cos, sin: r.t.sin }, r.attrs) as tf.Tensor[];
    grads.forEach((g, i) => expect(relativeError(g.dataSync(), reference[i]), ['dq', 'dk', 'dv'][i]).toBeLessThan(1e-5));
    tf.dispose([...Object.values(r.t), r.out, r.probs, r.qRot, r.kRot, tdOut, ...grads]);
  });

  it('attention rejects an odd head width, rows that are not batch · seqLen, RoPE tables of the wrong size and bad attrs', () => {
    tf.tidy(() => {
      const q = tf.zeros([6, 8]);
      const table = tf.zeros([3, 4]);
      const inputs = { q, k: q, v: q, cos: table, sin: table };
      // A valid call (hd = 2), so that the failures below are the checks' and not the setup's.
      expect(() => run(TRAINING_KERNELS.causalAttention, { ...inputs, cos: tf.zeros([3, 2]), sin: tf.zeros([3, 2]) }, { batch: 2, seqLen: 3, heads: 4 })).not.toThrow();
      expect(() => run(TRAINING_KERNELS.causalAttention, { q: tf.zeros([6, 9]), k: tf.zeros([6, 9]), v: tf.zeros([6, 9]), cos: tf.zeros([3, 3]), sin: tf.zeros([3, 3]) }, { batch: 2, seqLen: 3, heads: 3 })).toThrow(/MoeppCausalAttention: 9 columns over 3 heads must give an even head width, got 3/);
      expect(() => run(TRAINING_KERNELS.causalAttention, inputs, { batch: 3, seqLen: 3, heads: 2 })).toThrow(/MoeppCausalAttention: q has 6 rows, batch · seqLen is 9/);
      expect(() => run(TRAINING_KERNELS.causalAttention, { ...inputs, cos: tf.zeros([4, 4]) }, { batch: 2, seqLen: 3, heads: 2 })).toThrow(/MoeppCausalAttention: cos must have shape \[3,4\], got \[4,4\]/);
      expect(() => run(TRAINING_KERNELS.causalAttention, { ...inputs, k: tf.zeros([6, 4]) }, { batch: 2, seqLen: 3, heads: 2 })).toThrow(/MoeppCausalAttention: k must have shape \[6,8\], got \[6,4\]/);
      expect(() => run(TRAINING_KERNELS.causalAttention, inputs, { batch: 2, seqLen: 3, heads: 0 })).toThrow(/attr heads must be an integer ≥ 1, got 0/);
      const probs = tf.zeros([2, 2, 3, 2]);
      expect(() => run(TRAINING_KERNELS.causalAttentionGrad, { qRot: q, kRot: q, v: q, probs, dOut: q, cos: table, sin: table }, { batch: 2, seqLen: 3, heads: 2 })).toThrow(/MoeppCausalAttentionGrad: probs must have shape \[2,2,3,3\], got \[2,2,3,2\]/);
    });
  });
});
