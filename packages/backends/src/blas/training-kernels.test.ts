/**
 * The `blas` fused training kernels (training-kernels.ts) against float64 references written out
 * here: the cross-entropy's per-row loss, log-sum-exp and gradient (including logit gaps where a
 * probability underflows float32, and non-finite logits, since the exponentials are built with
 * fast-math), the float64 squared norm, and AdamW's update — against the formula and, bit for
 * bit up to one rounding, against the tf-ops update it replaces; in place only where nothing
 * else holds the memory. Bad input is an error naming the problem.
 */
import { beforeAll, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { values } from '../testing/compare-backends.ts';
import { blas, describeBlas, initBlasForTests } from '../testing/blas-setup.ts';
import { hasTrainingKernel, TRAINING_KERNELS } from '../training-kernels.ts';
import { registerBlasKernels, unregisterBlasKernels } from './blas-kernels.ts';

/** A variable holding the only reference to its memory (as AdamW's moments do). */
function ownVariable(t: tf.Tensor): tf.Variable {
  const v = tf.variable(t, false);
  t.dispose();
  return v;
}

const run = (name: string, inputs: tf.NamedTensorMap | tf.Tensor[], attrs: tf.NamedAttrMap = {}) =>
  tf.engine().runKernel(name, inputs as tf.NamedTensorMap, attrs) as tf.Tensor | tf.Tensor[];

/** Float64 log-sum-exp, loss and gradient (times `scale`) of one row. */
function rowReference(row: ArrayLike<number>, target: number, scale: number) {
  const m = Math.max(...Array.from(row));
  const s = Array.from(row).reduce((a, v) => a + Math.exp(v - m), 0);
  const lse = m + Math.log(s);
  return { lse, loss: lse - row[target], grad: Array.from(row, (v, j) => scale * (Math.exp(v - lse) - (j === target ? 1 : 0))) };
}

describeBlas('blas fused training kernels', () => {
  beforeAll(async () => {
    await initBlasForTests(1);
  });

  it('are registered on wasm exactly while the BLAS kernels are', () => {
    for (const k of Object.values(TRAINING_KERNELS)) expect(hasTrainingKernel(k), k).toBe(true);
    unregisterBlasKernels();
    for (const k of Object.values(TRAINING_KERNELS)) expect(hasTrainingKernel(k), k).toBe(false);
    if (blas.ok) registerBlasKernels(blas.addon);
    expect(hasTrainingKernel(TRAINING_KERNELS.adamW)).toBe(true);
  });

  it('cross-entropy: loss, lse and dlogits equal the float64 reference (rows of 1000, 4097 and 3 columns)', () => {
    for (const [rows, cols, spread] of [[7, 1000, 8], [3, 4097, 30], [5, 3, 1]]) {
      const data = values(rows * cols, cols).map((v) => v * spread);
      const targets = Int32Array.from({ length: rows }, (_, n) => (n * 7919) % cols);
      const logits = tf.tensor2d(data, [rows, cols]);
      const t = tf.tensor1d(targets, 'int32');
      const [loss, lse] = run(TRAINING_KERNELS.softmaxCrossEntropy, { logits, targets: t }) as tf.Tensor[];
      const dlogits = run(TRAINING_KERNELS.softmaxCrossEntropyGrad, { logits, lse, targets: t }, { scale: 0.25 }) as tf.Tensor;
      const [l, s, g] = [loss.dataSync(), lse.dataSync(), dlogits.dataSync()];
      for (let n = 0; n < rows; n++) {
        const ref = rowReference(data.subarray(n * cols, (n + 1) * cols), targets[n], 0.25);
        expect(Math.abs(s[n] - ref.lse), `lse row ${n}`).toBeLessThan(2e-6 * Math.max(1, Math.abs(ref.lse)));
        expect(Math.abs(l[n] - ref.loss), `loss row ${n}`).toBeLessThan(2e-6 * Math.max(1, Math.abs(ref.lse)));
        for (let j = 0; j < cols; j++) expect(Math.abs(g[n * cols + j] - ref.grad[j]), `grad ${n},${j}`).toBeLessThan(1e-7);
      }
      tf.dispose([logits, t, loss, lse, dlogits]);
    }
  });

  it('cross-entropy stays exact where the target\'s probability underflows, and a non-finite logit gives a non-finite loss', () => {
    const logits = tf.tensor2d([[0, 150, -20, 3], [-300, 0, 0, 1], [0, Number.NaN, 1, 2], [0, Infinity, 1, 2]]);
    const targets = tf.tensor1d([0, 0, 0, 2], 'int32');
    const [loss] = run(TRAINING_KERNELS.softmaxCrossEntropy, { logits, targets }) as tf.Tensor[];
    const l = loss.dataSync();
    expect(Math.abs(l[0] - 150) / 150).toBeLessThan(1e-6); // lse ≈ 150, target logit 0
    expect(Math.abs(l[1] - (rowReference([-300, 0, 0, 1], 0, 1).loss)) / 301).toBeLessThan(1e-6);
    expect(Number.isFinite(l[2])).toBe(false);
    expect(Number.isFinite(l[3])).toBe(false);
    tf.dispose([logits, targets, loss]);
  });

  it('cross-entropy rejects a target outside the vocabulary, int targets of the wrong count and non-matrix logits', () => {
    tf.tidy(() => {
      const logits = tf.zeros([2, 3]);
      expect(() => run(TRAINING_KERNELS.softmaxCrossEntropy, { logits, targets: tf.tensor1d([0, 3], 'int32') })).toThrow(/a target lies outside \[0, cols\)/);
      expect(() => run(TRAINING_KERNELS.softmaxCrossEntropy, { logits, targets: tf.tensor1d([0], 'int32') })).toThrow(/2 rows of logits but targets of shape \[1\]/);
      expect(() => run(TRAINING_KERNELS.softmaxCrossEntropy, { logits, targets: tf.tensor1d([0, 1]) })).toThrow(/targets must be int32, got float32/);
      expect(() => run(TRAINING_KERNELS.softmaxCrossEntropy, { logits: tf.zeros([6]), targets: tf.tensor1d([0, 1], 'int32') })).toThrow(/logits must be \(N, V\)/);
    });
  });

  it('sum of squares is the float64 sum (a float32 running sum of 10⁶ values is ~1e-4 off)', () => {
    const a = values(1_000_000, 3);
    const b = values(1_000, 4).map((v) => v * 1e3);
    let ref = 0;
    for (const x of [a, b]) for (let i = 0; i < x.length; i++) ref += x[i] * x[i];
    const [ta, tb] = [tf.tensor1d(a), tf.tensor2d(b, [10, 100])];
    const out = run(TRAINING_KERNELS.sumOfSquares, [ta, tb]) as tf.Tensor;
    expect(out.shape).toEqual([]);
    expect(Math.abs(out.dataSync()[0] - ref) / ref).toBeLessThan(1e-7); // one float32 rounding
    expect(() => run(TRAINING_KERNELS.sumOfSquares, [tf.tensor1d([1, 2], 'int32')])).toThrow(/every input must be float32, got int32/);
    tf.dispose([ta, tb, out]);
  });

  /** One AdamW step in tf ops, as @moepp/experiments' adamw.ts writes it. */
  function tfOpsAdamW(p: tf.Tensor, g: tf.Tensor, m: tf.Tensor, v: tf.Tensor, a: Record<string, number>): tf.Tensor[] {
    return tf.tidy(() => {
      const m2 = tf.add(tf.mul(m, a.beta1), tf.mul(g, (1 - a.beta1) * a.gradScale));
      const v2 = tf.add(tf.mul(v, a.beta2), tf.mul(tf.square(g), (1 - a.beta2) * a.gradScale * a.gradScale));
      const direction = tf.div(m2, tf.add(tf.sqrt(tf.mul(v2, 1 / (1 - a.beta2 ** a.step))), a.epsilon));
      const decayed = a.weightDecay === 0 ? p : tf.mul(p, 1 - a.lr * a.weightDecay);
      return [tf.sub(decayed, tf.mul(direction, a.lr / (1 - a.beta1 ** a.step))), m2, v2];
    });
  }

  it('AdamW equals the float64 formula and the tf-ops update it replaces, over three steps, with and without decay', () => {
    for (const weightDecay of [0, 0.1]) {
      const n = 3001;
      const p = ownVariable(tf.tensor1d(values(n, 11)));
      const m = ownVariable(tf.zeros([n]));
      const v = ownVariable(tf.zeros([n]));
      const [pRef, mRef, vRef] = [Array.from(p.dataSync()), new Array(n).fill(0), new Array(n).fill(0)];
      let tfOps: tf.Tensor[] = [p.clone(), m.clone(), v.clone()];
      for (let step = 1; step <= 3; step++) {
        const gHost = values(n, 20 + step).map((x) => x * 10 ** (step - 2));
        const g = tf.tensor1d(gHost);
        const a = { beta1: 0.9, beta2: 0.95, epsilon: 1e-8, gradScale: 0.5, lr: 0.01, weightDecay, step };
        const outs = run(TRAINING_KERNELS.adamW, { param: p, grad: g, m, v }, a) as tf.Tensor[];
        for (const [variable, next] of [[p, outs[0]], [m, outs[1]], [v, outs[2]]] as const) {
          variable.assign(next);
          next.dispose();
        }
        const next = tfOpsAdamW(tfOps[0], g, tfOps[1], tfOps[2], a);
        tf.dispose(tfOps);
        tfOps = next;
        for (let i = 0; i < n; i++) {
          const gi = gHost[i] * a.gradScale;
          mRef[i] = 0.9 * mRef[i] + 0.1 * gi;
          vRef[i] = 0.95 * vRef[i] + 0.05 * gi * gi;
          pRef[i] = pRef[i] * (1 - a.lr * weightDecay) - (a.lr / (1 - 0.9 ** step)) * (mRef[i] / (Math.sqrt(vRef[i] / (1 - 0.95 ** step)) + 1e-8));
        }
        g.dispose();
      }
      const [pd, md, vd] = [p.dataSync(), m.dataSync(), v.dataSync()];
      const [pt, mt, vt] = tfOps.map((t) => t.dataSync());
      // float32 round-off of the running moments, relative to each array's largest entry.
      const scale = (a: number[]) => Math.max(...a.map(Math.abs));
      const [mScale, vScale] = [scale(mRef), scale(vRef)];
      for (let i = 0; i < n; i++) {
        expect(Math.abs(pd[i] - pRef[i]), `p[${i}] vs float64`).toBeLessThan(1e-6 * Math.max(1, Math.abs(pRef[i])));
        expect(Math.abs(md[i] - mRef[i]), `m[${i}] vs float64`).toBeLessThan(1e-6 * mScale);
        expect(Math.abs(vd[i] - vRef[i]), `v[${i}] vs float64`).toBeLessThan(1e-6 * vScale);
        // Against tf ops: the same operations in the same order, so equal to an ulp or two.
        expect(Math.abs(pd[i] - pt[i]), `p[${i}] vs tf ops`).toBeLessThanOrEqual(3e-7 * Math.max(1, Math.abs(pt[i])));
        expect(md[i], `m[${i}] vs tf ops`).toBe(mt[i]);
        expect(vd[i], `v[${i}] vs tf ops`).toBe(vt[i]);
      }
      tf.dispose([p, m, v, ...tfOps]);
    }
  });

  it('AdamW updates in place only memory nothing else holds: a tensor sharing the parameter keeps its values', () => {
    const p = ownVariable(tf.tensor1d([1, 2, 3]));
    const m = ownVariable(tf.zeros([3]));
    const v = ownVariable(tf.zeros([3]));
    const alias = tf.reshape(p, [3, 1]); // shares p's memory on wasm
    const a = { beta1: 0.9, beta2: 0.95, epsilon: 1e-8, gradScale: 1, lr: 0.1, weightDecay: 0, step: 1 };
    const g = tf.tensor1d([1, -1, 1]);
    const [p2, m2, v2] = run(TRAINING_KERNELS.adamW, { param: p, grad: g, m, v }, a) as tf.Tensor[];
    expect(p2.dataId).not.toBe(p.dataId); // shared: new memory
    expect(m2.dataId).toBe(m.dataId); // the moments: in place
    expect(Array.from(alias.dataSync())).toEqual([1, 2, 3]);
    expect(Array.from(p2.dataSync()).map((x) => Number(x.toFixed(4)))).toEqual([0.9, 2.1, 2.9]);
    expect(() => run(TRAINING_KERNELS.adamW, { param: p, grad: tf.zeros([4]), m, v }, a)).toThrow(/grad has shape \[4\], the parameter \[3\]/);
    tf.dispose([p, m, v, alias, g, p2, m2, v2]);
  });
});
