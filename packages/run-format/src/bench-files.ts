/**
 * The files of a benchmark folder `results/bench/<YYYYMMDD-HHMMSS>/` that reports read:
 * `layer.csv` (one row per measured case) and `environment.json` (see environment-json.ts).
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
