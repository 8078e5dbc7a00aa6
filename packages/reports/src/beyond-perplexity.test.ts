import { describe, expect, it } from 'vitest';
import { beyondPerplexityCsv, beyondPerplexityMarkdown, beyondPerplexityRows } from './beyond-perplexity.ts';
import { loadStudy } from './load-runs.ts';
import { FIXTURE_RESULTS, FIXTURE_STUDY } from './testing/fixtures.ts';

describe('beyond perplexity on the fixture study', () => {
  const rows = beyondPerplexityRows(loadStudy(FIXTURE_RESULTS, FIXTURE_STUDY));

  it('means and stds over seeds of the hand-written cloze and per-class accuracies', () => {
    const moe = rows.find((r) => r.config === 'moe')!;
    // Cloze 0.40, 0.42, 0.44 on seeds 1–3 (seed 4's summary is corrupt, so the run is skipped).
    expect(moe.n).toBe(3);
    expect(moe.cloze.mean).toBeCloseTo(0.42, 12);
    expect(moe.cloze.std).toBeCloseTo(0.02, 12);
    expect(moe.clozeChance).toBe(0.25);
    // Verb accuracy 0.10 + 0.01 · (seed − 1).
    expect(moe.accuracyByPos.verb.mean).toBeCloseTo(0.11, 12);
    expect(rows.find((r) => r.config === 'moepp-tau0.25')!.cloze.mean).toBeCloseTo(0.43, 12);
  });

  it('renders every config with chance named, and CSV with full precision', () => {
    const md = beyondPerplexityMarkdown(rows);
    expect(md).toContain('| moe | 3 | 42.0 ± 2.0 |');
    expect(md).toContain('3 distractors (chance 25 %)');
    expect(beyondPerplexityCsv(rows).split('\n')[1]).toMatch(/^moe,3,0.25,0.42,0.02,/);
    expect(beyondPerplexityMarkdown([])).toMatch(/No run has evaluation.json/);
  });
});
