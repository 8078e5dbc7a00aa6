/**
 * The benchmark's pure parts: the balanced routing sampler and the designed router logits,
 * statistics, interleaving, FLOPs, argument validation, and layer.csv (read back by
 * @moepp/reports). Timings themselves are never asserted.
 */
import { describe, expect, it } from 'vitest';
import { expertKindsFromCounts, topKIndices } from '@moepp/core';
import { loadBenchmarks, paperIncrease } from '@moepp/reports';
import { layerCsv, type LayerCsvRow } from '@moepp/run-format';
import seedrandom from 'seedrandom';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { balancedSamplingWeights, countFfnSlots, designedRouterLogits, sampleBalancedTopK, targetFfnShare } from './balanced-routing.ts';
import { BenchArgumentError, EXPERT_SETS, resolveBenchOptions, TAUS } from './bench-options.ts';
import { layerMeasureFlops, theoreticalIncrease } from './flops.ts';
import { plannedRounds, runInterleaved } from './interleave.ts';
import { deliveredFraction, quantile, summarizeTimes, throughputIncrease } from './statistics.ts';
import { benchTimestamp, layerGroups } from './run-bench.ts';

const kinds16 = expertKindsFromCounts(EXPERT_SETS[16].moepp);

/** Exact FFN share of slots under successive sampling without replacement (K = 2). */
function exactFfnShareTop2(nFfn: number, nZc: number, tau: number): number {
  const wZ = 1 / tau;
  const total = nFfn + nZc * wZ;
  const pFirstFfn = nFfn / total;
  const pSecondFfn = pFirstFfn * ((nFfn - 1) / (total - 1)) + (1 - pFirstFfn) * (nFfn / (total - wZ));
  return (pFirstFfn + pSecondFfn) / 2;
}

describe('balanced(τ) routing', () => {
  it('(16+4)E at τ = 0.75 sends ≈ 75 % of slots to FFN experts, as the balance loss aims for', () => {
    const tokens = 20000;
    const topK = sampleBalancedTopK(kinds16, tokens, 2, 0.75, seedrandom.alea('share'));
    const share = countFfnSlots(topK, kinds16) / (2 * tokens);
    expect(targetFfnShare(kinds16, 0.75)).toBeCloseTo(0.75, 12);
    expect(Math.abs(share - 0.75)).toBeLessThan(0.01);
    expect(Math.abs(share - exactFfnShareTop2(16, 4, 0.75))).toBeLessThan(0.01);
  });

  it('every τ of the paper matches the exact without-replacement expectation; smaller τ, fewer FFN slots', () => {
    const tokens = 10000;
    let previous = 0;
    for (const tau of TAUS) {
      const share = countFfnSlots(sampleBalancedTopK(kinds16, tokens, 2, tau, seedrandom.alea(`t${tau}`)), kinds16) / (2 * tokens);
      expect(Math.abs(share - exactFfnShareTop2(16, 4, tau))).toBeLessThan(0.015);
      expect(share).toBeGreaterThan(previous);
      previous = share;
    }
  });

  it('draws K distinct experts per token; a vanilla MoE gets uniform load', () => {
    const kinds = expertKindsFromCounts(EXPERT_SETS[8].moe);
    const tokens = 16000;
    const topK = sampleBalancedTopK(kinds, tokens, 2, 1, seedrandom.alea('uniform'));
    const load = new Array(8).fill(0);
    for (let n = 0; n < tokens; n++) {
      expect(topK[2 * n]).not.toBe(topK[2 * n + 1]);
      load[topK[2 * n]]++;
      load[topK[2 * n + 1]]++;
    }
    for (const l of load) expect(Math.abs(l / (2 * tokens) - 1 / 8)).toBeLessThan(0.01);
    expect(countFfnSlots(topK, kinds)).toBe(2 * tokens);
  });

  it('weights are 1 per FFN expert and 1/τ per ZC expert; invalid τ is refused', () => {
    expect(Array.from(balancedSamplingWeights(['ffn', 'ffn', 'zero', 'constant'], 0.5))).toEqual([1, 1, 2, 2]);
    expect(() => balancedSamplingWeights(kinds16, 0)).toThrow(/τ must be in \(0, 1\]/);
    expect(() => sampleBalancedTopK(['ffn'], 3, 2, 1, Math.random)).toThrow(/at least 2 experts/);
  });

  it('designed router logits have exactly the sampled top-K, in order', () => {
    const tokens = 500;
    const topK = sampleBalancedTopK(kinds16, tokens, 2, 0.25, seedrandom.alea('design'));
    const logits = designedRouterLogits(topK, tokens, kinds16.length, 2, seedrandom.alea('noise'));
    expect(Array.from(topKIndices(logits, tokens, kinds16.length, 2))).toEqual(Array.from(topK));
  });
});

