/**
 * Runs a planned study: one folder per run under `results/<study>/`, finished runs skipped,
 * `--force` reruns moved aside (never deleted), `study.json` listing the grid and the commands
 * that produced it, and a summary table at the end.
 */
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { gatingMode, type ExecutorName } from '@moepp/core';
import type { PlannedRun, Study } from './study-config.ts';
import { RunFolder } from '../runs/run-folder.ts';
import { prepareRunData } from '../runs/prepare-run-data.ts';
import { trainRun, type TrainRunOptions } from '../training/trainer.ts';
import { writeFileAtomic, type RunSummary, type StudyFile } from '@moepp/run-format';

export type RunStatus = 'complete' | 'partial' | 'new';

export function runStatus(resultsDir: string, study: string, run: PlannedRun): RunStatus {
  const folder = new RunFolder(join(resultsDir, study, run.runId));
  return folder.isComplete() ? 'complete' : folder.hasStarted() ? 'partial' : 'new';
}

export interface RunStudyOptions {
  study: Study;
  /** The whole expanded study (recorded in study.json). */
  plan: PlannedRun[];
  /** The runs to execute now (all, or the one chosen by --index). */
  runs: PlannedRun[];
  resultsDir: string;
  repoRoot: string;
  backend: { backend: string; threads: number; executor: ExecutorName };
  force: boolean;
  command: string;
  log: (line: string) => void;
  onStep?: (run: PlannedRun) => TrainRunOptions['onStep'];
  /** Test hook passed to the trainer. */
  stopAfterSteps?: number;
}

export async function runStudy(options: RunStudyOptions): Promise<{ run: PlannedRun; summary: RunSummary; skipped: boolean }[]> {
  const { study, runs, resultsDir, log } = options;
  const studyDir = join(resultsDir, study.name);
  mkdirSync(studyDir, { recursive: true });
  recordStudy(studyDir, study, options);
  const results: { run: PlannedRun; summary: RunSummary; skipped: boolean }[] = [];
  for (const run of runs) {
    const folder = new RunFolder(join(studyDir, run.runId));
    if (folder.isComplete() && !options.force) {
      log(`[${run.index}] ${run.runId}: complete, skipped (use --force to rerun it into a fresh folder)`);
      results.push({ run, summary: folder.readJson<RunSummary>('summary.json'), skipped: true });
      continue;
    }
    if (options.force && existsSync(folder.dir)) {
      const aside = join(studyDir, '.replaced', `${run.runId}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
      mkdirSync(join(studyDir, '.replaced'), { recursive: true });
      renameSync(folder.dir, aside);
      log(`[${run.index}] ${run.runId}: --force: previous folder moved to ${aside}`);
    }
    const caveat = run.config.model.moe ? gatingMode(run.config.model.moe.gating).caveat : undefined;
    if (caveat) log(`[${run.index}] ${run.runId}: note: ${caveat}`);
    const resuming = folder.checkpointDir() !== null;
    log(`[${run.index}] ${run.runId}: ${resuming ? 'resuming from its checkpoint' : 'training'} (${run.config.training.steps} steps)`);
    const data = await prepareRunData(run.config.data, options.repoRoot);
    const summary = await trainRun({ folder, config: run.config, data, backend: options.backend, onStep: options.onStep?.(run), stopAfterSteps: options.stopAfterSteps });
    log(`[${run.index}] ${run.runId}: done in ${summary.wallSeconds.toFixed(0)} s — val loss ${summary.val.loss.toFixed(3)}, ppl ${summary.val.perplexity.toFixed(1)}, acc ${(100 * summary.val.accuracy).toFixed(1)} %`);
    results.push({ run, summary, skipped: false });
  }
  return results;
}

/** study.json: the expanded grid and every command that wrote into this study folder. */
function recordStudy(studyDir: string, study: Study, options: RunStudyOptions): void {
  const file = join(studyDir, 'study.json');
  const previous = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { commands?: string[] }) : {};
  const commands = [...new Set([...(previous.commands ?? []), options.command])];
  const content: StudyFile = {
    formatVersion: 1,
    study: study.name,
    description: study.description,
    file: study.file.replace(`${options.repoRoot}/`, ''),
    baseline: study.baseline,
    commands,
    runs: options.plan.map((r) => ({ runId: r.runId, config: r.configName, seed: r.seed, index: r.index })),
  };
  writeFileAtomic(file, `${JSON.stringify(content, null, 2)}\n`);
}

/** The closing table: one row per configuration, means over its seeds. */
export function summaryTable(results: { run: PlannedRun; summary: RunSummary }[]): string {
  const byConfig = new Map<string, RunSummary[]>();
  for (const { run, summary } of results) byConfig.set(run.configName, [...(byConfig.get(run.configName) ?? []), summary]);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const rows = [...byConfig].map(([name, s]) => [
    name,
    String(s.length),
    mean(s.map((x) => x.val.loss)).toFixed(3),
    mean(s.map((x) => x.val.perplexity)).toFixed(1),
    `${(100 * mean(s.map((x) => x.val.accuracy))).toFixed(2)} %`,
    mean(s.map((x) => x.train.tokensPerSecond)).toFixed(0),
    mean(s.map((x) => x.params.ffnExpertsPerToken)).toFixed(2),
  ]);
  const header = ['config', 'seeds', 'val loss', 'val ppl', 'val acc', 'train tok/s', 'FFN experts/token'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}
