/**
 * Pieces shared by the figure builders: the schema URL, one colour per config that is the same
 * in every figure of a study, and mean/std aggregation of per-seed values.
 */
import { summarize } from '../statistics.ts';

/** Vega-Lite schema of the installed vega-lite 6. */
export const VL_SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

/** Colour encoding keyed on the config name; the domain fixes the colour of each config. */
export function configColor(configs: readonly string[], title = 'config'): Record<string, unknown> {
  return { field: 'config', type: 'nominal', title, scale: { domain: [...configs], scheme: 'tableau10' } };
}

/** Mean with a ±1 std band (band collapses to the mean for a single seed). */
export interface Band {
  mean: number;
  lo: number;
  hi: number;
  std: number | null;
  n: number;
}

/** Mean ± 1 sample std of the finite values. */
export function band(values: readonly number[]): Band {
  const s = summarize(values);
  const sd = Number.isFinite(s.std) ? s.std : 0;
  return { mean: round(s.mean), lo: round(s.mean - sd), hi: round(s.mean + sd), std: Number.isFinite(s.std) ? round(s.std) : null, n: s.n };
}

/** Rounds to 6 significant digits: inline data stays small and the SVG stays stable. */
export function round(x: number): number {
  return Number.isFinite(x) ? Number(x.toPrecision(6)) : x;
}

/** Groups items by a key, keeping first-seen key order. */
export function groupBy<T, K>(items: readonly T[], key: (t: T) => K): Map<K, T[]> {
  const m = new Map<K, T[]>();
  for (const it of items) {
    const k = key(it);
    const list = m.get(k);
    if (list) list.push(it);
    else m.set(k, [it]);
  }
  return m;
}

/** What every figure builder receives. */
export interface FigureContext {
  study: import('../load-runs.ts').LoadedStudy;
  rows: import('../tables.ts').ConfigRow[];
  bench: import('../load-bench.ts').LoadedBench;
}
