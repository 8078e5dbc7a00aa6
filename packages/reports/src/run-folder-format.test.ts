import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { benchEnvironmentSchema, parseJsonFile, parseRunFile, runConfigSchema, runEnvironmentSchema } from '@moepp/run-format';
import { parseRouting, parseRunConfig } from './run-folder-format.ts';
import { loadStudy } from './load-runs.ts';
import { FIXTURE_RESULTS, FIXTURE_STUDY } from './testing/fixtures.ts';

// The cost classes a run of the built-in registry records in summary.json.
const CLASSES = { ffn: 'ffn', zero: 'zero-computation', copy: 'zero-computation', constant: 'zero-computation' } as const;

const layer = (n: number) => ({
  layer: 0, block: 0, tokensPerExpert: Array(n).fill(1), ffnExpertsPerToken: 1.5,
  slotShare: { ffn: 0.75, zero: 0.25 }, droppedSlots: 0, routerLogitMean: 0, routerLogitStd: 1, routingScoreVariance: 0.01,
});

describe('run-folder format', () => {
  it('routing.json: expertKinds as one flat list (the contract) or one list per layer (the trainer)', () => {
    const flat = parseRouting({ formatVersion: 1, expertKinds: ['ffn', 'ffn', 'zero'], layers: [layer(3), layer(3)] }, CLASSES);
    expect(flat.layers.map((l) => l.expertKinds)).toEqual([['ffn', 'ffn', 'zero'], ['ffn', 'ffn', 'zero']]);
    expect(flat.layers[0].slotShare).toEqual({ ffn: 0.75, zero: 0.25, copy: 0, constant: 0 });
    const nested = parseRouting({ formatVersion: 1, expertKinds: [['ffn', 'copy'], ['ffn', 'ffn', 'zero']], layers: [layer(2), layer(3)] }, CLASSES);
    expect(nested.expertKinds).toEqual(['ffn', 'copy']);
    expect(nested.layers[1].expertKinds).toEqual(['ffn', 'ffn', 'zero']);
    expect(() => parseRouting({ formatVersion: 1, expertKinds: [['ffn']], layers: [layer(1), layer(1)] }, CLASSES)).toThrow(/one such list per layer \(2 layers\)/);
    expect(() => parseRouting({ formatVersion: 1, expertKinds: ['ffn', 'zero'], layers: [layer(3)] }, CLASSES)).toThrow('routing.json: layers[0].tokensPerExpert is not 2 numbers');
  });

  it('config.json: reads the MoE shape from core ModelConfig, dense as moe null', () => {
    const base = { formatVersion: 1, configName: 'c', seed: 1 };
    const moe = parseRunConfig({ ...base, model: { dModel: 64, nLayers: 2, moe: { experts: { ffn: 4, copy: 1 }, topK: 2, ffnHidden: 128, tau: 0.5, gatingResidual: true } } }, CLASSES);
    expect(moe.shape.moe).toEqual({ experts: { ffn: 4, zero: 0, copy: 1, constant: 0 }, ffnExperts: 4, zcExperts: 1, topK: 2, ffnHidden: 128, tau: 0.5, gatingResidual: true, gating: 'reference', capacityFactor: null });
    expect(parseRunConfig({ ...base, model: { dModel: 64, nLayers: 2, moe: null } }, CLASSES).shape.moe).toBeNull();
    expect(() => parseRunConfig({ ...base, model: { nLayers: 2, moe: null } }, CLASSES)).toThrow('config.json: missing field dModel');
  });

  it('kinds are counted by the run\'s recorded cost classes, not by name', () => {
    const base = { formatVersion: 1, configName: 'c', seed: 1 };
    const model = { dModel: 64, nLayers: 2, moe: { experts: { ffn: 2, wide: 2, skip: 1 }, topK: 2, ffnHidden: 128, tau: 0.5, gatingResidual: true } };
    const shape = parseRunConfig({ ...base, model }, { ffn: 'ffn', wide: 'ffn', skip: 'zero-computation' }).shape.moe;
    expect([shape?.ffnExperts, shape?.zcExperts]).toEqual([4, 1]);
    expect(() => parseRunConfig({ ...base, model }, { ffn: 'ffn', skip: 'zero-computation' })).toThrow(/expert kind 'wide' has no cost class/);
  });

  it('the fixture runs are real run folders: config.json and environment.json fit the full schemas', () => {
    const json = (...path: string[]): unknown => JSON.parse(readFileSync(join(...path), 'utf8'));
    const runs = loadStudy(FIXTURE_RESULTS, FIXTURE_STUDY).runs;
    expect(runs.length).toBeGreaterThan(0);
    for (const run of runs) {
      expect(parseRunFile(runConfigSchema, json(run.dir, 'config.json'), 'config.json').runId).toBe(run.runId);
      parseJsonFile(runEnvironmentSchema, json(run.dir, 'environment.json'), 'environment.json');
    }
    const bench = join(FIXTURE_RESULTS, 'bench');
    for (const folder of readdirSync(bench)) parseJsonFile(benchEnvironmentSchema, json(bench, folder, 'environment.json'), 'environment.json');
  });
});
