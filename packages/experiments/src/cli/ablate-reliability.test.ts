/**
 * `pnpm ablate` against the ways a run's results could be lost or falsified (issue 11): a finished
 * run reused under other settings, two processes on one study, --force with bad input, damaged
 * run files, a full disk, a read-only results folder, and Ctrl-C. Each as a user meets it: a child process,
 * its exit code and its one-line message (never a stack).
 */
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '@moepp/run-format';

const root = repoRoot();
const CLI = join(root, 'packages/experiments/src/cli/ablate.ts');
const ENV = { ...process.env, MOEPP_BACKEND: 'wasm', MOEPP_THREADS: '1' };

function ablate(...args: string[]): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: root, encoding: 'utf8', env: ENV, timeout: 240_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

/** The same, not waited for: resolves with the exit code and output. */
function ablateAsync(...args: string[]): Promise<{ status: number | null; out: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: root, env: ENV });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (status) => done({ status, out }));
  });
}

const STACK = /^\s+at /m;
const scratch = () => mkdtempSync(join(tmpdir(), 'moepp-reliable-'));

describe('pnpm ablate keeps results trustworthy', () => {
  it('never reuses a finished run under other settings, a bad corpus or --force with bad input', () => {
    const results = scratch();
    const study = join(results, 'smoke');
    expect(ablate('smoke', '--results', results, '--no-report').status).toBe(0);
    const commandsBefore = JSON.parse(readFileSync(join(study, 'study.json'), 'utf8')).commands;
    const summaryBefore = readFileSync(join(study, 'moe--seed1', 'summary.json'), 'utf8');

    const changed = ablate('smoke', '--results', results, '--no-report', '--set', 'training.steps=50', '--set', 'model.moe.topK=1');
    expect(changed.status).toBe(2);
    expect(changed.out).toMatch(/moe--seed1 was trained with other settings than this command's \(model\.moe\.topK: 2 → 1, training\.steps: 6 → 50\).*--force/);
    expect(changed.out).not.toMatch(STACK);

    const corpus = ablate('smoke', '--results', results, '--no-report', '--set', 'data.corpus=no-such-corpus.txt');
    expect(corpus.status).toBe(2);
    expect(corpus.out).toMatch(/data\.corpus: file .*no-such-corpus\.txt does not exist/);

    const forced = ablate('smoke', '--results', results, '--no-report', '--force', '--set', 'data.corpus=no-such-corpus.txt');
    expect(forced.status).toBe(2);
    expect(forced.out).toMatch(/data\.corpus: file .*does not exist/);
    // Nothing was moved aside or rewritten, and study.json does not name the failed commands.
    expect(existsSync(join(study, '.replaced'))).toBe(false);
    expect(readFileSync(join(study, 'moe--seed1', 'summary.json'), 'utf8')).toBe(summaryBefore);
    expect(JSON.parse(readFileSync(join(study, 'study.json'), 'utf8')).commands).toEqual(commandsBefore);

    // A damaged run file: one line naming it.
    writeFileSync(join(study, 'moepp--seed1', 'fingerprint.json'), '{"formatVersion": 1, "finger');
    const damaged = ablate('smoke', '--results', results, '--no-report');
    expect(damaged.status).toBe(2);
    expect(damaged.out).toMatch(/moepp--seed1\/fingerprint\.json is not valid JSON .*--force/);
    expect(damaged.out).not.toMatch(STACK);
  }, 240_000);

  it('two processes on one study train each run once, with logs as long as one run writes, both exit 0', async () => {
    const results = scratch();
    const [a, b] = await Promise.all([ablateAsync('smoke', '--results', results, '--no-report'), ablateAsync('smoke', '--results', results, '--no-report')]);
    expect(a.status, a.out).toBe(0);
    expect(b.status, b.out).toBe(0);
    const both = a.out + b.out;
    for (const run of ['moe--seed1', 'moepp--seed1']) {
      expect(both.match(new RegExp(`${run}: training \\(`, 'g')), run).toHaveLength(1);
      const metrics = readFileSync(join(results, 'smoke', run, 'metrics.csv'), 'utf8').trim().split('\n');
      expect(metrics.map((l) => l.split(',')[0])).toEqual(['step', '1', '2', '3', '4', '5', '6']);
      expect(existsSync(join(results, 'smoke', run, 'run.lock'))).toBe(false);
    }
    expect(both).toMatch(/(skipped, being trained by pid \d+|complete, skipped)/);
  }, 240_000);

  it('Ctrl-C stops at a step with a checkpoint and prints the command that resumes', async () => {
    const results = scratch();
    const args = ['smoke', '--index', '1', '--results', results, '--no-report', '--set', 'training.steps=400', '--set', 'training.checkpointEvery=100'];
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: root, env: ENV });
    let out = '';
    const finished = new Promise<number | null>((done) => child.on('close', done));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (/step \d+\/400/.test(out) && !child.killed) child.kill('SIGINT');
    });
    expect(await finished).toBe(130);
    const stopped = /moepp--seed1 stopped at step (\d+)\/400 \(checkpoint at step (\d+)\); resume with: (pnpm ablate .*)/.exec(out);
    expect(stopped, out).not.toBeNull();
    expect(stopped?.[2]).toBe(stopped?.[1]);
    expect(stopped?.[3]).toBe(`pnpm ablate ${args.join(' ')}`);
    const manifest = JSON.parse(readFileSync(join(results, 'smoke', 'moepp--seed1', 'checkpoint', 'manifest.json'), 'utf8'));
    expect(String(manifest.step)).toBe(stopped?.[1]);
  }, 240_000);

  it('a full disk is one line naming the file, and the run resumes once there is space', () => {
    // A small tmpfs needs root, as the read-only mount below.
    const mount = scratch();
    if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=300k', 'tmpfs', mount]).status !== 0) {
      console.warn('disk-full test not run: cannot mount a small tmpfs here (needs root)');
      return;
    }
    try {
      const full = ablate('smoke', '--index', '1', '--results', mount, '--no-report');
      expect(full.status).toBe(2);
      expect(full.out).toMatch(/error: no space left on the device \(writing .*moepp--seed1\/.*\): free some space/);
      expect(full.out).not.toMatch(STACK);
      expect(spawnSync('mount', ['-o', 'remount,size=64m', mount]).status).toBe(0);
      const resumed = ablate('smoke', '--index', '1', '--results', mount, '--no-report');
      expect(resumed.status, resumed.out).toBe(0);
      expect(readFileSync(join(mount, 'smoke', 'moepp--seed1', 'metrics.csv'), 'utf8').trim().split('\n')).toHaveLength(7);
    } finally {
      spawnSync('umount', [mount]);
    }
  }, 240_000);

  it('a read-only results folder is named as such', () => {
    // A read-only bind mount needs root; elsewhere the condition cannot be made, and the test says so.
    const source = scratch();
    const mount = scratch();
    const mounted = spawnSync('sh', ['-c', `mount --bind ${source} ${mount} && mount -o remount,bind,ro ${mount}`]).status === 0;
    if (!mounted) {
      console.warn('read-only results test not run: cannot make a read-only mount here (needs root)');
      return;
    }
    try {
      const r = ablate('smoke', '--results', join(mount, 'results'), '--no-report');
      expect(r.status).toBe(2);
      expect(r.out).toMatch(/is not writable \(read-only file system or no permission\).*--results/);
      expect(r.out).not.toMatch(/ENOENT/);
      expect(r.out).not.toMatch(STACK);
    } finally {
      spawnSync('umount', [mount]);
    }
  }, 120_000);
});

