/**
 * Byte-level BPE tokenizer: trained with Hugging Face `tokenizers` (Node binding), cut to the
 * requested vocabulary size, cached on disk under a key that hashes the corpus and the settings.
 *
 * Why the cut: the binding's `train(files)` takes no trainer options — it always runs the default
 * BPE trainer (target 30,000 tokens, alphabet = characters seen). That trainer learns merges
 * greedily (most frequent pair first, ties by smallest pair ids) and its stopping size is only
 * checked at the top of the loop, so its first M merges are exactly what training with M merges
 * would give; `bpe-tokenizer.test.ts` checks this against an independent reference trainer. We keep
 * the first merges until the vocabulary holds `vocabSize` tokens.
 *
 * Why the own vocabulary: the default trainer's alphabet is only the characters it saw, and the
 * BPE model silently drops bytes it has no token for (checked: "é" vanishes). All 256 byte tokens
 * are therefore always in the vocabulary, so any UTF-8 text encodes and decodes losslessly.
 *
 * Id layout (documented in README): ids 0–255 are the bytes 0–255, ids 256… the merge results in
 * the order they were learned, and the last id (`vocabSize - 1`) the end-of-document token. The
 * end-of-document token is not part of the Hugging Face vocabulary, so no text can produce it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { BPE, Tokenizer, byteLevelPreTokenizer } from 'tokenizers';
import { writeFileAtomic } from '@moepp/run-format';
import { BYTE_TO_CHAR, tokenToBytes } from './byte-level.ts';

/** Text of the end-of-document token (GPT-2's convention). */
export const END_OF_DOCUMENT_TOKEN = '<|endoftext|>';

/** Default vocabulary size: small, so that embeddings do not dominate small MoE models. */
export const DEFAULT_VOCAB_SIZE = 4096;

/** Smallest vocabulary: 256 byte tokens + the end-of-document token, no merges. */
export const MIN_VOCAB_SIZE = 257;

/** File format tag of a saved tokenizer; bump the version when the meaning of a file changes. */
export const TOKENIZER_FILE_FORMAT = 'moepp-bpe-tokenizer';
export const TOKENIZER_FILE_VERSION = 1;

/** Pre-tokenization: GPT-2's regex split, no space added before the text (encode→decode is exact). */
const PRE_TOKENIZER = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true } as const;

/** Version of the installed `tokenizers` package (part of the cache key: its trainer decides the merges). */
export const TOKENIZERS_VERSION: string = (createRequire(import.meta.url)('tokenizers/package.json') as { version: string }).version;

/** Contents of a cached tokenizer file (`<cacheDir>/<key>.json`). */
export interface BpeTokenizerFile {
  readonly format: typeof TOKENIZER_FILE_FORMAT;
  readonly formatVersion: number;
  /** Cache key: hash of corpus and settings. */
  readonly key: string;
  /** Total ids, end-of-document included. */
  readonly vocabSize: number;
  readonly endOfDocumentToken: string;
  /** Merges in rank order, as byte-level strings (`['Ġ', 't']`). */
  readonly merges: readonly (readonly [string, string])[];
  /** How it was made (informational; not used to load). */
  readonly training: {
    readonly documents: number;
    readonly characters: number;
    readonly corpusSha256: string;
    readonly tokenizersVersion: string;
    /** Merges the library's trainer produced before the cut. */
    readonly mergesLearned: number;
    readonly seconds: number;
    readonly createdAt: string;
  };
}

/**
 * A trained byte-level BPE tokenizer. Encoding runs in the native library; decoding and byte
 * lengths are computed here from the byte-level table.
 */
export class BpeTokenizer {
  /** Total number of ids, end-of-document included. */
  readonly vocabSize: number;
  /** Id of the end-of-document token (always the last id). */
  readonly eodId: number;
  /** Merges in rank order. */
  readonly merges: readonly (readonly [string, string])[];
  /** Byte-level string of each id (`END_OF_DOCUMENT_TOKEN` for the last). */
  readonly tokens: readonly string[];
  /** UTF-8 byte length of each id's text (0 for end-of-document, which stands for no text). */
  readonly byteLengths: Uint16Array;
  private readonly native: Tokenizer;
  private readonly tokenBytes: Uint8Array[];

