/**
 * Expert load over training: every periodic evaluation records each MoE layer's routing slots per
 * expert on the same held-out slice (the first `evalWindows` validation windows) beside its top-1
 * choices (router-saturation.ts), so the report can follow MaxVio and dead experts as a run trains
 * instead of seeing only the final model. The records travel in the checkpoint, so a resumed run
 * reports what an uninterrupted one does.
 */
import type { LoadOverTraining } from '@moepp/run-format';
import type { Top1Record } from './router-saturation.ts';

/**
 * routing.json's `loadOverTraining` from the records; null without records, or when a record
 * from an older checkpoint lacks its load (a partial history would mislead).
 *
 * @example
 * loadOverTraining([{ step: 30, top1: [[0, 1, 1]], load: [[4, 2]] }]);
 * // { tokens: 3, steps: [30], tokensPerExpert: [[[4, 2]]] }
 */
export function loadOverTraining(records: readonly Top1Record[]): LoadOverTraining | null {
  if (records.length === 0 || records.some((r) => r.load === undefined)) return null;
  return { tokens: records[0].top1[0].length, steps: records.map((r) => r.step), tokensPerExpert: records.map((r) => r.load!) };
}
