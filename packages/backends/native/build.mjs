// Install script of @moepp/backends: builds the OpenBLAS GEMM addon (moepp_blas.node) with
// node-gyp against the local Node headers. The addon is optional: whatever goes wrong, this says
// so in one line (what to install) and exits 0, so `pnpm install` never fails because of it, and
// the reason is kept in build/failure.txt for the run-time fallback notice to repeat.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { arch } from 'node:process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const buildDir = join(here, 'build');
// The same words as BLAS_INSTALL_HINT in src/blas/addon.ts (what the run-time notice says).
const INSTALL_HINT = 'apt-get install libopenblas-dev libopenblas-pthread-dev build-essential, then pnpm build:native';

/** Debian's multiarch triplet for this machine (where the OpenBLAS variants live). */
function triplet() {
  const r = spawnSync('gcc', ['-print-multiarch'], { encoding: 'utf8' });
  const t = r.status === 0 ? r.stdout.trim() : '';
  return t || { x64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu', ppc64: 'powerpc64le-linux-gnu', s390x: 's390x-linux-gnu' }[arch] || `${arch}-linux-gnu`;
}

/** Header and library directories of OpenBLAS's pthread variant, or null when it is not installed. */
function findOpenBlas() {
  if (process.env.MOEPP_OPENBLAS_INCLUDE && process.env.MOEPP_OPENBLAS_LIBDIR) {
    return { include: process.env.MOEPP_OPENBLAS_INCLUDE, libdir: process.env.MOEPP_OPENBLAS_LIBDIR };
  }
  const t = triplet();
  const include = `/usr/include/${t}/openblas-pthread`;
  const libdir = `/usr/lib/${t}/openblas-pthread`;
  return existsSync(join(include, 'cblas.h')) && existsSync(join(libdir, 'libopenblas.so')) ? { include, libdir } : null;
}

/** Where Node's headers are: `nodedir` from .npmrc (pnpm passes it on), else this Node's own prefix. */
function nodeDir() {
  const configured = process.env.npm_config_nodedir;
  if (configured) return configured;
  const prefix = dirname(dirname(process.execPath));
  return existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? prefix : null;
}

function fail(reason, log) {
  // No stale addon from an earlier build may outlive a failed one: the fallback must match this line.
  rmSync(buildDir, { recursive: true, force: true });
  mkdirSync(buildDir, { recursive: true });
  writeFileSync(join(buildDir, 'failure.txt'), `${reason}\n`);
  if (log) writeFileSync(join(buildDir, 'build.log'), log);
  console.log(`@moepp/backends: OpenBLAS GEMM addon not built (${reason}); runs use wasm instead of blas. To enable it: ${INSTALL_HINT}.`);
  process.exit(0);
}

const blas = findOpenBlas();
if (!blas) fail('OpenBLAS pthread headers/library not found');
const nodedir = nodeDir();
if (!nodedir) fail('Node headers not found (set nodedir in .npmrc)');
const cxx = process.env.CXX || 'c++';
if (spawnSync(cxx, ['--version']).status !== 0) fail(`no C++ compiler (${cxx})`);

let nodeGyp;
try {
  nodeGyp = require.resolve('node-gyp/bin/node-gyp.js');
} catch {
  fail('node-gyp is not installed');
}
const r = spawnSync(process.execPath, [nodeGyp, 'rebuild', `--nodedir=${nodedir}`], {
  cwd: here,
  encoding: 'utf8',
  maxBuffer: 64 * 1024 * 1024,
  env: { ...process.env, MOEPP_OPENBLAS_INCLUDE: blas.include, MOEPP_OPENBLAS_LIBDIR: blas.libdir },
});
const log = `${r.stdout ?? ''}${r.stderr ?? ''}`;
if (r.status !== 0) {
  const error = log.split('\n').find((l) => /error/i.test(l) && !/gyp ERR! (stack|System|command|cwd|node -v|node-gyp -v|not ok)/.test(l));
  fail(`node-gyp failed${error ? `: ${error.trim().slice(0, 160)}` : ''}; log in packages/backends/native/build/build.log`, log);
}
rmSync(join(buildDir, 'failure.txt'), { force: true });
writeFileSync(join(buildDir, 'build.log'), log);
console.log(`@moepp/backends: OpenBLAS GEMM addon built (${blas.libdir}).`);
