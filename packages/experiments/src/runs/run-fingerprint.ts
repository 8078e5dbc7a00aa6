/**
 * A run's identity: every setting it is trained from, as dotted keys, and their sha256. A run
 * folder is reused (skipped as complete, resumed) only when its `fingerprint.json` matches the
 * fingerprint of the command at hand; otherwise the error names the keys that differ.
 *
 * The inputs: the resolved model, data and training config and the seed; the content hash of the
 * corpus (a custom file's bytes, or the embedded Brown files), so an edited corpus file is a
 * different run; and the versions of the code that decide what a run computes (the run-format
 * version and the @moepp packages'). Not the backend or thread count: they change speed, not the
 * run (environment.json records them).
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FORMAT_VERSION, parseRunFile, runFingerprintSchema, type RunFingerprintFile } from '@moepp/run-format';
import { brownCorpusDir } from '../data/index.ts';
import type { RunConfig } from '../studies/run-config.ts';
import { corpusSource } from './prepare-run-data.ts';
import type { RunFolder } from './run-folder.ts';

export type RunFingerprint = Omit<RunFingerprintFile, 'formatVersion'>;
type InputValue = RunFingerprint['inputs'][string];

export const FINGERPRINT_FILE = 'fingerprint.json';

/** A run folder trained from other settings than the command's (or before fingerprints). */
export class RunIdentityError extends Error {
  override name = 'RunIdentityError';
}

const corpusHashes = new Map<string, string>();

function sha256(parts: (string | Uint8Array)[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest('hex');
}

/** sha256 of the corpus a data config reads (cached per file for the process). */
function corpusSha256(config: RunConfig, repoRoot: string): string {
  const source = corpusSource(config.data, repoRoot);
  const key = source.kind === 'file' ? source.path : 'brown';
  let hash = corpusHashes.get(key);
  if (hash === undefined) {
    if (source.kind === 'file') {
      hash = sha256([readFileSync(source.path)]);
    } else {
      const dir = brownCorpusDir();
      // Name and bytes of every file, in name order: the embedded corpus as installed.
      hash = sha256(readdirSync(dir).sort().flatMap((name) => (name === 'package.json' ? [] : [name, '\0', readFileSync(join(dir, name)), '\0'])));
    }
    corpusHashes.set(key, hash);
  }
  return hash;
}

function packageVersion(relativeDir: string): string {
  return (JSON.parse(readFileSync(join(import.meta.dirname, relativeDir, 'package.json'), 'utf8')) as { version: string }).version;
}

/** Nested objects as dotted keys; arrays (expertsPerLayer, …) as their JSON. */
function flatten(value: unknown, prefix: string, out: Record<string, InputValue>): void {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (value !== undefined) {
    out[prefix] = Array.isArray(value) ? JSON.stringify(value) : (value as InputValue);
  }
}

/**
 * The fingerprint of a resolved run config. Throws (naming `data.corpus`) when the corpus file
 * does not exist, so that a bad corpus path fails before anything is trained or moved.
 */
export function fingerprintRun(config: RunConfig, repoRoot: string): RunFingerprint {
  const inputs: Record<string, InputValue> = {};
  flatten({ model: config.model, data: config.data, training: config.training, seed: config.seed }, '', inputs);
  inputs['data.corpusSha256'] = corpusSha256(config, repoRoot);
  inputs['code.formatVersion'] = FORMAT_VERSION;
  inputs['code.@moepp/core'] = packageVersion('../../../core');
  inputs['code.@moepp/experiments'] = packageVersion('../..');
  const sorted = Object.fromEntries(Object.entries(inputs).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return { fingerprint: sha256([JSON.stringify(sorted)]), inputs: sorted };
}

/** The keys that differ, as `training.steps: 6 → 50` (a key only one side has shows as —). */
export function fingerprintDifferences(saved: RunFingerprint, current: RunFingerprint): string[] {
  const keys = [...new Set([...Object.keys(saved.inputs), ...Object.keys(current.inputs)])].sort();
  const shown = (v: InputValue | undefined) => (v === undefined ? '—' : typeof v === 'string' && /^[0-9a-f]{64}$/.test(v) ? `${v.slice(0, 12)}…` : JSON.stringify(v));
  return keys.filter((k) => saved.inputs[k] !== current.inputs[k]).map((k) => `${k}: ${shown(saved.inputs[k])} → ${shown(current.inputs[k])}`);
}

export function readRunFingerprint(folder: RunFolder): RunFingerprint | null {
  if (!folder.has(FINGERPRINT_FILE)) return null;
  const { fingerprint, inputs } = parseRunFile(runFingerprintSchema, folder.readJson(FINGERPRINT_FILE), folder.path(FINGERPRINT_FILE));
  return { fingerprint, inputs };
}

export function writeRunFingerprint(folder: RunFolder, fingerprint: RunFingerprint): void {
  const file: RunFingerprintFile = { formatVersion: FORMAT_VERSION as 1, ...fingerprint };
  folder.writeJson(FINGERPRINT_FILE, file);
}

/**
 * Why a started run folder cannot be reused by a command with `current` settings, or null when it
 * can: the differing keys, or the absence of a fingerprint (a folder from before fingerprints).
 */
export function identityProblem(folder: RunFolder, current: RunFingerprint): string | null {
  if (!folder.hasStarted()) return null;
  const saved = readRunFingerprint(folder);
  if (saved === null) return `${folder.dir} has no ${FINGERPRINT_FILE} (trained before runs recorded their settings), so it cannot be checked against this command`;
  if (saved.fingerprint === current.fingerprint) return null;
  const differences = fingerprintDifferences(saved, current);
  return `${folder.dir} was trained with other settings than this command's (${differences.join(', ') || 'fingerprint differs'})`;
}

/** `identityProblem` as an error with the way out. */
export function checkRunIdentity(folder: RunFolder, current: RunFingerprint): void {
  const problem = identityProblem(folder, current);
  if (problem) throw new RunIdentityError(`${problem}; rerun with --force to train it afresh (the old folder is moved aside), or run the command it was trained with`);
}
