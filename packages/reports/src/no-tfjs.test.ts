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
    // The run-folder contract is the one workspace package reports may use, and it must itself
    // stay free of tfjs and of every other workspace package (checked below, sources included).
    expect(Object.keys({ ...pkg.dependencies, ...pkg.devDependencies }).filter((d) => d.startsWith('@tensorflow/') || d.startsWith('@moepp/'))).toEqual(['@moepp/run-format']);
  });

  it('@moepp/run-format, which it depends on, imports neither tfjs nor any other workspace package', () => {
    const runFormat = join(PACKAGE_DIR, '..', 'run-format');
    const offenders = sources(join(runFormat, 'src')).filter((f) => /from\s+['"](@tensorflow\/|@moepp\/)|import\(\s*['"](@tensorflow\/|@moepp\/)/.test(readFileSync(f, 'utf8')));
    expect(offenders).toEqual([]);
    const pkg = JSON.parse(readFileSync(join(runFormat, 'package.json'), 'utf8'));
    expect(Object.keys({ ...pkg.dependencies, ...pkg.devDependencies }).filter((d) => d.startsWith('@tensorflow/') || d.startsWith('@moepp/'))).toEqual([]);
  });
});
