/**
 * Measure (d): one full training step of the small LM preset — forward, backward, global-norm
 * clipping and an AdamW update, exactly the trainer's step (training/trainer.ts) without its
 * logging — for the default study's two models: vanilla MoE 8E and MoE++ (8+4)E at τ = 0.75.
 * Routing is the models' own (freshly initialised, or a checkpoint's weights), so the FFN share
 * is what the router does, not a sampled one; the CSV says which (`routing` = `init`).
 */
import * as tf from '@tensorflow/tfjs-core';
import { forwardFlopsPerToken, isFfnLike, MoeppLM, trainingContext, type ExecutorName, type LossAndGradients, type ModelConfig } from '@moepp/core';
import { join } from 'node:path';
import seedrandom from 'seedrandom';
import { loadStudy, planStudy } from '../studies/study-config.ts';
import { AdamW, type AdamWSettings } from '../training/adamw.ts';
import { globalNormClip } from '../training/gradient-clipping.ts';
import { repoRoot } from '@moepp/run-format';

export interface TrainStepModel {
  impl: 'moe' | 'moepp';
  configName: string;
  config: ModelConfig;
  seqLen: number;
  clip: number;
  lr: number;
  beta1: number;
  beta2: number;
  weightDecay: number;
}

/** The default study's vanilla-MoE and MoE++ configurations (small preset), seed 1. */
export function defaultStudyModels(): { moe: TrainStepModel; moepp: TrainStepModel } {
  const runs = planStudy(loadStudy(join(repoRoot(), 'experiments', 'default.yaml')));
  const pick = (impl: 'moe' | 'moepp'): TrainStepModel => {
    const run = runs.find((r) => (impl === 'moe' ? r.configName === 'moe' : r.configName.startsWith('moepp')));
    if (!run) throw new Error(`experiments/default.yaml has no ${impl} configuration`);
    const t = run.config.training;
    return { impl, configName: run.configName, config: run.config.model, seqLen: t.seqLen, clip: t.clip, lr: t.lr, beta1: t.beta1, beta2: t.beta2, weightDecay: t.weightDecay };
  };
  return { moe: pick('moe'), moepp: pick('moepp') };
}

/** What one step computed, read to the host before clipping changed the gradients (for the peer's check). */
export interface TrainStepRecord {
  loss: number;
  ce: number;
  auxLoss: number;
  zLoss: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  /** Every parameter's gradient before clipping, by name. */
  grads: Map<string, Float32Array>;
  /** (N·K) top-K experts per token of each MoE layer. */
  topKIndex: Int32Array[];
}

export interface TrainStepCase {
  impl: 'moe' | 'moepp';
  model: MoeppLM;
  spec: TrainStepModel;
  tokens: number;
  /** The fixed batch, (B, T) row-major token ids. */
  batch: { inputs: Int32Array; targets: Int32Array; batchSize: number; seqLen: number };
  /** The learning rate of every step. */
  lr: number;
  /** AdamW's settings. */
  optimizer: AdamWSettings;
  /** One step; returns the mean FFN experts per token of each MoE layer in that step. */
  step(): number[];
  /** The same step, recording what it computed. */
  recordedStep(): TrainStepRecord;
  /** FLOPs of one step at the FFN share of `ffnPerLayer` (3 × forward). */
  flops(ffnPerLayer: number[]): number;
  dispose(): void;
}

/**
 * A model, its optimizer and one fixed batch of random tokens (`tokens` = B·T).
 *
 * @example
 * const c = buildTrainStep(defaultStudyModels().moepp, 2048, 1); c.step(); c.dispose();
 */
