/**
 * Dispatch: which routing slots survive capacity, how the slots of row-dispatched (FFN-like)
 * experts are laid out so that each such expert runs one matmul chain on a contiguous slice, the
 * routing weights of the kept slots, and the row gather / scatter-add that moves token rows into
 * expert order and back.
 *
 * The plan is built on the host from the gating mode's top-K: integer bookkeeping in O(N·E) that
 * tfjs could not differentiate anyway.
 *
 * Row moves come in two implementations of the same arithmetic, named like the executors:
 * `host` copies rows on the host (on `wasm`/`cpu` a `tf.gather` of rows runs ~8× slower, and its
 * gradient needs the `UnsortedSegmentSum` kernel the `wasm` backend lacks — architecture.md);
 * `tf-ops` uses the backend's own gather / segment-sum kernels, fast on native TensorFlow.
 */
import * as tf from '@tensorflow/tfjs-core';
import { readRows, writeRows } from '@moepp/backends';
import { expertKind, ffnLikeCount, isFfnLike } from './experts/index.ts';
import type { Selection } from './gating/index.ts';

export interface DispatchPlan extends Selection {
  /** (N·E) 1 where the slot is selected and within capacity (equal to selectedMask when dropless). */
  keptMask: Float32Array;
  /** (S) token of each kept slot of a row-dispatched expert, grouped by expert in layer order. */
  rowSlotToken: Int32Array;
  /** (S) `n·E + e` of each of those slots: where its routing weight sits in the flattened (N·E) weights. */
  rowSlotWeightIndex: Int32Array;
  /** (E + 1) slot range of expert e in the row slot list: [offsets[e], offsets[e+1]); empty for token-wise experts. */
  expertSlotOffsets: Int32Array;
  /** Selected slots dropped by capacity. */
  droppedSlots: number;
  /** Per-expert capacity in slots, or null when dropless. */
  capacity: Int32Array | null;
}

/**
 * The paper's heterogeneous capacity (moepp-method.md §6), in slots per expert:
 * FFN-like `ceil(γ·τ·S / (τ·N_ffn + N_zc))`, zero-computation `ceil(γ·S / (τ·N_ffn + N_zc))`, with
 * S = N·K routing slots (we read the paper's ambiguous S as slots, not tokens, so that γ = 1 with
 * balanced routing fits every slot exactly).
 *
 * @example
 * heterogeneousCapacity(['ffn', 'ffn', 'zero'], 10, 2, 0.5, 1.1); // one capacity per expert, (3)
 */
export function heterogeneousCapacity(kinds: readonly string[], tokens: number, topK: number, tau: number, gamma: number): Int32Array {
  const nFfn = ffnLikeCount(kinds);
  const nZc = kinds.length - nFfn;
  const slots = tokens * topK;
  const denominator = tau * nFfn + nZc;
  return Int32Array.from(kinds, (kind) => Math.ceil(((isFfnLike(kind) ? gamma * tau : gamma) * slots) / denominator));
}

/**
 * Builds the plan from a selection. With capacity, slots are admitted rank-major (every token's
 * first choice in token order, then second choices, …), as in GShard, so a token loses its
 * weaker choices before anyone loses a first choice.
 *
 * @example
 * const plan = planDispatch(selectTopK(hostLogits, N, E, 2), kinds, null); // dropless
 */
export function planDispatch(selection: Selection, kinds: readonly string[], capacity: Int32Array | null): DispatchPlan {
  const { tokens, experts, topK, topKIndex } = selection;
  const keptMask = new Float32Array(tokens * experts);
  const load = new Int32Array(experts);
  let droppedSlots = 0;
  for (let j = 0; j < topK; j++) {
    for (let n = 0; n < tokens; n++) {
      const e = topKIndex[n * topK + j];
      // A slot the gating mode declined (GShard's random routing) is not routed: no capacity, no drop.
      if (selection.selectedMask[n * experts + e] === 0) continue;
      if (capacity !== null && load[e] >= capacity[e]) {
        droppedSlots++;
        continue;
      }
      load[e]++;
      keptMask[n * experts + e] = 1;
    }
  }

  const byRows = kinds.map((k) => expertKind(k).dispatch === 'rows');
  const expertSlotOffsets = new Int32Array(experts + 1);
  for (let e = 0; e < experts; e++) expertSlotOffsets[e + 1] = expertSlotOffsets[e] + (byRows[e] ? load[e] : 0);
  const rowSlots = expertSlotOffsets[experts];
  const rowSlotToken = new Int32Array(rowSlots);
  const rowSlotWeightIndex = new Int32Array(rowSlots);
  const cursor = expertSlotOffsets.slice(0, experts);
  for (let n = 0; n < tokens; n++) {
    for (let j = 0; j < topK; j++) {
      const e = topKIndex[n * topK + j];
      if (!byRows[e] || keptMask[n * experts + e] === 0) continue;
      const s = cursor[e]++;
      rowSlotToken[s] = n;
      rowSlotWeightIndex[s] = n * experts + e;
    }
  }
  return { ...selection, keptMask, rowSlotToken, rowSlotWeightIndex, expertSlotOffsets, droppedSlots, capacity };
}

