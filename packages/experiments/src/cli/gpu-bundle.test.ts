/**
 * `pnpm gpu:bundle` as the GPU machine uses it: built into a folder outside the repository (so
 * nothing resolves from the repo's node_modules), then run from there with plain `node` — the
 * backend check, a webgpu request without a GPU, the blas fallback, the cuda route on the
 * stand-in CUDA libraries (its check, its GEMM bench and the bundled core suite), and the smoke
 * study.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '@moepp/run-format';
import { loadBlasAddon } from '@moepp/backends';
import { buildFakeCuda } from '@moepp/backends/testing/fake-cuda';

const root = repoRoot();
const dist = join(mkdtempSync(join(tmpdir(), 'moepp-bundle-')), 'dist');
const built = spawnSync(process.execPath, [join(root, 'bench/gpu/build-bundle.mjs'), '--out', dist], { cwd: root, encoding: 'utf8', timeout: 120_000 });

function bytesUnder(path: string): number {
  const st = statSync(path);
  return st.isDirectory() ? readdirSync(path).reduce((sum, entry) => sum + bytesUnder(join(path, entry)), 0) : st.size;
}

/** Runs a bundled CLI from the bundle's folder, with no install and none of the test's MOEPP_ settings. */
function run(cli: string, args: string[], env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('MOEPP_') && k !== 'NODE_PATH' && k !== 'NODE_OPTIONS'));
  const r = spawnSync(process.execPath, [join(dist, cli), ...args], { cwd: dist, encoding: 'utf8', env: { ...clean, ...env }, timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('pnpm gpu:bundle', () => {
  it('builds the CLIs and the core tests with their wasm, native and data files, under the 64 MiB a GPU run carries', () => {
    expect(built.stderr).toBe('');
    expect(built.status).toBe(0);
    for (const file of ['ablate.mjs', 'bench.mjs', 'backend-check.mjs', 'cuda-gemm.mjs', 'tfjs-backend-wasm-simd.wasm', 'experiments/default.yaml', 'experiments/presets/smoke.yaml', 'core-tests/moe-layer.test.mjs']) {
      expect(existsSync(join(dist, file)), file).toBe(true);
    }
    const manifest = JSON.parse(readFileSync(join(dist, 'moepp-bundle.json'), 'utf8'));
    expect(manifest.format).toBe('moepp-bundle');
    expect(manifest.commit).toMatch(/^[0-9a-f]{40}(\+dirty)?$/);
    expect(existsSync(join(dist, 'node_modules/webgpu/dist/linux-x64/dawn.node'))).toBe(true);
    expect(bytesUnder(dist)).toBeLessThan(64 * 2 ** 20);
  });

  it('checks wasm against cpu from the bundle alone', () => {
    const r = run('backend-check.mjs', ['--backend', 'wasm']);
    expect(r.stderr).not.toMatch(/Cannot find|ERR_MODULE_NOT_FOUND/);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^backend: wasm \(SIMD, 1 thread, \d+ kernel patches\) — requested by --backend$/m);
    expect(r.stdout).toMatch(/ok {3}MoE\+\+ layer forward .*: max relative error \d\.\d\de-\d+/);
    expect(r.stdout).toContain('self-check against cpu: passed (tolerance 0.0001)');
  });

  it('without a GPU: webgpu asked for is one error line; auto without the OpenBLAS addon says so and runs wasm', () => {
    const gpu = run('backend-check.mjs', ['--backend', 'webgpu']);
    if (gpu.status === 0) return; // this machine has a GPU after all
    expect(gpu.status).toBe(1);
    const errors = gpu.stderr.split('\n').filter((l) => l.startsWith('error: '));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^error: backend "webgpu" cannot be used: .+; or use another backend: --backend wasm \(or MOEPP_BACKEND=wasm\)\.$/);

    const auto = run('backend-check.mjs', [], { MOEPP_BLAS_ADDON: join(dist, 'no-such-addon.node') });
    expect(auto.status).toBe(0);
    expect(auto.stderr).toMatch(/^notice: webgpu \(GPU\) unavailable: .+; using wasm\.$/m);
    expect(auto.stderr).toMatch(/^notice: blas \(OpenBLAS GEMM\) unavailable: the OpenBLAS addon is not built \(.*no-such-addon\.node does not exist\); using wasm\. To enable it: .+$/m);
    expect(auto.stdout).toMatch(/^backend: wasm /m);
  });

  it.runIf(loadBlasAddon().ok)('cuda from the bundle: one error line without the CUDA libraries; on the stand-in ones the check passes and the GEMM bench runs', () => {
    const missing = run('backend-check.mjs', ['--backend', 'cuda'], { MOEPP_CUDA_LIBS: join(dist, 'no-cuda-here') });
    expect(missing.status).toBe(1);
    const errors = missing.stderr.split('\n').filter((l) => l.startsWith('error: '));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^error: backend "cuda" cannot be used: .+; or use another backend: --backend blas or --backend wasm/);

    const fake = buildFakeCuda();
    if (!fake.ok) throw new Error(fake.reason);
    const check = run('backend-check.mjs', ['--backend', 'cuda'], { MOEPP_CUDA_LIBS: fake.dir });
    expect(check.status, check.stderr).toBe(0);
    expect(check.stdout).toMatch(/^backend: cuda \(cuBLAS on CUDA device 0 \(compute 9\.0\) .+\) — requested by --backend$/m);
    expect(check.stdout).toContain('self-check against cpu: passed (tolerance 0.0001)');

    const sweep = run('cuda-gemm.mjs', ['--threads', '1', '--reps', '1', '--max-mflop', '5'], { MOEPP_CUDA_LIBS: fake.dir });
    expect(sweep.status, sweep.stderr).toBe(0);
    expect(sweep.stdout).toMatch(/^\| square 64 \| \(64, 64, 64\) \| 0\.5 \|.+\| (GPU|CPU)( \(wrong\))? \| \d\.\de-\d+ \|$/m);
    expect(sweep.stdout).toMatch(/^cost model \(predicted → measured here\): copies 12 → .+ GB\/s; .+ products sent to the slower side$/m);
  });

  it.runIf(loadBlasAddon().ok)('runs the core suite from the bundle with node --test on the stand-in CUDA libraries, and fails where their products are off', () => {
    const sources = readdirSync(join(root, 'packages/core/src'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.test.ts'));
    const bundled = readdirSync(join(dist, 'core-tests'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.test.mjs'));
    expect(bundled.sort()).toEqual(sources.map((f) => f.replace(/\.ts$/, '.mjs')).sort());

    const fake = buildFakeCuda();
    if (!fake.ok) throw new Error(fake.reason);
    /** `node --test` over bundled core tests on cuda: its closing counts. */
    const nodeTest = (files: string[], env: Record<string, string> = {}) => {
      const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('MOEPP_') && k !== 'NODE_PATH' && k !== 'NODE_OPTIONS'));
      const r = spawnSync(process.execPath, ['--test', ...files.map((f) => join('core-tests', f))], {
        cwd: dist,
        encoding: 'utf8',
        env: { ...clean, MOEPP_BACKEND: 'cuda', MOEPP_TEST_BACKENDS: 'cuda', MOEPP_CUDA_LIBS: fake.dir, ...env },
        timeout: 120_000,
      });
      const count = (name: string) => Number(r.stdout.match(new RegExp(`^# ${name} (\\d+)$`, 'm'))?.[1] ?? Number.NaN);
      return { status: r.status, stderr: r.stderr, tests: count('tests'), pass: count('pass'), fail: count('fail') };
    };
    const all = nodeTest(bundled);
    expect(all.stderr).not.toMatch(/Cannot find|ERR_MODULE_NOT_FOUND/);
    expect(all).toMatchObject({ status: 0, fail: 0 });
    expect(all.pass).toBeGreaterThan(100);

    // cuBLAS off by one part in a thousand: the reference tests catch it through the bundle too.
    const skewed = nodeTest(['backends.test.mjs', 'experts/swiglu.test.mjs'], { FAKE_CUBLAS_SKEW: '0.001' });
    expect(skewed.status).toBe(1);
    expect(skewed.fail).toBeGreaterThan(0);
  });

  it('trains the smoke study from the bundle, recording the commit it was built from', () => {
    const results = join(dist, '..', 'results');
    const r = run('ablate.mjs', ['smoke', '--base', 'smoke', '--backend', 'wasm', '--no-report', '--results', results]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/\| moepp +\| 1 +\|/);
    const summary = JSON.parse(readFileSync(join(results, 'smoke', 'moepp--seed1', 'summary.json'), 'utf8'));
    expect(summary).toMatchObject({ status: 'complete', steps: 6, backend: 'wasm' });
    const environment = JSON.parse(readFileSync(join(results, 'smoke', 'moepp--seed1', 'environment.json'), 'utf8'));
    const manifest = JSON.parse(readFileSync(join(dist, 'moepp-bundle.json'), 'utf8'));
    expect(environment).toMatchObject({ backend: 'wasm', gitCommit: manifest.commit });
    expect(environment.packages['@tensorflow/tfjs-core']).toBe('4.22.0');
  });
});
