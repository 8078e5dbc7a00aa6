/**
 * What a forward pass knows about itself, threaded from the trainer and the evaluator into every
 * MoE++ layer's gating mode: whether it trains (noise and other training-only behaviour apply)
 * and a seeded random source, so a run is reproducible and resumes exactly.
 */
import seedrandom from 'seedrandom';

export interface ForwardContext {
  training: boolean;
  /** Uniform in [0, 1); seeded by the caller (per step in training). */
  rng: () => number;
}

/**
 * The context of one training micro-batch: its random source depends only on the run's seed,
 * the step and the micro-batch, so a resumed run draws exactly what an uninterrupted one would.
 *
 * @example
 * model.lossAndGradients(inputs, targets, trainingContext(`run:${seed}`, step, micro));
 */
export function trainingContext(seed: string, step: number, microBatch = 0): ForwardContext {
  return { training: true, rng: seedrandom.alea(`${seed}:train:${step}:${microBatch}`) };
}

/**
 * The context of an evaluation or inference pass: not training, and a fixed random source (a mode
 * must not draw from it in evaluation, but a deterministic one keeps evaluation deterministic
 * even if it did).
 *
 * @example
 * model.forward(ids, { context: evaluationContext() });
 */
export function evaluationContext(seed = 'evaluation'): ForwardContext {
  return { training: false, rng: seedrandom.alea(seed) };
}
