/**
 * `config.json`: the fully resolved configuration of one training run. Presets and studies are
 * partial versions of it (experiments validates them with these schemas); the file is exactly
 * this object.
 *
 * The model config is core's `ModelConfig`, described here loosely — the fields reports read,
 * every other field passed through — because this package must not import `@moepp/core` (which
 * imports tfjs, and reports never may).
 */
import { z } from 'zod';

const positiveInt = z.number().int().positive();
const nonNegative = z.number().nonnegative();

export const trainingConfigSchema = z.strictObject({
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
export type TrainingConfig = z.infer<typeof trainingConfigSchema>;

export const dataConfigSchema = z.strictObject({
  /** `brown` (embedded) or a path to a .txt / .jsonl file (relative to the repo root). */
  corpus: z.string().min(1),
  /** Use only every n-th Brown document (1 = all); small values keep smoke runs fast. */
  brownEvery: positiveInt,
  vocabSize: z.number().int().min(257).max(65536),
});
export type DataConfig = z.infer<typeof dataConfigSchema>;

/**
 * Experts per kind, keyed by the kind's registry name (`{ ffn: 16, zero: 1, … }`); omitted kinds
 * count 0. Kinds are not listed here: a kind added to core's registry needs no change to the
 * format.
 */
export const expertCountsSchema = z.record(z.string(), z.number().int().nonnegative());
export type ExpertCounts = z.infer<typeof expertCountsSchema>;

export const moeConfigSchema = z.looseObject({
  experts: expertCountsSchema,
  /** Per-MoE-layer counts overriding `experts`; null = every layer uses `experts`. */
  expertsPerLayer: z.array(expertCountsSchema).nullable().default(null),
  topK: positiveInt,
  /** Hidden width of each FFN expert. */
  ffnHidden: positiveInt,
  tau: z.number(),
  gatingResidual: z.boolean(),
  gating: z.string().default('reference'),
  /** null = dropless. */
  capacityFactor: z.number().nullable().default(null),
});
export type MoeConfigFile = z.infer<typeof moeConfigSchema>;

export const modelConfigSchema = z.looseObject({
  dModel: positiveInt,
  nLayers: positiveInt,
  /** null (or absent) = dense model. */
  moe: moeConfigSchema.nullable().default(null),
});
export type ModelConfigFile = z.infer<typeof modelConfigSchema>;

/**
 * `init`: where the weights start (absent = fresh initialisation from the seed). `from` names a
 * complete dense run folder (absolute, or relative to the repo root) whose final checkpoint the
 * MoE model is upcycled from (core's upcycle.ts); `noiseStd` is the std of the noise added to each
 * copied FFN expert.
 */
export const initConfigSchema = z.strictObject({
  from: z.string().min(1),
  noiseStd: nonNegative.default(0),
});
export type InitConfig = z.infer<typeof initConfigSchema>;

export const runConfigSchema = z.object({
  formatVersion: z.literal(1),
  /** File stem of `experiments/<study>.yaml`. */
  study: z.string(),
  /** `<configName>--seed<seed>`. */
  runId: z.string(),
  configName: z.string(),
  seed: z.number().int(),
  model: modelConfigSchema,
  data: dataConfigSchema,
  training: trainingConfigSchema,
  /** Absent in runs that start from a fresh initialisation (every run written before it). */
  init: initConfigSchema.optional(),
});
export type RunConfigFile = z.infer<typeof runConfigSchema>;
