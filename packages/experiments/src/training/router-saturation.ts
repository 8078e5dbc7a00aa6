/**
 * Router saturation over training (OLMoE, Muennighoff et al. 2024, §5, here for top-1): every
 * periodic evaluation records each MoE layer's top-1 expert for the tokens of the same held-out
 * slice (the first `evalWindows` validation windows); at the end each record is compared with
 * the final model's choices on those tokens. The record travels in the checkpoint
 * (`routing-top1.json`), so a resumed run reports what an uninterrupted one does.
 */
import { top1Agreement } from '@moepp/core';
import type { RouterSaturation } from '@moepp/run-format';

/**
 * One periodic evaluation's top-1 choices, `top1[layer][token]`, and its routing slots per expert,
 * `load[layer][expert]` (load-over-training.ts; absent in checkpoints written before it).
 */
export interface Top1Record {
  step: number;
  top1: number[][];
  load?: number[][];
}

/** The checkpoint file holding the records so far. */
export const TOP1_CHECKPOINT_FILE = 'routing-top1.json';

/**
 * Top-1 agreement of every record with the final choices (per layer), on the tokens both cover:
 * the slice is a prefix of the final evaluation's windows. Null without records.
 *
 * @example
 * routerSaturation([{ step: 3, top1: [[0, 1]] }], [Int32Array.from([0, 0, 2])]);
 * // { tokens: 2, steps: [3], top1AgreementWithFinal: [[0.5]] }
 */
export function routerSaturation(records: Top1Record[], finalTop1: Int32Array[]): RouterSaturation | null {
  if (records.length === 0) return null;
  const tokens = Math.min(records[0].top1[0].length, finalTop1[0].length);
  return {
    tokens,
    steps: records.map((r) => r.step),
    top1AgreementWithFinal: records.map((r) => r.top1.map((layer, l) => top1Agreement(layer.slice(0, tokens), finalTop1[l].subarray(0, tokens)))),
  };
}
