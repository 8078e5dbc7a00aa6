/**
 * Input/target windows for next-token training and evaluation.
 *
 * Training draws random contiguous windows from the train stream with a seeded RNG whose state
 * is saved in checkpoints, so a resumed run sees exactly the batches an uninterrupted run would.
 * Evaluation walks the held-out stream in order with non-overlapping windows, so every target
 * token is scored at most once and the result does not depend on a seed.
 *
 * Every batch is row-major `(B, T)`: `targets[r·T + t]` is the token after `inputs[r·T + t]`,
 * and `targetPos` / `targetPiece` label the *targets* (what the model is asked to predict).
 */
import seedrandom from 'seedrandom';
import type { TokenStream } from './token-dataset.ts';

/** One batch of windows. */
export interface WindowBatch {
  /** Rows in this batch (the last evaluation batch may have fewer than requested). */
  readonly batchSize: number;
  readonly seqLen: number;
  readonly inputs: Int32Array; // (B, T)
  readonly targets: Int32Array; // (B, T)
  readonly targetPos: Uint8Array; // (B, T)
  readonly targetPiece: Uint8Array; // (B, T)
  /** Stream offset of each row's first input token. */
  readonly starts: Int32Array; // (B)
}

/** Window shape. */
export interface WindowShape {
  /** Rows per batch, B. */
  readonly batchSize: number;
  /** Tokens per row, T. */
  readonly seqLen: number;
}

/** Everything needed to continue a {@link RandomWindowBatcher} exactly; plain JSON. */
export interface RandomBatcherState {
  readonly kind: 'random-window-batcher';
  readonly version: 1;
  readonly seed: string;
  readonly batchSize: number;
  readonly seqLen: number;
  /** Length of the stream it was drawing from (checked on restore). */
  readonly streamLength: number;
  /** Batches drawn so far. */
  readonly batchesDrawn: number;
  /** seedrandom ARC4 state. */
  readonly rng: seedrandom.State.Arc4;
}

/**
 * Random contiguous windows from a token stream. Each row starts at an offset drawn uniformly
 * from `[0, N - T - 1]` (so the row's T targets exist); rows may overlap and cross document
 * boundaries (the end-of-document token marks those).
 *
 * @example
 * const batcher = new RandomWindowBatcher(train, { batchSize: 8, seqLen: 128, seed: 1 });
 * const batch = batcher.next();          // inputs/targets (8, 128)
 * const saved = batcher.state();         // store in the checkpoint
 * const resumed = RandomWindowBatcher.fromState(train, saved); // continues identically
 */
export class RandomWindowBatcher {
  readonly batchSize: number;
  readonly seqLen: number;
  readonly seed: string;
  private readonly stream: TokenStream;
  private readonly rng: seedrandom.StatefulPRNG<seedrandom.State.Arc4>;
  private drawn: number;

  constructor(stream: TokenStream, options: WindowShape & { readonly seed: number | string }, restore?: RandomBatcherState) {
    checkShape(options);
    if (stream.ids.length < options.seqLen + 1) {
      throw new Error(`Token stream has ${stream.ids.length} tokens, too few for one window of seqLen ${options.seqLen} (needs seqLen + 1).`);
    }
    this.stream = stream;
    this.batchSize = options.batchSize;
    this.seqLen = options.seqLen;
    this.seed = String(options.seed);
    // seedrandom copies a given state and ignores the seed; a fresh state comes from the seed.
    this.rng = restore ? seedrandom('', { state: restore.rng }) : seedrandom(this.seed, { state: true });
    this.drawn = restore ? restore.batchesDrawn : 0;
  }

