/**
 * `hash` routing (Roller et al. 2021, "Hash Layers For Large Sparse Models"): a fixed map from
 * token id to experts, no router and no learned routing at all.
 *
 * The map is a balanced random hash: token ids are cut into blocks of E consecutive ids and each
 * block is shuffled by its own seeded permutation π_b, so id v goes to expert π_b(v mod E), and
 * any vocabulary of V ids gives every expert ⌊V/E⌋ or ⌈V/E⌉ ids. With K > 1 a token's j-th expert
 * is π_b((v + j) mod E): K distinct experts, each rank balanced too. (Roller et al.'s best variant
 * balances by corpus token frequency, which the layer does not see; this is their "random hash"
 * made exactly balanced over the vocabulary.)
 *
 * Weights: 1/K on the selected experts with the MoE++ rule for zero experts (selected-weights.ts).
 * There are no router logits: the layer makes no W_r, the logits passed on are zeros, the gating
 * residual is a config error, and the balance loss is a constant (nothing can learn from it).
 */
import * as tf from '@tensorflow/tfjs-core';
import seedrandom from 'seedrandom';
import type { GatingMode } from './gating-mode.ts';
import { selectionFromTopK } from './top-k.ts';
import { referenceRenormalisedWeights, renormalisedSelectedWeights } from './selected-weights.ts';

/** Seeded permutations of 0..E−1, one per block of E token ids, built once each. */
const permutations = new Map<string, Int32Array>();

function blockPermutation(seed: number, experts: number, block: number): Int32Array {
  const key = `${seed}:${experts}:${block}`;
  let perm = permutations.get(key);
  if (!perm) {
    const rng = seedrandom.alea(`hash-routing:${key}`);
    perm = Int32Array.from({ length: experts }, (_, i) => i);
    for (let i = experts - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [perm[i], perm[j]] = [perm[j], perm[i]];
    }
    permutations.set(key, perm);
  }
  return perm;
}

/**
 * The K experts of token id `tokenId`, in rank order.
 *
 * @example
 * hashExperts(17, 8, 2, 0); // e.g. [5, 2]: always the same for this id, seed and E
 */
export function hashExperts(tokenId: number, experts: number, topK: number, seed: number): number[] {
  const perm = blockPermutation(seed, experts, Math.floor(tokenId / experts));
  return Array.from({ length: topK }, (_, j) => perm[(tokenId + j) % experts]);
}

export const hashGating: GatingMode = {
  name: 'hash',
  description: 'fixed balanced hash of the token id to experts, no router (Roller et al. 2021)',
  usesRouterLogits: false,
  options: {
    seed: {
      default: 0,
      description: 'seed of the hash permutations',
      check: (v) => (Number.isInteger(v) && (v as number) >= 0 ? null : `expected a whole number ≥ 0, got ${JSON.stringify(v)}`),
    },
  },
  gate({ routerLogits, kinds, topK, tokenIds, options }) {
    const [tokens, experts] = routerLogits.shape;
    if (tokenIds === null || tokenIds.length !== tokens) {
      throw new Error(`hash routing needs the token id of each of the ${tokens} rows; pass them to layer.forward(x, previousLogits, context, tokenIds)`);
    }
    const topKIndex = new Int32Array(tokens * topK);
    for (let n = 0; n < tokens; n++) topKIndex.set(hashExperts(tokenIds[n], experts, topK, options.seed as number), n * topK);
    const selection = selectionFromTopK(topKIndex, tokens, experts, topK);
    const routerProbs = tf.div(tf.tensor2d(selection.selectedMask, [tokens, experts]), topK) as tf.Tensor2D; // (N, E), constant
    return { selection, routerProbs, gateWeights: renormalisedSelectedWeights(routerProbs, selection, kinds) };
  },
  reference(logits, kinds, topK, context) {
    if (context?.tokenId === null || context?.tokenId === undefined) throw new Error('hash reference: needs the token id');
    const top = hashExperts(context.tokenId, logits.length, topK, context.options.seed as number);
    const probs = logits.map((_, e) => (top.includes(e) ? 1 / topK : 0));
    return { probs, topK: top, weights: referenceRenormalisedWeights(probs, top, kinds) };
  },
};
