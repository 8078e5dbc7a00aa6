import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { MoeppLM } from './model.ts';
import { resolveModelConfig, type ModelConfigInput } from './config.ts';
import { countParameters } from './counting.ts';
import { evaluationContext, trainingContext } from './forward-context.ts';
import { TEST_BACKENDS, useBackend } from './testing/backends.ts';

const TINY: ModelConfigInput = {
  vocabSize: 48, dModel: 16, nLayers: 3, nHeads: 2, maxSeqLen: 12, denseFfnHidden: 24,
  moeInterval: 1, moe: { experts: { ffn: 4, zero: 1, copy: 1, constant: 1 }, ffnHidden: 16, topK: 2 },
};

function batch(seed: number, b = 3, t = 12, vocab = 48): { inputs: tf.Tensor2D; targets: tf.Tensor2D } {
  const ids = Array.from({ length: b * (t + 1) }, (_, i) => (i * 17 + seed * 5 + ((i * i) % 7)) % vocab);
  const rows = Array.from({ length: b }, (_, r) => ids.slice(r * (t + 1), (r + 1) * (t + 1)));
  return {
    inputs: tf.tensor2d(rows.map((r) => r.slice(0, t)), [b, t], 'int32'),
    targets: tf.tensor2d(rows.map((r) => r.slice(1)), [b, t], 'int32'),
  };
}

/** Plain Adam on the named gradients (the experiments package has the full AdamW). */
function adamStep(model: MoeppLM, grads: Map<string, tf.Tensor>, optimizer: tf.Optimizer): void {
  const byVariable: tf.NamedTensorMap = {};
  for (const [name, g] of grads) byVariable[model.parameters.get(name).name] = g;
  optimizer.applyGradients(byVariable);
  tf.dispose([...grads.values()]);
}

