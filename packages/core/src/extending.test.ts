/**
 * docs/extending.md, proved: two expert kinds and one gating mode defined and registered in this
 * file alone — nothing else in the repo knows them — pass the same checks as the built-in ones:
 * the float64 reference on every backend and both executors, finite-difference gradients, config
 * validation, and a few training steps of a whole LM.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import seedrandom from 'seedrandom';
import {
  registerExpertKind,
  unregisterExpertKind,
  type ExpertKind,
  type ExpertParams,
  type TokenwiseExpertHost,
} from './experts/index.ts';
import { referenceTopK, registerGatingMode, selectTopK, unregisterGatingMode, type GatingMode } from './gating/index.ts';
import { ConfigError, resolveModelConfig } from './config.ts';
import { MoeppLM } from './model.ts';
import { evaluationContext } from './forward-context.ts';
import { balanceWeights } from './losses.ts';
import { heterogeneousCapacity } from './dispatch.ts';
import { TEST_BACKENDS, useBackend } from './testing/backends.ts';
import { referenceMoeLayer } from './testing/reference-moe.ts';
import { maxAbsDiff, randomLayer, randomMatrix } from './testing/random-layer.ts';
import { checkInputGradient, checkParameterGradients } from './testing/finite-differences.ts';
import { trainAFewSteps } from './testing/train-a-few-steps.ts';

/** A zero-computation kind with a learned per-dimension scale: E(x) = s ⊙ x (O(D), token-wise). */
const scaleHost: TokenwiseExpertHost<{ s: Float32Array; d: number }> = {
  prepare: ([s], d) => ({ s, d }),
  forward({ s, d }, x, w, out) {
    // No a(x)·x part (keep stays): all of it is b(x) = s ⊙ x.
    for (let n = 0; n < w.length; n++) {
      if (w[n] === 0) continue;
      for (let j = 0; j < d; j++) out[n * d + j] += w[n] * s[j] * x[n * d + j];
    }
  },
  backward({ s, d }, x, g, w, _xg, dx, dWeight, _keep, [ds]) {
    for (let n = 0; n < w.length; n++) {
      const t = n * d;
      for (let j = 0; j < d; j++) {
        dWeight[n] += s[j] * x[t + j] * g[t + j];
        dx[t + j] += w[n] * s[j] * g[t + j];
        ds[j] += w[n] * x[t + j] * g[t + j];
      }
    }
  },
};
const scaleExpert: ExpertKind = {
  name: 'toy-scale',
  description: 'toy zero-computation expert s ⊙ x',
  costClass: 'zero-computation',
  layoutOrder: 5,
  dispatch: 'tokenwise',
  outputIsZero: false,
  parameters: ({ dModel }) => [{ key: 's', name: 's', shape: [dModel] }],
  flopsPerToken: () => 0,
  forward: (x, p: ExpertParams) => tf.mul(x, p.s) as tf.Tensor2D,
  host: { tokenwise: scaleHost as TokenwiseExpertHost },
  reference: (p, x) => x.map((v, i) => v * (p.s as number[])[i]),
};

/** An FFN-like kind run on its dispatched rows: E(x) = tanh(x W_in) W_out (smooth, for finite differences). */
const tanhExpert: ExpertKind = {
  name: 'toy-tanh',
  description: 'toy FFN-like expert tanh(x W_in) W_out',
  costClass: 'ffn',
  layoutOrder: 0.5,
  dispatch: 'rows',
  outputIsZero: false,
  parameters: ({ dModel: D, ffnHidden: I }) => [
    { key: 'wIn', name: 'w_in', shape: [D, I] },
    { key: 'wOut', name: 'w_out', shape: [I, D] },
  ],
  flopsPerToken: ({ dModel, ffnHidden }) => 2 * 2 * dModel * ffnHidden,
  forward: (x, p) => tf.matMul(tf.tanh(tf.matMul(x, p.wIn)), p.wOut) as tf.Tensor2D,
  host: {
    rows: {
      forward(rows, p) {
        const h = tf.tanh(tf.matMul(rows, p.wIn)) as tf.Tensor2D; // (n, I)
        const y = tf.matMul(h, p.wOut) as tf.Tensor2D; // (n, D)
        return { y, saved: [h] };
      },
      backward(rows, [h], dy, p) {
        const dh = tf.mul(tf.matMul(dy, p.wOut, false, true), tf.sub(1, tf.square(h))); // (n, I)
        return { dx: tf.matMul(dh, p.wIn, false, true) as tf.Tensor2D, paramGrads: [tf.matMul(rows, dh, true, false), tf.matMul(h, dy, true, false)] };
      },
    },
  },
  reference(p, x) {
    const wIn = p.wIn as number[][];
    const wOut = p.wOut as number[][];
    const h = wIn[0].map((_, j) => Math.tanh(x.reduce((s, xi, i) => s + xi * wIn[i][j], 0)));
    return x.map((_, d) => h.reduce((s, hj, j) => s + hj * wOut[j][d], 0));
  },
};

