/**
 * How far a run's FFN experts have collapsed, from its held-out routing (`routing.json`): the
 * load of the FFN experts among themselves, so zero-computation experts — whose balanced load
 * differs by τ and whose idleness is not a collapse — do not enter.
 *
 *   FFN MaxVio        max over FFN experts of (load / mean FFN load) − 1, averaged over MoE layers
 *   dead FFN experts  FFN experts under 10 % of the mean FFN load, summed over MoE layers
 *
 * For a vanilla MoE these are core's MaxVio and dead-expert count; for MoE++ they are the numbers
 * the science issue quotes (an FFN expert with under 1 % of the FFN slots is dead here too).
 */
import type { LoadedRun } from './load-runs.ts';

/** An FFN expert under this share of the mean FFN load counts as dead (core's DEAD_EXPERT_THRESHOLD). */
export const DEAD_FFN_THRESHOLD = 0.1;

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** The slots of each FFN expert per MoE layer; [] for a dense run. */
function ffnLoads(run: LoadedRun): number[][] {
  return run.routing.layers.map((layer) =>
    layer.tokensPerExpert.filter((_, e) => run.expertCostClasses[layer.expertKinds[e]] !== 'zero-computation'),
  ).filter((loads) => loads.length > 0);
}

/**
 * @example
 * ffnMaxVio(run); // 1.5: on average over layers the busiest FFN expert has 2.5× the mean FFN load
 */
export function ffnMaxVio(run: LoadedRun): number | undefined {
  const layers = ffnLoads(run);
  if (layers.length === 0) return undefined;
  return mean(layers.map((loads) => {
    const m = mean(loads);
    return m > 0 ? Math.max(...loads) / m - 1 : NaN;
  }));
}

/**
 * @example
 * deadFfnExperts(run); // 9: FFN experts (over all MoE layers) under 10 % of their layer's mean FFN load
 */
export function deadFfnExperts(run: LoadedRun): number | undefined {
  const layers = ffnLoads(run);
  if (layers.length === 0) return undefined;
  return layers.reduce((count, loads) => {
    const bar = DEAD_FFN_THRESHOLD * mean(loads);
    return count + loads.filter((l) => l < bar).length;
  }, 0);
}
