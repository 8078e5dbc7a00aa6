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
import { expertChoiceCapacity, hashExperts, referenceExpertChoice, referenceSoftmax, referenceTopK, standardNormals } from './gating/index.ts';
import { MoeppLM } from './model.ts';
import { countParameters } from './counting.ts';
import { sequenceBalanceLoss } from './sequence-balance-loss.ts';
import { loadModelWeights, saveModelWeights } from './model-weights.ts';
import { TEST_BACKENDS, useBackend } from './testing/backends.ts';
import { matmul, referenceExpert, referenceMoeLayer, type Matrix } from './testing/reference-moe.ts';
import { maxAbsDiff, randomLayer, randomMatrix } from './testing/random-layer.ts';
import { checkInputGradient, checkParameterGradients } from './testing/finite-differences.ts';
import { trainAFewSteps } from './testing/train-a-few-steps.ts';

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
        expect(top.flat()).not.toEqual(g.flatMap((row) => referenceTopK(row, 2))); // the noise changed some choices
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

  describe('sigmoid-bias (DeepSeek-V3)', () => {
    const biased = (layer: ReturnType<typeof randomLayer>) => {
      // A non-zero balancing bias, set on both sides, so the ranking differs from the scores' order.
      const bias = Array.from({ length: KINDS.length }, (_, e) => [0.3, -0.2, 0, 0.15][e % 4]);
      layer.layer.buffers.bias.set(bias);
      layer.reference.buffers = { bias };
    };
    it.each([[1, 1, null], [2, 1, null], [2, 2, 0.6], [4, 2, null]] as const)('groups %i, top groups %i, γ=%s: equals the float64 reference', (groups, topGroups, capacityFactor) => {
      expectReference(`sig${groups}${topGroups}${capacityFactor}`, { topK: 2, gating: 'sigmoid-bias', capacityFactor, residual: true, gatingOptions: { groups, topGroups } }, biased);
    });

    it('the bias changes the ranking, not the weights; group limiting keeps each token inside its top groups', () => {
      const layer = randomLayer({ seed: 'sig-rank', kinds: KINDS, tokens: 40, dModel: 8, hidden: 12, topK: 2, gating: 'sigmoid-bias', gatingOptions: { groups: 4, topGroups: 1 } });
      const run = () => tf.tidy(() => {
        const out = layer.layer.forward(tf.tensor2d(layer.x), null, evaluationContext());
        return { top: Array.from(out.plan.topKIndex), weights: out.routingWeights.arraySync() as Matrix };
      });
      const before = run();
      for (let n = 0; n < 40; n++) expect(Math.floor(before.top[2 * n] / 2)).toBe(Math.floor(before.top[2 * n + 1] / 2)); // one group of 2
      layer.layer.buffers.bias[before.top[0]] = -10; // token 0's first choice can no longer win
      const after = run();
      expect(after.top.slice(0, 2)).not.toContain(before.top[0]);
      layer.dispose();
    });

    it('each update moves b by γ · sign(mean load − load)', () => {
      const layer = randomLayer({ seed: 'sig-update', kinds: ['ffn', 'ffn', 'ffn', 'zero'], tokens: 4, dModel: 4, hidden: 4, topK: 2, gating: 'sigmoid-bias', gatingOptions: { biasUpdateRate: 0.01 } });
      layer.layer.updateBuffers(Float64Array.of(5, 2, 1, 0)); // mean 2
      expect(Array.from(layer.layer.buffers.bias)).toEqual(Array.from(Float32Array.of(-0.01, 0, 0.01, 0.01)));
      layer.dispose();
    });

    it('evaluation is deterministic', () => expectDeterministicEvaluation({ topK: 2, gating: 'sigmoid-bias', residual: true }));
    it('gradients match finite differences', () =>
      expectGradients('sig-grad', { topK: 2, gating: 'sigmoid-bias', residual: true }, () => trainingContext('fd', 0)));
  });

  describe('hash routing (Roller et al. 2021)', () => {
    const tokenIds = Array.from({ length: 40 }, (_, n) => (n * 7 + 3) % 29);
    it.each([[1, null], [2, null], [2, 0.6]] as const)('K=%i, γ=%s: equals the float64 reference, from the token ids alone', (topK, capacityFactor) => {
      const layer = randomLayer({ seed: `hash${topK}${capacityFactor}`, kinds: KINDS, tokens: 40, dModel: 8, hidden: 12, topK, gating: 'hash', capacityFactor });
      expect(layer.layer.params.router.wR).toBeNull();
      const ref = referenceMoeLayer(layer.reference, layer.x, null, tokenIds);
      tf.tidy(() => {
        const out = layer.layer.forward(tf.tensor2d(layer.x), null, evaluationContext(), Int32Array.from(tokenIds));
        expect(Array.from(out.plan.topKIndex)).toEqual(ref.topK.flat());
        expect(maxAbsDiff(out.routingWeights, ref.weights)).toBeLessThan(1e-6);
        expect(maxAbsDiff(out.output, ref.output)).toBeLessThan(1e-5);
        expect(out.plan.droppedSlots).toBe(ref.dropped);
        // Same id, same experts.
        for (let n = 0; n < 40; n++) for (let m = 0; m < 40; m++) if (tokenIds[n] === tokenIds[m]) expect(ref.topK[n]).toEqual(ref.topK[m]);
      });
      expect(() => tf.tidy(() => layer.layer.forward(tf.tensor2d(layer.x), null, evaluationContext()).output)).toThrow(/needs the token id/);
      layer.dispose();
    });

    it('the map is fixed, exactly balanced over a vocabulary, and gives K distinct experts', () => {
      const E = 8;
      const vocab = 1003;
      for (const topK of [1, 3]) {
        const perRank = Array.from({ length: topK }, () => new Array<number>(E).fill(0));
        for (let v = 0; v < vocab; v++) {
          const top = hashExperts(v, E, topK, 0);
          expect(new Set(top).size).toBe(topK);
          expect(hashExperts(v, E, topK, 0)).toEqual(top);
          top.forEach((e, j) => perRank[j][e]++);
        }
        for (const counts of perRank) expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
      }
      const firsts = (seed: number) => Array.from({ length: 64 }, (_, v) => hashExperts(v, E, 1, seed)[0]);
      expect(firsts(1)).not.toEqual(firsts(0)); // the seed matters
      expect(firsts(0).slice(0, 8)).not.toEqual(firsts(0).slice(8, 16)); // blocks are shuffled independently
    });

    it('gradients of the experts and of x match finite differences', () => {
      const ids = Int32Array.from({ length: 12 }, (_, n) => n * 5);
      const layer = randomLayer({ seed: 'hash-grad', kinds: ['ffn', 'ffn', 'constant', 'copy', 'zero'], tokens: 12, dModel: 4, hidden: 6, topK: 2, gating: 'hash' });
      const probe = tf.tensor2d(randomMatrix(seedrandom('probe'), 12, 4));
      const x = tf.variable(tf.tensor2d(layer.x)) as tf.Variable<tf.Rank.R2>;
      const plans: string[] = [];
      const loss = () => tf.tidy(() => {
        const out = layer.layer.forward(x, null, evaluationContext(), ids);
        plans.push(Array.from(out.plan.topKIndex).join());
        return tf.sum(tf.mul(out.output, probe)) as tf.Scalar;
      });
      const { grads, value } = tf.variableGrads(loss, [...layer.variables, x]);
      value.dispose();
      expect(checkParameterGradients(layer.variables, grads, loss, plans, plans[0], 2, seedrandom('e'))).toBe(layer.variables.length * 2);
      checkInputGradient(x, grads[x.name], loss, plans, plans[0]);
      tf.dispose([probe, x, ...Object.values(grads)]);
      layer.dispose();
    });
  });

  describe('gshard (top-2, random routing of the second expert)', () => {
    it.each([null, 0.6])('γ=%s: evaluation keeps both experts and equals the float64 reference', (capacityFactor) => {
      expectReference(`gshard${capacityFactor}`, { topK: 2, gating: 'gshard', capacityFactor, residual: true });
    });

    it('training keeps the second expert iff 2·p₂ > u, declined slots take no capacity and are not drops', () => {
      const layer = randomLayer({ seed: 'gshard-train', kinds: KINDS, tokens: 60, dModel: 8, hidden: 12, topK: 2, gating: 'gshard', residual: true, capacityFactor: 0.8 });
      const ref = referenceMoeLayer({ ...layer.reference, capacityFactor: null }, layer.x, layer.previousLogits);
      const rng = trainingContext('gshard', 2).rng;
      const kept = ref.topK.map((top, n) => 2 * ref.probs[n][top[1]] > rng());
      expect(kept.some((k) => !k)).toBe(true);
      tf.tidy(() => {
        const out = layer.layer.forward(tf.tensor2d(layer.x), tf.tensor2d(layer.previousLogits as Matrix), trainingContext('gshard', 2));
        const E = KINDS.length;
        const capacity = out.plan.capacity as Int32Array;
        const load = new Array<number>(E).fill(0);
        let dropped = 0;
        const expectedKept = new Array<number>(60 * E).fill(0);
        for (let j = 0; j < 2; j++) for (let n = 0; n < 60; n++) {
          const e = ref.topK[n][j];
          if (j === 1 && !kept[n]) continue;
          if (load[e] >= capacity[e]) dropped++;
          else { load[e]++; expectedKept[n * E + e] = 1; }
        }
        expect(Array.from(out.plan.keptMask)).toEqual(expectedKept);
        expect(out.plan.droppedSlots).toBe(dropped);
        const weights = ref.weights.map((row, n) => row.map((w, e) => w * expectedKept[n * E + e]));
        expect(maxAbsDiff(out.routingWeights, weights)).toBeLessThan(1e-6);
      });
      layer.dispose();
    });

    it('evaluation is deterministic', () => expectDeterministicEvaluation({ topK: 2, gating: 'gshard', residual: true }));
    it('training gradients match finite differences', () =>
      expectGradients('gshard-grad', { topK: 2, gating: 'gshard', residual: true }, () => trainingContext('fd', 1)));
  });

  describe('expert-choice (Zhou et al. 2022; comparison only)', () => {
    it('each expert takes its top-C tokens, weighted by S; equals the float64 reference', () => {
      const layer = randomLayer({ seed: 'ec', kinds: KINDS, tokens: 40, dModel: 8, hidden: 12, topK: 2, gating: 'expert-choice', residual: true });
      const { x, previousLogits: prev, reference: r } = layer;
      const ref = referenceExpertChoice(withResidual(x, r.wR, prev, r.wG), 2);
      const output = x.map((token, n) => {
        const y = new Array<number>(token.length).fill(0);
        r.experts.forEach((expert, e) => {
          if (ref.weights[n][e] !== 0) referenceExpert(expert, token).forEach((v, d) => (y[d] += ref.weights[n][e] * v));
        });
        return y;
      });
      tf.tidy(() => {
        const out = layer.layer.forward(tf.tensor2d(x), tf.tensor2d(prev as Matrix), evaluationContext());
        expect(maxAbsDiff(out.routingWeights, ref.weights)).toBeLessThan(1e-6);
        expect(maxAbsDiff(out.output, output)).toBeLessThan(1e-5);
        const load = new Array<number>(KINDS.length).fill(0);
        out.plan.keptMask.forEach((k, i) => (load[i % KINDS.length] += k));
        expect(load).toEqual(new Array<number>(KINDS.length).fill(expertChoiceCapacity(40, KINDS.length, 2))); // C = 10 each
        const expertsPerToken = ref.weights.map((row) => row.filter((w) => w !== 0).length);
        expect(new Set(expertsPerToken).size).toBeGreaterThan(1); // tokens get different numbers of experts
      });
      layer.dispose();
    });
    it('gradients match finite differences', () => expectGradients('ec-grad', { topK: 2, gating: 'expert-choice', residual: true }, () => evaluationContext()));
  });

  describe('attention router (Yuan 2.0-M32)', () => {
    it.each(['reference', 'mixtral'])('%s gating: equals the float64 reference', (gating) => {
      expectReference(`attn${gating}`, { topK: 2, gating, residual: true, attentionRouter: true });
    });
    it('gradients (W_Q, W_K, W_V) match finite differences', () =>
      expectGradients('attn-grad', { topK: 2, gating: 'mixtral', residual: true, attentionRouter: true }, () => evaluationContext()));
  });

  describe('the released MoE++ 7B: two-layer router, expert input × K', () => {
    it.each(['reference', 'sigmoid-bias'])('%s gating: equals the float64 reference', (gating) => {
      expectReference(`7b${gating}`, { topK: 2, gating, residual: true, routerHidden: 16, expertInputTimesTopK: true });
    });
    it('gradients (W_hidden included) match finite differences', () =>
      expectGradients('7b-grad', { topK: 2, gating: 'reference', residual: true, routerHidden: 6, expertInputTimesTopK: true }, () => evaluationContext()));
  });
});

