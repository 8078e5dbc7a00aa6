/**
 * The trainer end to end on the smoke preset (tiny model, a tenth of Brown): a run completes with
 * every file of docs/run-folder.md; an interrupted run resumes to the same final metrics as an
 * uninterrupted one; the same seed gives the same run; a diverging run stops with a clear error
 * and keeps its last good checkpoint.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import '@tensorflow/tfjs-backend-wasm';
import { cpSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadStudy, planStudy, type PlannedRun } from '../studies/study-config.ts';
import { prepareRunData } from '../runs/prepare-run-data.ts';
import { RunFolder } from '../runs/run-folder.ts';
import { NonFiniteLossError, RunInterrupted, trainRun, UnhealthyCheckpointError, type TrainRunOptions } from './trainer.ts';
import { MAX_WEIGHT_MAGNITUDE } from './checkpoint-health.ts';
import { fingerprintRun } from '../runs/run-fingerprint.ts';
import { CheckpointStore } from '../runs/checkpoint-store.ts';
import { evaluationFileSchema, parseRunFile, repoRoot, type RoutingFile, type RunSummary } from '@moepp/run-format';
import type { RunConfig } from '../studies/run-config.ts';
import { useTestBackend } from '../testing/test-backend.ts';
import { decodeSafetensors } from '@moepp/core';
import { POS_CLASSES, type PreparedData } from '../data/index.ts';

const root = repoRoot();
let backend: Awaited<ReturnType<typeof useTestBackend>> = { backend: 'wasm', threads: 1, executor: 'host' };
let runs: PlannedRun[];
let data: PreparedData;

/** `trainRun` with the run's fingerprint, as `runStudy` passes it. */
function train(options: Omit<TrainRunOptions, 'fingerprint'>) {
  return trainRun({ ...options, fingerprint: fingerprintRun(options.config, root) });
}

/** The largest weight magnitude in a model.safetensors file. */
function maxAbsWeight(bytes: Uint8Array): number {
  let max = 0;
  for (const t of decodeSafetensors(bytes).tensors.values()) for (const v of t.data) max = Math.max(max, Math.abs(v));
  return max;
}

function scratch(): string {
  return mkdtempSync(join(tmpdir(), 'moepp-run-'));
}

/** The CSV without its timing column, which legitimately differs between runs. */
function csvWithoutTiming(file: string): string[] {
  const [header, ...rows] = readFileSync(file, 'utf8').trim().split('\n');
  const drop = header.split(',').indexOf('tokens_per_s');
  return [header, ...rows].map((line) => line.split(',').filter((_, i) => i !== drop).join(','));
}

