/**
 * What an expert kind is, and the registry every other part of the code asks about kinds.
 *
 * A kind is one module (`experts/<kind>.ts`) exporting one `ExpertKind` object, registered here
 * by `experts/index.ts`. The layer, the losses, the capacity, the routing statistics, the
 * parameter and FLOP counts and the config validation read a kind's properties from its object;
 * nothing outside `experts/` compares kind names. docs/extending.md walks through adding one.
 *
 * A layer's experts are explicit data: a list with one kind name per expert, built from counts
 * (`expertKindsFromCounts`), never inferred from an expert's position.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { RowOps } from '@moepp/backends';
import type { Initializer } from '../parameters.ts';

/**
 * `ffn`: an expert that transforms a token at O(D·I) cost. `zero-computation`: O(D) per token.
 * The class sets η in the balance loss (1 and τ), which capacity formula applies (§6), and what
 * "FFN experts per token" counts (moepp-method.md §5–§6).
 */
export type CostClass = 'ffn' | 'zero-computation';

/** The sizes an expert's parameters may depend on. */
export interface ExpertDims {
  /** Model width D. */
  dModel: number;
  /** Hidden width I of an FFN expert. */
  ffnHidden: number;
}

/** One parameter of an expert: its field in the params object, its name on disk, its shape. */
export interface ParameterSpec {
  /** Field name in the params object (`wGate`). */
  key: string;
  /** Name in `.safetensors`, after `…experts.<e>.` (`w_gate`). */
  name: string;
  shape: number[];
  /** How it is initialised; default: normal with the model's `initStd`. */
  init?: Initializer;
}

/** An expert's parameters by `ParameterSpec.key`; empty for parameter-free kinds. */
export type ExpertParams = Record<string, tf.Tensor>;

/** Host arrays of an expert's parameters for the float64 reference, by `ParameterSpec.key`. */
export type ReferenceParams = Record<string, number[][] | number[]>;

/**
 * Host pieces of an expert that runs on the rows routed to it (dispatch `rows`): the host
 * executor gathers those rows, runs `forward`, and in the backward pass hands `backward` the
 * rows, what `forward` saved and the rows' output gradient.
 */
export interface RowExpertHost {
  /** y (n, D) for rows (n, D), and the activations the backward needs. */
  forward(rows: tf.Tensor2D, params: ExpertParams): { y: tf.Tensor2D; saved: tf.Tensor[] };
  /** dx (n, D) and one gradient per parameter, in `parameters()` order. */
  backward(rows: tf.Tensor2D, saved: tf.Tensor[], dy: tf.Tensor2D, params: ExpertParams): { dx: tf.Tensor2D; paramGrads: tf.Tensor[] };
  /**
   * Optional forward-only fast path, used while no gradient is recorded: adds
   * `w[weightIndex[i]]·E(x[index[i]])` into row `index[i]` of out for every slot whose weight is
   * not 0 and returns true, or returns false, changing nothing, where it does not apply now (the
   * executor then runs `forward`). x and out are host views of (N, D) rows, w of the routing
   * weights; it must not allocate tensors (the views would go stale). It must give what `forward`
   * and the executor's scatter give.
   */
  forwardAdd?(out: Float32Array, x: Float32Array, w: Float32Array, index: Int32Array, weightIndex: Int32Array, params: ExpertParams): boolean;
}

/**
 * Host pieces of an O(D) expert evaluated token-wise (dispatch `tokenwise`), written for an
 * expert of the form `E(x) = a(x)·x + b(x)`: the executor sums `w·a(x)` over a token's experts
 * and applies it once, and each expert adds its own `w·b(x)`.
 *
 * Arrays are host views (see @moepp/backends' heap I/O) of N rows of D. The views are valid only
 * while the executor runs one pass (no allocation happens in between), so `prepare` copies what it
 * must keep.
 */
export interface TokenwiseExpertHost<State = unknown> {
  /** Per-pass state from the parameters' host views (in `parameters()` order). */
  prepare(params: Float32Array[], dModel: number): State;
  /**
   * For every token n whose routing weight w[n] is not 0: adds `w[n]·b(x_n)` into row n of out and
   * `w[n]·a(x_n)` to keep[n]. x and out hold N rows of D, w and keep N values; `ops` are the
   * row loops to build on (native under `blas`, so the pass is not a JS loop over N·D values).
   */
  forward(state: State, x: Float32Array, w: Float32Array, out: Float32Array, keep: Float64Array, ops: RowOps): void;
  /**
   * The backward over all N tokens at once, given the output gradient g (N rows of D) and
   * xg[n] = ⟨x_n, g_n⟩: adds ⟨E(x_n), g_n⟩ to dWeight[n] for every token (also where w[n] is 0),
   * adds `w[n]·a(x_n)` to keep[n] (the executor adds keep[n]·g_n to dx once), and adds the rest of
   * dx and the parameters' gradients (one array each, in `parameters()` order). `ops` as in
   * `forward`.
   */
  backward(state: State, x: Float32Array, g: Float32Array, w: Float32Array, xg: Float64Array, dx: Float32Array, dWeight: Float64Array, keep: Float64Array, paramGrads: Float32Array[], ops: RowOps): void;
}

