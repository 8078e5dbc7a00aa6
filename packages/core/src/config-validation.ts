/**
 * Config validation: every message says what is wrong and how to fix it, because a researcher
 * launching a sweep should learn about a typo before hours of compute, not after.
 */
import type { ModelConfig, MoeConfig, SharedExpertsConfig } from './config.ts';
import { moeLayerCount, expertCountsOfLayer } from './config.ts';
import { expertKindNames, isFfnLike, totalExperts, type ExpertCounts } from './experts/index.ts';
import { gatingMode, gatingModeNames, gatingOptions, GatingOptionError } from './gating/index.ts';

/** Thrown for an invalid model config; `path` names the offending key (e.g. `moe.topK`). */
export class ConfigError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`invalid config at '${path}': ${message}`);
    this.name = 'ConfigError';
  }
}

const MODEL_KEYS: readonly (keyof ModelConfig)[] = [
  'vocabSize', 'dModel', 'nLayers', 'nHeads', 'maxSeqLen', 'denseFfnHidden', 'moe', 'moeInterval',
  'tieEmbeddings', 'ropeTheta', 'normEps', 'initStd', 'routerAuxLossCoef', 'routerZLossCoef',
  'sequenceBalanceLossCoef', // the routing family (docs/moe-family.md)
];
const MOE_KEYS: readonly (keyof MoeConfig)[] = [
  'experts', 'expertsPerLayer', 'topK', 'ffnHidden', 'gating', 'gatingResidual', 'tau',
  'capacityFactor', 'gatingResidualInitStd',
  // the routing family (docs/moe-family.md)
  'gatingOptions', 'routerJitter', 'routerHidden', 'expertInputTimesTopK', 'attentionRouter',
  // expert designs (shared-experts.ts)
  'sharedExperts',
];
const SHARED_EXPERTS_KEYS: readonly (keyof SharedExpertsConfig)[] = ['count', 'hidden', 'gated'];

/**
 * Checks a full model config; throws `ConfigError` on the first problem.
 *
 * @example
 * validateModelConfig({ ...DEFAULT_MODEL_CONFIG, moe: { ...DEFAULT_MOE_CONFIG, topK: 20 } });
 * // ConfigError: invalid config at 'moe.topK': top-K is 20 but the layer has only 12 experts; ...
 */
export function validateModelConfig(config: ModelConfig): void {
  rejectUnknownKeys(config as unknown as Record<string, unknown>, MODEL_KEYS, '');
  positiveInteger(config.vocabSize, 'vocabSize');
  positiveInteger(config.dModel, 'dModel');
  positiveInteger(config.nLayers, 'nLayers');
  positiveInteger(config.nHeads, 'nHeads');
  positiveInteger(config.maxSeqLen, 'maxSeqLen');
  positiveInteger(config.denseFfnHidden, 'denseFfnHidden');
  positiveInteger(config.moeInterval, 'moeInterval');
  if (config.dModel % config.nHeads !== 0) {
    throw new ConfigError('nHeads', `dModel ${config.dModel} is not divisible by nHeads ${config.nHeads}; choose nHeads dividing dModel`);
  }
  if ((config.dModel / config.nHeads) % 2 !== 0) {
    throw new ConfigError('nHeads', `head size ${config.dModel / config.nHeads} is odd; RoPE rotates pairs of dimensions, so dModel / nHeads must be even`);
  }
  positiveNumber(config.ropeTheta, 'ropeTheta');
  positiveNumber(config.normEps, 'normEps');
  nonNegativeNumber(config.initStd, 'initStd');
  nonNegativeNumber(config.routerAuxLossCoef, 'routerAuxLossCoef');
  nonNegativeNumber(config.routerZLossCoef, 'routerZLossCoef');
  if (config.sequenceBalanceLossCoef !== undefined) nonNegativeNumber(config.sequenceBalanceLossCoef, 'sequenceBalanceLossCoef');
  if (typeof config.tieEmbeddings !== 'boolean') {
    throw new ConfigError('tieEmbeddings', `expected true or false, got ${JSON.stringify(config.tieEmbeddings)}`);
  }
  if (config.moe === null) return;
  if (typeof config.moe !== 'object') {
    throw new ConfigError('moe', `expected an object (or null for a dense model), got ${JSON.stringify(config.moe)}`);
  }
  if (config.moeInterval > config.nLayers) {
    throw new ConfigError('moeInterval', `moeInterval ${config.moeInterval} exceeds nLayers ${config.nLayers}, so no block would be MoE; lower it or set moe: null for a dense model`);
  }
  validateMoeConfig(config.moe, config);
}

