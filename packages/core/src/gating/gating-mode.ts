/**
 * What a gating mode is, and the registry the router and config validation ask.
 *
 * A gating mode is one module (`gating/<mode>.ts`) exporting one `GatingMode` object, registered
 * by `gating/index.ts`. It owns both halves of a routing decision: the ranking (which K experts
 * each token takes) and the weights. They are decided together because they need not agree with
 * the order of the raw logits: noise, per-expert biases or sigmoid scores change the ranking but
 * not necessarily the weights. docs/extending.md walks through adding one.
 */
import type * as tf from '@tensorflow/tfjs-core';

import type { ForwardContext } from '../forward-context.ts';
import type { ParameterSpec } from '../experts/expert-kind.ts';

export type { ForwardContext };

/** The top-K decision on the host: what dispatch needs. */
export interface Selection {
  tokens: number; // N
  experts: number; // E
  topK: number; // K
  /** (N·K) chosen experts per token, best first. */
  topKIndex: Int32Array;
  /** (N·E) 1 where expert e is in token n's top-K. */
  selectedMask: Float32Array;
}

export interface GatingInput {
  /** (N, E) router logits after the gating residual. */
  routerLogits: tf.Tensor2D;
  /** (N·E) the same logits, read to the host. */
  hostLogits: Float32Array;
  /** The layer's expert kinds, one per expert. */
  kinds: readonly string[];
  topK: number;
  /** (N, D) what the router projected (after input jitter); modes with their own projections read it. */
  routerInput: tf.Tensor2D;
  /** (N) the token id of each row when the caller knows them (the LM does); null otherwise. */
  tokenIds: Int32Array | null;
  /** The mode's own learned parameters (`parameters`), by key; empty for most modes. */
  params: Record<string, tf.Variable>;
  /** The mode's non-learned state (`buffers`), by key, on the host. */
  buffers: Record<string, Float32Array>;
  /** The mode's options (`moe.gatingOptions`), every default filled in. */
  options: GatingOptions;
}

/** Values of a mode's options, by option name. */
export type GatingOptions = Record<string, number | boolean>;

/** The layer a mode's options, parameters and buffers may depend on. */
export interface GatingDims {
  dModel: number;
  /** E */
  experts: number;
  topK: number;
}

/** One option of a mode (`moe.gatingOptions.<name>`). */
export interface GatingOptionSpec {
  default: number | boolean;
  /** One line for docs and error messages. */
  description: string;
  /** Null when `value` is valid; otherwise what is wrong and how to fix it. */
  check(value: unknown, dims: GatingDims, options: GatingOptions): string | null;
}

/** One non-learned per-layer state array of a mode, saved with the weights as `…router.<name>`; starts at 0. */
export interface BufferSpec {
  key: string;
  name: string;
  /** Its length. */
  size: number;
}

/** What the float64 reference of a mode may read besides the logits. */
export interface ReferenceContext {
  /** (D) the token's router input. */
  x: number[];
  tokenId: number | null;
  options: GatingOptions;
  params: Record<string, number[][]>;
  buffers: Record<string, number[]>;
}

export interface GatingDecision {
  selection: Selection;
  /** (N, E) routing probabilities over all experts: the balance loss's P_i averages them. */
  routerProbs: tf.Tensor2D;
  /**
   * (N, E) the weights of the selected experts. Entries off the top-K may be anything: the layer
   * keeps only the slots that survive capacity (`keptWeights` in dispatch.ts).
   */
  gateWeights: tf.Tensor2D;
}

/** The float64 reference of one token's routing, for the tests' dense reference. */
export interface ReferenceGating {
  probs: number[];
  topK: number[];
  weights: number[];
}

