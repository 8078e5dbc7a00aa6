/**
 * Runs notebooks/run-notebooks.sh (type-check + headless execution of every notebook on the
 * fixture results), so the notebooks cannot rot. Needs Jupyter's nbconvert, which comes from
 * Debian packages, not npm: without it the test is skipped with the line that installs it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FIXTURE_RESULTS, FIXTURE_STUDY, PACKAGE_DIR } from './testing/fixtures.ts';

const ROOT = join(PACKAGE_DIR, '..', '..');
const APT = 'apt-get install -y --no-install-recommends jupyter-nbconvert python3-jupyter-client';
const hasJupyter = spawnSync('sh', ['-c', 'command -v jupyter-nbconvert'], { encoding: 'utf8' }).status === 0;
if (!hasJupyter) console.warn(`notebooks: skipped, jupyter-nbconvert is not installed (Debian: ${APT})`);

const out = mkdtempSync(join(tmpdir(), 'moepp-notebooks-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe.skipIf(!hasJupyter)('notebooks (headless, Deno kernel, fixture results)', () => {
  it('every notebook type-checks and runs without a failing cell', () => {
    // Notebook 2 needs a trained checkpoint: train the smoke study (seconds) into a scratch folder.
    const trained = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'packages/experiments/src/cli/ablate.ts'), 'smoke', '--results', out, '--no-report', '--index', '1'], {
      cwd: ROOT, encoding: 'utf8', env: { ...process.env, MOEPP_BACKEND: 'wasm' }, timeout: 240_000,
    });
    expect(trained.status, `${trained.stdout}\n${trained.stderr}`).toBe(0);
    const r = spawnSync('bash', [join(ROOT, 'notebooks', 'run-notebooks.sh')], {
      encoding: 'utf8',
      env: { ...process.env, MOEPP_RESULTS: FIXTURE_RESULTS, MOEPP_STUDY: FIXTURE_STUDY, MOEPP_NOTEBOOK_OUT: out, MOEPP_RUN: join(out, 'smoke', 'moepp--seed1') },
      timeout: 300_000,
    });
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    const notebooks = readdirSync(join(ROOT, 'notebooks')).filter((f) => f.endsWith('.ipynb'));
    expect(notebooks).toContain('01-results-explorer.ipynb');
    for (const nb of notebooks) expect(r.stdout, nb).toMatch(new RegExp(`(OK|SKIP) +${nb.replace('.ipynb', '')}`));
  }, 300_000);

  it('the results explorer shows the table, a figure and the per-POS breakdown', () => {
    const nb = JSON.parse(readFileSync(join(out, '01-results-explorer.ipynb'), 'utf8'));
    const outputs = nb.cells.flatMap((c: { outputs?: unknown[] }) => c.outputs ?? []) as { data?: Record<string, string | string[]>; text?: string | string[] }[];
    const all = (mime: string) => outputs.map((o) => o.data?.[mime]).filter(Boolean).map((v) => (Array.isArray(v) ? v.join('') : v!));
    expect(all('text/markdown').some((m) => m.includes('| moe (baseline) | 3 |'))).toBe(true);
    expect(all('image/svg+xml').length).toBeGreaterThanOrEqual(3);
    expect(all('text/markdown').some((m) => m.startsWith('| class |') && m.includes('| verb |'))).toBe(true);
    const text = outputs.map((o) => (Array.isArray(o.text) ? o.text.join('') : o.text ?? '')).join('');
    expect(text).toContain('verbs > nouns > fragments, as in the paper');
  });

  it('the checkpoint notebook shows the experts of every token of every sentence', () => {
    const nb = JSON.parse(readFileSync(join(out, '02-checkpoint-routing.ipynb'), 'utf8'));
    const markdown = nb.cells.flatMap((c: { outputs?: { data?: Record<string, string | string[]> }[] }) => c.outputs ?? [])
      .map((o: { data?: Record<string, string | string[]> }) => o.data?.['text/markdown']).filter(Boolean)
      .map((v: string | string[]) => (Array.isArray(v) ? v.join('') : v));
    // One table per sentence (the notebook shows them as one Markdown value).
    const tables = markdown.join('\n\n').split('| piece | layer 0 | layer 1 | FFN experts |').slice(1);
    expect(tables).toHaveLength(3);
    expect(tables[0]).toMatch(/\| "The" \| \d:(ffn|zero|copy|constant) \d:(ffn|zero|copy|constant) \|/);
    for (const sentence of ['The jury said', 'She quickly signed', 'Prices rose 3.5 percent']) expect(markdown.join('\n')).toContain(`**${sentence}`);
    expect(markdown.some((m: string) => m.startsWith('FFN experts per token, mean over pieces and layers'))).toBe(true);
  });
});
