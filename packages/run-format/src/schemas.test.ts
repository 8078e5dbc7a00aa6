import { describe, expect, it } from 'vitest';
import { parseRunFile } from './run-file.ts';
import { modelConfigSchema, runConfigSchema } from './config-json.ts';
import { evaluationFileSchema } from './evaluation-json.ts';
import { expertKindsPerLayer, routingFileSchema } from './routing-json.ts';
import { studyFileSchema } from './study-json.ts';
import { metricsCsvColumns } from './run-csv.ts';

const layer = (n: number) => ({
  layer: 0, block: 0, tokensPerExpert: Array(n).fill(1), ffnExpertsPerToken: 1.5,
  slotShare: { ffn: 0.75, zero: 0.25, dropped: 0 }, droppedSlots: 0, routerLogitMean: 0, routerLogitStd: 1, routingScoreVariance: 0.01,
});

describe('schemas', () => {
  it('config.json: expert counts are keyed by kind name, any kind; the rest of the model passes through', () => {
    const model = modelConfigSchema.parse({
      dModel: 64, nLayers: 2, nHeads: 4, ropeTheta: 10000,
      moe: { experts: { ffn: 4, 'shared-ffn': 1, someNewKind: 2 }, expertsPerLayer: [{ ffn: 4 }, { ffn: 2, zero: 2 }], topK: 2, ffnHidden: 128, tau: 0.5, gatingResidual: true, gatingResidualInitStd: 0 },
    });
    expect(model.moe?.experts).toEqual({ ffn: 4, 'shared-ffn': 1, someNewKind: 2 });
    expect(model.moe?.expertsPerLayer?.[1]).toEqual({ ffn: 2, zero: 2 });
    expect(model).toMatchObject({ nHeads: 4, ropeTheta: 10000, moe: { gatingResidualInitStd: 0, gating: 'reference', capacityFactor: null } });
    expect(modelConfigSchema.parse({ dModel: 64, nLayers: 2 }).moe).toBeNull();
    expect(() => modelConfigSchema.parse({ dModel: 64, nLayers: 2, moe: { experts: { ffn: -1 }, topK: 2, ffnHidden: 8, tau: 1, gatingResidual: false } })).toThrow();
  });

  it('config.json: training and data are strict (a misspelt key is an error, not ignored)', () => {
    const base = {
      formatVersion: 1, study: 's', runId: 'c--seed1', configName: 'c', seed: 1, model: { dModel: 8, nLayers: 1, moe: null },
      data: { corpus: 'brown', brownEvery: 1, vocabSize: 512 },
      training: { steps: 1, batchSize: 1, seqLen: 8, gradAccumulation: 1, lr: 1e-3, minLr: 0, warmupSteps: 0, weightDecay: 0, beta1: 0.9, beta2: 0.95, clip: 1, evalEvery: 1, evalWindows: 1, finalEvalWindows: 1, checkpointEvery: 1 },
    };
    expect(parseRunFile(runConfigSchema, base, 'config.json').training.steps).toBe(1);
    expect(() => parseRunFile(runConfigSchema, { ...base, data: { ...base.data, vocab: 3 } }, 'config.json')).toThrow('config.json: unknown field vocab in data');
  });

  it('routing.json: load over training has one load per expert of every layer at every step', () => {
    const base = { formatVersion: 1, expertKinds: ['ffn', 'zero'], layers: [layer(2), layer(2)] };
    const good = { tokens: 8, steps: [3, 6], tokensPerExpert: [[[5, 3], [4, 4]], [[6, 2], [8, 0]]] };
    expect(parseRunFile(routingFileSchema, { ...base, loadOverTraining: good }, 'routing.json').loadOverTraining).toEqual(good);
    expect(() => parseRunFile(routingFileSchema, { ...base, loadOverTraining: { ...good, steps: [3] } }, 'routing.json')).toThrow('routing.json: loadOverTraining.tokensPerExpert has 2 entries for 1 steps');
    expect(() => parseRunFile(routingFileSchema, { ...base, loadOverTraining: { ...good, tokensPerExpert: [[[5, 3], [4, 4]], [[6, 2, 1], [8, 0]]] } }, 'routing.json')).toThrow('routing.json: loadOverTraining.tokensPerExpert[1] is not one load per expert of each of the 2 layers');
  });

  it('evaluation.json: groups, genres and the cloze probe; accuracy outside [0, 1] is refused', () => {
    const file = {
      formatVersion: 1, split: 'validation', tokens: 100,
      byTargetPos: { noun: { tokens: 40, loss: 5.1, accuracy: 0.1 } },
      byGenre: { news: { tokens: 100, loss: 5.0, accuracy: 0.12, ffnExpertsPerToken: 1.5 } },
      byFfnExperts: { '1.5': { tokens: 100, loss: 5.0, accuracy: 0.12 } },
      cloze: { split: 'test', items: 10, candidates: 4, accuracy: 0.5, byPos: { noun: { items: 10, accuracy: 0.5 } } },
    };
    expect(parseRunFile(evaluationFileSchema, file, 'evaluation.json')).toEqual(file);
    expect(parseRunFile(evaluationFileSchema, { ...file, cloze: null }, 'evaluation.json').cloze).toBeNull();
    expect(() => parseRunFile(evaluationFileSchema, { ...file, byTargetPos: { noun: { tokens: 40, loss: 5.1, accuracy: 1.5 } } }, 'evaluation.json')).toThrow(/evaluation.json: byTargetPos.noun.accuracy/);
  });

  it('routing.json: kinds are plain strings, as one list for every layer or one list per layer', () => {
    const flat = parseRunFile(routingFileSchema, { formatVersion: 1, expertKinds: ['ffn', 'ffn', 'someNewKind'], layers: [layer(3), layer(3)] }, 'routing.json');
    expect(expertKindsPerLayer(flat)).toEqual([['ffn', 'ffn', 'someNewKind'], ['ffn', 'ffn', 'someNewKind']]);
    expect(flat.layers[0].slotShare).toEqual({ ffn: 0.75, zero: 0.25, dropped: 0 });
    expect(flat.byPos).toEqual({});
    const nested = parseRunFile(routingFileSchema, { formatVersion: 1, expertKinds: [['ffn', 'copy'], ['ffn', 'ffn', 'zero']], layers: [layer(2), layer(3)] }, 'routing.json');
    expect(expertKindsPerLayer(nested)[1]).toEqual(['ffn', 'ffn', 'zero']);
    expect(() => parseRunFile(routingFileSchema, { formatVersion: 1, expertKinds: 'ffn', layers: [] }, 'routing.json')).toThrow('routing.json: expertKinds is neither a list of expert kinds nor one such list per layer');
    expect(() => parseRunFile(routingFileSchema, { formatVersion: 1, expertKinds: [['ffn']], layers: [layer(1), layer(1)] }, 'routing.json')).toThrow(/one such list per layer \(2 layers\)/);
    expect(() => parseRunFile(routingFileSchema, { formatVersion: 1, expertKinds: ['ffn', 'zero'], layers: [layer(3)] }, 'routing.json')).toThrow('routing.json: layers[0].tokensPerExpert is not 2 numbers');
  });

  it('study.json: description, baseline and commands may be absent', () => {
    const s = parseRunFile(studyFileSchema, { formatVersion: 1, study: 's', runs: [{ runId: 'a--seed1', config: 'a', seed: 1 }] }, 'study.json');
    expect(s).toMatchObject({ description: '', baseline: null, commands: [] });
    expect(s.runs[0].index).toBeUndefined();
  });

  it('metrics.csv has one FFN-per-token column per MoE layer after the fixed ones', () => {
    expect(metricsCsvColumns(2).join(',')).toBe('step,tokens,loss,ce,aux_loss,z_loss,lr,grad_norm,tokens_per_s,ffn_per_token,ffn_per_token_l0,ffn_per_token_l1');
  });
});
