import { describe, expect, it } from 'vitest';
import { loadBenchmarks } from './load-bench.ts';
import { loadStudy } from './load-runs.ts';
import { buildConfigRows, buildDeltaRows, deltasCsv, deltasMarkdown, skippedCsv, skippedMarkdown, summaryCsv, summaryMarkdown } from './tables.ts';
import { FIXTURE_RESULTS, FIXTURE_STUDY } from './testing/fixtures.ts';

const GOLDEN = '../test-fixtures/golden/tiny-ablation';

describe('tables of the fixture study', () => {
  const study = loadStudy(FIXTURE_RESULTS, FIXTURE_STUDY);
  const rows = buildConfigRows(study, loadBenchmarks(FIXTURE_RESULTS));
  const deltas = buildDeltaRows(study);

  it('golden Markdown and CSV (update deliberately with `vitest -u`, then review the diff)', async () => {
    await expect(summaryMarkdown(rows)).toMatchFileSnapshot(`${GOLDEN}/summary.md`);
    await expect(summaryCsv(rows)).toMatchFileSnapshot(`${GOLDEN}/summary.csv`);
    await expect(deltasMarkdown(deltas, study.baseline)).toMatchFileSnapshot(`${GOLDEN}/deltas.md`);
    await expect(deltasCsv(deltas)).toMatchFileSnapshot(`${GOLDEN}/deltas.csv`);
    await expect(skippedMarkdown(study.skipped)).toMatchFileSnapshot(`${GOLDEN}/skipped.md`);
    await expect(skippedCsv(study.skipped)).toMatchFileSnapshot(`${GOLDEN}/skipped.csv`);
  });

  // The cells below are computed on paper from the hand-written fixture values
  // (test-fixtures/generate-fixtures.ts), independently of the goldens.
  it('summary cells: mean ± sample std over the complete seeds, n per row', () => {
    const md = summaryMarkdown(rows);
    const line = (c: string) => md.split('\n').find((l) => l.startsWith(`| ${c} `))!.split(' | ');
    // moe val loss 4.10, 4.12, 4.08: mean 4.10, std √((0 + 0.0004 + 0.0004) / 2) = 0.02.
    expect(line('moe (baseline)')[10]).toBe('4.100 ± 0.020');
    // val accuracy 22.1, 21.9, 22.3 %: std 0.2.
    expect(line('moe (baseline)')[12]).toBe('22.10 ± 0.20');
    // moepp-tau0.25 has seeds 1 and 2 only (3 never started, 4 unfinished): 4.16, 4.15.
    expect(line('moepp-tau0.25')[1]).toBe('2');
    expect(line('moepp-tau0.25')[10]).toBe('4.1550 ± 0.0071');
    // train tokens/s 5600, 5580, 5650: mean 5610, std √((100 + 900 + 1600) / 2) = 36.06.
    expect(line('moepp-tau0.75')[16]).toBe('5610 ± 36');
    // Expert forward from bench 20250102-090000 at 4096 tokens: MoE 9.6 ms; τ = 0.75: increase
    // 0.8 × (1 / (6 / 10) − 1) = 53.3 %.
    expect(line('moe (baseline)')[17]).toBe('9.600');
    expect(line('moepp-tau0.75')[18]).toBe('+53.3 % |');
  });

  it('paired deltas: per-seed differences and their bootstrap interval', () => {
    const d = (c: string, m: string) => deltas.find((x) => x.config === c && x.metric.key === m)!;
    // tau0.75 − moe per seed: 4.07 − 4.10, 4.10 − 4.12, 4.04 − 4.08 = −0.03, −0.02, −0.04.
    const vl = d('moepp-tau0.75', 'val.loss');
    expect(vl.seeds).toEqual([1, 2, 3]);
    vl.deltas.forEach((x, i) => expect(x).toBeCloseTo([-0.03, -0.02, -0.04][i], 12));
    expect(vl.ci.mean).toBeCloseTo(-0.03, 12);
    // With 3 values, each extreme has resampling probability 1/27 > 2.5 %: the CI is [min, max].
    expect(vl.ci.low).toBeCloseTo(-0.04, 12);
    expect(vl.ci.high).toBeCloseTo(-0.02, 12);
    // tau0.25 pairs on seeds 1, 2 only: 0.06, 0.03; accuracy in percentage points −0.4, −0.1.
    const v25 = d('moepp-tau0.25', 'val.loss');
    expect(v25.seeds).toEqual([1, 2]);
    expect(v25.ci.mean).toBeCloseTo(0.045, 12);
    expect([v25.ci.low, v25.ci.high].map((x) => Number(x.toFixed(12)))).toEqual([0.03, 0.06]);
    const a25 = d('moepp-tau0.25', 'val.accuracy');
    expect(a25.ci.mean).toBeCloseTo(-0.25, 10);
    // Throughput is relative: 5600 / 5200 − 1 = 7.69 %.
    expect(d('moepp-tau0.75', 'train.tokens_per_s').deltas[0]).toBeCloseTo(7.6923, 4);
  });

  it('re-building gives byte-identical tables (seeded bootstrap)', () => {
    const again = buildDeltaRows(loadStudy(FIXTURE_RESULTS, FIXTURE_STUDY));
    expect(deltasCsv(again)).toBe(deltasCsv(deltas));
  });
});