  private constructor(merges: readonly (readonly [string, string])[]) {
    const tokens = [...BYTE_TO_CHAR];
    const vocab = new Map<string, number>(tokens.map((t, i) => [t, i]));
    for (const [a, b] of merges) {
      if (!vocab.has(a) || !vocab.has(b)) throw new Error(`Invalid merge list: '${a}' + '${b}' uses a token no earlier merge made.`);
      const merged = a + b;
      // Different merges can make the same string ('a'+'bc', 'ab'+'c'); it gets one id.
      if (!vocab.has(merged)) {
        vocab.set(merged, tokens.length);
        tokens.push(merged);
      }
    }
    this.merges = merges;
    this.eodId = tokens.length;
    tokens.push(END_OF_DOCUMENT_TOKEN);
    this.tokens = tokens;
    this.vocabSize = tokens.length;
    this.tokenBytes = tokens.map((t, id) => (id === this.eodId ? new Uint8Array(0) : tokenToBytes(t)));
    this.byteLengths = Uint16Array.from(this.tokenBytes, (b) => b.length);
    this.native = Tokenizer.fromString(this.toHuggingFaceJson());
  }

  /**
   * Builds a tokenizer from merges in rank order (all 256 byte tokens are always included).
   *
   * @example
   * const tok = BpeTokenizer.fromMerges([['Ġ', 't'], ['h', 'e'], ['Ġt', 'he']]);
   * tok.vocabSize; // 256 + 3 + 1
   */
  static fromMerges(merges: readonly (readonly [string, string])[]): BpeTokenizer {
    return new BpeTokenizer(merges);
  }

  /** Loads a tokenizer file written by {@link loadOrTrainBpeTokenizer}. */
  static fromFile(path: string): BpeTokenizer {
    if (!existsSync(path)) throw new Error(`Tokenizer file not found: ${path}. Train it with loadOrTrainBpeTokenizer (or prepareData).`);
    const file = readTokenizerFile(path);
    if (!file) throw new Error(`${path} is not a ${TOKENIZER_FILE_FORMAT} v${TOKENIZER_FILE_VERSION} file; delete it to retrain.`);
    const tokenizer = new BpeTokenizer(file.merges);
    if (tokenizer.vocabSize !== file.vocabSize) {
      throw new Error(`${path}: merges give ${tokenizer.vocabSize} ids but the file says ${file.vocabSize}; delete it to retrain.`);
    }
    return tokenizer;
  }

  /**
   * Encodes text (no end-of-document token is added).
   *
   * @example
   * const ids = await tok.encode('The jury said.');
   * tok.decode(ids); // 'The jury said.'
   */
  async encode(text: string): Promise<Int32Array> {
    return (await this.encodeBatch([text]))[0];
  }

  /** Encodes many texts at once (the native library parallelises the batch). */
  async encodeBatch(texts: readonly string[]): Promise<Int32Array[]> {
    const encodings = await this.native.encodeBatch([...texts], { addSpecialTokens: false });
    return encodings.map((e, i) => {
      const ids = Int32Array.from(e.getIds());
      // Every byte has a token, so the pieces must add up to the text; a mismatch would mean
      // silently lost bytes (what the library does with characters outside its vocabulary).
      let bytes = 0;
      for (const id of ids) bytes += this.byteLengths[id];
      const expected = Buffer.byteLength(texts[i], 'utf8');
      if (bytes !== expected) throw new Error(`Tokenizer lost bytes: ${expected} in, ${bytes} encoded (text ${i} of the batch).`);
      return ids;
    });
  }

  /**
   * Decodes ids to text: concatenates each token's bytes and reads them as UTF-8 (a window that
   * cuts a multi-byte character shows U+FFFD there). The end-of-document id is written as
   * {@link END_OF_DOCUMENT_TOKEN}, or left out with `skipEndOfDocument`.
   */
  decode(ids: ArrayLike<number>, options: { skipEndOfDocument?: boolean } = {}): string {
    const eod = options.skipEndOfDocument ? new Uint8Array(0) : Buffer.from(END_OF_DOCUMENT_TOKEN, 'utf8');
    const parts: Uint8Array[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (!(id >= 0 && id < this.vocabSize) || !Number.isInteger(id)) throw new Error(`Token id ${id} is outside 0…${this.vocabSize - 1}.`);
      parts.push(id === this.eodId ? eod : this.tokenBytes[id]);
    }
    return Buffer.concat(parts).toString('utf8');
  }

