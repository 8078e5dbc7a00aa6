/**
 * The batch scripts as bash runs them: they parse, their `#SBATCH` lines carry the options, and a
 * task runs `pnpm ablate`'s entry with exactly the submitted arguments (a stand-in `node` prints
 * what it was given), or stops with one `error:` line when the node lacks what it needs.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { arrayRanges, arrayScript, reportScript, shellQuote, type StudyJob } from './sbatch-script.ts';

const scratch = mkdtempSync(join(tmpdir(), 'moepp-sbatch-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A checkout with an installed workspace, a results folder, and a `node` that echoes its arguments. */
function fixture(name: string): StudyJob {
  const checkout = join(scratch, name, 'checkout');
  mkdirSync(join(checkout, 'node_modules'), { recursive: true });
  const node = join(scratch, name, 'node');
  writeFileSync(node, '#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done\n');
  chmodSync(node, 0o755);
  const resultsDir = join(scratch, name, 'results');
  return {
    study: 'tau-sweep', checkout, node, resultsDir, indices: [1, 2, 3, 5],
    ablateArgs: ['/repo/experiments/tau-sweep.yaml', '--base', 'smoke', '--set', 'data.corpus=my corpus.txt', '--set', "training.lr=0.001", '--results', resultsDir],
    command: 'pnpm ablate tau-sweep --slurm',
  };
}

function bash(script: string, env: Record<string, string> = {}): { status: number | null; out: string } {
  const r = spawnSync('bash', ['--norc', '--noprofile', '-c', script], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', ...env } });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('arrayRanges', () => {
  it.each([
    [[0], '0'],
    [[0, 1, 2, 5, 7, 8], '0-2,5,7-8'],
    [[3, 5, 7], '3,5,7'],
    [[10, 11], '10-11'],
  ])('%j → %s', (indices, ranges) => expect(arrayRanges(indices)).toBe(ranges));
});

describe('shellQuote', () => {
  it('gives bash back every word unchanged', () => {
    const words = ['plain', 'a b', "it's", '$HOME', 'x;rm -rf y', '`id`', 'training.steps=3', ''];
    const r = bash(`printf '%s\\n' ${words.map(shellQuote).join(' ')}`);
    expect(r.out).toBe(words.map((w) => `${w}\n`).join(''));
  });
});

describe('arrayScript', () => {
  it('sets the array, logs and options as #SBATCH lines, and parses as bash', () => {
    const job = fixture('options');
    const script = arrayScript(job, { partition: 'cpu', time: '1:00:00', cpusPerTask: 2, mem: '4G', maxParallel: 2, extraArgs: ['--account=lab'] });
    const directives = script.split('\n').filter((l) => l.startsWith('#SBATCH'));
    expect(directives).toEqual([
      '#SBATCH --job-name=moepp-tau-sweep',
      '#SBATCH --array=1-3,5%2',
      `#SBATCH --output=${join(job.resultsDir, 'tau-sweep', 'slurm', 'logs', 'run-%a.log')}`,
      '#SBATCH --open-mode=append',
      '#SBATCH --requeue',
      `#SBATCH --chdir=${job.checkout}`,
      '#SBATCH --partition=cpu',
      '#SBATCH --time=1:00:00',
      '#SBATCH --cpus-per-task=2',
      '#SBATCH --mem=4G',
      '#SBATCH --account=lab',
    ]);
    // sbatch reads #SBATCH lines only before the first command.
    expect(script.indexOf('set -euo pipefail')).toBeGreaterThan(script.lastIndexOf('#SBATCH'));
    const file = join(scratch, 'options.sbatch');
    writeFileSync(file, script);
    expect(spawnSync('bash', ['-n', file]).status).toBe(0);
  });

  it('runs the task with the submitted arguments and its array index', () => {
    const job = fixture('runs');
    const script = arrayScript(job, { extraArgs: [] });
    mkdirSync(join(job.resultsDir, 'tau-sweep', 'slurm'), { recursive: true });
    writeFileSync(join(job.resultsDir, 'tau-sweep', 'slurm', 'job.sbatch'), script);
    const r = bash(script, { SLURM_ARRAY_TASK_ID: '5', SLURM_ARRAY_JOB_ID: '77' });
    expect(r.status).toBe(0);
    const lines = r.out.trim().split('\n');
    expect(lines[0]).toMatch(/^=== run 5: job 77_5, restart 0, on .+ at \d{4}-\d\d-\d\dT/);
    expect(lines.slice(1)).toEqual(['--import', 'tsx', 'packages/experiments/src/cli/ablate.ts', ...job.ablateArgs, '--index', '5', '--no-report']);
  });

  it.each([
    ['node', (job: StudyJob) => rmSync(job.node), /^error: Node not found at .*node on /],
    ['workspace', (job: StudyJob) => rmSync(join(job.checkout, 'node_modules'), { recursive: true }), /^error: no installed workspace at .*checkout on /],
    ['results', () => {}, /^error: the results folder .*results\/tau-sweep is not visible on /],
  ])('stops with one error line when the node lacks the %s', (name, breakIt, message) => {
    const job = fixture(`lacks-${name}`);
    const script = arrayScript(job, { extraArgs: [] });
    if (name !== 'results') {
      mkdirSync(join(job.resultsDir, 'tau-sweep', 'slurm'), { recursive: true });
      writeFileSync(join(job.resultsDir, 'tau-sweep', 'slurm', 'job.sbatch'), script);
    }
    breakIt(job);
    const r = bash(script, { SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_JOB_ID: '77' });
    expect(r.status).toBe(2);
    expect(r.out.trim().split('\n').slice(1)).toHaveLength(1);
    expect(r.out.trim().split('\n')[1]).toMatch(message);
  });
});

describe('reportScript', () => {
  it('runs pnpm report on the study and its results folder', () => {
    const job = fixture('report');
    const r = bash(reportScript(job, { partition: 'cpu', cpusPerTask: 4, extraArgs: [] }), { SLURM_JOB_ID: '78' });
    expect(r.status).toBe(0);
    expect(r.out.trim().split('\n').slice(1)).toEqual(['--import', 'tsx', 'packages/reports/src/cli/report.ts', 'tau-sweep', '--results', job.resultsDir]);
    expect(reportScript(job, { partition: 'cpu', cpusPerTask: 4, extraArgs: [] })).not.toMatch(/cpus-per-task/);
  });
});
