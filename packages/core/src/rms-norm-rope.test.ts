/**
 * RMSNorm's written-out backward and RoPE's rotate-half product against float64 references
 * computed here element by element, and against central finite differences, on every backend.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import seedrandom from 'seedrandom';
import { rmsNorm } from './rms-norm.ts';
import { applyRope, ropeTables } from './rope.ts';
import { hasNativeKernels, TEST_BACKENDS, useBackend } from './testing/backends.ts';
import { randomMatrix } from './testing/random-layer.ts';

/** Float64 RMSNorm and its gradients for the loss Σ w ⊙ y (w fixed weights). */
function rmsReference(x: number[][], g: number[], w: number[][], eps: number) {
  const d = g.length;
  const dx: number[][] = [];
  const dg = new Array<number>(d).fill(0);
  const y = x.map((row, n) => {
    const r = 1 / Math.sqrt(row.reduce((a, v) => a + v * v, 0) / d + eps);
    // dx_j = Σ_i w_i g_i ∂(x_i r)/∂x_j, with ∂r/∂x_j = −r³ x_j / d: written out, not the kernel's formula.
    dx.push(row.map((xj, j) => {
      let s = w[n][j] * g[j] * r;
      for (let i = 0; i < d; i++) s -= w[n][i] * g[i] * row[i] * r * r * r * xj / d;
      return s;
    }));
    row.forEach((v, j) => (dg[j] += w[n][j] * v * r));
    return row.map((v, j) => v * r * g[j]);
  });
  return { y, dx, dg };
}

const maxDiff = (a: number[][] | number[], b: number[][] | number[]): number =>
  Math.max(...(a.flat() as number[]).map((v, i) => Math.abs(v - (b.flat() as number[])[i])));

describe.each(TEST_BACKENDS)('RMSNorm and RoPE on %s', (backend) => {
  beforeAll(() => useBackend(backend));
  const rng = seedrandom('rms-rope');

  it('RMSNorm: output, dx and dgain equal the float64 reference; no tensors leak', () => {
    const eps = 1e-5;
    const x = randomMatrix(rng, 7, 12, 2);
    const g = Array.from({ length: 12 }, () => 0.5 + rng());
    const w = randomMatrix(rng, 7, 12, 1);
    const ref = rmsReference(x, g, w, eps);
    const xv = tf.variable(tf.tensor2d(x));
    const gv = tf.variable(tf.tensor1d(g));
    const wt = tf.tensor2d(w);
    const before = tf.memory().numTensors;
    const y = tf.tidy(() => rmsNorm(xv as tf.Tensor2D, gv, eps).arraySync());
    expect(maxDiff(y, ref.y)).toBeLessThan(2e-6);
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(rmsNorm(xv as tf.Tensor2D, gv, eps), wt)) as tf.Scalar, [xv, gv]);
    expect(maxDiff(grads[xv.name].arraySync() as number[][], ref.dx)).toBeLessThan(2e-5);
    expect(maxDiff(grads[gv.name].arraySync() as number[], ref.dg)).toBeLessThan(2e-5);
    tf.dispose([value, grads[xv.name], grads[gv.name]]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([xv, gv, wt]);
  });

  it('RMSNorm: dx agrees with central finite differences of a nonlinear loss', () => {
    const x = tf.variable(tf.tensor2d(randomMatrix(rng, 3, 8, 1.5)));
    const g = tf.variable(tf.tensor1d(Array.from({ length: 8 }, () => 0.5 + rng())));
    const loss = () => tf.tidy(() => tf.sum(tf.square(tf.sin(rmsNorm(x as tf.Tensor2D, g, 1e-5)))) as tf.Scalar);
    const { value, grads } = tf.variableGrads(loss, [x, g]);
    for (const v of [x, g] as tf.Variable[]) {
      const analytic = grads[v.name].dataSync();
      const values = v.dataSync().slice();
      for (let i = 0; i < values.length; i += 3) {
        const at = (delta: number) => {
          const shifted = values.slice();
          shifted[i] += delta;
          v.assign(tf.tensor(shifted, v.shape));
          return loss().dataSync()[0];
        };
        const numeric = (at(5e-3) - at(-5e-3)) / 1e-2;
        v.assign(tf.tensor(values, v.shape));
        expect(Math.abs(numeric - analytic[i]), `${v.name}[${i}]`).toBeLessThan(3e-4 + 5e-3 * Math.abs(numeric));
      }
    }
    tf.dispose([value, grads[x.name], grads[g.name], x, g]);
  });

  it(`RMSNorm runs ${hasNativeKernels(backend) ? 'as the fused kernels' : 'in tf ops'}`, async () => {
    const x = tf.tensor2d(randomMatrix(rng, 4, 6, 1));
    const g = tf.tensor1d([1, 2, 3, 4, 5, 6]);
    const { kernelNames } = await tf.profile(() => {
      const grads = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(rmsNorm(a as tf.Tensor2D, b as tf.Tensor1D, 1e-5)))([x, g]);
      tf.dispose(grads);
    });
    expect(kernelNames.includes('MoeppRmsNorm') && kernelNames.includes('MoeppRmsNormGrad')).toBe(hasNativeKernels(backend));
    expect(kernelNames.includes('Rsqrt')).toBe(!hasNativeKernels(backend));
    tf.dispose([x, g]);
  });

  it('RoPE: x·cos + rotate_half(x)·sin element by element, and its gradient is the inverse rotation', () => {
    const [b, h, t, hd] = [2, 3, 5, 8];
    const tables = ropeTables(t, hd, 10000);
    const values = Array.from({ length: b * h * t * hd }, () => rng() * 2 - 1);
    const x = tf.variable(tf.tensor4d(values, [b, h, t, hd]));
    const y = tf.tidy(() => applyRope(x as tf.Tensor4D, tables).dataSync());
    const half = hd / 2;
    let worst = 0;
    for (let i = 0; i < values.length; i++) {
      const pos = Math.floor(i / hd) % t;
      const j = i % hd;
      const k = j % half;
      const angle = pos * 10000 ** (-2 * k / hd);
      const partner = j < half ? -values[i + half] : values[i - half]; // rotate_half: [−x₂, x₁]
      worst = Math.max(worst, Math.abs(y[i] - (values[i] * Math.cos(angle) + partner * Math.sin(angle))));
    }
    expect(worst).toBeLessThan(1e-6);
    // A rotation by the position's angle in each (i, i + hd/2) plane: its gradient of Σ w·y is
    // w rotated back, which is also what finite differences of a linear loss give.
    const w = tf.randomNormal([b, h, t, hd], 0, 1, 'float32', 7);
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(applyRope(x as tf.Tensor4D, tables), w)) as tf.Scalar, [x]);
    const wv = w.dataSync();
    const dx = grads[x.name].dataSync();
    worst = 0;
    for (let i = 0; i < values.length; i++) {
      const pos = Math.floor(i / hd) % t;
      const j = i % hd;
      const angle = pos * 10000 ** (-2 * (j % half) / hd);
      // y_j = x_j cos + x_{j−h} sin (j ≥ h), y_j = x_j cos − x_{j+h} sin (j < h)
      const expected = j < half ? wv[i] * Math.cos(angle) + wv[i + half] * Math.sin(angle) : wv[i] * Math.cos(angle) - wv[i - half] * Math.sin(angle);
      worst = Math.max(worst, Math.abs(dx[i] - expected));
    }
    expect(worst).toBeLessThan(1e-5);
    tf.dispose([value, grads[x.name], x, w, tables.cos, tables.sin, tables.rotateHalf]);
  });
});
