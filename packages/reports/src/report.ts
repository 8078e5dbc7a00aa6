/**
 * A study's report folder: tables (CSV + Markdown), figures (SVG + PNG + Vega-Lite spec) and a
 * report.md that embeds them. Building is pure (`buildStudyReport` returns file contents);
 * writing (`writeReportFiles`) is atomic per file, leaves identical files untouched and removes
 * only files that an earlier run of the report wrote (listed in its manifest) — so re-running
 * is idempotent and never deletes anything a person put in the folder.
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '@moepp/run-format';
import { buildFigures } from './figures/index.ts';
import { isFigure, renderFigure, type Figure, type SkippedFigure } from './figures/render.ts';
import { loadBenchmarks, type LoadedBench } from './load-bench.ts';
import { loadStudy, REPORT_MARKER_FILE, type LoadedStudy } from './load-runs.ts';
import { beyondPerplexityCsv, beyondPerplexityMarkdown, beyondPerplexityRows } from './beyond-perplexity.ts';
import { claimsCsv, claimsMarkdown, paperClaims } from './paper-claims.ts';
import {
  buildConfigRows, buildDeltaRows, deltasCsv, deltasMarkdown, skippedCsv, skippedMarkdown, summaryCsv, summaryMarkdown,
  type ConfigRow, type DeltaOptions, type DeltaRow,
} from './tables.ts';

/** Options of a study report. */
export interface ReportOptions {
  /** Overrides study.json's baseline. */
  baseline?: string;
  /** Bootstrap settings of the delta table. */
  bootstrap?: DeltaOptions;
  /** Render PNGs (default true); SVG and specs are always written. */
  png?: boolean;
  /** The command that regenerates this report, quoted in report.md. */
  reportCommand?: string;
}

/** Everything a report shows, before it is written. */
export interface StudyReport {
  study: LoadedStudy;
  bench: LoadedBench;
  rows: ConfigRow[];
  deltas: DeltaRow[];
  figures: Figure[];
  skippedFigures: SkippedFigure[];
  /** Relative path -> content, everything the report folder will hold. */
  files: Map<string, string | Buffer>;
}

function bulletList(items: string[]): string {
  return items.map((i) => `- ${i}`).join('\n') + '\n';
}

