/**
 * `pnpm ablate` as a user runs it (a child process): the smoke study end to end on a slice of the
 * real corpus, then the behaviours around it — skip finished runs, --force keeps the old folder,
 * --list/--index, and clear errors with exit code 2 for bad input.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '@moepp/run-format';

const root = repoRoot();
const results = mkdtempSync(join(tmpdir(), 'moepp-ablate-'));

function ablate(...args: string[]): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'packages/experiments/src/cli/ablate.ts'), ...args], {
    cwd: root, encoding: 'utf8', env: { ...process.env, MOEPP_BACKEND: 'wasm', MOEPP_THREADS: '1' }, timeout: 240_000,
  });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('pnpm ablate', () => {
  it('runs the smoke study end to end, then skips it, and --force keeps the old folder aside', () => {
    const first = ablate('smoke', '--results', results, '--no-report');
    expect(first.out).toMatch(/backend: wasm/);
    expect(first.status).toBe(0);
    expect(first.out).toMatch(/\| moe +\| 1 +\|/);
    expect(first.out).toMatch(/\| moepp +\| 1 +\|/);
    const study = JSON.parse(readFileSync(join(results, 'smoke', 'study.json'), 'utf8'));
    expect(study.runs.map((r: { runId: string }) => r.runId)).toEqual(['moe--seed1', 'moepp--seed1']);
    expect(existsSync(join(results, 'smoke', 'moepp--seed1', 'summary.json'))).toBe(true);

    const again = ablate('smoke', '--results', results, '--no-report', '--index', '1');
    expect(again.status).toBe(0);
    expect(again.out).toMatch(/moepp--seed1: complete, skipped/);

    const list = ablate('smoke', '--results', results, '--list');
    expect(list.out).toMatch(/0 +moe--seed1 +complete/);

    const forced = ablate('smoke', '--results', results, '--no-report', '--index', '0', '--force');
    expect(forced.status).toBe(0);
    expect(forced.out).toMatch(/previous folder moved to/);
    expect(readdirSync(join(results, 'smoke', '.replaced'))[0]).toMatch(/^moe--seed1-/);
  }, 240_000);

  it('runs the MoE-family study on the smoke base: every design trains and the report draws the routing figures', () => {
    // Two steps per run keep its 12 configs × 3 seeds short; the study's own lengths are the small preset's.
    const short = ['training.steps=2', 'training.evalEvery=1', 'training.evalWindows=2', 'training.finalEvalWindows=2', 'training.checkpointEvery=2'].flatMap((s) => ['--set', s]);
    const r = ablate('moe-family', '--base', 'smoke', ...short, '--results', results);
    expect(r.status, r.out).toBe(0);
    const configs = ['dense', 'moe-top2', 'switch-top1', 'gshard-top2', 'noisy-top2', 'hash-top2', 'sigmoid-bias-top2', 'attention-router-top2', 'deepseekmoe', 'fine-grained', 'moepp-top2', 'moepp-deepseekmoe'];
    for (const config of configs) {
      expect(r.out).toMatch(new RegExp(`\\| ${config} +\\| 3 +\\|`));
    }
    const report = readFileSync(join(results, 'moe-family', 'report', 'report.md'), 'utf8');
    for (const figure of ['routing-measures', 'router-saturation', 'co-activation', 'expert-load-per-seed']) expect(report).toContain(`figures/${figure}.svg`);
  }, 240_000);

  it.each([
    [['no-such-study'], /no-such-study.*file not found/],
    [['smoke', '--index', '7'], /--index 7: the study has 2 runs/],
    [['smoke', '--set', 'training.steps=-1'], /training\.steps: .*>0|too small/i],
    [['smoke', '--backend', 'quantum'], /quantum.*(auto|wasm)/],
  ])('bad input %j exits 2 with a clear message', (args, message) => {
    const r = ablate(...args, '--results', results);
    expect(r.status).toBe(2);
    expect(r.out).toMatch(message);
  });
});
