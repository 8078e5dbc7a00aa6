/**
 * Interleaved timing: the calls of one group (a MoE and its MoE++ variants) run in rounds —
 * A, B1, B2, …, A, B1, B2, … — so that slow drift of the machine (thermal state, other load)
 * hits every member alike and cancels in their ratio. Warm-up rounds are not timed.
 */
import { performance } from 'node:perf_hooks';

export interface TimedCall {
  key: string;
  run: () => void;
}

export interface InterleaveOptions {
  warmup: number;
  /** Timed rounds wanted. */
  reps: number;
  /** Never fewer timed rounds than this. */
  minReps: number;
  /** Time cap of the whole group, seconds; fewer rounds (≥ minReps) when a round is slower. */
  maxSeconds: number;
  /** Called after each round (progress display). */
  onRound?: (done: number, planned: number) => void;
  /** Clock, replaceable in tests. */
  now?: () => number;
}

/** Timed milliseconds per call key, in round order. */
export type GroupTimes = Map<string, number[]>;

/**
 * Runs `calls` in interleaved rounds and returns each call's timed durations.
 *
 * @example
 * const times = runInterleaved([{ key: 'moe', run: a }, { key: 'moepp', run: b }], { warmup: 2, reps: 20, minReps: 10, maxSeconds: 300 });
 */
export function runInterleaved(calls: readonly TimedCall[], options: InterleaveOptions): GroupTimes {
  const now = options.now ?? (() => performance.now());
  const times: GroupTimes = new Map(calls.map((c) => [c.key, []]));
  const warmStart = now();
  for (let w = 0; w < options.warmup; w++) for (const c of calls) c.run();
  const warmupMs = now() - warmStart;
  // Plan from the warm-up's speed when there was one; re-plan after the first timed round.
  let planned = plannedRounds(options, options.warmup > 0 ? warmupMs / options.warmup : 0);
  for (let round = 0; round < planned; round++) {
    const roundStart = now();
    for (const c of calls) {
      const t0 = now();
      c.run();
      times.get(c.key)!.push(now() - t0);
    }
    if (round === 0) planned = plannedRounds(options, now() - roundStart);
    options.onRound?.(round + 1, planned);
  }
  return times;
}

/** Rounds that fit the time cap at `roundMs` per round, clamped to [minReps, reps]. */
export function plannedRounds(options: Pick<InterleaveOptions, 'reps' | 'minReps' | 'maxSeconds'>, roundMs: number): number {
  if (roundMs <= 0) return options.reps;
  const fit = Math.floor((options.maxSeconds * 1000) / roundMs);
  return Math.max(options.minReps, Math.min(options.reps, fit));
}
