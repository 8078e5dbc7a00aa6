/**
 * CSV in and out of run folders, through one library (node-csv's `csv-stringify` and
 * `csv-parse`, sync APIs) so that what the writer quotes the reader unquotes. How numbers are
 * spelled is the writer's choice per file (`CsvNumberFormat`), and part of that file's contract:
 * changing it changes the bytes of every new file.
 */
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';

/** What a cell can hold; null and undefined are written as an empty cell. */
export type CsvCell = string | number | null | undefined;

/** Turns a number into its cell text. */
export type CsvNumberFormat = (x: number) => string;

/** `String(x)`: every digit JavaScript prints (metrics.csv, eval.csv, report tables). */
export const plainNumber: CsvNumberFormat = (x) => String(x);

/**
 * Six significant digits, integers as they are, and an empty cell for NaN or ±Infinity: timings
 * and rates are not precise beyond that, and shorter cells keep benchmark CSVs diffable.
 *
 * @example
 * sixDigitNumber(1 / 3); // '0.333333'
 */
export const sixDigitNumber: CsvNumberFormat = (x) => {
  if (!Number.isFinite(x)) return '';
  if (Number.isInteger(x)) return String(x);
  return String(Number(x.toPrecision(6)));
};

export interface FormatCsvOptions {
  /** Write the header line first (default true); false for rows appended to an existing file. */
  header?: boolean;
  /** Default `plainNumber`. */
  number?: CsvNumberFormat;
}

/**
 * CSV text of `rows` in the order of `columns`, each line ending in `\n` (the last one too, so
 * that appending more rows needs no separator).
 *
 * @example
 * formatCsv(['step', 'loss'], [{ step: 1, loss: 2.5 }]); // 'step,loss\n1,2.5\n'
 */
export function formatCsv<C extends string>(columns: readonly C[], rows: readonly Partial<Record<C, CsvCell>>[], options: FormatCsvOptions = {}): string {
  const number = options.number ?? plainNumber;
  return stringify([...rows] as Record<string, CsvCell>[], {
    header: options.header ?? true,
    columns: [...columns],
    cast: { number },
  });
}

/** A parsed CSV: header names and one record per data row (values are raw strings). */
export interface CsvTable {
  header: string[];
  rows: Record<string, string>[];
}

/**
 * Parses CSV text. Throws on a row whose field count differs from the header's, so a truncated
 * last line (a run killed mid-write) is reported instead of read as zeros. Error messages name
 * `file` and the line.
 *
 * @example
 * parseCsv('a,b\n1,"x,y"\n').rows; // [{ a: '1', b: 'x,y' }]
 */
export function parseCsv(text: string, file = 'csv'): CsvTable {
  let records: { record: string[]; info: { lines: number } }[];
  try {
    // Field counts are checked below, to say which line is short and by how much. (The sync
    // API's types do not model `info: true`, which wraps each record with its line number.)
    records = parse(text, { info: true, relax_column_count: true, skip_empty_lines: true, bom: true }) as unknown as typeof records;
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
  if (records.length === 0) throw new Error(`${file} is empty`);
  const header = records[0].record.map((h) => h.trim());
  const rows = records.slice(1).map(({ record, info }) => {
    if (record.length !== header.length) {
      throw new Error(`${file} line ${info.lines} has ${record.length} fields, header has ${header.length}`);
    }
    const row: Record<string, string> = {};
    header.forEach((h, j) => (row[h] = record[j]));
    return row;
  });
  return { header, rows };
}

/**
 * Reads a numeric cell; empty (or `NaN`) means "not measured" (NaN), anything else that is not
 * a number is an error, so that a corrupt file is not silently read as NaN.
 */
export function csvNumber(row: Record<string, string>, column: string, file = 'csv'): number {
  const raw = row[column];
  if (raw === undefined) throw new Error(`${file}: no column ${column}`);
  const s = raw.trim();
  if (s === '' || s.toLowerCase() === 'nan') return NaN;
  const v = Number(s);
  if (Number.isNaN(v)) throw new Error(`${file}: ${column} = '${raw}' is not a number`);
  return v;
}
