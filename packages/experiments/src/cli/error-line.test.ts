/**
 * The CLI's one-line errors: file-system failures worded with the path and the fix (a read-only
 * folder not passed off as ENOENT), the project's own errors as they are, anything else marked
 * unexpected with the way to get its stack.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { debugRequested, errorLine } from './error-line.ts';
import { RunIdentityError } from '../runs/run-fingerprint.ts';

function errno(code: string, path: string, syscall = 'open'): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: failed, ${syscall} '${path}'`), { code, path, syscall });
}

describe('errorLine', () => {
  it('words disk-full, read-only and permission errors with the path and the fix', () => {
    expect(errorLine(errno('ENOSPC', '/r/smoke/moe--seed1/checkpoint-next/model.safetensors', 'write'))).toEqual({
      line: expect.stringMatching(/^error: no space left on the device \(writing \/r\/smoke\/moe--seed1\/checkpoint-next\/model\.safetensors\): free some space .*rerun the same command/),
      exitCode: 2,
    });
    expect(errorLine(errno('EROFS', '/mnt/ro/smoke')).line).toMatch(/^error: \/mnt\/ro\/smoke is on a read-only file system: give --results a writable folder/);
    expect(errorLine(errno('EACCES', '/r/smoke')).line).toMatch(/^error: \/r\/smoke: permission denied/);
  });

  // ENOENT from a recursive mkdir on a read-only folder: ablate-reliability.test.ts, on a real read-only mount.
  it('calls a missing path missing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'moepp-err-'));
    expect(errorLine(errno('ENOENT', join(dir, 'gone.json'))).line).toMatch(/gone\.json does not exist \(open\)/);
  });

  it("keeps the project's own messages and marks the unexpected", () => {
    expect(errorLine(new RunIdentityError('x was trained with other settings; rerun with --force'))).toEqual({ line: 'error: x was trained with other settings; rerun with --force', exitCode: 2 });
    expect(errorLine(new TypeError('undefined is not a function'))).toEqual({ line: expect.stringMatching(/undefined is not a function \(unexpected; rerun with --debug or MOEPP_DEBUG=1 for the stack\)/), exitCode: 1 });
  });

  it('prints the stack only when asked', () => {
    expect(debugRequested(['node', 'ablate', '--debug'], {})).toBe(true);
    expect(debugRequested(['node', 'ablate'], { MOEPP_DEBUG: '1' })).toBe(true);
    expect(debugRequested(['node', 'ablate'], {})).toBe(false);
  });
});
