/**
 * `evaluation.json`: the final model's held-out evaluation beyond one perplexity — next-token loss
 * and accuracy by the POS class of the token being predicted and by the document's genre (with
 * the FFN experts those tokens got, for MoE models), and a cloze probe. Written by MoE and dense
 * runs alike; absent in run folders written before it existed.
 */
import { z } from 'zod';

/** Next-token prediction over a group of held-out tokens. */
export const predictionGroupSchema = z.object({
  tokens: z.number().int().nonnegative(),
  /** Mean cross-entropy (nats) of the group's predictions. */
  loss: z.number(),
  /** Share of the group's predictions whose top-1 token is the target. */
  accuracy: z.number().min(0).max(1),
});
export type PredictionGroup = z.infer<typeof predictionGroupSchema>;

/** A genre's predictions and, in a MoE model, the FFN experts its input tokens got (mean over MoE layers). */
export const genreEvaluationSchema = predictionGroupSchema.extend({
  ffnExpertsPerToken: z.number().nullable(),
});
export type GenreEvaluation = z.infer<typeof genreEvaluationSchema>;

/**
 * The cloze probe (packages/experiments/src/training/cloze-probe.ts): each item is a word of the
 * held-out split in its context, against distractors of the same POS class, piece count and
 * nearest training frequency; the model is right when the true word has the highest log-probability.
 */
export const clozeSchema = z.object({
  split: z.string(),
  items: z.number().int().nonnegative(),
  /** Candidates per item (the true word and its distractors): chance is 1 / candidates. */
  candidates: z.number().int().min(2),
  accuracy: z.number().min(0).max(1),
  byPos: z.record(z.string(), z.object({ items: z.number().int().nonnegative(), accuracy: z.number().min(0).max(1) })),
});
export type Cloze = z.infer<typeof clozeSchema>;

export const evaluationFileSchema = z.object({
  formatVersion: z.literal(1),
  /** The split the next-token groups are measured on (the final evaluation's windows). */
  split: z.string(),
  tokens: z.number().int().positive(),
  /** By the POS class of the predicted (target) token. */
  byTargetPos: z.record(z.string(), predictionGroupSchema),
  /** By the Brown genre of the document (`none` for a corpus without genres). */
  byGenre: z.record(z.string(), genreEvaluationSchema),
  /**
   * By the FFN experts the input token got, as a mean over MoE layers ("0", "0.25", …, "2" for
   * 4 layers of top-2): do tokens that skip FFN experts predict better or worse? Empty for a dense model.
   */
  byFfnExperts: z.record(z.string(), predictionGroupSchema).default({}),
  cloze: clozeSchema.nullable(),
});
export type EvaluationFile = z.infer<typeof evaluationFileSchema>;
