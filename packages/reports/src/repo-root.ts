import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/**
 * The monorepo root: the nearest ancestor of `start` holding `pnpm-workspace.yaml`.
 * `pnpm --filter @moepp/reports report` runs with cwd = packages/reports, so `results/` must be
 * found from the root rather than from the cwd.
 *
 * @example
 * findRepoRoot('/work/main/packages/reports'); // '/work/main'
 */
export function findRepoRoot(start: string = process.cwd()): string | null {
  let dir = resolve(start);
  for (;;) {
    if (existsSync(join(dir, 'pnpm-workspace.yaml'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

/** `<repo root>/results`, or `./results` when not inside the monorepo. */
export function defaultResultsDir(start: string = process.cwd()): string {
  const root = findRepoRoot(start);
  return root ? join(root, 'results') : resolve(start, 'results');
}
