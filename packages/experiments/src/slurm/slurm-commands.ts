/**
 * Slurm's client commands as moepp uses them: `sbatch` to submit, `squeue` and `sacct` to read job
 * states. Submitting needs `sbatch`; the states are read from whichever of the other two is there
 * (`sacct` only answers where the cluster keeps accounting).
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export class SlurmError extends Error {
  override name = 'SlurmError';
}

/** The executable's path on PATH, or null. */
export function findOnPath(command: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    try {
      accessSync(join(dir, command), constants.X_OK);
      return join(dir, command);
    } catch {
      // not in this folder
    }
  }
  return null;
}

export function requireSbatch(): void {
  if (findOnPath('sbatch') === null) {
    throw new SlurmError('sbatch was not found on PATH: --slurm submits with Slurm\'s sbatch; run it where Slurm is installed (a login node), or drop --slurm to train here');
  }
}

/** `sbatch --parsable [args] <script>` → the job id. */
export function sbatch(script: string, args: string[] = []): string {
  const r = spawnSync('sbatch', ['--parsable', ...args, script], { encoding: 'utf8' });
  if (r.status !== 0) throw new SlurmError(`sbatch ${[...args, script].join(' ')} failed: ${(r.stderr || r.stdout || String(r.error)).trim().split('\n')[0]}`);
  // --parsable prints "<id>" or "<id>;<cluster>".
  return r.stdout.trim().split(';')[0];
}

/** One job or array task as Slurm reports it. `task` is null for a job that is not an array. */
export interface SlurmTaskState {
  jobId: string;
  task: number | null;
  state: string;
  node: string;
  start: string;
}

function parseTask(field: string): number | null {
  return /^\d+$/.test(field) ? Number(field) : null;
}

/**
 * The states of these jobs' tasks, one row per array task, from `squeue` (jobs the controller
 * still holds, finished ones included until they age out) and then `sacct` for the older ones.
 * Without either command, or with accounting disabled, the missing source gives no rows.
 */
export function jobStates(jobIds: string[]): SlurmTaskState[] {
  if (jobIds.length === 0) return [];
  const rows = new Map<string, SlurmTaskState>();
  const key = (s: SlurmTaskState) => `${s.jobId}_${s.task ?? ''}`;
  if (findOnPath('sacct') !== null) {
    // JobID prints "<array job>_<task>" for array tasks; -X leaves out the job steps.
    const r = spawnSync('sacct', ['-n', '-P', '-X', '-j', jobIds.join(','), '-o', 'JobID,State,NodeList,Start'], { encoding: 'utf8' });
    if (r.status === 0) {
      for (const line of r.stdout.split('\n').filter((l) => l !== '')) {
        const [id, state, node, start] = line.split('|');
        const [jobId, task = ''] = id.split('_');
        // A still-pending array prints its tasks as one row "<job>_[1-3]"; squeue expands those.
        if (task.startsWith('[')) continue;
        const row = { jobId, task: parseTask(task), state: state.split(' ')[0], node, start };
        rows.set(key(row), row);
      }
    }
  }
  if (findOnPath('squeue') !== null) {
    // One query per job: squeue rejects the whole list when one id has aged out of the controller.
    for (const jobId of jobIds) {
      const r = spawnSync('squeue', ['-h', '-r', '-t', 'all', '-j', jobId, '-o', '%F|%K|%T|%N|%S'], { encoding: 'utf8' });
      if (r.status !== 0) continue;
      for (const line of r.stdout.split('\n').filter((l) => l !== '')) {
        const [arrayJob, task, state, node, start] = line.split('|');
        const row = { jobId: arrayJob, task: parseTask(task), state, node, start };
        rows.set(key(row), row);
      }
    }
  }
  return [...rows.values()];
}

/** States in which a task still holds or waits for its run. */
export function isActive(state: string): boolean {
  return ['PENDING', 'CONFIGURING', 'RUNNING', 'COMPLETING', 'REQUEUED', 'REQUEUE_HOLD', 'REQUEUE_FED', 'RESIZING', 'SUSPENDED', 'STOPPED', 'SIGNALING', 'STAGE_OUT'].includes(state);
}
