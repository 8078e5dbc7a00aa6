import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { BPE, Tokenizer, byteLevelPreTokenizer } from 'tokenizers';
import { describe, expect, it } from 'vitest';
import {
  BpeTokenizer,
  END_OF_DOCUMENT_TOKEN,
  firstMergesForVocab,
  loadOrTrainBpeTokenizer,
  tokenizerCacheKey,
  trainAllMerges,
} from './bpe-tokenizer.ts';
import { loadBrownCorpus } from './brown-corpus.ts';
import { smallBrown, smallTokenizer, tempDir } from './fixtures/test-tokenizer.ts';

/**
 * Independent greedy BPE trainer used to check the library: count pre-tokenized words, then
 * repeatedly merge the most frequent adjacent pair (ties: smallest pair of ids, where the alphabet
 * is numbered by code point and new tokens in creation order) until `maxMerges` merges are made.
 */
function referenceMerges(lines: string[], maxMerges: number): [string, string][] {
  const pre = byteLevelPreTokenizer(false, true);
  const counts = new Map<string, number>();
  for (const line of lines) for (const [w] of pre.preTokenizeString(line)) counts.set(w, (counts.get(w) ?? 0) + 1);
  const alphabet = [...new Set([...counts.keys()].flatMap((w) => [...w]))].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
  const idToToken = [...alphabet];
  const tokenToId = new Map(idToToken.map((t, i) => [t, i]));
  const words = [...counts].map(([w, c]) => ({ symbols: [...w].map((ch) => tokenToId.get(ch)!), count: c }));
  const merges: [string, string][] = [];
  while (merges.length < maxMerges) {
    const pairCounts = new Map<number, number>();
    for (const { symbols, count } of words) {
      for (let i = 0; i + 1 < symbols.length; i++) {
        const key = symbols[i] * 65536 + symbols[i + 1];
        pairCounts.set(key, (pairCounts.get(key) ?? 0) + count);
      }
    }
    let best = -1;
    let bestCount = 0;
    for (const [key, c] of pairCounts) if (c > bestCount || (c === bestCount && key < best)) [best, bestCount] = [key, c];
    if (best < 0) break;
    const a = Math.floor(best / 65536);
    const b = best % 65536;
    const merged = idToToken[a] + idToToken[b];
    let id = tokenToId.get(merged);
    if (id === undefined) {
      id = idToToken.length;
      idToToken.push(merged);
      tokenToId.set(merged, id);
    }
    merges.push([idToToken[a], idToToken[b]]);
    for (const w of words) {
      const out: number[] = [];
      for (let i = 0; i < w.symbols.length; i++) {
        if (i + 1 < w.symbols.length && w.symbols[i] === a && w.symbols[i + 1] === b) {
          out.push(id);
          i++;
        } else out.push(w.symbols[i]);
      }
      w.symbols = out;
    }
  }
  return merges;
}

describe('BPE training', () => {
  it("the library's first M merges equal greedy training with M merges (checked on a small case)", () => {
    const texts = loadBrownCorpus({ ids: ['ca01', 'cr01'] }).map((d) => d.text);
    const library = trainAllMerges(texts, tempDir());
    // train(files) reads the file line by line, keeping line endings.
    const lines = (texts.join('\n') + '\n').split(/(?<=\n)/);
    const M = 400;
    expect(referenceMerges(lines, M)).toEqual(library.slice(0, M));
    // And the whole run agrees, so the comparison holds at any cut, not just at M.
    expect(referenceMerges(lines, Infinity)).toEqual(library);
    expect(library.length).toBeGreaterThan(1000);
  });

  it('keeps merges until the vocabulary is full, counting a repeated merge result once', () => {
    const merges: [string, string][] = [['a', 'b'], ['ab', 'c'], ['b', 'c'], ['a', 'bc'], ['x', 'y']];
    // 'a'+'bc' makes 'abc' again (no new token), so 4 new tokens need all 5 merges.
    expect(firstMergesForVocab(merges, 257 + 2)).toEqual(merges.slice(0, 2));
    expect(firstMergesForVocab(merges, 257 + 3)).toEqual(merges.slice(0, 3));
    expect(firstMergesForVocab(merges, 257 + 4)).toEqual(merges);
    expect(BpeTokenizer.fromMerges(merges).vocabSize).toBe(257 + 4);
    expect(firstMergesForVocab(merges, 257)).toEqual([]);
  });
});

