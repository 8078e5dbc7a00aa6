import { describe, expect, it } from 'vitest';
import { checkpointHealthProblem, EXPLODING_LOSS_FACTOR, LOSS_TREND_STEPS, MAX_WEIGHT_MAGNITUDE } from './checkpoint-health.ts';

const weights = (...values: number[]): [string, number[]][] => [['w', [0.1, -0.2]], ['b', values]];

describe('checkpoint health', () => {
  it('keeps a finite model whose loss follows its trend, noisy or not', () => {
    const losses = Array.from({ length: 40 }, (_, i) => 6 - i * 0.05 + (i % 3) * 0.2);
    expect(checkpointHealthProblem(41, 5.5, losses, weights(1, 2))).toBeNull();
    expect(checkpointHealthProblem(1, 6.2, [], weights(1))).toBeNull();
    // A spike below the factor is training noise, not divergence.
    expect(checkpointHealthProblem(41, 0.9 * EXPLODING_LOSS_FACTOR * 4, Array(LOSS_TREND_STEPS).fill(4), weights(1))).toBeNull();
  });

  it('names a weight that is not finite or has blown up', () => {
    expect(checkpointHealthProblem(9, 3, [3], weights(1, Number.NaN))).toBe('weight b[1] is NaN at step 9');
    expect(checkpointHealthProblem(9, 3, [3], weights(Number.POSITIVE_INFINITY))).toMatch(/weight b\[0\] is Infinity/);
    expect(checkpointHealthProblem(9, Number.NaN, [3], weights(1))).toBe('the loss of its weights at step 9 is NaN');
    expect(checkpointHealthProblem(9, 6.2, [6.3], weights(5e9))).toBe('weight b[0] is 5.00e+9 at step 9 (beyond ±10000)');
    expect(checkpointHealthProblem(9, 6.2, [6.3], weights(-MAX_WEIGHT_MAGNITUDE))).toBeNull();
  });

  it('rejects a loss exploding against the median of the recent steps, not against an old outlier', () => {
    const losses = [...Array(30).fill(100), ...Array(LOSS_TREND_STEPS).fill(3)];
    expect(checkpointHealthProblem(51, 7e6, losses, weights(1))).toMatch(/loss of its weights at step 51 \(7\.00e\+6\) is over 10× the median 3\.00 of the last 20 training steps/);
    // Against the whole history the old 100s would raise the median; only the recent trend counts.
    expect(checkpointHealthProblem(51, 40, losses, weights(1))).toMatch(/over 10×/);
  });
});
