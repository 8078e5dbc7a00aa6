/** The routing measures against values worked out by hand. */
import { describe, expect, it } from 'vitest';
import {
  addCoActivation, balancedSlotShares, deadExpertCount, loadEntropy, maxViolation, meanTokenEntropy, top1Agreement,
} from './routing-measures.ts';

describe('routing measures, by hand', () => {
  it('balanced shares: FFN-like experts τ / (τ·N_ffn + N_zc), ZC experts 1 / (τ·N_ffn + N_zc)', () => {
    // τ = 0.5, 2 FFN + 2 ZC: denominator 0.5·2 + 2 = 3.
    expect(balancedSlotShares(['ffn', 'ffn', 'copy', 'zero'], 0.5)).toEqual([0.5 / 3, 0.5 / 3, 1 / 3, 1 / 3]);
    expect(balancedSlotShares(['ffn', 'ffn', 'ffn', 'ffn'], 0.75)).toEqual([0.25, 0.25, 0.25, 0.25]);
  });

  it('MaxVio: max load over mean − 1 for FFN experts; against the heterogeneous target with ZC experts', () => {
    expect(maxViolation([30, 10, 20], ['ffn', 'ffn', 'ffn'], 1)).toBeCloseTo(0.5, 12);
    expect(maxViolation([5, 5, 5, 5], ['ffn', 'ffn', 'ffn', 'ffn'], 1)).toBe(0);
    // Balanced MoE++ (shares 1/6, 1/6, 1/3, 1/3 at τ = 0.5) scores 0 …
    expect(maxViolation([10, 10, 20, 20], ['ffn', 'ffn', 'copy', 'zero'], 0.5)).toBeCloseTo(0, 12);
    // … and an even split across all four is over-loading the FFN experts: (1/4) / (1/6) − 1 = 0.5.
    expect(maxViolation([15, 15, 15, 15], ['ffn', 'ffn', 'copy', 'zero'], 0.5)).toBeCloseTo(0.5, 12);
  });

  it('load entropy is normalised by log E', () => {
    expect(loadEntropy([5, 5, 0, 0])).toBeCloseTo(Math.log(2) / Math.log(4), 12);
    expect(loadEntropy([3, 3, 3])).toBeCloseTo(1, 12);
    expect(loadEntropy([7, 0, 0])).toBe(0);
  });

  it('dead experts: below 10 % of the balanced share', () => {
    // Shares 100/201, 100/201, 1/201 against 1/3 each: only the last is under 1/30.
    expect(deadExpertCount([100, 100, 1], ['ffn', 'ffn', 'ffn'], 1)).toBe(1);
    // At τ = 0.5 a ZC expert's target is 1/2 here (FFN 1/4): a share of 0.04 is under its 0.05 —
    // though it would not be under a uniform target's 0.1·(1/3).
    expect(deadExpertCount([50, 46, 4], ['ffn', 'ffn', 'zero'], 0.5)).toBe(1);
    expect(deadExpertCount([10, 10, 10], ['ffn', 'ffn', 'ffn'], 1, 0.5)).toBe(0);
  });

  it('routing entropy: mean per-token entropy of the normalised scores', () => {
    expect(meanTokenEntropy(Float32Array.from([0.5, 0.5, 1, 0]), 2, 2)).toBeCloseTo(Math.log(2) / 2, 7);
    // Unnormalised (sigmoid) scores are normalised per token: [0.2, 0.2, 0.2] is uniform.
    expect(meanTokenEntropy([0.2, 0.2, 0.2], 1, 3)).toBeCloseTo(Math.log(3), 12);
  });

  it('co-activation counts every pair of a token\'s choices in adjacent layers', () => {
    const counts = [[0, 0, 0], [0, 0, 0]];
    // Token 0 chose {0, 1} then {2, 0}; token 1 chose {1, 0} then {1, 2}.
    addCoActivation(counts, Int32Array.from([0, 1, 1, 0]), 2, Int32Array.from([2, 0, 1, 2]), 2);
    expect(counts).toEqual([
      [1, 1, 2],
      [1, 1, 2],
    ]);
    expect(() => addCoActivation(counts, Int32Array.from([0, 1]), 1, Int32Array.from([0]), 1)).toThrow(/2 tokens in one layer, 1 in the next/);
  });

  it('top-1 agreement', () => {
    expect(top1Agreement(Int32Array.from([0, 1, 2, 3]), Int32Array.from([0, 1, 0, 0]))).toBe(0.5);
    expect(() => top1Agreement([1], [1, 2])).toThrow(/same tokens/);
  });
});
