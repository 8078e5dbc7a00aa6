/**
 * `pnpm ablate --slurm` against a real Slurm (a single node on localhost, started by
 * .ci/start-slurm): the smoke study submitted, run and reported; then runs interrupted mid-run —
 * one cancelled and resubmitted, one requeued by Slurm — ending with the same final checkpoint as clean runs.
 * Without a responding Slurm the tests skip with one line saying why.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '@moepp/run-format';

const root = repoRoot();

function slurmUnavailable(): string | null {
  if (spawnSync('sh', ['-c', 'command -v sbatch']).status !== 0) return 'sbatch is not on PATH (.ci/start-slurm installs and starts a local Slurm, as root)';
  const nodes = spawnSync('sinfo', ['-h', '-o', '%T'], { encoding: 'utf8', timeout: 10_000 });
  if (nodes.status !== 0) return `sinfo failed: ${(nodes.stderr || String(nodes.error)).trim().split('\n')[0]} (start Slurm with .ci/start-slurm)`;
  if (!/^(idle|mixed|allocated)/m.test(nodes.stdout)) return `no Slurm node is up (sinfo: ${nodes.stdout.trim().replace(/\n/g, ', ')})`;
  return null;
}
const unavailable = slurmUnavailable();
if (unavailable) console.warn(`slurm cluster tests: skipped, ${unavailable}`);

const scratch = mkdtempSync(join(tmpdir(), 'moepp-slurm-'));
afterAll(() => {
  // Jobs of a failed test must not outlive it: they would write into a deleted folder.
  for (const id of submittedJobs) spawnSync('scancel', [id]);
  rmSync(scratch, { recursive: true, force: true });
});
const submittedJobs: string[] = [];

// The env reaches the tasks through sbatch (--export=ALL, Slurm's default).
const env = { ...process.env, MOEPP_BACKEND: 'wasm', MOEPP_THREADS: '1' };

function ablate(...args: string[]): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'packages/experiments/src/cli/ablate.ts'), ...args], { cwd: root, encoding: 'utf8', env, timeout: 240_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

function submitted(out: string): { array: string; report: string } {
  const m = out.match(/submitted job array (\d+) .* and report job (\d+)/);
  if (!m) throw new Error(`no submission in:\n${out}`);
  submittedJobs.push(m[1], m[2]);
  return { array: m[1], report: m[2] };
}

/** `squeue` states of a job's tasks, by task id (a job that is not an array: key ''). */
function taskStates(jobId: string): Map<string, string> {
  const r = spawnSync('squeue', ['-h', '-r', '-t', 'all', '-j', jobId, '-o', '%K|%T'], { encoding: 'utf8' });
  return new Map(r.stdout.split('\n').filter((l) => l !== '').map((l) => l.split('|') as [string, string]).map(([task, state]) => [task === 'N/A' ? '' : task, state]));
}

const FINISHED = ['COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'NODE_FAIL', 'OUT_OF_MEMORY', 'PREEMPTED', 'BOOT_FAIL', 'DEADLINE'];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitUntil(what: string, done: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}\n${spawnSync('squeue', ['-t', 'all'], { encoding: 'utf8' }).stdout}`);
    await sleep(100);
  }
}

const jobsFinished = (...ids: string[]) => () => ids.every((id) => { const s = [...taskStates(id).values()]; return s.length > 0 && s.every((x) => FINISHED.includes(x)); });

/** The study's task logs, for the message of a failed expectation: what the tasks printed. */
function taskLogs(results: string): string {
  const logs = join(results, 'smoke', 'slurm', 'logs');
  if (!existsSync(logs)) return `no task logs in ${logs}`;
  return readdirSync(logs).sort().map((f) => `--- ${f}\n${readFileSync(join(logs, f), 'utf8').split('\n').slice(-40).join('\n')}`).join('\n');
}

function checkpointStep(runDir: string): number {
  try {
    return (JSON.parse(readFileSync(join(runDir, 'checkpoint', 'state.json'), 'utf8')) as { step: number }).step;
  } catch {
    return 0; // no checkpoint yet, or it is being swapped in
  }
}