export function buildTrainStep(spec: TrainStepModel, tokens: number, seed: number, executor: ExecutorName = 'host'): TrainStepCase {
  if (tokens % spec.seqLen !== 0) throw new Error(`train_step tokens (${tokens}) must be a multiple of the preset's seqLen ${spec.seqLen}`);
  const batch = tokens / spec.seqLen;
  const model = new MoeppLM(spec.config, seed, { executor });
  const settings: AdamWSettings = { beta1: spec.beta1, beta2: spec.beta2, epsilon: 1e-8, weightDecay: spec.weightDecay };
  const optimizer = new AdamW(settings);
  const rng = seedrandom.alea(`train-batch:${seed}`);
  const ids = Int32Array.from({ length: batch * (spec.seqLen + 1) }, () => Math.floor(rng() * spec.config.vocabSize));
  const inputsHost = new Int32Array(tokens);
  const targetsHost = new Int32Array(tokens);
  for (let b = 0; b < batch; b++) {
    inputsHost.set(ids.subarray(b * (spec.seqLen + 1), b * (spec.seqLen + 1) + spec.seqLen), b * spec.seqLen);
    targetsHost.set(ids.subarray(b * (spec.seqLen + 1) + 1, (b + 1) * (spec.seqLen + 1)), b * spec.seqLen);
  }
  const inputs = tf.tensor2d(inputsHost, [batch, spec.seqLen], 'int32');
  const targets = tf.tensor2d(targetsHost, [batch, spec.seqLen], 'int32');
  const params = model.parameters.variables;
  // A small constant learning rate: the weights move as in training but stay near initialisation,
  // so routing does not drift during the repetitions.
  const lr = spec.lr * 1e-3;
  const run = (observe?: (r: LossAndGradients) => void) => {
    const r = model.lossAndGradients(inputs, targets, trainingContext(`bench:${seed}`, 0)); // reads the loss: the forward is done
    observe?.(r); // the gradients as the step computed them, before clipping
    const { norm: gradNorm, scale } = globalNormClip(r.grads, spec.clip); // reads the global norm: the backward is done
    optimizer.apply(params, r.grads, lr, scale);
    tf.dispose([...r.grads.values()]);
    return { routing: r.routing, gradNorm };
  };
  return {
    impl: spec.impl,
    model,
    spec,
    tokens,
    batch: { inputs: inputsHost, targets: targetsHost, batchSize: batch, seqLen: spec.seqLen },
    lr,
    optimizer: settings,
    step() {
      return run().routing.map((s) => s.ffnExpertsPerTokenMean);
    },
    recordedStep() {
      let seen: Omit<TrainStepRecord, 'gradNorm'> | null = null;
      const { gradNorm } = run((r) => {
        const grads = new Map([...r.grads].map(([name, g]) => [name, g.dataSync() as Float32Array]));
        seen = { loss: r.loss, ce: r.ce, auxLoss: r.auxLoss, zLoss: r.zLoss, grads, topKIndex: r.routing.map((s) => s.topKIndex) };
      });
      return { ...(seen as unknown as Omit<TrainStepRecord, 'gradNorm'>), gradNorm };
    },
    flops(ffnPerLayer) {
      return 3 * tokens * forwardFlopsPerToken(spec.config, spec.seqLen, ffnPerLayer);
    },
    dispose() {
      model.dispose();
      tf.dispose([inputs, targets]);
      optimizer.dispose();
    },
  };
}

/**
 * The layer.csv columns that say what was stepped — ours and the peer's rows alike. `ffnPerLayer`:
 * the mean FFN experts per token of each MoE layer over the timed steps.
 */
export function trainStepColumns(c: TrainStepCase, ffnPerLayer: number[]) {
  const kinds = c.model.moeLayerKinds()[0] ?? [];
  const ffnExperts = kinds.filter(isFfnLike).length;
  return {
    measure: 'train_step', routing: 'init', width: 'small', d_model: c.spec.config.dModel, d_ffn: c.spec.config.moe?.ffnHidden ?? null,
    experts: kinds.length, ffn_experts: ffnExperts, zc_experts: kinds.length - ffnExperts,
    tau: c.impl === 'moepp' ? (c.spec.config.moe?.tau ?? null) : null, tokens: c.tokens,
    ffn_slots: Math.round((ffnPerLayer.reduce((a, b) => a + b, 0) * c.tokens) / Math.max(1, ffnPerLayer.length)),
  };
}