export interface ExpertKind {
  /** The key in expert counts and in `expertKinds` lists (`ffn`, `zero`, …). */
  name: string;
  /** One line for docs and error messages. */
  description: string;
  costClass: CostClass;
  /**
   * Position of this kind in a layer's weight layout (lower first). The built-in kinds follow the
   * released MoE++ 7B (FFN, constant, copy, zero), so imported weights need no reordering.
   */
  layoutOrder: number;
  /**
   * `rows`: the expert runs on the rows of the tokens routed to it (gathered, computed, scattered
   * back), so its cost scales with its load. `tokenwise`: an O(D) expert the host executor
   * evaluates token by token where its weight is non-zero, and the tf-ops executor on every token.
   */
  dispatch: 'rows' | 'tokenwise';
  /**
   * The expert's output is identically zero (the zero expert): the `reference` gating gives it
   * weight 0 before renormalising (§3), and executors skip it.
   */
  outputIsZero: boolean;
  parameters(dims: ExpertDims): ParameterSpec[];
  /** Forward FLOPs per routed token (the project counts matmul FLOPs only, so 0 for O(D) kinds). */
  flopsPerToken(dims: ExpertDims): number;
  /** E(x) for rows x (n, D) with plain tf ops: what the tf-ops executor runs. */
  forward(x: tf.Tensor2D, params: ExpertParams): tf.Tensor2D;
  /** Pieces of the host executor's fused op; a kind without them runs on the tf-ops executor only. */
  host: { rows: RowExpertHost } | { tokenwise: TokenwiseExpertHost } | null;
  /** E(x) for one token x (D) in float64 plain loops, for the tests' dense reference. */
  reference(params: ReferenceParams, x: number[]): number[];
}

const registry = new Map<string, ExpertKind>();

/**
 * Makes a kind available to configs, the layer and every statistic. The built-in kinds are
 * registered by `experts/index.ts`; a kind defined elsewhere registers itself the same way.
 *
 * @example
 * registerExpertKind(myKind); // then `experts: { ffn: 8, mine: 2 }` is a valid config
 */
export function registerExpertKind(kind: ExpertKind): void {
  if (registry.has(kind.name)) throw new Error(`expert kind '${kind.name}' is registered twice`);
  if (!/^[a-z][a-z0-9-]*$/.test(kind.name)) throw new Error(`expert kind name '${kind.name}' must be lower-case letters, digits and dashes`);
  registry.set(kind.name, kind);
}

/** Removes a kind registered by a test (built-in kinds stay). */
export function unregisterExpertKind(name: string): void {
  registry.delete(name);
}

/** The kind registered under `name`; throws with the list of known kinds otherwise. */
export function expertKind(name: string): ExpertKind {
  const kind = registry.get(name);
  if (!kind) throw new Error(`unknown expert kind '${name}'; known kinds: ${expertKindNames().join(', ')}`);
  return kind;
}

/** Names of every registered kind, in registration order. */
export function expertKindNames(): string[] {
  return [...registry.keys()];
}

/** How many experts of each kind a layer has, e.g. `{ ffn: 16, zero: 1, copy: 1, constant: 2 }`; omitted kinds count 0. */
export type ExpertCounts = Record<string, number>;

/**
 * The layer's expert kinds, one per expert, in weight-layout order (`layoutOrder`, then
 * registration order).
 *
 * @example
 * expertKindsFromCounts({ ffn: 2, zero: 1, copy: 1, constant: 1 });
 * // ['ffn', 'ffn', 'constant', 'copy', 'zero']
 */
export function expertKindsFromCounts(counts: ExpertCounts): string[] {
  const names = expertKindNames();
  const ordered = Object.keys(counts)
    .map((name) => expertKind(name))
    .sort((a, b) => a.layoutOrder - b.layoutOrder || names.indexOf(a.name) - names.indexOf(b.name));
  return ordered.flatMap((kind) => Array<string>(counts[kind.name]).fill(kind.name));
}

/** Total experts E of a layer. */
export function totalExperts(counts: ExpertCounts): number {
  return Object.values(counts).reduce((s, n) => s + n, 0);
}

/** Whether expert kind `name` is FFN-like (η = 1, counted in "FFN experts per token"). */
export function isFfnLike(name: string): boolean {
  return expertKind(name).costClass === 'ffn';
}

/** Number of FFN-like experts in a layer's kind list. */
export function ffnLikeCount(kinds: readonly string[]): number {
  return kinds.filter(isFfnLike).length;
}
