/**
 * Whether the model at a checkpoint is fit to be kept as the run's "last good" state: every weight
 * finite and of a sane magnitude, and the loss *of those weights* not exploding against the recent training losses. A
 * diverging run's checkpoint would otherwise replace the last good one with weights of 5e9 and a
 * loss of 7e6. The training loss logged at a step is that of the weights before its update, so it
 * cannot judge the weights a checkpoint saves: the trainer measures them on a validation batch.
 */

/**
 * Weights above this magnitude mean the optimizer blew up (they start at ~0.02 and a healthy run
 * keeps them within O(10)): a model with weights of 1e30 can still show a loss of ln(vocab),
 * its normalised activations having saturated, so the loss alone does not catch it.
 */
export const MAX_WEIGHT_MAGNITUDE = 1e4;
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
 * @param loss the loss of the weights to be saved
 * @param recentLosses training losses up to `step`, oldest first (the last `LOSS_TREND_STEPS`
 *   are used)
 * @param weights the model's parameters by name
 */
export function checkpointHealthProblem(step: number, loss: number, recentLosses: readonly number[], weights: Iterable<[string, ArrayLike<number>]>): string | null {
  for (const [name, values] of weights) {
    for (let i = 0; i < values.length; i++) {
      if (!Number.isFinite(values[i])) return `weight ${name}[${i}] is ${values[i]} at step ${step}`;
      if (Math.abs(values[i]) > MAX_WEIGHT_MAGNITUDE) return `weight ${name}[${i}] is ${values[i].toPrecision(3)} at step ${step} (beyond ±${MAX_WEIGHT_MAGNITUDE})`;
    }
  }
  const trend = recentLosses.slice(-LOSS_TREND_STEPS);
  if (!Number.isFinite(loss)) return `the loss of its weights at step ${step} is ${loss}`;
  if (trend.length > 0) {
    const typical = median(trend);
    if (loss > EXPLODING_LOSS_FACTOR * typical) {
      return `the loss of its weights at step ${step} (${loss.toPrecision(3)}) is over ${EXPLODING_LOSS_FACTOR}× the median ${typical.toPrecision(3)} of the last ${trend.length} training steps`;
    }
  }
  return null;
}
