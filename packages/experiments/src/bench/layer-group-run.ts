/**
 * One layer group, measured: every measure of the group timed interleaved over its cases (MoE
 * and its MoE++ variants, plus a plain matmul chain at each case's rows per FFN expert, timed in
 * the same rounds), one layer.csv row per case and measure, the PyTorch peer's rows and checks
 * when it runs, and the op profile of the forward+backward where asked.
 */
import { expertKind, isFfnLike } from '@moepp/core';
import { packWeights, type PackedWeights } from '@moepp/backends';
import type * as tf from '@tensorflow/tfjs-core';
import { performance } from 'node:perf_hooks';
import type { Measure, Routing } from './bench-options.ts';
import type { LayerGroup } from './bench-plan.ts';
import { endProgress, progress, type BenchContext } from './bench-context.ts';
import { layerMeasureFlops, theoreticalIncrease } from './flops.ts';
import { runInterleaved, type TimedCall } from './interleave.ts';
import type { Impl, LayerPair } from './layer-fixture.ts';
import { layerCall, layerResults, transientPeakBytes, type LayerMeasure, type LayerResults } from './layer-measures.ts';
import { matmulChain, type MatmulChain } from './matmul-rate.ts';
import { profileOps } from './op-profile.ts';
import type { CaseSpec } from './routing-cases.ts';
import { deliveredFraction, summarizeTimes, throughputIncrease } from './statistics.ts';
import { peerPayload, runTorchPeer, type PeerCase } from './torch-peer.ts';

/**
 * Measures `cases` of group `g` on `pair`, appending to `ctx.rows` (and `ctx.checks`).
 * `profileHere` asks for the forward+backward op profile of this group.
 */
export async function measureLayerGroup(ctx: BenchContext, pair: LayerPair, g: LayerGroup, routing: Routing, cases: CaseSpec[], profileHere: boolean): Promise<void> {
  const { rows, timing } = ctx;
  const expected = new Map<string, Partial<Record<LayerMeasure, LayerResults>>>();
  // The plain matmul chain at each case's mean rows per FFN expert runs inside the first
  // measure's rounds, so its rate and the layer's are taken under the same machine state.
  const chains = new Map<string, MatmulChain>(cases.map((cs) => [cs.key, matmulChain(cs.c.ffnSlots / pair.moe.kinds.length, pair.dModel, pair.dFfn)]));
  const matmulRate = new Map<string, number>();
  for (const [mi, measure] of g.measures.entries()) {
    const groupStart = performance.now();
    const calls: TimedCall[] = cases.map((cs) => ({ key: cs.key, run: layerCall(measure, pair[cs.impl], cs.c) }));
    if (mi === 0) for (const [key, chain] of chains) calls.push({ key: `matmul:${key}`, run: () => chain.run() });
    const packed = packForMeasure(ctx, measure, [...pair.moe.variables, ...pair.moepp.variables, ...(mi === 0 ? [...chains.values()].flatMap((c) => c.weights) : [])]);
    let times: ReturnType<typeof runInterleaved>;
    try {
      times = runInterleaved(calls, { ...timing, onRound: progress(measure) });
    } finally {
      packed?.dispose();
    }
    endProgress();
    const measured = new Map<string, ReturnType<typeof summarizeTimes>>();
    for (const cs of cases) measured.set(cs.key, summarizeTimes(times.get(cs.key)!));
    if (mi === 0) {
      for (const [key, chain] of chains) {
        matmulRate.set(key, chain.flops / (summarizeTimes(times.get(`matmul:${key}`)!).medianMs * 1e6));
        chain.dispose();
      }
    }
    const moeCase = cases.find((c) => c.impl === 'moe')!;
    const moeFlops = caseFlops(pair, measure, moeCase);
    for (const cs of cases) {
      const t = measured.get(cs.key)!;
      const flops = caseFlops(pair, measure, cs);
      const layer = pair[cs.impl];
      const peak = layer.paramBytes + (await transientPeakBytes(calls.find((c) => c.key === cs.key)!.run));
      const increase = cs.impl === 'moepp' ? throughputIncrease(measured.get(moeCase.key)!.medianMs, t.medianMs) : null;
      const theoretical = cs.impl === 'moepp' ? theoreticalIncrease(moeFlops.total, flops.total) : null;
      rows.push({
        ...shapeColumns(pair, cs, measure, routing, g.tokens),
        impl: cs.impl,
        median_ms: t.medianMs, p20_ms: t.p20Ms, p80_ms: t.p80Ms, reps: t.reps,
        tokens_per_s: g.tokens / (t.medianMs / 1000),
        increase, theoretical_increase: theoretical,
        delivered: increase !== null && theoretical !== null ? deliveredFraction(increase, theoretical) : null,
        ffn_gflops: flops.ffn / (t.medianMs * 1e6),
        matmul_gflops: matmulRate.get(cs.key)!,
        peak_bytes: peak,
      });
    }
    ctx.flush();
    ctx.log(`  ${measure}: ${cases.map((c) => `${c.key} ${measured.get(c.key)!.medianMs.toFixed(1)} ms`).join(', ')} (${((performance.now() - groupStart) / 1000).toFixed(0)} s)`);
    if (ctx.peerOk) {
      for (const cs of cases) {
        const names = new Map([...pair[cs.impl].named].filter(([n]) => n.startsWith('router.') || /^experts\.0\./.test(n) || n === firstConstant(pair, cs.impl)));
        const e = expected.get(cs.key) ?? {};
        e[measure] = layerResults(measure, pair[cs.impl], cs.c, names);
        expected.set(cs.key, e);
      }
    }
  }
  if (ctx.peerOk) comparePeer(ctx, pair, g, routing, cases, expected);
  if (profileHere) {
    const cs = cases.find((c) => c.impl === 'moepp' && (c.tau === 0.75 || c.routing === 'checkpoint')) ?? cases[cases.length - 1];
    const profile = await profileOps(layerCall('layer_forward_backward', pair[cs.impl], cs.c));
    ctx.profiles.push({ scope: `layer_forward_backward ${g.width} ${g.experts}E ${g.tokens} tokens ${cs.key}`, profile });
  }
}