/** The text of report.md. */
export function reportMarkdown(r: Omit<StudyReport, 'files'>, options: ReportOptions = {}): string {
  const { study, rows, deltas, figures, skippedFigures, bench } = r;
  const out: string[] = [];
  const total = study.runs.length + study.skipped.length;
  out.push(`# Study report: ${study.name}\n`);
  if (study.info?.description) out.push(`${study.info.description}\n`);
  out.push(
    bulletList([
      `Runs: ${study.runs.length} complete of ${total} found or listed${study.skipped.length ? ` (${study.skipped.length} skipped, see [Skipped runs](#skipped-runs))` : ''}.`,
      `Configurations: ${rows.length ? rows.map((x) => `\`${x.config}\` (n=${x.n})`).join(', ') : 'none with a complete run'}.`,
      `Baseline: ${study.baseline ? `\`${study.baseline}\`` : 'none'}.`,
    ]),
  );
  out.push(
    `This folder is generated; edits are overwritten. Each figure is saved as SVG${options.png === false ? '' : ', PNG'} and its Vega-Lite spec (\`.vl.json\`, data inline) for restyling.\n`,
  );

  out.push('## How the runs were produced\n');
  const commands = study.info?.commands ?? [];
  out.push(commands.length ? `Exact commands, from study.json:\n\n\`\`\`sh\n${commands.join('\n')}\n\`\`\`\n` : 'study.json records no commands.\n');
  out.push(`This report: \`${options.reportCommand ?? `pnpm report ${study.name}`}\`\n`);

  out.push('## Tables\n');
  out.push('### Results per configuration\n');
  out.push('One row per configuration: size, FFN experts computed per token, quality on validation and test data, training speed, and the expert-layer speed from the newest matching benchmark.\n');
  out.push(rows.length ? summaryMarkdown(rows) : 'No configuration has a complete run.\n');
  out.push('\nCSV (all statistics, full precision): [tables/summary.csv](tables/summary.csv)\n');
  out.push('### Paired differences against the baseline\n');
  out.push('Per-seed differences from the baseline with a bootstrap confidence interval: a difference whose interval excludes 0 is unlikely to be seed noise.\n');
  out.push(deltasMarkdown(deltas, study.baseline));
  out.push('\nCSV (with the per-seed deltas): [tables/deltas.csv](tables/deltas.csv)\n');
  out.push('### Beyond perplexity\n');
  out.push(beyondPerplexityMarkdown(beyondPerplexityRows(study)));
  out.push('\nCSV: [tables/beyond-perplexity.csv](tables/beyond-perplexity.csv)\n');
  out.push("### The paper's qualitative claims\n");
  out.push(claimsMarkdown(paperClaims(study)));
  out.push('\nCSV (with the per-seed values): [tables/claims.csv](tables/claims.csv)\n');

  out.push('## Figures\n');
  if (figures.length === 0) out.push('No figure could be drawn from these runs.\n');
  for (const f of figures) {
    out.push(`### ${f.title}\n`);
    out.push(`![${f.title}](figures/${f.name}.svg)\n`);
    out.push(`${f.caption}\n`);
    const png = options.png === false ? '' : `[PNG](figures/${f.name}.png) · `;
    out.push(`Files: ${png}[SVG](figures/${f.name}.svg) · [Vega-Lite spec](figures/${f.name}.vl.json)\n`);
  }
  if (skippedFigures.length) {
    out.push('### Figures not drawn\n');
    out.push(bulletList(skippedFigures.map((s) => `${s.title}: ${s.reason}.`)));
  }

  out.push('## Skipped runs\n');
  out.push('Runs left out of every table and figure, with the reason (CSV: [tables/skipped.csv](tables/skipped.csv)).\n');
  out.push(skippedMarkdown(study.skipped));
  const notes = [...study.notes, ...bench.skipped.map((b) => `${b.runId} skipped: ${b.reason}.`)];
  if (notes.length) {
    out.push('\n## Notes\n');
    out.push(bulletList(notes));
  }
  return out.join('\n');
}

/**
 * Builds every file of a study's report in memory.
 *
 * @example
 * const r = await buildStudyReport(loadStudy('results', 'zc-ablation'), loadBenchmarks('results'));
 * console.log(r.files.get('report.md'));
 */
export async function buildStudyReport(study: LoadedStudy, bench: LoadedBench, options: ReportOptions = {}): Promise<StudyReport> {
  const rows = buildConfigRows(study, bench);
  const deltas = buildDeltaRows(study, options.bootstrap);
  const built = study.runs.length ? buildFigures({ study, rows, bench }) : [];
  const figures = built.filter(isFigure);
  const skippedFigures = built.filter((f): f is SkippedFigure => !isFigure(f));
  const files = new Map<string, string | Buffer>();
  files.set('tables/summary.md', rows.length ? summaryMarkdown(rows) : 'No configuration has a complete run.\n');
  files.set('tables/summary.csv', summaryCsv(rows));
  files.set('tables/deltas.md', deltasMarkdown(deltas, study.baseline));
  files.set('tables/deltas.csv', deltasCsv(deltas));
  const beyond = beyondPerplexityRows(study);
  files.set('tables/beyond-perplexity.md', beyondPerplexityMarkdown(beyond));
  files.set('tables/beyond-perplexity.csv', beyondPerplexityCsv(beyond));
  const claims = paperClaims(study);
  files.set('tables/claims.md', claimsMarkdown(claims));
  files.set('tables/claims.csv', claimsCsv(claims));
  files.set('tables/skipped.md', skippedMarkdown(study.skipped));
  files.set('tables/skipped.csv', skippedCsv(study.skipped));
  for (const f of figures) {
    const rendered = await renderFigure(f, { png: options.png });
    files.set(`figures/${f.name}.svg`, rendered.svg);
    if (options.png !== false) files.set(`figures/${f.name}.png`, rendered.png);
    files.set(`figures/${f.name}.vl.json`, rendered.specJson);
  }
  const report = { study, bench, rows, deltas, figures, skippedFigures };
  files.set('report.md', reportMarkdown(report, options));
  return { ...report, files };
}

/** What `writeReportFiles` did. */
export interface WriteResult {
  written: string[];
  unchanged: string[];
  removed: string[];
}

function sameContent(path: string, content: string | Buffer): boolean {
  if (!existsSync(path)) return false;
  const old = readFileSync(path);
  return old.equals(typeof content === 'string' ? Buffer.from(content, 'utf8') : content);
}

/**
 * Writes the report files into `outDir`. Files with identical content are not rewritten (their
 * modification time stays), files the previous report wrote but this one does not are removed.
 */
export function writeReportFiles(outDir: string, files: Map<string, string | Buffer>, study: string): WriteResult {
  mkdirSync(outDir, { recursive: true });
  const manifestPath = join(outDir, REPORT_MARKER_FILE);
  let previous: string[] = [];
  if (existsSync(manifestPath)) {
    try {
      const m = JSON.parse(readFileSync(manifestPath, 'utf8')) as { files?: unknown };
      if (Array.isArray(m.files)) previous = m.files.filter((f): f is string => typeof f === 'string' && !f.includes('..'));
    } catch {
      // A broken manifest only means stale files may stay behind; the new one replaces it.
    }
  }
  const result: WriteResult = { written: [], unchanged: [], removed: [] };
  const names = [...files.keys()].sort();
  for (const name of names) {
    const path = join(outDir, name);
    const content = files.get(name)!;
    if (sameContent(path, content)) result.unchanged.push(name);
    else {
      mkdirSync(dirname(path), { recursive: true });
      writeFileAtomic(path, content);
      result.written.push(name);
    }
  }
  for (const name of previous) {
    if (files.has(name)) continue;
    const path = join(outDir, name);
    if (existsSync(path)) {
      rmSync(path);
      result.removed.push(name);
    }
  }
  const manifest = JSON.stringify({ formatVersion: 1, generator: '@moepp/reports', study, files: names }, null, 2) + '\n';
  if (!sameContent(manifestPath, manifest)) writeFileAtomic(manifestPath, manifest);
  return result;
}

/** Options of `writeStudyReport`. */
export interface WriteStudyReportOptions extends ReportOptions {
  resultsDir: string;
  study: string;
  /** Default `<resultsDir>/<study>/report`. */
  outDir?: string;
}

/**
 * Loads a study and its benchmarks, builds the report and writes it. Throws
 * `UnknownStudyError` for a study folder that does not exist.
 *
 * @example
 * const { outDir } = await writeStudyReport({ resultsDir: 'results', study: 'zc-ablation' });
 */
export async function writeStudyReport(options: WriteStudyReportOptions): Promise<StudyReport & { outDir: string; write: WriteResult }> {
  const study = loadStudy(options.resultsDir, options.study, { baseline: options.baseline });
  const bench = loadBenchmarks(options.resultsDir);
  const report = await buildStudyReport(study, bench, options);
  const outDir = options.outDir ?? join(options.resultsDir, options.study, 'report');
  const write = writeReportFiles(outDir, report.files, options.study);
  return { ...report, outDir, write };
}
