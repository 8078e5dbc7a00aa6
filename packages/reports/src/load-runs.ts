/**
 * Loading a study's run folders (docs/run-folder.md). A run that is unfinished, corrupt or of
 * another format version is returned in `skipped` with a one-line reason; loading never throws
 * for a bad run, only for a study folder that does not exist.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { csvNumber, parseCsv, parseRunFile, runFingerprintSchema } from '@moepp/run-format';
import {
  costClassesOf, parseEvaluation, parseRouting, parseRunConfig, parseStudyFile, parseSummary, runSettings, RunFormatError, type EvaluationFile, type ExpertCostClasses,
  type EvalRow, type MetricsRow, type ModelShape, type RoutingStats, type RunSummary, type StudyFile,
} from './run-folder-format.ts';

/** A complete run, every file parsed. */
export interface LoadedRun {
  runId: string;
  dir: string;
  configName: string;
  seed: number;
  summary: RunSummary;
  shape: ModelShape;
  /** Cost class of every expert kind the run knew (summary.json). */
  expertCostClasses: ExpertCostClasses;
  metrics: MetricsRow[];
  evals: EvalRow[];
  routing: RoutingStats;
  /** evaluation.json; null in run folders written before it. */
  evaluation: EvaluationFile | null;
  /** config.json's model, data and training settings as dotted keys (`runSettings`). */
  settings: Record<string, unknown>;
}

/** A run folder (or a run listed in study.json) that the report leaves out, and why. */
export interface SkippedRun {
  runId: string;
  reason: string;
}

/** Everything a report needs about one study. */
export interface LoadedStudy {
  name: string;
  dir: string;
  /** Parsed study.json, or null when it is missing or unreadable (see `notes`). */
  info: StudyFile | null;
  /** Complete runs, ordered by config (see `configs`) then seed. */
  runs: LoadedRun[];
  skipped: SkippedRun[];
  /** Config every other one is compared against; null when unknown or it has no complete run. */
  baseline: string | null;
  /** Names of configs with at least one complete run: baseline first, then study.json order. */
  configs: string[];
  /** Problems with the study as a whole, one sentence each (e.g. a corrupt study.json). */
  notes: string[];
}

/** Thrown when the study folder does not exist; the message names the studies that do. */
export class UnknownStudyError extends Error {
  override name = 'UnknownStudyError';
}

/** File written into every report folder so that loaders do not mistake it for a run. */
export const REPORT_MARKER_FILE = 'report-manifest.json';

/** `pnpm ablate --slurm`'s batch scripts, task logs and submissions: part of a study, not a run. */
const SLURM_FOLDER = 'slurm';

/** Files whose presence makes a folder a run folder (possibly unfinished). */
const RUN_FILES = ['summary.json', 'config.json', 'environment.json', 'metrics.csv'];

function subdirs(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && !d.name.startsWith('.'))
    .map((d) => d.name)
    .sort();
}

/**
 * Study names under `resultsDir`: folders holding a study.json or at least one run folder.
 * `bench` (benchmarks) is not a study.
 */
export function listStudies(resultsDir: string): string[] {
  if (!existsSync(resultsDir)) return [];
  return subdirs(resultsDir).filter((name) => {
    if (name === 'bench') return false;
    const dir = join(resultsDir, name);
    if (existsSync(join(dir, 'study.json'))) return true;
    return subdirs(dir).some((r) => RUN_FILES.some((f) => existsSync(join(dir, r, f))));
  });
}

function readJson(dir: string, file: string): unknown {
  const path = join(dir, file);
  if (!existsSync(path)) throw new RunFormatError(`unfinished: no ${file}`);
  const text = readFileSync(path, 'utf8');
  try {
    return JSON.parse(text);
  } catch (e) {
    // The engine's wording differs between Node versions; the position does not.
    const msg = (e as Error).message;
    const at = /position (\d+)/.exec(msg)?.[1];
    const where =
      text.trim() === '' ? 'the file is empty'
      : /end of JSON/i.test(msg) || Number(at) >= text.length ? `truncated after ${text.length} characters`
      : at !== undefined ? `parse error at character ${at}` : 'parse error';
    throw new RunFormatError(`corrupt: ${file} is not valid JSON (${where})`);
  }
}