  /** Byte-level string of an id (e.g. `'Ġthe'`). */
  idToToken(id: number): string {
    const t = this.tokens[id];
    if (t === undefined) throw new Error(`Token id ${id} is outside 0…${this.vocabSize - 1}.`);
    return t;
  }

  /**
   * The tokenizer as a standard Hugging Face `tokenizer.json` (without the end-of-document token,
   * which lives at id `vocabSize - 1` by convention), for use from Python or Rust.
   */
  toHuggingFaceJson(): string {
    const vocab: Record<string, number> = {};
    for (let id = 0; id < this.eodId; id++) vocab[this.tokens[id]] = id;
    return JSON.stringify({
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: [],
      normalizer: null,
      pre_tokenizer: PRE_TOKENIZER,
      post_processor: null,
      decoder: PRE_TOKENIZER,
      model: {
        type: 'BPE',
        dropout: null,
        unk_token: null,
        continuing_subword_prefix: null,
        end_of_word_suffix: null,
        fuse_unk: false,
        byte_fallback: false,
        ignore_merges: false,
        vocab,
        merges: this.merges,
      },
    });
  }
}

/** Options of {@link loadOrTrainBpeTokenizer}. */
export interface BpeTrainingOptions {
  /** Directory of cached tokenizers (created if missing), e.g. `.cache/tokenizers`. */
  readonly cacheDir: string;
  /** Total ids including end-of-document. Default {@link DEFAULT_VOCAB_SIZE}. */
  readonly vocabSize?: number;
}

/** What {@link loadOrTrainBpeTokenizer} returns. */
export interface LoadedBpeTokenizer {
  readonly tokenizer: BpeTokenizer;
  /** Cache key (hex): hash of the training texts and every setting that changes the result. */
  readonly key: string;
  /** Path of the cached file, `<cacheDir>/<key>.json`. */
  readonly path: string;
  /** `true` when the file existed and no training ran. */
  readonly fromCache: boolean;
  /** The file's contents (training metadata included). */
  readonly file: BpeTokenizerFile;
}

/**
 * Cache key of a tokenizer: sha256 over the file format version, the `tokenizers` version, the
 * pre-tokenizer, the end-of-document token, the vocabulary size and the training texts (each
 * length-prefixed, in order), shortened to 20 hex digits.
 */
export function tokenizerCacheKey(trainingTexts: readonly string[], vocabSize: number): { key: string; corpusSha256: string } {
  const corpus = createHash('sha256');
  for (const t of trainingTexts) corpus.update(`${Buffer.byteLength(t, 'utf8')}:`).update(t, 'utf8');
  const corpusSha256 = corpus.digest('hex');
  const settings = {
    format: TOKENIZER_FILE_FORMAT,
    formatVersion: TOKENIZER_FILE_VERSION,
    tokenizers: TOKENIZERS_VERSION,
    preTokenizer: PRE_TOKENIZER,
    endOfDocument: END_OF_DOCUMENT_TOKEN,
    vocabSize,
    corpusSha256,
  };
  return { key: createHash('sha256').update(JSON.stringify(settings)).digest('hex').slice(0, 20), corpusSha256 };
}

/**
 * Returns the tokenizer for these training texts and settings: loaded from
 * `<cacheDir>/<key>.json` when present, otherwise trained and written there atomically
 * (temp file + rename, so a crash never leaves a half-written cache entry).
 *
 * @example
 * const { tokenizer, fromCache } = await loadOrTrainBpeTokenizer(
 *   split.train.map((d) => d.text), { cacheDir: '.cache/tokenizers', vocabSize: 4096 });
 */
