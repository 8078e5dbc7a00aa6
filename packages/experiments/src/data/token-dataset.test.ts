import { describe, expect, it } from 'vitest';
import { countWords } from './corpus-document.ts';
import { smallBrown, smallTokenizer } from './fixtures/test-tokenizer.ts';
import { POS_CLASS_ID } from './pos-classes.ts';
import { encodeDocuments, NO_GENRE, tokenStreamStats } from './token-dataset.ts';

describe('encodeDocuments', () => {
  it('concatenates documents with an end-of-document token after each, labels parallel', async () => {
    const { tokenizer } = await smallTokenizer(512);
    const docs = smallBrown().slice(0, 3);
    const stream = await encodeDocuments(tokenizer, docs, { batchSize: 2 });
    const parts = await Promise.all(docs.map((d) => tokenizer.encode(d.text)));
    const expected = parts.flatMap((p) => [...p, tokenizer.eodId]);
    expect([...stream.ids]).toEqual(expected);
    expect(stream.pos).toHaveLength(expected.length);
    expect(stream.piece).toHaveLength(expected.length);
    expect(stream.documents).toBe(3);
    expect(stream.words).toBe(countWords(docs));
    const eods = [...stream.ids.keys()].filter((i) => stream.ids[i] === tokenizer.eodId);
    expect(eods).toHaveLength(3);
    for (const i of eods) {
      expect(stream.pos[i]).toBe(POS_CLASS_ID.other);
      expect(stream.piece[i]).toBe(0);
    }
    expect(tokenizer.decode(stream.ids, { skipEndOfDocument: true })).toBe(docs.map((d) => d.text).join(''));
  });

  it("labels every token, its document's end-of-document token included, with the document's genre", async () => {
    const { tokenizer } = await smallTokenizer(512);
    const docs = [...smallBrown().slice(0, 2), { ...smallBrown()[2], genre: null }];
    const stream = await encodeDocuments(tokenizer, docs, { batchSize: 2 });
    expect(stream.genres).toEqual([...new Set(docs.map((d) => d.genre ?? NO_GENRE))].sort());
    expect(stream.genre).toHaveLength(stream.ids.length);
    let at = 0;
    for (const doc of docs) {
      const n = (await tokenizer.encode(doc.text)).length + 1;
      const labels = new Set(stream.genre.subarray(at, at + n));
      expect([...labels].map((g) => stream.genres[g])).toEqual([doc.genre ?? NO_GENRE]);
      at += n;
    }
  });

  it('reports counts by class and piece kind', async () => {
    const { tokenizer } = await smallTokenizer(512);
    const stream = await encodeDocuments(tokenizer, smallBrown().slice(0, 2));
    const stats = tokenStreamStats(stream);
    expect(stats.tokens).toBe(stream.ids.length);
    expect(Object.values(stats.byPos).reduce((a, b) => a + b, 0)).toBe(stats.tokens);
    expect(stats.byPiece.initial + stats.byPiece.fragment).toBe(stats.tokens);
    expect(stats.byPos.noun).toBeGreaterThan(stats.byPos.number);
    expect(stats.tokensPerWord).toBeGreaterThan(1);
  });
});
