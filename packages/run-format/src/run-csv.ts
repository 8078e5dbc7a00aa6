/**
 * The CSV logs of a training run: `metrics.csv` (one row per optimizer step) and `eval.csv`
 * (one row per evaluation). Both are appended a row at a time and written with `plainNumber`.
 */

/** The columns every run has; one `ffn_per_token_l<l>` per MoE layer follows them. */
export const METRICS_CSV_COLUMNS = ['step', 'tokens', 'loss', 'ce', 'aux_loss', 'z_loss', 'lr', 'grad_norm', 'tokens_per_s', 'ffn_per_token'] as const;

export type MetricsCsvColumn = (typeof METRICS_CSV_COLUMNS)[number] | `ffn_per_token_l${number}`;
export type MetricsCsvRow = Record<MetricsCsvColumn, number>;

/**
 * metrics.csv's columns for a model with `moeLayers` MoE layers.
 *
 * @example
 * metricsCsvColumns(2).slice(-2); // ['ffn_per_token_l0', 'ffn_per_token_l1']
 */
export function metricsCsvColumns(moeLayers: number): MetricsCsvColumn[] {
  return [...METRICS_CSV_COLUMNS, ...Array.from({ length: moeLayers }, (_, l) => `ffn_per_token_l${l}` as const)];
}

/** `split` is `val` or `test`; the final evaluation writes one row of each at the last step. */
export const EVAL_CSV_COLUMNS = ['step', 'split', 'loss', 'perplexity', 'accuracy', 'tokens_per_s'] as const;

export type EvalCsvRow = { split: 'val' | 'test' } & Record<Exclude<(typeof EVAL_CSV_COLUMNS)[number], 'split'>, number>;
