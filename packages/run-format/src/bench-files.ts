/**
 * The files of a benchmark folder `results/bench/<YYYYMMDD-HHMMSS>/` that reports read:
 * `layer.csv` (one row per measured case), `family.csv` (the MoE family's designs beside MoE
 * top-2) and `environment.json` (see environment-json.ts).
 * Bench CSVs write numbers with `sixDigitNumber` and leave a cell empty where a value does not
 * apply (the `tau` of a MoE row, the increase columns of a MoE row).
 */
import { formatCsv, sixDigitNumber, type CsvCell } from './csv.ts';

export const LAYER_CSV_COLUMNS = [
  'measure', 'routing', 'width', 'd_model', 'd_ffn', 'experts', 'ffn_experts', 'zc_experts', 'tau', 'tokens', 'impl',
  'median_ms', 'p20_ms', 'p80_ms', 'reps', 'tokens_per_s', 'ffn_slots', 'increase', 'theoretical_increase', 'delivered',
  'ffn_gflops', 'matmul_gflops', 'peak_bytes',
] as const;

export type LayerCsvColumn = (typeof LAYER_CSV_COLUMNS)[number];
/**
 * One layer.csv row as the bench holds it before writing. `measure` is `expert_forward |
 * layer_forward | layer_forward_backward | train_step`; `impl` is `moe`, `moepp`, or
 * `torch-moe` / `torch-moepp` for the PyTorch peer. `increase`, `theoretical_increase` (fractions:
 * 0.25 = 25 %) and `delivered` are filled on MoE++ rows, relative to the MoE row of the same group.
 */
export type LayerCsvRow = { [K in LayerCsvColumn]: CsvCell };

/**
 * @example
 * layerCsv([row]).split('\n')[0]; // 'measure,routing,width,…,peak_bytes'
 */
export function layerCsv(rows: readonly LayerCsvRow[]): string {
  return formatCsv(LAYER_CSV_COLUMNS, rows, { number: sixDigitNumber });
}

export const FAMILY_CSV_COLUMNS = [
  'measure', 'width', 'd_model', 'd_ffn', 'design', 'experts', 'expert_hidden', 'top_k', 'shared_hidden', 'active_ffn_hidden',
  'tokens', 'median_ms', 'p20_ms', 'p80_ms', 'reps', 'tokens_per_s', 'time_vs_moe_top2', 'ffn_gflops',
] as const;

/**
 * One family.csv row: `measure` is `expert_forward | layer_forward`; `active_ffn_hidden` = top_k ·
 * expert_hidden + shared_hidden; `time_vs_moe_top2` is the median time over MoE top-2's in the
 * same interleaved rounds.
 */
export type FamilyCsvRow = { [K in (typeof FAMILY_CSV_COLUMNS)[number]]: CsvCell };

/**
 * @example
 * familyCsv([row]).split('\n')[0]; // 'measure,width,d_model,…,ffn_gflops'
 */
export function familyCsv(rows: readonly FamilyCsvRow[]): string {
  return formatCsv(FAMILY_CSV_COLUMNS, rows, { number: sixDigitNumber });
}

/** One row of `peer-checks.csv`: the largest difference between ours and PyTorch per case and quantity. */
export interface PeerCheckRow {
  key: string;
  measure: string;
  what: string;
  max_abs_diff: number;
  max_abs: number;
}

/**
 * A bench CSV of plain records (`profile.csv`, `peer-checks.csv`), header from `columns` or else
 * from the first record's keys.
 */
export function recordsCsv(records: readonly Record<string, CsvCell>[], columns?: readonly string[]): string {
  const header = columns ?? (records.length ? Object.keys(records[0]) : []);
  return formatCsv(header, records, { number: sixDigitNumber });
}
