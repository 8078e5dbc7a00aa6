import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { evaluationContext } from './forward-context.ts';
import { TEST_BACKENDS, useBackend } from './testing/backends.ts';
import { referenceMoeLayer } from './testing/reference-moe.ts';
import { maxAbsDiff, randomLayer } from './testing/random-layer.ts';

type GatingMode = string;
const MOEPP_KINDS: string[] = ['ffn', 'ffn', 'ffn', 'ffn', 'constant', 'copy', 'zero', 'zero'];

describe.each(TEST_BACKENDS)('MoE++ layer on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  describe('sparse dispatch equals the dense float64 reference', () => {
    const cases: [GatingMode, number, number | null, boolean][] = [];
    for (const gating of ['reference', 'paper', 'mixtral'] as GatingMode[])
      for (const k of [1, 2, 3])
        for (const capacity of [null, 0.6])
          cases.push([gating, k, capacity, k === 2]);
    it.each(cases)('gating %s, K=%i, capacity γ=%s, residual=%s', (gating, topK, capacityFactor, residual) => {
      const layer = randomLayer({ seed: `${gating}${topK}${capacityFactor}`, kinds: MOEPP_KINDS, tokens: 40, dModel: 8, hidden: 12, topK, gating, capacityFactor, residual });
      const ref = referenceMoeLayer(layer.reference, layer.x, layer.previousLogits);
      tf.tidy(() => {
        const prev = layer.previousLogits ? tf.tensor2d(layer.previousLogits) : null;
        const out = layer.layer.forward(tf.tensor2d(layer.x), prev, evaluationContext());
        expect(maxAbsDiff(out.output, ref.output)).toBeLessThan(1e-5);
        expect(maxAbsDiff(out.routingWeights, ref.weights)).toBeLessThan(1e-6);
        expect(maxAbsDiff(out.routerProbs, ref.probs)).toBeLessThan(1e-6);
        expect(Array.from(out.plan.topKIndex)).toEqual(ref.topK.flat());
        expect(out.plan.droppedSlots).toBe(ref.dropped);
        if (capacityFactor !== null) expect(ref.dropped).toBeGreaterThan(0); // the case exercises dropping
      });
      layer.dispose();
    });
  });

  it('only FFN slots enter FFN matmuls: the FFN slot list holds exactly the kept FFN choices', () => {
    const layer = randomLayer({ seed: 'slots', kinds: MOEPP_KINDS, tokens: 64, dModel: 8, hidden: 12, topK: 2, gating: 'reference' });
    tf.tidy(() => {
      const out = layer.layer.forward(tf.tensor2d(layer.x), null, evaluationContext());
      const ffnChoices = Array.from(out.plan.topKIndex).filter((e) => MOEPP_KINDS[e] === 'ffn').length;
      expect(out.plan.rowSlotToken.length).toBe(ffnChoices);
      expect(ffnChoices).toBeLessThan(64 * 2); // some tokens went to ZC experts
      for (let s = 0; s < out.plan.rowSlotWeightIndex.length; s++) {
        const e = out.plan.rowSlotWeightIndex[s] % MOEPP_KINDS.length;
        expect(MOEPP_KINDS[e]).toBe('ffn');
      }
    });
    layer.dispose();
  });
});

// Native TensorFlow runs the layer through plain tf ops (gather, slice, segment-sum) instead of the
// host op; there is no native TensorFlow here, so that path is forced on cpu and held to the same
// reference.
describe('MoE++ layer through the tf-ops executor (native TensorFlow\'s), on cpu', () => {
  beforeAll(() => useBackend('cpu'));

  it.each([['reference', 2, null, true], ['paper', 1, 0.6, false], ['mixtral', 3, null, false]] as [GatingMode, number, number | null, boolean][])(
    'gating %s, K=%i, capacity γ=%s, residual=%s equals the dense float64 reference',
    (gating, topK, capacityFactor, residual) => {
      const layer = randomLayer({ seed: `tf-ops${gating}${topK}`, kinds: MOEPP_KINDS, tokens: 40, dModel: 8, hidden: 12, topK, gating, capacityFactor, residual, executor: 'tf-ops' });
      const ref = referenceMoeLayer(layer.reference, layer.x, layer.previousLogits);
      tf.tidy(() => {
        const prev = layer.previousLogits ? tf.tensor2d(layer.previousLogits) : null;
        const out = layer.layer.forward(tf.tensor2d(layer.x), prev, evaluationContext());
        expect(maxAbsDiff(out.output, ref.output)).toBeLessThan(1e-5);
      });
      layer.dispose();
    },
  );
});