describe('loadOrTrainBpeTokenizer', () => {
  it('respects the vocabulary size and lays out ids: bytes, merges, end-of-document last', async () => {
    for (const vocabSize of [300, 1024]) {
      const { tokenizer, file } = await smallTokenizer(vocabSize);
      expect(tokenizer.vocabSize).toBe(vocabSize);
      expect(file.vocabSize).toBe(vocabSize);
      expect(tokenizer.eodId).toBe(vocabSize - 1);
      expect(tokenizer.idToToken(vocabSize - 1)).toBe(END_OF_DOCUMENT_TOKEN);
      expect(tokenizer.idToToken(32)).toBe('Ġ');
      expect(tokenizer.idToToken(256)).toBe(tokenizer.merges[0].join(''));
      const ids = await tokenizer.encode(smallBrown()[3].text);
      expect(Math.max(...ids)).toBeLessThan(vocabSize - 1);
      expect(Math.max(...ids)).toBeGreaterThan(vocabSize - 200); // late merges are used, so the cut is not too small
    }
  });

  it('reuses the cache: the second call loads the file without training or rewriting it', async () => {
    const cacheDir = tempDir();
    const texts = smallBrown().map((d) => d.text);
    const first = await loadOrTrainBpeTokenizer(texts, { cacheDir, vocabSize: 512 });
    expect(first.fromCache).toBe(false);
    expect(first.path).toBe(`${cacheDir}/${first.key}.json`);
    const before = statSync(first.path);
    const content = readFileSync(first.path, 'utf8');
    const second = await loadOrTrainBpeTokenizer(texts, { cacheDir, vocabSize: 512 });
    expect(second.fromCache).toBe(true);
    expect(second.key).toBe(first.key);
    expect(statSync(first.path).mtimeMs).toBe(before.mtimeMs);
    expect(statSync(first.path).ino).toBe(before.ino); // not replaced by a rename either
    expect(readFileSync(first.path, 'utf8')).toBe(content);
    expect(second.tokenizer.merges).toEqual(first.tokenizer.merges);
    // A corrupt cache entry is retrained, not trusted.
    writeFileSync(first.path, '{"format":"other"}');
    const third = await loadOrTrainBpeTokenizer(texts, { cacheDir, vocabSize: 512 });
    expect(third.fromCache).toBe(false);
    expect(third.tokenizer.merges).toEqual(first.tokenizer.merges);
  });

  it('a changed setting or corpus changes the key; training is deterministic', async () => {
    const texts = smallBrown().map((d) => d.text);
    const base = tokenizerCacheKey(texts, 4096).key;
    expect(tokenizerCacheKey(texts, 4096).key).toBe(base);
    expect(tokenizerCacheKey(texts, 4097).key).not.toBe(base);
    expect(tokenizerCacheKey(texts.slice(1), 4096).key).not.toBe(base);
    expect(tokenizerCacheKey([texts[0] + texts[1], ...texts.slice(2)], 4096).key).not.toBe(base); // boundaries count
    const a = await smallTokenizer(512);
    const b = await smallTokenizer(512);
    expect(b.tokenizer.merges).toEqual(a.tokenizer.merges);
    expect(b.key).toBe(a.key);
  });

  it('rejects impossible vocabulary sizes with a clear message', async () => {
    const texts = ['the cat sat on the mat'];
    await expect(loadOrTrainBpeTokenizer(texts, { cacheDir: tempDir(), vocabSize: 100 })).rejects.toThrow(/vocabSize must be an integer >= 257/);
    await expect(loadOrTrainBpeTokenizer(texts, { cacheDir: tempDir(), vocabSize: 5000 })).rejects.toThrow(/more than this corpus yields/);
    await expect(loadOrTrainBpeTokenizer([], { cacheDir: tempDir() })).rejects.toThrow(/no text/);
  });
});

describe('BpeTokenizer encode / decode', () => {
  it('round-trips text, including bytes never seen in training and newlines', async () => {
    const { tokenizer } = await smallTokenizer(1024);
    const docs = smallBrown();
    for (const text of [docs[0].text, docs[29].text, 'Straße — naïve 😀 café\n\n  two  spaces\ttab', '', ' leading space', '<|endoftext|> is text']) {
      const ids = await tokenizer.encode(text);
      expect(tokenizer.decode(ids)).toBe(text);
    }
    // A literal "<|endoftext|>" in text is never the end-of-document id.
    expect(await tokenizer.encode('<|endoftext|>')).not.toContain(tokenizer.eodId);
    expect(tokenizer.decode([tokenizer.eodId])).toBe(END_OF_DOCUMENT_TOKEN);
    expect(tokenizer.decode([tokenizer.eodId], { skipEndOfDocument: true })).toBe('');
    expect(() => tokenizer.decode([tokenizer.vocabSize])).toThrow(/outside/);
  });

  it('encodes common words as single tokens and rare ones as several', async () => {
    const { tokenizer } = await smallTokenizer(1024);
    expect(await tokenizer.encode(' the')).toHaveLength(1);
    expect((await tokenizer.encode(' Fulton')).length).toBeGreaterThan(1);
  });

  it('exports a Hugging Face tokenizer.json that encodes identically, and reloads from its file', async () => {
    const { tokenizer, path } = await smallTokenizer(512);
    const text = smallBrown()[5].text.slice(0, 2000);
    const hf = Tokenizer.fromString(tokenizer.toHuggingFaceJson());
    expect(Int32Array.from((await hf.encode(text)).getIds())).toEqual(await tokenizer.encode(text));
    const reloaded = BpeTokenizer.fromFile(path);
    expect(await reloaded.encode(text)).toEqual(await tokenizer.encode(text));
    expect(() => BpeTokenizer.fromFile(`${path}.missing`)).toThrow(/Tokenizer file not found: .*\.missing\. Train it/);
    const foreign = `${path}.foreign.json`;
    writeFileSync(foreign, '{"format":"other"}');
    expect(() => BpeTokenizer.fromFile(foreign)).toThrow(/is not a moepp-bpe-tokenizer v1 file; delete it to retrain/);
  });

  it('uses the library model type the cache was built for', () => {
    // Guard: the training path depends on BPE.empty() + train(files); fail loudly if the API moves.
    expect(typeof BPE.empty).toBe('function');
    expect(typeof new Tokenizer(BPE.empty()).train).toBe('function');
  });
});
