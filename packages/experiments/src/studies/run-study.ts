/**
 * Runs a planned study: one folder per run under `results/<study>/`, finished runs skipped,
 * `--force` reruns moved aside (never deleted), `study.json` listing the grid, each run's
 * fingerprint and the commands that produced it, and a summary table at the end.
 *
 * Everything is checked before anything is trained or moved: every run's fingerprint (which
 * hashes the corpus, so a bad corpus path fails here), its folder against it, and the data. Each
 * run is then trained under its lock (run-lock.ts): a run another process holds is skipped with
 * a message, or waited for with `wait`, so processes sharing a study (`--index` on several
 * machines, or two commands at once) never write one run twice.
 */
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ExecutorName } from '@moepp/core';
import type { PlannedRun, Study } from './study-config.ts';
import { RunFolder } from '../runs/run-folder.ts';
import { prepareRunData } from '../runs/prepare-run-data.ts';
import { fingerprintRun, identityProblem, RunIdentityError, type RunFingerprint } from '../runs/run-fingerprint.ts';
import { acquireRunLock, describeHolder, releaseRunLock, RUN_LOCK_FILE, type RunLock } from '../runs/run-lock.ts';
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
  /** Wait for a run another process holds instead of skipping it. */
  wait?: boolean;
  command: string;
  log: (line: string) => void;
  onStep?: (run: PlannedRun) => TrainRunOptions['onStep'];
  /** Passed to the trainer: true stops the current run at a step boundary (signals). */
  shouldStop?: () => boolean;
  /** Test hook passed to the trainer. */
  stopAfterSteps?: number;
}

export interface StudyRunResult {
  run: PlannedRun;
  summary: RunSummary;
  skipped: boolean;
}

const LOCK_POLL_MS = 2000;

export async function runStudy(options: RunStudyOptions): Promise<StudyRunResult[]> {
  const { study, runs, resultsDir, log } = options;
  const studyDir = join(resultsDir, study.name);
  const folderOf = (run: PlannedRun) => new RunFolder(join(studyDir, run.runId));

  // Check everything before touching anything.
  const fingerprints = new Map(options.plan.map((run) => [run.runId, fingerprintRun(run.config, options.repoRoot)]));
  const fingerprintOf = (run: PlannedRun) => fingerprints.get(run.runId) as RunFingerprint;
  const mismatched = runs.flatMap((run) => {
    const problem = identityProblem(folderOf(run), fingerprintOf(run));
    return problem ? [problem] : [];
  });
  if (mismatched.length && !options.force) {
    const more = mismatched.length > 1 ? ` (and ${mismatched.length - 1} more run${mismatched.length > 2 ? 's' : ''} of this command)` : '';
    throw new RunIdentityError(`${mismatched[0]}${more}; rerun with --force to train afresh (old folders are moved to ${join(studyDir, '.replaced')}/), or run the command they were trained with`);
  }
  for (const data of new Map(runs.map((r) => [JSON.stringify(r.config.data), r.config.data])).values()) await prepareRunData(data, options.repoRoot);

  mkdirSync(studyDir, { recursive: true });
  recordStudy(studyDir, study, options, fingerprints);
  const results: StudyRunResult[] = [];
  for (const run of runs) {
    // A stop asked for outside a run's training steps (data preparation, final evaluation).
    if (options.shouldStop?.()) break;
    const folder = folderOf(run);
    const holder = await lockRun(folder, run, options);
    if (holder) {
      log(`[${run.index}] ${run.runId}: skipped, being trained by ${describeHolder(holder)} (--wait to wait for it)`);
      continue;
    }
    try {
      const result = await trainLockedRun(folder, run, fingerprintOf(run), options, studyDir);
      if (result) results.push(result);
    } finally {
      releaseRunLock(folder.dir);
    }
  }
  return results;
}

/** Takes the run's lock (waiting for it with `wait`); returns the holder when skipped. */
async function lockRun(folder: RunFolder, run: PlannedRun, options: RunStudyOptions): Promise<RunLock | null> {
  let announced = false;
  for (;;) {
    const holder = acquireRunLock(folder.dir, options.command);
    if (!holder || !options.wait) return holder;
    if (!announced) options.log(`[${run.index}] ${run.runId}: waiting for ${describeHolder(holder)}`);
    announced = true;
    await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
  }
}

/** One run, under its lock: skipped when complete, else (moved aside with --force and) trained. */
async function trainLockedRun(folder: RunFolder, run: PlannedRun, fingerprint: RunFingerprint, options: RunStudyOptions, studyDir: string): Promise<StudyRunResult | null> {
  const { log } = options;
  // Another process may have finished or started the run since the checks above.
  const problem = identityProblem(folder, fingerprint);
  if (folder.isComplete() && !options.force) {
    if (problem) throw new RunIdentityError(`${problem}; rerun with --force to train it afresh`);
    log(`[${run.index}] ${run.runId}: complete, skipped (use --force to rerun it into a fresh folder)`);
    return { run, summary: folder.readJson<RunSummary>('summary.json'), skipped: true };
  }
  if (options.force && (folder.hasStarted() || folder.isComplete())) {
    const aside = join(studyDir, '.replaced', `${run.runId}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
    mkdirSync(join(studyDir, '.replaced'), { recursive: true });
    // The lock travels with the folder; the fresh folder is locked anew (someone else may get
    // it in between: then it is theirs).
    renameSync(folder.dir, aside);
    rmSync(join(aside, RUN_LOCK_FILE), { force: true });
    log(`[${run.index}] ${run.runId}: --force: previous folder moved to ${aside}`);
    const holder = acquireRunLock(folder.dir, options.command);
    if (holder) {
      log(`[${run.index}] ${run.runId}: skipped, taken meanwhile by ${describeHolder(holder)}`);
      return null;
    }
  }
  log(`[${run.index}] ${run.runId}: training (${run.config.training.steps} steps)`);
  const data = await prepareRunData(run.config.data, options.repoRoot);
  const summary = await trainRun({
    folder, config: run.config, fingerprint, data, backend: options.backend,
    onStep: options.onStep?.(run), log: (line) => log(`[${run.index}] ${run.runId}: ${line}`), shouldStop: options.shouldStop, stopAfterSteps: options.stopAfterSteps,
  });
  log(`[${run.index}] ${run.runId}: done in ${summary.wallSeconds.toFixed(0)} s — val loss ${summary.val.loss.toFixed(3)}, ppl ${summary.val.perplexity.toFixed(1)}, acc ${(100 * summary.val.accuracy).toFixed(1)} %`);
  return { run, summary, skipped: false };
}

/** study.json: the expanded grid with each run's fingerprint, and every command that wrote into this study folder. */
function recordStudy(studyDir: string, study: Study, options: RunStudyOptions, fingerprints: Map<string, RunFingerprint>): void {
  const file = join(studyDir, 'study.json');
  const previous = existsSync(file) ? (new RunFolder(studyDir).readJson<{ commands?: string[] }>('study.json')) : {};
  const commands = [...new Set([...(previous.commands ?? []), options.command])];
  const content: StudyFile = {
    formatVersion: 1,
    study: study.name,
    description: study.description,
    file: study.file.replace(`${options.repoRoot}/`, ''),
    baseline: study.baseline,
    commands,
    runs: options.plan.map((r) => ({ runId: r.runId, config: r.configName, seed: r.seed, index: r.index, fingerprint: fingerprints.get(r.runId)?.fingerprint })),
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
