/**
 * Held-out evaluation: loss, perplexity and next-token top-1 accuracy over a prefix of a split's
 * non-overlapping windows, and optionally routing statistics aggregated over those tokens — per
 * layer (expert load, FFN experts per token, ZC share per kind, logit moments) and per POS class
 * and piece kind of the *input* token (the token whose routing it is), the measures of core's
 * routing-measures.ts, and co-activation across adjacent MoE layers. With `top1` it also returns
 * each layer's top-1 choice per token, in window order, and each layer's slots per expert: the
 * trainer's record for router saturation and for expert load over training. With `detail` it
 * breaks the next-token loss and accuracy down by the POS class of the predicted token and by
 * genre (evaluation.json).
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  addCoActivation, DEAD_EXPERT_THRESHOLD, deadExpertCount, evaluationContext, loadEntropy, maxViolation,
  type LayerRoutingStats, type MoeppLM,
} from '@moepp/core';
import type { CoActivation, EvaluationFile, LayerRouting, RoutingFile } from '@moepp/run-format';
import { PIECE_KINDS, POS_CLASSES, sequentialBatches, type TokenStream } from '../data/index.ts';

export interface EvalResult {
  loss: number;
  perplexity: number;
  accuracy: number;
  tokens: number;
  tokensPerSecond: number;
}

/** routing.json as the evaluation writes it: one list of expert kinds per MoE layer. */
export type HeldOutRouting = RoutingFile & { expertKinds: string[][] };

/** evaluation.json's next-token groups (the trainer adds the split's name and the cloze probe). */
export type HeldOutDetail = Omit<EvaluationFile, 'formatVersion' | 'split' | 'cloze'>;

/** Loss sum, correct predictions, token count (and FFN experts summed) of a group of tokens. */
class GroupSums {
  loss: Float64Array;
  correct: Float64Array;
  tokens: Float64Array;
  ffn: Float64Array;
  constructor(groups: number) {
    this.loss = new Float64Array(groups);
    this.correct = new Float64Array(groups);
    this.tokens = new Float64Array(groups);
    this.ffn = new Float64Array(groups);
  }
  add(group: number, loss: number, correct: boolean, ffn: number): void {
    this.loss[group] += loss;
    this.correct[group] += correct ? 1 : 0;
    this.tokens[group]++;
    this.ffn[group] += ffn;
  }
  /** Mean loss and accuracy of group `g` (which has tokens). */
  prediction(g: number) {
    return { tokens: this.tokens[g], loss: this.loss[g] / this.tokens[g], accuracy: this.correct[g] / this.tokens[g] };
  }
}

