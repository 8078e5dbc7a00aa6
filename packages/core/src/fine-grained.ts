/**
 * Fine-grained expert segmentation (DeepSeekMoE, Dai et al. 2024, §3.1): split every expert into
 * m experts of 1/m the hidden width and route to m× as many, so the active FFN compute and the
 * parameter count stay those of the coarse layer while the number of expert combinations grows.
 *
 * `moe.granularity: m` is a config helper, read once when the config is resolved: the resolved
 * config (and so `config.json` and the checkpoint) holds the segmented numbers themselves —
 * `experts` ×m, `topK` ×m, `ffnHidden` /m — and no `granularity` key, so re-resolving it is a
 * no-op. Zero-computation experts are multiplied by m too: with their share of the experts kept,
 * the balanced FFN experts per token (K·τ·N_ffn / (τ·N_ffn + N_zc), counting.ts) grows exactly m×
 * at 1/m the width, so MoE++ layers keep equal active compute as well. Shared experts given
 * without a `hidden` take the segmented width (DeepSeekMoE's shared experts are fine-grained too).
 */
import { ConfigError } from './config-validation.ts';
import type { ExpertCounts } from './experts/index.ts';
import type { MoeConfigInput } from './config.ts';
import { DEFAULT_MOE_CONFIG } from './config.ts';

/**
 * The `moe` input with `granularity` applied and removed (unchanged when it is absent).
 *
 * @example
 * applyGranularity({ experts: { ffn: 4 }, topK: 1, ffnHidden: 256, granularity: 4 });
 * // { experts: { ffn: 16 }, topK: 4, ffnHidden: 64 }
 */
export function applyGranularity(moe: MoeConfigInput): MoeConfigInput {
  const { granularity: m, ...rest } = moe;
  if (m === undefined) return rest;
  if (!(Number.isInteger(m) && m >= 1)) {
    throw new ConfigError('moe.granularity', `expected a whole number ≥ 1 (how many fine-grained experts replace each expert), got ${JSON.stringify(m)}`);
  }
  const ffnHidden = rest.ffnHidden ?? DEFAULT_MOE_CONFIG.ffnHidden;
  if (ffnHidden % m !== 0) {
    throw new ConfigError('moe.granularity', `granularity ${m} splits each FFN expert's hidden width ${ffnHidden} into ${m} parts, which needs moe.ffnHidden divisible by ${m}; choose a divisor of ${ffnHidden} or change moe.ffnHidden`);
  }
  const times = (counts: ExpertCounts): ExpertCounts =>
    Object.fromEntries(Object.entries(counts).map(([kind, n]) => [kind, typeof n === 'number' ? n * m : n]));
  return {
    ...rest,
    experts: times(rest.experts ?? DEFAULT_MOE_CONFIG.experts),
    ...(Array.isArray(rest.expertsPerLayer) ? { expertsPerLayer: rest.expertsPerLayer.map(times) } : {}),
    topK: (rest.topK ?? DEFAULT_MOE_CONFIG.topK) * m,
    ffnHidden: ffnHidden / m,
  };
}
