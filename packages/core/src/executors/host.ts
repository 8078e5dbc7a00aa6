/**
 * The `host` executor: dispatch, every expert and the combine as one op with a written-out
 * backward, the fast path on `wasm` and `cpu`.
 *
 * Forward: each row-dispatched (FFN-like) expert's rows are gathered on the host straight from x
 * (the wasm `Slice` kernel used to copy its whole input), the expert runs, and its rows are
 * scaled by their routing weights and added into their tokens' (N, D) output rows. Token-wise
 * experts, `E(x) = a(x)·x + b(x)`, are added on the host expert by expert over all tokens, only
 * where their weight is non-zero: each adds `w·b(x)`, and `Σ w·a(x)` multiplies x once. One
 * (N, D) tensor holds everything; without a gradient being recorded each expert's activations are
 * freed as soon as its output is combined, and a row expert whose kind has a `forwardAdd` that
 * applies (FFN experts on packed weights under `blas`) is added in one call instead.
 *
 * Backward, per row expert, from its saved rows and activations (`RowExpertHost.backward`): the
 * weights' gradients and the rows' dx, with no weight ever transposed, so the cost is O(rows) per
 * expert; all dx — row experts and token-wise experts — go into one (N, D) gradient, and the
 * routing weights get ⟨E_e(x), dout⟩.
 *
 * Token-wise experts are visited kind by kind in registration order, then in layer order: a fixed
 * summation order whatever the weight layout.
 */
import * as tf from '@tensorflow/tfjs-core';
import { hostRowOps, readRows, writeRows } from '@moepp/backends';
import { expertKindNames, type ExpertParams, type RowExpertHost, type TokenwiseExpertHost } from '../experts/index.ts';
import { takeRows, type DispatchPlan } from '../dispatch.ts';
import { isRecordingGradients } from '../tape.ts';
import type { ExpertExecutor, LayerExpert } from './executor.ts';

export const hostExecutor: ExpertExecutor = {
  name: 'host',
  rowMoves: 'host',
  combine: combineOnHost,
};

interface RowExpertRun {
  host: RowExpertHost;
  paramKeys: string[];
  /** Position of its first parameter among the op's inputs. */
  firstInput: number;
  /** (count) token of each of its slots. */
  index: Int32Array;
  /** (count) `n·E + e` of each of its slots. */
  weightIndex: Int32Array;
}

interface TokenwiseExpertRun {
  host: TokenwiseExpertHost;
  expert: number;
  firstInput: number;
  /** Shapes of its parameters (for their gradients). */
  shapes: number[][];
}