describe.each(TEST_BACKENDS)('MoeppLM on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  it('forward shapes and per-layer routing statistics', () => {
    const model = new MoeppLM(resolveModelConfig(TINY), 1);
    const { inputs, targets } = batch(0);
    tf.tidy(() => {
      const out = model.forward(inputs, { targets, context: evaluationContext() });
      expect(out.logits.shape).toEqual([36, 48]);
      expect(out.routing).toHaveLength(3);
      for (const r of out.routing) {
        expect(r.tokensPerExpert.reduce((a, b) => a + b, 0)).toBe(36 * 2);
        expect(r.ffnExpertsPerToken).toHaveLength(36);
        const share = r.slotShare.ffn + r.slotShare.zero + r.slotShare.copy + r.slotShare.constant + r.slotShare.dropped;
        expect(share).toBeCloseTo(1, 6);
        expect(r.ffnExpertsPerTokenMean).toBeCloseTo(r.slotShare.ffn * 2, 6);
      }
      // The balance loss computed on the host for the statistics equals the one that trains.
      const hostMean = out.routing.reduce((s, r) => s + r.balanceLoss, 0) / 3;
      expect(out.auxLoss.dataSync()[0]).toBeCloseTo(hostMean, 5);
    });
    tf.dispose([inputs, targets]);
    model.dispose();
  });

  it('a model holds one tensor per parameter, and dispose() frees them all', () => {
    const before = tf.memory();
    const model = new MoeppLM(resolveModelConfig(TINY), 5);
    expect(tf.memory().numTensors - before.numTensors).toBe(model.parameters.variables.size);
    model.dispose();
    expect(tf.memory().numTensors).toBe(before.numTensors);
    expect(tf.memory().numBytes).toBe(before.numBytes);
  });

  it('the loss falls on a fixed batch, without leaking tensors', () => {
    const model = new MoeppLM(resolveModelConfig(TINY), 2);
    const { inputs, targets } = batch(1);
    const optimizer = tf.train.adam(0.02);
    const losses: number[] = [];
    let tensorsAfterFirstStep = 0;
    for (let step = 0; step < 25; step++) {
      const r = model.lossAndGradients(inputs, targets, trainingContext('test', 0));
      adamStep(model, r.grads, optimizer);
      losses.push(r.ce);
      if (step === 0) tensorsAfterFirstStep = tf.memory().numTensors; // optimizer slots now exist
    }
    expect(tf.memory().numTensors).toBe(tensorsAfterFirstStep);
    expect(losses[0]).toBeGreaterThan(Math.log(48) - 0.5); // starts near uniform
    expect(losses[24]).toBeLessThan(losses[0] * 0.5);
    optimizer.dispose();
    tf.dispose([inputs, targets]);
    model.dispose();
  });

  it('same seed gives identical weights and outputs; another seed does not', () => {
    const config = resolveModelConfig(TINY);
    const [a, b, c] = [new MoeppLM(config, 7), new MoeppLM(config, 7), new MoeppLM(config, 8)];
    const { inputs } = batch(2);
    for (const name of a.parameters.names()) {
      expect(Array.from(a.parameters.get(name).dataSync())).toEqual(Array.from(b.parameters.get(name).dataSync()));
    }
    const logits = (m: MoeppLM) => tf.tidy(() => Array.from(m.forward(inputs, { context: evaluationContext() }).logits.dataSync()));
    expect(logits(a)).toEqual(logits(b));
    expect(logits(a)).not.toEqual(logits(c));
    [a, b, c].forEach((m) => m.dispose());
    inputs.dispose();
  });

  it('with W_g = 0 (its initialisation) the gating residual routes exactly as without it', () => {
    const withResidual = new MoeppLM(resolveModelConfig({ ...TINY, moe: { ...TINY.moe, gatingResidual: true } }), 3);
    const without = new MoeppLM(resolveModelConfig({ ...TINY, moe: { ...TINY.moe, gatingResidual: false } }), 3);
    expect(withResidual.parameters.names().filter((n) => n.endsWith('w_g'))).toEqual(['layers.1.moe.router.w_g', 'layers.2.moe.router.w_g']);
    expect(without.parameters.names().some((n) => n.endsWith('w_g'))).toBe(false);
    const { inputs } = batch(3);
    tf.tidy(() => {
      const a = withResidual.forward(inputs, { context: evaluationContext() });
      const b = without.forward(inputs, { context: evaluationContext() });
      expect(Array.from(a.logits.dataSync())).toEqual(Array.from(b.logits.dataSync()));
    });
    inputs.dispose();
    withResidual.dispose();
    without.dispose();
  });

  it('a dense model and interleaved MoE++ blocks are configurations of the same model', () => {
    const dense = new MoeppLM(resolveModelConfig({ ...TINY, moe: null }), 4);
    expect(dense.parameters.names().some((n) => n.includes('.moe.'))).toBe(false);
    const interleaved = new MoeppLM(resolveModelConfig({ ...TINY, nLayers: 4, moeInterval: 2 }), 4);
    const names = interleaved.parameters.names();
    expect(names.some((n) => n.startsWith('layers.0.ffn.'))).toBe(true);
    expect(names.some((n) => n.startsWith('layers.1.moe.'))).toBe(true);
    // The residual skips the dense block 2 and reaches MoE++ block 3.
    expect(names).toContain('layers.3.moe.router.w_g');
    const { inputs, targets } = batch(4);
    tf.tidy(() => {
      expect(dense.forward(inputs, { targets, context: evaluationContext() }).routing).toHaveLength(0);
      expect(interleaved.forward(inputs, { targets, context: evaluationContext() }).routing.map((r) => r.block)).toEqual([1, 3]);
    });
    tf.dispose([inputs, targets]);
    dense.dispose();
    interleaved.dispose();
  });

  it('parameter count from the config equals the built model', () => {
    for (const input of [TINY, { ...TINY, moe: null }, { ...TINY, tieEmbeddings: false, nLayers: 4, moeInterval: 2 }] as ModelConfigInput[]) {
      const config = resolveModelConfig(input);
      const model = new MoeppLM(config, 0);
      expect(countParameters(config).total).toBe(model.parameters.size());
      model.dispose();
    }
  });

  it('rejects token ids outside the vocabulary and sequences longer than maxSeqLen', () => {
    const model = new MoeppLM(resolveModelConfig(TINY), 0);
    expect(() => tf.tidy(() => void model.forward(tf.tensor2d([[1, 48]], [1, 2], 'int32'), { context: evaluationContext() }))).toThrow(/outside the vocabulary/);
    expect(() => tf.tidy(() => void model.forward(tf.zeros([1, 13], 'int32') as tf.Tensor2D, { context: evaluationContext() }))).toThrow(/exceeds maxSeqLen/);
    model.dispose();
  });
});
