/**
 * One call from "which corpus, which vocabulary size" to the three token streams a training run
 * needs: load the corpus, split it, train (or load the cached) tokenizer on the training split
 * only, and encode each split.
 */
import { type BpeTokenizer, DEFAULT_VOCAB_SIZE, loadOrTrainBpeTokenizer } from './bpe-tokenizer.ts';
import { loadBrownCorpus } from './brown-corpus.ts';
import type { CorpusDocument } from './corpus-document.ts';
import { type CustomCorpusFormat, loadCustomCorpus } from './custom-corpus.ts';
import { type DocumentSplit, type SplitOptions, splitDocuments } from './splits.ts';
import { encodeDocuments, type TokenStream } from './token-dataset.ts';

/** Where the documents come from: the embedded Brown Corpus, or a user's file. */
export type CorpusSource =
  | { readonly kind: 'brown'; readonly ids?: readonly string[] }
  | { readonly kind: 'file'; readonly path: string; readonly format?: CustomCorpusFormat };

/** Options of {@link prepareData}. */
export interface PrepareDataOptions {
  /** Default `{ kind: 'brown' }`. */
  readonly corpus?: CorpusSource;
  /** Tokenizer vocabulary size (end-of-document included). Default 4096. */
  readonly vocabSize?: number;
  /** Tokenizer cache directory, e.g. `.cache/tokenizers`. */
  readonly cacheDir: string;
  /** Split fractions / salt. */
  readonly split?: SplitOptions;
}

/** Everything a run needs from the data layer. */
export interface PreparedData {
  /** Documents of each split (sorted by id). */
  readonly documents: DocumentSplit<CorpusDocument>;
  readonly tokenizer: BpeTokenizer;
  /** Tokenizer cache key and file; record them in the run's config. */
  readonly tokenizerKey: string;
  readonly tokenizerPath: string;
  readonly tokenizerFromCache: boolean;
  readonly train: TokenStream;
  readonly validation: TokenStream;
  readonly test: TokenStream;
}

/**
 * Loads the documents of a corpus source.
 *
 * @example
 * loadCorpus({ kind: 'brown' }).length; // 500
 */
export function loadCorpus(source: CorpusSource = { kind: 'brown' }): CorpusDocument[] {
  return source.kind === 'brown'
    ? loadBrownCorpus(source.ids ? { ids: source.ids } : {})
    : loadCustomCorpus(source.path, source.format ? { format: source.format } : {});
}

/**
 * Loads, splits, tokenizes and encodes a corpus.
 *
 * @example
 * const data = await prepareData({ cacheDir: '.cache/tokenizers' });
 * data.train.ids.length; // ≈ 1.49M tokens at vocabulary 4096
 */
export async function prepareData(options: PrepareDataOptions): Promise<PreparedData> {
  const source = options.corpus ?? { kind: 'brown' };
  const documents = splitDocuments(loadCorpus(source), options.split);
  for (const name of ['train', 'validation', 'test'] as const) {
    if (documents[name].length === 0) {
      const where = source.kind === 'file' ? source.path : 'the Brown Corpus selection';
      throw new Error(
        `The ${name} split of ${where} is empty: splitting is by document and needs at least 3 documents ` +
          `(plain text: separate documents with blank lines; JSONL: one document per line).`,
      );
    }
  }
  const loaded = await loadOrTrainBpeTokenizer(
    documents.train.map((d) => d.text),
    { cacheDir: options.cacheDir, vocabSize: options.vocabSize ?? DEFAULT_VOCAB_SIZE },
  );
  const { tokenizer } = loaded;
  return {
    documents,
    tokenizer,
    tokenizerKey: loaded.key,
    tokenizerPath: loaded.path,
    tokenizerFromCache: loaded.fromCache,
    train: await encodeDocuments(tokenizer, documents.train),
    validation: await encodeDocuments(tokenizer, documents.validation),
    test: await encodeDocuments(tokenizer, documents.test),
  };
}
