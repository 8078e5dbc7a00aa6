/**
 * One training run on disk (docs/run-folder.md; the files' schemas and columns are
 * @moepp/run-format's): JSON files written atomically, CSV logs appended a row at a time;
 * checkpoints are checkpoint-store.ts's. A run folder whose `summary.json` exists is complete and
 * is never written again.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatCsv, parseCsv, writeFileAtomic, type CsvCell } from '@moepp/run-format';

/** A run file that cannot be read as what it should be; the message names the file. */
export class RunFileError extends Error {
  override name = 'RunFileError';
}

export class RunFolder {
  constructor(readonly dir: string) {}

  path(name: string): string {
    return join(this.dir, name);
  }

  ensure(): void {
    mkdirSync(this.dir, { recursive: true });
  }

  has(name: string): boolean {
    return existsSync(this.path(name));
  }

  isComplete(): boolean {
    return existsSync(this.path('summary.json'));
  }

  hasStarted(): boolean {
    return existsSync(this.path('config.json'));
  }

  writeJson(name: string, value: unknown): void {
    writeFileAtomic(this.path(name), `${JSON.stringify(value, null, 2)}\n`);
  }

  /** Parsed JSON; a damaged file is a `RunFileError` naming it (never a bare SyntaxError). */
  readJson<T>(name: string): T {
    const text = readFileSync(this.path(name), 'utf8');
    try {
      return JSON.parse(text) as T;
    } catch (e) {
      throw new RunFileError(`${this.path(name)} is not valid JSON (${(e as Error).message}); the file is damaged: rerun with --force to train the run afresh (the folder is moved aside)`);
    }
  }

  /** Appends rows to a CSV log, writing the header first when the file is new. */
  appendCsv<C extends string>(name: string, columns: readonly C[], rows: Record<C, CsvCell>[]): void {
    const file = this.path(name);
    if (!existsSync(file)) writeFileSync(file, formatCsv(columns, []));
    appendFileSync(file, formatCsv(columns, rows, { header: false }));
  }

  /**
   * Keeps only the CSV rows whose `step` column is ≤ `lastStep` (and drops a torn last line), so a
   * resumed run re-logs the steps after its checkpoint instead of duplicating them.
   */
  truncateCsv(name: string, lastStep: number): void {
    const file = this.path(name);
    if (!existsSync(file)) return;
    const text = readFileSync(file, 'utf8');
    // Every append ends its row with a newline, so text after the last one is a row an
    // interrupted append left half-written.
    const whole = text.slice(0, text.lastIndexOf('\n') + 1);
    if (whole === '') {
      rmSync(file);
      return;
    }
    const { header, rows } = parseCsv(whole, name);
    // Cells stay the strings they were read as, so the rows kept are rewritten byte for byte.
    writeFileAtomic(file, formatCsv(header, rows.filter((r) => Number(r.step) <= lastStep)));
  }
}
