/**
 * The MoE family's rows (family.csv): every design of family-designs.ts timed interleaved with
 * MoE top-2 at each width and token count of the grid's 8-expert groups, for the expert forward
 * (paper §7: dispatch, experts, combine; router excluded) and the layer forward (router included,
 * which hash routing does not have). Uniform routing for the routed designs; uniformly drawn token
 * ids for hash routing. Both measures run on packed weights where `blas` packs them, as layer.csv's.
 */
import * as tf from '@tensorflow/tfjs-core';
import { createMoeLayer, trainingContext, type ExecutorName, type MoeLayer, type RouterOutput } from '@moepp/core';
import { familyCsv, writeFileAtomic, type FamilyCsvRow } from '@moepp/run-format';
import { join } from 'node:path';
import seedrandom from 'seedrandom';
import { designedRouterLogits, sampleBalancedTopK } from './balanced-routing.ts';
import { endProgress, progress, type BenchContext } from './bench-context.ts';
import { WIDTHS, type Width } from './bench-options.ts';
import { layerGroups } from './bench-plan.ts';
import { FAMILY_DESIGNS, HASH_VOCAB, activeFfnHidden, sharedFfnHidden, type FamilyDesign } from './family-designs.ts';
import { runInterleaved, type GroupTimes } from './interleave.ts';
import { uniformArray } from './layer-fixture.ts';
import { packForMeasure } from './layer-group-run.ts';
import { readOneValue } from './layer-measures.ts';
import { summarizeTimes } from './statistics.ts';

export const FAMILY_MEASURES = ['expert_forward', 'layer_forward'] as const;
export type FamilyMeasure = (typeof FAMILY_MEASURES)[number];

/** One design's layer with the inputs that make it route as planned. */
export interface FamilyCase {
  design: FamilyDesign;
  layer: MoeLayer;
  /** (N, D) */
  x: tf.Tensor2D;
  /** (N) token ids for hash routing; null for routed designs. */
  tokenIds: Int32Array | null;
  /** The router's output on x, computed outside the clock (the expert forward excludes it). */
  routing: RouterOutput;
  /** The layer's parameters (what the forward-only measures pack). */
  weights: tf.Tensor[];
  dispose(): void;
}

const context = () => trainingContext('bench', 0);

/**
 * Builds `design` at `width` with `tokens` inputs. Matrices are uniform with the variance of
 * N(0, 1/fan_in), as the layer pair's; a routed design's W_r is the identity on x's first E
 * dimensions, which carry logits whose top-K is a drawn uniform routing.
 */
export function buildFamilyCase(design: FamilyDesign, width: Width, tokens: number, seed: number, executor: ExecutorName = 'host'): FamilyCase {
  const { dModel: D, dFfn: I } = WIDTHS[width];
  const spec = design.spec(D, I);
  const E = spec.kinds.length;
  const owned: tf.Tensor[] = [];
  const weights: tf.Tensor[] = [];
  let counter = seed * 1000;
  const layer = createMoeLayer(spec, (name, shape) => {
    const size = shape.reduce((a, b) => a * b, 1);
    let data: Float32Array;
    if (name === 'router.w_r') {
      data = new Float32Array(size);
      for (let e = 0; e < E; e++) data[e * E + e] = 1;
    } else data = uniformArray(size, shape.length === 1 ? 1 : Math.sqrt(3 / shape[0]), ++counter);
    const v = tf.variable(tf.tensor(data, shape, 'float32'), true, `bench.family.${design.name}.${name}.${uniqueId++}`);
    owned.push(v);
    weights.push(v);
    return v;
  }, executor);
  const rng = seedrandom.alea(`family:${seed}:${design.name}:${width}:${tokens}`);
  const hostX = uniformArray(tokens * D, Math.sqrt(3), seed * 7 + 1);
  let tokenIds: Int32Array | null = null;
  let planned: Int32Array | null = null;
  if (design.routing === 'hash') tokenIds = Int32Array.from({ length: tokens }, () => Math.floor(rng() * HASH_VOCAB));
  else {
    if (E > D) throw new Error(`the designed router needs D ≥ E (D ${D}, E ${E})`);
    planned = sampleBalancedTopK(spec.kinds, tokens, spec.topK, 1, rng);
    const logits = designedRouterLogits(planned, tokens, E, spec.topK, rng);
    for (let n = 0; n < tokens; n++) hostX.set(logits.subarray(n * E, n * E + E), n * D);
  }
  const x = tf.tensor2d(hostX, [tokens, D]);
  owned.push(x);
  let kept: RouterOutput | null = null;
  tf.tidy(() => {
    const r = layer.route(x, null, context(), tokenIds);
    kept = { ...r, routerLogits: tf.keep(r.routerLogits), routerProbs: tf.keep(r.routerProbs), routingWeights: tf.keep(r.routingWeights) };
  });
  const routing = kept as unknown as RouterOutput;
  owned.push(routing.routerLogits, routing.routerProbs, routing.routingWeights);
  if (planned) {
    for (let i = 0; i < planned.length; i++) {
      if (routing.plan.topKIndex[i] !== planned[i]) throw new Error(`${design.name}: designed routing failed at slot ${i}`);
    }
  }
  return { design, layer, x, tokenIds, routing, weights, dispose: () => tf.dispose(owned) };
}

