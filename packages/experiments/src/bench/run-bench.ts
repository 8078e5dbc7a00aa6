/**
 * The benchmark run: walks the grid, times each group interleaved, compares with the PyTorch
 * peer when asked, profiles, and writes `results/bench/<timestamp>/` (docs/run-folder.md):
 * environment.json, layer.csv, peer-checks.csv, profile.csv, summary.md.
 */
import seedrandom from 'seedrandom';
import { expertKind, isFfnLike } from '@moepp/core';
import { mkdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { layerCsv, recordsCsv, writeFileAtomic, type LayerCsvRow } from '@moepp/run-format';
import { benchSummaryMarkdown as summaryMarkdown } from '@moepp/reports';
import { describeEnvironment } from '../runs/environment.ts';
import { sampleBalancedTopK } from './balanced-routing.ts';
import { MEASURES, TOP_K, type BenchOptions, type ExpertSet, type Measure, type Routing, type Width } from './bench-options.ts';
import type { BenchBackend } from './bench-backend.ts';
import { loadCheckpoints, type Checkpoints } from './checkpoint-routing.ts';
import { layerMeasureFlops, theoreticalIncrease } from './flops.ts';
import { runInterleaved, type TimedCall } from './interleave.ts';
import { buildLayerPair, buildRoutingCase, type Impl, type LayerPair, type RoutingCase } from './layer-fixture.ts';
import { layerCall, layerResults, transientPeakBytes, type LayerMeasure, type LayerResults } from './layer-measures.ts';
import { matmulChain, plainMatmulGflops, type MatmulChain } from './matmul-rate.ts';
import { profileOps, type OpProfile } from './op-profile.ts';
import { deliveredFraction, summarizeTimes, throughputIncrease } from './statistics.ts';
import { peerPayload, runTorchPeer, torchAvailable, type PeerCase, type PeerCheck } from './torch-peer.ts';
import { buildTrainStep, defaultStudyModels } from './train-step.ts';

export interface BenchResult {
  dir: string;
  rows: LayerCsvRow[];
  checks: PeerCheck[];
  profiles: { scope: string; profile: OpProfile }[];
  notes: string[];
  seconds: number;
}

/** UTC `YYYYMMDD-HHMMSS`. */
export function benchTimestamp(d = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}-${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
}

interface LayerGroup {
  width: Width;
  experts: ExpertSet;
  tokens: number;
  measures: LayerMeasure[];
  taus: number[];
}

/** The layer groups of the grid, merged across slices, in an order that reuses each layer pair. */
export function layerGroups(options: BenchOptions): LayerGroup[] {
  const groups = new Map<string, LayerGroup>();
  for (const slice of options.grid) {
    for (const width of slice.widths) {
      for (const experts of slice.experts) {
        for (const tokens of slice.tokens) {
          const measures = slice.measures.filter((m): m is LayerMeasure => m !== 'train_step');
          if (measures.length === 0) continue;
          const key = `${width}|${experts}|${tokens}`;
          const g = groups.get(key) ?? { width, experts, tokens, measures: [], taus: [] };
          g.measures = MEASURES.filter((m): m is LayerMeasure => m !== 'train_step' && (g.measures.includes(m as LayerMeasure) || measures.includes(m as LayerMeasure)));
          g.taus = [...new Set([...g.taus, ...slice.taus])].sort((a, b) => a - b);
          groups.set(key, g);
        }
      }
    }
  }
  const widthOrder: Width[] = ['small', 'paper'];
  return [...groups.values()].sort((a, b) => widthOrder.indexOf(a.width) - widthOrder.indexOf(b.width) || a.experts - b.experts || a.tokens - b.tokens);
}

/** Token counts of the train-step measure. */
export function trainStepTokens(options: BenchOptions): number[] {
  return [...new Set(options.grid.filter((s) => s.measures.includes('train_step')).flatMap((s) => s.tokens))].sort((a, b) => a - b);
}

interface CaseSpec {
  key: string;
  impl: Impl;
  tau: number | null;
  routing: Routing;
  c: RoutingCase;
}

/**
 * Runs the benchmark and writes its folder.
 *
 * @example
 * const r = await runBench(resolveBenchOptions({ quick: true }), await setupBenchBackend(undefined, undefined), 'pnpm bench --quick', console.error);
 */
export async function runBench(options: BenchOptions, backend: BenchBackend, command: string, log: (line: string) => void, rootDir: string): Promise<BenchResult> {
  const started = performance.now();
  // Checkpoints first: a bad run folder stops the benchmark before it writes anything.
  const groups = layerGroups(options);
  const checkpoints = await loadCheckpoints(options, Math.max(...groups.map((g) => g.tokens), 0));
  const checkpoint = checkpoints.moepp;
  const dir = join(rootDir, options.outDir, benchTimestamp());
  mkdirSync(dir, { recursive: true });
  const environment = { ...describeEnvironment(backend, options.seed), patches: backend.patches, command, loadAverage: loadavg() };
  writeFileAtomic(join(dir, 'environment.json'), `${JSON.stringify(environment, null, 2)}\n`);
  const rows: LayerCsvRow[] = [];
  const checks: PeerCheck[] = [];
  const notes: string[] = [];
  const profiles: { scope: string; profile: OpProfile }[] = [];
  const timing = { warmup: options.warmup, reps: options.reps, minReps: options.minReps, maxSeconds: options.maxGroupSeconds };

  let peerOk = false;
  if (options.peer === 'torch') {
    const t = torchAvailable(options.python);
    peerOk = t.ok;
    const line = t.ok ? `PyTorch peer: torch ${t.detail} via ${options.python}, ${options.peerThreads} thread(s) (OMP_NUM_THREADS = OPENBLAS_NUM_THREADS = ${options.peerThreads}, OMP_WAIT_POLICY=PASSIVE); ours: ${backend.threads} thread(s)` : `PyTorch peer skipped: ${t.detail}. Install it (Debian: apt-get install python3-torch libopenblas0-pthread) or pass --python <path>.`;
    log(line);
    notes.push(line);
  }

  for (const line of checkpointNotes(checkpoints)) {
    log(line);
    notes.push(line);
  }

  let pair: LayerPair | null = null;
  const flush = () => {
    writeFileAtomic(join(dir, 'layer.csv'), layerCsv(rows));
  };
  for (const [gi, g] of groups.entries()) {
    if (!pair || pair.width !== g.width || pair.experts !== g.experts) {
      pair?.dispose();
      pair = buildLayerPair(g.width, g.experts, options.seed, backend.executor);
    }
    for (const routing of options.routings) {
      const cases = buildCases(pair, g, routing, checkpoints, options.seed, notes, log);
      if (cases.length === 0) continue;
      log(`[${gi + 1}/${groups.length}] ${g.width} ${g.experts}E tokens ${g.tokens} ${routing}: ${g.measures.join(', ')} (${cases.map((c) => c.key).join(' ')})`);
      const expected = new Map<string, Partial<Record<LayerMeasure, LayerResults>>>();
      // The plain matmul chain at each case's mean rows per FFN expert runs inside the first
      // measure's rounds, so its rate and the layer's are taken under the same machine state.
      const chains = new Map<string, MatmulChain>(cases.map((cs) => [cs.key, matmulChain(cs.c.ffnSlots / pair!.moe.kinds.length, pair!.dModel, pair!.dFfn)]));
      const matmulRate = new Map<string, number>();
      for (const [mi, measure] of g.measures.entries()) {
        const groupStart = performance.now();
        const calls: TimedCall[] = cases.map((cs) => ({ key: cs.key, run: layerCall(measure, pair![cs.impl], cs.c) }));
        if (mi === 0) for (const [key, chain] of chains) calls.push({ key: `matmul:${key}`, run: () => chain.run() });
        const times = runInterleaved(calls, {
          ...timing,
          onRound: progress(measure),
        });
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
          const matmul = matmulRate.get(cs.key)!;
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
            matmul_gflops: matmul,
            peak_bytes: peak,
          });
        }
        flush();
        log(`  ${measure}: ${cases.map((c) => `${c.key} ${measured.get(c.key)!.medianMs.toFixed(1)} ms`).join(', ')} (${((performance.now() - groupStart) / 1000).toFixed(0)} s)`);
        if (peerOk) {
          for (const cs of cases) {
            const names = new Map([...pair[cs.impl].named].filter(([n]) => n.startsWith('router.') || /^experts\.0\./.test(n) || n === firstConstant(pair!, cs.impl)));
            const e = expected.get(cs.key) ?? {};
            e[measure] = layerResults(measure, pair[cs.impl], cs.c, names);
            expected.set(cs.key, e);
          }
        }
      }
      if (peerOk) {
        log('  PyTorch peer: checking outputs and timing the same measures …');
        const peerCases: PeerCase[] = cases.map((cs) => ({ key: cs.key, impl: cs.impl, tau: cs.tau, c: cs.c, expected: expected.get(cs.key) ?? {} }));
        const result = runTorchPeer(options.python, peerPayload(pair, peerCases, g.measures, timing, options.peerThreads), options.peerThreads);
        for (const ch of result.checks) checks.push({ ...ch, key: `${g.width}/${g.experts}E/${g.tokens}/${routing}/${ch.key}` });
        const worst = Math.max(...result.checks.map((c) => c.max_abs_diff / Math.max(1, c.max_abs)));
        log(`  torch ${result.torch} (${result.threads} threads): largest relative difference ${worst.toExponential(2)}`);
        for (const measure of g.measures) {
          const moe = result.times[`${measure}|${cases.find((c) => c.impl === 'moe')!.key}`];
          const moeFlops = caseFlops(pair, measure, cases.find((c) => c.impl === 'moe')!);
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
        flush();
      }
      if (options.profile && g.measures.includes('layer_forward_backward') && (g.width === 'paper' || !groups.some((x) => x.width === 'paper' && x.measures.includes('layer_forward_backward'))) && !profiles.some((p) => p.scope.startsWith('layer_forward_backward'))) {
        const cs = cases.find((c) => c.impl === 'moepp' && (c.tau === 0.75 || c.routing === 'checkpoint')) ?? cases[cases.length - 1];
        const profile = await profileOps(layerCall('layer_forward_backward', pair[cs.impl], cs.c));
        profiles.push({ scope: `layer_forward_backward ${g.width} ${g.experts}E ${g.tokens} tokens ${cs.key}`, profile });
      }
      for (const cs of cases) cs.c.dispose();
    }
  }
  pair?.dispose();

  for (const tokens of trainStepTokens(options)) {
    const models = defaultStudyModels();
    const moe = buildTrainStep(models.moe, tokens, options.seed, backend.executor);
    const moepp = buildTrainStep(models.moepp, tokens, options.seed, backend.executor);
    log(`train_step: small preset (${models.moe.configName} vs ${models.moepp.configName}), ${tokens} tokens per step`);
    const ffn = { moe: [] as number[][], moepp: [] as number[][] };
    const times = runInterleaved(
      [
        { key: 'moe', run: () => ffn.moe.push(moe.step()) },
        { key: 'moepp', run: () => ffn.moepp.push(moepp.step()) },
      ],
      { ...timing, onRound: progress('train_step') },
    );
    endProgress();
    const meanPerLayer = (runs: number[][]) => runs[0].map((_, l) => runs.reduce((s, r) => s + r[l], 0) / runs.length);
    const t = { moe: summarizeTimes(times.get('moe')!), moepp: summarizeTimes(times.get('moepp')!) };
    const flops = { moe: moe.flops(meanPerLayer(ffn.moe)), moepp: moepp.flops(meanPerLayer(ffn.moepp)) };
    const D = models.moepp.config.dModel;
    const matmul = plainMatmulGflops(tokens, D, 4 * D);
    for (const c of [moe, moepp]) {
      const impl = c.impl;
      const kinds = c.model.moeLayerKinds()[0] ?? [];
      const ffnExperts = kinds.filter(isFfnLike).length;
      const increase = impl === 'moepp' ? throughputIncrease(t.moe.medianMs, t.moepp.medianMs) : null;
      const theoretical = impl === 'moepp' ? theoreticalIncrease(flops.moe, flops.moepp) : null;
      const perLayer = meanPerLayer(ffn[impl]);
      // Parameters and the two AdamW moments, plus what a step allocates at its peak.
      const peak = c.model.parameters.size() * 4 * 3 + (await transientPeakBytes(() => void c.step()));
      rows.push({
        measure: 'train_step', routing: 'init', width: 'small', d_model: D, d_ffn: c.spec.config.moe?.ffnHidden ?? null,
        experts: kinds.length, ffn_experts: ffnExperts, zc_experts: kinds.length - ffnExperts,
        tau: impl === 'moepp' ? (c.spec.config.moe?.tau ?? null) : null, tokens, impl,
        median_ms: t[impl].medianMs, p20_ms: t[impl].p20Ms, p80_ms: t[impl].p80Ms, reps: t[impl].reps,
        tokens_per_s: tokens / (t[impl].medianMs / 1000),
        ffn_slots: Math.round((perLayer.reduce((a, b) => a + b, 0) * tokens) / Math.max(1, perLayer.length)),
        increase, theoretical_increase: theoretical,
        delivered: increase !== null && theoretical !== null ? deliveredFraction(increase, theoretical) : null,
        ffn_gflops: flops[impl] / (t[impl].medianMs * 1e6),
        matmul_gflops: matmul,
        peak_bytes: peak,
      });
    }
    flush();
    log(`  train_step: moe ${t.moe.medianMs.toFixed(1)} ms, moepp ${t.moepp.medianMs.toFixed(1)} ms; ${(flops.moepp / (t.moepp.medianMs * 1e6)).toFixed(1)} GFLOP/s (plain matmul ${matmul.toFixed(1)})`);
    if (options.profile && tokens === Math.max(...trainStepTokens(options))) {
      profiles.push({ scope: `train_step moepp ${tokens} tokens`, profile: await profileOps(() => void moepp.step()) });
      profiles.push({ scope: `train_step moe ${tokens} tokens`, profile: await profileOps(() => void moe.step()) });
    }
    moe.dispose();
    moepp.dispose();
  }

  flush();
  if (checks.length) writeFileAtomic(join(dir, 'peer-checks.csv'), recordsCsv(checks as unknown as Record<string, string | number>[]));
  if (profiles.length) {
    const records = profiles.flatMap(({ scope, profile }) => [
      ...profile.ops.map((o) => ({ scope, op: o.op, shapes: '', calls: o.calls, ms: o.ms, share: o.share, inclusive: o.inclusive ? 1 : 0, example: o.example, wall_ms: profile.wallMs })),
      ...profile.topOpByShape.map((o) => ({ scope, op: o.op, shapes: o.shapes, calls: o.calls, ms: o.ms, share: o.share, inclusive: 0, example: '', wall_ms: profile.wallMs })),
    ]);
    writeFileAtomic(join(dir, 'profile.csv'), recordsCsv(records));
  }
  const seconds = (performance.now() - started) / 1000;
  (environment as Record<string, unknown>).loadAverageAtEnd = loadavg();
  writeFileAtomic(join(dir, 'summary.md'), summaryMarkdown({ rows, checks, profiles, notes, environment, command, seconds, options }));
  return { dir, rows, checks, profiles, notes, seconds };
}

