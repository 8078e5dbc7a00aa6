/**
 * Whether the model at a checkpoint is fit to be kept as the run's "last good" state: every weight
 * finite, and the loss not exploding against its recent trend. A diverging run's checkpoint would
 * otherwise replace the last good one with weights of 5e9 and a loss of 7e6.
 */

/** Losses of this many preceding steps make the trend. */
export const LOSS_TREND_STEPS = 20;
/** A loss above this many times the trend's median is exploding. */
export const EXPLODING_LOSS_FACTOR = 10;

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/**
 * Why the state at `step` must not become a checkpoint, or null when it may.
 *
 * @param recentLosses the losses of the steps before `step`, oldest first (the last
 *   `LOSS_TREND_STEPS` are used)
 * @param weights the model's parameters by name
 */
export function checkpointHealthProblem(step: number, loss: number, recentLosses: readonly number[], weights: Iterable<[string, ArrayLike<number>]>): string | null {
  for (const [name, values] of weights) {
    for (let i = 0; i < values.length; i++) {
      if (!Number.isFinite(values[i])) return `weight ${name}[${i}] is ${values[i]} at step ${step}`;
    }
  }
  const trend = recentLosses.slice(-LOSS_TREND_STEPS);
  if (trend.length > 0) {
    const typical = median(trend);
    if (loss > EXPLODING_LOSS_FACTOR * typical) {
      return `the loss ${loss.toPrecision(3)} at step ${step} is over ${EXPLODING_LOSS_FACTOR}× the median ${typical.toPrecision(3)} of the ${trend.length} steps before`;
    }
  }
  return null;
}
