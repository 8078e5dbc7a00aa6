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

/** The slots of each FFN expert per MoE layer, from slots per expert (`tokensPerExpert` of every layer); [] for a dense run. */
export function ffnLoads(run: LoadedRun, tokensPerExpert: readonly (readonly number[])[] = run.routing.layers.map((l) => l.tokensPerExpert)): number[][] {
  return tokensPerExpert.map((loads, l) =>
    loads.filter((_, e) => run.expertCostClasses[run.routing.layers[l].expertKinds[e]] !== 'zero-computation'),
  ).filter((loads) => loads.length > 0);
}

/** One layer's FFN MaxVio (max / mean FFN load − 1) and its dead FFN experts. */
export function layerFfnCollapse(loads: readonly number[]): { maxVio: number; dead: number } {
  const m = mean(loads);
  return { maxVio: m > 0 ? Math.max(...loads) / m - 1 : NaN, dead: loads.filter((l) => l < DEAD_FFN_THRESHOLD * m).length };
}

/**
 * @example
 * ffnMaxVio(run); // 1.5: on average over layers the busiest FFN expert has 2.5× the mean FFN load
 */
export function ffnMaxVio(run: LoadedRun): number | undefined {
  const layers = ffnLoads(run);
  if (layers.length === 0) return undefined;
  return mean(layers.map((loads) => layerFfnCollapse(loads).maxVio));
}

/**
 * @example
 * deadFfnExperts(run); // 9: FFN experts (over all MoE layers) under 10 % of their layer's mean FFN load
 */
export function deadFfnExperts(run: LoadedRun): number | undefined {
  const layers = ffnLoads(run);
  if (layers.length === 0) return undefined;
  return layers.reduce((count, loads) => count + layerFfnCollapse(loads).dead, 0);
}
