/**
 * The PyTorch peer of measure (d), the whole training step (`--peer torch`): each model's weights
 * as core's `saveModelWeights` writes them, plus one `step.safetensors` with the batch and what one
 * step of ours computed from those weights (loss terms, gradient norm, every gradient before
 * clipping, every weight after the AdamW update, the routing), go to bench/peers/torch_lm_step.py.
 * It checks its own step against ours — failing loudly on any difference — and then times its
 * steps with the same interleaving and statistics.
 */
import { encodeSafetensors, saveModelWeights, type NamedArray } from '@moepp/core';
import { repoRoot, type LayerCsvRow } from '@moepp/run-format';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchContext } from './bench-context.ts';
import { theoreticalIncrease } from './flops.ts';
import type { InterleaveOptions } from './interleave.ts';
import { deliveredFraction, throughputIncrease } from './statistics.ts';
import { peerEnvironment, type PeerCheck } from './torch-peer.ts';
import { buildTrainStep, trainStepColumns, type TrainStepCase, type TrainStepModel } from './train-step.ts';

export const TORCH_LM_STEP_SCRIPT = 'bench/peers/torch_lm_step.py';

/**
 * Largest accepted |ours − torch| of a quantity: atol + rtol · max|ours|. Float32 round-off through
 * four blocks and the vocabulary softmax stays within a few 1e-6 of the scale (BENCHMARKS.md); 1e-4
 * leaves room for other BLAS kernels and orders of summation, while a change of the arithmetic (a
 * missing renormalisation, another std estimator) moves gradients by far more. The gradient norm
 * gets `normRtol`: ours sums millions of squares in float32 in one pass (the wasm `Sum` kernel),
 * which lands 1e-4–3e-4 off the float64 norm of our own gradients, where torch's is within 1e-6.
 */
export const LM_STEP_TOLERANCE = { rtol: 1e-4, atol: 1e-7, norm_rtol: 2e-3 } as const;

/** The LM-step peer's environment: the layer peer's (peerEnvironment: threads and the glibc allocator told to keep freed memory). */
export function lmStepPeerEnvironment(threads: number): NodeJS.ProcessEnv {
  return peerEnvironment(threads);
}

/** The glibc malloc thresholds set in `env`, as the peer reports its own. */
export function mallocSettings(env: NodeJS.ProcessEnv): string {
  return ['MALLOC_MMAP_THRESHOLD_', 'MALLOC_TRIM_THRESHOLD_'].filter((k) => env[k] !== undefined).map((k) => `${k}=${env[k]}`).join(' ') || 'default';
}

/** The files of one peer run, by name; `step.safetensors` names the others. */
export type LmStepPayload = Map<string, Uint8Array>;

export interface LmStepPeerResult {
  torch: string;
  threads: number;
  /** OpenBLAS's threads as it reports them after the peer set them (null: torch without OpenBLAS). */
  openblas_threads: number | null;
  /** The glibc malloc settings the peer ran with (lmStepPeerEnvironment), as it saw them. */
  malloc: string;
  checks: (PeerCheck & { ok: boolean })[];
  /** The checks over tolerance, in words; the peer exits with status 3 when there are any. */
  failed: string[];
  notes: string[];
  /**
   * Per model key: token-layers whose top-K differed from ours in the peer's own routing, and how
   * many of those were not near ties of the K-th and (K+1)-th logit (any such fails the check).
   */
  routing: Record<string, { differing: number; not_near_ties: number }>;
  /** Per model key. */
  times: Record<string, { median_ms: number; p20_ms: number; p80_ms: number; reps: number }>;
  /** Per model key: mean FFN experts per token of each MoE layer over the timed steps. */
  ffn_per_token: Record<string, number[]>;
}

/** Thrown when the peer's step differs from ours beyond LM_STEP_TOLERANCE. */
export class LmStepPeerMismatch extends Error {
  override name = 'LmStepPeerMismatch';
  constructor(readonly result: LmStepPeerResult) {
    super(`the PyTorch LM-step peer disagrees with ours on ${result.failed.length} quantities: ${result.failed.slice(0, 6).join('; ')}${result.failed.length > 6 ? '; …' : ''}`);
  }
}

