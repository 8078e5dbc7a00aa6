import { describe, expect, it } from 'vitest';
import { cramersV, spearman } from './association.ts';

describe("Cramér's V (bias-corrected)", () => {
  it('matches a hand computation', () => {
    // 2 × 2, n = 20, χ² = 20 → φ² = 1; corrected φ² = 1 − 1/19, r̃ = k̃ = 2 − 1/19.
    const corrected = Math.sqrt((1 - 1 / 19) / (1 - 1 / 19));
    expect(cramersV([[10, 0], [0, 10]])).toBeCloseTo(corrected, 12);
    // 2 × 3: row sums 30, 30, column sums 20 each, n = 60; χ² = Σ (o − 10)² / 10 = (100 + 0 + 100) · 2 / 10 = 40.
    const phi2 = 40 / 60 - (2 * 1) / 59;
    const r = 2 - 1 / 59;
    const k = 3 - 4 / 59;
    expect(cramersV([[20, 10, 0], [0, 10, 20]])).toBeCloseTo(Math.sqrt(phi2 / Math.min(r - 1, k - 1)), 12);
  });

  it('is 0 for an independent table, ignores empty rows and columns, and is NaN when nothing varies', () => {
    expect(cramersV([[5, 10], [10, 20]])).toBe(0);
    expect(cramersV([[10, 0, 0], [0, 0, 0], [0, 0, 10]])).toBeCloseTo(cramersV([[10, 0], [0, 10]]), 12);
    expect(cramersV([[3, 4]])).toBeNaN();
  });
});

describe("Spearman's ρ", () => {
  it('ranks with ties at their mean rank', () => {
    expect(spearman([1, 2, 3, 4], [10, 20, 30, 25])).toBeCloseTo(0.8, 12);
    expect(spearman([1, 2, 3], [3, 2, 1])).toBeCloseTo(-1, 12);
    // Ranks x: 1, 2.5, 2.5, 4; y: 1, 2, 3, 4 → r = 4.5 / √(4.5 · 5).
    expect(spearman([1, 2, 2, 3], [1, 2, 3, 4])).toBeCloseTo(4.5 / Math.sqrt(4.5 * 5), 12);
    expect(spearman([1, 1, 1], [1, 2, 3])).toBeNaN();
    expect(() => spearman([1, 2], [1])).toThrow('spearman: 2 x values against 1 y values');
  });
});