export interface GatingMode {
  /** The value of `moe.gating` that selects it. */
  name: string;
  /** One line for docs and error messages. */
  description: string;
  /** Ranks and weighs; tensors it makes are freed by the caller's tidy unless returned. */
  gate(input: GatingInput, context: ForwardContext): GatingDecision;
  /**
   * One token's routing in float64 plain loops, from its logits (E). `kinds` are the layer's
   * expert kinds (the reference mode drops zero experts' weight); no randomness: a mode with
   * training-only noise gives its evaluation behaviour here.
   */
  reference(logits: number[], kinds: readonly string[], topK: number, context?: ReferenceContext): ReferenceGating;
  /** Options under `moe.gatingOptions` (validated by the config, defaults filled by `gatingOptions`). */
  options?: Record<string, GatingOptionSpec>;
  /** Learned parameters, created as `…router.<name>` (default init: normal with the model's `initStd`). */
  parameters?(dims: GatingDims, options: GatingOptions): ParameterSpec[];
  /** Non-learned state updated between optimizer steps by `updateBuffers`. */
  buffers?(dims: GatingDims, options: GatingOptions): BufferSpec[];
  /** Updates the buffers in place after an optimizer step, from the step's selected slots per expert (E). */
  updateBuffers?(buffers: Record<string, Float32Array>, load: Float64Array, options: GatingOptions): void;
  /** False for a mode that routes without router logits (hash routing): the layer then has no W_r and no gating residual. */
  usesRouterLogits?: boolean;
  /** True for a mode that fixes every expert's load itself (expert choice): `moe.capacityFactor` must then be null. */
  ownCapacity?: boolean;
  /** Why runs with this mode are for comparison only (expert-choice's causality); printed for every such run. */
  caveat?: string;
}

/**
 * The mode's options with defaults filled in; throws on an unknown or invalid option.
 *
 * @example
 * gatingOptions(gatingMode('sigmoid-bias'), { biasUpdateRate: 0.01 }, { dModel: 64, experts: 8, topK: 2 });
 */
export function gatingOptions(mode: GatingMode, given: Record<string, unknown> | undefined, dims: GatingDims): GatingOptions {
  const specs = mode.options ?? {};
  const known = Object.keys(specs);
  for (const key of Object.keys(given ?? {})) {
    if (!known.includes(key)) {
      throw new GatingOptionError(key, `gating mode '${mode.name}' has no option '${key}' (${known.length ? `its options: ${known.join(', ')}` : 'it takes no options'})`);
    }
  }
  const resolved: GatingOptions = Object.fromEntries(Object.entries(specs).map(([k, spec]) => [k, spec.default]));
  Object.assign(resolved, given ?? {});
  for (const [key, spec] of Object.entries(specs)) {
    const problem = spec.check(resolved[key], dims, resolved);
    if (problem) throw new GatingOptionError(key, problem);
  }
  return resolved;
}

/** An invalid `moe.gatingOptions.<option>`; config validation turns it into a ConfigError. */
export class GatingOptionError extends Error {
  constructor(
    readonly option: string,
    message: string,
  ) {
    super(message);
    this.name = 'GatingOptionError';
  }
}

const registry = new Map<string, GatingMode>();

/**
 * Makes a gating mode available as `moe.gating: <name>`. The built-in modes are registered by
 * `gating/index.ts`.
 *
 * @example
 * registerGatingMode(myMode); // then `moe: { gating: 'mine' }` is a valid config
 */
export function registerGatingMode(mode: GatingMode): void {
  if (registry.has(mode.name)) throw new Error(`gating mode '${mode.name}' is registered twice`);
  registry.set(mode.name, mode);
}

/** Removes a mode registered by a test (built-in modes stay). */
export function unregisterGatingMode(name: string): void {
  registry.delete(name);
}

/** The mode registered under `name`; throws with the list of known modes otherwise. */
export function gatingMode(name: string): GatingMode {
  const mode = registry.get(name);
  if (!mode) throw new Error(`unknown gating mode '${name}'; known modes: ${gatingModeNames().join(', ')}`);
  return mode;
}

/** Names of every registered mode, in registration order. */
export function gatingModeNames(): string[] {
  return [...registry.keys()];
}
