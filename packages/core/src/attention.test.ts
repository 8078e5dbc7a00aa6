/**
 * Causal self-attention with RoPE against a float64 reference written out here (each query
 * position attends to the rotated keys at or before it), and its gradients with respect to the
 * input and the four projections against central finite differences, on every backend — on
 * `blas` through the fused attention kernels, elsewhere through tf ops.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import seedrandom from 'seedrandom';
import { attentionForward, causalMask, type AttentionParams } from './attention.ts';
import { ropeTables } from './rope.ts';
import { hasNativeKernels, TEST_BACKENDS, useBackend } from './testing/backends.ts';
import { randomMatrix } from './testing/random-layer.ts';
import { checkInputGradient, checkParameterGradients } from './testing/finite-differences.ts';

type Matrix = number[][];
const product = (a: Matrix, b: Matrix): Matrix => a.map((row) => b[0].map((_, j) => row.reduce((s, v, k) => s + v * b[k][j], 0)));

/** Float64 attention of x (B·T, D): per sequence, head and query position, over positions ≤ it. */
function attentionReference(x: Matrix, w: Record<'wQ' | 'wK' | 'wV' | 'wO', Matrix>, batch: number, seqLen: number, heads: number, theta: number): Matrix {
  const d = x[0].length;
  const hd = d / heads;
  // Rotate each (i, i + hd/2) plane of a head by the position's angle t·θ^(−2i/hd).
  const rotate = (row: number[], t: number) =>
    row.map((_, c) => {
      const [h, j] = [Math.floor(c / hd), c % hd];
      const i = j % (hd / 2);
      const angle = t * theta ** ((-2 * i) / hd);
      const [a, b] = [row[h * hd + i], row[h * hd + i + hd / 2]];
      return j < hd / 2 ? a * Math.cos(angle) - b * Math.sin(angle) : b * Math.cos(angle) + a * Math.sin(angle);
    });
  const [q, k, v] = [w.wQ, w.wK, w.wV].map((m) => product(x, m));
  const mixed = x.map(() => new Array<number>(d).fill(0));
  for (let b = 0; b < batch; b++) {
    const rows = (m: Matrix) => m.slice(b * seqLen, (b + 1) * seqLen);
    const [qr, kr] = [rows(q).map(rotate), rows(k).map(rotate)];
    for (let h = 0; h < heads; h++) {
      const cols = (row: number[]) => row.slice(h * hd, (h + 1) * hd);
      for (let t = 0; t < seqLen; t++) {
        const scores = kr.slice(0, t + 1).map((key) => cols(key).reduce((s, kv, c) => s + kv * cols(qr[t])[c], 0) / Math.sqrt(hd));
        const top = Math.max(...scores);
        const weights = scores.map((s) => Math.exp(s - top));
        const total = weights.reduce((a, e) => a + e, 0);
        weights.forEach((e, j) => {
          for (let c = 0; c < hd; c++) mixed[b * seqLen + t][h * hd + c] += (e / total) * v[b * seqLen + j][h * hd + c];
        });
      }
    }
  }
  return product(mixed, w.wO);
}

describe.each(TEST_BACKENDS)('causal attention on %s', (backend) => {
  beforeAll(() => useBackend(backend));
  const [batch, seqLen, heads, d, theta] = [2, 5, 2, 8, 10000];
  const rng = seedrandom('attention');
  const x = randomMatrix(rng, batch * seqLen, d, 1.5);
  const weights = { wQ: randomMatrix(rng, d, d, 0.8), wK: randomMatrix(rng, d, d, 0.8), wV: randomMatrix(rng, d, d, 0.8), wO: randomMatrix(rng, d, d, 0.8) };

  let setups = 0; // variable names must be unique per process
  function setup() {
    setups++;
    const params = Object.fromEntries(Object.entries(weights).map(([k, m]) => [k, tf.variable(tf.tensor2d(m), true, `attention-${backend}-${k}-${setups}`)])) as unknown as AttentionParams;
    const rope = ropeTables(seqLen, d / heads, theta);
    const shape = { batch, seqLen, nHeads: heads, rope, causalMask: causalMask(seqLen) };
    const dispose = () => tf.dispose([...Object.values(params), rope.cos, rope.sin, rope.rotateHalf, shape.causalMask]);
    return { params, shape, dispose };
  }

  it('equals the float64 reference, and leaves no tensors behind', () => {
    const { params, shape, dispose } = setup();
    const before = tf.memory().numTensors;
    const y = tf.tidy(() => attentionForward(tf.tensor2d(x), params, shape).arraySync());
    expect(tf.memory().numTensors).toBe(before);
    const ref = attentionReference(x, weights, batch, seqLen, heads, theta);
    const scale = Math.max(...ref.flat().map(Math.abs));
    const worst = Math.max(...y.flat().map((v, i) => Math.abs(v - ref.flat()[i])));
    expect(worst / scale).toBeLessThan(2e-6);
    dispose();
  });

  it('a position does not see later ones: changing the last token leaves earlier outputs bit for bit', () => {
    const { params, shape, dispose } = setup();
    const changed = x.map((row, n) => (n % seqLen === seqLen - 1 ? row.map((v) => v + 1) : row));
    const [a, b] = [x, changed].map((input) => tf.tidy(() => attentionForward(tf.tensor2d(input), params, shape).arraySync()));
    for (let n = 0; n < batch * seqLen; n++) {
      if (n % seqLen === seqLen - 1) expect(b[n]).not.toEqual(a[n]);
      else expect(b[n], `row ${n}`).toEqual(a[n]);
    }
    dispose();
  });

  it('gradients of x and of W_Q, W_K, W_V, W_O equal central finite differences', () => {
    const { params, shape, dispose } = setup();
    const input = tf.variable(tf.tensor2d(x)) as tf.Variable<tf.Rank.R2>;
    const probe = tf.tensor2d(randomMatrix(seedrandom('attention-probe'), batch * seqLen, d));
    const loss = () => tf.tidy(() => tf.sum(tf.mul(attentionForward(input, params, shape), probe)) as tf.Scalar);
    const variables = Object.values(params) as tf.Variable[];
    const { value, grads } = tf.variableGrads(loss, [...variables, input]);
    const plans: string[] = []; // attention has no routing decisions to cross
    expect(checkParameterGradients(variables, grads, loss, plans, '', 6, seedrandom('attention-entries'))).toBe(4 * 6);
    checkInputGradient(input, grads[input.name], loss, plans, '');
    tf.dispose([value, ...Object.values(grads), input, probe]);
    dispose();
  });

  it(`runs ${hasNativeKernels(backend) ? 'as the fused kernels' : 'in tf ops'}`, async () => {
    const { params, shape, dispose } = setup();
    const input = tf.variable(tf.tensor2d(x));
    const { kernelNames } = await tf.profile(() => {
      const { value, grads } = tf.variableGrads(() => tf.sum(attentionForward(input as tf.Tensor2D, params, shape)) as tf.Scalar, [input]);
      tf.dispose([value, ...Object.values(grads)]);
    });
    expect(kernelNames.includes('MoeppCausalAttention') && kernelNames.includes('MoeppCausalAttentionGrad')).toBe(hasNativeKernels(backend));
    expect(kernelNames.includes('Softmax')).toBe(!hasNativeKernels(backend));
    input.dispose();
    dispose();
  });
});
