/**
 * The routing of a trained model on a piece of text, token by token: which experts each MoE++
 * layer picks and how many FFN experts the token gets — the raw material of the paper's analysis
 * of which tokens need computation.
 */
import * as tf from '@tensorflow/tfjs-core';
import { evaluationContext, type MoeppLM } from '@moepp/core';
import type { BpeTokenizer } from '../data/index.ts';

export interface TokenRouting {
  piece: string;
  id: number;
  /** Per MoE++ layer, the K chosen experts (best first) as `{ expert, kind }`. */
  layers: { expert: number; kind: string }[][];
  /** FFN experts computed for this token, averaged over MoE++ layers. */
  ffnExperts: number;
}

/**
 * Routes `text`; a text longer than the model's context is routed in consecutive windows of
 * `maxSeqLen` tokens (each window sees only its own tokens, as in training).
 */
export async function routeText(model: MoeppLM, tokenizer: BpeTokenizer, text: string): Promise<TokenRouting[]> {
  const ids = Array.from(await tokenizer.encode(text));
  const window = model.config.maxSeqLen;
  const K = model.config.moe?.topK ?? 0;
  const result: TokenRouting[] = [];
  for (let start = 0; start < ids.length; start += window) {
    const chunk = ids.slice(start, start + window);
    tf.tidy(() => {
      const { routing } = model.forward(tf.tensor2d([chunk], [1, chunk.length], 'int32'), { context: evaluationContext() });
      chunk.forEach((id, t) =>
        result.push({
          piece: tokenizer.decode([id]),
          id,
          layers: routing.map((r) => Array.from(r.topKIndex.subarray(t * K, (t + 1) * K), (e) => ({ expert: e, kind: r.expertKinds[e] }))),
          ffnExperts: routing.length ? routing.reduce((s, r) => s + r.ffnExpertsPerToken[t], 0) / routing.length : 0,
        }),
      );
    });
  }
  return result;
}
