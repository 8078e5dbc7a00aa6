/**
 * `pnpm ablate <study> --status`: one line per run — its state from the run folder, lock and log
 * (new / running on host H since T / partial at step S / failed at step S: <error line> /
 * complete) and, for studies submitted with --slurm, its latest Slurm task's state where
 * `squeue` or `sacct` can tell — then the report jobs.
 */
import { join } from 'node:path';
import type { PlannedRun } from '../studies/study-config.ts';
import { describeRunState, runState } from './run-state.ts';
import { isActive, jobStates, type SlurmTaskState } from './slurm-commands.ts';
import { RUN_LOCK_FILE } from '../runs/run-lock.ts';
import { readSubmissions } from './submissions.ts';

function describeTask(task: SlurmTaskState): string {
  const where = task.node === '' || task.node === 'None assigned' ? '' : ` on ${task.node}`;
  const since = task.state === 'RUNNING' && task.start !== '' ? ` since ${task.start}` : '';
  return `slurm ${task.jobId}${task.task === null ? '' : `_${task.task}`} ${task.state}${where}${since}`;
}

export function studyStatus(resultsDir: string, study: string, plan: PlannedRun[]): string[] {
  const studyDir = join(resultsDir, study);
  const submissions = readSubmissions(studyDir);
  const states = jobStates(submissions.flatMap((s) => [s.arrayJobId, s.reportJobId]));
  // The latest submission that covered a run is the one its state comes from.
  const latestTask = new Map<number, SlurmTaskState>();
  for (const submission of submissions) {
    for (const task of states.filter((t) => t.jobId === submission.arrayJobId && t.task !== null)) latestTask.set(task.task as number, task);
  }

  const lines = [`study ${study}: ${plan.length} runs in ${studyDir}${submissions.length === 0 ? '' : `, ${submissions.length} Slurm submission(s)`}`];
  const width = Math.max(...plan.map((r) => r.runId.length));
  for (const run of plan) {
    let state = runState(studyDir, run.index, run.runId);
    const task = latestTask.get(run.index);
    // Slurm knows a task is running before its run has taken the run lock.
    if (task?.state === 'RUNNING' && state.kind !== 'complete' && state.kind !== 'running') state = { kind: 'running', host: task.node, since: task.start };
    let description = describeRunState(state);
    // A lock from a node that died stays: no other host can tell that its holder is gone.
    if (state.kind === 'running' && task !== undefined && !isActive(task.state)) description += ` (its Slurm task has ended: if ${state.host} is down, delete ${join(studyDir, run.runId, RUN_LOCK_FILE)})`;
    lines.push(`  ${String(run.index).padStart(3)}  ${run.runId.padEnd(width)}  ${task === undefined ? description : `${description.padEnd(40)}  ${describeTask(task)}`}`);
  }
  for (const submission of submissions) {
    const report = states.find((t) => t.jobId === submission.reportJobId);
    lines.push(`  report job ${submission.reportJobId} (after array ${submission.arrayJobId}): ${report === undefined ? 'unknown to squeue/sacct' : report.state}`);
  }
  return lines;
}
