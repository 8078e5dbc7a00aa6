/**
 * Turns tokenized, tagged words back into natural running text, remembering where each word went.
 *
 * BPE should learn from text as people write it ("said, \"no evidence\" that"), not from the
 * corpus's space-separated token stream ("said , `` no evidence '' that"), or the vocabulary
 * would be spent on artefacts such as " ,". The word offsets let each BPE piece inherit the POS
 * of its word afterwards.
 */

/** Words that attach to the previous word (no space before them): closing punctuation. */
const CLOSING = /^[.,;:?!%)\]}]+$/;
/** Words after which no space follows: opening brackets. */
const OPENING = new Set(['(', '[', '{']);

/** Result of {@link detokenize}: the text and, per input word, its span in it. */
export interface DetokenizedText {
  readonly text: string;
  /** UTF-16 start offset of each word, in input order. */
  readonly wordStarts: Uint32Array;
  /** UTF-16 end offset (exclusive) of each word. */
  readonly wordEnds: Uint32Array;
}

/**
 * Joins paragraphs of words into running text: paragraphs are separated by `\n`, words by a single
 * space except around punctuation. Brown quote conventions are rewritten to plain `"`:
 * ``` `` ``` opens and `''` closes; a standalone `'` alternates open/close within a paragraph
 * (Brown uses it for both). No space is written before closing punctuation (`. , ; : ? ! % ) ] }`,
 * closing quotes) or after opening ones (`( [ {`, opening quotes).
 *
 * @example
 * detokenize([['``', 'Yes', "''", ',', 'he', 'said', '.']]).text; // '"Yes", he said.'
 */
export function detokenize(paragraphs: readonly (readonly string[])[]): DetokenizedText {
  let total = 0;
  for (const p of paragraphs) total += p.length;
  const wordStarts = new Uint32Array(total);
  const wordEnds = new Uint32Array(total);
  const parts: string[] = [];
  let offset = 0;
  let w = 0;
  for (let p = 0; p < paragraphs.length; p++) {
    if (p > 0) {
      parts.push('\n');
      offset += 1;
    }
    let singleQuoteOpen = false;
    let noSpaceNext = true; // paragraph start: nothing to separate from
    for (const word of paragraphs[p]) {
      let shown = word;
      let attachLeft = CLOSING.test(word);
      let attachRight = OPENING.has(word);
      if (word === '``') {
        shown = '"';
        attachRight = true;
      } else if (word === "''") {
        shown = '"';
        attachLeft = true;
      } else if (word === "'") {
        if (singleQuoteOpen) attachLeft = true;
        else attachRight = true;
        singleQuoteOpen = !singleQuoteOpen;
      }
      if (!noSpaceNext && !attachLeft) {
        parts.push(' ');
        offset += 1;
      }
      wordStarts[w] = offset;
      parts.push(shown);
      offset += shown.length;
      wordEnds[w] = offset;
      w++;
      noSpaceNext = attachRight;
    }
  }
  return { text: parts.join(''), wordStarts, wordEnds };
}
