/**
 * The routing family (docs/moe-family.md) on the MoE++ layer: each gating mode and router option
 * against the dense float64 reference (testing/reference-moe.ts) with zero-computation experts and
 * the gating residual, finite-difference gradients, deterministic evaluation, training-only
 * randomness checked against its own float64 recomputation, config errors, and an LM that trains.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import seedrandom from 'seedrandom';
import { ConfigError, resolveModelConfig, type ModelConfigInput } from './config.ts';
import { evaluationContext, trainingContext, type ForwardContext } from './forward-context.ts';
import { referenceSoftmax, referenceTopK, standardNormals } from './gating/index.ts';
import { MoeppLM } from './model.ts';
import { loadModelWeights, saveModelWeights } from './model-weights.ts';
import { TEST_BACKENDS, useBackend } from './testing/backends.ts';
import { matmul, referenceMoeLayer, type Matrix } from './testing/reference-moe.ts';
import { maxAbsDiff, randomLayer, randomMatrix } from './testing/random-layer.ts';
import { checkInputGradient, checkParameterGradients } from './testing/finite-differences.ts';

const KINDS = ['ffn', 'ffn', 'ffn', 'ffn', 'constant', 'copy', 'zero', 'zero'];
type LayerOptions = Omit<Parameters<typeof randomLayer>[0], 'seed' | 'kinds' | 'tokens' | 'dModel' | 'hidden'>;

/** Evaluation forward of a random layer against the float64 reference; returns the layer for more checks. */
function expectReference(seed: string, options: LayerOptions, prepare?: (layer: ReturnType<typeof randomLayer>) => void): void {
  const layer = randomLayer({ seed, kinds: KINDS, tokens: 40, dModel: 8, hidden: 12, ...options });
  prepare?.(layer);
  const ref = referenceMoeLayer(layer.reference, layer.x, layer.previousLogits);
  tf.tidy(() => {
    const prev = layer.previousLogits ? tf.tensor2d(layer.previousLogits) : null;
    const out = layer.layer.forward(tf.tensor2d(layer.x), prev, evaluationContext());
    expect(Array.from(out.plan.topKIndex)).toEqual(ref.topK.flat());
    expect(maxAbsDiff(out.routingWeights, ref.weights)).toBeLessThan(1e-6);
    expect(maxAbsDiff(out.routerProbs, ref.probs)).toBeLessThan(1e-6);
    expect(maxAbsDiff(out.output, ref.output)).toBeLessThan(1e-5);
    expect(out.plan.droppedSlots).toBe(ref.dropped);
    // The case exercises the zero-computation experts.
    expect(ref.topK.flat().some((e) => KINDS[e] !== 'ffn')).toBe(true);
  });
  layer.dispose();
}

/** Gradients of every parameter and of x against finite differences, each forward in a fresh `context()`. */
function expectGradients(seed: string, options: LayerOptions, context: () => ForwardContext): void {
  const layer = randomLayer({ seed, kinds: ['ffn', 'ffn', 'constant', 'copy', 'zero'], tokens: 12, dModel: 4, hidden: 6, ...options });
  const probe = tf.tensor2d(randomMatrix(seedrandom('probe'), 12, 4));
  const x = tf.variable(tf.tensor2d(layer.x)) as tf.Variable<tf.Rank.R2>;
  const prev = layer.previousLogits ? tf.tensor2d(layer.previousLogits) : null;
  const plans: string[] = [];
  const loss = () =>
    tf.tidy(() => {
      const out = layer.layer.forward(x, prev, context());
      plans.push(Array.from(out.plan.topKIndex).join() + Array.from(out.plan.keptMask).join(''));
      return tf.sum(tf.mul(out.output, probe)) as tf.Scalar;
    });
  const { grads, value } = tf.variableGrads(loss, [...layer.variables, x]);
  value.dispose();
  expect(layer.variables.filter((v) => !grads[v.name]).map((v) => v.name)).toEqual([]);
  const checked = checkParameterGradients(layer.variables, grads, loss, plans, plans[0], 2, seedrandom('entries'));
  expect(checked).toBe(layer.variables.length * 2);
  checkInputGradient(x, grads[x.name], loss, plans, plans[0]);
  tf.dispose([probe, x, ...(prev ? [prev] : []), ...Object.values(grads)]);
  layer.dispose();
}

