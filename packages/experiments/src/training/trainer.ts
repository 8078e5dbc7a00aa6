/**
 * One training run, start to finish or resumed: AdamW with warm-up + cosine decay, gradient
 * accumulation and clipping, periodic validation, checkpoints, final validation/test evaluation
 * with held-out routing statistics, then `summary.json`.
 *
 * Resume is exact: a checkpoint holds the weights (with any routing state, such as balancing
 * biases), AdamW moments, the batcher's RNG state and the step, so an interrupted run started
 * again ends with the same final metrics as an uninterrupted one with the same seed (a test
 * interrupts and compares).
 */
import * as tf from '@tensorflow/tfjs-core';
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { EVAL_CSV_COLUMNS, metricsCsvColumns, repoRoot, writeFileAtomic, type RunSummary } from '@moepp/run-format';
import {
  countParameters, decodeSafetensors, upcycleFromDense, type NamedArray, encodeSafetensors, expertKind, expertKindNames, forwardFlopsPerToken, loadModelWeights, MoeppLM,
  saveModelWeights, trainingContext, type ExecutorName,
} from '@moepp/core';
import { RandomWindowBatcher, type RandomBatcherState } from '../data/index.ts';
import type { PreparedData } from '../data/index.ts';
import type { RunConfig } from '../studies/run-config.ts';
import type { RunFolder } from '../runs/run-folder.ts';
import { describeEnvironment } from '../runs/environment.ts';
import { AdamW } from './adamw.ts';
import { learningRate } from './lr-schedule.ts';
import { globalNormClip } from './gradient-clipping.ts';
import { evaluate } from './evaluate.ts';
import { routerSaturation, TOP1_CHECKPOINT_FILE, type Top1Record } from './router-saturation.ts';

export class NonFiniteLossError extends Error {
  constructor(readonly step: number, what: string, checkpointStep: number | null) {
    super(
      `training diverged at step ${step}: ${what} is not finite. The last good checkpoint (step ${checkpointStep ?? 'none'}) is kept; ` +
        'lower training.lr, raise training.warmupSteps or tighten training.clip, then rerun with --force.',
    );
    this.name = 'NonFiniteLossError';
  }
}

/** Thrown by the `stopAfterSteps` test hook to simulate an interruption. */
export class RunInterrupted extends Error {}

export interface TrainRunOptions {
  folder: RunFolder;
  config: RunConfig;
  data: PreparedData;
  backend: { backend: string; threads: number; executor: ExecutorName };
  /** Called after every optimizer step (progress bars, logs). */
  onStep?: (p: { step: number; steps: number; loss: number; tokensPerSecond: number; resumedFrom: number }) => void;
  /** Test hook: throw `RunInterrupted` after this many steps of this process. */
  stopAfterSteps?: number;
}

interface CheckpointState {
  step: number;
  tokens: number;
  trainSeconds: number;
  lastLoss: number;
  batcher: RandomBatcherState;
}