function readCsv(dir: string, file: string): Record<string, string>[] {
  const path = join(dir, file);
  if (!existsSync(path)) throw new RunFormatError(`unfinished: no ${file}`);
  try {
    return parseCsv(readFileSync(path, 'utf8'), file).rows;
  } catch (e) {
    throw new RunFormatError(`corrupt: ${(e as Error).message}`);
  }
}

function parseMetrics(rows: Record<string, string>[]): MetricsRow[] {
  const file = 'metrics.csv';
  try {
    return rows.map((r) => {
      const loss = csvNumber(r, 'loss', file);
      return {
        step: csvNumber(r, 'step', file),
        tokens: csvNumber(r, 'tokens', file),
        loss,
        // Older writers may lack `ce`; the total loss is then the best stand-in.
        ce: 'ce' in r ? csvNumber(r, 'ce', file) : loss,
        tokensPerS: 'tokens_per_s' in r ? csvNumber(r, 'tokens_per_s', file) : NaN,
      };
    });
  } catch (e) {
    throw new RunFormatError(`corrupt: ${(e as Error).message}`);
  }
}

function parseEvals(rows: Record<string, string>[]): EvalRow[] {
  const file = 'eval.csv';
  try {
    return rows.map((r) => ({
      step: csvNumber(r, 'step', file),
      split: r.split ?? '',
      loss: csvNumber(r, 'loss', file),
      perplexity: csvNumber(r, 'perplexity', file),
      accuracy: csvNumber(r, 'accuracy', file),
    }));
  } catch (e) {
    throw new RunFormatError(`corrupt: ${(e as Error).message}`);
  }
}

/**
 * Loads one run folder. Throws a `RunFormatError` (message = skip reason) for a run that
 * cannot be reported. summary.json is checked first: it is written last, so its absence is the
 * common "still running or killed" case and deserves that plain reason.
 */
export function loadRun(dir: string, runId: string, study?: string): LoadedRun {
  const summary = parseSummary(readJson(dir, 'summary.json'));
  const configJson = readJson(dir, 'config.json');
  const isMoe = ((configJson as { model?: { moe?: unknown } } | null)?.model?.moe ?? null) !== null;
  const expertCostClasses = costClassesOf(summary, isMoe);
  const config = parseRunConfig(configJson, expertCostClasses);
  if (summary.runId !== runId) {
    throw new RunFormatError(`inconsistent: summary.json names run '${summary.runId}', folder is '${runId}'`);
  }
  if (study !== undefined && summary.study !== study) {
    throw new RunFormatError(`inconsistent: summary.json names study '${summary.study}', not '${study}'`);
  }
  if (config.configName !== summary.configName || config.seed !== summary.seed) {
    throw new RunFormatError(
      `inconsistent: config.json is ${config.configName} seed ${config.seed}, summary.json is ${summary.configName} seed ${summary.seed}`,
    );
  }
  // A dense model has no routing, and the trainer then writes no routing.json.
  const routing =
    config.shape.moe === null && !existsSync(join(dir, 'routing.json'))
      ? { formatVersion: 1, expertKinds: [], layers: [], byPos: {}, byPiece: {}, coActivation: [], routerSaturation: null, loadOverTraining: null }
      : parseRouting(readJson(dir, 'routing.json'), expertCostClasses);
  const metrics = parseMetrics(readCsv(dir, 'metrics.csv'));
  const evals = parseEvals(readCsv(dir, 'eval.csv'));
  const evaluation = existsSync(join(dir, 'evaluation.json')) ? parseEvaluation(readJson(dir, 'evaluation.json')) : null;
  return {
    runId, dir, configName: summary.configName, seed: summary.seed, summary, shape: config.shape, expertCostClasses, metrics, evals, routing, evaluation,
    settings: runSettings(configJson),
  };
}

/** Options of `loadStudy`. */
export interface LoadStudyOptions {
  /** Overrides study.json's baseline config. */
  baseline?: string;
}

/**
 * Throws (the skip reason) unless the folder was trained with the settings study.json records for
 * its run id, so that a report never mixes runs of one id trained with different settings. A
 * study.json without fingerprints (written before they were recorded) checks nothing.
 */
