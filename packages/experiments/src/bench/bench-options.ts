/**
 * What `pnpm bench` measures: the grid of the issue (measures × widths × expert counts × τ ×
 * tokens × routing), three presets, and validation of user arguments with errors that list the
 * valid values. Pure: no tensors, no files.
 */
import type { ExpertCounts } from '@moepp/core';

export const MEASURES = ['expert_forward', 'layer_forward', 'layer_forward_backward', 'train_step'] as const;
export type Measure = (typeof MEASURES)[number];
/** Short names accepted on the command line: a, b, c, d as in the issue. */
export const MEASURE_ALIASES: Record<string, Measure> = {
  a: 'expert_forward', b: 'layer_forward', c: 'layer_forward_backward', d: 'train_step',
};

/** Layer widths: the paper's (D 768, I 2048) and a small one that runs fast on 2 cores. */
export const WIDTHS = {
  small: { dModel: 256, dFfn: 512 },
  paper: { dModel: 768, dFfn: 2048 },
} as const;
export type Width = keyof typeof WIDTHS;

/**
 * The paper's expert counts (Table 3): MoE nE against MoE++ (n+z)E of the same size — the same
 * FFN experts plus z zero-computation experts (one zero, one copy, the rest constant, §2).
 */
export const EXPERT_SETS = {
  8: { moe: { ffn: 8 }, moepp: { ffn: 8, zero: 1, copy: 1, constant: 2 } },
  16: { moe: { ffn: 16 }, moepp: { ffn: 16, zero: 1, copy: 1, constant: 2 } },
  32: { moe: { ffn: 32 }, moepp: { ffn: 32, zero: 1, copy: 1, constant: 6 } },
} as const satisfies Record<number, { moe: ExpertCounts; moepp: ExpertCounts }>;
export type ExpertSet = keyof typeof EXPERT_SETS;
export const EXPERT_SET_NAMES: readonly ExpertSet[] = [8, 16, 32];

export const TAUS = [0.1, 0.25, 0.5, 0.75, 1.0] as const;
export const TOKENS = [512, 2048, 8192] as const;
export const ROUTINGS = ['balanced', 'checkpoint'] as const;
export type Routing = (typeof ROUTINGS)[number];
export const PEERS = ['torch'] as const;
export const PRESETS = ['quick', 'default', 'full'] as const;
export type Preset = (typeof PRESETS)[number];

/** Top-K of every benchmarked layer (the paper's). */
export const TOP_K = 2;
/** Sequence length of the train-step batches (the small LM preset's maxSeqLen). */
export const TRAIN_SEQ_LEN = 128;

/** One slice of the grid; the run is the union of its slices. */
export interface GridSlice {
  measures: Measure[];
  widths: Width[];
  experts: ExpertSet[];
  taus: number[];
  tokens: number[];
}

/** Fully resolved options of one benchmark run. */
export interface BenchOptions {
  preset: Preset;
  /** The cells to measure; the default preset is several slices, a user grid is one. */
  grid: GridSlice[];
  routings: Routing[];
  checkpoint: string | null;
  /**
   * A trained vanilla MoE run whose routing drives the MoE side of the checkpoint groups (default:
   * uniform load, which a trained router does not have), so both sides carry trained imbalance.
   */
  checkpointMoe: string | null;
  /** Timed repetitions per measurement (warm-up excluded). */
  reps: number;
  /** Never fewer timed repetitions than this, whatever the time cap. */
  minReps: number;
  warmup: number;
  /**
   * Time cap of one interleaved group (MoE + its MoE++ variants), seconds: a group whose rounds
   * are slower gets fewer repetitions (not fewer than `minReps`); the CSV's `reps` says how many.
   */
  maxGroupSeconds: number;
  peer: 'torch' | null;
  /** Threads of the PyTorch peer (the setting: 2). */
  peerThreads: number;
  python: string;
  /** Per-op profile of one training step (profile.csv). */
  profile: boolean;
  /**
   * Forward-only measures (expert_forward, layer_forward) on weights packed once, as inference
   * would run them, where the backend packs weights (`blas`, one OpenBLAS thread).
   */
  packedWeights: boolean;
  outDir: string;
  seed: number;
}