export async function loadOrTrainBpeTokenizer(trainingTexts: readonly string[], options: BpeTrainingOptions): Promise<LoadedBpeTokenizer> {
  const vocabSize = options.vocabSize ?? DEFAULT_VOCAB_SIZE;
  if (!Number.isInteger(vocabSize) || vocabSize < MIN_VOCAB_SIZE) {
    throw new Error(`vocabSize must be an integer >= ${MIN_VOCAB_SIZE} (256 bytes + end-of-document), got ${vocabSize}.`);
  }
  if (trainingTexts.length === 0 || trainingTexts.every((t) => t.length === 0)) {
    throw new Error('Cannot train a tokenizer on no text: the training split is empty.');
  }
  const { key, corpusSha256 } = tokenizerCacheKey(trainingTexts, vocabSize);
  mkdirSync(options.cacheDir, { recursive: true });
  const path = join(options.cacheDir, `${key}.json`);
  const cached = readTokenizerFile(path);
  if (cached && cached.key === key && cached.vocabSize === vocabSize) {
    return { tokenizer: BpeTokenizer.fromFile(path), key, path, fromCache: true, file: cached };
  }

  const started = performance.now();
  const learned = trainAllMerges(trainingTexts, options.cacheDir);
  const merges = firstMergesForVocab(learned, vocabSize);
  const tokenizer = BpeTokenizer.fromMerges(merges);
  if (tokenizer.vocabSize !== vocabSize) {
    throw new Error(
      `vocabSize ${vocabSize} is more than this corpus yields: the tokenizers trainer learned ${learned.length} merges ` +
        `(it stops at 30,000 tokens or when every word is one token), enough for ${tokenizer.vocabSize} ids. Lower vocabSize or add text.`,
    );
  }
  const file: BpeTokenizerFile = {
    format: TOKENIZER_FILE_FORMAT,
    formatVersion: TOKENIZER_FILE_VERSION,
    key,
    vocabSize,
    endOfDocumentToken: END_OF_DOCUMENT_TOKEN,
    merges,
    training: {
      documents: trainingTexts.length,
      characters: trainingTexts.reduce((n, t) => n + t.length, 0),
      corpusSha256,
      tokenizersVersion: TOKENIZERS_VERSION,
      mergesLearned: learned.length,
      seconds: (performance.now() - started) / 1000,
      createdAt: new Date().toISOString(),
    },
  };
  writeFileAtomic(path, JSON.stringify(file));
  return { tokenizer, key, path, fromCache: false, file };
}

/**
 * The first merges of `merges` that fill a vocabulary of `vocabSize` ids (256 bytes + merge
 * results + end-of-document), i.e. up to and including the merge that creates the last new
 * token — the point where the library's trainer, given that target, would have stopped.
 */
export function firstMergesForVocab(
  merges: readonly (readonly [string, string])[],
  vocabSize: number,
): (readonly [string, string])[] {
  const wanted = vocabSize - MIN_VOCAB_SIZE;
  const made = new Set<string>(BYTE_TO_CHAR);
  const kept: (readonly [string, string])[] = [];
  for (const m of merges) {
    if (made.size - 256 >= wanted) break;
    kept.push(m);
    made.add(m[0] + m[1]);
  }
  return kept;
}

/**
 * Runs the library's default BPE trainer on the texts (one per line of a temporary file, which is
 * what `train(files)` reads) and returns all merges it learned, in rank order.
 */
export function trainAllMerges(trainingTexts: readonly string[], scratchDir: string): [string, string][] {
  mkdirSync(scratchDir, { recursive: true });
  const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const textPath = join(scratchDir, `.train-${tag}.txt`);
  const savedPath = join(scratchDir, `.trained-${tag}.json`);
  try {
    writeFileSync(textPath, trainingTexts.join('\n') + '\n');
    const trainer = new Tokenizer(BPE.empty());
    trainer.setPreTokenizer(byteLevelPreTokenizer(PRE_TOKENIZER.add_prefix_space, PRE_TOKENIZER.use_regex));
    trainer.train([textPath]);
    trainer.save(savedPath);
    const saved = JSON.parse(readFileSync(savedPath, 'utf8')) as { model: { merges: ([string, string] | string)[] } };
    // Older library versions saved merges as "a b" strings, newer ones as pairs; accept both.
    return saved.model.merges.map((m) => {
      if (typeof m !== 'string') return [m[0], m[1]];
      const space = m.indexOf(' ');
      return [m.slice(0, space), m.slice(space + 1)];
    });
  } finally {
    rmSync(textPath, { force: true });
    rmSync(savedPath, { force: true });
  }
}

/** Reads a tokenizer file; `null` if missing, unreadable or of another format/version (then it is retrained). */
function readTokenizerFile(path: string): BpeTokenizerFile | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return null;
  }
  const f = parsed as Partial<BpeTokenizerFile> | null;
  if (!f || f.format !== TOKENIZER_FILE_FORMAT || f.formatVersion !== TOKENIZER_FILE_VERSION || !Array.isArray(f.merges)) return null;
  return f as BpeTokenizerFile;
}