describe('statistics', () => {
  it('quantiles interpolate linearly between order statistics (NumPy default)', () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantile([10, 0, 5], 0.2)).toBeCloseTo(2, 12); // numpy.quantile([0, 5, 10], 0.2) = 2
    expect(quantile([7], 0.8)).toBe(7);
    expect(() => quantile([], 0.5)).toThrow(/empty/);
    const s = summarizeTimes([3, 1, 2, 10, 4]);
    expect(s).toMatchObject({ medianMs: 3, minMs: 1, reps: 5 });
    expect(s.p20Ms).toBeCloseTo(1.8, 12);
    expect(s.p80Ms).toBeCloseTo(5.2, 12);
  });

  it('increase, theoretical increase and delivered fraction', () => {
    expect(throughputIncrease(150, 100)).toBeCloseTo(0.5, 12);
    expect(theoreticalIncrease(4096, 3072)).toBeCloseTo(1 / 3, 12);
    expect(deliveredFraction(0.3, 1 / 3)).toBeCloseTo(0.9, 12);
    expect(deliveredFraction(0.1, 0)).toBeNaN();
    const w = { tokens: 100, ffnSlots: 150, dModel: 4, dFfn: 8, experts: 6, residual: true };
    expect(layerMeasureFlops('expert_forward', w)).toEqual({ total: 150 * 6 * 32, ffn: 150 * 6 * 32 });
    expect(layerMeasureFlops('layer_forward', w).total).toBe(150 * 6 * 32 + 100 * 2 * 6 * (4 + 6));
    expect(layerMeasureFlops('layer_forward_backward', w).total).toBe(3 * (150 * 6 * 32 + 100 * 2 * 6 * 10));
    expect(paperIncrease(16, 0.75)).toBe(22.1);
    expect(paperIncrease(32, 0.1)).toBe(63.5);
  });
});

describe('interleaved timing', () => {
  it('runs A, B, A, B, … after untimed warm-up rounds, and caps rounds by time but not below minReps', () => {
    const order: string[] = [];
    let clock = 0;
    const calls = [
      { key: 'A', run: () => { order.push('A'); clock += 10; } },
      { key: 'B', run: () => { order.push('B'); clock += 30; } },
    ];
    const times = runInterleaved(calls, { warmup: 1, reps: 50, minReps: 3, maxSeconds: 0.2, now: () => clock });
    // a round takes 40 ms: 200 ms fit 5 rounds
    expect(times.get('A')).toEqual([10, 10, 10, 10, 10]);
    expect(times.get('B')).toEqual([30, 30, 30, 30, 30]);
    expect(order.join('')).toBe('AB'.repeat(6));
    expect(plannedRounds({ reps: 20, minReps: 7, maxSeconds: 1 }, 400)).toBe(7);
    expect(plannedRounds({ reps: 20, minReps: 7, maxSeconds: 100 }, 400)).toBe(20);
  });
});