/** The PyTorch peer on the same cases: checks its outputs against ours, then times the same measures. */
function comparePeer(ctx: BenchContext, pair: LayerPair, g: LayerGroup, routing: Routing, cases: CaseSpec[], expected: Map<string, Partial<Record<LayerMeasure, LayerResults>>>): void {
  const { options, timing, rows } = ctx;
  ctx.log('  PyTorch peer: checking outputs and timing the same measures …');
  const peerCases: PeerCase[] = cases.map((cs) => ({ key: cs.key, impl: cs.impl, tau: cs.tau, c: cs.c, expected: expected.get(cs.key) ?? {} }));
  const result = runTorchPeer(options.python, peerPayload(pair, peerCases, g.measures, timing, options.peerThreads), options.peerThreads);
  for (const ch of result.checks) ctx.checks.push({ ...ch, key: `${g.width}/${g.experts}E/${g.tokens}/${routing}/${ch.key}` });
  const worst = Math.max(...result.checks.map((c) => c.max_abs_diff / Math.max(1, c.max_abs)));
  ctx.log(`  torch ${result.torch} (${result.threads} threads): largest relative difference ${worst.toExponential(2)}`);
  const moeCase = cases.find((c) => c.impl === 'moe')!;
  for (const measure of g.measures) {
    const moe = result.times[`${measure}|${moeCase.key}`];
    const moeFlops = caseFlops(pair, measure, moeCase);
    for (const cs of cases) {
      const t = result.times[`${measure}|${cs.key}`];
      if (!t) continue;
      const flops = caseFlops(pair, measure, cs);
      const increase = cs.impl === 'moepp' ? throughputIncrease(moe.median_ms, t.median_ms) : null;
      const theoretical = cs.impl === 'moepp' ? theoreticalIncrease(moeFlops.total, flops.total) : null;
      rows.push({
        ...shapeColumns(pair, cs, measure, routing, g.tokens),
        impl: `torch-${cs.impl}`,
        median_ms: t.median_ms, p20_ms: t.p20_ms, p80_ms: t.p80_ms, reps: t.reps,
        tokens_per_s: g.tokens / (t.median_ms / 1000),
        increase, theoretical_increase: theoretical,
        delivered: increase !== null && theoretical !== null ? deliveredFraction(increase, theoretical) : null,
        ffn_gflops: flops.ffn / (t.median_ms * 1e6),
        matmul_gflops: null,
        peak_bytes: null,
      });
    }
  }
  ctx.flush();
}

/** The first parameter of the first zero-computation expert that has parameters (a constant expert's W_c), for the peer's check. */
function firstConstant(pair: LayerPair, impl: Impl): string {
  const dims = { dModel: pair.dModel, ffnHidden: pair.dFfn };
  const e = pair[impl].kinds.findIndex((k) => !isFfnLike(k) && expertKind(k).parameters(dims).length > 0);
  return e < 0 ? '' : `experts.${e}.${expertKind(pair[impl].kinds[e]).parameters(dims)[0].name}`;
}

function shapeColumns(pair: LayerPair, cs: CaseSpec, measure: Measure, routing: Routing, tokens: number) {
  const kinds = pair[cs.impl].kinds;
  const ffnExperts = kinds.filter(isFfnLike).length;
  return {
    measure, routing, width: pair.width, d_model: pair.dModel, d_ffn: pair.dFfn,
    experts: kinds.length, ffn_experts: ffnExperts, zc_experts: kinds.length - ffnExperts,
    tau: cs.tau, tokens, ffn_slots: cs.c.ffnSlots,
  };
}

const FORWARD_ONLY: readonly Measure[] = ['expert_forward', 'layer_forward'];

/**
 * Forward-only measures run on weights packed once, as inference runs them (the plain matmul chain
 * too, so that its rate stays the layer's reference); forward+backward does not, since training
 * changes its weights every step. Says once per run, in the notes, what was packed or why not.
 */
export function packForMeasure(ctx: Pick<BenchContext, 'options' | 'backend' | 'notes' | 'log'>, measure: Measure, weights: tf.Tensor[]): PackedWeights | null {
  if (!FORWARD_ONLY.includes(measure) || !ctx.options.packedWeights) return null;
  const packed = packWeights(weights);
  // Plain wasm needs no note: XNNPACK caches its packed weights across calls by itself.
  if (packed.reason !== null && ctx.backend.backend !== 'blas') return packed;
  const note = packed.reason === null
    ? 'Forward-only measures (expert_forward, layer_forward) ran on weights packed once, as inference runs them, each FFN expert in one native call (packWeights; `--no-packed-weights` times OpenBLAS packing them on every call, through tf ops).'
    : `Forward-only measures ran without packed weights: ${packed.reason}.`;
  if (!ctx.notes.includes(note)) {
    ctx.notes.push(note);
    ctx.log(note);
  }
  return packed;
}

function caseFlops(pair: LayerPair, measure: LayerMeasure, cs: CaseSpec): { total: number; ffn: number } {
  const layer = pair[cs.impl];
  return layerMeasureFlops(measure, {
    tokens: cs.c.tokens, ffnSlots: cs.c.ffnSlots, dModel: pair.dModel, dFfn: pair.dFfn,
    experts: layer.kinds.length, residual: layer.layer.params.router.wG !== null,
  });
}
