/**
 * The one document shape every corpus (Brown or a user's file) is turned into: running text plus
 * the word spans that give each BPE piece its part of speech and its initial/fragment kind.
 */

/** A document as running text with its words located in it. */
export interface CorpusDocument {
  /** Stable id; the train/validation/test split is a function of it (Brown: `ca01`…`cr09`). */
  readonly id: string;
  /** Stratum for the split (Brown genre such as `news`); `null` for corpora without genres. */
  readonly genre: string | null;
  /** Natural running text, as the tokenizer sees it. */
  readonly text: string;
  /** Word `i` is `text.slice(wordStarts[i], wordEnds[i])` (UTF-16 offsets, ascending, disjoint). */
  readonly wordStarts: Uint32Array;
  /** Exclusive end offsets, parallel to {@link CorpusDocument.wordStarts}. */
  readonly wordEnds: Uint32Array;
  /** POS class id of each word (see `POS_CLASSES`). */
  readonly wordPos: Uint8Array;
}

/** Number of words in a list of documents. */
export function countWords(documents: readonly CorpusDocument[]): number {
  let n = 0;
  for (const d of documents) n += d.wordStarts.length;
  return n;
}
