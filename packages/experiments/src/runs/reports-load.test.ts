/**
 * The run-folder contract end to end: the smoke study trained for real, its folders read back
 * through the reports loader (`loadStudy` of @moepp/reports). Every file the trainer writes fits
 * its @moepp/run-format schema in full, and what reports load is what the trainer wrote.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadStudy, type LoadedStudy } from '@moepp/reports';
import {
  expertKindsPerLayer, parseCsv, parseJsonFile, parseRunFile, repoRoot, routingFileSchema, runConfigSchema, runEnvironmentSchema,
  runSummarySchema, studyFileSchema, type RunSummary,
} from '@moepp/run-format';
import { loadStudy as loadStudyConfig, planStudy, type PlannedRun } from '../studies/study-config.ts';
import { runStudy } from '../studies/run-study.ts';

const root = repoRoot();
const results = mkdtempSync(join(tmpdir(), 'moepp-reports-load-'));
let plan: PlannedRun[];
let written: Map<string, RunSummary>;
let loaded: LoadedStudy;

const json = (path: string): unknown => JSON.parse(readFileSync(path, 'utf8'));
const runDir = (runId: string) => join(results, 'smoke', runId);

describe('a trained smoke study, loaded by @moepp/reports', () => {
  beforeAll(async () => {
    await tf.setBackend('wasm');
    await tf.ready();
    const study = loadStudyConfig(join(root, 'experiments', 'smoke.yaml'));
    plan = planStudy(study);
    const done = await runStudy({
      study, plan, runs: plan, resultsDir: results, repoRoot: root, backend: { backend: 'wasm', threads: 1, executor: 'host' },
      force: false, command: 'pnpm ablate smoke (reports-load.test.ts)', log: () => {},
    });
    written = new Map(done.map((d) => [d.run.runId, d.summary]));
    loaded = loadStudy(results, 'smoke');
  }, 240_000);

  it('every file the trainer wrote fits its schema in full', () => {
    expect(parseRunFile(studyFileSchema, json(join(results, 'smoke', 'study.json')), 'study.json').runs.map((r) => r.runId)).toEqual(plan.map((r) => r.runId));
    for (const { runId } of plan) {
      const config = parseRunFile(runConfigSchema, json(join(runDir(runId), 'config.json')), 'config.json');
      expect(config.runId).toBe(runId);
      parseJsonFile(runEnvironmentSchema, json(join(runDir(runId), 'environment.json')), 'environment.json');
      parseRunFile(routingFileSchema, json(join(runDir(runId), 'routing.json')), 'routing.json');
      expect(parseRunFile(runSummarySchema, json(join(runDir(runId), 'summary.json')), 'summary.json')).toEqual(written.get(runId));
    }
  });

  it('loads every run, none skipped, in the order of the study', () => {
    expect(loaded.skipped).toEqual([]);
    expect(loaded.notes).toEqual([]);
    expect(loaded.baseline).toBe('moe');
    expect(loaded.runs.map((r) => r.runId)).toEqual(plan.map((r) => r.runId));
    expect(loaded.info?.commands).toEqual(['pnpm ablate smoke (reports-load.test.ts)']);
  });

  it('the loaded summary, model shape, metrics, evaluations and routing are what the trainer wrote', () => {
    for (const run of loaded.runs) {
      const planned = plan.find((p) => p.runId === run.runId)!;
      expect(run.summary).toEqual(written.get(run.runId));

      const moe = planned.config.model.moe!;
      expect(run.shape.dModel).toBe(planned.config.model.dModel);
      expect(run.shape.nLayers).toBe(planned.config.model.nLayers);
      expect(run.shape.moe).toMatchObject({ topK: moe.topK, ffnHidden: moe.ffnHidden, tau: moe.tau, gatingResidual: moe.gatingResidual, gating: moe.gating });
      for (const [kind, n] of Object.entries(moe.experts)) expect(run.shape.moe!.experts[kind]).toBe(n);

      const metrics = parseCsv(readFileSync(join(run.dir, 'metrics.csv'), 'utf8')).rows;
      expect(run.metrics).toHaveLength(planned.config.training.steps);
      expect(run.metrics).toEqual(metrics.map((m) => ({ step: Number(m.step), tokens: Number(m.tokens), loss: Number(m.loss), ce: Number(m.ce), tokensPerS: Number(m.tokens_per_s) })));
      expect(run.metrics.at(-1)!.loss).toBe(run.summary.train.finalLoss);

      const finalVal = run.evals.find((e) => e.split === 'val' && e.step === planned.config.training.steps)!;
      expect({ loss: finalVal.loss, perplexity: finalVal.perplexity, accuracy: finalVal.accuracy }).toEqual(run.summary.val);
      expect(run.evals.filter((e) => e.split === 'test')).toHaveLength(1);

      const routing = parseRunFile(routingFileSchema, json(join(run.dir, 'routing.json')), 'routing.json');
      const kinds = expertKindsPerLayer(routing);
      expect(run.routing.layers).toHaveLength(routing.layers.length);
      run.routing.layers.forEach((l, i) => {
        const w = routing.layers[i];
        expect(l).toMatchObject({ layer: w.layer, block: w.block, tokensPerExpert: w.tokensPerExpert, ffnExpertsPerToken: w.ffnExpertsPerToken, routingScoreVariance: w.routingScoreVariance });
        expect(l.slotShare).toMatchObject(w.slotShare);
        expect(l.expertKinds).toEqual(kinds[i]);
      });
      expect(run.routing.byPos).toEqual(routing.byPos);
      expect(run.routing.byPiece).toEqual(routing.byPiece);
      expect(run.routing.layers.reduce((s, l) => s + l.ffnExpertsPerToken, 0) / run.routing.layers.length).toBeCloseTo(run.summary.params.ffnExpertsPerToken, 12);
    }
  });
});
