/**
 * Model configuration: plain typed objects, with the reason for each default beside it.
 *
 * Vanilla MoE and a dense model are configurations of the same code:
 *   - vanilla MoE: `experts: { ffn: 8 }`, `gatingResidual: false`
 *   - dense:       `moe: null` (every block has a dense SwiGLU FFN)
 */
import { expertKindsFromCounts, type ExpertCounts } from './experts/index.ts';
import './gating/index.ts';
import { validateModelConfig } from './config-validation.ts';
import type { MoeLayerSpec } from './moe-layer.ts';
import { applyGranularity } from './fine-grained.ts';

export { validateModelConfig, ConfigError } from './config-validation.ts';

/** Configuration of one MoE++ layer; shared by every MoE++ block of a model. */
export interface MoeConfig {
  /** Expert counts by kind (`experts/`), e.g. `{ ffn: 16, zero: 1, copy: 1, constant: 2 }` — the paper's (16+4)E. */
  experts: ExpertCounts;
  /**
   * Per-MoE-layer expert counts overriding `experts` (length = number of MoE++ layers), for
   * studies that vary the expert set with depth; null = every layer uses `experts`.
   */
  expertsPerLayer: ExpertCounts[] | null;
  /** Experts chosen per token; the paper uses 2. */
  topK: number;
  /** Hidden width I of each SwiGLU FFN expert. */
  ffnHidden: number;
  /** A gating mode (`gating/`): `reference`, `paper`, `mixtral`, …; `reference` is what the released MoE++ 7B does, so it is the default. */
  gating: string;
  /** Feed the previous MoE++ layer's logits into this layer's router (§4). */
  gatingResidual: boolean;
  /** η for ZC experts in the balance loss; 0.75 is the paper's default. */
  tau: number;
  /** Heterogeneous capacity factor γ (§6); null = dropless, the default, so no token is lost. */
  capacityFactor: number | null;
  /** Std of W_g's initialisation; 0 makes an untrained model route as without residual (§4). */
  gatingResidualInitStd: number;

  // The routing family (docs/moe-family.md). Optional and absent by default, so configs,
  // config.json files and checkpoints written before them stay byte-identical.
  /** Options of the gating mode, e.g. `{ biasUpdateRate: 0.001 }` for `sigmoid-bias`; absent = the mode's defaults. */
  gatingOptions?: Record<string, number | boolean>;
  /** Router input jitter ε (Switch Transformer, Mixtral's `router_jitter_noise`): x ⊙ U(1−ε, 1+ε) in training; absent = 0. */
  routerJitter?: number;
  /** Hidden width of the released 7B's two-layer router `tanh(x W_hidden) W_r` (it uses 8E); absent or null = a linear router. */
  routerHidden?: number | null;
  /** Yuan 2.0-M32's attention router (Q, K, V projections over the experts) in place of W_r; absent = false. */
  attentionRouter?: boolean;
  /** Feed the experts K·x, as the released 7B does unless `moe_feature_no_mul_topk` is set; absent = false (x). */
  expertInputTimesTopK?: boolean;
  /**
   * Always-on FFN experts added to the routed output (DeepSeekMoE, Qwen2-MoE; `shared-experts.ts`).
   * Absent (the default) = none: optional so that configs written before it, and the checkpoints
   * that embed them, stay byte-identical.
   */
  sharedExperts?: SharedExpertsConfig;
}

/** `moe.sharedExperts`: S shared SwiGLU experts of hidden width I_s, optionally sigmoid-gated. */
export interface SharedExpertsConfig {
  /** S ≥ 1 (DeepSeekMoE uses 1–2, Qwen2-MoE 1). */
  count: number;
  /** I_s; resolved to `moe.ffnHidden` (after `granularity`) when not given. */
  hidden: number;
  /** Qwen2-MoE's per-token gate sigmoid(x w_shared); DeepSeekMoE has none, so false by default. */
  gated: boolean;
}

/** A decoder-only LM whose FFN sublayers are MoE++ layers every `moeInterval` blocks. */
export interface ModelConfig {
  vocabSize: number;
  /** Model width D. */
  dModel: number;
  nLayers: number;
  nHeads: number;
  /** Longest sequence; sizes the RoPE tables. */
  maxSeqLen: number;
  /** Hidden width of the dense SwiGLU FFN used in non-MoE blocks (and the whole dense model). */
  denseFfnHidden: number;
  /** null = dense model. */
  moe: MoeConfig | null;
  /** Every `moeInterval`-th block is MoE++ (1 = all, as in the paper); others are dense. */
  moeInterval: number;
  /** Tie the LM head to the token embedding (saves V·D parameters). */
  tieEmbeddings: boolean;
  /** RoPE base frequency (LLaMA's 10000). */
  ropeTheta: number;
  /** RMSNorm epsilon (LLaMA's 1e-6). */
  normEps: number;
  /** Std of the normal initialisation of weight matrices (GPT-2 / OLMoE use 0.02). */
  initStd: number;
  /** β: weight of the mean balance loss in the training loss; the paper uses 0.01. */
  routerAuxLossCoef: number;
  /** ST-MoE router z-loss coefficient; 0 (off) by default as in the paper. */
  routerZLossCoef: number;
  /**
   * α of DeepSeek-V3's sequence-wise balance loss (sequence-balance-loss.ts), added as α · its
   * mean over MoE++ layers; absent = off (DeepSeek-V3 uses a tiny α such as 1e-4). Optional, so
   * configs written before it are unchanged.
   */
  sequenceBalanceLossCoef?: number;
}

