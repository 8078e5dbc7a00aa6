/**
 * A cloze probe: does the model prefer the word that was written over words that could stand in
 * its place? A second accuracy beside next-token accuracy, one that asks for a whole word.
 *
 * How it is built (docs: packages/experiments/src/data/README.md, "The cloze probe"):
 * - Words are an initial BPE piece and the fragments after it. The training split gives the
 *   inventory: every word with its POS class and its training count.
 * - An item is a content word (noun, verb, adjective, adverb) of the held-out split that training
 *   saw at least `minCount` times. Its distractors are other training words of the same POS class
 *   and the same number of pieces, nearest in log training frequency (ties by token ids): neither
 *   the length of a word nor a unigram prior can pick the answer.
 * - Items are spread evenly over the split's eligible words (every k-th), at most `maxItems`.
 * - Each candidate is scored by the summed log-probability of its pieces after the same context,
 *   the `seqLen + 1 − pieces` tokens before the word, so every window is exactly `seqLen` long.
 *   The item is right when the true word scores strictly highest; chance is 1 / candidates.
 */
import * as tf from '@tensorflow/tfjs-core';
import { evaluationContext, type MoeppLM } from '@moepp/core';
import type { Cloze } from '@moepp/run-format';
import { POS_CLASSES, type PosClass, type TokenStream } from '../data/index.ts';
import { tokenCrossEntropy } from './evaluate.ts';

/** The POS classes items are drawn from. */
export const CLOZE_POS: readonly PosClass[] = ['noun', 'verb', 'adjective', 'adverb'];

export interface ClozeOptions {
  readonly seqLen: number;
  readonly maxItems: number;
  /** Distractors per item. Default 3 (chance 25 %). */
  readonly distractors?: number;
  /** Training count a word needs to be an item or a distractor. Default 5. */
  readonly minCount?: number;
}

/** One item: the word at `position` of the held-out stream, and its candidates (the true word first). */
export interface ClozeItem {
  readonly position: number;
  readonly pos: PosClass;
  /** Token ids of each candidate; `candidates[0]` is the word that was written. */
  readonly candidates: readonly Int32Array[];
}

interface Word {
  readonly ids: Int32Array;
  readonly pos: number;
  count: number;
}

/** The words of a stream, as [start, end) of each initial piece and its fragments (end-of-document tokens left out). */
function* words(stream: TokenStream): Generator<[number, number]> {
  const n = stream.ids.length;
  for (let i = 0; i < n; i++) {
    if (stream.piece[i] !== 0 || stream.ids[i] === stream.eodId) continue;
    let end = i + 1;
    while (end < n && stream.piece[end] === 1) end++;
    yield [i, end];
  }
}

const wordKey = (pos: number, ids: ArrayLike<number>) => `${pos}:${Array.prototype.join.call(ids, ',')}`;

/**
 * The probe's items over `heldOut`, with distractors from `train`'s word inventory.
 *
 * @example
 * const items = buildClozeItems(data.train, data.test, { seqLen: 64, maxItems: 256 });
 * items[0].candidates.length; // 4
 */
