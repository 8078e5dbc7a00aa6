/**
 * The cloze probe: items and distractors as documented (same POS class and piece count, nearest
 * training frequency, enough context), scores equal to log-probabilities computed window by window
 * in float64 from the model's logits, and accuracy that counts a tie as wrong.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { join } from 'node:path';
import { evaluationContext, MoeppLM, resolveModelConfig } from '@moepp/core';
import { repoRoot } from '@moepp/run-format';
import { POS_CLASS_ID, type TokenStream } from '../data/index.ts';
import { prepareRunData } from '../runs/prepare-run-data.ts';
import { loadStudy, planStudy } from '../studies/study-config.ts';
import { useTestBackend } from '../testing/test-backend.ts';
import { buildClozeItems, clozeAccuracy, clozeWindow, scoreCloze } from './cloze-probe.ts';

/** A stream of words given as [ids, POS class] (an id < 100 starts a word, ≥ 100 is a fragment). */
function wordStream(words: [number[], keyof typeof POS_CLASS_ID][]): TokenStream {
  const ids = words.flatMap(([w]) => w);
  const pos = words.flatMap(([w, p]) => w.map(() => POS_CLASS_ID[p]));
  return {
    ids: Int32Array.from(ids), pos: Uint8Array.from(pos), piece: Uint8Array.from(ids, (id) => (id >= 100 ? 1 : 0)),
    genre: new Uint8Array(ids.length), genres: ['none'], eodId: 99, documents: 1, words: words.length,
  };
}

const repeat = <T>(n: number, x: T): T[] => Array.from({ length: n }, () => x);

describe('cloze items', () => {
  // Training counts: nouns [1] ×8, [2] ×16, [3] ×4, [4] ×64, [5] ×5; a two-piece noun [6, 100] ×8;
  // a verb [7] ×8; a noun [8] ×2 (under minCount).
  const train = wordStream([
    ...repeat(8, [[1], 'noun']), ...repeat(16, [[2], 'noun']), ...repeat(4, [[3], 'noun']), ...repeat(64, [[4], 'noun']),
    ...repeat(5, [[5], 'noun']), ...repeat(8, [[6, 100], 'noun']), ...repeat(8, [[7], 'verb']), ...repeat(2, [[8], 'noun']),
  ] as [number[], 'noun' | 'verb'][]);

  it('draws distractors of the same class and piece count, nearest in log training frequency, and skips words without context or enough count', () => {
    // Held out: 10 context words, then noun [1], verb [7], noun [8] (too rare), the two-piece noun (no peer), noun [2].
    const heldOut = wordStream([...repeat(10, [[9], 'punctuation']), [[1], 'noun'], [[7], 'verb'], [[8], 'noun'], [[6, 100], 'noun'], [[2], 'noun']] as [number[], 'noun' | 'verb' | 'punctuation'][]);
    const items = buildClozeItems(train, heldOut, { seqLen: 8, maxItems: 10 });
    // [1] (count 8): log-distances 16 → ln2, 5 → ln1.6, 4 → ln2, 64 → ln8; [3] never had count ≥ 5.
    // The verb has no peer verb; [8] is under minCount; [6, 100] has no other two-piece noun.
    expect(items.map((i) => [i.position, i.pos, i.candidates.map((c) => [...c])])).toEqual([
      [10, 'noun', [[1], [5], [2], [4]]],
      [15, 'noun', [[2], [1], [5], [4]]],
    ]);
    // A word needs seqLen + 1 − pieces tokens of context.
    expect(buildClozeItems(train, heldOut, { seqLen: 11, maxItems: 10 }).map((i) => i.position)).toEqual([15]);
    expect(buildClozeItems(train, heldOut, { seqLen: 8, maxItems: 1 }).map((i) => i.position)).toEqual([10]);
  });

  it('windows are the context before the word, then the candidate: seqLen + 1 tokens', () => {
    const heldOut = wordStream([...repeat(10, [[9], 'punctuation']), [[6, 100], 'noun']] as [number[], 'noun' | 'punctuation'][]);
    const item = { position: 10, pos: 'noun' as const, candidates: [Int32Array.of(6, 100), Int32Array.of(3, 101)] };
    expect([...clozeWindow(heldOut, item, item.candidates[1], 5)]).toEqual([9, 9, 9, 9, 3, 101]);
  });

  it('accuracy: right only when the true word scores strictly highest, per class too', () => {
    const item = (pos: 'noun' | 'verb') => ({ position: 0, pos, candidates: [Int32Array.of(1), Int32Array.of(2), Int32Array.of(3)] });
    const items = [item('noun'), item('noun'), item('verb')];
    const scores = [Float64Array.of(-1, -2, -3), Float64Array.of(-2, -2, -3), Float64Array.of(-3, -1, -4)];
    expect(clozeAccuracy(items, scores, 'test')).toEqual({ split: 'test', items: 3, candidates: 3, accuracy: 1 / 3, byPos: { noun: { items: 2, accuracy: 0.5 }, verb: { items: 1, accuracy: 0 } } });
  });
});

describe('cloze scores on the smoke data', () => {
  let data: Awaited<ReturnType<typeof prepareRunData>>;
  beforeAll(async () => {
    await useTestBackend();
    const runs = planStudy(loadStudy(join(repoRoot(), 'experiments', 'smoke.yaml')));
    data = await prepareRunData(runs[1].config.data, repoRoot());
  });

  it('items from the Brown test split have real distractors', () => {
    const items = buildClozeItems(data.train, data.test, { seqLen: 32, maxItems: 64 });
    expect(items).toHaveLength(64);
    for (const item of items) {
      expect(item.candidates).toHaveLength(4);
      expect([...data.test.ids.subarray(item.position, item.position + item.candidates[0].length)]).toEqual([...item.candidates[0]]);
      const keys = new Set(item.candidates.map((c) => c.join(',')));
      expect(keys.size).toBe(4);
      for (const c of item.candidates) expect(c.length).toBe(item.candidates[0].length);
    }
    expect(new Set(items.map((i) => i.pos)).size).toBeGreaterThan(1);
  });

  it('each score is the summed log-probability of the candidate pieces, as one window alone computes it in float64', () => {
    const seqLen = 32;
    const model = new MoeppLM(resolveModelConfig({
      vocabSize: 512, dModel: 32, nLayers: 2, nHeads: 2, maxSeqLen: seqLen,
      moe: { experts: { ffn: 4, zero: 1, copy: 1, constant: 1 }, topK: 2, ffnHidden: 32, tau: 0.75, gating: 'reference', gatingResidual: true, capacityFactor: null },
    }), 3);
    try {
      const items = buildClozeItems(data.train, data.test, { seqLen, maxItems: 3 });
      // Batches of 5 windows: one batch mixes items, the last is short.
      const scores = scoreCloze(model, data.test, items, { seqLen, batchSize: 5 });
      items.forEach((item, i) => item.candidates.forEach((c, j) => {
        const window = clozeWindow(data.test, item, c, seqLen);
        const logits = tf.tidy(() => model.forward(tf.tensor2d(window.subarray(0, seqLen), [1, seqLen], 'int32'), { context: evaluationContext() }).logits.dataSync());
        const vocab = logits.length / seqLen;
        let expected = 0;
        for (let t = seqLen - c.length; t < seqLen; t++) {
          const row = Array.from(logits.subarray(t * vocab, (t + 1) * vocab), Number);
          const max = Math.max(...row);
          const lse = max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
          expected += row[window[t + 1]] - lse;
        }
        expect(scores[i][j]).toBeCloseTo(expected, 3);
      }));
    } finally {
      model.dispose();
    }
  });
});