export async function trainRun(options: TrainRunOptions): Promise<RunSummary> {
  const { folder, config, data } = options;
  const t = config.training;
  const started = performance.now();
  folder.ensure();
  if (folder.hasStarted()) {
    const saved = folder.readJson<RunConfig>('config.json');
    if (JSON.stringify(saved) !== JSON.stringify(config)) {
      throw new Error(`${folder.dir} holds a run with a different config (was the study edited?); rerun with --force to start it afresh (the old folder is kept aside), or restore the study file`);
    }
  } else {
    folder.writeJson('config.json', config);
  }
  folder.writeJson('environment.json', describeEnvironment(options.backend, config.seed));
  // The tokenizer travels with the run, so its checkpoint can be used on text without the corpus.
  if (!existsSync(folder.path('tokenizer.json'))) writeFileAtomic(folder.path('tokenizer.json'), readFileSync(data.tokenizerPath));

  const model = new MoeppLM(config.model, config.seed, { executor: options.backend.executor });
  const optimizer = new AdamW({ beta1: t.beta1, beta2: t.beta2, epsilon: 1e-8, weightDecay: t.weightDecay });
  const shape = { batchSize: t.batchSize, seqLen: t.seqLen };
  let batcher = new RandomWindowBatcher(data.train, { ...shape, seed: `data:${config.seed}` });
  let state: CheckpointState = { step: 0, tokens: 0, trainSeconds: 0, lastLoss: NaN, batcher: batcher.state() };

  // Each periodic evaluation's top-1 experts on its fixed slice, for router saturation.
  let top1Records: Top1Record[] = [];
  const checkpoint = folder.checkpointDir();
  if (checkpoint) {
    state = JSON.parse(readFileSync(join(checkpoint, 'state.json'), 'utf8')) as CheckpointState;
    loadModelWeights(model, readFileSync(join(checkpoint, 'model.safetensors')));
    optimizer.loadState(decodeSafetensors(readFileSync(join(checkpoint, 'optimizer.safetensors'))).tensors, state.step);
    batcher = RandomWindowBatcher.fromState(data.train, state.batcher);
    const top1File = join(checkpoint, TOP1_CHECKPOINT_FILE);
    if (existsSync(top1File)) top1Records = JSON.parse(readFileSync(top1File, 'utf8')) as Top1Record[];
  } else if (config.init) {
    upcycleFromDense(model, readDenseWeights(config.init.from), { noiseStd: config.init.noiseStd, seed: config.seed });
  }
  // Rows logged after the checkpoint are logged again as the run repeats those steps; final
  // evaluation rows (at step = steps) are rewritten by the final evaluation.
  folder.truncateCsv('metrics.csv', state.step === t.steps ? t.steps : state.step);
  folder.truncateCsv('eval.csv', state.step === t.steps ? t.steps - 1 : state.step);

  const params = model.parameters.variables;
  const moeLayers = model.moeLayerKinds().length;
  const metricColumns = metricsCsvColumns(moeLayers);
  const resumedFrom = state.step;
  const saveCheckpoint = () =>
    folder.writeCheckpoint({
      'model.safetensors': saveModelWeights(model),
      'optimizer.safetensors': encodeSafetensors(optimizer.stateArrays(), { step: String(optimizer.step) }),
      'state.json': JSON.stringify({ ...state, batcher: batcher.state() }, null, 2),
      ...(moeLayers > 0 ? { [TOP1_CHECKPOINT_FILE]: JSON.stringify(top1Records) } : {}),
    });

  try {
    for (let step = state.step; step < t.steps; step++) {
      const stepStart = performance.now();
      const sums = new Map<string, tf.Tensor>();
      let loss = 0, ce = 0, aux = 0, z = 0;
      const ffnPerLayer = new Float64Array(moeLayers);
      // Selected slots per expert over the step's micro-batches: what balancing biases follow.
      const expertLoad = model.moeLayerKinds().map((kinds) => new Float64Array(kinds.length));
      for (let micro = 0; micro < t.gradAccumulation; micro++) {
        const batch = batcher.next();
        const inputs = tf.tensor2d(batch.inputs, [batch.batchSize, batch.seqLen], 'int32');
        const targets = tf.tensor2d(batch.targets, [batch.batchSize, batch.seqLen], 'int32');
        // The step's random source (gating noise, …) depends only on seed and step: resume is exact.
        const r = model.lossAndGradients(inputs, targets, trainingContext(`run:${config.seed}`, step, micro));
        tf.dispose([inputs, targets]);
        for (const [name, g] of r.grads) {
          const previous = sums.get(name);
          sums.set(name, previous ? tf.add(previous, g) : g);
          if (previous) tf.dispose([previous, g]);
        }
        loss += r.loss / t.gradAccumulation;
        ce += r.ce / t.gradAccumulation;
        aux += r.auxLoss / t.gradAccumulation;
        z += r.zLoss / t.gradAccumulation;
        r.routing.forEach((s, l) => (ffnPerLayer[l] += s.ffnExpertsPerTokenMean / t.gradAccumulation));
        r.expertLoad.forEach((load, l) => load.forEach((v, e) => (expertLoad[l][e] += v)));
      }
      if (t.gradAccumulation > 1) {
        for (const [name, g] of sums) {
          sums.set(name, tf.div(g, t.gradAccumulation));
          g.dispose();
        }
      }
      const { norm: gradNorm, scale: clipScale } = globalNormClip(sums, t.clip);
      if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) {
        tf.dispose([...sums.values()]);
        throw new NonFiniteLossError(step + 1, Number.isFinite(loss) ? 'the gradient norm' : 'the loss', folder.checkpointDir() ? resumedFromCheckpointStep(folder) : null);
      }
      const lr = learningRate(step, { lr: t.lr, minLr: t.minLr, warmupSteps: t.warmupSteps, totalSteps: t.steps });
      optimizer.apply(params, sums, lr, clipScale);
      tf.dispose([...sums.values()]);
      model.updateRoutingState(expertLoad);

      const stepTokens = t.batchSize * t.seqLen * t.gradAccumulation;
      const seconds = (performance.now() - stepStart) / 1000;
      state = { ...state, step: step + 1, tokens: state.tokens + stepTokens, trainSeconds: state.trainSeconds + seconds, lastLoss: loss };
      const ffnMean = moeLayers ? ffnPerLayer.reduce((a, b) => a + b, 0) / moeLayers : 0;
      folder.appendCsv('metrics.csv', metricColumns, [{
        step: step + 1, tokens: state.tokens, loss, ce, aux_loss: aux, z_loss: z, lr, grad_norm: gradNorm,
        tokens_per_s: stepTokens / seconds, ffn_per_token: ffnMean,
        ...Object.fromEntries(Array.from(ffnPerLayer, (v, l) => [`ffn_per_token_l${l}`, v])),
      }]);
      options.onStep?.({ step: step + 1, steps: t.steps, loss, tokensPerSecond: stepTokens / seconds, resumedFrom });

      const last = step + 1 === t.steps;
      if ((step + 1) % t.evalEvery === 0 && !last) {
        const { result, top1 } = evaluate(model, data.validation, { ...shape, maxWindows: t.evalWindows, top1: moeLayers > 0 });
        if (top1) top1Records.push({ step: step + 1, top1: top1.map((layer) => Array.from(layer)) });
        folder.appendCsv('eval.csv', EVAL_CSV_COLUMNS, [{ step: step + 1, split: 'val', loss: result.loss, perplexity: result.perplexity, accuracy: result.accuracy, tokens_per_s: result.tokensPerSecond }]);
      }
      if ((step + 1) % t.checkpointEvery === 0 || last) saveCheckpoint();
      if (options.stopAfterSteps !== undefined && step + 1 - resumedFrom >= options.stopAfterSteps && !last) throw new RunInterrupted(`stopped after step ${step + 1}`);
    }

    const val = evaluate(model, data.validation, { ...shape, maxWindows: t.finalEvalWindows, routing: true, top1: moeLayers > 0 });
    const test = evaluate(model, data.test, { ...shape, maxWindows: t.finalEvalWindows });
    folder.appendCsv('eval.csv', EVAL_CSV_COLUMNS, [
      { step: t.steps, split: 'val', loss: val.result.loss, perplexity: val.result.perplexity, accuracy: val.result.accuracy, tokens_per_s: val.result.tokensPerSecond },
      { step: t.steps, split: 'test', loss: test.result.loss, perplexity: test.result.perplexity, accuracy: test.result.accuracy, tokens_per_s: test.result.tokensPerSecond },
    ]);
    if (val.routing) {
      const saturation = val.top1 ? routerSaturation(top1Records, val.top1) : null;
      folder.writeJson('routing.json', saturation ? { ...val.routing, routerSaturation: saturation } : val.routing);
    }
    const measuredFfn = val.routing?.layers.map((l) => l.ffnExpertsPerToken);
    const counts = countParameters(config.model, measuredFfn);
    const summary: RunSummary = {
      formatVersion: 1, study: config.study, runId: config.runId, configName: config.configName, seed: config.seed, status: 'complete',
      params: {
        total: counts.total,
        activePerToken: counts.activePerToken,
        ffnExpertsPerToken: counts.ffnExpertsPerToken.length ? counts.ffnExpertsPerToken.reduce((a, b) => a + b, 0) / counts.ffnExpertsPerToken.length : 0,
      },
      flopsPerToken: forwardFlopsPerToken(config.model, t.seqLen, measuredFfn),
      steps: t.steps,
      tokens: state.tokens,
      wallSeconds: (performance.now() - started) / 1000,
      train: { tokensPerSecond: state.tokens / state.trainSeconds, finalLoss: state.lastLoss },
      val: { loss: val.result.loss, perplexity: val.result.perplexity, accuracy: val.result.accuracy },
      test: { loss: test.result.loss, perplexity: test.result.perplexity, accuracy: test.result.accuracy },
      eval: { tokensPerSecond: (val.result.tokensPerSecond + test.result.tokensPerSecond) / 2 },
      backend: options.backend.backend,
      threads: options.backend.threads,
      expertCostClasses: Object.fromEntries(expertKindNames().map((k) => [k, expertKind(k).costClass])),
    };
    folder.writeJson('summary.json', summary);
    return summary;
  } finally {
    optimizer.dispose();
    model.dispose();
  }
}

function resumedFromCheckpointStep(folder: RunFolder): number | null {
  const dir = folder.checkpointDir();
  return dir ? (JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as CheckpointState).step : null;
}

/**
 * The final weights of the complete run folder `from` (absolute, or relative to the repo root),
 * for `init.from`.
 */
function readDenseWeights(from: string): Map<string, NamedArray> {
  const dir = isAbsolute(from) ? from : join(repoRoot(), from);
  const weights = join(dir, 'checkpoint', 'model.safetensors');
  if (!existsSync(join(dir, 'summary.json')) || !existsSync(weights)) {
    throw new Error(`init.from: ${dir} is not a complete run folder (it needs summary.json and checkpoint/model.safetensors); train the dense run first, e.g. pnpm ablate <study>, and point init.from at its folder`);
  }
  return decodeSafetensors(readFileSync(weights)).tensors;
}