const arr = (shape: number[], data: Float32Array): NamedArray => ({ shape, data });

/**
 * Saves each case's weights, takes one step of each (so the cases move on by one step) and
 * records what it computed: the payload of one peer run.
 *
 * @example
 * const payload = recordLmStepPayload([moe, moepp], timing, 1); // then runTorchLmStepPeer(python, payload, 1)
 */
export function recordLmStepPayload(
  cases: readonly TrainStepCase[],
  timing: Omit<InterleaveOptions, 'onRound'>,
  threads: number,
  checkOnly = false,
): LmStepPayload {
  const files: LmStepPayload = new Map();
  const tensors = new Map<string, NamedArray>();
  const models = cases.map((c) => {
    const key = c.impl;
    const weights = `${key}.weights.safetensors`;
    files.set(weights, saveModelWeights(c.model));
    const r = c.recordedStep();
    const { inputs, targets, batchSize, seqLen } = c.batch;
    tensors.set(`${key}.inputs`, arr([batchSize, seqLen], Float32Array.from(inputs)));
    tensors.set(`${key}.targets`, arr([batchSize, seqLen], Float32Array.from(targets)));
    for (const [name, v] of c.model.parameters.variables) {
      tensors.set(`${key}.expect.grad.${name}`, arr(v.shape, r.grads.get(name)!));
      tensors.set(`${key}.expect.updated.${name}`, arr(v.shape, v.dataSync() as Float32Array));
    }
    const topK = c.spec.config.moe?.topK ?? 0;
    r.topKIndex.forEach((t, l) => tensors.set(`${key}.expect.topk.${l}`, arr([t.length / topK, topK], Float32Array.from(t))));
    return {
      key, weights, lr: c.lr, clip: c.spec.clip, beta1: c.optimizer.beta1, beta2: c.optimizer.beta2, epsilon: c.optimizer.epsilon,
      weight_decay: c.optimizer.weightDecay, loss: r.loss, ce: r.ce, aux_loss: r.auxLoss, z_loss: r.zLoss, grad_norm: r.gradNorm,
    };
  });
  const spec = {
    threads,
    models,
    timing: { warmup: timing.warmup, reps: timing.reps, min_reps: timing.minReps, max_seconds: timing.maxSeconds },
    tolerance: LM_STEP_TOLERANCE,
    check_only: checkOnly,
  };
  files.set('step.safetensors', encodeSafetensors(tensors, { spec: JSON.stringify(spec) }));
  return files;
}

/**
 * Runs the peer on a payload; throws LmStepPeerMismatch when its step differs from ours, and an
 * Error with the peer's stderr when it fails otherwise.
 *
 * @example
 * const r = runTorchLmStepPeer('/usr/bin/python3', payload, 1); r.times.moepp.median_ms;
 */