describe('DeepSeek-V3 sequence-wise balance loss (cpu)', () => {
  beforeAll(() => useBackend('cpu'));
  const [B, T, E, K] = [3, 5, 4, 2];

  it('equals Σ_i f_i P_i per sequence, averaged over sequences; 1.0 when every sequence is balanced', () => {
    const rng = seedrandom('seq');
    const probs = randomMatrix(rng, B * T, E).map((row) => referenceSoftmax(row));
    const top = probs.map((row) => referenceTopK(row, K));
    const mask = new Float32Array(B * T * E);
    top.forEach((t, n) => t.forEach((e) => (mask[n * E + e] = 1)));
    let expected = 0;
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < E; i++) {
        let f = 0;
        let p = 0;
        for (let t = 0; t < T; t++) {
          f += top[b * T + t].includes(i) ? E / (K * T) : 0;
          p += probs[b * T + t][i] / T;
        }
        expected += (f * p) / B;
      }
    }
    const value = tf.tidy(() => sequenceBalanceLoss(tf.tensor2d(probs), mask, B, T, K).dataSync()[0]);
    expect(value).toBeCloseTo(expected, 6);
    // Uniform probabilities: L = Σ_i f_i / E = 1 whatever the selection.
    const uniform = tf.tidy(() => sequenceBalanceLoss(tf.fill([B * T, E], 1 / E) as tf.Tensor2D, mask, B, T, K).dataSync()[0]);
    expect(uniform).toBeCloseTo(1, 6);
  });

  it('its gradient w.r.t. the probabilities matches finite differences', () => {
    const probs = tf.variable(tf.tensor2d(randomMatrix(seedrandom('seq-grad'), B * T, E).map((row) => referenceSoftmax(row))));
    const mask = new Float32Array(B * T * E).map((_, i) => (i % 3 === 0 ? 1 : 0));
    const loss = () => tf.tidy(() => sequenceBalanceLoss(probs as tf.Variable<tf.Rank.R2>, mask, B, T, K));
    const { grads, value } = tf.variableGrads(loss, [probs]);
    value.dispose();
    const plans: string[] = [];
    expect(checkParameterGradients([probs], grads, () => { plans.push(''); return loss(); }, plans, '', 5, seedrandom('e'))).toBe(5);
    tf.dispose([probs, ...Object.values(grads)]);
  });

  it('the LM adds α · its mean over layers to the loss; absent, the loss is unchanged', () => {
    const tinyConfig = (extra: Record<string, unknown>) =>
      resolveModelConfig({ vocabSize: 40, dModel: 16, nLayers: 2, nHeads: 2, maxSeqLen: 8, denseFfnHidden: 16, routerAuxLossCoef: 0, moe: { experts: { ffn: 4, zero: 1, copy: 1, constant: 2 }, ffnHidden: 16, gating: 'sigmoid-bias' }, ...extra });
    const inputs = tf.tensor2d([[1, 5, 9, 13, 17, 21, 25, 29], [2, 6, 10, 14, 18, 22, 26, 30]], [2, 8], 'int32');
    const targets = tf.tensor2d([[5, 9, 13, 17, 21, 25, 29, 33], [6, 10, 14, 18, 22, 26, 30, 34]], [2, 8], 'int32');
    const plain = new MoeppLM(tinyConfig({}), 5);
    const withLoss = new MoeppLM(tinyConfig({ sequenceBalanceLossCoef: 0.5 }), 5);
    const [a, b] = [plain, withLoss].map((m) =>
      tf.tidy(() => {
        const out = m.forward(inputs, { targets, context: evaluationContext() });
        return { loss: (out.loss as tf.Scalar).dataSync()[0], ce: (out.ce as tf.Scalar).dataSync()[0] };
      }),
    );
    expect(a.loss).toBe(a.ce); // β = 0, z-loss off, no sequence loss
    expect(b.ce).toBe(a.ce);
    expect(b.loss - b.ce).toBeGreaterThan(0.1); // α · L with L of order 1 (its value is checked above)
    expect(() => tinyConfig({ sequenceBalanceLossCoef: -1 })).toThrow(/sequenceBalanceLossCoef.*≥ 0/);
    tf.dispose([inputs, targets]);
    plain.dispose();
    withLoss.dispose();
  });
});

