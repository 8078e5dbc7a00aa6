/**
 * Reading the rows of a benchmark's layer.csv as the bench holds them (`LayerCsvRow` of
 * @moepp/run-format: snake_case columns, null where a value does not apply): the helpers the
 * benchmark summary and its targets share.
 */
import type { LayerCsvRow } from '@moepp/run-format';

/** A numeric cell of an in-memory row, NaN where it is empty or not a number. */
export function cellNumber(v: unknown): number {
  return typeof v === 'number' ? v : NaN;
}

/** Whether two rows belong to one interleaved group: same measure, width, expert count, tokens and routing. */
export function sameGroup(a: LayerCsvRow, b: LayerCsvRow): boolean {
  return a.measure === b.measure && a.width === b.width && a.ffn_experts === b.ffn_experts && a.tokens === b.tokens && a.routing === b.routing;
}
