/**
 * Timing statistics of a benchmark: median with the 20th and 80th percentiles, over the timed
 * repetitions only (warm-up excluded by the caller).
 */

/** Summary of one measurement's repetitions, in milliseconds. */
export interface TimingSummary {
  medianMs: number;
  p20Ms: number;
  p80Ms: number;
  minMs: number;
  reps: number;
}

/**
 * The q-quantile (0 ≤ q ≤ 1) of `values` with linear interpolation between order statistics
 * (R's type 7, NumPy's default), so that results match `numpy.quantile` in the PyTorch peer.
 *
 * @example
 * quantile([1, 2, 3, 4], 0.5); // 2.5
 */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) throw new Error('quantile of an empty list');
  if (!(q >= 0 && q <= 1)) throw new Error(`quantile ${q} is outside [0, 1]`);
  const sorted = [...values].sort((a, b) => a - b);
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

/**
 * @example
 * summarizeTimes([3, 1, 2]); // { medianMs: 2, p20Ms: 1.4, p80Ms: 2.6, minMs: 1, reps: 3 }
 */
export function summarizeTimes(ms: readonly number[]): TimingSummary {
  return {
    medianMs: quantile(ms, 0.5),
    p20Ms: quantile(ms, 0.2),
    p80Ms: quantile(ms, 0.8),
    minMs: Math.min(...ms),
    reps: ms.length,
  };
}

/** `t_MoE / t_MoE++ − 1`: the throughput increase of MoE++ over MoE (0.25 = 25 %). */
export function throughputIncrease(moeMs: number, moeppMs: number): number {
  return moeMs / moeppMs - 1;
}

/**
 * How much of the possible gain the implementation delivers: measured increase over the
 * theoretical one (1 = all of it). Undefined (NaN) when there is no theoretical gain.
 */
export function deliveredFraction(increase: number, theoreticalIncrease: number): number {
  return Math.abs(theoreticalIncrease) < 1e-12 ? NaN : increase / theoreticalIncrease;
}
