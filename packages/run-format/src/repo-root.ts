/**
 * Where the repository and the user are, wherever a command runs from: pnpm runs a package's
 * scripts with that package's folder as the cwd, so neither can be taken from `process.cwd()`.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * What marks a self-contained bundle's folder (`pnpm gpu:bundle`'s dist/), which stands in for the
 * repository root there: it holds experiments/ and receives results/ the same way.
 */
export const BUNDLE_MANIFEST = 'moepp-bundle.json';

/**
 * The monorepo root: the nearest ancestor of `start` holding `pnpm-workspace.yaml` (or, in a
 * bundle, {@link BUNDLE_MANIFEST}), or null.
 *
 * @example
 * findRepoRoot('/work/main/packages/reports'); // '/work/main'
 */
export function findRepoRoot(start: string = process.cwd()): string | null {
  let dir = resolve(start);
  for (;;) {
    if (existsSync(join(dir, 'pnpm-workspace.yaml')) || existsSync(join(dir, BUNDLE_MANIFEST))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

/** The root of the repository this package is installed in (throws outside one). */
export function repoRoot(): string {
  const root = findRepoRoot(dirname(fileURLToPath(import.meta.url)));
  if (root === null) throw new Error('cannot find the repository root (no pnpm-workspace.yaml above this package)');
  return root;
}

/** Where the user invoked the command: pnpm records the caller's folder in INIT_CWD. */
export function invocationDir(): string {
  return process.env.INIT_CWD ?? process.cwd();
}

/** `<repo root>/results`, or `./results` when not inside the monorepo. */
export function defaultResultsDir(start: string = process.cwd()): string {
  const root = findRepoRoot(start);
  return root ? join(root, 'results') : resolve(start, 'results');
}