function validateMoeConfig(moe: MoeConfig, config: ModelConfig): void {
  rejectUnknownKeys(moe as unknown as Record<string, unknown>, MOE_KEYS, 'moe.');
  positiveInteger(moe.topK, 'moe.topK');
  positiveInteger(moe.ffnHidden, 'moe.ffnHidden');
  if (!gatingModeNames().includes(moe.gating)) {
    throw new ConfigError('moe.gating', `unknown gating mode ${JSON.stringify(moe.gating)}; use one of ${gatingModeNames().join(', ')}`);
  }
  if (typeof moe.gatingResidual !== 'boolean') {
    throw new ConfigError('moe.gatingResidual', `expected true or false, got ${JSON.stringify(moe.gatingResidual)}`);
  }
  if (!(typeof moe.tau === 'number' && moe.tau > 0 && Number.isFinite(moe.tau))) {
    throw new ConfigError('moe.tau', `τ must be a finite number > 0 (it weights ZC experts in the balance loss; the paper uses 0.1–1.0), got ${moe.tau}`);
  }
  if (moe.capacityFactor !== null && !(typeof moe.capacityFactor === 'number' && moe.capacityFactor > 0)) {
    throw new ConfigError('moe.capacityFactor', `capacity factor γ must be > 0 (the paper uses 1.1) or null for dropless, got ${moe.capacityFactor}`);
  }
  nonNegativeNumber(moe.gatingResidualInitStd, 'moe.gatingResidualInitStd');
  if (moe.sharedExperts !== undefined) validateSharedExperts(moe.sharedExperts);

  const layers = moeLayerCount(config);
  if (moe.expertsPerLayer !== null) {
    if (!Array.isArray(moe.expertsPerLayer) || moe.expertsPerLayer.length !== layers) {
      throw new ConfigError('moe.expertsPerLayer', `expected a list of ${layers} expert-count objects (one per MoE++ layer) or null, got ${JSON.stringify(moe.expertsPerLayer)}`);
    }
  }
  validateExpertCounts(moe.experts, 'moe.experts', moe.topK);
  let previousE: number | null = null;
  for (let j = 0; j < layers; j++) {
    const counts = expertCountsOfLayer(moe, j);
    if (moe.expertsPerLayer !== null) validateExpertCounts(counts, `moe.expertsPerLayer[${j}]`, moe.topK);
    const e = totalExperts(counts);
    if (moe.gatingResidual && previousE !== null && e !== previousE) {
      throw new ConfigError(`moe.expertsPerLayer[${j}]`, `the gating residual feeds layer ${j - 1}'s ${previousE} router logits into layer ${j}, which has ${e} experts; give adjacent MoE++ layers the same number of experts or set moe.gatingResidual: false`);
    }
    previousE = e;
  }
  validateRoutingFamily(moe, config, layers);
}

/** The optional keys of the routing family, and the gating mode's own options on every layer's shape. */
function validateRoutingFamily(moe: MoeConfig, config: ModelConfig, layers: number): void {
  const mode = gatingMode(moe.gating);
  if (moe.gatingOptions !== undefined && (typeof moe.gatingOptions !== 'object' || moe.gatingOptions === null || Array.isArray(moe.gatingOptions))) {
    throw new ConfigError('moe.gatingOptions', `expected an object of the gating mode's options, e.g. { biasUpdateRate: 0.001 }, got ${JSON.stringify(moe.gatingOptions)}`);
  }
  for (let j = 0; j < layers; j++) {
    const dims = { dModel: config.dModel, experts: totalExperts(expertCountsOfLayer(moe, j)), topK: moe.topK };
    try {
      gatingOptions(mode, moe.gatingOptions, dims);
    } catch (e) {
      if (e instanceof GatingOptionError) throw new ConfigError(`moe.gatingOptions.${e.option}`, e.message);
      throw e;
    }
  }
  if (mode.usesRouterLogits === false && moe.gatingResidual) {
    throw new ConfigError('moe.gatingResidual', `gating mode '${mode.name}' routes without router logits, so there is nothing to pass on to the next layer; set moe.gatingResidual: false`);
  }
  if (mode.ownCapacity && moe.capacityFactor !== null) {
    throw new ConfigError('moe.capacityFactor', `gating mode '${mode.name}' sets every expert's capacity itself; set moe.capacityFactor: null`);
  }
  if (moe.routerJitter !== undefined && !(typeof moe.routerJitter === 'number' && moe.routerJitter >= 0 && moe.routerJitter < 1)) {
    throw new ConfigError('moe.routerJitter', `router jitter ε must be a number in [0, 1) (Switch Transformer uses 0.01), got ${JSON.stringify(moe.routerJitter)}`);
  }
  if (moe.routerHidden !== undefined && moe.routerHidden !== null) {
    positiveInteger(moe.routerHidden, 'moe.routerHidden');
    if (mode.usesRouterLogits === false) throw new ConfigError('moe.routerHidden', `gating mode '${mode.name}' has no router; remove moe.routerHidden`);
  }
  if (moe.attentionRouter !== undefined) {
    if (typeof moe.attentionRouter !== 'boolean') throw new ConfigError('moe.attentionRouter', `expected true or false, got ${JSON.stringify(moe.attentionRouter)}`);
    if (moe.attentionRouter && mode.usesRouterLogits === false) throw new ConfigError('moe.attentionRouter', `gating mode '${mode.name}' has no router; remove moe.attentionRouter`);
    if (moe.attentionRouter && moe.routerHidden !== undefined && moe.routerHidden !== null) {
      throw new ConfigError('moe.attentionRouter', 'the attention router and the two-layer router (moe.routerHidden) are alternatives; keep one');
    }
  }
  if (moe.expertInputTimesTopK !== undefined && typeof moe.expertInputTimesTopK !== 'boolean') {
    throw new ConfigError('moe.expertInputTimesTopK', `expected true or false, got ${JSON.stringify(moe.expertInputTimesTopK)}`);
  }
}

