/**
 * An error as the one line a user of the CLI reads: the cause and the fix, no stack (the stack
 * with `--debug` or `MOEPP_DEBUG=1`). Errors of the project's own kinds carry their sentence;
 * the file system's are worded here, naming the path. Node reports a recursive mkdir on a
 * read-only file system as ENOENT, so a missing path whose nearest existing folder is not
 * writable is called what it is.
 */
import { accessSync, constants, existsSync } from 'node:fs';
import { dirname } from 'node:path';

/** Errors whose message already says what is wrong and how to fix it: bad input, exit code 2. */
const EXPECTED_ERRORS = new Set([
  'StudyConfigError', 'BackendError', 'ConfigError', 'SafetensorsError', 'RunFormatError', 'RunFileError',
  'RunIdentityError', 'CheckpointCorruptError', 'NonFiniteLossError', 'UnhealthyCheckpointError', 'SlurmError',
]);

function isWritable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

function nearestExisting(path: string): string {
  let p = path;
  while (!existsSync(p) && dirname(p) !== p) p = dirname(p);
  return p;
}

const RESUME = 'then rerun the same command: finished runs are kept and the others resume from their last checkpoint';

function fileSystemLine(e: NodeJS.ErrnoException): string | null {
  const path = e.path ?? (e as { dest?: string }).dest ?? 'a file';
  switch (e.code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return `no space left on the device (writing ${path}): free some space or give --results a folder on another disk, ${RESUME}`;
    case 'EROFS':
      return `${path} is on a read-only file system: give --results a writable folder, ${RESUME}`;
    case 'EACCES':
    case 'EPERM':
      return `${path}: permission denied: give --results a folder you can write to (or fix its permissions), ${RESUME}`;
    case 'ENOENT': {
      const existing = nearestExisting(path);
      if (existing !== path && !isWritable(existing)) return `${existing} is not writable (read-only file system or no permission), so ${path} cannot be created: give --results a writable folder`;
      return `${path} does not exist (${e.syscall ?? 'file system'}): check the path`;
    }
    default:
      return null;
  }
}

/**
 * The line to print and the exit code: 2 for bad input or a known condition with a fix, 1 for an
 * unexpected error (whose line asks for the stack).
 *
 * @example
 * const { line, exitCode } = errorLine(e); // 'error: …'
 */
export function errorLine(e: unknown): { line: string; exitCode: number } {
  const err = e instanceof Error ? e : new Error(String(e));
  if (EXPECTED_ERRORS.has(err.name)) return { line: `error: ${err.message}`, exitCode: 2 };
  const fs = fileSystemLine(err as NodeJS.ErrnoException);
  if (fs) return { line: `error: ${fs}`, exitCode: 2 };
  return { line: `error: ${err.message} (unexpected; rerun with --debug or MOEPP_DEBUG=1 for the stack)`, exitCode: 1 };
}

export function debugRequested(argv: readonly string[] = process.argv, env: NodeJS.ProcessEnv = process.env): boolean {
  return argv.includes('--debug') || env.MOEPP_DEBUG === '1';
}
