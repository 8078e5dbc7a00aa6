/**
 * The PyTorch peer of the training step: the payload carries the weights (core's own format), the
 * batch and our step's results intact; and, where a Python with torch exists, its step of a tiny LM
 * from those weights equals ours — loss terms, gradient norm, every gradient, every updated weight —
 * and a difference fails loudly. Skipped, saying why, without torch (Debian: apt-get install
 * python3-torch).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { decodeSafetensors, encodeSafetensors, loadModelWeights, MoeppLM, readWeightsConfig, resolveModelConfig, type ModelConfig } from '@moepp/core';
import { useTestBackend } from '../testing/test-backend.ts';
import { torchAvailable } from './torch-peer.ts';
import { LM_STEP_TOLERANCE, LmStepPeerMismatch, lmStepPeerEnvironment, mallocSettings, recordLmStepPayload, runTorchLmStepPeer, type LmStepPayload } from './train-step-peer.ts';
import { buildTrainStep, type TrainStepCase, type TrainStepModel } from './train-step.ts';

const PYTHON = process.env.MOEPP_PYTHON ?? '/usr/bin/python3';
const torch = torchAvailable(PYTHON);
if (!torch.ok) console.warn(`skipping the PyTorch LM-step equivalence check: ${torch.detail}`);

const SEED = 5;
const TIMING = { warmup: 0, reps: 1, minReps: 1, maxSeconds: 1 };

/** Smoke-preset sized models: vanilla MoE, and MoE++ with every ZC kind, the gating residual and a z-loss. */
function tinyModels(): TrainStepModel[] {
  const base = { vocabSize: 96, dModel: 32, nLayers: 2, nHeads: 2, maxSeqLen: 16, denseFfnHidden: 64 };
  const moe = resolveModelConfig({ ...base, moe: { experts: { ffn: 4 }, gatingResidual: false, ffnHidden: 32 } });
  // W_g ≠ 0, so the residual shapes the routing and not just its own gradient.
  const moepp = resolveModelConfig({ ...base, routerZLossCoef: 1e-3, moe: { experts: { ffn: 4, zero: 1, copy: 1, constant: 1 }, ffnHidden: 32, gatingResidualInitStd: 0.3 } });
  // lr 3 × the bench's 1e-3: a step large enough that AdamW's update and decay show in the weights.
  const spec = (impl: 'moe' | 'moepp', config: ModelConfig): TrainStepModel => ({ impl, configName: impl, config, seqLen: 16, clip: 1, lr: 3, beta1: 0.9, beta2: 0.95, weightDecay: 0.1 });
  return [spec('moe', moe), spec('moepp', moepp)];
}

describe('PyTorch LM-step peer payload', () => {
  let cases: TrainStepCase[] = [];
  beforeAll(async () => {
    await useTestBackend();
  });
  afterAll(() => cases.forEach((c) => c.dispose()));

  it('holds the saved weights, the batch and our step, and leaks no tensor', () => {
    cases = tinyModels().map((m) => buildTrainStep(m, 64, SEED));
    const fresh = tinyModels().map((m) => buildTrainStep(m, 64, SEED));
    const before = tf.memory().numTensors;
    const payload = recordLmStepPayload(cases, TIMING, 1, true);
    // A first step keeps AdamW's two moments per parameter and the model's RoPE tables (cos, sin, rotate-half) and mask.
    expect(tf.memory().numTensors - before).toBe(cases.reduce((n, c) => n + 2 * c.model.parameters.variables.size + 4, 0));
    expect([...payload.keys()].sort()).toEqual(['moe.weights.safetensors', 'moepp.weights.safetensors', 'step.safetensors']);
    const { tensors, metadata } = decodeSafetensors(payload.get('step.safetensors')!);
    const spec = JSON.parse(metadata.spec);
    expect(spec.threads).toBe(1);
    expect(spec.check_only).toBe(true);
    for (const [i, c] of cases.entries()) {
      const key = c.impl;
      const entry = spec.models.find((m: { key: string }) => m.key === key);
      expect(entry).toMatchObject({ weights: `${key}.weights.safetensors`, lr: 3e-3, clip: 1, beta2: 0.95, weight_decay: 0.1 });
      expect(Number.isFinite(entry.loss) && Number.isFinite(entry.grad_norm)).toBe(true);
      // The weights file is the model before the step: it loads into a model built from its own config.
      const bytes = payload.get(entry.weights)!;
      const loaded = new MoeppLM(readWeightsConfig(bytes) as ModelConfig, 99);
      loadModelWeights(loaded, bytes);
      for (const [name, v] of fresh[i].model.parameters.variables) {
        expect(loaded.parameters.get(name).dataSync(), name).toEqual(v.dataSync());
        expect(tensors.get(`${key}.expect.grad.${name}`)?.shape, name).toEqual(v.shape);
        expect(tensors.get(`${key}.expect.updated.${name}`)!.data, name).toEqual(c.model.parameters.get(name).dataSync());
      }
      loaded.dispose();
      expect(Int32Array.from(tensors.get(`${key}.inputs`)!.data)).toEqual(c.batch.inputs);
      expect(Int32Array.from(tensors.get(`${key}.targets`)!.data)).toEqual(c.batch.targets);
      expect(tensors.get(`${key}.inputs`)!.shape).toEqual([4, 16]);
      expect(tensors.get(`${key}.expect.topk.1`)!.shape).toEqual([64, 2]);
    }
    fresh.forEach((c) => c.dispose());
  });
});

