/**
 * `pnpm ablate --slurm` up to the point of submitting, as a user runs it (a child process); these
 * need no Slurm: --dry-run prints the scripts over the pending runs and writes nothing, and bad
 * requests (no sbatch, --force, a results folder in memory) stop with one line.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statfsSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '@moepp/run-format';

const root = repoRoot();
const results = mkdtempSync(join(tmpdir(), 'moepp-ablate-slurm-'));
afterAll(() => rmSync(results, { recursive: true, force: true }));

function ablate(args: string[], env: Record<string, string> = {}): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'packages/experiments/src/cli/ablate.ts'), ...args], {
    cwd: root, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000,
  });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

/** The output's lines that say something (the CLI sets errors off with a blank line). */
function lines(out: string): string[] {
  return out.split('\n').filter((l) => l.trim() !== '');
}

describe('pnpm ablate --slurm (no Slurm needed)', () => {
  it('without sbatch on PATH, stops with one line saying so', () => {
    // A PATH holding node and nothing else.
    const bin = join(results, 'bin');
    mkdirSync(bin);
    symlinkSync(process.execPath, join(bin, 'node'));
    const r = ablate(['smoke', '--slurm', '--results', results], { PATH: bin });
    expect(r.status).toBe(2);
    expect(lines(r.out)).toHaveLength(1);
    expect(lines(r.out)[0]).toMatch(/^error: sbatch was not found on PATH: /);
  });

  it('--dry-run prints the scripts over the pending runs only, and writes nothing', () => {
    // Run 0 is complete (summary.json is what marks a run complete), so only run 1 is pending.
    const done = join(results, 'smoke', 'moe--seed1');
    mkdirSync(done, { recursive: true });
    writeFileSync(join(done, 'summary.json'), '{}');
    const r = ablate(['smoke', '--slurm', '--dry-run', '--results', results, '--base', 'smoke', '--set', 'training.steps=3', '--max-parallel', '1', '--partition', 'debug']);
    expect(r.status).toBe(0);
    expect(r.out).toMatch(/\[0\] moe--seed1: complete, skipped/);
    expect(r.out).toMatch(/^#SBATCH --array=1%1$/m);
    expect(r.out).toMatch(/^#SBATCH --partition=debug$/m);
    expect(r.out).toMatch(/^ {2}--set training\.steps=3 \\$/m);
    expect(r.out).toMatch(/^#SBATCH --job-name=moepp-smoke-report$/m);
    expect(r.out).toMatch(/report\.ts smoke --results /);
    expect(existsSync(join(results, 'smoke', 'slurm'))).toBe(false);
  });

  it.each([
    [['--force'], /^error: --force cannot be combined with --slurm/],
    [['--max-parallel', '0'], /--max-parallel.*expected a whole number ≥ 1/],
  ])('bad request %j stops with a clear line', (extra, message) => {
    const r = ablate(['smoke', '--slurm', '--dry-run', '--results', results, ...extra]);
    expect(r.status).not.toBe(0);
    expect(lines(r.out).some((l) => message.test(l))).toBe(true);
  });

  it('--dry-run without --slurm says what it is for', () => {
    const r = ablate(['smoke', '--dry-run', '--results', results]);
    expect(r.status).toBe(2);
    expect(lines(r.out)).toEqual(['error: --dry-run prints the Slurm batch scripts: use it with --slurm']);
  });

  it.skipIf(!existsSync('/dev/shm') || statfsSync('/dev/shm').type !== 0x01021994)('refuses a results folder in memory, which other nodes cannot see', () => {
    const r = ablate(['smoke', '--slurm', '--dry-run', '--results', '/dev/shm/moepp-results']);
    expect(r.status).toBe(2);
    expect(lines(r.out)).toEqual(['error: /dev/shm/moepp-results is on tmpfs, local to this machine, so Slurm tasks on other nodes would not see it: use --results DIR on a shared filesystem']);
  });
});
