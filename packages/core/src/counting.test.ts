import { describe, expect, it } from 'vitest';
import { countParameters, forwardFlopsPerToken } from './counting.ts';
import { resolveModelConfig } from './config.ts';

// D 8, V 10, 2 blocks, both MoE++ with (2+2)E = 2 FFN (I 4), 1 zero, 1 constant; K 2; τ 0.5; tied.
const config = resolveModelConfig({
  vocabSize: 10, dModel: 8, nLayers: 2, nHeads: 2, maxSeqLen: 6, denseFfnHidden: 16,
  moe: { experts: { ffn: 2, zero: 1, constant: 1 }, ffnHidden: 4, topK: 2, tau: 0.5, gatingResidual: true },
});

describe('parameter and FLOP counts (by hand)', () => {
  it('total and active parameters', () => {
    const embed = 10 * 8 + 8; // embedding + final norm
    const shared = 2 * 8 + 4 * 8 * 8; // norms + attention, per block
    const router = [8 * 4, 8 * 4 + 4 * 4]; // W_r; + W_g on the second MoE++ layer
    const ffn = 3 * 8 * 4;
    const constant = 3 * 8;
    expect(countParameters(config).total).toBe(embed + 2 * shared + router[0] + router[1] + 2 * (2 * ffn + constant));
    // Balanced load: FFN slots per token 2·0.5·2/(0.5·2 + 2) = 2/3; constant 2·1/3 = 2/3.
    const active = embed + 2 * shared + router[0] + router[1] + 2 * ((2 / 3) * ffn + (2 / 3) * constant);
    const counts = countParameters(config);
    expect(counts.activePerToken).toBe(Math.round(active));
    expect(counts.ffnExpertsPerToken).toEqual([2 / 3, 2 / 3]);
    expect(countParameters(config, [1, 2]).ffnExpertsPerToken).toEqual([1, 2]);
  });

  it('forward FLOPs per token', () => {
    const perBlock = 2 * 4 * 8 * 8 + 2 * 2 * 6 * 8 + 2 * 8 * 4 + (2 / 3) * 2 * 3 * 8 * 4;
    expect(forwardFlopsPerToken(config)).toBeCloseTo(2 * 8 * 10 + 2 * perBlock, 9);
    const dense = resolveModelConfig({ ...config, moe: null });
    expect(forwardFlopsPerToken(dense, 6)).toBeCloseTo(2 * 8 * 10 + 2 * (2 * 4 * 8 * 8 + 2 * 2 * 6 * 8 + 2 * 3 * 8 * 16), 9);
  });
});