/** Raw command-line values, as commander hands them over (strings, booleans, undefined). */
export interface RawBenchArgs {
  quick?: boolean;
  full?: boolean;
  measures?: string;
  widths?: string;
  experts?: string;
  tau?: string;
  tokens?: string;
  routing?: string;
  checkpoint?: string;
  checkpointMoe?: string;
  reps?: string;
  minReps?: string;
  warmup?: string;
  maxGroupSeconds?: string;
  peer?: string;
  peerThreads?: string;
  python?: string;
  profile?: boolean;
  packedWeights?: boolean;
  out?: string;
  seed?: string;
}

/** A user error in the benchmark arguments; the message says what is valid. */
export class BenchArgumentError extends Error {
  override name = 'BenchArgumentError';
}

const ALL: GridSlice = {
  measures: [...MEASURES],
  widths: ['small', 'paper'],
  experts: [...EXPERT_SET_NAMES],
  taus: [...TAUS],
  tokens: [...TOKENS],
};

/**
 * The presets. `full` is the whole grid (hours on 2 cores); `default` is a representative
 * subset sized to finish in a plannable time (BENCHMARKS.md states how long); `quick` is a smoke
 * check that finishes in well under 3 minutes.
 */
export function presetGrid(preset: Preset): GridSlice[] {
  if (preset === 'full') return [ALL];
  if (preset === 'quick') {
    return [
      { measures: ['expert_forward', 'layer_forward', 'layer_forward_backward'], widths: ['small'], experts: [16], taus: [0.25, 0.75], tokens: [512] },
      { measures: ['train_step'], widths: ['small'], experts: [8], taus: [0.75], tokens: [512] },
      // An 8-expert cell, so the quick run has the MoE family's rows too (family-run.ts).
      { measures: ['expert_forward'], widths: ['small'], experts: [8], taus: [0.75], tokens: [512] },
    ];
  }
  return [
    // Table 3 at paper width: every expert count and τ, expert forward, one batch size.
    { measures: ['expert_forward'], widths: ['paper'], experts: [8, 16, 32], taus: [...TAUS], tokens: [2048] },
    // The whole layer, forward and forward+backward, at paper width: the default (16+4)E.
    { measures: ['layer_forward', 'layer_forward_backward'], widths: ['paper'], experts: [16], taus: [...TAUS], tokens: [2048] },
    // Small width: every measure of the layer, every expert count, the token-count sweep.
    { measures: ['expert_forward', 'layer_forward', 'layer_forward_backward'], widths: ['small'], experts: [8, 16, 32], taus: [0.25, 0.75], tokens: [...TOKENS] },
    // One full training step of the small LM preset.
    { measures: ['train_step'], widths: ['small'], experts: [8], taus: [0.75], tokens: [2048] },
  ];
}

function list(raw: string, what: string): string[] {
  const items = raw.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (items.length === 0) throw new BenchArgumentError(`--${what} is empty; give a comma-separated list`);
  return items;
}

function pick<T>(raw: string | undefined, what: string, valid: readonly T[], parse: (s: string) => T | undefined): T[] | undefined {
  if (raw === undefined) return undefined;
  const out: T[] = [];
  for (const item of list(raw, what)) {
    const v = parse(item);
    if (v === undefined || !valid.includes(v)) {
      throw new BenchArgumentError(`--${what}: '${item}' is not valid; valid values: ${valid.join(', ')}`);
    }
    if (!out.includes(v)) out.push(v);
  }
  return out;
}

function integer(raw: string | undefined, what: string, min: number, fallback: number): number {
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min) throw new BenchArgumentError(`--${what}: '${raw}' is not valid; give an integer ≥ ${min}`);
  return v;
}

function positive(raw: string | undefined, what: string, fallback: number): number {
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v) || v <= 0) throw new BenchArgumentError(`--${what}: '${raw}' is not valid; give a number > 0`);
  return v;
}

const num = (s: string): number | undefined => (Number.isFinite(Number(s)) ? Number(s) : undefined);

