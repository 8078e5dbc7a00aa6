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
import { EVAL_CSV_COLUMNS, metricsCsvColumns, repoRoot, writeFileAtomic, type EvaluationFile, type RunSummary } from '@moepp/run-format';
import {
  countParameters, decodeSafetensors, upcycleFromDense, type NamedArray, encodeSafetensors, expertKind, expertKindNames, forwardFlopsPerToken, loadModelWeights, MoeppLM,
  saveModelWeights, trainingContext, type ExecutorName,
} from '@moepp/core';
import { RandomWindowBatcher, type RandomBatcherState } from '../data/index.ts';
import type { PreparedData } from '../data/index.ts';
import type { RunConfig } from '../studies/run-config.ts';
import type { RunFolder } from '../runs/run-folder.ts';
import { describeEnvironment } from '../runs/environment.ts';
import { CheckpointStore, checkpointOpsFromEnvironment, type CheckpointOps } from '../runs/checkpoint-store.ts';
import { checkRunIdentity, writeRunFingerprint, type RunFingerprint } from '../runs/run-fingerprint.ts';
import { checkpointHealthProblem, LOSS_TREND_STEPS } from './checkpoint-health.ts';
import { AdamW } from './adamw.ts';
import { learningRate } from './lr-schedule.ts';
import { globalNormClip } from './gradient-clipping.ts';
import { evaluate } from './evaluate.ts';
import { buildClozeItems, clozeAccuracy, scoreCloze } from './cloze-probe.ts';
import { loadOverTraining } from './load-over-training.ts';
import { routerSaturation, TOP1_CHECKPOINT_FILE, type Top1Record } from './router-saturation.ts';

/** Items of the cloze probe on the test split (4 candidates each; cloze-probe.ts). */
export const CLOZE_ITEMS = 256;

/** What to say about the checkpoint a diverged run keeps. */
function keptCheckpoint(checkpointStep: number | null): string {
  return checkpointStep === null
    ? 'No checkpoint was kept (none was written before it), so a rerun starts from step 0'
    : `The last good checkpoint (step ${checkpointStep}) is kept: rerunning unchanged resumes from step ${checkpointStep}`;
}

const DIVERGENCE_FIX = 'to change the settings, lower training.lr, raise training.warmupSteps or tighten training.clip, then rerun with --force.';

export class NonFiniteLossError extends Error {
  constructor(readonly step: number, what: string, readonly checkpointStep: number | null) {
    super(`training diverged at step ${step}: ${what} is not finite. ${keptCheckpoint(checkpointStep)}; ${DIVERGENCE_FIX}`);
    this.name = 'NonFiniteLossError';
  }
}

/** A checkpoint due that failed its health check (checkpoint-health.ts): it is not written. */
export class UnhealthyCheckpointError extends Error {
  constructor(readonly step: number, problem: string, readonly checkpointStep: number | null) {
    super(`training diverged at step ${step}: ${problem}, so it is not checkpointed. ${keptCheckpoint(checkpointStep)}; ${DIVERGENCE_FIX}`);
    this.name = 'UnhealthyCheckpointError';
  }
}

/** Thrown by the `stopAfterSteps` test hook to simulate an interruption. */
export class RunInterrupted extends Error {}

/** The run stopped at a step boundary because `shouldStop` said so (Ctrl-C, SIGTERM). */
export class RunStopped extends Error {
  override name = 'RunStopped';
  constructor(readonly runId: string, readonly step: number, readonly steps: number, readonly checkpointStep: number | null) {
    super(`${runId} stopped at step ${step}/${steps}${checkpointStep === null ? '' : ` (checkpoint at step ${checkpointStep})`}`);
  }
}

export interface TrainRunOptions {
  folder: RunFolder;
  config: RunConfig;
  /** The run's identity (run-fingerprint.ts): a started folder with another one is refused. */
  fingerprint: RunFingerprint;
  data: PreparedData;
  backend: { backend: string; threads: number; executor: ExecutorName };
  /** Called after every optimizer step (progress bars, logs). */
  onStep?: (p: { step: number; steps: number; loss: number; tokensPerSecond: number; resumedFrom: number }) => void;
  /** Messages about the run's files (a corrupt checkpoint skipped). */
  log?: (line: string) => void;
  /** Asked after every step; true stops the run at that step with a checkpoint (`RunStopped`). */
  shouldStop?: () => boolean;
  /** Test hook: throw `RunInterrupted` after this many steps of this process. */
  stopAfterSteps?: number;
  /** Test hook: the checkpoint's filesystem calls (fault injection). */
  checkpointOps?: CheckpointOps;
}

/** `state.json`: what the run computes next depends on exactly this (and the weights). */
interface CheckpointState {
  step: number;
  tokens: number;
  lastLoss: number;
  /** The last LOSS_TREND_STEPS losses, oldest first: the trend the health check compares against. */
  recentLosses: number[];
  batcher: RandomBatcherState;
}

