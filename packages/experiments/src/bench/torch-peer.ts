/**
 * The PyTorch peer (`--peer torch`): writes one .safetensors file per benchmark group — the
 * pair's weights, every routing case's inputs and routing, and this implementation's outputs and
 * gradients — and runs bench/peers/torch_moe.py on it, which checks its own results against ours
 * and times the same measures. Skipped with a clear message when no Python with torch is found.
 */
import { encodeSafetensors, type NamedArray } from '@moepp/core';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Impl, LayerPair, RoutingCase } from './layer-fixture.ts';
import type { LayerMeasure, LayerResults } from './layer-measures.ts';
import { TOP_K } from './bench-options.ts';
import { repoRoot, type PeerCheckRow } from '@moepp/run-format';

export const TORCH_PEER_SCRIPT = 'bench/peers/torch_moe.py';

export interface TorchAvailability {
  ok: boolean;
  /** Version, or why not. */
  detail: string;
}

/** Whether `python` can import torch (and numpy). */
export function torchAvailable(python: string): TorchAvailability {
  const r = spawnSync(python, ['-c', 'import torch, numpy; print(torch.__version__)'], { encoding: 'utf8' });
  if (r.error) return { ok: false, detail: `${python} cannot be run (${r.error.message})` };
  if (r.status !== 0) return { ok: false, detail: `${python} has no torch: ${(r.stderr || '').trim().split('\n').pop()}` };
  return { ok: true, detail: r.stdout.trim() };
}

export interface PeerCase {
  key: string;
  impl: Impl;
  tau: number | null;
  c: RoutingCase;
  /** Our results per measure, for the check. */
  expected: Partial<Record<LayerMeasure, LayerResults>>;
}

/** A row of peer-checks.csv. */
export type PeerCheck = PeerCheckRow;

export interface PeerResult {
  torch: string;
  threads: number;
  /** OpenBLAS's threads as it reports them after the peer set them (null: torch without OpenBLAS). */
  openblas_threads: number | null;
  checks: PeerCheck[];
  times: Record<string, { median_ms: number; p20_ms: number; p80_ms: number; reps: number }>;
}

const arr = (shape: number[], data: Float32Array): NamedArray => ({ shape, data });

/** The .safetensors payload for one group (exported for the equivalence test). */
export function peerPayload(
  pair: LayerPair,
  cases: readonly PeerCase[],
  measures: readonly LayerMeasure[],
  timing: { warmup: number; reps: number; minReps: number; maxSeconds: number },
  threads: number,
  checkOnly = false,
): Uint8Array {
  const tensors = new Map<string, NamedArray>();
  const impls = new Set(cases.map((c) => c.impl));
  for (const [name, t] of pair.hostWeights) {
    if (name.startsWith('experts.') || impls.has(name.split('.')[0] as Impl)) tensors.set(name, arr(t.shape, t.data));
  }
  for (const { key, impl, c, expected } of cases) {
    const layer = pair[impl];
    const E = layer.kinds.length;
    tensors.set(`case.${key}.x`, arr([c.tokens, pair.dModel], c.hostX));
    if (c.hostPrevious) tensors.set(`case.${key}.prev`, arr([c.tokens, E], c.hostPrevious));
    tensors.set(`case.${key}.dy`, arr([c.tokens, pair.dModel], c.hostDy));
    tensors.set(`case.${key}.topk`, arr([c.tokens, TOP_K], Float32Array.from(c.topKIndex)));
    for (const [measure, r] of Object.entries(expected) as [LayerMeasure, LayerResults][]) {
      if (r.output) tensors.set(`expect.${key}.${measure}.output`, arr([c.tokens, pair.dModel], r.output));
      if (r.dx) tensors.set(`expect.${key}.${measure}.dx`, arr([c.tokens, pair.dModel], r.dx));
      for (const [name, g] of r.grads ?? []) tensors.set(`expect.${key}.${measure}.grad.${name}`, arr(layer.named.get(name)!.shape, g));
    }
  }
  const spec = {
    d_model: pair.dModel,
    d_ffn: pair.dFfn,
    top_k: TOP_K,
    threads,
    impls: Object.fromEntries([...impls].map((impl) => [impl, { kinds: pair[impl].kinds, residual: pair[impl].layer.params.router.wG !== null }])),
    cases: cases.map(({ key, impl, tau, c }) => ({ key, impl, tau, tokens: c.tokens })),
    measures,
    timing: { warmup: timing.warmup, reps: timing.reps, min_reps: timing.minReps, max_seconds: timing.maxSeconds },
    check_only: checkOnly,
  };
  return encodeSafetensors(tensors, { spec: JSON.stringify(spec) });
}

/**
 * The peer's thread settings: `threads` for both of Debian torch's pools (its OpenMP intra-op pool
 * and OpenBLAS's own pthreads), and passive OpenMP waiting — with the default spin-waiting the two
 * pools fight over 2 cores and single calls take up to 10× longer (measured, BENCHMARKS.md).
 */
export function peerEnvironment(threads: number): NodeJS.ProcessEnv {
  return {
    ...process.env,
    OMP_NUM_THREADS: String(threads),
    OPENBLAS_NUM_THREADS: String(threads),
    OMP_WAIT_POLICY: 'PASSIVE',
    PYTHONDONTWRITEBYTECODE: '1',
    // glibc's allocator otherwise maps every large buffer afresh and page-faults it in on each
    // call, which slowed the peer by up to 2× here (BENCHMARKS.md, "PyTorch peer of the training
    // step"); PyTorch's tuning guide recommends jemalloc or TCMalloc for the same reason.
    MALLOC_MMAP_THRESHOLD_: String(2 ** 30),
    MALLOC_TRIM_THRESHOLD_: String(2 ** 30),
  };
}

/**
 * Runs the peer on one group; throws with the peer's stderr when it fails.
 *
 * @example
 * const r = runTorchPeer('/usr/bin/python3', payload); r.checks; r.times['expert_forward|moe'];
 */
export function runTorchPeer(python: string, payload: Uint8Array, threads: number, timeoutSeconds = 3600): PeerResult {
  const dir = mkdtempSync(join(tmpdir(), 'moepp-peer-'));
  const file = join(dir, 'bench.safetensors');
  try {
    writeFileSync(file, payload);
    const r = spawnSync(python, [join(repoRoot(), TORCH_PEER_SCRIPT), file], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
      timeout: timeoutSeconds * 1000,
      env: peerEnvironment(threads),
    });
    if (r.error) throw new Error(`PyTorch peer failed to run: ${r.error.message}`);
    if (r.status !== 0) throw new Error(`PyTorch peer exited with ${r.status}: ${r.stderr.trim().split('\n').slice(-5).join(' | ')}`);
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as PeerResult;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
