/**
 * Upcycling: an MoE++ model from a dense one — shared parameters copied, every FFN expert a copy
 * of its block's dense FFN (plus seeded noise when asked), the router and ZC experts fresh — and
 * one clear error listing the mismatches otherwise.
 */
import { describe, expect, it } from 'vitest';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { resolveModelConfig, type ModelConfigInput } from './config.ts';
import { MoeppLM } from './model.ts';
import { upcycleFromDense, UpcycleError } from './upcycle.ts';
import { decodeSafetensors } from './safetensors.ts';
import { saveModelWeights } from './model-weights.ts';

const shape: ModelConfigInput = { vocabSize: 30, dModel: 8, nLayers: 2, nHeads: 2, maxSeqLen: 8, denseFfnHidden: 12 };
const denseTensors = () => {
  const dense = new MoeppLM(resolveModelConfig({ ...shape, moe: null }), 7);
  const { tensors } = decodeSafetensors(saveModelWeights(dense));
  dense.dispose();
  return tensors;
};
const values = (m: MoeppLM, name: string) => Array.from(m.parameters.get(name).dataSync());

describe('upcycling from a dense checkpoint', () => {
  it('copies shared parameters and the dense FFN into every FFN expert; router and ZC experts stay fresh', async () => {
    await tf.setBackend('cpu');
    const dense = denseTensors();
    const moe = new MoeppLM(resolveModelConfig({ ...shape, moe: { experts: { ffn: 3, copy: 1, constant: 1 }, ffnHidden: 12 } }), 1);
    const freshRouter = values(moe, 'layers.1.moe.router.w_r');
    const freshConstant = values(moe, 'layers.0.moe.experts.3.w_c');
    const report = upcycleFromDense(moe, dense, { noiseStd: 0, seed: 1 });
    expect(report.experts).toBe(2 * 3);
    for (const name of ['embed_tokens', 'layers.1.attn.w_q', 'layers.0.ffn_norm', 'norm']) expect(values(moe, name)).toEqual(Array.from(dense.get(name)!.data));
    for (const e of [0, 1, 2]) expect(values(moe, `layers.1.moe.experts.${e}.w_down`)).toEqual(Array.from(dense.get('layers.1.ffn.w_down')!.data));
    expect(values(moe, 'layers.1.moe.router.w_r')).toEqual(freshRouter);
    expect(values(moe, 'layers.0.moe.experts.3.w_c')).toEqual(freshConstant);
    expect(report.fresh).toEqual(expect.arrayContaining(['layers.1.moe.router.w_r', 'layers.1.moe.router.w_g', 'layers.0.moe.experts.3.w_c']));
    moe.dispose();
  });

  it('with noise, experts start near the dense FFN and differ from each other, the same way every time', () => {
    const dense = denseTensors();
    const build = () => {
      const m = new MoeppLM(resolveModelConfig({ ...shape, moe: { experts: { ffn: 2 }, ffnHidden: 12, gatingResidual: false } }), 1);
      upcycleFromDense(m, dense, { noiseStd: 0.01, seed: 3 });
      return m;
    };
    const a = build();
    const b = build();
    const base = Array.from(dense.get('layers.0.ffn.w_up')!.data);
    const e0 = values(a, 'layers.0.moe.experts.0.w_up');
    const e1 = values(a, 'layers.0.moe.experts.1.w_up');
    const gap = (x: number[]) => Math.max(...x.map((v, i) => Math.abs(v - base[i])));
    expect(gap(e0)).toBeGreaterThan(0);
    expect(gap(e0)).toBeLessThan(0.06);
    expect(e0).not.toEqual(e1);
    expect(values(b, 'layers.0.moe.experts.0.w_up')).toEqual(e0);
    a.dispose();
    b.dispose();
  });

  it('names every mismatch in one error: expert width, depth, and an MoE source', () => {
    const dense = denseTensors();
    const wide = new MoeppLM(resolveModelConfig({ ...shape, moe: { experts: { ffn: 2 }, ffnHidden: 6 } }), 1);
    expect(() => upcycleFromDense(wide, dense, { noiseStd: 0, seed: 1 })).toThrow(/'layers.0.ffn.w_gate' has shape \[8,12\] but 'layers.0.moe.experts.0.w_gate' is \[8,6\].*ffnHidden equal to its denseFfnHidden/);
    wide.dispose();
    const deeper = new MoeppLM(resolveModelConfig({ ...shape, nLayers: 3, moe: { experts: { ffn: 2 }, ffnHidden: 12 } }), 1);
    expect(() => upcycleFromDense(deeper, dense, { noiseStd: 0, seed: 1 })).toThrow(UpcycleError);
    expect(() => upcycleFromDense(deeper, dense, { noiseStd: 0, seed: 1 })).toThrow(/'layers.2.attn_norm' is missing from the dense weights/);
    const moeSource = new Map(dense);
    moeSource.set('layers.0.moe.router.w_r', { shape: [8, 2], data: new Float32Array(16) });
    expect(() => upcycleFromDense(deeper, moeSource, { noiseStd: 0, seed: 1 })).toThrow(/is an MoE parameter: upcycling starts from a dense run/);
    deeper.dispose();
  });
});