function validateSharedExperts(shared: SharedExpertsConfig): void {
  if (typeof shared !== 'object' || shared === null || Array.isArray(shared)) {
    throw new ConfigError('moe.sharedExperts', `expected { count, hidden?, gated? } such as { count: 1, gated: true }, or no key for none; got ${JSON.stringify(shared)}`);
  }
  rejectUnknownKeys(shared as unknown as Record<string, unknown>, SHARED_EXPERTS_KEYS, 'moe.sharedExperts.');
  positiveInteger(shared.count, 'moe.sharedExperts.count');
  positiveInteger(shared.hidden, 'moe.sharedExperts.hidden');
  if (typeof shared.gated !== 'boolean') {
    throw new ConfigError('moe.sharedExperts.gated', `expected true (Qwen2-MoE's sigmoid gate) or false (DeepSeekMoE, ungated), got ${JSON.stringify(shared.gated)}`);
  }
}

function validateExpertCounts(counts: ExpertCounts, path: string, topK: number): void {
  if (typeof counts !== 'object' || counts === null || Array.isArray(counts)) {
    throw new ConfigError(path, `expected expert counts like { ffn: 8, zero: 1, copy: 1, constant: 2 }, got ${JSON.stringify(counts)}`);
  }
  const kinds = expertKindNames();
  rejectUnknownKeys(counts as unknown as Record<string, unknown>, kinds, `${path}.`);
  for (const [key, v] of Object.entries(counts)) {
    if (!(Number.isInteger(v) && v >= 0)) {
      throw new ConfigError(`${path}.${key}`, `expected a whole number ≥ 0, got ${JSON.stringify(v)}`);
    }
  }
  const e = totalExperts(counts);
  if (e === 0) {
    throw new ConfigError(path, 'the expert set is empty; give at least one expert, e.g. { ffn: 8 }');
  }
  if (!Object.entries(counts).some(([kind, n]) => n > 0 && isFfnLike(kind))) {
    const ffnLike = kinds.filter(isFfnLike);
    throw new ConfigError(`${path}.${ffnLike[0]}`, `a layer needs at least one FFN expert (${ffnLike.join(', ')}); zero-computation experts alone cannot transform a token`);
  }
  if (topK > e) {
    throw new ConfigError('moe.topK', `top-K is ${topK} but the layer has only ${e} experts; lower moe.topK or add experts`);
  }
}

function rejectUnknownKeys(obj: Record<string, unknown>, known: readonly string[], prefix: string): void {
  for (const key of Object.keys(obj)) {
    if (!known.includes(key)) {
      const hint = closest(key, known);
      throw new ConfigError(`${prefix}${key}`, `unknown key${hint ? `; did you mean '${prefix}${hint}'?` : ''} (known keys: ${known.join(', ')})`);
    }
  }
}

function positiveInteger(v: unknown, path: string): void {
  if (!(Number.isInteger(v) && (v as number) > 0)) throw new ConfigError(path, `expected a whole number > 0, got ${JSON.stringify(v)}`);
}
function positiveNumber(v: unknown, path: string): void {
  if (!(typeof v === 'number' && v > 0 && Number.isFinite(v))) throw new ConfigError(path, `expected a finite number > 0, got ${JSON.stringify(v)}`);
}
function nonNegativeNumber(v: unknown, path: string): void {
  if (!(typeof v === 'number' && v >= 0 && Number.isFinite(v))) throw new ConfigError(path, `expected a finite number ≥ 0, got ${JSON.stringify(v)}`);
}

/** The known key within edit distance 3 of `key`, for "did you mean" hints. */
function closest(key: string, known: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = 4;
  for (const k of known) {
    const d = editDistance(key.toLowerCase(), k.toLowerCase());
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}
