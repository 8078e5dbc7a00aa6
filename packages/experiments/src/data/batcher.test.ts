import { describe, expect, it } from 'vitest';
import { RandomWindowBatcher, sequentialBatches, sequentialWindowCount } from './batcher.ts';
import type { TokenStream } from './token-dataset.ts';

/** Synthetic stream where token i has id i, POS i mod 11, piece i mod 2: alignment is checkable by value. */
function stream(n: number): TokenStream {
  const ids = Int32Array.from({ length: n }, (_, i) => i);
  return {
    ids,
    pos: Uint8Array.from(ids, (i) => i % 11),
    piece: Uint8Array.from(ids, (i) => i % 2),
    genre: new Uint8Array(n),
    genres: ['none'],
    eodId: -1,
    documents: 1,
    words: n,
  };
}

describe('RandomWindowBatcher', () => {
  const s = stream(1000);

  it('gives (B, T) windows whose targets are the inputs shifted by one, labels aligned to targets', () => {
    const batch = new RandomWindowBatcher(s, { batchSize: 4, seqLen: 16, seed: 1 }).next();
    expect(batch.inputs).toHaveLength(64);
    expect(batch.batchSize).toBe(4);
    for (let r = 0; r < 4; r++) {
      const start = batch.starts[r];
      expect(start).toBeGreaterThanOrEqual(0);
      expect(start + 16).toBeLessThan(1000);
      for (let t = 0; t < 16; t++) {
        const k = r * 16 + t;
        expect(batch.inputs[k]).toBe(start + t);
        expect(batch.targets[k]).toBe(start + t + 1);
        expect(batch.targetPos[k]).toBe(batch.targets[k] % 11);
        expect(batch.targetPiece[k]).toBe(batch.targets[k] % 2);
      }
    }
  });

  it('is deterministic under a seed and differs across seeds', () => {
    const draw = (seed: number | string) => {
      const b = new RandomWindowBatcher(s, { batchSize: 8, seqLen: 10, seed });
      return [b.next(), b.next()].flatMap((x) => [...x.starts]);
    };
    expect(draw(7)).toEqual(draw(7));
    expect(draw('7')).toEqual(draw(7));
    expect(draw(8)).not.toEqual(draw(7));
  });

  it('resumes from a saved (JSON round-tripped) state exactly as an uninterrupted run', () => {
    const shape = { batchSize: 8, seqLen: 10, seed: 42 };
    const straight = new RandomWindowBatcher(s, shape);
    const uninterrupted = Array.from({ length: 6 }, () => straight.next());

    const first = new RandomWindowBatcher(s, shape);
    for (let i = 0; i < 3; i++) first.next();
    const saved = JSON.parse(JSON.stringify(first.state()));
    expect(saved.batchesDrawn).toBe(3);
    const resumed = RandomWindowBatcher.fromState(s, saved);
    expect(resumed.batchesDrawn).toBe(3);
    for (let i = 3; i < 6; i++) {
      const b = resumed.next();
      expect(b.inputs).toEqual(uninterrupted[i].inputs);
      expect(b.targets).toEqual(uninterrupted[i].targets);
    }
    // The saved state is a snapshot: drawing more from `first` does not change it.
    const snapshot = first.state();
    first.next();
    expect(RandomWindowBatcher.fromState(s, snapshot).next().starts).toEqual(uninterrupted[3].starts);
  });

  it('rejects a state from another stream, too-short streams and bad shapes', () => {
    const state = new RandomWindowBatcher(s, { batchSize: 2, seqLen: 4, seed: 1 }).state();
    expect(() => RandomWindowBatcher.fromState(stream(999), state)).toThrow(/saved on a stream of 1000 tokens but this one has 999/);
    expect(() => new RandomWindowBatcher(stream(10), { batchSize: 1, seqLen: 10, seed: 1 })).toThrow(/too few for one window/);
    expect(() => new RandomWindowBatcher(s, { batchSize: 0, seqLen: 4, seed: 1 })).toThrow(/batchSize must be a positive integer/);
    // The smallest stream that fits one window always yields start 0.
    expect(new RandomWindowBatcher(stream(11), { batchSize: 3, seqLen: 10, seed: 1 }).next().starts).toEqual(Int32Array.from([0, 0, 0]));
  });
});

describe('sequentialBatches', () => {
  it('walks non-overlapping windows in order; the last batch may be smaller', () => {
    const s = stream(105);
    expect(sequentialWindowCount(s, 10)).toBe(10); // floor(104 / 10)
    const batches = [...sequentialBatches(s, { batchSize: 4, seqLen: 10 })];
    expect(batches.map((b) => b.batchSize)).toEqual([4, 4, 2]);
    const targets = batches.flatMap((b) => [...b.targets]);
    expect(targets).toEqual(Array.from({ length: 100 }, (_, i) => i + 1)); // every target once, in order
    const inputs = batches.flatMap((b) => [...b.inputs]);
    expect(inputs).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(batches.flatMap((b) => [...b.targetPos])).toEqual(targets.map((t) => t % 11));
    expect(batches.flatMap((b) => [...b.targetPiece])).toEqual(targets.map((t) => t % 2));
  });

  it('is the same on every call and can be limited to a prefix', () => {
    const s = stream(500);
    const a = [...sequentialBatches(s, { batchSize: 3, seqLen: 7 })];
    const b = [...sequentialBatches(s, { batchSize: 3, seqLen: 7 })];
    expect(a).toEqual(b);
    expect([...sequentialBatches(s, { batchSize: 3, seqLen: 7, maxWindows: 4 })].map((x) => x.batchSize)).toEqual([3, 1]);
    expect([...sequentialBatches(stream(5), { batchSize: 3, seqLen: 7 })]).toEqual([]);
  });
});
