import { describe, expect, it } from 'vitest';
import { readBrownGenres } from './brown-corpus.ts';
import { heldOutCounts, splitDocuments, splitHash } from './splits.ts';

// The split only needs ids and genres, so tests use cats.txt rather than the full corpus.
const docs = [...readBrownGenres()].map(([id, genre]) => ({ id, genre }));

describe('splitDocuments', () => {
  const split = splitDocuments(docs);

  it('is deterministic and independent of input order', () => {
    const again = splitDocuments([...docs].reverse());
    for (const name of ['train', 'validation', 'test'] as const) {
      expect(again[name].map((d) => d.id)).toEqual(split[name].map((d) => d.id));
    }
  });

  it('is disjoint, covers all 500 documents, 450 / 25 / 25', () => {
    const all = [...split.train, ...split.validation, ...split.test].map((d) => d.id);
    expect(new Set(all).size).toBe(500);
    expect(all).toHaveLength(500);
    expect([split.train.length, split.validation.length, split.test.length]).toEqual([450, 25, 25]);
  });

  it('is stratified: every genre is in every split, in proportion', () => {
    const genres = new Set(docs.map((d) => d.genre));
    expect(genres.size).toBe(15);
    for (const g of genres) {
      const n = docs.filter((d) => d.genre === g).length;
      const expected = heldOutCounts(n, 0.05, 0.05);
      expect(split.validation.filter((d) => d.genre === g)).toHaveLength(expected.validation);
      expect(split.test.filter((d) => d.genre === g)).toHaveLength(expected.test);
      expect(expected.validation).toBeGreaterThanOrEqual(1);
      expect(expected.test).toBeGreaterThanOrEqual(1);
    }
    // the smallest genre (science fiction, 6 documents) still gives one document to each held-out split
    expect(heldOutCounts(6, 0.05, 0.05)).toEqual({ validation: 1, test: 1 });
    expect(heldOutCounts(80, 0.05, 0.05)).toEqual({ validation: 4, test: 4 });
  });

  it('puts the lowest hashes of each genre in validation, then test', () => {
    const news = docs.filter((d) => d.genre === 'news').sort((a, b) => (splitHash(a.id) < splitHash(b.id) ? -1 : 1));
    expect(split.validation.filter((d) => d.genre === 'news').map((d) => d.id)).toEqual(news.slice(0, 2).map((d) => d.id).sort());
    expect(split.test.filter((d) => d.genre === 'news').map((d) => d.id)).toEqual(news.slice(2, 4).map((d) => d.id).sort());
  });

  it('is pinned: these exact held-out documents (changing them changes every reported result)', () => {
    expect(split.validation.map((d) => d.id).join(' ')).toBe(
      'ca04 ca33 cb24 cc03 cd15 ce25 ce27 cf11 cf14 cg01 cg06 cg41 cg63 ch13 ch28 cj09 cj28 cj52 cj77 ck18 cl17 cm06 cn16 cp11 cr04',
    );
    expect(split.test.map((d) => d.id).join(' ')).toBe(
      'ca25 ca38 cb03 cc10 cd10 ce09 ce23 cf24 cf36 cg12 cg13 cg21 cg47 ch23 ch24 cj03 cj29 cj63 cj69 ck19 cl03 cm02 cn27 cp26 cr02',
    );
  });

  it('a different salt gives a different split; bad input is rejected', () => {
    const other = splitDocuments(docs, { salt: 'another' });
    expect(other.validation.map((d) => d.id)).not.toEqual(split.validation.map((d) => d.id));
    expect(() => splitDocuments([docs[0], docs[0]])).toThrow(/Duplicate document id 'ca01'/);
    expect(() => splitDocuments(docs, { validationFraction: 0.6, testFraction: 0.5 })).toThrow(/sum to < 1/);
  });

  it('groups documents without a genre together and never empties train', () => {
    const plain = Array.from({ length: 3 }, (_, i) => ({ id: `doc${i + 1}`, genre: null }));
    const s = splitDocuments(plain);
    expect([s.train.length, s.validation.length, s.test.length]).toEqual([1, 1, 1]);
    expect(heldOutCounts(2, 0.05, 0.05)).toEqual({ validation: 0, test: 0 });
    expect(heldOutCounts(3, 0.5, 0.5)).toEqual({ validation: 1, test: 1 });
  });
});