/** One call of `measure` on `c`, waited for by reading one value of its output (as layer.csv's measures). */
export function familyCall(measure: FamilyMeasure, c: FamilyCase): () => void {
  return () => {
    const y = tf.tidy(() => (measure === 'expert_forward' ? c.layer.combine(c.x, c.routing) : c.layer.forward(c.x, null, context(), c.tokenIds).output));
    readOneValue(y);
    y.dispose();
  };
}

/** The (width, tokens) cells of the grid's 8-expert groups with a forward measure, and those measures. */
export function familyCells(ctx: Pick<BenchContext, 'options'>): { width: Width; tokens: number; measures: FamilyMeasure[] }[] {
  return layerGroups(ctx.options)
    .filter((g) => g.experts === 8)
    .map((g) => ({ width: g.width, tokens: g.tokens, measures: FAMILY_MEASURES.filter((m) => g.measures.includes(m)) }))
    .filter((c) => c.measures.length > 0);
}

/** Measures every family design in every cell, appending to and returning the rows; writes family.csv in `dir`. */
export function measureFamily(ctx: BenchContext, dir: string): FamilyCsvRow[] {
  const rows: FamilyCsvRow[] = [];
  for (const cell of familyCells(ctx)) {
    const { dModel: D, dFfn: I } = WIDTHS[cell.width];
    const cases = FAMILY_DESIGNS.map((d) => buildFamilyCase(d, cell.width, cell.tokens, ctx.options.seed, ctx.backend.executor));
    ctx.log(`MoE family: ${cell.width} ${cell.tokens} tokens: ${cell.measures.join(', ')} (${cases.map((c) => c.design.name).join(' ')})`);
    for (const measure of cell.measures) {
      // Both measures are forward-only: on packed weights, as layer.csv's (packForMeasure).
      const packed = packForMeasure(ctx, measure, cases.flatMap((c) => c.weights));
      let times: GroupTimes;
      try {
        times = runInterleaved(cases.map((c) => ({ key: c.design.name, run: familyCall(measure, c) })), { ...ctx.timing, onRound: progress(`family ${measure}`) });
      } finally {
        packed?.dispose();
      }
      endProgress();
      const baseline = summarizeTimes(times.get(FAMILY_DESIGNS[0].name)!).medianMs;
      for (const c of cases) {
        const t = summarizeTimes(times.get(c.design.name)!);
        const spec = c.layer.spec;
        const active = activeFfnHidden(spec);
        rows.push({
          measure, width: cell.width, d_model: D, d_ffn: I, design: c.design.name,
          experts: spec.kinds.length, expert_hidden: spec.ffnHidden, top_k: spec.topK,
          shared_hidden: sharedFfnHidden(spec), active_ffn_hidden: active, tokens: cell.tokens,
          median_ms: t.medianMs, p20_ms: t.p20Ms, p80_ms: t.p80Ms, reps: t.reps,
          tokens_per_s: cell.tokens / (t.medianMs / 1000),
          time_vs_moe_top2: t.medianMs / baseline,
          // Three matmuls of 2·D·h FLOPs per hidden unit h a token passes through.
          ffn_gflops: (cell.tokens * 6 * D * active) / (t.medianMs * 1e6),
        });
      }
      ctx.log(`  ${measure}: ${cases.map((c) => `${c.design.name} ${summarizeTimes(times.get(c.design.name)!).medianMs.toFixed(1)} ms`).join(', ')}`);
      writeFileAtomic(join(dir, 'family.csv'), familyCsv(rows));
    }
    for (const c of cases) c.dispose();
  }
  return rows;
}
let uniqueId = 0;
