/**
 * The run lock: one holder at a time (also across processes racing for it), a dead holder of this
 * host is taken over, a holder on another host never is, and only the holder releases.
 */
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireRunLock, isLockStale, readRunLock, releaseRunLock, RUN_LOCK_FILE, type RunLock } from './run-lock.ts';

function scratch(): string {
  return join(mkdtempSync(join(tmpdir(), 'moepp-lock-')), 'run');
}

/** The pid of a process that has exited (so nothing of ours is alive under it). */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '0']).pid;
}

function writeLock(dir: string, lock: RunLock): void {
  writeFileSync(join(dir, RUN_LOCK_FILE), JSON.stringify(lock));
}

describe('run lock', () => {
  it('is taken once; a second taker gets the holder; release frees it', () => {
    const dir = scratch();
    expect(acquireRunLock(dir, 'first')).toBeNull();
    const holder = acquireRunLock(dir, 'second');
    expect(holder).toMatchObject({ pid: process.pid, host: hostname(), command: 'first' });
    expect(readRunLock(dir)?.command).toBe('first');
    releaseRunLock(dir);
    expect(readRunLock(dir)).toBeNull();
    expect(acquireRunLock(dir, 'third')).toBeNull();
  });

  it('takes over the lock of a dead process on this host, never one of another host', () => {
    const dir = scratch();
    acquireRunLock(dir, 'x');
    const dead: RunLock = { pid: deadPid(), host: hostname(), startedAt: '2026-01-01T00:00:00.000Z', command: 'killed' };
    writeLock(dir, dead);
    expect(isLockStale(dead)).toBe(true);
    expect(acquireRunLock(dir, 'after')).toBeNull();
    expect(readRunLock(dir)).toMatchObject({ pid: process.pid, command: 'after' });

    const remote: RunLock = { ...dead, host: `${hostname()}-elsewhere` };
    writeLock(dir, remote);
    expect(isLockStale(remote)).toBe(false);
    expect(acquireRunLock(dir, 'after')).toEqual(remote);
  });

  it('leaves a lock held by someone else in place on release', () => {
    const dir = scratch();
    acquireRunLock(dir, 'x');
    const other: RunLock = { pid: process.ppid, host: hostname(), startedAt: 'now', command: 'other' };
    writeLock(dir, other);
    releaseRunLock(dir);
    expect(readRunLock(dir)).toEqual(other);
  });

  it('of eight processes racing for one lock (over a stale one), exactly one wins', async () => {
    const dir = scratch();
    acquireRunLock(dir, 'x');
    writeLock(dir, { pid: deadPid(), host: hostname(), startedAt: 'then', command: 'killed' });
    const script = `import { acquireRunLock } from ${JSON.stringify(join(import.meta.dirname, 'run-lock.ts'))};
      const won = acquireRunLock(${JSON.stringify(dir)}, 'race') === null;
      console.log(won ? 'won' : 'lost');
      setTimeout(() => {}, 1500);`;
    const outputs = await Promise.all(
      Array.from({ length: 8 }, () => new Promise<string>((done) => {
        const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script]);
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.on('close', () => done(out.trim()));
      })),
    );
    expect(outputs.filter((o) => o === 'won')).toHaveLength(1);
    expect(outputs.filter((o) => o === 'lost')).toHaveLength(7);
  }, 60_000);
});