describe('trainer on the smoke preset (wasm)', () => {
  beforeAll(async () => {
    backend = await useTestBackend();
    runs = planStudy(loadStudy(join(root, 'experiments', 'smoke.yaml')));
    data = await prepareRunData(runs[1].config.data, root);
  });

  it('a run writes every file of the run-folder format and is complete', async () => {
    const folder = new RunFolder(join(scratch(), runs[1].runId));
    const summary = await train({ folder, config: runs[1].config, data, backend });
    for (const f of ['config.json', 'environment.json', 'metrics.csv', 'eval.csv', 'routing.json', 'summary.json', 'checkpoint/model.safetensors', 'checkpoint/optimizer.safetensors', 'checkpoint/state.json']) {
      expect(existsSync(folder.path(f)), f).toBe(true);
    }
    expect(folder.isComplete()).toBe(true);
    expect(summary.steps).toBe(6);
    expect(summary.val.perplexity).toBeCloseTo(Math.exp(summary.val.loss), 6);
    expect(summary.params.ffnExpertsPerToken).toBeGreaterThan(0);
    expect(summary.params.ffnExpertsPerToken).toBeLessThanOrEqual(2);
    const metrics = readFileSync(folder.path('metrics.csv'), 'utf8').trim().split('\n');
    expect(metrics[0].split(',')).toEqual(expect.arrayContaining(['step', 'loss', 'aux_loss', 'lr', 'grad_norm', 'tokens_per_s', 'ffn_per_token_l0', 'ffn_per_token_l1']));
    expect(metrics).toHaveLength(7);
    const routing = folder.readJson<{ layers: unknown[]; byPos: Record<string, { tokens: number }>; byPiece: Record<string, { tokens: number }> }>('routing.json');
    expect(routing.layers).toHaveLength(2);
    expect(routing.byPos.noun.tokens).toBeGreaterThan(0);
    expect(routing.byPiece.fragment.tokens).toBeGreaterThan(0);
    // The routing measures per layer, co-activation of the two layers, and router saturation from
    // the periodic evaluation at step 3 (evalEvery 3) on its 4 windows of 32 tokens.
    const measured = folder.readJson<RoutingFile>('routing.json');
    for (const layer of measured.layers) expect(Object.keys(layer)).toEqual(expect.arrayContaining(['maxVio', 'loadEntropy', 'routingEntropy', 'deadExperts', 'dropRate']));
    expect(measured.coActivation?.map((c) => c.fromLayer)).toEqual([0]);
    const pairs = measured.coActivation![0].counts.flat().reduce((a, b) => a + b, 0);
    expect(pairs).toBe(8 * 32 * 2 * 2); // finalEvalWindows 8 × seqLen 32 tokens, K × K pairs each
    expect(measured.routerSaturation?.steps).toEqual([3]);
    expect(measured.routerSaturation?.tokens).toBe(4 * 32);
    // Expert load over training: the same slice's K slots per token at step 3, per layer.
    expect(measured.loadOverTraining?.steps).toEqual([3]);
    expect(measured.loadOverTraining?.tokens).toBe(4 * 32);
    for (const loads of measured.loadOverTraining!.tokensPerExpert[0]) expect(loads.reduce((a, b) => a + b, 0)).toBe(4 * 32 * 2);
    // evaluation.json: its groups partition the final validation tokens, and their token-weighted
    // means are the summary's loss and accuracy and the routing's FFN experts per token.
    const evaluation = parseRunFile(evaluationFileSchema, folder.readJson('evaluation.json'), 'evaluation.json');
    expect(evaluation.tokens).toBe(8 * 32);
    for (const groups of [evaluation.byTargetPos, evaluation.byGenre, evaluation.byFfnExperts]) {
      const all = Object.values(groups);
      const weighted = (f: (g: (typeof all)[number]) => number) => all.reduce((acc, g) => acc + f(g) * g.tokens, 0) / evaluation.tokens;
      expect(all.reduce((acc, g) => acc + g.tokens, 0)).toBe(evaluation.tokens);
      expect(weighted((g) => g.accuracy)).toBeCloseTo(summary.val.accuracy, 10);
      expect(weighted((g) => g.loss)).toBeCloseTo(summary.val.loss, 4);
    }
    // Grouped by the predicted token's class and the input token's document genre, counted here from the stream.
    const count = (labels: Uint8Array, names: readonly string[], offset: number) => {
      const counts: Record<string, number> = {};
      for (let w = 0; w < 8; w++) for (let t = 0; t < 32; t++) counts[names[labels[w * 32 + t + offset]]] = (counts[names[labels[w * 32 + t + offset]]] ?? 0) + 1;
      return counts;
    };
    expect(Object.fromEntries(Object.entries(evaluation.byTargetPos).map(([k, g]) => [k, g.tokens]))).toEqual(count(data.validation.pos, POS_CLASSES, 1));
    expect(Object.fromEntries(Object.entries(evaluation.byGenre).map(([k, g]) => [k, g.tokens]))).toEqual(count(data.validation.genre, data.validation.genres, 0));
    const genres = Object.values(evaluation.byGenre);
    expect(genres.reduce((acc, g) => acc + g.ffnExpertsPerToken! * g.tokens, 0) / evaluation.tokens).toBeCloseTo(summary.params.ffnExpertsPerToken, 5);
    expect(evaluation.cloze?.split).toBe('test');
    expect(evaluation.cloze?.candidates).toBe(4);
    expect(evaluation.cloze?.items).toBeGreaterThan(100);
    const env = folder.readJson<{ backend: string; packages: Record<string, string> }>('environment.json');
    expect(env.backend).toBe(backend.backend); // wasm, or blas in CI's default run
    expect(env.packages['@tensorflow/tfjs-core']).toBe('4.22.0');
  });

  it('an interrupted run resumes to exactly the final metrics of an uninterrupted one', async () => {
    const dir = scratch();
    const whole = new RunFolder(join(dir, 'whole'));
    const reference = await train({ folder: whole, config: runs[0].config, data, backend });

    const interrupted = new RunFolder(join(dir, 'interrupted'));
    await expect(train({ folder: interrupted, config: runs[0].config, data, backend, stopAfterSteps: 4 })).rejects.toBeInstanceOf(RunInterrupted);
    expect(interrupted.isComplete()).toBe(false);
    // Simulate a kill between the two renames of a checkpoint swap: only checkpoint-prev/ remains.
    renameSync(interrupted.path('checkpoint'), interrupted.path('checkpoint-prev'));
    const resumed = await train({ folder: interrupted, config: runs[0].config, data, backend });

    const strip = (s: RunSummary) => ({ val: s.val, test: s.test, loss: s.train.finalLoss, params: s.params, tokens: s.tokens });
    expect(strip(resumed)).toEqual(strip(reference));
    expect(csvWithoutTiming(interrupted.path('metrics.csv'))).toEqual(csvWithoutTiming(whole.path('metrics.csv')));
    expect(csvWithoutTiming(interrupted.path('eval.csv'))).toEqual(csvWithoutTiming(whole.path('eval.csv')));
    // Router saturation's record of step 3 came back from the checkpoint.
    expect(interrupted.readJson<RoutingFile>('routing.json')).toEqual(whole.readJson<RoutingFile>('routing.json'));
    expect(interrupted.readJson('evaluation.json')).toEqual(whole.readJson('evaluation.json'));
  });

  it('with a balancing bias and router noise, an interrupted run resumes exactly too: the bias is in the checkpoint', async () => {
    const base = runs[1].config;
    const config = {
      ...base,
      model: { ...base.model, moe: { ...(base.model.moe as NonNullable<typeof base.model.moe>), gating: 'sigmoid-bias', gatingOptions: { biasUpdateRate: 0.01 }, routerJitter: 0.05 } },
    };
    const dir = scratch();
    const whole = new RunFolder(join(dir, 'whole'));
    const reference = await train({ folder: whole, config, data, backend });
    const interrupted = new RunFolder(join(dir, 'interrupted'));
    await expect(train({ folder: interrupted, config, data, backend, stopAfterSteps: 3 })).rejects.toBeInstanceOf(RunInterrupted);
    const bias = decodeSafetensors(readFileSync(interrupted.path('checkpoint/model.safetensors'))).tensors.get('layers.0.moe.router.expert_bias');
    expect(bias && Array.from(bias.data).some((b) => b !== 0)).toBe(true);
    const resumed = await train({ folder: interrupted, config, data, backend });
    expect(resumed.val).toEqual(reference.val);
    expect(resumed.test).toEqual(reference.test);
    expect(csvWithoutTiming(interrupted.path('metrics.csv'))).toEqual(csvWithoutTiming(whole.path('metrics.csv')));
    expect(readFileSync(interrupted.path('checkpoint/model.safetensors'))).toEqual(readFileSync(whole.path('checkpoint/model.safetensors')));
  });

  it('the same seed gives the same run; another seed does not', async () => {
    const dir = scratch();
    const a = await train({ folder: new RunFolder(join(dir, 'a')), config: runs[1].config, data, backend });
    const b = await train({ folder: new RunFolder(join(dir, 'b')), config: runs[1].config, data, backend });
    const c = await train({ folder: new RunFolder(join(dir, 'c')), config: { ...runs[1].config, seed: 2 }, data, backend });
    expect(b.val).toEqual(a.val);
    expect(c.val).not.toEqual(a.val);
  });

  it('init.from upcycles a dense run: after one step the FFN experts are still the dense FFN, give or take the update', async () => {
    const dir = scratch();
    const denseFolder = new RunFolder(join(dir, 'dense'));
    // The dense FFN as wide as the MoE run's experts (the smoke preset's dense blocks are wider).
    const denseConfig = { ...structuredClone(runs[1].config), model: { ...runs[1].config.model, moe: null, denseFfnHidden: runs[0].config.model.moe!.ffnHidden } };
    await train({ folder: denseFolder, config: denseConfig, data, backend });
    const dense = decodeSafetensors(readFileSync(denseFolder.path('checkpoint/model.safetensors'))).tensors.get('layers.1.ffn.w_up')!.data;
    const firstStep = async (name: string, init: RunConfig['init']) => {
      const config = { ...structuredClone(runs[0].config), ...(init ? { init } : {}) };
      config.training.checkpointEvery = 1;
      const folder = new RunFolder(join(dir, name));
      await expect(train({ folder, config, data, backend, stopAfterSteps: 1 })).rejects.toBeInstanceOf(RunInterrupted);
      const expert = decodeSafetensors(readFileSync(folder.path('checkpoint/model.safetensors'))).tensors.get('layers.1.moe.experts.2.w_up')!.data;
      return Math.max(...Array.from(expert, (v, i) => Math.abs(v - dense[i])));
    };
    // One AdamW step at the first warm-up learning rate moves a weight by about lr = 0.0015.
    expect(await firstStep('upcycled', { from: denseFolder.dir, noiseStd: 0 })).toBeLessThan(0.005);
    expect(await firstStep('fresh', undefined)).toBeGreaterThan(0.02);
    await expect(train({ folder: new RunFolder(join(dir, 'bad')), config: { ...runs[0].config, init: { from: join(dir, 'nowhere'), noiseStd: 0 } }, data, backend }))
      .rejects.toThrow(/init.from: .*nowhere is not a complete run folder/);
  });

  it('expert-choice (its selection ranks every expert): saturation from each token\'s best expert, no co-activation', async () => {
    const config = structuredClone(runs[0].config);
    config.model.moe = { ...config.model.moe!, gating: 'expert-choice' };
    config.training = { ...config.training, steps: 2, evalEvery: 1 };
    const folder = new RunFolder(join(scratch(), 'expert-choice'));
    await train({ folder, config, data, backend });
    const routing = folder.readJson<RoutingFile>('routing.json');
    expect(routing.coActivation).toEqual([]);
    expect(routing.routerSaturation?.tokens).toBe(4 * 32);
    expect(routing.routerSaturation?.steps).toEqual([1]);
  });

  it('refuses to continue a folder that holds another config', async () => {
    const folder = new RunFolder(join(scratch(), 'x'));
    await expect(train({ folder, config: runs[0].config, data, backend, stopAfterSteps: 1 })).rejects.toBeInstanceOf(RunInterrupted);
    await expect(train({ folder, config: runs[1].config, data, backend })).rejects.toThrow(/other settings.*model\.moe\.experts\.zero: — → 1.*--force/);
  });

  it('a run diverging from the start stops with a clear error and keeps no checkpoint of blown-up weights', async () => {
    const folder = new RunFolder(join(scratch(), 'diverge'));
    const config = structuredClone(runs[1].config);
    config.training.lr = 1e30;
    config.training.warmupSteps = 0;
    config.training.clip = 1e30;
    config.training.checkpointEvery = 1;
    const error = await train({ folder, config, data, backend }).catch((e: unknown) => e);
    expect([NonFiniteLossError, UnhealthyCheckpointError]).toContain((error as Error).constructor);
    expect((error as Error).message).toMatch(/training diverged at step \d+: .*(No checkpoint was kept|checkpoint \(step \d+\) is kept)/);
    expect(folder.isComplete()).toBe(false);
    // Whatever is kept passed the health check: on main a checkpoint of weights near 1e30 was kept.
    const kept = new CheckpointStore(folder.dir).newest();
    if (kept) expect(maxAbsWeight(kept.files['model.safetensors'])).toBeLessThanOrEqual(MAX_WEIGHT_MAGNITUDE);
  });

  it('a run that diverges later keeps its last good checkpoint, names its step, and resumes from it', async () => {
    const folder = new RunFolder(join(scratch(), 'later'));
    const config = structuredClone(runs[1].config);
    config.training.checkpointEvery = 1;
    await expect(train({ folder, config, data, backend, stopAfterSteps: 3 })).rejects.toBeInstanceOf(RunInterrupted);
    // The same run's later steps diverge: continued (under its own fingerprint) with an absurd rate.
    const diverging = structuredClone(config);
    Object.assign(diverging.training, { lr: 1e30, minLr: 1e30, clip: 1e30 });
    const fingerprint = fingerprintRun(config, root);
    const error = await trainRun({ folder, config: diverging, fingerprint, data, backend }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnhealthyCheckpointError);
    expect((error as Error).message).toMatch(/training diverged at step 4: weight .* at step 4 \(beyond ±10000\), so it is not checkpointed\. The last good checkpoint \(step 3\) is kept: rerunning unchanged resumes from step 3/);
    const kept = new CheckpointStore(folder.dir).newest();
    expect(kept?.step).toBe(3);
    const largest = maxAbsWeight(kept?.files['model.safetensors'] as Buffer);
    expect(largest).toBeGreaterThan(0);
    expect(largest).toBeLessThan(10);
    const lines: string[] = [];
    const resumed = await train({ folder, config, data, backend, log: (l) => lines.push(l) });
    expect(lines).toContain('resuming from the checkpoint at step 3');
    expect(resumed.steps).toBe(6);
  });

  it('resumes from a complete checkpoint-next/ when a crash left checkpoint/ swapped out and checkpoint-prev/ half removed', async () => {
    const dir = scratch();
    const whole = new RunFolder(join(dir, 'whole'));
    const reference = await train({ folder: whole, config: runs[0].config, data, backend });
    const crashed = new RunFolder(join(dir, 'crashed'));
    await expect(train({ folder: crashed, config: runs[0].config, data, backend, stopAfterSteps: 4 })).rejects.toBeInstanceOf(RunInterrupted);
    // Issue 11, case 4: the newest complete checkpoint sits in checkpoint-next/, and checkpoint-prev/ lost a file.
    cpSync(crashed.path('checkpoint'), crashed.path('checkpoint-next'), { recursive: true });
    renameSync(crashed.path('checkpoint'), crashed.path('checkpoint-prev'));
    rmSync(crashed.path('checkpoint-prev/model.safetensors'));
    const lines: string[] = [];
    const resumed = await train({ folder: crashed, config: runs[0].config, data, backend, log: (l) => lines.push(l) });
    expect(lines.join('\n')).toMatch(/checkpoint-prev\/model\.safetensors is missing \(corrupt\): resuming from the intact checkpoint at step 3/);
    expect(resumed.val).toEqual(reference.val);
    expect(csvWithoutTiming(crashed.path('metrics.csv'))).toEqual(csvWithoutTiming(whole.path('metrics.csv')));
  });

  it('a bit-flipped checkpoint is named as corrupt, not trained on', async () => {
    const folder = new RunFolder(join(scratch(), 'flipped'));
    await expect(train({ folder, config: runs[0].config, data, backend, stopAfterSteps: 4 })).rejects.toBeInstanceOf(RunInterrupted);
    const model = folder.path('checkpoint/model.safetensors');
    const bytes = readFileSync(model);
    bytes[bytes.length - 3] ^= 0x40;
    writeFileSync(model, bytes);
    await expect(train({ folder, config: runs[0].config, data, backend })).rejects.toThrow(/checkpoint\/model\.safetensors does not match its checksum.*no intact checkpoint is left.*--force/);
    expect(folder.isComplete()).toBe(false);
  });

  it('wallSeconds counts every process that trained the run', async () => {
    const folder = new RunFolder(join(scratch(), 'wall'));
    const slowStep = () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 250);
    // Steps 1–3 (checkpointed at 3) take ≥ 0.75 s in the first process.
    await expect(train({ folder, config: runs[0].config, data, backend, stopAfterSteps: 4, onStep: slowStep })).rejects.toBeInstanceOf(RunInterrupted);
    const started = performance.now();
    const summary = await train({ folder, config: runs[0].config, data, backend });
    const secondProcess = (performance.now() - started) / 1000;
    expect(summary.wallSeconds).toBeGreaterThanOrEqual(0.75 + 0.5 * secondProcess);
    expect(summary.wallSeconds).toBeGreaterThan(secondProcess);
  });
});
