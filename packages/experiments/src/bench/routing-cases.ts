/**
 * The routing cases of one layer group: one MoE case and one MoE++ case per τ under balanced(τ)
 * routing, or the trained routing of a checkpoint (both sides when `--checkpoint-moe` is given).
 */
import seedrandom from 'seedrandom';
import { sampleBalancedTopK } from './balanced-routing.ts';
import { TOP_K, type Routing } from './bench-options.ts';
import type { LayerGroup } from './bench-plan.ts';
import type { Checkpoints } from './checkpoint-routing.ts';
import { buildRoutingCase, type Impl, type LayerPair, type RoutingCase } from './layer-fixture.ts';

/** One timed case: a layer of the pair with the inputs that make it route as designed. */
export interface CaseSpec {
  key: string;
  impl: Impl;
  tau: number | null;
  routing: Routing;
  c: RoutingCase;
}

/** The routing cases of a group: one MoE case, and one MoE++ case per τ (or the checkpoint's). */
export function buildCases(pair: LayerPair, g: LayerGroup, routing: Routing, checkpoints: Checkpoints, seed: number, notes: string[], log: (s: string) => void): CaseSpec[] {
  const checkpoint = checkpoints.moepp;
  const rng = seedrandom.alea(`routing:${seed}:${pair.width}:${pair.experts}:${g.tokens}`);
  const moeTopK = sampleBalancedTopK(pair.moe.kinds, g.tokens, TOP_K, 1, rng);
  const cases: CaseSpec[] = [];
  const add = (impl: Impl, tau: number | null, topK: Int32Array, key: string) =>
    cases.push({ key, impl, tau, routing, c: buildRoutingCase(pair[impl], pair.dModel, topK, g.tokens, seed * 100 + cases.length) });
  if (routing === 'balanced') {
    add('moe', null, moeTopK, 'moe');
    for (const tau of g.taus) add('moepp', tau, sampleBalancedTopK(pair.moepp.kinds, g.tokens, TOP_K, tau, rng), `moepp@${tau}`);
    return cases;
  }
  if (!checkpoint) return [];
  if (checkpoint.kinds.join() !== pair.moepp.kinds.join() || checkpoint.topK !== TOP_K) {
    const line = `checkpoint routing skipped for ${pair.experts}E: the checkpoint's experts [${checkpoint.kinds.join(',')}] (top-${checkpoint.topK}) differ from [${pair.moepp.kinds.join(',')}]`;
    if (!notes.includes(line)) {
      notes.push(line);
      log(line);
    }
    return [];
  }
  const trainedMoe = checkpoints.moe;
  if (trainedMoe) add('moe', null, Int32Array.from(trainedMoe.topKIndex.subarray(0, g.tokens * TOP_K)), 'moe@ckpt');
  else add('moe', null, moeTopK, 'moe');
  const topK = checkpoint.topKIndex.subarray(0, g.tokens * TOP_K);
  add('moepp', checkpoint.tau, Int32Array.from(topK), `moepp@ckpt`);
  return cases;
}

/** What the summary says about the checkpoint routings in use. */
export function checkpointNotes({ moepp, moe }: Checkpoints): string[] {
  if (!moepp) return [];
  return [
    `checkpoint routing: ${moepp.source}, experts [${moepp.kinds.join(',')}], τ ${moepp.tau}, FFN share of slots ${(moepp.ffnShare * 100).toFixed(1)} %`,
    moe
      ? `checkpoint routing, MoE side: ${moe.source} (a trained vanilla MoE, ${moe.kinds.length} FFN experts)`
      : 'checkpoint routing, MoE side: uniform load (no --checkpoint-moe); a trained MoE router is less balanced',
  ];
}
