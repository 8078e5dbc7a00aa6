/**
 * Shared experts (DeepSeekMoE, Qwen2-MoE): the layer with them equals the float64 reference (the
 * routed experts plus g(x)·FFN_shared(x), with ZC experts, capacity and the gating residual), on
 * every backend and both executors; every parameter's and x's gradient matches finite
 * differences; counts, config defaults and errors; an LM with them trains.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import seedrandom from 'seedrandom';
import { ConfigError, resolveModelConfig, type ModelConfigInput } from './config.ts';
import { countParameters, forwardFlopsPerToken } from './counting.ts';
import { MoeppLM } from './model.ts';
import { evaluationContext } from './forward-context.ts';
import { TEST_BACKENDS, useBackend } from './testing/backends.ts';
import { referenceMoeLayer } from './testing/reference-moe.ts';
import { maxAbsDiff, randomLayer, randomMatrix } from './testing/random-layer.ts';
import { checkInputGradient, checkParameterGradients } from './testing/finite-differences.ts';
import { trainAFewSteps } from './testing/train-a-few-steps.ts';

const KINDS = ['ffn', 'ffn', 'ffn', 'constant', 'copy', 'zero'];

describe.each(TEST_BACKENDS)('shared experts on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  it.each([
    ['host', true, null, 'reference'],
    ['host', false, 0.7, 'reference'],
    ['tf-ops', true, null, 'reference'],
    ['host', true, null, 'sigmoid-bias'],
    ['host', false, 0.7, 'gshard'],
  ] as const)('%s executor, gated=%s, capacity γ=%s, %s gating: equals the float64 reference', (executor, gated, capacityFactor, gating) => {
    if (executor === 'tf-ops' && backend === 'wasm') return; // plain wasm lacks UnsortedSegmentSum (the kernel patches add it)
    const sharedExperts = { count: 2, hidden: 5, gated };
    const layer = randomLayer({ seed: `shared${executor}${gated}`, kinds: KINDS, tokens: 40, dModel: 8, hidden: 12, topK: 2, gating, capacityFactor, residual: true, executor, sharedExperts });
    const ref = referenceMoeLayer(layer.reference, layer.x, layer.previousLogits);
    const withoutShared = referenceMoeLayer({ ...layer.reference, shared: null }, layer.x, layer.previousLogits);
    tf.tidy(() => {
      const out = layer.layer.forward(tf.tensor2d(layer.x), tf.tensor2d(layer.previousLogits!), evaluationContext());
      expect(maxAbsDiff(out.output, ref.output)).toBeLessThan(1e-5);
      // The shared path is a real part of the output (the check would pass without it otherwise).
      expect(maxAbsDiff(out.output, withoutShared.output)).toBeGreaterThan(1e-2);
      expect(out.plan.droppedSlots).toBe(ref.dropped);
    });
    layer.dispose();
  });

  it.each([true, false])('gradients of every parameter (shared, gate, routed, router) and of x match finite differences, gated=%s', (gated) => {
    const layer = randomLayer({ seed: `shared-grad${gated}`, kinds: KINDS, tokens: 12, dModel: 4, hidden: 6, topK: 2, gating: 'reference', residual: true, sharedExperts: { count: 2, hidden: 3, gated } });
    const probe = tf.tensor2d(randomMatrix(seedrandom('probe'), 12, 4));
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
    const shared = layer.layer.params.shared!;
    const sharedVariables = [shared.ffn.wGate, shared.ffn.wUp, shared.ffn.wDown, ...(shared.wGate ? [shared.wGate] : [])];
    for (const v of sharedVariables) expect(layer.variables).toContain(v);
    expect(layer.variables.filter((v) => !grads[v.name]).map((v) => v.shape.join('x'))).toEqual([]);
    const checked = checkParameterGradients(layer.variables, grads, loss, plans, plans[0], 3, seedrandom('entries'));
    expect(checked).toBe(layer.variables.length * 3);
    checkInputGradient(x, grads[x.name], loss, plans, plans[0]);
    tf.dispose([probe, x, prev, ...Object.values(grads)]);
    layer.dispose();
  });

  it('an LM with shared experts, ZC experts and the residual trains, without leaking tensors', () => {
    const config = resolveModelConfig({
      vocabSize: 40, dModel: 16, nLayers: 2, nHeads: 2, maxSeqLen: 8, denseFfnHidden: 16,
      moe: { experts: { ffn: 3, copy: 1, zero: 1 }, ffnHidden: 16, sharedExperts: { count: 1, gated: true } },
    });
    const model = new MoeppLM(config, 3);
    expect(model.parameters.get('layers.1.moe.shared_experts.w_up').shape).toEqual([16, 16]);
    expect(model.parameters.get('layers.1.moe.shared_experts.gate').shape).toEqual([16, 1]);
    const ids = Array.from({ length: 18 }, (_, i) => (i * 7 + 3) % 40);
    const inputs = tf.tensor2d([ids.slice(0, 8), ids.slice(9, 17)], [2, 8], 'int32');
    const targets = tf.tensor2d([ids.slice(1, 9), ids.slice(10, 18)], [2, 8], 'int32');
    const { losses, leakedTensors } = trainAFewSteps(model, inputs, targets, 'shared');
    expect(losses[7]).toBeLessThan(losses[0] - 0.1);
    expect(leakedTensors).toBe(0);
    tf.dispose([inputs, targets]);
    model.dispose();
  });
});

describe('shared experts in the config and the counts', () => {
  const base: ModelConfigInput = {
    vocabSize: 10, dModel: 8, nLayers: 2, nHeads: 2, maxSeqLen: 6, denseFfnHidden: 16,
    moe: { experts: { ffn: 2, zero: 1, constant: 1 }, ffnHidden: 4, topK: 2, tau: 0.5, gatingResidual: true },
  };
  const withShared = (sharedExperts: object): ModelConfigInput => ({ ...base, moe: { ...base.moe, sharedExperts } as never });

  it('absent by default, so configs and checkpoints written before them are unchanged', () => {
    expect(resolveModelConfig(base).moe).not.toHaveProperty('sharedExperts');
    expect(resolveModelConfig(withShared({ count: 2 })).moe?.sharedExperts).toEqual({ count: 2, hidden: 4, gated: false });
  });

  it('count in total and active parameters and in FLOPs, by hand', () => {
    const plain = resolveModelConfig(base);
    const gated = resolveModelConfig(withShared({ count: 2, hidden: 3, gated: true }));
    const perLayer = 3 * 8 * (2 * 3) + 8; // one SwiGLU of hidden 2·3, plus the (8, 1) gate
    expect(countParameters(gated).total - countParameters(plain).total).toBe(2 * perLayer);
    expect(countParameters(gated).activePerToken - countParameters(plain).activePerToken).toBe(2 * perLayer);
    expect(forwardFlopsPerToken(gated) - forwardFlopsPerToken(plain)).toBeCloseTo(2 * (2 * 3 * 8 * 6 + 2 * 8), 9);
    // The counts agree with the parameters the model builds.
    const model = new MoeppLM(gated, 1);
    expect(model.parameters.size()).toBe(countParameters(gated).total);
    model.dispose();
  });

  it.each([
    [{ count: 0 }, 'moe.sharedExperts.count', /whole number > 0/],
    [{ count: 1, hiden: 8 }, 'moe.sharedExperts.hiden', /did you mean 'moe.sharedExperts.hidden'/],
    [{ count: 1, gated: 'yes' }, 'moe.sharedExperts.gated', /expected true .* or false/],
    [3, 'moe.sharedExperts', /expected \{ count, hidden\?, gated\? \}/],
  ])('rejects %j with one line naming the key', (sharedExperts, path, message) => {
    try {
      resolveModelConfig(withShared(sharedExperts as object));
      throw new Error('expected a ConfigError');
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).path).toBe(path);
      expect((e as ConfigError).message).toMatch(message);
    }
  });
});
