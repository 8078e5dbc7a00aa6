/**
 * `sigmoid-bias` gating (DeepSeek-V3, Liu et al. 2024, §2.1.2): sigmoid scores and auxiliary-loss-
 * free balancing.
 *   s = sigmoid(G);  selection: top-K of s + b, where b (E) is a per-expert bias used for the
 *   ranking only;  weights: the selected s, renormalised to sum to 1.
 * After every optimizer step, b_e += γ_bias · sign(mean load − load_e), with load the step's
 * selected slots per expert: an overloaded expert is ranked lower next step. b is not learned;
 * it is saved with the weights (`…router.expert_bias`, as DeepSeek-V3's `e_score_correction_bias`).
 *
 * Group-limited routing (DeepSeek-V3's node-limited routing, `n_group` / `topk_group`): the E
 * experts form `groups` equal groups in layer order; each group scores the sum of its two best
 * s + b (one when a group has one expert), the `topGroups` best groups stay and top-K is taken
 * inside them.
 *
 * With MoE++'s zero-computation experts the weights follow the MoE++ rule (selected-weights.ts):
 * a selected zero expert is weightless and the rest renormalised, so FFN_a + zero is top-1.
 * The balance loss averages s normalised over all E (DeepSeek-V3's s'), so it stays usable; the
 * aux-loss-free recipe sets `routerAuxLossCoef: 0`.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { GatingMode, GatingOptionSpec } from './gating-mode.ts';
import { referenceTopK, selectTopK } from './top-k.ts';
import { referenceRenormalisedWeights, renormalisedSelectedWeights } from './selected-weights.ts';

const wholeNumber = (v: unknown) => Number.isInteger(v) && (v as number) >= 1;

const OPTIONS: Record<string, GatingOptionSpec> = {
  biasUpdateRate: {
    default: 0.001, // DeepSeek-V3's γ for most of its training
    description: 'γ_bias: step of the balancing bias per optimizer step (0 freezes it)',
    check: (v) => (typeof v === 'number' && v >= 0 && Number.isFinite(v) ? null : `expected a number ≥ 0 (DeepSeek-V3 uses 0.001), got ${JSON.stringify(v)}`),
  },
  groups: {
    default: 1,
    description: 'expert groups for group-limited routing (1 = off)',
    check: (v, { experts }) =>
      wholeNumber(v) && experts % (v as number) === 0 ? null : `expected a whole number ≥ 1 dividing the layer's ${experts} experts, got ${JSON.stringify(v)}`,
  },
  topGroups: {
    default: 1,
    description: 'groups kept per token before top-K inside them',
    check: (v, { experts, topK }, o) => {
      const groups = o.groups as number;
      if (!wholeNumber(v) || (v as number) > groups) return `expected a whole number in [1, groups = ${groups}], got ${JSON.stringify(v)}`;
      if (((v as number) * experts) / groups < topK) return `${v} of ${groups} groups hold ${((v as number) * experts) / groups} experts, fewer than top-K ${topK}; raise topGroups`;
      return null;
    },
  },
};

/** Per token, −Infinity on the experts outside its `topGroups` best groups (group score: sum of its two best). */
function groupLimited(scores: Float32Array, tokens: number, experts: number, groups: number, topGroups: number): Float32Array {
  if (groups === 1) return scores;
  const size = experts / groups;
  const out = scores.slice();
  const groupScore = new Float32Array(groups);
  for (let n = 0; n < tokens; n++) {
    const row = n * experts;
    for (let g = 0; g < groups; g++) {
      let best = -Infinity;
      let second = -Infinity;
      for (let e = g * size; e < (g + 1) * size; e++) {
        const s = scores[row + e];
        if (s > best) [best, second] = [s, best];
        else if (s > second) second = s;
      }
      groupScore[g] = size === 1 ? best : best + second;
    }
    const kept = Array.from(groupScore.keys()).sort((a, b) => groupScore[b] - groupScore[a] || a - b).slice(0, topGroups);
    for (let g = 0; g < groups; g++) if (!kept.includes(g)) out.fill(-Infinity, row + g * size, row + (g + 1) * size);
  }
  return out;
}

export const sigmoidBiasGating: GatingMode = {
  name: 'sigmoid-bias',
  description: 'sigmoid scores, top-K of score + balancing bias (updated each step), optional group-limited routing (DeepSeek-V3)',
  options: OPTIONS,
  buffers: ({ experts }) => [{ key: 'bias', name: 'expert_bias', size: experts }],
  gate({ routerLogits, hostLogits, kinds, topK, buffers, options }) {
    const [tokens, experts] = routerLogits.shape;
    const ranking = new Float32Array(tokens * experts);
    for (let i = 0; i < ranking.length; i++) ranking[i] = 1 / (1 + Math.exp(-hostLogits[i])) + buffers.bias[i % experts];
    const allowed = groupLimited(ranking, tokens, experts, options.groups as number, options.topGroups as number);
    const selection = selectTopK(allowed, tokens, experts, topK);
    const scores = tf.sigmoid(routerLogits) as tf.Tensor2D; // (N, E)
    const routerProbs = tf.div(scores, tf.sum(scores, 1, true)) as tf.Tensor2D; // (N, E) s' = s / Σ_e s
    return { selection, routerProbs, gateWeights: renormalisedSelectedWeights(scores, selection, kinds) };
  },
  updateBuffers({ bias }, load, options) {
    const rate = options.biasUpdateRate as number;
    const mean = load.reduce((a, b) => a + b, 0) / load.length;
    for (let e = 0; e < bias.length; e++) bias[e] += rate * Math.sign(mean - load[e]);
  },
  reference(logits, kinds, topK, context) {
    if (!context) throw new Error('sigmoid-bias reference: needs the layer context (bias, options)');
    const E = logits.length;
    const s = logits.map((l) => 1 / (1 + Math.exp(-l)));
    const biased = s.map((v, e) => v + (context.buffers.bias?.[e] ?? 0));
    const groups = context.options.groups as number;
    const size = E / groups;
    const groupScores = Array.from({ length: groups }, (_, g) => {
      const inGroup = biased.slice(g * size, (g + 1) * size).sort((a, b) => b - a);
      return inGroup[0] + (inGroup[1] ?? 0);
    });
    const keptGroups = referenceTopK(groupScores, context.options.topGroups as number);
    const allowed = biased.map((v, e) => (keptGroups.includes(Math.floor(e / size)) ? v : -Infinity));
    const top = referenceTopK(allowed, topK);
    const total = s.reduce((a, b) => a + b, 0);
    return { probs: s.map((v) => v / total), topK: top, weights: referenceRenormalisedWeights(s, top, kinds) };
  },
};
