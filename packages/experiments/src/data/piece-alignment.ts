/**
 * Gives every BPE piece the POS class of the word it came from, and says whether it starts that
 * word (initial) or continues it (fragment).
 *
 * Alignment is by UTF-8 byte offsets: a byte-level BPE piece is a run of bytes of the text, and
 * the pieces of a text concatenate to exactly its bytes, so the cumulative byte lengths locate
 * every piece without trusting the library's offsets (which count characters, not UTF-16 units).
 */
import type { CorpusDocument } from './corpus-document.ts';
import { PIECE_KIND_ID, POS_CLASS_ID } from './pos-classes.ts';

/** Per-piece labels, parallel to the piece list. */
export interface PieceLabels {
  /** POS class id of each piece. */
  readonly pos: Uint8Array;
  /** 0 = word-initial (or not part of any word), 1 = later fragment of a word. */
  readonly piece: Uint8Array;
}

/**
 * Labels pieces of `document.text` given their UTF-8 byte lengths, in order. Rules:
 * - A piece belongs to the word of the first byte it covers that lies inside a word; so a piece
 *   with a leading space (`Ġjury`) belongs to the word after the space, and a piece that runs
 *   across two words (`."` made of a full stop and a closing quote) belongs to the first.
 * - It is `initial` when that byte is the word's first byte, else a `fragment`.
 * - A piece that covers only whitespace (a newline between paragraphs, extra spaces) gets class
 *   `other` and kind `initial`: it is not part of a word.
 *
 * @example
 * // "The jury" as pieces "The" | "Ġju" | "ry":
 * labelPieces(doc, [3, 3, 2]); // pos [determiner, noun, noun], piece [0, 0, 1]
 */
export function labelPieces(document: CorpusDocument, pieceByteLengths: ArrayLike<number>): PieceLabels {
  const { text, wordStarts, wordEnds, wordPos } = document;
  const byteOffset = utf16ToByteOffsets(text);
  const totalBytes = byteOffset ? byteOffset[text.length] : text.length;
  const toByte = (i: number) => (byteOffset ? byteOffset[i] : i);

  // owner[b] = index of the word containing byte b, or -1 for bytes between words.
  const owner = new Int32Array(totalBytes).fill(-1);
  for (let w = 0; w < wordStarts.length; w++) owner.fill(w, toByte(wordStarts[w]), toByte(wordEnds[w]));

  const n = pieceByteLengths.length;
  const pos = new Uint8Array(n);
  const piece = new Uint8Array(n);
  const other = POS_CLASS_ID.other;
  let b = 0;
  for (let p = 0; p < n; p++) {
    const end = b + pieceByteLengths[p];
    let j = b;
    while (j < end && owner[j] < 0) j++;
    if (j === end) {
      pos[p] = other;
      piece[p] = PIECE_KIND_ID.initial;
    } else {
      const w = owner[j];
      pos[p] = wordPos[w];
      piece[p] = j === toByte(wordStarts[w]) ? PIECE_KIND_ID.initial : PIECE_KIND_ID.fragment;
    }
    b = end;
  }
  if (b !== totalBytes) {
    throw new Error(`Pieces cover ${b} bytes but document '${document.id}' has ${totalBytes}: the token ids do not encode this text.`);
  }
  return { pos, piece };
}

/** `offsets[i]` = UTF-8 byte offset of UTF-16 index `i` (length `text.length + 1`); `null` for ASCII text. */
function utf16ToByteOffsets(text: string): Uint32Array | null {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the range \x00-\x7f is the point: any non-ASCII character
  if (!/[^\x00-\x7f]/.test(text)) return null;
  const offsets = new Uint32Array(text.length + 1);
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    offsets[i] = bytes;
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      // A surrogate pair is one 4-byte character; its low half starts at the same byte.
      const lo = text.charCodeAt(i + 1);
      if (lo >= 0xdc00 && lo <= 0xdfff) {
        offsets[++i] = bytes;
        bytes += 4;
      } else bytes += 3;
    } else bytes += 3; // BMP character (a lone surrogate is written as U+FFFD, also 3 bytes)
  }
  offsets[text.length] = bytes;
  return offsets;
}