/**
 * The final checkpoint's files as bytes, less what measures time: `timing.json` (seconds spent,
 * different between any two runs, clean or not) and its checksum in `manifest.json`.
 */
function finalCheckpoint(runDir: string): Map<string, unknown> {
  const dir = join(runDir, 'checkpoint');
  const files = new Map<string, unknown>();
  for (const f of readdirSync(dir).sort()) {
    if (f === 'timing.json') continue;
    if (f !== 'manifest.json') files.set(f, readFileSync(join(dir, f)));
    else {
      const manifest = JSON.parse(readFileSync(join(dir, f), 'utf8')) as { step: number; files: Record<string, string> };
      delete manifest.files['timing.json'];
      files.set(f, manifest);
    }
  }
  return files;
}

describe.skipIf(unavailable !== null)('pnpm ablate --slurm on a real Slurm', () => {
  it('runs the smoke study as a job array, then writes the report', async () => {
    const results = join(scratch, 'smoke');
    const first = ablate('smoke', '--slurm', '--base', 'smoke', '--results', results);
    expect(first.status, first.out).toBe(0);
    const jobs = submitted(first.out);
    expect(readFileSync(join(results, 'smoke', 'slurm', 'job.sbatch'), 'utf8')).toMatch(/^#SBATCH --array=0-1$/m);
    await waitUntil('the array and the report job', jobsFinished(jobs.array, jobs.report), 150_000);

    expect(taskStates(jobs.array), taskLogs(results)).toEqual(new Map([['0', 'COMPLETED'], ['1', 'COMPLETED']]));
    expect(taskStates(jobs.report)).toEqual(new Map([['', 'COMPLETED']]));
    for (const run of ['moe--seed1', 'moepp--seed1']) expect(existsSync(join(results, 'smoke', run, 'summary.json'))).toBe(true);
    expect(readFileSync(join(results, 'smoke', 'report', 'report.md'), 'utf8')).toMatch(/moepp/);
    expect(readFileSync(join(results, 'smoke', 'slurm', 'logs', 'run-1.log'), 'utf8')).toMatch(new RegExp(`=== run 1: job ${jobs.array}_1, restart 0`));

    // Run 1 as a node that died mid-run leaves it: no summary, and its lock naming that node.
    const one = join(results, 'smoke', 'moepp--seed1');
    rmSync(join(one, 'summary.json'));
    writeFileSync(join(one, 'run.lock'), JSON.stringify({ pid: 4242, host: 'dead-node', startedAt: '2026-12-02T01:00:00.000Z', command: 'pnpm ablate smoke' }));
    const status = ablate('smoke', '--status', '--results', results);
    expect(status.out).toMatch(new RegExp(`0 +moe--seed1 +complete +slurm ${jobs.array}_0 COMPLETED on `));
    expect(status.out).toMatch(new RegExp(`1 +moepp--seed1 +running on host dead-node since 2026-12-02T01:00:00.000Z \\(its Slurm task has ended: if dead-node is down, delete ${join(one, 'run.lock')}\\) +slurm ${jobs.array}_1 COMPLETED`));
    expect(status.out).toMatch(new RegExp(`report job ${jobs.report} \\(after array ${jobs.array}\\): COMPLETED`));
    const again = ablate('smoke', '--slurm', '--base', 'smoke', '--results', results);
    expect(again.out).toMatch(/\[1\] moepp--seed1: running on host dead-node since .*, left alone/);
    expect(again.out).toMatch(/nothing to submit/);
  }, 240_000);

  it('a run cancelled mid-run and resubmitted, and one requeued by Slurm, end with the final checkpoint of a clean run', async () => {
    // Long enough to be caught between its first checkpoint and its end.
    const grid = ['smoke', '--base', 'smoke', '--set', 'training.steps=40', '--set', 'training.checkpointEvery=4', '--set', 'training.evalEvery=20'];
    const clean = join(scratch, 'clean');
    const reference = ablate(...grid, '--results', clean, '--no-report');
    expect(reference.status, reference.out).toBe(0);

    const results = join(scratch, 'interrupted');
    const runDir = (run: string) => join(results, 'smoke', run);
    const first = ablate(...grid, '--slurm', '--results', results);
    expect(first.status, first.out).toBe(0);
    const jobs = submitted(first.out);

    // Run 0 is cancelled, run 1 requeued, each once it has a checkpoint and before it ends.
    const interrupted = new Set<string>();
    await waitUntil('both runs to reach a checkpoint', () => {
      for (const [task, run] of [['0', 'moe--seed1'], ['1', 'moepp--seed1']]) {
        if (interrupted.has(task) || checkpointStep(runDir(run)) < 4) continue;
        if (existsSync(join(runDir(run), 'summary.json'))) throw new Error(`${run} finished before it could be interrupted: give it more steps`);
        if (task === '0') spawnSync('scancel', [`${jobs.array}_0`]);
        else spawnSync('scontrol', ['requeue', `${jobs.array}_1`]);
        interrupted.add(task);
      }
      return interrupted.size === 2;
    }, 120_000);

    // A requeued task waits out a begin time before it may start again; let it start sooner, but
    // not in the second its first attempt ended: slurmd revoked that attempt's credential then and
    // refuses a job credential created in the same or an earlier second (cred->ctime <= revoked,
    // in whole seconds), failing the launch. The task is pending only once that attempt has ended.
    await waitUntil('the requeued task to be pending', () => taskStates(jobs.array).get('1') === 'PENDING', 30_000);
    await sleep(2000);
    spawnSync('scontrol', ['update', `jobid=${jobs.array}_1`, 'StartTime=now']);
    await waitUntil('the first submission', jobsFinished(jobs.array, jobs.report), 150_000);
    expect(taskStates(jobs.array), taskLogs(results)).toEqual(new Map([['0', 'CANCELLED'], ['1', 'COMPLETED']]));
    expect(existsSync(join(runDir('moe--seed1'), 'summary.json'))).toBe(false);
    expect(readFileSync(join(results, 'smoke', 'slurm', 'logs', 'run-1.log'), 'utf8')).toMatch(new RegExp(`=== run 1: job ${jobs.array}_1, restart 1`));
    const status = ablate('smoke', '--status', '--results', results);
    expect(status.out).toMatch(new RegExp(`0 +moe--seed1 +partial at step \\d+ +slurm ${jobs.array}_0 CANCELLED`));

    // Resubmitting trains only the cancelled run, from its checkpoint.
    const second = ablate(...grid, '--slurm', '--results', results);
    expect(second.out).toMatch(/\[1\] moepp--seed1: complete, skipped/);
    const resumed = submitted(second.out);
    expect(readFileSync(join(results, 'smoke', 'slurm', 'job.sbatch'), 'utf8')).toMatch(/^#SBATCH --array=0$/m);
    await waitUntil('the resubmission', jobsFinished(resumed.array, resumed.report), 150_000);
    expect(readFileSync(join(results, 'smoke', 'slurm', 'logs', 'run-0.log'), 'utf8')).toMatch(/resuming from .*checkpoint/);

    for (const run of ['moe--seed1', 'moepp--seed1']) {
      const final = finalCheckpoint(runDir(run));
      // Both are MoE runs: their checkpoints also carry router saturation's top-1 record.
      expect([...final.keys()]).toEqual(['manifest.json', 'model.safetensors', 'optimizer.safetensors', 'routing-top1.json', 'state.json']);
      expect(final, run).toEqual(finalCheckpoint(join(clean, 'smoke', run)));
      const summary = (dir: string) => (JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as { val: unknown; test: unknown });
      expect(summary(runDir(run)).val).toEqual(summary(join(clean, 'smoke', run)).val);
    }
    expect(existsSync(join(results, 'smoke', 'report', 'report.md'))).toBe(true);
  }, 420_000);
});
