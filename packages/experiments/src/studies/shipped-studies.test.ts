/**
 * Every configuration of every shipped study trains end to end on the smoke preset (two steps,
 * one seed): a study whose grid builds an invalid or untrainable model fails here, not hours into
 * a sweep.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import '@tensorflow/tfjs-backend-wasm';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadStudy, planStudy } from './study-config.ts';
import { prepareRunData } from '../runs/prepare-run-data.ts';
import { fingerprintRun } from '../runs/run-fingerprint.ts';
import { RunFolder } from '../runs/run-folder.ts';
import { trainRun } from '../training/trainer.ts';
import { useTestBackend } from '../testing/test-backend.ts';
import { repoRoot } from '@moepp/run-format';

const root = repoRoot();
const studies = readdirSync(join(root, 'experiments')).filter((f) => f.endsWith('.yaml'));

let backend: Awaited<ReturnType<typeof useTestBackend>> = { backend: 'wasm', threads: 1, executor: 'host' };

describe('shipped studies on the smoke preset', () => {
  beforeAll(async () => {
    backend = await useTestBackend();
  });

  it.each(studies)('%s: every configuration trains', async (file) => {
    const study = loadStudy(join(root, 'experiments', file));
    study.base = 'smoke';
    const plan = planStudy(study, ['training.steps=2', 'training.evalEvery=1', 'training.finalEvalWindows=2', 'training.checkpointEvery=2']);
    const firstSeed = plan.filter((r) => r.seed === study.seeds[0]);
    expect(firstSeed.length).toBeGreaterThan(0);
    const dir = mkdtempSync(join(tmpdir(), `moepp-${study.name}-`));
    for (const run of firstSeed) {
      const data = await prepareRunData(run.config.data, root);
      const summary = await trainRun({ folder: new RunFolder(join(dir, run.runId)), config: run.config, fingerprint: fingerprintRun(run.config, root), data, backend });
      expect(Number.isFinite(summary.val.loss), run.runId).toBe(true);
    }
  }, 120_000);
});
