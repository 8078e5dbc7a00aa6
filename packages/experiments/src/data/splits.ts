/**
 * Deterministic document-level train / validation / test split, stratified by genre.
 *
 * Splitting by document (not by sentence or window) keeps held-out text unseen: adjacent windows
 * of one document share topic and names. Ordering each genre's documents by a hash of the id
 * makes the split a pure function of the ids — the same on every machine and independent of file
 * order — while looking random with respect to content.
 */
import { createHash } from 'node:crypto';
import type { CorpusDocument } from './corpus-document.ts';

/** Names of the three splits. */
export type SplitName = 'train' | 'validation' | 'test';

/** Options of {@link splitDocuments}. */
export interface SplitOptions {
  /** Fraction of each genre for validation. Default 0.05. */
  readonly validationFraction?: number;
  /** Fraction of each genre for test. Default 0.05. */
  readonly testFraction?: number;
  /** Mixed into the hash: a different salt gives a different (equally valid) split. Default `'moepp-split-v1'`. */
  readonly salt?: string;
}

/** Default salt; changing it changes every split, so it is versioned. */
export const DEFAULT_SPLIT_SALT = 'moepp-split-v1';

/** The split: documents of each part, each list sorted by id. */
export interface DocumentSplit<D extends { readonly id: string } = CorpusDocument> {
  readonly train: D[];
  readonly validation: D[];
  readonly test: D[];
}

/** Stable hash that orders documents: hex sha256 of `salt + ":" + id`. */
export function splitHash(id: string, salt: string = DEFAULT_SPLIT_SALT): string {
  return createHash('sha256').update(`${salt}:${id}`).digest('hex');
}

/**
 * How many of a stratum's `n` documents go to validation and test: `round(fraction · n)`, but at
 * least one each whenever the stratum has 3 or more documents, so every split sees every genre
 * (Brown's smallest genre, science fiction, has 6 documents; 5 % of it would round to 0).
 */
export function heldOutCounts(n: number, validationFraction: number, testFraction: number): { validation: number; test: number } {
  if (n < 3) return { validation: 0, test: 0 };
  const validation = Math.max(1, Math.round(validationFraction * n));
  const test = Math.max(1, Math.round(testFraction * n));
  // Always leave at least one training document.
  const excess = Math.max(0, validation + test - (n - 1));
  return { validation: validation - Math.ceil(excess / 2), test: test - Math.floor(excess / 2) };
}

/**
 * Splits documents into train / validation / test. Within each genre (documents with `genre`
 * `null` form one group), documents are ordered by {@link splitHash} of their id; the first
 * `validation` go to validation, the next `test` to test, the rest to train (counts from
 * {@link heldOutCounts}). Each returned list is sorted by id.
 *
 * @example
 * const { train, validation, test } = splitDocuments(loadBrownCorpus());
 * [train.length, validation.length, test.length]; // [450, 25, 25]
 */
export function splitDocuments<D extends { readonly id: string; readonly genre: string | null }>(
  documents: readonly D[],
  options: SplitOptions = {},
): DocumentSplit<D> {
  const validationFraction = options.validationFraction ?? 0.05;
  const testFraction = options.testFraction ?? 0.05;
  const salt = options.salt ?? DEFAULT_SPLIT_SALT;
  if (!(validationFraction >= 0 && testFraction >= 0 && validationFraction + testFraction < 1)) {
    throw new Error(`Split fractions must be >= 0 and sum to < 1, got validation ${validationFraction}, test ${testFraction}.`);
  }
  const seen = new Set<string>();
  for (const d of documents) {
    if (seen.has(d.id)) throw new Error(`Duplicate document id '${d.id}': ids must be unique for a deterministic split.`);
    seen.add(d.id);
  }
  const byGenre = new Map<string | null, D[]>();
  for (const d of documents) {
    const group = byGenre.get(d.genre);
    if (group) group.push(d);
    else byGenre.set(d.genre, [d]);
  }
  const split: DocumentSplit<D> = { train: [], validation: [], test: [] };
  for (const group of byGenre.values()) {
    const keyed = group.map((d) => ({ d, h: splitHash(d.id, salt) }));
    keyed.sort((a, b) => (a.h < b.h ? -1 : a.h > b.h ? 1 : 0));
    const { validation, test } = heldOutCounts(group.length, validationFraction, testFraction);
    keyed.forEach(({ d }, i) => {
      if (i < validation) split.validation.push(d);
      else if (i < validation + test) split.test.push(d);
      else split.train.push(d);
    });
  }
  const byId = (a: D, b: D) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  split.train.sort(byId);
  split.validation.sort(byId);
  split.test.sort(byId);
  return split;
}