export function evaluate(
  model: MoeppLM,
  stream: TokenStream,
  options: { batchSize: number; seqLen: number; maxWindows: number; routing?: boolean; top1?: boolean; detail?: boolean },
): { result: EvalResult; routing: HeldOutRouting | null; top1: Int32Array[] | null; load: number[][] | null; detail: HeldOutDetail | null } {
  let lossSum = 0;
  let correct = 0;
  let tokens = 0;
  const layerStats: LayerRoutingStats[][] = [];
  const posSum = new Float64Array(POS_CLASSES.length);
  const posCount = new Float64Array(POS_CLASSES.length);
  const pieceSum = new Float64Array(PIECE_KINDS.length);
  const pieceCount = new Float64Array(PIECE_KINDS.length);
  const kinds = model.moeLayerKinds();
  const topK = model.config.moe?.topK ?? 0;
  // Slots per token of a layer's selection: K, except for modes whose selection ranks every
  // expert and marks the taken slots (expert-choice), whose choices are not a per-token top-K.
  const slotsPerToken = (l: LayerRoutingStats) => l.topKIndex.length / l.ffnExpertsPerToken.length;
  // (E_l × E_{l+1}) per adjacent pair of MoE layers.
  const coActivation = kinds.slice(1).map((next, l) => kinds[l].map(() => new Array<number>(next.length).fill(0)));
  const top1Parts: Int32Array[][] = kinds.map(() => []);
  // Slots per expert of each layer over every window (the top-1 record's companion).
  const load = kinds.map((k) => new Array<number>(k.length).fill(0));
  const byTargetPos = new GroupSums(POS_CLASSES.length);
  const byGenre = new GroupSums(stream.genres.length);
  // FFN experts a token got, as a mean over MoE layers: 0, 1/L, …, K (L·K + 1 groups).
  const ffnSteps = kinds.length * topK;
  const byFfnExperts = new GroupSums(ffnSteps + 1);
  const routingStats = options.routing === true || options.top1 === true || options.detail === true;
  const started = performance.now();

  for (const batch of sequentialBatches(stream, { batchSize: options.batchSize, seqLen: options.seqLen, maxWindows: options.maxWindows })) {
    const n = batch.batchSize * batch.seqLen;
    let out: { ce: number; predicted: Int32Array; tokenCe: Float32Array | null; routing: LayerRoutingStats[] } | undefined;
    tf.tidy(() => {
      const inputs = tf.tensor2d(batch.inputs, [batch.batchSize, batch.seqLen], 'int32');
      const targets = tf.tensor2d(batch.targets, [batch.batchSize, batch.seqLen], 'int32');
      const o = model.forward(inputs, { targets, context: evaluationContext(), routingStats });
      const predicted = tf.argMax(o.logits, 1).dataSync() as Int32Array; // sync read: metrics
      const tokenCe = options.detail ? tokenCrossEntropy(o.logits as tf.Tensor2D, batch.targets) : null;
      out = { ce: (o.ce as tf.Scalar).dataSync()[0], predicted, tokenCe, routing: o.routing };
    });
    if (!out) throw new Error('unreachable: evaluation produced no output');
    lossSum += out.ce * n;
    tokens += n;
    for (let i = 0; i < n; i++) if (out.predicted[i] === batch.targets[i]) correct++;
    if (options.top1) {
      out.routing.forEach((l, j) => top1Parts[j].push(l.topKIndex.filter((_, i) => i % slotsPerToken(l) === 0)));
      out.routing.forEach((l, j) => l.tokensPerExpert.forEach((v, e) => (load[j][e] += v)));
    }
    if (options.detail && out.tokenCe) {
      const { tokenCe, predicted, routing } = out;
      for (let r = 0; r < batch.batchSize; r++) {
        for (let t = 0; t < batch.seqLen; t++) {
          const i = r * batch.seqLen + t;
          const right = predicted[i] === batch.targets[i];
          const ffn = routing.length ? routing.reduce((acc, l) => acc + l.ffnExpertsPerToken[i], 0) / routing.length : 0;
          byTargetPos.add(batch.targetPos[i], tokenCe[i], right, 0);
          byGenre.add(stream.genre[batch.starts[r] + t], tokenCe[i], right, ffn);
          if (routing.length) byFfnExperts.add(Math.round(ffn * kinds.length), tokenCe[i], right, ffn);
        }
      }
    }
    if (options.routing && out.routing.length > 0) {
      layerStats.push(out.routing);
      const perTokenTopK = out.routing.every((l) => slotsPerToken(l) === topK);
      for (let l = 0; perTokenTopK && l + 1 < out.routing.length; l++) addCoActivation(coActivation[l], out.routing[l].topKIndex, topK, out.routing[l + 1].topKIndex, topK);
      // FFN experts per input token, averaged over MoE++ layers, by the input token's labels.
      for (let r = 0; r < batch.batchSize; r++) {
        for (let t = 0; t < batch.seqLen; t++) {
          const i = r * batch.seqLen + t;
          const ffn = out.routing.reduce((s, l) => s + l.ffnExpertsPerToken[i], 0) / out.routing.length;
          const pos = stream.pos[batch.starts[r] + t];
          const piece = stream.piece[batch.starts[r] + t];
          posSum[pos] += ffn;
          posCount[pos]++;
          pieceSum[piece] += ffn;
          pieceCount[piece]++;
        }
      }
    }
  }
  if (tokens === 0) throw new Error(`the evaluation split has fewer than ${options.seqLen + 1} tokens; use a larger corpus or a shorter training.seqLen`);
  const seconds = (performance.now() - started) / 1000;
  const loss = lossSum / tokens;
  const result = { loss, perplexity: Math.exp(loss), accuracy: correct / tokens, tokens, tokensPerSecond: tokens / seconds };
  const top1 = options.top1 && kinds.length > 0 ? top1Parts.map(concatenate) : null;
  // Groups without tokens in the evaluated windows are left out.
  const present = (sums: GroupSums, names: readonly string[]) => names.flatMap((name, g) => (sums.tokens[g] > 0 ? [[name, g] as const] : []));
  const detail: HeldOutDetail | null = options.detail
    ? {
        tokens,
        byTargetPos: Object.fromEntries(present(byTargetPos, POS_CLASSES).map(([name, g]) => [name, byTargetPos.prediction(g)])),
        byGenre: Object.fromEntries(present(byGenre, stream.genres).map(([name, g]) => [name, { ...byGenre.prediction(g), ffnExpertsPerToken: kinds.length ? byGenre.ffn[g] / byGenre.tokens[g] : null }])),
        byFfnExperts: Object.fromEntries(present(byFfnExperts, Array.from({ length: ffnSteps + 1 }, (_, g) => String(g / kinds.length))).map(([name, g]) => [name, byFfnExperts.prediction(g)])),
      }
    : null;
  const loads = options.top1 && kinds.length > 0 ? load : null;
  if (!options.routing || layerStats.length === 0) return { result, routing: null, top1, load: loads, detail };

  const byLabel = (names: readonly string[], sum: Float64Array, count: Float64Array) =>
    Object.fromEntries(names.map((name, i) => [name, { tokens: count[i], ffnExpertsPerToken: count[i] ? sum[i] / count[i] : 0 }]));
  return {
    result,
    routing: {
      formatVersion: 1,
      expertKinds: model.moeLayerKinds(),
      layers: aggregateLayers(layerStats, model.moeLayers().map((l) => l.spec.tau)),
      byPos: byLabel(POS_CLASSES, posSum, posCount),
      byPiece: byLabel(PIECE_KINDS, pieceSum, pieceCount),
      // Not recorded where the selection is not a per-token top-K (expert-choice).
      coActivation: layerStats[0].every((l) => slotsPerToken(l) === topK) ? coActivation.map((counts, fromLayer): CoActivation => ({ fromLayer, counts })) : [],
    },
    top1,
    load: loads,
    detail,
  };
}