function checkFingerprint(runDir: string, expected: string | undefined): void {
  if (expected === undefined) return;
  if (!existsSync(join(runDir, 'fingerprint.json'))) {
    throw new RunFormatError('unverifiable: no fingerprint.json, so it cannot be matched to the settings study.json records; rerun it with pnpm ablate … --force');
  }
  const saved = parseRunFile(runFingerprintSchema, readJson(runDir, 'fingerprint.json'), 'fingerprint.json');
  if (saved.fingerprint !== expected) {
    throw new RunFormatError("other settings: fingerprint.json differs from study.json's (the run was trained by another command than the study's latest); rerun it with that command and --force");
  }
}

/**
 * Loads every run of `study` under `resultsDir`. Runs listed in study.json without a folder
 * are reported as not started; folders not listed are still read (a grid may have grown).
 *
 * @example
 * const s = loadStudy('results', 'zc-ablation');
 * console.log(s.runs.length, 'complete;', s.skipped.map((r) => `${r.runId}: ${r.reason}`));
 */
export function loadStudy(resultsDir: string, study: string, options: LoadStudyOptions = {}): LoadedStudy {
  const dir = join(resultsDir, study);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    const known = listStudies(resultsDir);
    throw new UnknownStudyError(
      `No study '${study}' in ${resultsDir}. ` +
        (known.length ? `Studies there: ${known.join(', ')}.` : 'It holds no studies yet (run `pnpm ablate <study>` first).'),
    );
  }
  const notes: string[] = [];
  let info: StudyFile | null = null;
  if (existsSync(join(dir, 'study.json'))) {
    try {
      info = parseStudyFile(JSON.parse(readFileSync(join(dir, 'study.json'), 'utf8')));
    } catch (e) {
      notes.push(`study.json could not be read (${(e as Error).message}); runs are read from the folders alone.`);
    }
  } else {
    notes.push('No study.json: runs are read from the folders alone, and the exact commands are unknown.');
  }

  const runs: LoadedRun[] = [];
  const skipped: SkippedRun[] = [];
  const folders = subdirs(dir).filter((name) => name !== SLURM_FOLDER && !existsSync(join(dir, name, REPORT_MARKER_FILE)));
  for (const runId of folders) {
    const runDir = join(dir, runId);
    if (!RUN_FILES.some((f) => existsSync(join(runDir, f)))) {
      skipped.push({ runId, reason: 'not a run yet: the folder holds none of summary.json, config.json, metrics.csv' });
      continue;
    }
    try {
      checkFingerprint(runDir, info?.runs.find((r) => r.runId === runId)?.fingerprint);
      // Without study.json the folder may have been renamed or copied: do not insist on its name.
      runs.push(loadRun(runDir, runId, info?.study));
    } catch (e) {
      if (!(e instanceof RunFormatError)) throw e;
      skipped.push({ runId, reason: e.message });
    }
  }
  for (const r of info?.runs ?? []) {
    if (!folders.includes(r.runId)) skipped.push({ runId: r.runId, reason: 'not started: listed in study.json, no folder' });
  }

  // Config order: baseline, then the order of the grid in study.json, then by name.
  const gridOrder = new Map<string, number>();
  for (const r of [...(info?.runs ?? [])].sort((a, b) => a.index - b.index)) {
    if (!gridOrder.has(r.config)) gridOrder.set(r.config, gridOrder.size);
  }
  const requested = options.baseline ?? info?.baseline ?? null;
  const present = [...new Set(runs.map((r) => r.configName))];
  let baseline: string | null = null;
  if (requested !== null && present.includes(requested)) baseline = requested;
  else if (requested !== null) notes.push(`Baseline '${requested}' has no complete run: no paired deltas.`);
  else notes.push('No baseline config is named (study.json `baseline` or --baseline): no paired deltas.');
  const rank = (c: string): [number, number, string] => [c === baseline ? 0 : 1, gridOrder.get(c) ?? Infinity, c];
  const configs = present.sort((a, b) => {
    const [ra, rb] = [rank(a), rank(b)];
    return ra[0] - rb[0] || (ra[1] === rb[1] ? 0 : ra[1] < rb[1] ? -1 : 1) || ra[2].localeCompare(rb[2]);
  });
  runs.sort((a, b) => configs.indexOf(a.configName) - configs.indexOf(b.configName) || a.seed - b.seed);
  skipped.sort((a, b) => a.runId.localeCompare(b.runId));
  return { name: study, dir, info, runs, skipped, baseline, configs, notes };
}

/** The runs of one config, ordered by seed. */
export function runsOf(study: LoadedStudy, config: string): LoadedRun[] {
  return study.runs.filter((r) => r.configName === config);
}