describe('arguments', () => {
  const error = (raw: Parameters<typeof resolveBenchOptions>[0]) => {
    try {
      resolveBenchOptions(raw);
    } catch (e) {
      expect(e).toBeInstanceOf(BenchArgumentError);
      return (e as Error).message;
    }
    throw new Error('no error');
  };

  it('bad values get an error listing the valid ones', () => {
    expect(error({ tau: '0.3' })).toBe("--tau: '0.3' is not valid; valid values: 0.1, 0.25, 0.5, 0.75, 1");
    expect(error({ widths: 'huge' })).toBe("--widths: 'huge' is not valid; valid values: small, paper");
    expect(error({ experts: '12' })).toBe("--experts: '12' is not valid; valid values: 8, 16, 32");
    expect(error({ tokens: '1000' })).toBe("--tokens: '1000' is not valid; valid values: 512, 2048, 8192");
    expect(error({ measures: 'e' })).toMatch(/^--measures: 'e' is not valid; valid values: expert_forward, layer_forward, layer_forward_backward, train_step, a, b, c, d$/);
    expect(error({ peer: 'jax' })).toBe("--peer: 'jax' is not valid; valid values: torch");
    expect(error({ routing: 'random' })).toBe("--routing: 'random' is not valid; valid values: balanced, checkpoint");
    expect(error({ reps: '0' })).toBe("--reps: '0' is not valid; give an integer ≥ 1");
    expect(error({ quick: true, full: true })).toMatch(/exclude each other/);
    expect(error({ routing: 'checkpoint' })).toMatch(/needs --checkpoint <run-folder>/);
    expect(error({ checkpointMoe: '/x' })).toMatch(/--checkpoint-moe needs --checkpoint <run-folder>/);
    expect(error({ tau: ',' })).toMatch(/empty/);
  });

  it('presets, aliases, and grid flags narrowing every slice', () => {
    const quick = resolveBenchOptions({ quick: true });
    expect(quick.preset).toBe('quick');
    expect(quick.grid.every((s) => s.widths.join() === 'small')).toBe(true);
    expect(quick.reps).toBe(10);
    const full = resolveBenchOptions({ full: true });
    expect(full.grid).toHaveLength(1);
    expect(full.grid[0].experts).toEqual([8, 16, 32]);
    const narrowed = resolveBenchOptions({ widths: 'paper', tau: '0.75,0.1', measures: 'a,c', experts: '16' });
    expect(narrowed.grid.every((s) => s.widths.join() === 'paper' && s.taus.join() === '0.1,0.75' && s.measures.join() === 'expert_forward,layer_forward_backward')).toBe(true);
    expect(resolveBenchOptions({ checkpoint: '/x' }).routings).toEqual(['balanced', 'checkpoint']);
    const groups = layerGroups(resolveBenchOptions({}));
    expect(groups[0]).toMatchObject({ width: 'small', experts: 8, tokens: 512 });
    const paper16 = groups.find((g) => g.width === 'paper' && g.experts === 16)!;
    expect(paper16.measures).toEqual(['expert_forward', 'layer_forward', 'layer_forward_backward']);
    expect(paper16.taus).toEqual([...TAUS]);
    expect(benchTimestamp(new Date(Date.UTC(2026, 0, 2, 3, 4, 5)))).toBe('20260102-030405');
  });
});

describe('layer.csv', () => {
  const row = (impl: string, tau: number | null, medianMs: number): LayerCsvRow => ({
    measure: 'expert_forward', routing: 'balanced', width: 'small', d_model: 256, d_ffn: 512, experts: impl === 'moe' ? 16 : 20,
    ffn_experts: 16, zc_experts: impl === 'moe' ? 0 : 4, tau, tokens: 2048, impl, median_ms: medianMs, p20_ms: medianMs - 1,
    p80_ms: medianMs + 1, reps: 20, tokens_per_s: 2048 / (medianMs / 1000), ffn_slots: impl === 'moe' ? 4096 : 3072,
    increase: impl === 'moe' ? null : 0.3, theoretical_increase: impl === 'moe' ? null : 1 / 3, delivered: impl === 'moe' ? null : 0.9,
    ffn_gflops: 21.5, matmul_gflops: 28, peak_bytes: 123456,
  });

  it('is read by @moepp/reports (loadBenchmarks) from results/bench/<timestamp>/', () => {
    const results = mkdtempSync(join(tmpdir(), 'moepp-bench-csv-'));
    const dir = join(results, 'bench', '20260102-030405');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'layer.csv'), layerCsv([row('moe', null, 130), row('moepp', 0.75, 100)]));
    const loaded = loadBenchmarks(results);
    expect(loaded.skipped).toEqual([]);
    const [moe, moepp] = loaded.folders[0].rows;
    expect(moe).toMatchObject({ impl: 'moe', ffnExperts: 16, zcExperts: 0, tokens: 2048, medianMs: 130 });
    expect(moe.tau).toBeNaN();
    expect(moepp).toMatchObject({ impl: 'moepp', tau: 0.75, increase: 0.3, delivered: 0.9 });
  });
});