/** A round counter on an interactive terminal; nothing in logs. */
function progress(label: string): ((done: number, planned: number) => void) | undefined {
  if (!process.stderr.isTTY) return undefined;
  return (done, planned) => process.stderr.write(`\r  ${label}: round ${done}/${planned}   `);
}

function endProgress(): void {
  if (process.stderr.isTTY) process.stderr.write('\n');
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

function caseFlops(pair: LayerPair, measure: LayerMeasure, cs: CaseSpec): { total: number; ffn: number } {
  const layer = pair[cs.impl];
  return layerMeasureFlops(measure, {
    tokens: cs.c.tokens, ffnSlots: cs.c.ffnSlots, dModel: pair.dModel, dFfn: pair.dFfn,
    experts: layer.kinds.length, residual: layer.layer.params.router.wG !== null,
  });
}

/** The routing cases of a group: one MoE case, and one MoE++ case per τ (or the checkpoint's). */
function buildCases(pair: LayerPair, g: LayerGroup, routing: Routing, checkpoints: Checkpoints, seed: number, notes: string[], log: (s: string) => void): CaseSpec[] {
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

function checkpointNotes({ moepp, moe }: Checkpoints): string[] {
  if (!moepp) return [];
  return [
    `checkpoint routing: ${moepp.source}, experts [${moepp.kinds.join(',')}], τ ${moepp.tau}, FFN share of slots ${(moepp.ffnShare * 100).toFixed(1)} %`,
    moe
      ? `checkpoint routing, MoE side: ${moe.source} (a trained vanilla MoE, ${moe.kinds.length} FFN experts)`
      : 'checkpoint routing, MoE side: uniform load (no --checkpoint-moe); a trained MoE router is less balanced',
  ];
}

