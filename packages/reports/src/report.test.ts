import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UnknownStudyError } from './load-runs.ts';
import { writeStudyReport } from './report.ts';
import { FIXTURE_RESULTS, FIXTURE_STUDY } from './testing/fixtures.ts';

const tmp = mkdtempSync(join(tmpdir(), 'moepp-report-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('writeStudyReport on the fixture study', () => {
  const out = join(tmp, 'report');
  let first: Awaited<ReturnType<typeof writeStudyReport>>;
  beforeAll(async () => {
    first = await writeStudyReport({ resultsDir: FIXTURE_RESULTS, study: FIXTURE_STUDY, outDir: out, reportCommand: 'pnpm report tiny-ablation' });
  });

  it('writes tables, figures (SVG, PNG, spec) and report.md', () => {
    const figures = ['loss-curves', 'tau-tradeoff', 'expert-load', 'ffn-experts-by-pos', 'routing-variance', 'zc-share'];
    for (const f of figures) for (const ext of ['svg', 'png', 'vl.json']) expect(existsSync(join(out, 'figures', `${f}.${ext}`)), `${f}.${ext}`).toBe(true);
    for (const t of ['summary', 'deltas', 'skipped']) for (const ext of ['md', 'csv']) expect(existsSync(join(out, 'tables', `${t}.${ext}`))).toBe(true);
    // Specs are self-contained Vega-Lite (data inline) so they can be restyled elsewhere.
    const spec = JSON.parse(readFileSync(join(out, 'figures', 'expert-load.vl.json'), 'utf8'));
    expect(spec.$schema).toMatch(/vega-lite\/v6/);
    expect(spec.data.values.length).toBeGreaterThan(0);
  });

  it('report.md embeds every table and figure with a sentence, the commands, and the skipped runs', () => {
    const md = readFileSync(join(out, 'report.md'), 'utf8');
    for (const f of first.figures) {
      expect(md).toContain(`![${f.title}](figures/${f.name}.svg)`);
      expect(md).toContain(f.caption);
      expect(md).toContain(`[Vega-Lite spec](figures/${f.name}.vl.json)`);
    }
    expect(md).toContain('| moe (baseline) | 3 |');
    expect(md).toContain('| moepp-tau0.75 | val loss | 3 (1, 2, 3) | -0.030 nats | [-0.040, -0.020] | yes |');
    expect(md).toContain('```sh\npnpm ablate tiny-ablation --seeds 1,2,3,4\n');
    expect(md).toContain('This report: `pnpm report tiny-ablation`');
    expect(md).toContain('| moepp-tau0.25--seed4 | unfinished: no summary.json |');
    expect(md).toContain('mean ± sample standard deviation (n − 1 denominator) over seeds');
    expect(md).toContain('bench/20250103-000000 skipped: unfinished: no layer.csv.');
  });

  it('re-running is idempotent: identical bytes, nothing rewritten', async () => {
    const before = readFileSync(join(out, 'report.md'));
    const mtime = statSync(join(out, 'figures', 'loss-curves.png')).mtimeMs;
    const again = await writeStudyReport({ resultsDir: FIXTURE_RESULTS, study: FIXTURE_STUDY, outDir: out, reportCommand: 'pnpm report tiny-ablation' });
    expect(again.write.written).toEqual([]);
    expect(again.write.unchanged.length).toBe(first.write.written.length);
    expect(readFileSync(join(out, 'report.md')).equals(before)).toBe(true);
    expect(statSync(join(out, 'figures', 'loss-curves.png')).mtimeMs).toBe(mtime);
  });

  it('removes stale files of its own earlier runs, never files it did not write', async () => {
    const stale = join(out, 'figures', 'old-figure.svg');
    writeFileSync(stale, '<svg/>');
    const manifest = JSON.parse(readFileSync(join(out, 'report-manifest.json'), 'utf8'));
    manifest.files.push('figures/old-figure.svg');
    writeFileSync(join(out, 'report-manifest.json'), JSON.stringify(manifest));
    const mine = join(out, 'notes-by-a-person.md');
    writeFileSync(mine, 'keep me');
    const r = await writeStudyReport({ resultsDir: FIXTURE_RESULTS, study: FIXTURE_STUDY, outDir: out });
    expect(r.write.removed).toEqual(['figures/old-figure.svg']);
    expect(existsSync(stale)).toBe(false);
    expect(readFileSync(mine, 'utf8')).toBe('keep me');
  });
});

describe('writeStudyReport edge cases', () => {
  it('an empty study gets a report that says so, without crashing', async () => {
    const results = join(tmp, 'results-empty');
    mkdirSync(join(results, 'empty'), { recursive: true });
    writeFileSync(join(results, 'empty', 'study.json'), JSON.stringify({ formatVersion: 1, study: 'empty', baseline: 'moe', commands: ['pnpm ablate empty'], runs: [{ runId: 'moe--seed1', config: 'moe', seed: 1, index: 0 }] }));
    const r = await writeStudyReport({ resultsDir: results, study: 'empty', png: false });
    expect(r.outDir).toBe(join(results, 'empty', 'report'));
    const md = readFileSync(join(r.outDir, 'report.md'), 'utf8');
    expect(md).toContain('Runs: 0 complete of 1 found or listed');
    expect(md).toContain('No configuration has a complete run.');
    expect(md).toContain('| moe--seed1 | not started: listed in study.json, no folder |');
    expect(r.figures).toEqual([]);
  });

  it('an unknown study throws UnknownStudyError naming the known ones', async () => {
    await expect(writeStudyReport({ resultsDir: FIXTURE_RESULTS, study: 'missing' })).rejects.toThrow(UnknownStudyError);
  });
});
