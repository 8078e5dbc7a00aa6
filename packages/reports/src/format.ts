/**
 * Number formatting for Markdown tables: precision follows the spread (two significant digits
 * of the standard deviation), so a table never claims more digits than the seeds support.
 */
import type { Summary } from './statistics.ts';

/** Placeholder of an empty cell. */
export const NONE = '–';

/** Decimals that show two significant digits of `spread` (clamped to 0…6). */
export function decimalsFor(spread: number, fallback = 4): number {
  if (!Number.isFinite(spread) || spread <= 0) return fallback;
  return Math.max(0, Math.min(6, 1 - Math.floor(Math.log10(spread))));
}

/**
 * "mean ± std" with n appended when it differs from the row's n.
 *
 * @example
 * formatMeanStd({ mean: 3.21456, std: 0.01234, n: 3 }, { expectedN: 3 }); // '3.215 ± 0.012'
 * formatMeanStd({ mean: 3.21456, std: NaN, n: 1 }, { expectedN: 3 });    // '3.2146 (n=1)'
 */
export function formatMeanStd(s: Summary, options: { scale?: number; expectedN?: number; fallbackDecimals?: number } = {}): string {
  if (s.n === 0) return NONE;
  const k = options.scale ?? 1;
  const d = decimalsFor(s.std * k, options.fallbackDecimals ?? 4);
  const core = s.n >= 2 ? `${(s.mean * k).toFixed(d)} ± ${(s.std * k).toFixed(d)}` : (s.mean * k).toFixed(d);
  return s.n !== options.expectedN ? `${core} (n=${s.n})` : core;
}

/**
 * Compact count: 1234 -> '1.23k', 12_345_678 -> '12.3M'.
 *
 * @example
 * formatCount(1_234_567); // '1.23M'
 */
export function formatCount(x: number): string {
  if (!Number.isFinite(x)) return NONE;
  const units: [number, string][] = [[1e9, 'B'], [1e6, 'M'], [1e3, 'k']];
  for (const [u, s] of units) {
    if (Math.abs(x) >= u) {
      const v = x / u;
      // Trailing zeros only after a decimal point: 890.0 -> '890', 1.50 -> '1.5'.
      return `${v.toPrecision(3).replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, '')}${s}`;
    }
  }
  return String(Math.round(x));
}

/** A signed number with `decimals` digits: '+0.012', '-0.300'. */
export function formatSigned(x: number, decimals: number): string {
  if (!Number.isFinite(x)) return NONE;
  const s = x.toFixed(decimals);
  return x > 0 || (x === 0 && !s.startsWith('-')) ? `+${s}` : s;
}

/** Rounds to 8 significant digits for CSV: exact enough, and stable to read and diff. */
export function csvValue(x: number | null | undefined): string | number {
  if (x === null || x === undefined || !Number.isFinite(x)) return '';
  return Number(x.toPrecision(8));
}

/** Escapes a Markdown table cell. */
export function mdCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/**
 * A Markdown table.
 *
 * @example
 * markdownTable(['a', 'b'], [['1', '2']], ['l', 'r']);
 */
export function markdownTable(header: string[], rows: string[][], align: ('l' | 'r')[] = []): string {
  const sep = header.map((_, i) => (align[i] === 'r' ? '---:' : '---'));
  const line = (cells: string[]): string => `| ${cells.map(mdCell).join(' | ')} |`;
  return [line(header), `|${sep.join('|')}|`, ...rows.map(line)].join('\n') + '\n';
}