function combineOnHost(x: tf.Tensor2D, plan: DispatchPlan, routingWeights: tf.Tensor2D, experts: readonly LayerExpert[]): tf.Tensor2D {
  const [tokens, d] = x.shape;
  const E = experts.length;
  // Input order: x, routing weights, the parameters of each row expert with slots, then those of each token-wise expert.
  const inputs: tf.Tensor[] = [x, routingWeights];
  const rowRuns: RowExpertRun[] = [];
  experts.forEach(({ kind, params, paramKeys }, e) => {
    const begin = plan.expertSlotOffsets[e];
    const end = plan.expertSlotOffsets[e + 1];
    if (kind.dispatch !== 'rows' || kind.outputIsZero || end === begin) return;
    if (kind.host === null || !('rows' in kind.host)) throw new Error(`expert kind '${kind.name}' has no host pieces for row dispatch; use the tf-ops executor`);
    rowRuns.push({ host: kind.host.rows, paramKeys, firstInput: inputs.length, index: plan.rowSlotToken.subarray(begin, end), weightIndex: plan.rowSlotWeightIndex.subarray(begin, end) });
    inputs.push(...paramKeys.map((k) => params[k]));
  });
  const tokenwiseRuns: TokenwiseExpertRun[] = [];
  for (const name of expertKindNames()) {
    experts.forEach(({ kind, params, paramKeys }, e) => {
      if (kind.name !== name || kind.dispatch !== 'tokenwise' || kind.outputIsZero) return;
      if (kind.host === null || !('tokenwise' in kind.host)) throw new Error(`expert kind '${kind.name}' has no token-wise host pieces; use the tf-ops executor`);
      tokenwiseRuns.push({ host: kind.host.tokenwise, expert: e, firstInput: inputs.length, shapes: paramKeys.map((k) => params[k].shape) });
      inputs.push(...paramKeys.map((k) => params[k]));
    });
  }
  const paramsOf = (ts: tf.Tensor[], run: RowExpertRun): ExpertParams => Object.fromEntries(run.paramKeys.map((k, i) => [k, ts[run.firstInput + i]]));
  const hostParams = (ts: tf.Tensor[], run: TokenwiseExpertRun): Float32Array[] => run.shapes.map((_, i) => readRows(ts[run.firstInput + i]));
  const recording = isRecordingGradients();
  const rowOps = hostRowOps(); // native loops under `blas`, JS elsewhere (the same bits)

  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const ins = args.slice(0, inputs.length) as tf.Tensor[];
    const save = args[inputs.length] as tf.GradSaveFunc;
    const [out] = writeRows([[tokens, d]], () => undefined); // (N, D) zeros
    const kept: tf.Tensor[] = []; // per row expert: rows, y, then what its forward saved
    const savedCounts: number[] = [];
    for (const run of rowRuns) {
      // Forward only: a kind's one-call path, where it has one now (FFN experts on packed weights).
      if (!recording && run.host.forwardAdd?.(readRows(out), readRows(ins[0]), readRows(ins[1]), run.index, run.weightIndex, paramsOf(ins, run))) continue;
      const rows = takeRows(ins[0] as tf.Tensor2D, run.index); // (count, D)
      const { y, saved } = run.host.forward(rows, paramsOf(ins, run));
      // Views after the allocations above (wasm memory may have grown).
      rowOps.scatterAddWeighted(readRows(out), readRows(y), readRows(ins[1]), run.index, run.weightIndex, d);
      savedCounts.push(saved.length);
      if (recording) kept.push(rows, y, ...saved);
      else tf.dispose([rows, y, ...saved]);
    }
    if (tokenwiseRuns.length > 0) {
      const o = readRows(out);
      const hx = readRows(ins[0]);
      const w = readRows(ins[1]);
      const keep = new Float64Array(tokens); // (N) Σ w·a(x) over each token's token-wise experts
      const column = new Float32Array(tokens); // (N) one expert's routing weights
      for (const run of tokenwiseRuns) {
        for (let n = 0; n < tokens; n++) column[n] = w[n * E + run.expert];
        run.host.forward(run.host.prepare(hostParams(ins, run), d), hx, column, o, keep, rowOps);
      }
      rowOps.addScaledRows(o, keep, hx, d);
    }
    save([...ins, ...kept]);
    return {
      value: out as tf.Tensor2D, // (N, D)
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const sIns = saved.slice(0, inputs.length);
        const sKept = saved.slice(inputs.length);
        let cursor = 0;
        const rowKept = rowRuns.map((_, b) => {
          const start = cursor;
          cursor += 2 + savedCounts[b];
          return { rows: sKept[start] as tf.Tensor2D, y: sKept[start + 1], saved: sKept.slice(start + 2, cursor) };
        });
        const rowGrads = rowRuns.map((run, b) => {
          const [dyRows] = writeRows([[run.index.length, d]], ([dst]) => {
            rowOps.gatherWeighted(dst, readRows(dy), readRows(sIns[1]), run.index, run.weightIndex, d); // sync read of dy: dispatch
          });
          const grads = tf.tidy(() => {
            const r = run.host.backward(rowKept[b].rows, rowKept[b].saved, dyRows as tf.Tensor2D, paramsOf(sIns, run));
            return { dx: r.dx, paramGrads: r.paramGrads };
          });
          dyRows.dispose();
          return grads;
        });
        const shapes = [[tokens, d], [tokens, E], ...tokenwiseRuns.flatMap((run) => run.shapes)];
        const hostGrads = writeRows(shapes, (gs) => {
          const [dx, dW] = gs;
          const g = readRows(dy); // sync read: dispatch
          const hx = readRows(sIns[0]);
          const w = readRows(sIns[1]);
          rowRuns.forEach((run, b) => rowOps.scatterAddWithDot(dx, dW, readRows(rowGrads[b].dx), readRows(rowKept[b].y), g, run.index, run.weightIndex, d));
          if (tokenwiseRuns.length === 0) return;
          // gs[2…]: each token-wise expert's parameter gradients, in run order.
          const starts = tokenwiseRuns.map((_, z) => 2 + tokenwiseRuns.slice(0, z).reduce((s, r) => s + r.shapes.length, 0));
          const paramGrads = tokenwiseRuns.map((run, z) => gs.slice(starts[z], starts[z] + run.shapes.length));
          const xg = new Float64Array(tokens); // (N) ⟨x, dout⟩ per token
          rowOps.pairDots(hx, g, d, xg);
          const keep = new Float64Array(tokens); // (N) Σ w·a(x) over each token's token-wise experts
          const column = new Float32Array(tokens); // (N) one expert's routing weights
          const dColumn = new Float64Array(tokens); // (N) their gradients
          tokenwiseRuns.forEach((run, z) => {
            for (let n = 0; n < tokens; n++) column[n] = w[n * E + run.expert];
            dColumn.fill(0);
            run.host.backward(run.host.prepare(hostParams(sIns, run), d), hx, g, column, xg, dx, dColumn, keep, paramGrads[z], rowOps);
            for (let n = 0; n < tokens; n++) dW[n * E + run.expert] += dColumn[n];
          });
          rowOps.addScaledRows(dx, keep, g, d);
        });
        tf.dispose(rowGrads.map((gr) => gr.dx));
        return [hostGrads[0], hostGrads[1], ...rowGrads.flatMap((gr) => gr.paramGrads), ...hostGrads.slice(2)];
      },
    };
  });
  return tf.tidy('experts', () => op(...inputs)) as tf.Tensor2D;
}