export function buildClozeItems(train: TokenStream, heldOut: TokenStream, options: ClozeOptions): ClozeItem[] {
  const distractors = options.distractors ?? 3;
  const minCount = options.minCount ?? 5;
  const inventory = new Map<string, Word>();
  for (const [start, end] of words(train)) {
    const ids = train.ids.subarray(start, end);
    const key = wordKey(train.pos[start], ids);
    const word = inventory.get(key);
    if (word) word.count++;
    else inventory.set(key, { ids: ids.slice(), pos: train.pos[start], count: 1 });
  }
  // Candidate pools by POS class and piece count, in a fixed order (ids) for the tie-break.
  const pools = new Map<string, { key: string; word: Word }[]>();
  for (const [key, word] of [...inventory].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (word.count < minCount) continue;
    const pool = `${word.pos}:${word.ids.length}`;
    if (!pools.has(pool)) pools.set(pool, []);
    pools.get(pool)!.push({ key, word });
  }
  const classes = new Set(CLOZE_POS.map((c) => POS_CLASSES.indexOf(c)));
  const eligible: ClozeItem[] = [];
  for (const [start, end] of words(heldOut)) {
    const pieces = end - start;
    const pos = heldOut.pos[start];
    if (!classes.has(pos) || start < options.seqLen + 1 - pieces) continue;
    const key = wordKey(pos, heldOut.ids.subarray(start, end));
    const target = inventory.get(key);
    if (!target || target.count < minCount) continue;
    const pool = (pools.get(`${pos}:${pieces}`) ?? []).filter((w) => w.key !== key);
    if (pool.length < distractors) continue;
    const distance = (w: Word) => Math.abs(Math.log(w.count) - Math.log(target.count));
    // A stable sort keeps the pool's id order among equal distances.
    const nearest = pool.map((w, order) => ({ w, order, d: distance(w.word) })).sort((a, b) => a.d - b.d || a.order - b.order).slice(0, distractors);
    eligible.push({ position: start, pos: POS_CLASSES[pos], candidates: [target.ids, ...nearest.map((n) => n.w.word.ids)] });
  }
  if (eligible.length <= options.maxItems) return eligible;
  const stride = eligible.length / options.maxItems;
  return Array.from({ length: options.maxItems }, (_, k) => eligible[Math.floor(k * stride)]);
}

/** The `seqLen + 1` tokens scored for one candidate: the context before the word, then the candidate. */
export function clozeWindow(stream: TokenStream, item: ClozeItem, candidate: Int32Array, seqLen: number): Int32Array {
  const window = new Int32Array(seqLen + 1);
  const context = seqLen + 1 - candidate.length;
  window.set(stream.ids.subarray(item.position - context, item.position), 0);
  window.set(candidate, context);
  return window;
}

/**
 * Summed log-probability (nats) of every candidate's pieces after its context, per item:
 * `scores[item][candidate]`. Windows go through the model `batchSize` at a time.
 */
export function scoreCloze(model: MoeppLM, stream: TokenStream, items: readonly ClozeItem[], shape: { seqLen: number; batchSize: number }): Float64Array[] {
  const { seqLen, batchSize } = shape;
  const jobs = items.flatMap((item, i) => item.candidates.map((c, j) => ({ i, j, pieces: c.length, window: clozeWindow(stream, item, c, seqLen) })));
  const scores = items.map((item) => new Float64Array(item.candidates.length));
  for (let first = 0; first < jobs.length; first += batchSize) {
    const batch = jobs.slice(first, first + batchSize);
    const inputs = new Int32Array(batch.length * seqLen);
    const targets = new Int32Array(batch.length * seqLen);
    batch.forEach((job, r) => {
      inputs.set(job.window.subarray(0, seqLen), r * seqLen);
      targets.set(job.window.subarray(1), r * seqLen);
    });
    const ce = tf.tidy(() => {
      const logits = model.forward(tf.tensor2d(inputs, [batch.length, seqLen], 'int32'), { context: evaluationContext() }).logits as tf.Tensor2D;
      return tokenCrossEntropy(logits, targets);
    });
    batch.forEach((job, r) => {
      let logProb = 0;
      for (let t = seqLen - job.pieces; t < seqLen; t++) logProb -= ce[r * seqLen + t];
      scores[job.i][job.j] = logProb;
    });
  }
  return scores;
}

/**
 * The probe's accuracy from the scores: an item is right when its true word (candidate 0) scores
 * strictly above every distractor.
 *
 * @example
 * clozeAccuracy(items, [Float64Array.of(-1, -2, -3, -4)], 'test'); // { accuracy: 1, items: 1, ... }
 */
export function clozeAccuracy(items: readonly ClozeItem[], scores: readonly Float64Array[], split: string): Cloze {
  const right = items.map((_, i) => scores[i].every((s, j) => j === 0 || scores[i][0] > s));
  const share = (subset: boolean[]) => (subset.length ? subset.filter(Boolean).length / subset.length : 0);
  const byPos = Object.fromEntries(CLOZE_POS.flatMap((pos) => {
    const mine = right.filter((_, i) => items[i].pos === pos);
    return mine.length ? [[pos, { items: mine.length, accuracy: share(mine) }]] : [];
  }));
  return { split, items: items.length, candidates: items[0]?.candidates.length ?? 2, accuracy: share(right), byPos };
}
