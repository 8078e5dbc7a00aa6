/**
 * Where one run of a study stands, from what is on disk: its folder (summary, checkpoint), its lock
 * (who trains it now) and its Slurm log (how its last attempt ended).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RunFolder } from '../runs/run-folder.ts';
import { CheckpointStore } from '../runs/checkpoint-store.ts';
import { isLockStale, readRunLock } from '../runs/run-lock.ts';
import { ATTEMPT_MARKER, runLogFile } from './sbatch-script.ts';

export type RunState =
  | { kind: 'new' }
  | { kind: 'running'; host: string; since: string }
  | { kind: 'partial'; step: number }
  | { kind: 'failed'; step: number; error: string }
  | { kind: 'complete' };

export function runState(studyDir: string, index: number, runId: string): RunState {
  const folder = new RunFolder(join(studyDir, runId));
  if (folder.isComplete()) return { kind: 'complete' };
  const lock = readRunLock(folder.dir);
  if (lock !== null && !isLockStale(lock)) return { kind: 'running', host: lock.host, since: lock.startedAt };
  if (!folder.hasStarted() && !existsSync(runLogFile(studyDir, index))) return { kind: 'new' };
  const step = new CheckpointStore(folder.dir).newest()?.step ?? 0;
  const error = lastAttemptError(runLogFile(studyDir, index));
  return error === null ? (folder.hasStarted() ? { kind: 'partial', step } : { kind: 'new' }) : { kind: 'failed', step, error };
}

/**
 * The `error: …` line `pnpm ablate` (or the task's own checks) printed in the run's last attempt,
 * or null when that attempt printed none (it finished, is still going, or was killed).
 */
function lastAttemptError(logFile: string): string | null {
  if (!existsSync(logFile)) return null;
  const text = readFileSync(logFile, 'utf8');
  const lastAttempt = text.slice(Math.max(0, text.lastIndexOf(ATTEMPT_MARKER)));
  const errors = lastAttempt.split('\n').filter((line) => line.startsWith('error: '));
  return errors.at(-1) ?? null;
}

export function describeRunState(state: RunState): string {
  switch (state.kind) {
    case 'new': return 'new';
    case 'running': return `running on host ${state.host} since ${state.since}`;
    case 'partial': return `partial at step ${state.step}`;
    case 'failed': return `failed at step ${state.step}: ${state.error}`;
    case 'complete': return 'complete';
  }
}
