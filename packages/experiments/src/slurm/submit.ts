/**
 * `pnpm ablate <study> --slurm`: the study's pending runs as one Slurm job array, then the report
 * as a job that starts when the array has ended. Submitting again picks up where the last
 * submission left off: complete runs are skipped, runs held by a live lock or by a task of an
 * earlier submission that is still queued or running are left alone, and the others (new,
 * partial, failed, cancelled) are submitted; a partial run resumes from its checkpoint.
 */
import { existsSync, mkdirSync, statfsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { PlannedRun } from '../studies/study-config.ts';
import { arrayRanges, arrayScript, reportScript, slurmDir, type SbatchOptions, type StudyJob } from './sbatch-script.ts';
import { isActive, jobStates, requireSbatch, sbatch, SlurmError } from './slurm-commands.ts';
import { readSubmissions, recordSubmission } from './submissions.ts';
import { runState } from './run-state.ts';
import { writeFileAtomic } from '@moepp/run-format';

export interface SubmitRequest {
  study: string;
  plan: PlannedRun[];
  /** Only this run (`--index`), else every pending run. */
  index?: number;
  checkout: string;
  resultsDir: string;
  /** What every task passes to `pnpm ablate` (see `taskAblateArgs`). */
  ablateArgs: string[];
  command: string;
  /** The `--status` command to print after submitting. */
  statusCommand: string;
  sbatch: SbatchOptions;
  dryRun: boolean;
  log: (line: string) => void;
}

/** The options of the submitting `pnpm ablate` that each task repeats, paths made absolute. */
export function taskAblateArgs(options: { studyFile: string; base?: string; set: string[]; backend?: string; executor?: string; threads?: string; resultsDir: string }): string[] {
  return [
    options.studyFile,
    ...(options.base === undefined ? [] : ['--base', options.base]),
    ...options.set.flatMap((s) => ['--set', s]),
    ...(options.backend === undefined ? [] : ['--backend', options.backend]),
    ...(options.executor === undefined ? [] : ['--executor', options.executor]),
    ...(options.threads === undefined ? [] : ['--threads', options.threads]),
    '--results', options.resultsDir,
  ];
}

export function submitStudy(request: SubmitRequest): void {
  const { study, resultsDir, log } = request;
  if (!request.dryRun) requireSbatch();
  checkCheckout(request.checkout);
  checkSharedFolder(resultsDir, '--results DIR on a shared filesystem');
  checkSharedFolder(request.checkout, 'a checkout on a shared filesystem');

  const studyDir = join(resultsDir, study);
  const runs = request.index === undefined ? request.plan : request.plan.filter((r) => r.index === request.index);
  const held = heldRuns(studyDir);
  const pending: number[] = [];
  for (const run of runs) {
    const state = runState(studyDir, run.index, run.runId);
    if (state.kind === 'complete') log(`[${run.index}] ${run.runId}: complete, skipped`);
    else if (state.kind === 'running') log(`[${run.index}] ${run.runId}: running on host ${state.host} since ${state.since}, left alone`);
    else if (held.has(run.index)) log(`[${run.index}] ${run.runId}: ${held.get(run.index)}, left alone`);
    else pending.push(run.index);
  }
  if (pending.length === 0) {
    log(`${study}: nothing to submit (every run is complete or already queued); see pnpm ablate ${study} --status`);
    return;
  }

  const job: StudyJob = { study, checkout: request.checkout, node: process.execPath, resultsDir, ablateArgs: request.ablateArgs, indices: pending, command: request.command };
  const array = arrayScript(job, request.sbatch);
  const report = reportScript(job, request.sbatch);
  const dir = slurmDir(studyDir);
  if (request.dryRun) {
    log(`# ${join(dir, 'job.sbatch')} (--dry-run: not written, not submitted)\n${array}`);
    log(`# ${join(dir, 'report.sbatch')}, submitted with --dependency=afterany:<array job id>\n${report}`);
    return;
  }

  mkdirSync(join(dir, 'logs'), { recursive: true });
  writeFileAtomic(join(dir, 'job.sbatch'), array);
  writeFileAtomic(join(dir, 'report.sbatch'), report);
  const arrayJobId = sbatch(join(dir, 'job.sbatch'));
  const reportJobId = sbatch(join(dir, 'report.sbatch'), [`--dependency=afterany:${arrayJobId}`]);
  recordSubmission(studyDir, { arrayJobId, reportJobId, indices: pending, submittedAt: new Date().toISOString(), command: request.command });
  log(`${study}: submitted job array ${arrayJobId} (runs ${arrayRanges(pending)}) and report job ${reportJobId} (after the array ends)`);
  log(`  script: ${join(dir, 'job.sbatch')}`);
  log(`  logs:   ${join(dir, 'logs')}/run-<index>.log, report.log`);
  log(`  status: ${request.statusCommand}`);
}

/** Runs that a task of an earlier submission still holds or waits for, with a description. */
function heldRuns(studyDir: string): Map<number, string> {
  const held = new Map<number, string>();
  const submissions = readSubmissions(studyDir);
  for (const task of jobStates(submissions.map((s) => s.arrayJobId))) {
    if (task.task !== null && isActive(task.state)) held.set(task.task, `${task.state.toLowerCase()} as Slurm task ${task.jobId}_${task.task}`);
  }
  return held;
}

/** The tasks run `tsx` from this checkout's node_modules. */
function checkCheckout(checkout: string): void {
  if (!existsSync(join(checkout, 'node_modules', 'tsx'))) {
    throw new SlurmError(`the workspace at ${checkout} is not installed (no node_modules/tsx): run npx -y pnpm@12.4.2 install there first; the Slurm tasks run from this checkout`);
  }
}

const MEMORY_FILESYSTEMS = new Map([[0x01021994, 'tmpfs'], [0x858458f6, 'ramfs']]);

/** A folder in memory is local to this machine, so tasks on other nodes would not see it. */
function checkSharedFolder(folder: string, fix: string): void {
  let existing = folder;
  while (!existsSync(existing) && dirname(existing) !== existing) existing = dirname(existing);
  const kind = MEMORY_FILESYSTEMS.get(statfsSync(existing).type);
  if (kind !== undefined) throw new SlurmError(`${folder} is on ${kind}, local to this machine, so Slurm tasks on other nodes would not see it: use ${fix}`);
}
