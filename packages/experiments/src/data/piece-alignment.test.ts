import { describe, expect, it } from 'vitest';
import { BpeTokenizer } from './bpe-tokenizer.ts';
import { brownDocument } from './brown-corpus.ts';
import { textDocument } from './custom-corpus.ts';
import { smallBrown, smallTokenizer } from './fixtures/test-tokenizer.ts';
import { labelPieces } from './piece-alignment.ts';
import { POS_CLASSES, POS_CLASS_ID } from './pos-classes.ts';
import { encodeDocuments } from './token-dataset.ts';

/** Hand-made merges so that the expected pieces are known exactly. */
const MERGES: [string, string][] = [
  ['T', 'h'], ['Th', 'e'],
  ['Ġ', 'C'], ['ĠC', 'o'], ['ĠCo', 'u'], ['ĠCou', 'n'], ['ĠCoun', 't'], ['ĠCount', 'y'],
  ['Ġ', 'F'], ['ĠF', 'u'], ['ĠFu', 'l'], ['t', 'o'], ['to', 'n'],
  ['Ġ', 'G'], ['ĠG', 'r'], ['a', 'n'], ['an', 'd'],
  ['Ġ', 'J'], ['ĠJ', 'u'], ['ĠJu', 'r'], ['ĠJur', 'y'],
  ['s', 'a'], ['sa', 'i'], ['sai', 'd'],
];

const SENTENCE = brownDocument('ca01-first', 'news', [[
  { word: 'The', tag: 'at' }, { word: 'Fulton', tag: 'np-tl' }, { word: 'County', tag: 'nn-tl' },
  { word: 'Grand', tag: 'jj-tl' }, { word: 'Jury', tag: 'nn-tl' }, { word: 'said', tag: 'vbd' },
  { word: 'Friday', tag: 'nr' }, { word: '.', tag: '.' },
]]);

async function labelled(tokenizer: BpeTokenizer, doc = SENTENCE) {
  const stream = await encodeDocuments(tokenizer, [doc]);
  const n = stream.ids.length - 1; // without the end-of-document token
  return [...stream.ids.subarray(0, n)].map((id, i) => [
    tokenizer.decode([id]),
    POS_CLASSES[stream.pos[i]],
    stream.piece[i] === 0 ? 'initial' : 'fragment',
  ]);
}

describe('POS alignment of BPE pieces', () => {
  it('labels "The Fulton County Grand Jury said Friday." piece by piece', async () => {
    expect(SENTENCE.text).toBe('The Fulton County Grand Jury said Friday.');
    expect(await labelled(BpeTokenizer.fromMerges(MERGES))).toEqual([
      ['The', 'determiner', 'initial'],
      [' Ful', 'noun', 'initial'],
      ['ton', 'noun', 'fragment'],
      [' County', 'noun', 'initial'],
      [' Gr', 'adjective', 'initial'],
      ['and', 'adjective', 'fragment'],
      [' Jury', 'noun', 'initial'],
      [' ', 'other', 'initial'], // whitespace-only piece: not part of a word
      ['said', 'verb', 'initial'],
      [' F', 'noun', 'initial'],
      ['r', 'noun', 'fragment'],
      ['i', 'noun', 'fragment'],
      ['d', 'noun', 'fragment'],
      ['a', 'noun', 'fragment'],
      ['y', 'noun', 'fragment'],
      ['.', 'punctuation', 'initial'],
    ]);
  });

  it('with a trained tokenizer: whole words are one initial piece, split words initial + fragments', async () => {
    const { tokenizer } = await smallTokenizer(1024);
    const pieces = await labelled(tokenizer);
    expect(pieces[0]).toEqual(['The', 'determiner', 'initial']);
    // The pieces after "The" that together spell " Fulton".
    let end = 1;
    for (let text = ''; text.length < ' Fulton'.length; end++) text += pieces[end][0];
    const fulton = pieces.slice(1, end);
    expect(fulton.length).toBeGreaterThan(1);
    expect(fulton.map((p) => p[0]).join('')).toBe(' Fulton');
    expect(fulton.map((p) => p[2])).toEqual(['initial', ...Array(fulton.length - 1).fill('fragment')]);
    expect(fulton.every((p) => p[1] === 'noun')).toBe(true);
    expect(pieces.find((p) => p[0] === ' said')).toEqual([' said', 'verb', 'initial']);
  });

  it('on real documents, fragments continue the word of the piece before them', async () => {
    const { tokenizer } = await smallTokenizer(1024);
    const docs = smallBrown().slice(0, 6);
    const stream = await encodeDocuments(tokenizer, docs);
    let fragments = 0, continuing = 0, initialInWords = 0;
    for (let i = 1; i < stream.ids.length; i++) {
      if (stream.piece[i] === 1) {
        fragments++;
        if (stream.pos[i] === stream.pos[i - 1]) continuing++;
      } else if (stream.ids[i] !== stream.eodId && tokenizer.decode([stream.ids[i]]).trim() !== '') initialInWords++;
    }
    expect(fragments).toBeGreaterThan(0);
    expect(continuing).toBe(fragments);
    // Almost every word gets exactly one initial piece (a piece spanning two words, like '."', takes one).
    expect(initialInWords).toBeLessThanOrEqual(stream.words);
    expect(initialInWords / stream.words).toBeGreaterThan(0.97);
  });

  it('aligns by bytes in non-ASCII text', () => {
    const doc = textDocument('d', 'Café 😀 ok');
    const bytes = Buffer.byteLength(doc.text);
    const { pos, piece } = labelPieces(doc, new Array(bytes).fill(1)); // one piece per byte
    // C a f é(2 bytes) space 😀(4 bytes) space o k
    expect([...piece]).toEqual([0, 1, 1, 1, 1, 0, 0, 1, 1, 1, 0, 0, 1]);
    expect(new Set(pos)).toEqual(new Set([POS_CLASS_ID.other]));
    expect(() => labelPieces(doc, [bytes - 1])).toThrow(/Pieces cover 12 bytes but document 'd' has 13/);
  });
});
