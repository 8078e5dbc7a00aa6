/**
 * Reading the CSV files of a run folder. csv-writer only writes, and the files we read are
 * machine-written (no embedded newlines in practice), but quoted fields are still honoured so
 * that a config name with a comma cannot shift columns.
 */

/** A parsed CSV: header names and one record per data row (values are raw strings). */
export interface CsvTable {
  header: string[];
  rows: Record<string, string>[];
}

/**
 * Parses RFC 4180 CSV text. Throws on a row whose field count differs from the header's, so a
 * truncated last line (a run killed mid-write) is reported instead of read as zeros.
 *
 * @example
 * parseCsv('a,b\n1,"x,y"\n').rows; // [{ a: '1', b: 'x,y' }]
 */
export function parseCsv(text: string, file = 'csv'): CsvTable {
  const records = splitRecords(text);
  if (records.length === 0) throw new Error(`${file} is empty`);
  const header = records[0].map((h) => h.trim());
  const rows = records.slice(1).map((fields, i) => {
    if (fields.length !== header.length) {
      throw new Error(`${file} line ${i + 2} has ${fields.length} fields, header has ${header.length}`);
    }
    const row: Record<string, string> = {};
    header.forEach((h, j) => (row[h] = fields[j]));
    return row;
  });
  return { header, rows };
}

function splitRecords(text: string): string[][] {
  const records: string[][] = [];
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  let i = 0;
  const endRecord = (): void => {
    fields.push(field);
    // A blank line (one empty field) is not a record: files end with a newline.
    if (!(fields.length === 1 && fields[0] === '')) records.push(fields);
    fields = [];
    field = '';
  };
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i += 2;
        continue;
      }
      if (c === '"') quoted = false;
      else field += c;
      i++;
      continue;
    }
    if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      fields.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      endRecord();
    } else field += c;
    i++;
  }
  if (quoted) throw new Error('unterminated quoted field');
  if (field !== '' || fields.length > 0) endRecord();
  return records;
}

/**
 * Reads a numeric column value; empty means "not measured" (NaN), anything else that is not a
 * number is an error so corrupt files are not silently read as NaN.
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
