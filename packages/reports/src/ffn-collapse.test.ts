import { describe, expect, it } from 'vitest';
import { deadFfnExperts, ffnMaxVio } from './ffn-collapse.ts';
import type { LoadedRun } from './load-runs.ts';

const classes = { ffn: 'ffn', zero: 'zero-computation', copy: 'zero-computation', constant: 'zero-computation' };

/** A run with just what the measures read: the expert kinds and held-out slots of each layer. */
function runWith(layers: { kinds: string[]; load: number[] }[]): LoadedRun {
  return {
    expertCostClasses: classes,
    routing: { layers: layers.map((l, i) => ({ layer: i, expertKinds: l.kinds, tokensPerExpert: l.load })) },
  } as unknown as LoadedRun;
}

const kinds = ['ffn', 'ffn', 'ffn', 'ffn', 'zero', 'constant'];

describe('FFN collapse measures', () => {
  it('compare FFN experts among themselves, leaving zero-computation experts out', () => {
    const run = runWith([
      // FFN loads 10, 30, 40, 2: mean 20.5, busiest 40 → 40 / 20.5 − 1; 2 < 2.05 is dead. The
      // idle constant expert (0 slots) is not an FFN expert: not counted.
      { kinds, load: [10, 30, 40, 2, 100, 0] },
      // Balanced FFN experts: MaxVio 0, none dead.
      { kinds, load: [20, 20, 20, 20, 5, 5] },
    ]);
    expect(ffnMaxVio(run)).toBeCloseTo((40 / 20.5 - 1 + 0) / 2, 12);
    expect(deadFfnExperts(run)).toBe(1);
  });

  it('are the plain MaxVio and dead count of a vanilla MoE, and undefined for a dense model', () => {
    const moe = runWith([{ kinds: ['ffn', 'ffn', 'ffn', 'ffn'], load: [1, 0, 3, 4] }]);
    expect(ffnMaxVio(moe)).toBeCloseTo(4 / 2 - 1, 12);
    // 0 and 1 are under 10 % of the mean 2? Only 0 (0.2 is the bar).
    expect(deadFfnExperts(moe)).toBe(1);
    const dense = runWith([]);
    expect(ffnMaxVio(dense)).toBeUndefined();
    expect(deadFfnExperts(dense)).toBeUndefined();
  });
});
