import { describe, expect, it } from 'vitest';
import { findExpertForward, loadBenchmarks, tauCurve } from './load-bench.ts';
import { loadStudy } from './load-runs.ts';
import { FIXTURE_RESULTS, FIXTURE_STUDY } from './testing/fixtures.ts';

describe('benchmarks', () => {
  const bench = loadBenchmarks(FIXTURE_RESULTS);
  const study = loadStudy(FIXTURE_RESULTS, FIXTURE_STUDY);
  const shapeOf = (config: string) => study.runs.find((r) => r.configName === config)!.shape;

  it('reads folders newest first and skips an unfinished one', () => {
    expect(bench.folders.map((f) => f.timestamp)).toEqual(['20250102-090000', '20250101-120000']);
    expect(bench.skipped).toEqual([{ runId: 'bench/20250103-000000', reason: 'unfinished: no layer.csv' }]);
  });

  it('matches the expert-forward row of the newest benchmark: same shape and τ, most tokens, own impl', () => {
    const moe = findExpertForward(bench, shapeOf('moe'))!;
    expect(moe.timestamp).toBe('20250102-090000');
    expect(moe.row).toMatchObject({ measure: 'expert_forward', impl: 'moe', tokens: 4096, medianMs: 9.6 });
    expect(moe.row.increase).toBeNaN();
    const pp = findExpertForward(bench, shapeOf('moepp-tau0.25'))!;
    expect(pp.row).toMatchObject({ impl: 'moepp', tau: 0.25, tokens: 4096 });
    // increase = theoretical (τN_ffn + N_zc) / (τN_ffn) − 1 = 2 at τ = 0.25, delivered 80 %.
    expect(pp.row.increase).toBeCloseTo(1.6, 6);
  });

  it('the τ curve holds every measured τ at one token count, in order', () => {
    const curve = tauCurve(bench, shapeOf('moepp-tau0.75'))!;
    expect(curve.rows.map((r) => r.tau)).toEqual([0.1, 0.25, 0.5, 0.75, 1]);
    expect(new Set(curve.rows.map((r) => r.tokens))).toEqual(new Set([4096]));
    expect(tauCurve(bench, shapeOf('moe'))).toBeNull();
  });

  it('no bench folder is an empty result', () => {
    expect(loadBenchmarks('/nonexistent')).toEqual({ folders: [], skipped: [] });
  });
});
