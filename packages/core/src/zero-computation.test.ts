import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { constantExpertForward, copyExpertForward, zeroExpertForward } from './experts/index.ts';
import { evaluationContext } from './forward-context.ts';
import { TEST_BACKENDS, useBackend } from './testing/backends.ts';
import { maxAbsDiff, randomLayer } from './testing/random-layer.ts';
import { referenceExpert } from './testing/reference-moe.ts';

/** Router weights that make every token pick `experts` (largest logits), in that order. */
function forceRouting(wR: tf.Variable, x: number[][], experts: number[]): void {
  // x · W_r with W_r = a column of big values only where we want the route: use a constant input
  // feature (x[:, 0] = 1) and put descending scores in that row.
  const [d, e] = wR.shape as [number, number];
  const w = Array.from({ length: d }, (_, i) => Array.from({ length: e }, (_, j) => (i === 0 ? (experts.includes(j) ? 100 - 10 * experts.indexOf(j) : -100) : 0)));
  wR.assign(tf.tensor2d(w));
  x.forEach((row) => (row[0] = 1));
}

describe.each(TEST_BACKENDS)('zero-computation experts on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  it('zero expert outputs 0, copy expert outputs its input', () => {
    tf.tidy(() => {
      const x = tf.randomNormal([5, 4], 0, 1, 'float32', 3) as tf.Tensor2D;
      expect(tf.max(tf.abs(zeroExpertForward(x))).dataSync()[0]).toBe(0);
      expect(Array.from(copyExpertForward(x).dataSync())).toEqual(Array.from(x.dataSync()));
    });
  });

  it('constant expert is a1·x + a2·v with [a1, a2] = softmax(x W_c)', () => {
    tf.tidy(() => {
      const xs = [[0.5, -1, 2], [1, 1, 1]];
      const wC = [[1, -1], [0.5, 2], [-0.3, 0.1]];
      const v = [3, -2, 0.5];
      const got = constantExpertForward(tf.tensor2d(xs), { wC: tf.variable(tf.tensor2d(wC)), v: tf.variable(tf.tensor1d(v)) });
      expect(maxAbsDiff(got, xs.map((x) => referenceExpert({ kind: 'constant', params: { wC, v } }, x)))).toBeLessThan(1e-6);
    });
  });

  it('constant expert with W_c = 0 mixes input and constant half and half', () => {
    tf.tidy(() => {
      const got = constantExpertForward(tf.tensor2d([[2, 4]]), { wC: tf.variable(tf.zeros([2, 2])), v: tf.variable(tf.tensor1d([10, 0])) });
      expect(Array.from(got.dataSync())).toEqual([6, 2]);
    });
  });

  describe('reference gating with zero experts', () => {
    const kinds: string[] = ['ffn', 'ffn', 'copy', 'zero', 'zero'];
    const run = (route: number[]) => {
      const layer = randomLayer({ seed: 'force', kinds, tokens: 6, dModel: 4, hidden: 8, topK: 2, gating: 'reference' });
      forceRouting(layer.layer.params.router.wR as tf.Variable, layer.x, route);
      const result = tf.tidy(() => {
        const x = tf.tensor2d(layer.x);
        const out = layer.layer.forward(x, null, evaluationContext());
        return { y: out.output.arraySync(), w: out.routingWeights.arraySync(), x: layer.x };
      });
      layer.dispose();
      return { ...result, layer };
    };

    it('FFN_a + zero gives FFN_a weight exactly 1 (the layer degrades to top-1)', () => {
      const { w, y, x, layer } = run([1, 3]);
      for (const row of w) expect(row).toEqual([0, 1, 0, 0, 0]);
      const ffn = layer.reference.experts[1];
      y.forEach((row, n) => row.forEach((v, d) => expect(v).toBeCloseTo(referenceExpert(ffn, x[n])[d], 5)));
    });

    it('copy + zero outputs x exactly', () => {
      const { y, x } = run([2, 3]);
      expect(y).toEqual(x.map((row) => row.map((v) => Math.fround(v))));
    });

    it('all selected experts zero: output is 0, never NaN', () => {
      const { y, w } = run([3, 4]);
      for (const row of [...y, ...w]) for (const v of row) expect(Math.abs(v)).toBe(0);
    });

    it('all selected experts zero: gradients are finite', () => {
      const layer = randomLayer({ seed: 'force', kinds, tokens: 6, dModel: 4, hidden: 8, topK: 2, gating: 'reference' });
      forceRouting(layer.layer.params.router.wR as tf.Variable, layer.x, [3, 4]);
      const { grads, value } = tf.variableGrads(() => tf.sum(layer.layer.forward(tf.tensor2d(layer.x), null, evaluationContext()).output) as tf.Scalar, [layer.layer.params.router.wR as tf.Variable]);
      for (const g of Object.values(grads)) expect(Array.from(g.dataSync()).every(Number.isFinite)).toBe(true);
      tf.dispose([value, ...Object.values(grads)]);
      layer.dispose();
    });
  });
});
