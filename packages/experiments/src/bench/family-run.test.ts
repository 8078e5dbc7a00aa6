import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { hashExperts, trainingContext } from '@moepp/core';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FAMILY_CSV_COLUMNS, parseCsv } from '@moepp/run-format';
import { useTestBackend } from '../testing/test-backend.ts';
import { resolveBenchOptions, WIDTHS } from './bench-options.ts';
import type { BenchContext } from './bench-context.ts';
import { FAMILY_DESIGNS, HASH_VOCAB, activeFfnHidden } from './family-designs.ts';
import { buildFamilyCase, familyCall, familyCells, measureFamily } from './family-run.ts';

let backend = '';
beforeAll(async () => {
  backend = (await useTestBackend()).backend;
});

const dir = mkdtempSync(join(tmpdir(), 'moepp-family-bench-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('MoE family benchmark rows', () => {
  it('compares designs at equal active FFN compute: 2I hidden units per token at both widths', () => {
    for (const { dModel, dFfn } of Object.values(WIDTHS)) {
      for (const design of FAMILY_DESIGNS) expect(activeFfnHidden(design.spec(dModel, dFfn)), design.name).toBe(2 * dFfn);
    }
    expect(FAMILY_DESIGNS[0].name).toBe('moe-top2');
    expect(FAMILY_DESIGNS.map((d) => d.name)).toEqual(expect.arrayContaining(['deepseekmoe', 'hash-top2']));
  });

  it('routes each design as planned: uniform top-K through the router, hash by token id; outputs match the layer forward', () => {
    for (const design of FAMILY_DESIGNS) {
      const c = buildFamilyCase(design, 'small', 48, 3);
      const { topK } = c.layer.spec;
      const E = c.layer.kinds.length;
      if (design.routing === 'hash') {
        expect(c.layer.params.router.wR).toBeNull();
        expect(c.tokenIds!.every((id) => id >= 0 && id < HASH_VOCAB)).toBe(true);
        for (let n = 0; n < 48; n++) {
          // The gating mode's default seed; the row's experts as the hash assigns them.
          const expected = hashExperts(c.tokenIds![n], E, topK, c.layer.gatingOptions.seed as number);
          expect(Array.from(c.routing.plan.topKIndex.subarray(n * topK, n * topK + topK))).toEqual(expected);
        }
      } else {
        // Every token has K distinct experts (buildFamilyCase checks they are the drawn ones).
        for (let n = 0; n < 48; n++) expect(new Set(c.routing.plan.topKIndex.subarray(n * topK, n * topK + topK)).size).toBe(topK);
      }
      // The timed expert forward is the layer's combine: its output plus nothing else (router excluded).
      const before = tf.memory().numTensors;
      familyCall('expert_forward', c)();
      familyCall('layer_forward', c)();
      expect(tf.memory().numTensors, `${design.name} leaks`).toBe(before);
      const viaForward = tf.tidy(() => c.layer.forward(c.x, null, trainingContext('bench', 0), c.tokenIds).output.arraySync());
      const viaCombine = tf.tidy(() => c.layer.combine(c.x, c.routing).arraySync());
      expect(viaCombine).toEqual(viaForward);
      c.dispose();
    }
  });

  it('takes its cells from the grid\'s 8-expert groups, and writes one family.csv row per design, measure and cell', () => {
    const cells = familyCells({ options: resolveBenchOptions({}) });
    expect(cells).toEqual([
      { width: 'small', tokens: 512, measures: ['expert_forward', 'layer_forward'] },
      { width: 'small', tokens: 2048, measures: ['expert_forward', 'layer_forward'] },
      { width: 'small', tokens: 8192, measures: ['expert_forward', 'layer_forward'] },
      { width: 'paper', tokens: 2048, measures: ['expert_forward'] },
    ]);
    expect(familyCells({ options: resolveBenchOptions({ experts: '16' }) })).toEqual([]);

    const options = resolveBenchOptions({ quick: true });
    const lines: string[] = [];
    const notes: string[] = [];
    const ctx = { options, backend: { backend, threads: 1, executor: 'host' }, notes, timing: { warmup: 0, reps: 3, minReps: 3, maxSeconds: 60 }, log: (l: string) => lines.push(l) } as unknown as BenchContext;
    const rows = measureFamily(ctx, dir);
    // Forward-only, so on packed weights under `blas`, said once (plain wasm packs by itself, unsaid).
    expect(notes).toEqual(backend === 'blas' ? [expect.stringMatching(/ran on weights packed once/)] : []);
    expect(rows.map((r) => `${r.measure} ${r.design}`)).toEqual(FAMILY_DESIGNS.map((d) => `expert_forward ${d.name}`));
    const { header, rows: csv } = parseCsv(readFileSync(join(dir, 'family.csv'), 'utf8'));
    expect(header).toEqual([...FAMILY_CSV_COLUMNS]);
    expect(csv).toHaveLength(FAMILY_DESIGNS.length);
    expect(Number(csv[0].time_vs_moe_top2)).toBe(1);
    for (const r of csv) {
      expect(Number(r.reps)).toBe(3);
      // The CSV keeps 6 significant digits.
      const near = (a: number, b: number) => expect(Math.abs(a / b - 1)).toBeLessThan(1e-5);
      near(Number(r.tokens_per_s), 512 / (Number(r.median_ms) / 1000));
      near(Number(r.ffn_gflops), (512 * 6 * 256 * 1024) / (Number(r.median_ms) * 1e6));
    }
    expect(csv.find((r) => r.design === 'deepseekmoe')).toMatchObject({ experts: '32', expert_hidden: '128', top_k: '7', shared_hidden: '128', active_ffn_hidden: '1024' });
    expect(lines.some((l) => /hash-top2 [\d.]+ ms/.test(l))).toBe(true);
  });
});
