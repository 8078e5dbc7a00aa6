/**
 * Learning rate: linear warm-up from 0 to `lr` over `warmupSteps`, then cosine decay to `minLr`
 * at `totalSteps` (the paper: 5e-4 → 5e-5 with warm-up).
 *
 * @example
 * learningRate(0, { lr: 1e-3, minLr: 1e-4, warmupSteps: 10, totalSteps: 100 }); // 1e-4 (first of 10 warm-up steps)
 */
export interface LrSchedule {
  lr: number;
  minLr: number;
  warmupSteps: number;
  totalSteps: number;
}

/** Learning rate for optimizer step `step` (0-based). */
export function learningRate(step: number, s: LrSchedule): number {
  if (step < s.warmupSteps) return (s.lr * (step + 1)) / s.warmupSteps;
  const decaySteps = Math.max(1, s.totalSteps - s.warmupSteps);
  const progress = Math.min(1, (step - s.warmupSteps) / decaySteps);
  return s.minLr + 0.5 * (s.lr - s.minLr) * (1 + Math.cos(Math.PI * progress));
}