/**
 * A gating mode whose ranking differs from the logits' order: sigmoid scores, a fixed per-expert
 * bias added for selection only (as DeepSeek-V3's balancing bias is), weights = the selected
 * sigmoid scores normalised to sum to 1.
 */
const rankingBias = (experts: number) => Array.from({ length: experts }, (_, e) => [0.25, 0, -0.25][e % 3]);
const toyGating: GatingMode = {
  name: 'toy-biased-sigmoid',
  description: 'sigmoid scores, top-K of score + fixed bias, normalised selected scores',
  gate({ routerLogits, hostLogits, topK }) {
    const [tokens, experts] = routerLogits.shape;
    const bias = rankingBias(experts);
    const scores = hostLogits.map((l, i) => 1 / (1 + Math.exp(-l)) + bias[i % experts]);
    const selection = selectTopK(Float32Array.from(scores), tokens, experts, topK);
    const routerProbs = tf.sigmoid(routerLogits) as tf.Tensor2D;
    const selected = tf.mul(routerProbs, tf.tensor2d(selection.selectedMask, [tokens, experts]));
    const gateWeights = tf.div(selected, tf.sum(selected, 1, true)) as tf.Tensor2D;
    return { selection, routerProbs, gateWeights };
  },
  reference(logits, _kinds, topK) {
    const probs = logits.map((l) => 1 / (1 + Math.exp(-l)));
    const bias = rankingBias(logits.length);
    const top = referenceTopK(probs.map((p, e) => p + bias[e]), topK);
    const total = top.reduce((s, e) => s + probs[e], 0);
    const weights = logits.map((_, e) => (top.includes(e) ? probs[e] / total : 0));
    return { probs, topK: top, weights };
  },
};

const KINDS = ['ffn', 'toy-tanh', 'toy-tanh', 'toy-scale', 'copy', 'zero'];

beforeAll(() => {
  registerExpertKind(scaleExpert);
  registerExpertKind(tanhExpert);
  registerGatingMode(toyGating);
});
afterAll(() => {
  unregisterExpertKind(scaleExpert.name);
  unregisterExpertKind(tanhExpert.name);
  unregisterGatingMode(toyGating.name);
});

describe('kinds and modes registered from outside core', () => {
  it('the registry gives them their cost class everywhere: η, capacity', () => {
    expect(Array.from(balanceWeights(KINDS, 0.5))).toEqual([1, 1, 1, 0.5, 0.5, 0.5]);
    const cap = heterogeneousCapacity(KINDS, 10, 2, 0.5, 1);
    expect(cap[1]).toBe(cap[0]); // toy-tanh is FFN-like
    expect(cap[3]).toBe(cap[4]); // toy-scale is zero-computation
  });

  it('configs accept them, and the toy ranking differs from the logits order', () => {
    const config = resolveModelConfig({ moe: { experts: { ffn: 1, 'toy-tanh': 2, 'toy-scale': 1, zero: 1 }, gating: 'toy-biased-sigmoid' } });
    expect(config.moe?.gating).toBe('toy-biased-sigmoid');
    expect(() => resolveModelConfig({ moe: { experts: { ffn: 1, 'toy-scal': 1 } } })).toThrow(ConfigError);
    const logits = [0.3, 0.5, 0, -2];
    expect(toyGating.reference(logits, KINDS.slice(0, 4), 1).topK).not.toEqual(referenceTopK(logits, 1));
  });
});

