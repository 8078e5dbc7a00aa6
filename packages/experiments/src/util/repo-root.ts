/** The repository root (the folder holding pnpm-workspace.yaml), wherever a command runs from. */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'pnpm-workspace.yaml'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the repository root (no pnpm-workspace.yaml above this package)');
    dir = parent;
  }
  return dir;
}

/** Where the user invoked the command: pnpm runs scripts in the package folder but records the caller's folder in INIT_CWD. */
export function invocationDir(): string {
  return process.env.INIT_CWD ?? process.cwd();
}
