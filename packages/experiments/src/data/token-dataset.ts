/**
 * A split as one long token stream for language-model training: token ids with an
 * end-of-document token after every document, plus the POS class and piece kind of every token.
 */
import type { BpeTokenizer } from './bpe-tokenizer.ts';
import { countWords, type CorpusDocument } from './corpus-document.ts';
import { labelPieces } from './piece-alignment.ts';
import { PIECE_KIND_ID, POS_CLASSES, POS_CLASS_ID, type PosClass } from './pos-classes.ts';

/** Token ids of a split with per-token labels; the three arrays are parallel. */
export interface TokenStream {
  /** Token ids; each document is followed by `eodId`. */
  readonly ids: Int32Array;
  /** POS class id of each token (`other` for end-of-document). */
  readonly pos: Uint8Array;
  /** Piece kind of each token: 0 initial (also end-of-document), 1 fragment. */
  readonly piece: Uint8Array;
  /** Index into `genres` of each token's document (its end-of-document token included). */
  readonly genre: Uint8Array;
  /** The documents' genres, sorted (`NO_GENRE` for a corpus without genres). */
  readonly genres: readonly string[];
  /** The end-of-document id used. */
  readonly eodId: number;
  /** Number of documents encoded. */
  readonly documents: number;
  /** Number of corpus words in them. */
  readonly words: number;
}

/** The genre name of documents whose corpus has none. */
export const NO_GENRE = 'none';

/** Options of {@link encodeDocuments}. */
export interface EncodeDocumentsOptions {
  /** Documents per native encode call (bounds peak memory of the library's encodings). Default 64. */
  readonly batchSize?: number;
}

/**
 * Encodes documents, in the given order, into one {@link TokenStream}: doc₀ tokens, EOD, doc₁
 * tokens, EOD, … (an EOD after the last document too, so every document is delimited the same
 * way and the model learns to predict the end).
 *
 * @example
 * const train = await encodeDocuments(tokenizer, split.train);
 * train.ids.length === train.pos.length; // true
 */
export async function encodeDocuments(
  tokenizer: BpeTokenizer,
  documents: readonly CorpusDocument[],
  options: EncodeDocumentsOptions = {},
): Promise<TokenStream> {
  const batchSize = options.batchSize ?? 64;
  const genres = [...new Set(documents.map((d) => d.genre ?? NO_GENRE))].sort();
  if (genres.length > 256) throw new Error(`the corpus has ${genres.length} genres; at most 256 are supported (genres label held-out results, not training)`);
  const chunks: { ids: Int32Array; pos: Uint8Array; piece: Uint8Array; genre: number }[] = [];
  let total = 0;
  for (let start = 0; start < documents.length; start += batchSize) {
    const batch = documents.slice(start, start + batchSize);
    const encoded = await tokenizer.encodeBatch(batch.map((d) => d.text));
    batch.forEach((doc, i) => {
      const ids = encoded[i];
      const lengths = new Uint16Array(ids.length);
      for (let k = 0; k < ids.length; k++) lengths[k] = tokenizer.byteLengths[ids[k]];
      const { pos, piece } = labelPieces(doc, lengths);
      chunks.push({ ids, pos, piece, genre: genres.indexOf(doc.genre ?? NO_GENRE) });
      total += ids.length + 1;
    });
  }
  const ids = new Int32Array(total);
  const pos = new Uint8Array(total);
  const piece = new Uint8Array(total);
  const genre = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    ids.set(c.ids, at);
    pos.set(c.pos, at);
    piece.set(c.piece, at);
    genre.fill(c.genre, at, at + c.ids.length + 1);
    at += c.ids.length;
    ids[at] = tokenizer.eodId;
    pos[at] = POS_CLASS_ID.other;
    piece[at] = PIECE_KIND_ID.initial;
    at += 1;
  }
  return { ids, pos, piece, genre, genres, eodId: tokenizer.eodId, documents: documents.length, words: countWords(documents) };
}

/** Token counts of a stream by POS class and piece kind. */
export interface TokenStreamStats {
  readonly tokens: number;
  readonly documents: number;
  readonly words: number;
  /** Tokens per word (end-of-document tokens not counted). */
  readonly tokensPerWord: number;
  readonly byPos: Record<PosClass, number>;
  readonly byPiece: { readonly initial: number; readonly fragment: number };
}

/** Counts tokens by POS class and piece kind (for reports and sanity checks). */
export function tokenStreamStats(stream: TokenStream): TokenStreamStats {
  const posCounts = new Array<number>(POS_CLASSES.length).fill(0);
  let fragments = 0;
  for (let i = 0; i < stream.ids.length; i++) {
    posCounts[stream.pos[i]]++;
    fragments += stream.piece[i];
  }
  const byPos = Object.fromEntries(POS_CLASSES.map((c, i) => [c, posCounts[i]])) as Record<PosClass, number>;
  const tokens = stream.ids.length;
  return {
    tokens,
    documents: stream.documents,
    words: stream.words,
    tokensPerWord: stream.words > 0 ? (tokens - stream.documents) / stream.words : 0,
    byPos,
    byPiece: { initial: tokens - fragments, fragment: fragments },
  };
}
