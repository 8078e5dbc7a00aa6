import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { FIXTURE_RESULTS } from '../testing/fixtures.ts';
import { main } from './report.ts';

const tmp = mkdtempSync(join(tmpdir(), 'moepp-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

function capture() {
  const out: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...a) => void out.push(a.join(' ')));
  vi.spyOn(console, 'error').mockImplementation((...a) => void out.push(a.join(' ')));
  vi.spyOn(console, 'warn').mockImplementation((...a) => void out.push(a.join(' ')));
  return out;
}

describe('pnpm report CLI', () => {
  it('reports a study into results/<study>/report, listing skipped runs', async () => {
    const results = join(tmp, 'results');
    cpSync(FIXTURE_RESULTS, results, { recursive: true });
    const out = capture();
    expect(await main(['tiny-ablation', '--results', results, '--no-png'])).toBe(0);
    expect(existsSync(join(results, 'tiny-ablation', 'report', 'report.md'))).toBe(true);
    const text = out.join('\n');
    expect(text).toContain('tiny-ablation: 8 complete run(s) — moe (n=3), moepp-tau0.75 (n=3), moepp-tau0.25 (n=2)');
    expect(text).toContain('skipped moepp-tau0.75--seed4: older format: summary.json has formatVersion 0 (this report reads 1)');
    // Without a study it reports every study; the report folder written above is not a run.
    const out2 = capture();
    expect(await main(['--results', results, '--no-png'])).toBe(0);
    expect(out2.join('\n')).toContain('0 file(s) written');
    expect(out2.join('\n')).not.toContain('skipped report');
  });

  it('an unknown study is a clear message and exit code 2', async () => {
    const out = capture();
    expect(await main(['nope', '--results', FIXTURE_RESULTS])).toBe(2);
    expect(out.join('\n')).toContain(`No study 'nope' in ${FIXTURE_RESULTS}. Studies there: tiny-ablation.`);
  });

  it('no studies at all, bad flags and --help', async () => {
    const out = capture();
    expect(await main(['--results', join(tmp, 'none')])).toBe(1);
    expect(out.join('\n')).toMatch(/No studies in .*none\. Run `pnpm ablate <study>` first/);
    expect(await main(['--bogus'])).toBe(2);
    expect(await main(['a', 'b'])).toBe(2);
    expect(await main(['x', '--bootstrap', '-3'])).toBe(2);
    expect(await main(['--help'])).toBe(0);
    expect(out.join('\n')).toContain('Usage: pnpm report [study] [options]');
  });
});
