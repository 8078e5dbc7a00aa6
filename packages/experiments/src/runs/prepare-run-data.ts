/**
 * From a run's `data` config to the prepared token streams, cached per process so that every run
 * of a study with the same data settings shares one tokenizer and one encoding.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { prepareData, readBrownGenres, type CorpusSource, type PreparedData } from '../data/index.ts';
import type { DataConfig } from '../studies/run-config.ts';
import { StudyConfigError } from '../studies/study-config.ts';

const cache = new Map<string, Promise<PreparedData>>();

/** Every n-th Brown document in id order (the split then stratifies them by genre). */
function brownSubset(every: number): string[] | undefined {
  if (every === 1) return undefined;
  return [...readBrownGenres().keys()].sort().filter((_, i) => i % every === 0);
}

export function corpusSource(data: DataConfig, repoRoot: string): CorpusSource {
  if (data.corpus === 'brown') {
    const ids = brownSubset(data.brownEvery);
    return ids ? { kind: 'brown', ids } : { kind: 'brown' };
  }
  const path = isAbsolute(data.corpus) ? data.corpus : resolve(repoRoot, data.corpus);
  if (!existsSync(path)) throw new StudyConfigError(`data.corpus: file ${path} does not exist; give 'brown' or the path of a .txt (documents separated by blank lines) or .jsonl (a "text" field per line) file`);
  return { kind: 'file', path };
}

export function prepareRunData(data: DataConfig, repoRoot: string): Promise<PreparedData> {
  const key = JSON.stringify(data);
  let prepared = cache.get(key);
  if (!prepared) {
    prepared = prepareData({ corpus: corpusSource(data, repoRoot), vocabSize: data.vocabSize, cacheDir: join(repoRoot, '.cache', 'tokenizers') });
    cache.set(key, prepared);
    prepared.catch(() => cache.delete(key));
  }
  return prepared;
}
