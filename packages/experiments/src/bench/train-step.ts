/**
 * Measure (d): one full training step of the small LM preset — forward, backward, global-norm
 * clipping and an AdamW update, exactly the trainer's step (training/trainer.ts) without its
 * logging — for the default study's two models: vanilla MoE 8E and MoE++ (8+4)E at τ = 0.75.
 * Routing is the models' own (freshly initialised, or a checkpoint's weights), so the FFN share
 * is what the router does, not a sampled one; the CSV says which (`routing` = `init`).
 */
import * as tf from '@tensorflow/tfjs-core';
import { forwardFlopsPerToken, MoeppLM, trainingContext, type ExecutorName, type ModelConfig } from '@moepp/core';
import { join } from 'node:path';
import seedrandom from 'seedrandom';
import { loadStudy, planStudy } from '../studies/study-config.ts';
import { AdamW } from '../training/adamw.ts';
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

export interface TrainStepCase {
  impl: 'moe' | 'moepp';
  model: MoeppLM;
  spec: TrainStepModel;
  tokens: number;
  /** One step; returns the mean FFN experts per token of each MoE layer in that step. */
  step(): number[];
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
  const optimizer = new AdamW({ beta1: spec.beta1, beta2: spec.beta2, epsilon: 1e-8, weightDecay: spec.weightDecay }, executor);
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
  return {
    impl: spec.impl,
    model,
    spec,
    tokens,
    step() {
      const r = model.lossAndGradients(inputs, targets, trainingContext(`bench:${seed}`, 0)); // reads the loss: the forward is done
      const { scale } = globalNormClip(r.grads, spec.clip, executor); // reads the global norm: the backward is done
      optimizer.apply(params, r.grads, lr, scale);
      tf.dispose([...r.grads.values()]);
      return r.routing.map((s) => s.ffnExpertsPerTokenMean);
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
