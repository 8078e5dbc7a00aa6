/**
 * Fine-grained segmentation (`moe.granularity`): the resolved numbers, equal parameters and
 * active compute against the coarse layer (by the project's own counts), idempotent re-resolving
 * (a run's config.json is re-resolved on load), and one clear error per bad input.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, resolveModelConfig, type ModelConfigInput, type MoeConfigInput } from './config.ts';
import { countParameters, forwardFlopsPerToken } from './counting.ts';
import { applyGranularity } from './fine-grained.ts';

const model = { vocabSize: 64, dModel: 16, nLayers: 2, nHeads: 2, maxSeqLen: 8, denseFfnHidden: 32 };

describe('moe.granularity', () => {
  it('m× experts (ZC included) of 1/m the width, m× top-K; no granularity key left', () => {
    const fine = resolveModelConfig({ ...model, moe: { experts: { ffn: 4, zero: 1, copy: 1 }, topK: 2, ffnHidden: 32, granularity: 4 } });
    expect(fine.moe).toMatchObject({ experts: { ffn: 16, zero: 4, copy: 4 }, topK: 8, ffnHidden: 8 });
    expect(fine.moe).not.toHaveProperty('granularity');
    expect(resolveModelConfig(fine as ModelConfigInput)).toEqual(fine);
    expect(applyGranularity({ experts: { ffn: 4 }, granularity: 1 })).toEqual({ experts: { ffn: 4 }, topK: 2, ffnHidden: 512 });
  });

  it.each([
    ['vanilla MoE', { experts: { ffn: 4 }, gatingResidual: false }],
    ['MoE++ with ZC experts', { experts: { ffn: 4, zero: 1, copy: 1, constant: 2 } }],
    ['with a shared expert', { experts: { ffn: 4 }, sharedExperts: { count: 1 } }],
  ] as [string, MoeConfigInput][])('%s: parameters and FFN compute of the coarse layer, up to the router', (_, moe) => {
    const coarse = resolveModelConfig({ ...model, moe: { ...moe, topK: 2, ffnHidden: 32 } });
    const fine = resolveModelConfig({ ...model, moe: { ...moe, topK: 2, ffnHidden: 32, granularity: 2 } });
    const E = Object.values(coarse.moe!.experts).reduce((s, n) => s + n, 0);
    // The router grows from D·E to D·2E (and W_g from E² to 4E²); the experts stay the same size.
    const residualLayers = coarse.moe!.gatingResidual ? 1 : 0;
    const routerGrowth = 2 * 16 * E + residualLayers * 3 * E * E;
    const constantGrowth = (coarse.moe!.experts.constant ?? 0) * 2 * 3 * 16; // constant experts are O(D) each, and doubled
    // The shared expert, given without a width, takes the segmented one (DeepSeekMoE's).
    const sharedShrink = moe.sharedExperts ? 2 * 3 * 16 * 16 : 0;
    expect(countParameters(fine).total - countParameters(coarse).total).toBe(routerGrowth + constantGrowth - sharedShrink);
    expect(countParameters(fine).ffnExpertsPerToken).toEqual(countParameters(coarse).ffnExpertsPerToken.map((f) => 2 * f));
    // FLOPs: the FFN part is equal; only the router's 2·D·E grows (and the shared expert shrinks).
    const flopsGap = forwardFlopsPerToken(fine) - forwardFlopsPerToken(coarse);
    expect(flopsGap).toBeCloseTo(2 * (2 * 16 * E) - (moe.sharedExperts ? 2 * 2 * 3 * 16 * 16 : 0), 6);
  });

  it.each([
    [{ granularity: 0 }, /expected a whole number ≥ 1/],
    [{ granularity: 1.5 }, /expected a whole number ≥ 1/],
    [{ ffnHidden: 30, granularity: 4 }, /needs moe.ffnHidden divisible by 4; choose a divisor of 30/],
    [{ granularity: 3 }, /hidden width 512 into 3 parts/],
  ])('rejects %j with one clear line', (moe, message) => {
    try {
      resolveModelConfig({ ...model, moe: moe as never });
      throw new Error('expected a ConfigError');
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as Error).message).toMatch(message);
    }
  });
});