/**
 * Routing weights w (N, E): the gating mode's weights on the kept slots, zero elsewhere — so
 * `y = Σ_e w[:, e] · E_e(x)` and a slot dropped by capacity contributes nothing.
 */
export function keptWeights(gateWeights: tf.Tensor2D, plan: DispatchPlan): tf.Tensor2D {
  return tf.mul(gateWeights, tf.tensor2d(plan.keptMask, [plan.tokens, plan.experts])) as tf.Tensor2D; // (N, E)
}

/** How rows move: host copies, or the backend's own gather / segment-sum kernels. */
export type RowMoves = 'host' | 'tf-ops';

/**
 * `out[i] = x[index[i]]` for a 2-D `x` (rows, D); differentiable in `x` (its gradient is the
 * scatter-add).
 *
 * @example
 * gatherRows(tf.tensor2d([[1, 2], [3, 4]]), Int32Array.from([1, 1, 0]), 'host'); // [[3,4],[3,4],[1,2]]
 */
export function gatherRows(x: tf.Tensor2D, index: Int32Array, moves: RowMoves): tf.Tensor2D {
  const rows = x.shape[0];
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
    value: gatherRowsForward(args[0] as tf.Tensor2D, index, moves),
    gradFunc: (dy: tf.Tensor) => scatterAddRowsForward(dy as tf.Tensor2D, index, rows, moves),
  }));
  return op(x) as tf.Tensor2D;
}

/**
 * `out[index[i]] += y[i]` into `rows` zero rows; differentiable in `y` (its gradient is the gather).
 *
 * @example
 * scatterAddRows(tf.tensor2d([[1, 2], [3, 4]]), Int32Array.from([1, 1]), 3, 'host'); // [[0,0],[4,6],[0,0]]
 */
export function scatterAddRows(y: tf.Tensor2D, index: Int32Array, rows: number, moves: RowMoves): tf.Tensor2D {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
    value: scatterAddRowsForward(args[0] as tf.Tensor2D, index, rows, moves),
    gradFunc: (dy: tf.Tensor) => gatherRowsForward(dy as tf.Tensor2D, index, moves),
  }));
  return op(y) as tf.Tensor2D;
}

/**
 * `out[i] = x[index[i]]` by host copy, without a gradient: for ops that write their own backward.
 *
 * @example
 * takeRows(tf.tensor2d([[1, 2], [3, 4]]), Int32Array.from([1])); // [[3, 4]]
 */
export function takeRows(x: tf.Tensor2D, index: Int32Array): tf.Tensor2D {
  return gatherRowsForward(x, index, 'host');
}

function gatherRowsForward(x: tf.Tensor2D, index: Int32Array, moves: RowMoves): tf.Tensor2D {
  const [rows, d] = x.shape;
  checkIndex(index, rows);
  if (moves === 'tf-ops') return tf.tidy(() => tf.gather(x, tf.tensor1d(index, 'int32')));
  const [out] = writeRows([[index.length, d]], ([dst]) => {
    const src = readRows(x); // sync read: dispatch
    for (let i = 0; i < index.length; i++) {
      const r = index[i];
      dst.set(src.subarray(r * d, r * d + d), i * d);
    }
  });
  return out as tf.Tensor2D; // (M, D)
}

function scatterAddRowsForward(y: tf.Tensor2D, index: Int32Array, rows: number, moves: RowMoves): tf.Tensor2D {
  const d = y.shape[1];
  if (index.length !== y.shape[0]) throw new Error(`scatterAddRows: ${index.length} indices for ${y.shape[0]} rows`);
  checkIndex(index, rows);
  if (moves === 'tf-ops') return tf.tidy(() => tf.unsortedSegmentSum(y, tf.tensor1d(index, 'int32'), rows));
  const [out] = writeRows([[rows, d]], ([dst]) => {
    const src = readRows(y); // sync read: dispatch
    for (let i = 0; i < index.length; i++) {
      const o = index[i] * d;
      const s = i * d;
      for (let j = 0; j < d; j++) dst[o + j] += src[s + j];
    }
  });
  return out as tf.Tensor2D; // (rows, D)
}

function checkIndex(index: Int32Array, rows: number): void {
  for (let i = 0; i < index.length; i++) {
    if (index[i] < 0 || index[i] >= rows) throw new Error(`row index ${index[i]} out of range [0, ${rows})`);
  }
}