/** The MoE++ layer defaults: the paper's choices where it makes one. */
export const DEFAULT_MOE_CONFIG: MoeConfig = {
  experts: { ffn: 8, zero: 1, copy: 1, constant: 2 },
  expertsPerLayer: null,
  topK: 2,
  ffnHidden: 512,
  gating: 'reference',
  gatingResidual: true,
  tau: 0.75,
  capacityFactor: null,
  gatingResidualInitStd: 0,
};

/** A small LM that trains on a 2-core CPU in minutes. */
export const DEFAULT_MODEL_CONFIG: ModelConfig = {
  vocabSize: 4096,
  dModel: 128,
  nLayers: 4,
  nHeads: 4,
  maxSeqLen: 128,
  denseFfnHidden: 512,
  moe: DEFAULT_MOE_CONFIG,
  moeInterval: 1,
  tieEmbeddings: true,
  ropeTheta: 10000,
  normEps: 1e-6,
  initStd: 0.02,
  routerAuxLossCoef: 0.01,
  routerZLossCoef: 0,
};

/** Whether block `i` (0-based) holds an MoE++ layer: the last block of every `moeInterval`. */
export function isMoeBlock(config: ModelConfig, blockIndex: number): boolean {
  return config.moe !== null && blockIndex % config.moeInterval === config.moeInterval - 1;
}

/** Number of MoE++ layers in the model. */
export function moeLayerCount(config: ModelConfig): number {
  let n = 0;
  for (let i = 0; i < config.nLayers; i++) if (isMoeBlock(config, i)) n++;
  return n;
}

/** Expert counts of the `moeLayerIndex`-th MoE++ layer (0-based among MoE++ layers). */
export function expertCountsOfLayer(moe: MoeConfig, moeLayerIndex: number): ExpertCounts {
  return moe.expertsPerLayer?.[moeLayerIndex] ?? moe.experts;
}

/**
 * The spec of the `moeLayerIndex`-th MoE++ layer: what `createMoeLayer` builds. The first MoE++
 * layer has no gating residual (there is no previous layer's logits to add).
 */
export function moeLayerSpec(config: ModelConfig, moeLayerIndex: number): MoeLayerSpec {
  const moe = config.moe;
  if (moe === null) throw new Error('moeLayerSpec: the model is dense (moe: null)');
  return {
    dModel: config.dModel,
    kinds: expertKindsFromCounts(expertCountsOfLayer(moe, moeLayerIndex)),
    topK: moe.topK,
    ffnHidden: moe.ffnHidden,
    gating: moe.gating,
    tau: moe.tau,
    capacityFactor: moe.capacityFactor,
    gatingResidual: moe.gatingResidual && moeLayerIndex > 0,
    gatingResidualInitStd: moe.gatingResidualInitStd,
    initStd: config.initStd,
    sharedExperts: moe.sharedExperts ?? null,
    ...routingFamilySpec(moe),
  };
}

/** The routing-family fields of a layer spec: only those the config sets, so older specs are unchanged. */
function routingFamilySpec(moe: MoeConfig): Partial<MoeLayerSpec> {
  const spec: Partial<MoeLayerSpec> = {};
  if (moe.gatingOptions !== undefined) spec.gatingOptions = moe.gatingOptions;
  if (moe.routerJitter !== undefined) spec.routerJitter = moe.routerJitter;
  if (moe.routerHidden !== undefined) spec.routerHidden = moe.routerHidden;
  if (moe.expertInputTimesTopK !== undefined) spec.expertInputTimesTopK = moe.expertInputTimesTopK;
  if (moe.attentionRouter !== undefined) spec.attentionRouter = moe.attentionRouter;
  return spec;
}

/** Builds a full model config from a partial one (deep-merging `moe`), then validates it. */
export function resolveModelConfig(partial: ModelConfigInput = {}): ModelConfig {
  const { moe: input, ...rest } = partial;
  const moe = input ? applyGranularity(input) : input;
  let resolvedMoe: MoeConfig | null = null;
  if (moe !== null) {
    const { sharedExperts, ...fields } = moe ?? {};
    resolvedMoe = { ...DEFAULT_MOE_CONFIG, ...fields, experts: fields.experts ?? DEFAULT_MOE_CONFIG.experts };
    // Absent unless asked for, so configs (and the checkpoints embedding them) written before the key are unchanged.
    if (sharedExperts !== undefined) resolvedMoe.sharedExperts = resolveSharedExperts(sharedExperts, resolvedMoe.ffnHidden);
  }
  const config = { ...DEFAULT_MODEL_CONFIG, ...rest, moe: resolvedMoe } as ModelConfig;
  validateModelConfig(config);
  return config;
}

/** Fills a shared-experts entry's defaults; a malformed entry is left for validation to name. */
function resolveSharedExperts(shared: Partial<SharedExpertsConfig>, ffnHidden: number): SharedExpertsConfig {
  if (typeof shared !== 'object' || shared === null || Array.isArray(shared)) return shared as SharedExpertsConfig;
  const { count, hidden, gated, ...unknownKeys } = shared;
  return { count: count as number, hidden: hidden ?? ffnHidden, gated: gated ?? false, ...unknownKeys };
}

/** What a user writes for `moe`: any subset, `sharedExperts` with optional fields, and `granularity` (`fine-grained.ts`). */
export type MoeConfigInput = Partial<Omit<MoeConfig, 'sharedExperts'>> & {
  sharedExperts?: Partial<SharedExpertsConfig> & { count: number };
  granularity?: number;
};

/** What a user writes: any subset of the config; `moe: null` asks for a dense model. */
export type ModelConfigInput = Partial<Omit<ModelConfig, 'moe'>> & { moe?: MoeConfigInput | null };
