/**
 * The statistics of the tables: mean ± sample standard deviation over seeds, and paired
 * per-seed deltas against the baseline with a percentile-bootstrap confidence interval.
 * Arithmetic via mathjs; resampling via the seeded RNG in random.ts (deterministic reports).
 */
import { mean, quantileSeq, std } from 'mathjs';
import { fnv1a, mulberry32 } from './random.ts';

/** Mean, sample standard deviation (n − 1 denominator) and count of the finite values. */
export interface Summary {
  mean: number;
  /** NaN when n < 2: one seed says nothing about the spread. */
  std: number;
  n: number;
}

/**
 * Mean and sample standard deviation of the finite values (NaN/missing are left out and not
 * counted, so `n` is the number of seeds behind the cell).
 *
 * @example
 * summarize([1, 2, 3, 4]); // { mean: 2.5, std: 1.2909944487358056, n: 4 }
 */
export function summarize(values: readonly number[]): Summary {
  const xs = values.filter((v) => Number.isFinite(v));
  if (xs.length === 0) return { mean: NaN, std: NaN, n: 0 };
  return {
    mean: Number(mean(xs)),
    std: xs.length >= 2 ? Number(std(xs, 'unbiased')) : NaN,
    n: xs.length,
  };
}

/** Per-seed deltas `treatment − baseline` over the seeds both have. */
export interface PairedDeltas {
  seeds: number[];
  deltas: number[];
}

/**
 * Pairs two configs by seed: the same seed means the same data order and initialisation
 * stream, so the per-seed difference removes most of the seed-to-seed noise.
 *
 * @example
 * pairedDeltas(new Map([[1, 3.0], [2, 3.2]]), new Map([[1, 2.9], [2, 3.0], [3, 2.8]]));
 * // { seeds: [1, 2], deltas: [-0.1, -0.2] } (up to rounding)
 */
export function pairedDeltas(baseline: ReadonlyMap<number, number>, treatment: ReadonlyMap<number, number>): PairedDeltas {
  const seeds = [...baseline.keys()]
    .filter((s) => treatment.has(s) && Number.isFinite(baseline.get(s)!) && Number.isFinite(treatment.get(s)!))
    .sort((a, b) => a - b);
  return { seeds, deltas: seeds.map((s) => treatment.get(s)! - baseline.get(s)!) };
}

/** Options of `bootstrapMeanCI`. */
export interface BootstrapOptions {
  /** Number of resamples; 10 000 keeps the Monte-Carlo error of a 95 % bound small. */
  resamples?: number;
  /** Two-sided confidence level. */
  confidence?: number;
  /** RNG seed (uint32); the same seed gives the same interval. */
  seed?: number;
}

/** A percentile-bootstrap confidence interval of a mean. */
export interface BootstrapCI {
  mean: number;
  low: number;
  high: number;
  n: number;
  resamples: number;
  confidence: number;
}

/**
 * Percentile bootstrap of the mean: resample the n values with replacement `resamples` times,
 * take the mean of each, and report the (1−c)/2 and (1+c)/2 quantiles (linear interpolation,
 * mathjs `quantileSeq`). NaN bounds for n < 2, where resampling cannot show any spread.
 * With few seeds the interval is optimistic (n = 3 has only 10 distinct resamples); the report
 * says so beside the table.
 *
 * @example
 * bootstrapMeanCI([-0.1, -0.2, -0.15], { seed: 1 }); // { mean: -0.15, low: -0.2, high: -0.1, ... }
 */
export function bootstrapMeanCI(values: readonly number[], options: BootstrapOptions = {}): BootstrapCI {
  const resamples = options.resamples ?? 10_000;
  const confidence = options.confidence ?? 0.95;
  const xs = values.filter((v) => Number.isFinite(v));
  const n = xs.length;
  const m = n > 0 ? Number(mean(xs)) : NaN;
  if (n < 2) return { mean: m, low: NaN, high: NaN, n, resamples, confidence };
  const rand = mulberry32(options.seed ?? 1);
  const means = new Float64Array(resamples);
  for (let b = 0; b < resamples; b++) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += xs[Math.floor(rand() * n)];
    means[b] = sum / n;
  }
  const alpha = (1 - confidence) / 2;
  // A typed-array sort is numeric and fast; mathjs is told the input is sorted.
  means.sort();
  const [low, high] = quantileSeq(Array.from(means), [alpha, 1 - alpha], true) as number[];
  return { mean: m, low: Number(low), high: Number(high), n, resamples, confidence };
}

/**
 * A stable per-cell seed: the user's seed mixed with the cell's identity, so every cell has its
 * own stream and adding a config or a metric leaves the other intervals unchanged.
 */
export function cellSeed(seed: number, ...parts: string[]): number {
  return fnv1a(`${seed}:${parts.join(':')}`);
}
