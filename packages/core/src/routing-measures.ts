/**
 * The routing measures MoE papers report, as pure functions of host arrays, so that the trainer,
 * the reports and the tests compute them one way:
 *
 * - MaxVio (Wang et al. 2024, "Auxiliary-loss-free load balancing", used by DeepSeek-V3):
 *   max_e load_e / target_e − 1. For a layer of FFN experts only the target is the mean load (the
 *   paper's definition); with zero-computation experts it is the heterogeneous balance MoE++'s
 *   loss drives to — an FFN-like expert τ / (τ·N_ffn + N_zc) of the slots, a ZC expert
 *   1 / (τ·N_ffn + N_zc) (counting.ts) — so a balanced MoE++ layer also scores 0.
 * - Load entropy: entropy of the slot shares over experts, divided by log E (1 = uniform load).
 * - Routing entropy: mean over tokens of the entropy (nats) of the router's scores over the E
 *   experts, normalised to sum to 1 first (sigmoid scores do not): how sure the router is.
 * - Dead experts: experts whose load is below `DEAD_EXPERT_THRESHOLD` of their balanced target.
 * - Co-activation (adjacent MoE layers l, l+1): counts[i][j] = tokens that chose expert i in
 *   layer l and expert j in layer l+1 (top-K choices, before capacity).
 * - Top-1 agreement: the share of tokens whose first choice is the same in two routings of the
 *   same tokens — against the final model it is OLMoE's "router saturation" (Muennighoff et al.
 *   2024, §5), here for top-1.
 */
import { isFfnLike } from './experts/index.ts';

/** An expert with under 10 % of its balanced share of the slots counts as dead. */
export const DEAD_EXPERT_THRESHOLD = 0.1;

/**
 * Each expert's share of the routing slots under the heterogeneous balance (sums to 1).
 *
 * @example
 * balancedSlotShares(['ffn', 'ffn', 'zero'], 0.5); // [0.25, 0.25, 0.5]
 */
export function balancedSlotShares(kinds: readonly string[], tau: number): number[] {
  const weights = kinds.map((k) => (isFfnLike(k) ? tau : 1));
  const total = weights.reduce((a, b) => a + b, 0);
  return weights.map((w) => w / total);
}

/** Shares of the total (all 0 when nothing was routed). */
function shares(load: ArrayLike<number>): number[] {
  const values = Array.from(load);
  const total = values.reduce((a, b) => a + b, 0);
  return values.map((v) => (total > 0 ? v / total : 0));
}

/**
 * MaxVio of a layer's load (slots per expert) against its balanced target.
 *
 * @example
 * maxViolation([30, 10, 20], ['ffn', 'ffn', 'ffn'], 1); // 30 / 20 − 1 = 0.5
 */
export function maxViolation(load: ArrayLike<number>, kinds: readonly string[], tau: number): number {
  const target = balancedSlotShares(kinds, tau);
  return Math.max(...shares(load).map((s, e) => s / target[e])) - 1;
}

/**
 * Entropy of the load over experts divided by log E: 1 for a uniform load, 0 for one expert.
 *
 * @example
 * loadEntropy([5, 5, 0, 0]); // log 2 / log 4 = 0.5
 */
export function loadEntropy(load: ArrayLike<number>): number {
  const s = shares(load);
  if (s.length < 2) return 0;
  let entropy = 0;
  for (const p of s) if (p > 0) entropy -= p * Math.log(p);
  return entropy / Math.log(s.length);
}

/**
 * Experts below `threshold` of their balanced share of the slots.
 *
 * @example
 * deadExpertCount([100, 100, 1], ['ffn', 'ffn', 'ffn'], 1); // 1
 */
export function deadExpertCount(load: ArrayLike<number>, kinds: readonly string[], tau: number, threshold = DEAD_EXPERT_THRESHOLD): number {
  const target = balancedSlotShares(kinds, tau);
  return shares(load).filter((s, e) => s < threshold * target[e]).length;
}

/**
 * Mean over tokens of the entropy (nats) of each token's scores over the E experts, (N·E)
 * row-major, each row normalised to sum to 1.
 *
 * @example
 * meanTokenEntropy(Float32Array.from([0.5, 0.5, 1, 0]), 2, 2); // (log 2 + 0) / 2
 */
export function meanTokenEntropy(scores: ArrayLike<number>, tokens: number, experts: number): number {
  let sum = 0;
  for (let n = 0; n < tokens; n++) {
    let total = 0;
    for (let e = 0; e < experts; e++) total += scores[n * experts + e];
    if (!(total > 0)) continue;
    for (let e = 0; e < experts; e++) {
      const p = scores[n * experts + e] / total;
      if (p > 0) sum -= p * Math.log(p);
    }
  }
  return tokens ? sum / tokens : 0;
}

/**
 * Adds into `counts` (E_a × E_b) the expert pairs each token chose in two adjacent layers: its
 * K_a choices in the first (`topKA`, N·K_a) times its K_b in the second (`topKB`, N·K_b).
 *
 * @example
 * const counts = [[0, 0], [0, 0]];
 * addCoActivation(counts, Int32Array.from([0, 1]), 1, Int32Array.from([1, 1]), 1); // counts [[0, 1], [0, 1]]
 */
export function addCoActivation(counts: number[][], topKA: ArrayLike<number>, kA: number, topKB: ArrayLike<number>, kB: number): void {
  const tokens = topKA.length / kA;
  if (topKB.length / kB !== tokens) throw new Error(`co-activation: ${tokens} tokens in one layer, ${topKB.length / kB} in the next`);
  for (let n = 0; n < tokens; n++) {
    for (let a = 0; a < kA; a++) {
      const row = counts[topKA[n * kA + a]];
      for (let b = 0; b < kB; b++) row[topKB[n * kB + b]]++;
    }
  }
}

/**
 * Share of tokens whose top-1 expert is the same in two routings of the same tokens.
 *
 * @example
 * top1Agreement(Int32Array.from([0, 1, 2, 3]), Int32Array.from([0, 1, 0, 0])); // 0.5
 */
export function top1Agreement(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`top-1 agreement of ${a.length} and ${b.length} tokens; compare routings of the same tokens`);
  let same = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
  return a.length ? same / a.length : 0;
}
