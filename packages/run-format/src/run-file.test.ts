import { describe, expect, it } from 'vitest';
import { checkFormatVersion, parseJsonFile, parseRunFile, RunFormatError } from './run-file.ts';
import { runSummarySchema } from './summary-json.ts';
import { modelConfigSchema } from './config-json.ts';
import { runEnvironmentSchema } from './environment-json.ts';

describe('run-folder files', () => {
  it('format versions: older, newer and missing are named as such', () => {
    expect(() => checkFormatVersion({ formatVersion: 0 }, 'summary.json')).toThrow('older format: summary.json has formatVersion 0 (this report reads 1)');
    expect(() => checkFormatVersion({ formatVersion: 2 }, 'summary.json')).toThrow('newer format: summary.json has formatVersion 2 (this report reads 1)');
    expect(() => checkFormatVersion({}, 'config.json')).toThrow('older format: config.json has no formatVersion');
    expect(() => checkFormatVersion([], 'x.json')).toThrow(RunFormatError);
  });

  it('a file that does not match its schema gives one line: the file, the field, the problem', () => {
    const summary = { formatVersion: 1, study: 's', runId: 'r', configName: 'c', seed: 1, status: 'complete', params: { total: 'many' } };
    expect(() => parseRunFile(runSummarySchema, summary, 'summary.json')).toThrow(new RunFormatError('summary.json: params.total is not a finite number ("many")'));
    expect(() => parseRunFile(runSummarySchema, { ...summary, params: {} }, 'summary.json')).toThrow('summary.json: missing field total in params');
    expect(() => parseRunFile(runSummarySchema, { formatVersion: 1 }, 'summary.json')).toThrow('summary.json: missing field study');
    expect(() => parseJsonFile(modelConfigSchema, { dModel: 8, nLayers: 1, moe: { experts: { ffn: 2 }, topK: 'two' } }, 'config.json')).toThrow('config.json: moe.topK is not a finite number ("two")');
    expect(() => parseJsonFile(runEnvironmentSchema, 'wasm', 'environment.json')).toThrow('environment.json: the file is not an object');
  });

  it('optional summary fields default instead of failing: no test split, no FLOPs, no backend', () => {
    const split = { loss: 1, perplexity: Math.E, accuracy: 0.5 };
    const s = parseRunFile(runSummarySchema, {
      formatVersion: 1, study: 's', runId: 'r', configName: 'c', seed: 1, status: 'complete',
      params: { total: 10, activePerToken: 5, ffnExpertsPerToken: 2 }, steps: 1, tokens: 8, wallSeconds: 1,
      train: { tokensPerSecond: 8, finalLoss: 1 }, val: split,
    }, 'summary.json');
    expect(s).toMatchObject({ test: null, flopsPerToken: null, eval: { tokensPerSecond: null }, backend: 'unknown', threads: null });
  });
});
