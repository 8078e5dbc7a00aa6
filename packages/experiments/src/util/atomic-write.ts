/** Atomic file writes, so that a crash or a concurrent reader never sees a half-written file. */
import { randomBytes } from 'node:crypto';
import { renameSync, rmSync, writeFileSync } from 'node:fs';

/**
 * Writes a file atomically: a uniquely named temp file in the same directory (rename is atomic
 * only within one file system), then rename over the target. Two processes writing the same
 * path race harmlessly: the last rename wins and each wrote a complete file.
 *
 * @example
 * writeFileAtomic('.cache/tokenizers/abc.json', JSON.stringify(file));
 */
export function writeFileAtomic(path: string, content: string | Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    writeFileSync(tmp, content);
    renameSync(tmp, path);
  } finally {
    rmSync(tmp, { force: true });
  }
}
