import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeFileAtomic } from './atomic-write.ts';
import { tempDir } from './testing/temp-dir.ts';

describe('writeFileAtomic', () => {
  it('writes and replaces a file, leaving no temp file behind', () => {
    const dir = tempDir();
    const path = join(dir, 'a.json');
    writeFileAtomic(path, 'one');
    writeFileAtomic(path, 'two');
    expect(readFileSync(path, 'utf8')).toBe('two');
    expect(readdirSync(dir)).toEqual(['a.json']);
  });

  it('fails without touching the target when the directory is missing', () => {
    expect(() => writeFileAtomic(join(tempDir(), 'no', 'such', 'dir.json'), 'x')).toThrow(/ENOENT/);
  });
});