/**
 * Validates raw arguments and resolves them against a preset. Any grid flag replaces that axis
 * in every slice of the preset (so `--widths paper --tau 0.75` narrows the default run).
 *
 * @example
 * resolveBenchOptions({ quick: true }).grid[0].widths; // ['small']
 */
export function resolveBenchOptions(raw: RawBenchArgs): BenchOptions {
  if (raw.quick && raw.full) throw new BenchArgumentError('--quick and --full exclude each other; valid presets: quick, default (no flag), full');
  const preset: Preset = raw.quick ? 'quick' : raw.full ? 'full' : 'default';

  const measures = pick(raw.measures, 'measures', [...MEASURES, ...Object.keys(MEASURE_ALIASES)] as string[], (s) => s);
  const widths = pick(raw.widths, 'widths', Object.keys(WIDTHS) as Width[], (s) => s as Width);
  const experts = pick(raw.experts, 'experts', EXPERT_SET_NAMES, (s) => num(s) as ExpertSet | undefined);
  const taus = pick(raw.tau, 'tau', [...TAUS] as number[], num);
  const tokens = pick(raw.tokens, 'tokens', [...TOKENS] as number[], num);
  const routings = pick(raw.routing, 'routing', ROUTINGS, (s) => s as Routing);
  const peer = pick(raw.peer, 'peer', PEERS, (s) => s as 'torch');
  if (peer && peer.length > 1) throw new BenchArgumentError('--peer takes one value; valid values: torch');

  const grid = presetGrid(preset)
    .map((slice) => ({
      measures: measures ? [...new Set(measures.map((m) => MEASURE_ALIASES[m] ?? (m as Measure)))] : slice.measures,
      widths: widths ?? slice.widths,
      experts: experts ?? slice.experts,
      taus: (taus ?? slice.taus).sort((a, b) => a - b),
      tokens: (tokens ?? slice.tokens).sort((a, b) => a - b),
    }))
    .filter((slice, i, all) => all.findIndex((s) => JSON.stringify(s) === JSON.stringify(slice)) === i);

  let resolvedRoutings: Routing[] = routings ?? (raw.checkpoint ? ['balanced', 'checkpoint'] : ['balanced']);
  if (resolvedRoutings.includes('checkpoint') && !raw.checkpoint) {
    throw new BenchArgumentError('--routing checkpoint needs --checkpoint <run-folder> (a run folder with checkpoint/model.safetensors)');
  }
  resolvedRoutings = [...new Set(resolvedRoutings)];
  if (raw.checkpointMoe && !raw.checkpoint) {
    throw new BenchArgumentError('--checkpoint-moe needs --checkpoint <run-folder> (the MoE++ run whose routing the checkpoint cases use; --checkpoint-moe routes their MoE side)');
  }

  const reps = integer(raw.reps, 'reps', 1, preset === 'quick' ? 10 : 20);
  const minReps = integer(raw.minReps, 'min-reps', 1, Math.min(preset === 'full' ? 7 : 10, reps));
  if (minReps > reps) throw new BenchArgumentError(`--min-reps (${minReps}) exceeds --reps (${reps})`);
  return {
    preset,
    grid,
    routings: resolvedRoutings,
    checkpoint: raw.checkpoint ?? null,
    checkpointMoe: raw.checkpointMoe ?? null,
    reps,
    minReps,
    warmup: integer(raw.warmup, 'warmup', 0, preset === 'quick' ? 1 : 2),
    maxGroupSeconds: positive(raw.maxGroupSeconds, 'max-group-seconds', preset === 'full' ? 900 : preset === 'quick' ? 20 : 300),
    peer: peer?.[0] ?? null,
    peerThreads: integer(raw.peerThreads, 'peer-threads', 1, 2),
    python: raw.python ?? '/usr/bin/python3',
    profile: raw.profile ?? preset !== 'quick',
    packedWeights: raw.packedWeights ?? true,
    outDir: raw.out ?? 'results/bench',
    seed: integer(raw.seed, 'seed', 0, 1),
  };
}
