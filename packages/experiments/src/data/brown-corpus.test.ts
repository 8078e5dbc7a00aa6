import { describe, expect, it } from 'vitest';
import { BROWN_DOCUMENT_COUNT, loadBrownCorpus, parseBrownFile } from './brown-corpus.ts';
import { countWords } from './corpus-document.ts';
import { POS_CLASSES } from './pos-classes.ts';

describe('Brown corpus', () => {
  const docs = loadBrownCorpus();

  it('has 500 documents in 15 genres and 1,161,192 words', () => {
    expect(docs).toHaveLength(BROWN_DOCUMENT_COUNT);
    expect(docs[0].id).toBe('ca01');
    expect(docs.at(-1)!.id).toBe('cr09');
    expect(new Set(docs.map((d) => d.genre)).size).toBe(15);
    expect(docs[0].genre).toBe('news');
    expect(countWords(docs)).toBe(1_161_192);
  });

  it('detokenizes into natural text whose word spans and classes match the tags', () => {
    const d = docs[0];
    expect(d.text.startsWith('The Fulton County Grand Jury said Friday an investigation of Atlanta\'s recent primary election produced "no evidence" that any irregularities took place.\nThe jury further said')).toBe(true);
    const words = [...d.wordStarts.slice(0, 8)].map((s, i) => d.text.slice(s, d.wordEnds[i]));
    expect(words).toEqual(['The', 'Fulton', 'County', 'Grand', 'Jury', 'said', 'Friday', 'an']);
    expect([...d.wordPos.slice(0, 8)].map((p) => POS_CLASSES[p])).toEqual([
      'determiner', 'noun', 'noun', 'adjective', 'noun', 'verb', 'noun', 'determiner',
    ]);
  });

  it('word spans are ascending, disjoint and never contain whitespace', () => {
    for (const d of docs.slice(0, 40)) {
      let bad = 0;
      for (let i = 0; i < d.wordStarts.length; i++) {
        if (d.wordEnds[i] <= d.wordStarts[i] || (i > 0 && d.wordStarts[i] < d.wordEnds[i - 1])) bad++;
      }
      expect(bad).toBe(0);
      const joined = [...d.wordStarts].map((s, i) => d.text.slice(s, d.wordEnds[i])).join('');
      expect(/\s/.test(joined)).toBe(false);
      expect(joined.length).toBe(d.text.replace(/\s/g, '').length); // every non-space char is in a word
    }
  });

  it('splits tokens at the last slash and paragraphs at blank lines', () => {
    const parsed = parseBrownFile('\n\n\t1/2/cd and/or/cc ./.\n\tNext/ap\n\n\n\tNew/jj ./.\n');
    expect(parsed).toEqual([
      [{ word: '1/2', tag: 'cd' }, { word: 'and/or', tag: 'cc' }, { word: '.', tag: '.' }, { word: 'Next', tag: 'ap' }],
      [{ word: 'New', tag: 'jj' }, { word: '.', tag: '.' }],
    ]);
  });

  it('loads a subset by id and rejects unknown ids', () => {
    expect(loadBrownCorpus({ ids: ['cr09', 'ca01'] }).map((d) => d.id)).toEqual(['cr09', 'ca01']);
    expect(() => loadBrownCorpus({ ids: ['cz99'] })).toThrow(/Unknown Brown document id 'cz99'/);
  });
});
