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
  reference(logits: number[], kinds: readonly string[], topK: number): ReferenceGating;
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
