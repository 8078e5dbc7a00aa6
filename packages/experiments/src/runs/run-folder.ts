/**
 * One training run on disk (docs/run-folder.md; the files' schemas and columns are
 * @moepp/run-format's): JSON files written atomically, CSV logs appended a row at a time, and a
 * checkpoint folder swapped in whole. A run folder whose `summary.json` exists is complete and is
 * never written again.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatCsv, parseCsv, writeFileAtomic, type CsvCell } from '@moepp/run-format';

export class RunFolder {
  constructor(readonly dir: string) {}

  path(name: string): string {
    return join(this.dir, name);
  }

  ensure(): void {
    mkdirSync(this.dir, { recursive: true });
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

  readJson<T>(name: string): T {
    return JSON.parse(readFileSync(this.path(name), 'utf8')) as T;
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

  /**
   * Replaces the checkpoint folder whole: files go to `checkpoint-next/`, the old checkpoint moves
   * to `checkpoint-prev/`, the new one is renamed in, the old one removed. A crash at any point
   * leaves a complete checkpoint in `checkpoint/` or `checkpoint-prev/`.
   */
  writeCheckpoint(files: Record<string, string | Uint8Array>): void {
    const next = this.path('checkpoint-next');
    const current = this.path('checkpoint');
    const previous = this.path('checkpoint-prev');
    rmSync(next, { recursive: true, force: true });
    mkdirSync(next, { recursive: true });
    for (const [name, content] of Object.entries(files)) writeFileSync(join(next, name), content);
    rmSync(previous, { recursive: true, force: true });
    if (existsSync(current)) renameSync(current, previous);
    renameSync(next, current);
    rmSync(previous, { recursive: true, force: true });
  }

  /** The folder of the latest complete checkpoint, or null. */
  checkpointDir(): string | null {
    for (const name of ['checkpoint', 'checkpoint-prev']) {
      const dir = this.path(name);
      if (existsSync(join(dir, 'state.json'))) return dir;
    }
    return null;
  }
}
