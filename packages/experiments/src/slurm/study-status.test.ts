/**
 * `--status` read from the files a study leaves behind: one run in each state, written the way
 * the trainer, the run lock and a Slurm task write them, and the line the status prints for it.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '@moepp/run-format';
import { loadStudy, planStudy } from '../studies/study-config.ts';
import { CheckpointStore } from '../runs/checkpoint-store.ts';
import { runLogFile } from './sbatch-script.ts';
import { studyStatus } from './study-status.ts';

const results = mkdtempSync(join(tmpdir(), 'moepp-status-'));
afterAll(() => rmSync(results, { recursive: true, force: true }));

const study = loadStudy(join(repoRoot(), 'experiments', 'tau-sweep.yaml'));
const plan = planStudy(study);
const studyDir = join(results, study.name);

function runDir(index: number): string {
  const dir = join(studyDir, plan[index].runId);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), '{}');
  return dir;
}

function checkpoint(dir: string, step: number): void {
  new CheckpointStore(dir).write(step, { 'state.json': Buffer.from(JSON.stringify({ step })) });
}

function lock(dir: string, pid: number): void {
  writeFileSync(join(dir, 'run.lock'), JSON.stringify({ pid, host: hostname(), startedAt: '2026-12-02T01:00:00.000Z', command: 'pnpm ablate tau-sweep --index 3' }));
}

function log(index: number, text: string): void {
  mkdirSync(join(studyDir, 'slurm', 'logs'), { recursive: true });
  writeFileSync(runLogFile(studyDir, index), text);
}

describe('pnpm ablate --status', () => {
  it('says of each run whether it is new, running, partial, failed or complete', () => {
    // 0: never started.
    writeFileSync(join(runDir(1), 'summary.json'), '{}');
    checkpoint(runDir(2), 6);
    lock(runDir(3), process.pid);
    // 4: its trainer died (a pid that has exited) after a checkpoint at step 3: the lock is stale.
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    const four = runDir(4);
    lock(four, dead);
    checkpoint(four, 3);
    // 5: the last attempt failed, after a checkpoint at step 9.
    checkpoint(runDir(5), 9);
    log(5, '=== run 5: job 7_5, restart 0, on a at T\nerror: an older failure\n=== run 5: job 9_5, restart 0, on b at T\nbackend: wasm\nerror: training diverged at step 12: the loss is not finite\n');
    // 6: an earlier attempt failed, the last one was killed (scancel) without an error line.
    checkpoint(runDir(6), 3);
    log(6, '=== run 6: job 7_6, restart 0, on a at T\nerror: an older failure\n=== run 6: job 9_6, restart 0, on b at T\nslurmstepd: error: *** JOB 9 ON b CANCELLED AT T ***\n');
    // 7: a task that stopped before training, on the node's own checks.
    log(7, '=== run 7: job 9_7, restart 0, on b at T\nerror: Node not found at /opt/node on b: install Node there\n');

    const lines = studyStatus(results, study.name, plan);
    expect(lines[0]).toBe(`study tau-sweep: ${plan.length} runs in ${studyDir}`);
    const state = (index: number) => lines[index + 1].replace(/^\s*\d+\s+\S+\s+/, '');
    expect(state(0)).toBe('new');
    expect(state(1)).toBe('complete');
    expect(state(2)).toBe('partial at step 6');
    expect(state(3)).toBe(`running on host ${hostname()} since 2026-12-02T01:00:00.000Z`);
    expect(state(4)).toBe('partial at step 3');
    expect(state(5)).toBe('failed at step 9: error: training diverged at step 12: the loss is not finite');
    expect(state(6)).toBe('partial at step 3');
    expect(state(7)).toBe('failed at step 0: error: Node not found at /opt/node on b: install Node there');
    expect(state(8)).toBe('new');
    expect(lines).toHaveLength(plan.length + 1);
  });
});