describe.each(TEST_BACKENDS)('toy kinds and gating mode on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  it.each([['host', null], ['host', 0.7], ['tf-ops', null]] as const)('%s executor, capacity γ=%s, equal the float64 reference', (executor, capacityFactor) => {
    if (executor === 'tf-ops' && backend === 'wasm') return; // plain wasm lacks UnsortedSegmentSum (the kernel patches add it)
    const layer = randomLayer({ seed: `toy${executor}${capacityFactor}`, kinds: KINDS, tokens: 40, dModel: 8, hidden: 12, topK: 2, gating: toyGating.name, capacityFactor, residual: true, executor });
    const ref = referenceMoeLayer(layer.reference, layer.x, layer.previousLogits);
    tf.tidy(() => {
      const out = layer.layer.forward(tf.tensor2d(layer.x), tf.tensor2d(layer.previousLogits!), evaluationContext());
      expect(maxAbsDiff(out.output, ref.output)).toBeLessThan(1e-5);
      expect(maxAbsDiff(out.routingWeights, ref.weights)).toBeLessThan(1e-6);
      expect(maxAbsDiff(out.routerProbs, ref.probs)).toBeLessThan(1e-6);
      expect(Array.from(out.plan.topKIndex)).toEqual(ref.topK.flat());
      expect(out.plan.droppedSlots).toBe(ref.dropped);
      // Every kind was exercised.
      for (const k of [scaleExpert.name, tanhExpert.name]) expect(ref.topK.flat().some((e) => KINDS[e] === k), k).toBe(true);
    });
    layer.dispose();
  });

  it('host-executor gradients of every parameter and of x match finite differences', () => {
    const layer = randomLayer({ seed: 'toy-grad', kinds: KINDS, tokens: 48, dModel: 4, hidden: 6, topK: 2, gating: toyGating.name, residual: true });
    const probe = tf.tensor2d(randomMatrix(seedrandom('probe'), 48, 4));
    const x = tf.variable(tf.tensor2d(layer.x)) as tf.Variable<tf.Rank.R2>;
    const prev = tf.tensor2d(layer.previousLogits!);
    const plans: string[] = [];
    const loss = () =>
      tf.tidy(() => {
        const out = layer.layer.forward(x, prev, evaluationContext());
        plans.push(Array.from(out.plan.topKIndex).join());
        return tf.sum(tf.mul(out.output, probe)) as tf.Scalar;
      });
    const { grads, value } = tf.variableGrads(loss, [...layer.variables, x]);
    value.dispose();
    expect(layer.variables.filter((v) => !grads[v.name]).map((v) => v.shape.join('x'))).toEqual([]);
    const basePlan = plans[0];
    const checked = checkParameterGradients(layer.variables, grads, loss, plans, basePlan, 2, seedrandom('entries'));
    expect(checked).toBe(layer.variables.length * 2);
    checkInputGradient(x, grads[x.name], loss, plans, basePlan);
    tf.dispose([probe, x, prev, ...Object.values(grads)]);
    layer.dispose();
  });

  it('an LM with them trains: the loss falls over a few steps, no tensor leaks', () => {
    const config = resolveModelConfig({
      vocabSize: 40, dModel: 16, nLayers: 2, nHeads: 2, maxSeqLen: 8, denseFfnHidden: 16,
      moe: { experts: { ffn: 2, 'toy-tanh': 1, 'toy-scale': 1, copy: 1 }, ffnHidden: 16, gating: toyGating.name },
    });
    const model = new MoeppLM(config, 3);
    const ids = Array.from({ length: 2 * 9 }, (_, i) => (i * 7 + 3) % 40);
    const inputs = tf.tensor2d([ids.slice(0, 8), ids.slice(9, 17)], [2, 8], 'int32');
    const targets = tf.tensor2d([ids.slice(1, 9), ids.slice(10, 18)], [2, 8], 'int32');
    const { losses, leakedTensors } = trainAFewSteps(model, inputs, targets, 'toy');
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[7]).toBeLessThan(losses[0] - 0.1);
    expect(leakedTensors).toBe(0);
    tf.dispose([inputs, targets]);
    model.dispose();
  });
});
