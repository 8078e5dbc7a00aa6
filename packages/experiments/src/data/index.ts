/** Public API of the data layer: corpora, splits, tokenizer, token streams and batchers. */
export {
  RandomWindowBatcher,
  sequentialBatches,
  sequentialWindowCount,
  type RandomBatcherState,
  type WindowBatch,
  type WindowShape,
} from './batcher.ts';
export {
  BpeTokenizer,
  DEFAULT_VOCAB_SIZE,
  END_OF_DOCUMENT_TOKEN,
  MIN_VOCAB_SIZE,
  TOKENIZERS_VERSION,
  firstMergesForVocab,
  loadOrTrainBpeTokenizer,
  tokenizerCacheKey,
  trainAllMerges,
  type BpeTokenizerFile,
  type BpeTrainingOptions,
  type LoadedBpeTokenizer,
} from './bpe-tokenizer.ts';
export {
  BROWN_DOCUMENT_COUNT,
  brownCorpusDir,
  brownDocument,
  loadBrownCorpus,
  parseBrownFile,
  readBrownGenres,
  type BrownToken,
  type LoadBrownOptions,
} from './brown-corpus.ts';
export { BYTE_TO_CHAR, textToByteLevel, tokenToBytes } from './byte-level.ts';
export { countWords, type CorpusDocument } from './corpus-document.ts';
export { loadCustomCorpus, textDocument, type CustomCorpusFormat, type CustomCorpusOptions } from './custom-corpus.ts';
export { detokenize, type DetokenizedText } from './detokenize.ts';
export { labelPieces, type PieceLabels } from './piece-alignment.ts';
export {
  PIECE_KINDS,
  PIECE_KIND_ID,
  POS_CLASSES,
  POS_CLASS_ID,
  posClassIdOfBrownTag,
  posClassOfBrownTag,
  type PieceKind,
  type PosClass,
  type PosClassId,
} from './pos-classes.ts';
export { loadCorpus, prepareData, type CorpusSource, type PrepareDataOptions, type PreparedData } from './prepare-data.ts';
export {
  DEFAULT_SPLIT_SALT,
  heldOutCounts,
  splitDocuments,
  splitHash,
  type DocumentSplit,
  type SplitName,
  type SplitOptions,
} from './splits.ts';
export {
  encodeDocuments,
  tokenStreamStats,
  type EncodeDocumentsOptions,
  type TokenStream,
  type TokenStreamStats,
} from './token-dataset.ts';
