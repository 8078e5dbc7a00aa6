/**
 * The fully resolved configuration of one training run, and its schema. Presets and studies are
 * partial versions of it; `config.json` in a run folder is exactly this object.
 */
import { z } from 'zod';
import type { ModelConfig } from '@moepp/core';

export const RUN_FORMAT_VERSION = 1;

const positiveInt = z.number().int().positive();
const nonNegative = z.number().nonnegative();

export const trainingSchema = z.strictObject({
  /** Optimizer steps. */
  steps: positiveInt,
  /** Sequences per micro-batch. */
  batchSize: positiveInt,
  /** Tokens per sequence. */
  seqLen: positiveInt,
  /** Micro-batches summed into one optimizer step. */
  gradAccumulation: positiveInt,
  lr: z.number().positive(),
  minLr: nonNegative,
  warmupSteps: z.number().int().nonnegative(),
  weightDecay: nonNegative,
  beta1: z.number().min(0).max(0.999999),
  beta2: z.number().min(0).max(0.999999),
  /** Global gradient-norm clip. */
  clip: z.number().positive(),
  /** Validation every this many steps (and at the end). */
  evalEvery: positiveInt,
  /** Validation windows per periodic evaluation (a prefix of the split, the same each time). */
  evalWindows: positiveInt,
  /** Windows for the final validation and test evaluation and held-out routing statistics. */
  finalEvalWindows: positiveInt,
  /** Checkpoint every this many steps (and at the end). */
  checkpointEvery: positiveInt,
});
export type TrainingConfig = z.infer<typeof trainingSchema>;

export const dataSchema = z.strictObject({
  /** `brown` (embedded) or a path to a .txt / .jsonl file (relative to the repo root). */
  corpus: z.string().min(1),
  /** Use only every n-th Brown document (1 = all); small values keep smoke runs fast. */
  brownEvery: positiveInt,
  vocabSize: z.number().int().min(257).max(65536),
});
export type DataConfig = z.infer<typeof dataSchema>;

/** What a preset or study may set: data and training in full, the model as a partial core config. */
export const partialRunSchema = z.strictObject({
  model: z.record(z.string(), z.unknown()).optional(),
  data: dataSchema.partial().optional(),
  training: trainingSchema.partial().optional(),
});

export interface RunConfig {
  formatVersion: number;
  study: string;
  runId: string;
  configName: string;
  seed: number;
  model: ModelConfig;
  data: DataConfig;
  training: TrainingConfig;
}
