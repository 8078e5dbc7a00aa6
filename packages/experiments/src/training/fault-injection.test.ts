/**
 * Fault injection into a real training run: the trainer is crashed just before every filesystem
 * call of its checkpoint writes and cleanup (once per call), and at every such call followed by a
 * crash at each of the first calls of the recovering run (pairs); each time it is resumed, and
 * the final checkpoint's model, optimizer state and training state must be byte-identical to an
 * uninterrupted run's, with the same metrics log. Then the same for a real process death: `pnpm
 * ablate` killed with SIGKILL at chosen calls, and run again.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import '@tensorflow/tfjs-backend-wasm';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '@moepp/run-format';
import { loadStudy, planStudy } from '../studies/study-config.ts';
import type { RunConfig } from '../studies/run-config.ts';
import { prepareRunData } from '../runs/prepare-run-data.ts';
import { RunFolder } from '../runs/run-folder.ts';
import { fingerprintRun } from '../runs/run-fingerprint.ts';
import { fsCheckpointOps, interruptingOps, observedOps, type CheckpointOps } from '../runs/checkpoint-store.ts';
import { useTestBackend } from '../testing/test-backend.ts';
import type { PreparedData } from '../data/index.ts';
import { trainRun } from './trainer.ts';

const root = repoRoot();
/** Four steps, a checkpoint every two: a first write, then a write that swaps one out. */
const OVERRIDES = ['training.steps=4', 'training.checkpointEvery=2', 'training.evalEvery=2', 'training.finalEvalWindows=2'];
/** The files that must come out byte-identical (timing.json and the manifest hold seconds). */
const DETERMINISTIC = ['model.safetensors', 'optimizer.safetensors', 'state.json'];

class Crash extends Error {}

let backend: Awaited<ReturnType<typeof useTestBackend>>;
let config: RunConfig;
let data: PreparedData;

function scratch(): string {
  return mkdtempSync(join(tmpdir(), 'moepp-fault-'));
}

function crashAt(at: number): CheckpointOps {
  return interruptingOps(fsCheckpointOps, at, () => {
    throw new Crash(`crash before checkpoint call ${at}`);
  });
}

/** Trains the run in `dir`; a Crash ends it like a kill would (nothing after it runs). */
async function train(dir: string, ops: CheckpointOps = fsCheckpointOps): Promise<'crashed' | 'complete'> {
  try {
    await trainRun({ folder: new RunFolder(dir), config, fingerprint: fingerprintRun(config, root), data, backend, checkpointOps: ops });
    return 'complete';
  } catch (e) {
    if (e instanceof Crash) return 'crashed';
    throw e;
  }
}

async function countCalls(run: (ops: CheckpointOps) => Promise<unknown>): Promise<number> {
  let calls = 0;
  await run(observedOps(fsCheckpointOps, () => {
    calls++;
  }));
  return calls;
}

/** What must match the uninterrupted run: checkpoint bytes, and metrics.csv without its timing column. */
function outcome(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of DETERMINISTIC) out[f] = readFileSync(join(dir, 'checkpoint', f)).toString('base64');
  const [header, ...rows] = readFileSync(join(dir, 'metrics.csv'), 'utf8').trim().split('\n');
  const timing = header.split(',').indexOf('tokens_per_s');
  out['metrics.csv'] = [header, ...rows].map((l) => l.split(',').filter((_, i) => i !== timing).join(',')).join('\n');
  return out;
}

describe('the trainer crashed at every checkpoint filesystem call', () => {
  let reference: Record<string, string>;
  let calls: number;

  beforeAll(async () => {
    backend = await useTestBackend();
    config = planStudy(loadStudy(join(root, 'experiments', 'smoke.yaml')), OVERRIDES)[0].config;
    data = await prepareRunData(config.data, root);
    const dir = scratch();
    calls = await countCalls((ops) => train(dir, ops));
    reference = outcome(dir);
  });

  it('resumes to the same final checkpoint after a crash at each call', async () => {
    expect(calls).toBeGreaterThanOrEqual(20);
    for (let at = 0; at < calls; at++) {
      const dir = scratch();
      expect(await train(dir, crashAt(at))).toBe('crashed');
      expect(await train(dir)).toBe('complete');
      expect(outcome(dir), `crash before call ${at}`).toEqual(reference);
    }
  }, 300_000);

  it('resumes to the same final checkpoint after a crash at each call, then one during the recovery', async () => {
    let pairs = 0;
    for (let first = 0; first < calls; first++) {
      // The recovery's next calls: settling the crashed folder, or the start of its next write.
      for (const second of [1, 2]) {
        const dir = scratch();
        await train(dir, crashAt(first));
        if ((await train(dir, crashAt(second))) === 'complete') continue; // the recovery made fewer calls
        expect(await train(dir)).toBe('complete');
        expect(outcome(dir), `crash before call ${first}, then before the recovery's call ${second}`).toEqual(reference);
        pairs++;
      }
    }
    expect(pairs).toBeGreaterThan(calls);
  }, 600_000);
});

describe('pnpm ablate killed with SIGKILL inside a checkpoint write', () => {
  const ablate = (results: string, env: Record<string, string> = {}) =>
    spawnSync(process.execPath, ['--import', 'tsx', join(root, 'packages/experiments/src/cli/ablate.ts'), 'smoke', '--index', '0', '--no-report', '--results', results, ...OVERRIDES.flatMap((o) => ['--set', o])], {
      cwd: root, encoding: 'utf8', env: { ...process.env, MOEPP_BACKEND: 'wasm', MOEPP_THREADS: '1', ...env }, timeout: 120_000,
    });

  it('between the two renames and while checkpoint-prev is removed, then resumes byte-identically', () => {
    const whole = scratch();
    expect(ablate(whole).status).toBe(0);
    const expected = outcome(join(whole, 'smoke', 'moe--seed1'));
    // Calls of the second write (after the first write's 7): mkdir, 5 files (manifest last),
    // rename checkpoint → prev (13), rename next → checkpoint (14), then removing prev (15…).
    // Killed between the renames, then again in the recovery's first removal; or killed mid-removal.
    for (const kills of [['14', '1'], ['17']]) {
      const results = scratch();
      for (const at of kills) {
        const killed = ablate(results, { MOEPP_KILL_AT_CHECKPOINT_OP: at });
        expect(killed.signal, `killed at call ${at}: ${killed.stderr}`).toBe('SIGKILL');
      }
      const resumed = ablate(results);
      expect(resumed.status, resumed.stderr).toBe(0);
      expect(resumed.stdout).toMatch(/resuming from the checkpoint at step 4/);
      expect(outcome(join(results, 'smoke', 'moe--seed1')), `killed at calls ${kills.join(', ')}`).toEqual(expected);
    }
  }, 300_000);
});
