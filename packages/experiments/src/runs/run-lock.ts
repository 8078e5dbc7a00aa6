/**
 * One writer per run folder: `<run>/run.lock`, created atomically (`open(…, 'wx')` fails when the
 * file exists, on a local disk and on NFS ≥ v3 alike), holding who trains the run:
 *
 *   { "pid": 4242, "host": "node17", "startedAt": "2026-12-02T01:10:58.000Z", "command": "pnpm ablate smoke" }
 *
 * A lock is stale only when its host is this host and its pid is no longer alive: a lock held on
 * another machine is never assumed dead (its clock and process table are not ours to read), so it
 * is reported with its holder, and whoever knows the holder is gone deletes the file by hand.
 */
import { closeSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';

export const RUN_LOCK_FILE = 'run.lock';

const runLockSchema = z.object({
  pid: z.number().int(),
  host: z.string(),
  startedAt: z.string(),
  command: z.string(),
});
export type RunLock = z.infer<typeof runLockSchema>;

/** A run that another process holds; the message names the holder and what to do. */
export class RunLockedError extends Error {
  override name = 'RunLockedError';
  constructor(readonly runDir: string, readonly holder: RunLock) {
    super(`${runDir} is being trained by ${describeHolder(holder)}; wait for it, or if that process is gone delete ${join(runDir, RUN_LOCK_FILE)}`);
  }
}

export function describeHolder(lock: RunLock): string {
  return `pid ${lock.pid} on ${lock.host} since ${lock.startedAt} (${lock.command})`;
}

function lockPath(runDir: string): string {
  return join(runDir, RUN_LOCK_FILE);
}

/**
 * The lock of a run folder, or null when it has none. A lock file that cannot be parsed (a
 * writer died between create and write) reads as held by an unknown process on this host with
 * pid -1, which `isLockStale` calls stale.
 */
export function readRunLock(runDir: string): RunLock | null {
  let text: string;
  try {
    text = readFileSync(lockPath(runDir), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  try {
    return runLockSchema.parse(JSON.parse(text));
  } catch {
    return { pid: -1, host: hostname(), startedAt: 'unknown', command: `unreadable ${RUN_LOCK_FILE}` };
  }
}

function isAlive(pid: number): boolean {
  if (pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** True only for a lock of this host whose process is gone; never for another host's lock. */
export function isLockStale(lock: RunLock): boolean {
  return lock.host === hostname() && !isAlive(lock.pid);
}

function tryCreate(runDir: string, lock: RunLock): boolean {
  let fd: number;
  try {
    fd = openSync(lockPath(runDir), 'wx');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
  try {
    writeSync(fd, `${JSON.stringify(lock)}\n`);
  } finally {
    closeSync(fd);
  }
  return true;
}

/**
 * Removes a stale lock without ever removing a live one: the file is first renamed to a name of
 * our own (atomic, so of two processes breaking it at once only one gets it), then re-read; if it
 * is no longer the stale lock we judged (someone broke it and took the run meanwhile) it is linked
 * back, which fails rather than overwrite a newer lock.
 */
function breakStaleLock(runDir: string, stale: RunLock): void {
  const mine = join(runDir, `${RUN_LOCK_FILE}.breaking-${process.pid}`);
  try {
    renameSync(lockPath(runDir), mine);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  let taken: string;
  try {
    taken = readFileSync(mine, 'utf8');
  } catch {
    taken = '';
  }
  const same = (() => {
    try {
      const lock = runLockSchema.parse(JSON.parse(taken));
      return lock.pid === stale.pid && lock.host === stale.host && lock.startedAt === stale.startedAt;
    } catch {
      return stale.pid === -1;
    }
  })();
  if (!same) {
    try {
      linkSync(mine, lockPath(runDir));
    } catch {
      // A third process holds the run now; the lock we took aside is dropped below either way.
    }
  }
  rmSync(mine, { force: true });
}

/**
 * Takes the lock of `runDir` (creating the folder), or returns the live holder when another
 * process has it. A stale lock of this host is broken and taken over.
 *
 * @example
 * const holder = acquireRunLock(dir, 'pnpm ablate smoke');
 * if (holder) console.log(`skipped: held by ${describeHolder(holder)}`);
 */
export function acquireRunLock(runDir: string, command: string): RunLock | null {
  mkdirSync(runDir, { recursive: true });
  const lock: RunLock = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString(), command };
  for (let attempt = 0; attempt < 3; attempt++) {
    if (tryCreate(runDir, lock)) return null;
    const holder = readRunLock(runDir);
    if (holder === null) continue; // released between our create and our read
    if (!isLockStale(holder)) return holder;
    breakStaleLock(runDir, holder);
  }
  const holder = readRunLock(runDir);
  if (holder) return holder;
  throw new Error(`${lockPath(runDir)} kept changing hands; run the command again`);
}

/** Releases the lock of `runDir` if this process holds it (a lock of anyone else is left alone). */
export function releaseRunLock(runDir: string): void {
  const lock = readRunLock(runDir);
  if (lock && lock.pid === process.pid && lock.host === hostname()) rmSync(lockPath(runDir), { force: true });
}