  /** Rebuilds a batcher from {@link RandomBatcherState}; throws if the stream or shape differ. */
  static fromState(stream: TokenStream, state: RandomBatcherState): RandomWindowBatcher {
    if (state.kind !== 'random-window-batcher' || state.version !== 1) {
      throw new Error(`Not a random-window-batcher v1 state (kind ${String(state.kind)}, version ${String(state.version)}).`);
    }
    if (state.streamLength !== stream.ids.length) {
      throw new Error(
        `Batcher state was saved on a stream of ${state.streamLength} tokens but this one has ${stream.ids.length}: ` +
          'resume with the same corpus, split and tokenizer.',
      );
    }
    return new RandomWindowBatcher(stream, state, state);
  }

  /** Batches drawn so far. */
  get batchesDrawn(): number {
    return this.drawn;
  }

  /** Draws the next batch of `batchSize` random windows. */
  next(): WindowBatch {
    const { batchSize, seqLen } = this;
    const choices = this.stream.ids.length - seqLen; // valid starts: 0 … N - T - 1
    const starts = new Int32Array(batchSize);
    for (let r = 0; r < batchSize; r++) starts[r] = Math.floor(this.rng() * choices);
    this.drawn++;
    return gatherWindows(this.stream, starts, seqLen);
  }

  /** The current state as plain JSON (a copy: later draws do not change it). */
  state(): RandomBatcherState {
    return {
      kind: 'random-window-batcher',
      version: 1,
      seed: this.seed,
      batchSize: this.batchSize,
      seqLen: this.seqLen,
      streamLength: this.stream.ids.length,
      batchesDrawn: this.drawn,
      rng: this.rng.state(),
    };
  }
}

/**
 * Number of non-overlapping evaluation windows in a stream: `floor((N - 1) / T)`. The last
 * `(N - 1) mod T` targets (fewer than one window) are not evaluated.
 */
export function sequentialWindowCount(stream: TokenStream, seqLen: number): number {
  return Math.max(0, Math.floor((stream.ids.length - 1) / seqLen));
}

/**
 * Non-overlapping windows in stream order for evaluation: window k has inputs
 * `[k·T, k·T + T)` and targets `[k·T + 1, k·T + T + 1)`; windows are grouped `batchSize` at a
 * time (the last batch may be smaller). Pass `maxWindows` to evaluate only a prefix.
 *
 * @example
 * for (const batch of sequentialBatches(validation, { batchSize: 16, seqLen: 128 })) evaluate(batch);
 */
export function* sequentialBatches(
  stream: TokenStream,
  options: WindowShape & { readonly maxWindows?: number },
): Generator<WindowBatch> {
  checkShape(options);
  const { batchSize, seqLen } = options;
  const windows = Math.min(sequentialWindowCount(stream, seqLen), options.maxWindows ?? Infinity);
  for (let first = 0; first < windows; first += batchSize) {
    const rows = Math.min(batchSize, windows - first);
    const starts = new Int32Array(rows);
    for (let r = 0; r < rows; r++) starts[r] = (first + r) * seqLen;
    yield gatherWindows(stream, starts, seqLen);
  }
}

/** Copies the windows starting at `starts` out of the stream. */
function gatherWindows(stream: TokenStream, starts: Int32Array, seqLen: number): WindowBatch {
  const rows = starts.length;
  const inputs = new Int32Array(rows * seqLen);
  const targets = new Int32Array(rows * seqLen);
  const targetPos = new Uint8Array(rows * seqLen);
  const targetPiece = new Uint8Array(rows * seqLen);
  for (let r = 0; r < rows; r++) {
    const s = starts[r];
    const o = r * seqLen;
    inputs.set(stream.ids.subarray(s, s + seqLen), o);
    targets.set(stream.ids.subarray(s + 1, s + seqLen + 1), o);
    targetPos.set(stream.pos.subarray(s + 1, s + seqLen + 1), o);
    targetPiece.set(stream.piece.subarray(s + 1, s + seqLen + 1), o);
  }
  return { batchSize: rows, seqLen, inputs, targets, targetPos, targetPiece, starts };
}

function checkShape(shape: WindowShape): void {
  for (const [name, v] of [['batchSize', shape.batchSize], ['seqLen', shape.seqLen]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer, got ${v}.`);
  }
}