export function runTorchLmStepPeer(python: string, payload: LmStepPayload, threads: number, timeoutSeconds = 3600): LmStepPeerResult {
  const dir = mkdtempSync(join(tmpdir(), 'moepp-lm-peer-'));
  try {
    for (const [name, bytes] of payload) writeFileSync(join(dir, name), bytes);
    const r = spawnSync(python, [join(repoRoot(), TORCH_LM_STEP_SCRIPT), join(dir, 'step.safetensors')], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
      timeout: timeoutSeconds * 1000,
      env: lmStepPeerEnvironment(threads),
    });
    if (r.error) throw new Error(`PyTorch LM-step peer failed to run: ${r.error.message}`);
    // Status 3: the peer ran and its report says where it differs.
    if (r.status === 3) throw new LmStepPeerMismatch(JSON.parse(r.stdout.trim().split('\n').pop()!) as LmStepPeerResult);
    if (r.status !== 0) throw new Error(`PyTorch LM-step peer exited with ${r.status}: ${r.stderr.trim().split('\n').slice(-5).join(' | ')}`);
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as LmStepPeerResult;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The peer of one train-step token count: fresh models from the same seed (so our timed ones are
 * untouched), checked and timed by PyTorch; its checks go to peer-checks.csv and its timings to
 * layer.csv as `torch-moe` / `torch-moepp` rows.
 */
export function compareTrainStepPeer(ctx: BenchContext, models: { moe: TrainStepModel; moepp: TrainStepModel }, tokens: number): void {
  const { options, backend, timing, rows } = ctx;
  ctx.log('  PyTorch LM-step peer: checking one step against ours, then timing …');
  const cases = [buildTrainStep(models.moe, tokens, options.seed, backend.executor), buildTrainStep(models.moepp, tokens, options.seed, backend.executor)];
  let result: LmStepPeerResult;
  try {
    const payload = recordLmStepPayload(cases, timing, options.peerThreads);
    result = runTorchLmStepPeer(options.python, payload, options.peerThreads);
  } catch (e) {
    if (e instanceof LmStepPeerMismatch) ctx.checks.push(...peerChecks(e.result, tokens));
    cases.forEach((c) => c.dispose());
    throw e;
  }
  ctx.checks.push(...peerChecks(result, tokens));
  for (const line of result.notes) ctx.log(`  ${line}`);
  ctx.log(`  torch ${result.torch} (${result.threads} threads, OpenBLAS ${result.openblas_threads ?? 'not used'}): its step equals ours within tolerance; ${worstDifferences(result)}`);
  // Both sides' allocator settings: they decide how many page faults a step takes (lmStepPeerEnvironment).
  const note = `train_step PyTorch peer: glibc malloc ${result.malloc}; ours (this process): ${mallocSettings(process.env)}`;
  ctx.log(`  ${note}`);
  if (!ctx.notes.includes(note)) ctx.notes.push(note);
  const flops = new Map(cases.map((c) => [c.impl, c.flops(result.ffn_per_token[c.impl])]));
  const moe = result.times.moe;
  for (const c of cases) {
    const t = result.times[c.impl];
    const increase = c.impl === 'moepp' ? throughputIncrease(moe.median_ms, t.median_ms) : null;
    const theoretical = c.impl === 'moepp' ? theoreticalIncrease(flops.get('moe')!, flops.get('moepp')!) : null;
    const row: LayerCsvRow = {
      ...trainStepColumns(c, result.ffn_per_token[c.impl]),
      impl: `torch-${c.impl}`,
      median_ms: t.median_ms, p20_ms: t.p20_ms, p80_ms: t.p80_ms, reps: t.reps,
      tokens_per_s: tokens / (t.median_ms / 1000),
      increase, theoretical_increase: theoretical,
      delivered: increase !== null && theoretical !== null ? deliveredFraction(increase, theoretical) : null,
      ffn_gflops: flops.get(c.impl)! / (t.median_ms * 1e6),
      matmul_gflops: null,
      peak_bytes: null,
    };
    rows.push(row);
    c.dispose();
  }
  ctx.flush();
  ctx.log(`  torch train_step: moe ${moe.median_ms.toFixed(1)} ms, moepp ${result.times.moepp.median_ms.toFixed(1)} ms`);
}

/** The largest differences in words: loss, and gradients relative to their tensor's largest entry. */
export function worstDifferences(result: Pick<LmStepPeerResult, 'checks'>): string {
  const relative = (c: PeerCheck) => c.max_abs_diff / Math.max(1e-30, c.max_abs);
  const worst = (prefix: string) => result.checks.filter((c) => c.what.startsWith(prefix)).reduce<PeerCheck | null>((w, c) => (w === null || relative(c) > relative(w) ? c : w), null);
  const loss = worst('loss');
  const grad = worst('grad.');
  return `loss |Δ| ${loss?.max_abs_diff.toExponential(2)} of ${loss?.max_abs.toFixed(3)}, gradients ${grad ? `${relative(grad).toExponential(2)} of their scale (${grad.key} ${grad.what})` : '–'}`;
}

function peerChecks(result: LmStepPeerResult, tokens: number): PeerCheck[] {
  return result.checks.map(({ ok: _ok, ...c }) => ({ ...c, key: `train_step/${tokens}/${c.key}` }));
}
