import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { smallBrown, tempDir } from './fixtures/test-tokenizer.ts';
import { prepareData } from './prepare-data.ts';

describe('prepareData', () => {
  it('runs a custom JSONL corpus end to end, training the tokenizer on the training split only', async () => {
    const dir = tempDir();
    const path = join(dir, 'corpus.jsonl');
    const docs = smallBrown().slice(0, 20);
    writeFileSync(path, docs.map((d) => JSON.stringify({ id: d.id, text: d.text })).join('\n') + '\n');
    const cacheDir = join(dir, 'cache');
    const data = await prepareData({ corpus: { kind: 'file', path }, vocabSize: 400, cacheDir });
    expect([data.documents.train.length, data.documents.validation.length, data.documents.test.length]).toEqual([18, 1, 1]);
    expect(data.tokenizer.vocabSize).toBe(400);
    expect(data.tokenizerFromCache).toBe(false);
    for (const s of [data.train, data.validation, data.test]) {
      expect(s.ids.length).toBeGreaterThan(100);
      expect(s.ids[s.ids.length - 1]).toBe(data.tokenizer.eodId);
    }
    const again = await prepareData({ corpus: { kind: 'file', path }, vocabSize: 400, cacheDir });
    expect(again.tokenizerFromCache).toBe(true);
    expect(again.train.ids).toEqual(data.train.ids);
  });

  it('explains a corpus too small to split', async () => {
    const path = join(tempDir(), 'two.txt');
    writeFileSync(path, 'one document\n\nanother document\n');
    await expect(prepareData({ corpus: { kind: 'file', path }, cacheDir: tempDir() })).rejects.toThrow(
      /validation split of .*two\.txt is empty: splitting is by document and needs at least 3 documents/,
    );
  });

  it('prepares the full Brown Corpus at the default vocabulary (450 / 25 / 25 documents)', async () => {
    const data = await prepareData({ cacheDir: tempDir() });
    expect(data.tokenizer.vocabSize).toBe(4096);
    expect([data.train.documents, data.validation.documents, data.test.documents]).toEqual([450, 25, 25]);
    expect(data.train.words + data.validation.words + data.test.words).toBe(1_161_192);
    for (const s of [data.train, data.validation, data.test]) {
      const perWord = (s.ids.length - s.documents) / s.words;
      expect(perWord).toBeGreaterThan(1.2);
      expect(perWord).toBeLessThan(1.7);
    }
  });
});
