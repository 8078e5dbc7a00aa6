/** Paths of the committed fixture results (see test-fixtures/generate-fixtures.ts). */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** packages/reports */
export const PACKAGE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The fixture results folder: study `tiny-ablation` and `bench/`. */
export const FIXTURE_RESULTS = join(PACKAGE_DIR, 'test-fixtures', 'results');
/** The fixture study. */
export const FIXTURE_STUDY = 'tiny-ablation';
