/**
 * `layer.csv` of a benchmark folder, in the column order of docs/run-folder.md ("Benchmarks"),
 * which `@moepp/reports` reads. Empty cells where a value does not apply (the `tau` of a MoE
 * row, the increase columns of a MoE row).
 */

export const LAYER_CSV_COLUMNS = [
  'measure', 'routing', 'width', 'd_model', 'd_ffn', 'experts', 'ffn_experts', 'zc_experts', 'tau', 'tokens', 'impl',
  'median_ms', 'p20_ms', 'p80_ms', 'reps', 'tokens_per_s', 'ffn_slots', 'increase', 'theoretical_increase', 'delivered',
  'ffn_gflops', 'matmul_gflops', 'peak_bytes',
] as const;

export type LayerCsvColumn = (typeof LAYER_CSV_COLUMNS)[number];
export type LayerCsvRow = { [K in LayerCsvColumn]: string | number | null | undefined };

/** A numeric cell of an in-memory row, NaN where it is empty or not a number. */
export function cellNumber(v: unknown): number {
  return typeof v === 'number' ? v : NaN;
}

/** Whether two rows belong to one interleaved group: same measure, width, expert count, tokens and routing. */
export function sameGroup(a: LayerCsvRow, b: LayerCsvRow): boolean {
  return a.measure === b.measure && a.width === b.width && a.ffn_experts === b.ffn_experts && a.tokens === b.tokens && a.routing === b.routing;
}

/** A cell: numbers at fixed significant precision, NaN / null / undefined as empty. */
export function csvCell(v: string | number | null | undefined): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return '';
    if (Number.isInteger(v)) return String(v);
    return String(Number(v.toPrecision(6)));
  }
  return /[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/**
 * @example
 * layerCsv([row]).split('\n')[0]; // 'measure,routing,width,…,peak_bytes'
 */
export function layerCsv(rows: readonly LayerCsvRow[]): string {
  const lines = [LAYER_CSV_COLUMNS.join(',')];
  for (const r of rows) lines.push(LAYER_CSV_COLUMNS.map((c) => csvCell(r[c])).join(','));
  return `${lines.join('\n')}\n`;
}

/** Generic CSV of plain records (profile.csv, matmul.csv), header from the first record's keys. */
export function recordsCsv(records: readonly Record<string, string | number | null | undefined>[], columns?: readonly string[]): string {
  const header = columns ?? (records.length ? Object.keys(records[0]) : []);
  return `${[header.join(','), ...records.map((r) => header.map((c) => csvCell(r[c])).join(','))].join('\n')}\n`;
}
