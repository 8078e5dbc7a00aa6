/** The architecture rule of this package: reports read files; they never import tfjs or the model. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PACKAGE_DIR } from './testing/fixtures.ts';

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? sources(join(dir, d.name)) : d.name.endsWith('.ts') ? [join(dir, d.name)] : [],
  );
}

describe('@moepp/reports', () => {
  it('imports neither tfjs nor @moepp/core / @moepp/experiments', () => {
    const offenders = sources(join(PACKAGE_DIR, 'src')).filter((f) =>
      /from\s+['"](@tensorflow\/|@moepp\/(core|experiments))|import\(\s*['"](@tensorflow\/|@moepp\/)/.test(readFileSync(f, 'utf8')),
    );
    expect(offenders).toEqual([]);
    const pkg = JSON.parse(readFileSync(join(PACKAGE_DIR, 'package.json'), 'utf8'));
    expect(Object.keys({ ...pkg.dependencies, ...pkg.devDependencies }).filter((d) => d.startsWith('@tensorflow/') || d.startsWith('@moepp/'))).toEqual([]);
  });
});
