/**
 * `checkpoint` routing end to end on a checkpoint made from an untrained (8+4)E model: the run
 * folder's router is run on validation windows and its top-K choices come back, for the expert
 * set of the benchmark's (8+4)E layer.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { expertKindsFromCounts } from '@moepp/core';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BenchArgumentError, EXPERT_SETS, resolveBenchOptions } from './bench-options.ts';
import { checkpointRouting, loadCheckpoints, writeUntrainedCheckpoint } from './checkpoint-routing.ts';
import { countFfnSlots } from './balanced-routing.ts';

describe('checkpoint routing', () => {
  beforeAll(async () => {
    await tf.setBackend('wasm');
    await tf.ready();
  });

  it("returns the checkpoint's top-K choices on validation windows, pooled over its MoE layers", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'moepp-ckpt-'));
    writeUntrainedCheckpoint(dir, { ffnHidden: 32, tau: 0.5 });
    const r = await checkpointRouting(dir, 300);
    expect(r.kinds).toEqual(expertKindsFromCounts(EXPERT_SETS[8].moepp));
    expect(r).toMatchObject({ topK: 2, tau: 0.5, tokens: 300 });
    expect(r.topKIndex).toHaveLength(600);
    for (let n = 0; n < 300; n++) expect(r.topKIndex[2 * n]).not.toBe(r.topKIndex[2 * n + 1]);
    expect(r.ffnShare).toBeCloseTo(countFfnSlots(r.topKIndex, r.kinds) / 600, 12);
    expect(r.ffnShare).toBeGreaterThan(0);
  });

  it('says what is missing when the folder is not a run folder', async () => {
    await expect(checkpointRouting(mkdtempSync(join(tmpdir(), 'moepp-empty-')), 10)).rejects.toThrow(/no config.json/);
  });

  it('--checkpoint-moe routes the MoE side with a trained vanilla MoE of the same FFN experts, and refuses any other', async () => {
    const moepp = mkdtempSync(join(tmpdir(), 'moepp-ckpt-'));
    const moe = mkdtempSync(join(tmpdir(), 'moepp-ckpt-moe-'));
    writeUntrainedCheckpoint(moepp, { ffnHidden: 32 });
    writeUntrainedCheckpoint(moe, { ffnHidden: 32, vanilla: true });
    const both = await loadCheckpoints(resolveBenchOptions({ checkpoint: moepp, checkpointMoe: moe }), 100);
    expect(both.moe?.kinds).toEqual(expertKindsFromCounts(EXPERT_SETS[8].moe));
    expect(both.moe?.topKIndex).toHaveLength(200);
    expect(both.moe?.ffnShare).toBe(1);
    expect(both.moepp?.kinds).toEqual(expertKindsFromCounts(EXPERT_SETS[8].moepp));
    expect((await loadCheckpoints(resolveBenchOptions({ checkpoint: moepp }), 100)).moe).toBeNull();
    // Swapped: the MoE side would be the MoE++ model.
    const swapped = loadCheckpoints(resolveBenchOptions({ checkpoint: moepp, checkpointMoe: moepp }), 100);
    await expect(swapped).rejects.toThrow(BenchArgumentError);
    await expect(swapped).rejects.toThrow(/--checkpoint-moe: .* must be a vanilla MoE with its 8 FFN experts and top-2/);
    const notARun = loadCheckpoints(resolveBenchOptions({ checkpoint: mkdtempSync(join(tmpdir(), 'moepp-empty-')) }), 10);
    await expect(notARun).rejects.toThrow(/^--checkpoint: .*no config.json/);
  });
});
