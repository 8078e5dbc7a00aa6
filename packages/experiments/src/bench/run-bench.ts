/**
 * The benchmark run: plans the groups (bench-plan.ts), measures each layer group interleaved
 * (layer-group-run.ts, with the PyTorch peer when asked), the MoE family's designs beside MoE
 * top-2 (family-run.ts) and the training steps (train-step-run.ts), and writes
 * `results/bench/<timestamp>/` (docs/run-folder.md): environment.json, layer.csv, family.csv,
 * peer-checks.csv, profile.csv, summary.md.
 */
import { mkdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { layerCsv, recordsCsv, writeFileAtomic, type LayerCsvRow } from '@moepp/run-format';
import { benchSummaryMarkdown as summaryMarkdown } from '@moepp/reports';
import { describeEnvironment } from '../runs/environment.ts';
import type { BenchOptions } from './bench-options.ts';
import type { BenchBackend } from './bench-backend.ts';
import type { BenchContext } from './bench-context.ts';
import { benchTimestamp, layerGroups } from './bench-plan.ts';
import { loadCheckpoints } from './checkpoint-routing.ts';
import { buildLayerPair, type LayerPair } from './layer-fixture.ts';
import { measureFamily } from './family-run.ts';
import { measureLayerGroup } from './layer-group-run.ts';
import type { OpProfile } from './op-profile.ts';
import { buildCases, checkpointNotes } from './routing-cases.ts';
import { torchAvailable, type PeerCheck } from './torch-peer.ts';
import { measureTrainSteps } from './train-step-run.ts';

export { benchTimestamp, layerGroups, trainStepTokens } from './bench-plan.ts';

export interface BenchResult {
  dir: string;
  rows: LayerCsvRow[];
  checks: PeerCheck[];
  profiles: { scope: string; profile: OpProfile }[];
  notes: string[];
  seconds: number;
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

  const ctx: BenchContext = {
    options, backend, timing, rows, checks, notes, profiles, peerOk, log,
    flush: () => writeFileAtomic(join(dir, 'layer.csv'), layerCsv(rows)),
  };
  let pair: LayerPair | null = null;
  for (const [gi, g] of groups.entries()) {
    if (!pair || pair.width !== g.width || pair.experts !== g.experts) {
      pair?.dispose();
      pair = buildLayerPair(g.width, g.experts, options.seed, backend.executor);
    }
    for (const routing of options.routings) {
      const cases = buildCases(pair, g, routing, checkpoints, options.seed, notes, log);
      if (cases.length === 0) continue;
      log(`[${gi + 1}/${groups.length}] ${g.width} ${g.experts}E tokens ${g.tokens} ${routing}: ${g.measures.join(', ')} (${cases.map((c) => c.key).join(' ')})`);
      // One forward+backward profile, of the paper width where the run has it.
      const profileHere =
        options.profile && g.measures.includes('layer_forward_backward') &&
        (g.width === 'paper' || !groups.some((x) => x.width === 'paper' && x.measures.includes('layer_forward_backward'))) &&
        !profiles.some((p) => p.scope.startsWith('layer_forward_backward'));
      await measureLayerGroup(ctx, pair, g, routing, cases, profileHere);
      for (const cs of cases) cs.c.dispose();
    }
  }
  pair?.dispose();

  const family = measureFamily(ctx, dir);
  await measureTrainSteps(ctx);

  ctx.flush();
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
  writeFileAtomic(join(dir, 'summary.md'), summaryMarkdown({ rows, family, checks, profiles, notes, environment, command, seconds, options }));
  return { dir, rows, checks, profiles, notes, seconds };
}
