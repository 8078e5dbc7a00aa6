/**
 * The held-out breakdown of evaluate(): a prediction is grouped by the POS class of the token it
 * predicts and by the genre of the token it reads, each group's loss and accuracy match a float64
 * reference computed from the model's logits, and the expert-load record sums every layer's slots.
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
import { evaluate } from './evaluate.ts';

const seqLen = 16;
const windows = 6;

describe('evaluate: by target POS and by genre', () => {
  let stream: TokenStream;
  beforeAll(async () => {
    await useTestBackend();
    const runs = planStudy(loadStudy(join(repoRoot(), 'experiments', 'smoke.yaml')));
    const validation = (await prepareRunData(runs[1].config.data, repoRoot())).validation;
    // Labels that say which position a group holds: the token after each window's first is a
    // number (so 'number' holds every window's prediction at t = 0), each window's sixth token is
    // genre 'b' (so 'b' holds the prediction at t = 5).
    const pos = new Uint8Array(validation.ids.length).fill(POS_CLASS_ID.noun);
    const genre = new Uint8Array(validation.ids.length);
    for (let w = 0; w < windows; w++) {
      pos[w * seqLen + 1] = POS_CLASS_ID.number;
      genre[w * seqLen + 5] = 1;
    }
    stream = { ...validation, pos, genre, genres: ['a', 'b'] };
  });

  it('groups match a float64 reference from the logits, position by position', () => {
    const model = new MoeppLM(resolveModelConfig({
      vocabSize: 512, dModel: 32, nLayers: 2, nHeads: 2, maxSeqLen: seqLen,
      moe: { experts: { ffn: 4, zero: 1, copy: 1, constant: 1 }, topK: 2, ffnHidden: 32, tau: 0.75, gating: 'reference', gatingResidual: true, capacityFactor: null },
    }), 5);
    try {
      const { detail, load, result } = evaluate(model, stream, { batchSize: 4, seqLen, maxWindows: windows, routing: true, top1: true, detail: true });
      // Reference: per-position cross-entropy and top-1 hit, one window at a time, in float64.
      const ce: number[][] = [];
      const hit: boolean[][] = [];
      for (let w = 0; w < windows; w++) {
        const inputs = stream.ids.subarray(w * seqLen, (w + 1) * seqLen);
        const logits = tf.tidy(() => model.forward(tf.tensor2d(inputs, [1, seqLen], 'int32'), { context: evaluationContext() }).logits.dataSync());
        const vocab = logits.length / seqLen;
        ce.push([]);
        hit.push([]);
        for (let t = 0; t < seqLen; t++) {
          const row = Array.from(logits.subarray(t * vocab, (t + 1) * vocab), Number);
          const max = Math.max(...row);
          const target = stream.ids[w * seqLen + t + 1];
          ce[w].push(max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0)) - row[target]);
          hit[w].push(row.indexOf(max) === target);
        }
      }
      const at = (t: number) => ({ loss: ce.reduce((s, r) => s + r[t], 0) / windows, accuracy: hit.filter((r) => r[t]).length / windows });
      expect(detail!.byTargetPos.number.tokens).toBe(windows);
      expect(detail!.byTargetPos.number.loss).toBeCloseTo(at(0).loss, 4);
      expect(detail!.byTargetPos.number.accuracy).toBe(at(0).accuracy);
      expect(detail!.byGenre.b.tokens).toBe(windows);
      expect(detail!.byGenre.b.loss).toBeCloseTo(at(5).loss, 4);
      expect(detail!.byGenre.a.tokens).toBe(windows * (seqLen - 1));
      expect(detail!.tokens).toBe(result.tokens);
      // Tokens by FFN experts received: every token once, in groups of the layer-mean count.
      expect(Object.values(detail!.byFfnExperts).reduce((a, g) => a + g.tokens, 0)).toBe(result.tokens);
      for (const key of Object.keys(detail!.byFfnExperts)) expect(Number(key) * 2 % 1).toBe(0);
      // K = 2 slots per token in every layer, no capacity.
      expect(load!.map((l) => l.reduce((a, b) => a + b, 0))).toEqual([windows * seqLen * 2, windows * seqLen * 2]);
    } finally {
      model.dispose();
    }
  });
});
