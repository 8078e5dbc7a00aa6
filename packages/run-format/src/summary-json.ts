/**
 * `summary.json`, written last: its presence means the run is complete. Fields that a run may
 * lack (a run evaluated on no test split) default to null rather than failing the file.
 */
import { z } from 'zod';

export const splitMetricsSchema = z.object({
  loss: z.number(),
  perplexity: z.number(),
  accuracy: z.number(),
});
export type SplitMetrics = z.infer<typeof splitMetricsSchema>;

/**
 * `ffn`: an FFN-like expert (O(D·I) per token); `zero-computation`: O(D) per token. The class of
 * each expert kind comes from @moepp/core's kind registry.
 */
export const costClassSchema = z.enum(['ffn', 'zero-computation']);
export type CostClass = z.infer<typeof costClassSchema>;

// Key order is the order problems are reported in: identity first, then the numbers.
export const runSummarySchema = z.object({
  formatVersion: z.literal(1),
  study: z.string(),
  runId: z.string(),
  configName: z.string(),
  seed: z.number(),
  status: z.literal('complete'),
  params: z.object({
    total: z.number(),
    activePerToken: z.number(),
    /** Mean over MoE layers, measured on held-out data. */
    ffnExpertsPerToken: z.number(),
  }),
  flopsPerToken: z.number().nullable().default(null),
  steps: z.number(),
  tokens: z.number(),
  wallSeconds: z.number(),
  train: z.object({ tokensPerSecond: z.number(), finalLoss: z.number() }),
  val: splitMetricsSchema,
  test: splitMetricsSchema.nullable().default(null),
  eval: z.object({ tokensPerSecond: z.number().nullable().default(null) }).default({ tokensPerSecond: null }),
  backend: z.string().default('unknown'),
  threads: z.number().nullable().default(null),
  /**
   * The cost class of every expert kind registered when the run trained, in registration order:
   * readers count FFN and zero-computation experts, and order and colour kinds, by it instead of
   * knowing kinds by name. Absent in summaries written before it was recorded.
   */
  expertCostClasses: z.record(z.string(), costClassSchema).optional(),
});
export type RunSummary = z.infer<typeof runSummarySchema>;