/** Two evaluation forwards with different evaluation seeds give the same output. */
function expectDeterministicEvaluation(options: LayerOptions): void {
  const layer = randomLayer({ seed: 'det', kinds: KINDS, tokens: 24, dModel: 8, hidden: 12, ...options });
  const prev = layer.previousLogits ? tf.tensor2d(layer.previousLogits) : null;
  const x = tf.tensor2d(layer.x);
  const run = (seed: string) => tf.tidy(() => Array.from(layer.layer.forward(x, prev, evaluationContext(seed)).output.dataSync()));
  expect(run('a')).toEqual(run('b'));
  tf.dispose([x, ...(prev ? [prev] : [])]);
  layer.dispose();
}

const softplus = (v: number) => Math.log1p(Math.exp(v));
const withResidual = (x: Matrix, wR: Matrix, prev: Matrix | null, wG: Matrix | null) => {
  const g = matmul(x, wR);
  if (!prev || !wG) return g;
  const r = matmul(prev, wG);
  return g.map((row, n) => row.map((v, e) => v + r[n][e]));
};

describe.each(TEST_BACKENDS)('routing family on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  describe('noisy-top-k (Shazeer et al. 2017)', () => {
    it.each([[1, null], [2, null], [2, 0.6]] as const)('K=%i, γ=%s: evaluation equals the float64 reference', (topK, capacityFactor) => {
      expectReference(`noisy${topK}${capacityFactor}`, { topK, gating: 'noisy-top-k', capacityFactor, residual: true });
    });

    it('training adds ε·softplus(x W_noise) to the logits before the ranking and the weights', () => {
      const layer = randomLayer({ seed: 'noisy-train', kinds: KINDS, tokens: 30, dModel: 8, hidden: 12, topK: 2, gating: 'noisy-top-k', residual: true });
      const { x, previousLogits: prev, reference: r } = layer;
      const E = KINDS.length;
      const epsilon = standardNormals(trainingContext('noise', 3).rng, x.length * E);
      const g = withResidual(x, r.wR, prev, r.wG);
      const noiseScale = matmul(x, r.gatingParams?.wNoise as Matrix).map((row) => row.map(softplus));
      const h = g.map((row, n) => row.map((v, e) => v + epsilon[n * E + e] * noiseScale[n][e]));
      tf.tidy(() => {
        const out = layer.layer.forward(tf.tensor2d(x), tf.tensor2d(prev as Matrix), trainingContext('noise', 3));
        const top = h.map((row) => referenceTopK(row, 2));
        expect(Array.from(out.plan.topKIndex)).toEqual(top.flat());
        expect(top.flat()).not.toEqual(g.map((row) => referenceTopK(row, 2)).flat()); // the noise changed some choices
        const weights = h.map((row, n) => {
          const w = new Array<number>(E).fill(0);
          const s = referenceSoftmax(top[n].map((e) => row[e]));
          top[n].forEach((e, i) => (w[e] = s[i]));
          return w;
        });
        expect(maxAbsDiff(out.routingWeights, weights)).toBeLessThan(1e-5);
      });
      layer.dispose();
    });

    it('evaluation is deterministic', () => expectDeterministicEvaluation({ topK: 2, gating: 'noisy-top-k', residual: true }));
    it('training gradients (W_noise included) match finite differences', () =>
      expectGradients('noisy-grad', { topK: 2, gating: 'noisy-top-k', residual: true }, () => trainingContext('fd', 0)));
  });

  describe('router input jitter (Switch Transformer)', () => {
    it('evaluation ignores it: equals the float64 reference', () => {
      expectReference('jitter', { topK: 2, gating: 'reference', residual: true, routerJitter: 0.2 });
    });

    it('training multiplies the router input by U(1 − ε, 1 + ε), drawn from the step\'s source', () => {
      const epsilon = 0.2;
      const layer = randomLayer({ seed: 'jitter-train', kinds: KINDS, tokens: 20, dModel: 8, hidden: 12, topK: 2, gating: 'reference', residual: true, routerJitter: epsilon });
      const { x, previousLogits: prev, reference: r } = layer;
      const rng = trainingContext('jitter', 1).rng;
      const jittered = x.map((row) => row.map((v) => v * (1 - epsilon + 2 * epsilon * rng())));
      const expected = withResidual(jittered, r.wR, prev, r.wG);
      tf.tidy(() => {
        const out = layer.layer.forward(tf.tensor2d(x), tf.tensor2d(prev as Matrix), trainingContext('jitter', 1));
        expect(maxAbsDiff(out.routerLogits, expected)).toBeLessThan(1e-5);
        expect(maxAbsDiff(out.routerLogits, withResidual(x, r.wR, prev, r.wG))).toBeGreaterThan(1e-3);
      });
      layer.dispose();
    });

    it('training gradients match finite differences', () =>
      expectGradients('jitter-grad', { topK: 2, gating: 'reference', residual: true, routerJitter: 0.1 }, () => trainingContext('fd', 0)));
  });
});
