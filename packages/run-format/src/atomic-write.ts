/** Atomic file writes, so that a crash or a concurrent reader never sees a half-written file. */
import writeFileAtomicLib from 'write-file-atomic';

/**
 * Writes a file atomically: a uniquely named temp file in the same directory (rename is atomic
 * only within one file system), flushed to disk, then renamed over the target. Two processes
 * writing the same path race harmlessly: the last rename wins and each wrote a complete file.
 * The directory must exist (a missing one is an ENOENT error, not created silently).
 *
 * @example
 * writeFileAtomic('.cache/tokenizers/abc.json', JSON.stringify(file));
 */
export function writeFileAtomic(path: string, content: string | Uint8Array): void {
  writeFileAtomicLib.sync(path, typeof content === 'string' ? content : Buffer.from(content.buffer, content.byteOffset, content.byteLength));
}
