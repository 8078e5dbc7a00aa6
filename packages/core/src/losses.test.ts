import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { balancedLossValue, heterogeneousBalanceLoss, routerZLoss } from './losses.ts';
import { heterogeneousCapacity, planDispatch } from './dispatch.ts';
import { selectionFromTopK, topKIndices } from './gating/index.ts';
import { balancedFfnExpertsPerToken } from './counting.ts';
import { expertKindsFromCounts } from './experts/index.ts';
import { useBackend } from './testing/backends.ts';

describe('balance loss, capacity and expected load (hand-computed values)', () => {
  beforeAll(() => useBackend('cpu'));

  it('L_b = Σ η_i f_i P_i on a hand-worked example', () => {
    const kinds: string[] = ['ffn', 'ffn', 'zero'];
    // 4 tokens, K = 1: choices 0, 0, 1, 2 -> f = [0.5, 0.25, 0.25]
    const plan = planDispatch(selectionFromTopK(Int32Array.from([0, 0, 1, 2]), 4, 3, 1), kinds, null);
    const probs = tf.tensor2d([[0.6, 0.2, 0.2], [0.5, 0.3, 0.2], [0.2, 0.7, 0.1], [0.1, 0.1, 0.8]]);
    // P = [0.35, 0.325, 0.325]; η = [1, 1, 0.5]
    const expected = 1 * 0.5 * 0.35 + 1 * 0.25 * 0.325 + 0.5 * 0.25 * 0.325;
    expect(heterogeneousBalanceLoss(probs, plan, kinds, 0.5).dataSync()[0]).toBeCloseTo(expected, 6);
    probs.dispose();
  });

  it('the balanced value is K / Σ 1/η_i (K/E for vanilla MoE)', () => {
    expect(balancedLossValue(['ffn', 'ffn', 'zero'], 0.5, 1)).toBeCloseTo(0.25, 12); // worked in losses.ts
    expect(balancedLossValue(expertKindsFromCounts({ ffn: 8 }), 0.75, 2)).toBeCloseTo(2 / 8, 12);
  });

  it('expected FFN experts per token: (16+4)E at τ = 0.75 gives 1.5 (moepp-method.md §5)', () => {
    expect(balancedFfnExpertsPerToken(expertKindsFromCounts({ ffn: 16, zero: 1, copy: 1, constant: 2 }), 2, 0.75)).toBeCloseTo(1.5, 12);
    expect(balancedFfnExpertsPerToken(expertKindsFromCounts({ ffn: 8 }), 2, 0.1)).toBe(2);
  });

  it('heterogeneous capacity per §6 with S = N·K slots', () => {
    // (2+2)E, τ = 0.5, γ = 1.1, N = 10, K = 2: S = 20, denominator 0.5·2 + 2 = 3
    const cap = heterogeneousCapacity(['ffn', 'ffn', 'zero', 'copy'], 10, 2, 0.5, 1.1);
    expect(Array.from(cap)).toEqual([Math.ceil((1.1 * 0.5 * 20) / 3), Math.ceil((1.1 * 0.5 * 20) / 3), Math.ceil((1.1 * 20) / 3), Math.ceil((1.1 * 20) / 3)]);
  });

  it('capacity admits first choices before second choices', () => {
    // 3 tokens all choose expert 0 first and expert 1 second; capacity 2 for each.
    const plan = planDispatch(selectionFromTopK(Int32Array.from([0, 1, 0, 1, 0, 1]), 3, 2, 2), ['ffn', 'ffn'], Int32Array.from([2, 2]));
    expect(plan.droppedSlots).toBe(2);
    expect(Array.from(plan.keptMask)).toEqual([1, 1, 1, 1, 0, 0]);
  });

  it('top-K breaks ties toward the lower index and rejects NaN logits', () => {
    expect(Array.from(topKIndices(Float32Array.of(1, 3, 3, 2), 1, 4, 3))).toEqual([1, 2, 3]);
    expect(() => topKIndices(Float32Array.of(1, NaN), 1, 2, 1)).toThrow(/NaN/);
  });

  it('router z-loss is mean(logsumexp(G)²)', () => {
    const g = tf.tensor2d([[0, 0], [1, 2]]);
    const lse = [Math.log(2), Math.log(Math.exp(1) + Math.exp(2))];
    expect(routerZLoss(g).dataSync()[0]).toBeCloseTo((lse[0] ** 2 + lse[1] ** 2) / 2, 5);
    g.dispose();
  });
});