/** `timing.json`: seconds spent so far, summed over every process that trained the run. */
interface CheckpointTiming {
  trainSeconds: number;
  wallSeconds: number;
}

export async function trainRun(options: TrainRunOptions): Promise<RunSummary> {
  const { folder, config, data } = options;
  const t = config.training;
  const started = performance.now();
  folder.ensure();
  if (folder.hasStarted()) {
    checkRunIdentity(folder, options.fingerprint);
  } else {
    // The fingerprint first: a folder with config.json always has the fingerprint it was made with.
    writeRunFingerprint(folder, options.fingerprint);
    folder.writeJson('config.json', config);
  }
  folder.writeJson('environment.json', describeEnvironment(options.backend, config.seed));
  // The tokenizer travels with the run, so its checkpoint can be used on text without the corpus.
  if (!existsSync(folder.path('tokenizer.json'))) writeFileAtomic(folder.path('tokenizer.json'), readFileSync(data.tokenizerPath));

  // Before the model is built: a run whose checkpoints are all corrupt stops here.
  const store = new CheckpointStore(folder.dir, options.checkpointOps ?? checkpointOpsFromEnvironment(), options.log);
  const checkpoint = store.settle();
  let checkpointStep = checkpoint?.step ?? null;
  const model = new MoeppLM(config.model, config.seed, { executor: options.backend.executor });
  const optimizer = new AdamW({ beta1: t.beta1, beta2: t.beta2, epsilon: 1e-8, weightDecay: t.weightDecay });
  const shape = { batchSize: t.batchSize, seqLen: t.seqLen };
  let batcher = new RandomWindowBatcher(data.train, { ...shape, seed: `data:${config.seed}` });
  let state: CheckpointState = { step: 0, tokens: 0, lastLoss: NaN, recentLosses: [], batcher: batcher.state() };
  let timingBefore: CheckpointTiming = { trainSeconds: 0, wallSeconds: 0 };
  let trainSeconds = 0;

  // Each periodic evaluation's top-1 experts on its fixed slice, for router saturation.
  let top1Records: Top1Record[] = [];
  if (checkpoint) {
    options.log?.(`resuming from the checkpoint at step ${checkpoint.step}`);
    const json = <T>(name: string): T => JSON.parse(checkpoint.files[name].toString('utf8')) as T;
    state = json<CheckpointState>('state.json');
    timingBefore = json<CheckpointTiming>('timing.json');
    loadModelWeights(model, checkpoint.files['model.safetensors']);
    optimizer.loadState(decodeSafetensors(checkpoint.files['optimizer.safetensors']).tensors, state.step);
    batcher = RandomWindowBatcher.fromState(data.train, state.batcher);
    if (checkpoint.files[TOP1_CHECKPOINT_FILE]) top1Records = json<Top1Record[]>(TOP1_CHECKPOINT_FILE);
  } else if (config.init) {
    upcycleFromDense(model, readDenseWeights(config.init.from), { noiseStd: config.init.noiseStd, seed: config.seed });
  }
  const wallSeconds = () => timingBefore.wallSeconds + (performance.now() - started) / 1000;
  // Rows logged after the checkpoint are logged again as the run repeats those steps; final
  // evaluation rows (at step = steps) are rewritten by the final evaluation.
  folder.truncateCsv('metrics.csv', state.step === t.steps ? t.steps : state.step);
  folder.truncateCsv('eval.csv', state.step === t.steps ? t.steps - 1 : state.step);

  const params = model.parameters.variables;
  const moeLayers = model.moeLayerKinds().length;
  const metricColumns = metricsCsvColumns(moeLayers);
  const resumedFrom = state.step;
  /** Writes a checkpoint of the current step, unless its model fails the health check. */
  const saveCheckpoint = () => {
    // The weights' own loss, on one validation batch (the same each time; no training state used).
    const { result } = evaluate(model, data.validation, { ...shape, maxWindows: t.batchSize });
    const weights = [...params].map(([name, v]) => [name, v.dataSync()] as [string, ArrayLike<number>]);
    const problem = checkpointHealthProblem(state.step, result.loss, state.recentLosses, weights);
    if (problem) throw new UnhealthyCheckpointError(state.step, problem, checkpointStep);
    const timing: CheckpointTiming = { trainSeconds: timingBefore.trainSeconds + trainSeconds, wallSeconds: wallSeconds() };
    store.write(state.step, {
      'model.safetensors': saveModelWeights(model),
      'optimizer.safetensors': encodeSafetensors(optimizer.stateArrays(), { step: String(optimizer.step) }),
      'state.json': Buffer.from(JSON.stringify({ ...state, batcher: batcher.state() }, null, 2)),
      'timing.json': Buffer.from(JSON.stringify(timing, null, 2)),
      ...(moeLayers > 0 ? { [TOP1_CHECKPOINT_FILE]: Buffer.from(JSON.stringify(top1Records)) } : {}),
    });
    checkpointStep = state.step;
  };

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
        throw new NonFiniteLossError(step + 1, Number.isFinite(loss) ? 'the gradient norm' : 'the loss', checkpointStep);
      }
      const lr = learningRate(step, { lr: t.lr, minLr: t.minLr, warmupSteps: t.warmupSteps, totalSteps: t.steps });
      optimizer.apply(params, sums, lr, clipScale);
      tf.dispose([...sums.values()]);
      model.updateRoutingState(expertLoad);

      const stepTokens = t.batchSize * t.seqLen * t.gradAccumulation;
      const seconds = (performance.now() - stepStart) / 1000;
      trainSeconds += seconds;
      state = { ...state, step: step + 1, tokens: state.tokens + stepTokens, lastLoss: loss, recentLosses: [...state.recentLosses, loss].slice(-LOSS_TREND_STEPS) };
      const ffnMean = moeLayers ? ffnPerLayer.reduce((a, b) => a + b, 0) / moeLayers : 0;
      folder.appendCsv('metrics.csv', metricColumns, [{
        step: step + 1, tokens: state.tokens, loss, ce, aux_loss: aux, z_loss: z, lr, grad_norm: gradNorm,
        tokens_per_s: stepTokens / seconds, ffn_per_token: ffnMean,
        ...Object.fromEntries(Array.from(ffnPerLayer, (v, l) => [`ffn_per_token_l${l}`, v])),
      }]);
      options.onStep?.({ step: step + 1, steps: t.steps, loss, tokensPerSecond: stepTokens / seconds, resumedFrom });

      const last = step + 1 === t.steps;
      if ((step + 1) % t.evalEvery === 0 && !last) {
        const { result, top1, load } = evaluate(model, data.validation, { ...shape, maxWindows: t.evalWindows, top1: moeLayers > 0 });
        if (top1) top1Records.push({ step: step + 1, top1: top1.map((layer) => Array.from(layer)), ...(load ? { load } : {}) });
        folder.appendCsv('eval.csv', EVAL_CSV_COLUMNS, [{ step: step + 1, split: 'val', loss: result.loss, perplexity: result.perplexity, accuracy: result.accuracy, tokens_per_s: result.tokensPerSecond }]);
      }
      const stopping = !last && options.shouldStop?.() === true;
      if ((step + 1) % t.checkpointEvery === 0 || last || stopping) saveCheckpoint();
      if (stopping) throw new RunStopped(config.runId, step + 1, t.steps, checkpointStep);
      if (options.stopAfterSteps !== undefined && step + 1 - resumedFrom >= options.stopAfterSteps && !last) throw new RunInterrupted(`stopped after step ${step + 1}`);
      // Lets signal handlers run between steps (the step itself never yields).
      await new Promise((resolve) => setImmediate(resolve));
    }

    const val = evaluate(model, data.validation, { ...shape, maxWindows: t.finalEvalWindows, routing: true, top1: moeLayers > 0, detail: true });
    const test = evaluate(model, data.test, { ...shape, maxWindows: t.finalEvalWindows });
    folder.appendCsv('eval.csv', EVAL_CSV_COLUMNS, [
      { step: t.steps, split: 'val', loss: val.result.loss, perplexity: val.result.perplexity, accuracy: val.result.accuracy, tokens_per_s: val.result.tokensPerSecond },
      { step: t.steps, split: 'test', loss: test.result.loss, perplexity: test.result.perplexity, accuracy: test.result.accuracy, tokens_per_s: test.result.tokensPerSecond },
    ]);
    if (val.routing) {
      const saturation = val.top1 ? routerSaturation(top1Records, val.top1) : null;
      const history = loadOverTraining(top1Records);
      folder.writeJson('routing.json', { ...val.routing, ...(saturation ? { routerSaturation: saturation } : {}), ...(history ? { loadOverTraining: history } : {}) });
    }
    const clozeItems = buildClozeItems(data.train, data.test, { seqLen: t.seqLen, maxItems: CLOZE_ITEMS });
    const evaluation: EvaluationFile = {
      formatVersion: 1,
      split: 'validation',
      ...val.detail!,
      cloze: clozeItems.length > 0 ? clozeAccuracy(clozeItems, scoreCloze(model, data.test, clozeItems, shape), 'test') : null,
    };
    folder.writeJson('evaluation.json', evaluation);
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
      wallSeconds: wallSeconds(),
      train: { tokensPerSecond: state.tokens / (timingBefore.trainSeconds + trainSeconds), finalLoss: state.lastLoss },
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