describe('routing family: configs', () => {
  const base = (moe: Record<string, unknown>): ModelConfigInput => ({ vocabSize: 32, dModel: 8, nLayers: 2, nHeads: 2, maxSeqLen: 8, denseFfnHidden: 8, moe: { experts: { ffn: 4, zero: 1, copy: 1, constant: 2 }, ffnHidden: 8, ...moe } });
  const error = (moe: Record<string, unknown>) => {
    try {
      resolveModelConfig(base(moe));
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      return (e as Error).message;
    }
    throw new Error('expected a ConfigError');
  };

  it('bad keys and values get one clear line naming the key and the fix', () => {
    expect(error({ gating: 'sigmoid-bias', gatingOptions: { biasRate: 0.1 } })).toMatch(/moe.gatingOptions.biasRate.*its options: biasUpdateRate, groups, topGroups/);
    expect(error({ gating: 'sigmoid-bias', gatingOptions: { groups: 3 } })).toMatch(/moe.gatingOptions.groups.*dividing the layer's 8 experts/);
    expect(error({ gating: 'sigmoid-bias', gatingOptions: { groups: 4, topGroups: 1 }, topK: 3 })).toMatch(/moe.gatingOptions.topGroups.*fewer than top-K 3/);
    expect(error({ gating: 'sigmoid-bias', gatingOptions: { biasUpdateRate: -1 } })).toMatch(/biasUpdateRate.*≥ 0/);
    expect(error({ gating: 'reference', gatingOptions: { groups: 2 } })).toMatch(/'reference' has no option 'groups' \(it takes no options\)/);
    expect(error({ gating: 'gshard', topK: 1 })).toMatch(/moe.gatingOptions.randomRouting.*set moe.topK: 2/);
    expect(error({ gating: 'hash' })).toMatch(/moe.gatingResidual.*set moe.gatingResidual: false/);
    expect(error({ gating: 'hash', gatingResidual: false, routerHidden: 8 })).toMatch(/moe.routerHidden.*no router/);
    expect(error({ routerJitter: 1.5 })).toMatch(/moe.routerJitter.*\[0, 1\)/);
    expect(error({ routerHidden: 0 })).toMatch(/moe.routerHidden.*whole number > 0/);
    expect(error({ expertInputTimesTopK: 'yes' })).toMatch(/moe.expertInputTimesTopK.*true or false/);
    expect(error({ routerJiter: 0.1 })).toMatch(/did you mean 'moe.routerJitter'/);
    expect(error({ attentionRouter: true, routerHidden: 8 })).toMatch(/moe.attentionRouter.*alternatives/);
    expect(error({ gating: 'expert-choice', capacityFactor: 1.1 })).toMatch(/moe.capacityFactor.*sets every expert's capacity itself/);
  });

  it('the new keys stay out of a resolved config that does not set them', () => {
    const config = resolveModelConfig(base({}));
    for (const key of ['gatingOptions', 'routerJitter', 'routerHidden', 'expertInputTimesTopK']) expect(config.moe).not.toHaveProperty(key);
  });
});

describe('routing family in the LM (cpu)', () => {
  beforeAll(() => useBackend('cpu'));
  const tiny = (moe: Record<string, unknown>) =>
    resolveModelConfig({ vocabSize: 40, dModel: 16, nLayers: 2, nHeads: 2, maxSeqLen: 8, denseFfnHidden: 16, moe: { experts: { ffn: 4, zero: 1, copy: 1, constant: 2 }, ffnHidden: 16, ...moe } });
  const ids = Array.from({ length: 2 * 9 }, (_, i) => (i * 7 + 3) % 40);
  const batch = () => ({
    inputs: tf.tensor2d([ids.slice(0, 8), ids.slice(9, 17)], [2, 8], 'int32'),
    targets: tf.tensor2d([ids.slice(1, 9), ids.slice(10, 18)], [2, 8], 'int32'),
  });

  it.each([
    ['noisy-top-k + jitter', { gating: 'noisy-top-k', routerJitter: 0.05 }],
    ['gshard + capacity', { gating: 'gshard', capacityFactor: 1.1 }],
    ['sigmoid-bias, groups', { gating: 'sigmoid-bias', gatingOptions: { biasUpdateRate: 0.01, groups: 2, topGroups: 1 } }],
    ['hash', { gating: 'hash', gatingResidual: false }],
    ['7B router and input', { routerHidden: 64, expertInputTimesTopK: true }],
    ['attention router', { attentionRouter: true, gating: 'mixtral' }],
    ['expert-choice', { gating: 'expert-choice' }],
  ])('%s: the loss falls over a few steps, no tensor leaks', (_, moe) => {
    const model = new MoeppLM(tiny(moe), 3);
    const { inputs, targets } = batch();
    const { losses, leakedTensors } = trainAFewSteps(model, inputs, targets, 'family');
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[7]).toBeLessThan(losses[0] - 0.1);
    expect(leakedTensors).toBe(0);
    tf.dispose([inputs, targets]);
    model.dispose();
  });

  it('balancing biases are saved with the weights and restored; a model without them writes none', () => {
    const config = tiny({ gating: 'sigmoid-bias', gatingOptions: { biasUpdateRate: 0.01 } });
    const model = new MoeppLM(config, 1);
    const { inputs, targets } = batch();
    const r = model.lossAndGradients(inputs, targets, trainingContext('bias', 0));
    model.updateRoutingState(r.expertLoad);
    tf.dispose([...r.grads.values()]);
    const names = [...model.buffers().keys()];
    expect(names).toEqual(['layers.0.moe.router.expert_bias', 'layers.1.moe.router.expert_bias']);
    const bias = Array.from(model.buffers().get(names[0]) as Float32Array);
    expect(bias.some((b) => b !== 0)).toBe(true);
    const restored = new MoeppLM(config, 2);
    loadModelWeights(restored, saveModelWeights(model));
    expect(Array.from(restored.buffers().get(names[0]) as Float32Array)).toEqual(bias);
    const plain = new MoeppLM(tiny({}), 1);
    expect(plain.buffers().size).toBe(0);
    expect(() => loadModelWeights(plain, saveModelWeights(model))).toThrow(/unexpected tensor 'layers.0.moe.router.expert_bias'/);
    tf.dispose([inputs, targets]);
    for (const m of [model, restored, plain]) m.dispose();
  });

  it('expert-choice is not causal: a later token changes an earlier token\'s output (token-choice gating: it does not)', () => {
    const earlierLogitsMove = (gating: string) => {
      const model = new MoeppLM(tiny({ gating }), 4);
      const seq = [3, 17, 5, 29, 11, 2, 36, 8];
      const logits = (last: number) =>
        tf.tidy(() => Array.from(model.forward(tf.tensor2d([[...seq.slice(0, 7), last]], [1, 8], 'int32'), { context: evaluationContext() }).logits.dataSync()).slice(0, 7 * 40));
      let moved = 0;
      const base = logits(8);
      for (const last of [0, 13, 21, 39]) moved = Math.max(moved, ...logits(last).map((v, i) => Math.abs(v - base[i])));
      model.dispose();
      return moved;
    };
    expect(earlierLogitsMove('expert-choice')).toBeGreaterThan(1e-4);
    expect(earlierLogitsMove('reference')).toBe(0);
  });

  it('parameter counts follow the router: W_noise, the two-layer router, no router for hash', () => {
    const count = (moe: Record<string, unknown>) => new MoeppLM(tiny(moe), 0);
    for (const moe of [{ gating: 'noisy-top-k' }, { routerHidden: 24 }, { gating: 'hash', gatingResidual: false }, { attentionRouter: true }, {}]) {
      const model = count(moe);
      expect(countParameters(model.config).total, JSON.stringify(moe)).toBe(model.parameters.size());
      model.dispose();
    }
  });
});
