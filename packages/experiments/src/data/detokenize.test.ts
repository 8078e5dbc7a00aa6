import { describe, expect, it } from 'vitest';
import { detokenize } from './detokenize.ts';

function spans(paragraphs: string[][]): string[] {
  const { text, wordStarts, wordEnds } = detokenize(paragraphs);
  return [...wordStarts].map((s, i) => text.slice(s, wordEnds[i]));
}

describe('detokenize', () => {
  it('writes natural spacing around punctuation and rewrites Brown quotes', () => {
    const words = ['He', 'said', ',', '``', 'no', 'evidence', "''", 'that', 'any', '(', 'few', ')', 'took', 'place', '.'];
    expect(detokenize([words]).text).toBe('He said, "no evidence" that any (few) took place.');
  });

  it('alternates a standalone single quote between opening and closing, per paragraph', () => {
    expect(detokenize([['the', "'", 'Met', "'", 'is', "'", 'back', "'", '.']]).text).toBe("the 'Met' is 'back'.");
    expect(detokenize([['a', "'", 'b'], ["'", 'c', "'"]]).text).toBe("a 'b\n'c'");
  });

  it('keeps dashes spaced, separates paragraphs by a newline and records exact word spans', () => {
    const paragraphs = [['It', 'was', '--', 'yes', '--', 'done', '!'], ['Next', '?']];
    const { text } = detokenize(paragraphs);
    expect(text).toBe('It was -- yes -- done!\nNext?');
    expect(spans(paragraphs)).toEqual(['It', 'was', '--', 'yes', '--', 'done', '!', 'Next', '?']);
    expect(spans([['``', 'Yes', "''"]])).toEqual(['"', 'Yes', '"']);
  });
});