/**
 * Cross-entropy of each row's target, in nats: logsumexp(logits) − logit of the target.
 * logits (N, V), targets (N) → (N), read back (sync: a metric).
 */
export function tokenCrossEntropy(logits: tf.Tensor2D, targets: Int32Array): Float32Array {
  const vocab = logits.shape[1];
  const flatIndex = tf.tensor1d(Int32Array.from(targets, (t, i) => i * vocab + t), 'int32');
  const targetLogit = tf.gather(tf.reshape(logits, [-1]), flatIndex);
  return tf.sub(tf.logSumExp(logits, 1), targetLogit).dataSync() as Float32Array;
}

function concatenate(parts: Int32Array[]): Int32Array {
  const out = new Int32Array(parts.reduce((s, p) => s + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** Token-weighted means of per-batch statistics (sums for counts), and the load measures of the summed load. */
function aggregateLayers(batches: LayerRoutingStats[][], tauPerLayer: number[]): LayerRouting[] {
  return batches[0].map((first, l) => {
    const all = batches.map((b) => b[l]);
    const weights = all.map((s) => s.ffnExpertsPerToken.length);
    const total = weights.reduce((a, b) => a + b, 0);
    const mean = (f: (s: LayerRoutingStats) => number) => all.reduce((acc, s, i) => acc + f(s) * weights[i], 0) / total;
    const meanSquare = mean((s) => s.routerLogitStd ** 2 + s.routerLogitMean ** 2);
    const logitMean = mean((s) => s.routerLogitMean);
    const kinds = Object.keys(first.slotShare);
    const tokensPerExpert = Array.from(first.tokensPerExpert, (_, e) => all.reduce((acc, s) => acc + s.tokensPerExpert[e], 0));
    const droppedSlots = all.reduce((acc, s) => acc + s.droppedSlots, 0);
    const slots = total * (first.topKIndex.length / first.ffnExpertsPerToken.length);
    return {
      layer: first.layer,
      block: first.block,
      tokensPerExpert,
      ffnExpertsPerToken: mean((s) => s.ffnExpertsPerTokenMean),
      slotShare: Object.fromEntries(kinds.map((k) => [k, mean((s) => s.slotShare[k as keyof typeof s.slotShare])])),
      droppedSlots,
      routerLogitMean: logitMean,
      routerLogitStd: Math.sqrt(Math.max(0, meanSquare - logitMean ** 2)),
      routingScoreVariance: mean((s) => s.routingScoreVariance),
      balanceLossNormalised: mean((s) => s.balanceLossNormalised),
      maxVio: maxViolation(tokensPerExpert, first.expertKinds, tauPerLayer[l]),
      loadEntropy: loadEntropy(tokensPerExpert),
      routingEntropy: mean((s) => s.routingEntropy),
      deadExperts: deadExpertCount(tokensPerExpert, first.expertKinds, tauPerLayer[l]),
      deadExpertThreshold: DEAD_EXPERT_THRESHOLD,
      dropRate: slots > 0 ? droppedSlots / slots : 0,
    };
  });
}