describe.skipIf(!torch.ok)(`PyTorch LM-step peer (${torch.detail})`, () => {
  let cases: TrainStepCase[] = [];
  let payload: LmStepPayload;
  beforeAll(async () => {
    await useTestBackend();
    cases = tinyModels().map((m) => buildTrainStep(m, 64, SEED));
    payload = recordLmStepPayload(cases, TIMING, 1);
  });
  afterAll(() => cases.forEach((c) => c.dispose()));

  it('takes the same step from the same weights: loss, gradients and updated weights equal ours', () => {
    const result = runTorchLmStepPeer(PYTHON, payload, 1, 120);
    expect(result.failed).toEqual([]);
    expect(result.openblas_threads === null || result.openblas_threads === 1).toBe(true);
    expect(result.malloc).toBe(mallocSettings(lmStepPeerEnvironment(1)));
    expect(result.malloc).toBe('MALLOC_MMAP_THRESHOLD_=1073741824 MALLOC_TRIM_THRESHOLD_=1073741824');
    for (const c of cases) {
      const whats = new Set(result.checks.filter((k) => k.key === c.impl).map((k) => k.what));
      for (const q of ['loss', 'ce', 'aux_loss', 'z_loss', 'grad_norm']) expect(whats, `${c.impl} ${q}`).toContain(q);
      for (const name of c.model.parameters.names()) {
        expect(whats, `${c.impl} ${name}`).toContain(`grad.${name}`);
        expect(whats, `${c.impl} ${name}`).toContain(`updated.${name}`);
      }
    }
    expect(result.routing).toEqual({ moe: { differing: 0, not_near_ties: 0 }, moepp: { differing: 0, not_near_ties: 0 } });
    for (const k of result.checks) {
      const rtol = k.what === 'grad_norm' ? LM_STEP_TOLERANCE.norm_rtol : LM_STEP_TOLERANCE.rtol;
      expect(k.max_abs_diff, `${k.key} ${k.what}`).toBeLessThanOrEqual(LM_STEP_TOLERANCE.atol + rtol * k.max_abs);
    }
    // The residual's gradient was compared and is not trivially zero.
    const wG = result.checks.find((k) => k.key === 'moepp' && k.what === 'grad.layers.1.moe.router.w_g')!;
    expect(wG.max_abs).toBeGreaterThan(0);
    expect(Object.keys(result.times).sort()).toEqual(['moe', 'moepp']);
    expect(result.ffn_per_token.moepp).toHaveLength(2);
  });

  /** The peer's failures on our payload with one of our tensors changed by `edit`. */
  function failuresWith(name: string, edit: (data: Float32Array) => void): string[] {
    const step = decodeSafetensors(payload.get('step.safetensors')!);
    const t = step.tensors.get(name)!;
    const data = t.data.slice();
    edit(data);
    step.tensors.set(name, { shape: t.shape, data });
    const broken = new Map(payload).set('step.safetensors', encodeSafetensors(step.tensors, step.metadata));
    try {
      runTorchLmStepPeer(PYTHON, broken, 1, 120);
    } catch (e) {
      expect(e).toBeInstanceOf(LmStepPeerMismatch);
      return (e as LmStepPeerMismatch).result.failed;
    }
    throw new Error('the peer accepted a step that is not ours');
  }

  it('fails loudly when our step differs: one gradient entry, or one token routed elsewhere', () => {
    expect(failuresWith('moepp.expect.grad.layers.0.moe.router.w_r', (g) => {
      g[0] += 1e-2;
    })).toEqual([expect.stringMatching(/^moepp grad\.layers\.0\.moe\.router\.w_r: /)]);
    // Token 0 of the first MoE++ layer "chose" another expert than its two; its logits do not tie.
    const routed = failuresWith('moepp.expect.topk.0', (k) => {
      k[1] = [0, 1, 2].find((e) => e !== k[0] && e !== k[1])!;
    });
    expect(routed).toContainEqual('moepp routing: 1 token-layers chose other experts than ours where no logits tie');
  });
});
