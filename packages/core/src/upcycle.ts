/**
 * Sparse upcycling (Komatsuzaki et al. 2023): an MoE or MoE++ model initialised from a trained
 * dense model of the same width and depth. Every parameter the two share by name and shape
 * (embeddings, attention, norms, the dense FFN of non-MoE blocks, the LM head) is copied; in each
 * MoE block every `ffn` expert starts as a copy of that block's dense FFN, plus optional
 * N(0, noiseStd²) noise drawn per expert (seeded, so experts differ and runs repeat); the router,
 * the gating residual, the zero-computation experts and any shared experts keep their fresh
 * initialisation — the paper's recipe, with MoE++'s extra parameters treated as new ones.
 */
import * as tf from '@tensorflow/tfjs-core';
import { isMoeBlock } from './config.ts';
import { ffnExpert } from './experts/index.ts';
import type { MoeppLM } from './model.ts';
import { initialValues } from './parameters.ts';
import type { NamedArray } from './safetensors.ts';

/** Thrown when the dense weights cannot initialise the model; the message names every mismatch. */
export class UpcycleError extends Error {
  override name = 'UpcycleError';
}

/** What was copied where, for the run's log. */
export interface UpcycleReport {
  /** Parameters copied unchanged (same name in both models). */
  copied: number;
  /** FFN experts initialised from a dense FFN. */
  experts: number;
  /** Parameters left at their fresh initialisation (router, W_g, ZC and shared experts). */
  fresh: string[];
}

/**
 * Initialises `model` (MoE / MoE++) from the tensors of a dense model's weights file.
 *
 * @example
 * const { tensors } = decodeSafetensors(readFileSync('results/dense/run/checkpoint/model.safetensors'));
 * upcycleFromDense(model, tensors, { noiseStd: 0.01, seed: 1 });
 */
export function upcycleFromDense(model: MoeppLM, dense: Map<string, NamedArray>, options: { noiseStd: number; seed: number }): UpcycleReport {
  const ffnNames = ffnExpert.parameters({ dModel: 1, ffnHidden: 1 }).map((p) => p.name); // w_gate, w_up, w_down
  const sources = new Map<string, string>();
  const problems: string[] = [];
  for (const name of dense.keys()) {
    if (/\.moe\./.test(name)) problems.push(`'${name}' is an MoE parameter: upcycling starts from a dense run (model.moe: null)`);
  }
  const kindsByBlock = moeKindsByBlock(model);
  const fresh: string[] = [];
  let experts = 0;
  for (const [name, v] of model.parameters.variables) {
    const expert = /^layers\.(\d+)\.moe\.experts\.(\d+)\.(.+)$/.exec(name);
    const kindIsFfn = expert !== null && kindsByBlock.get(Number(expert[1]))?.[Number(expert[2])] === ffnExpert.name;
    // FFN experts come from their block's dense FFN; other MoE parameters are new; the rest must exist.
    const source = expert && kindIsFfn && ffnNames.includes(expert[3]) ? `layers.${expert[1]}.ffn.${expert[3]}` : name.includes('.moe.') ? null : name;
    if (source === null) {
      fresh.push(name);
      continue;
    }
    const t = dense.get(source);
    if (!t) problems.push(`'${source}' is missing from the dense weights (needed for '${name}')`);
    else if (t.shape.join(',') !== v.shape.join(',')) problems.push(`'${source}' has shape [${t.shape}] but '${name}' is [${v.shape}]`);
    else sources.set(name, source);
    if (expert && ffnNames[0] === expert[3] && kindIsFfn) experts++;
  }
  if (problems.length) {
    throw new UpcycleError(
      `the dense weights do not fit this model (${problems.length} problem(s)): ${problems.slice(0, 4).join('; ')}${problems.length > 4 ? '; …' : ''}. ` +
        'Upcycle from a dense run of the same dModel, nLayers, nHeads and vocabulary, with model.moe.ffnHidden equal to its denseFfnHidden.',
    );
  }
  for (const [name, source] of sources) {
    const { data, shape } = dense.get(source) as NamedArray;
    const values = data.slice();
    if (source !== name && options.noiseStd > 0) {
      const noise = initialValues(shape, { kind: 'normal', std: options.noiseStd }, `${options.seed}:upcycle:${name}`);
      for (let i = 0; i < values.length; i++) values[i] += noise[i];
    }
    const v = model.parameters.get(name);
    tf.tidy(() => v.assign(tf.tensor(values, shape, 'float32')));
  }
  return { copied: sources.size - experts * ffnNames.length, experts, fresh };
}

/** Each MoE block's expert kinds, by block index. */
function moeKindsByBlock(model: MoeppLM): Map<number, readonly string[]> {
  const kinds = model.moeLayerKinds();
  const byBlock = new Map<number, readonly string[]>();
  for (let i = 0, j = 0; i < model.config.nLayers; i++) if (isMoeBlock(model.config, i)) byBlock.set(i, kinds[j++]);
  return byBlock;
}
