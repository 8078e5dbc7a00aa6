/**
 * The MoE++ layer: the router decides, the experts compute, the layer dispatches and combines.
 * Vanilla MoE is this layer with only FFN experts and no gating residual.
 *
 * Dispatch is dropless and sparse: each FFN expert runs on exactly the rows of the tokens routed
 * to it, and the weighted results are scatter-added back to their tokens — so a token routed to a
 * zero-computation expert never enters an FFN matmul, and the FFN cost scales with the slots
 * actually sent to FFN experts. ZC experts cost O(D) per token that chose them.
 *
 * Two implementations of the same arithmetic, checked against each other and a float64
 * reference by the tests: on wasm / cpu, dispatch, every expert and the combine are one op with a
 * written-out backward (`combineOnHost`: host row copies, no weight transposes); on native
 * TensorFlow, plain tf ops, whose gather / segment-sum kernels are fast there.
 */
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core alone registers no gradients; the layer must be trainable wherever it is used.
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { indicesOfKind, type ExpertKind } from './experts/expert-kinds.js';
import { ffnBackward, ffnForward, ffnForwardParts, type FfnGradients, type FfnParams } from './experts/ffn-expert.js';
import type { ConstantExpertParams } from './experts/constant-expert.js';
import { copyExpertForward } from './experts/zero-computation-experts.js';
import { route, type RouterParams, type RouterSettings, type RouterOutput } from './router.js';
import { gatherRows, readRows, scatterAddRows, takeRows, usesNativeKernels, writeRows } from './row-permutation.js';

export interface MoeLayerParams {
  router: RouterParams;
  /** One entry per expert, in layer order: FFN params, constant params, or null (zero / copy). */
  experts: (FfnParams | ConstantExpertParams | null)[];
}

export interface MoeLayerOutput extends RouterOutput {
  /** (N, D) Σ_e w[:, e] · E_e(x) */
  output: tf.Tensor2D;
}

/**
 * @example
 * const { output, routerLogits } = moeLayerForward(x, params, previousLogits, settings); // x (N, D)
 */
export function moeLayerForward(
  x: tf.Tensor2D,
  params: MoeLayerParams,
  previousLogits: tf.Tensor2D | null,
  settings: RouterSettings,
): MoeLayerOutput {
  const routing = route(x, params.router, previousLogits, settings);
  const output = combineExperts(x, routing, params, settings.kinds);
  return { ...routing, output };
}

/**
 * The expert forward as the paper times it (§7): dispatch, FFN and ZC experts, combine — given
 * the router's decisions.
 */
export function combineExperts(
  x: tf.Tensor2D,
  routing: Pick<RouterOutput, 'plan' | 'routingWeights'>,
  params: MoeLayerParams,
  kinds: readonly ExpertKind[],
): tf.Tensor2D {
  if (!usesNativeKernels()) return combineOnHost(x, routing, params, kinds);
  const zc = zeroComputationTerms(x, routing.routingWeights, params, kinds);
  const parts: tf.Tensor2D[] = [];
  if (routing.plan.ffnSlotToken.length > 0) parts.push(ffnExpertsNative(x, routing, params, kinds));
  if (zc.keepInput) parts.push(tf.mul(zc.keepInput, copyExpertForward(x)) as tf.Tensor2D);
  if (zc.mix && zc.vectors) parts.push(tf.matMul(zc.mix, zc.vectors));
  if (parts.length === 0) return tf.zerosLike(x);
  return (parts.length === 1 ? parts[0] : tf.addN(parts)) as tf.Tensor2D;
}

/**
 * What the copy and constant experts contribute, for every token at once:
 * `Σ_copy w·x + Σ_const w·(a₁·x + a₂·v) = c ⊙ x + A · V`, with `keepInput` c (N, 1) =
 * Σ_copy w + Σ_const w·a₁, `mix` A (N, C) = w·a₂ per constant expert and `vectors` V (C, D) the
 * constant vectors; the constant expert's 2-way softmax [a₁, a₂] = softmax(x W_c) is written
 * a₁ = sigmoid(l₁ − l₂), a₂ = sigmoid(l₂ − l₁). The weights are zero off the top-K, so this is
 * exact over all tokens, at O(N·D) in total. Zero experts contribute nothing.
 */
interface ZeroComputationTerms {
  keepInput: tf.Tensor2D | null;
  mix: tf.Tensor2D | null;
  vectors: tf.Tensor2D | null;
}

function zeroComputationTerms(x: tf.Tensor2D, routingWeights: tf.Tensor2D, params: MoeLayerParams, kinds: readonly ExpertKind[]): ZeroComputationTerms {
  const copy = indicesOfKind(kinds, 'copy');
  const constant = indicesOfKind(kinds, 'constant');
  let keepInput: tf.Tensor2D | null = copy.length ? (tf.matMul(routingWeights, selectColumns(kinds.length, copy, true)) as tf.Tensor2D) : null; // (N, 1)
  if (constant.length === 0) return { keepInput, mix: null, vectors: null };
  const w: tf.Tensor2D = tf.matMul(routingWeights, selectColumns(kinds.length, constant, false)); // (N, C)
  const difference = tf.tensor2d([1, -1], [2, 1]);
  const wGap = tf.concat(constant.map((e) => tf.matMul((params.experts[e] as ConstantExpertParams).wC, difference)), 1); // (D, C)
  const logitGap = tf.matMul(x, wGap); // (N, C) l₁ − l₂
  const kept = tf.sum(tf.mul(w, tf.sigmoid(logitGap)), 1, true) as tf.Tensor2D; // (N, 1) Σ_const w·a₁
  keepInput = keepInput ? (tf.add(keepInput, kept) as tf.Tensor2D) : kept;
  const mix = tf.mul(w, tf.sigmoid(tf.neg(logitGap))) as tf.Tensor2D; // (N, C) w·a₂
  const vectors = tf.stack(constant.map((e) => (params.experts[e] as ConstantExpertParams).v)) as tf.Tensor2D; // (C, D)
  return { keepInput, mix, vectors };
}

/** (E, k) 0/1 matrix picking `columns` (summed into one column when `sum`). */
function selectColumns(experts: number, columns: number[], sum: boolean): tf.Tensor2D {
  const width = sum ? 1 : columns.length;
  const m = new Float32Array(experts * width);
  columns.forEach((e, i) => (m[e * width + (sum ? 0 : i)] = 1));
  return tf.tensor2d(m, [experts, width]);
}

/**
 * Dispatch, all experts and combine on wasm / cpu, as one op with a written-out backward.
 *
 * Forward: each FFN expert's rows are gathered on the host straight from x (the wasm `Slice`
 * kernel used to copy its whole input), the expert runs, and its rows are scaled by their routing
 * weights and added into their tokens' (N, D) output rows. The copy and constant experts are
 * added on the host, token by token and only where their weight is non-zero:
 * `out += (Σ_copy w + Σ_const w·a₁)·x + Σ_const w·a₂·v`, with the constant expert's 2-way softmax
 * written a₁ = sigmoid(l), a₂ = sigmoid(−l), l = x·(W_c[:,0] − W_c[:,1]). One (N, D) tensor holds
 * everything; without a gradient being recorded each expert's activations are freed once its
 * output is combined.
 *
 * Backward, per FFN expert, from its saved rows, gate and up projections (`ffnBackward`): the
 * weights' gradients and the rows' dx with no weight ever transposed, so the cost is O(rows) per
 * expert; all dx — FFN rows, copy and constant experts — go into one (N, D) gradient. Routing
 * weights get ⟨E_e(x), dout⟩. Constant experts: with p = ⟨x, dout⟩, q = ⟨v, dout⟩ per token,
 * dl = w·a₁·a₂·(p − q), dW_c[:,0] = −dW_c[:,1] = Σ dl·x, dv = Σ w·a₂·dout, dx += dl·(W_c[:,0] − W_c[:,1]).
 */
function combineOnHost(
  x: tf.Tensor2D,
  { plan, routingWeights }: Pick<RouterOutput, 'plan' | 'routingWeights'>,
  params: MoeLayerParams,
  kinds: readonly ExpertKind[],
): tf.Tensor2D {
  const [tokens, d] = x.shape;
  const E = kinds.length;
  const experts: { index: Int32Array; weightIndex: Int32Array; p: FfnParams }[] = [];
  kinds.forEach((kind, e) => {
    const begin = plan.expertSlotOffsets[e];
    const end = plan.expertSlotOffsets[e + 1];
    if (kind !== 'ffn' || end === begin) return;
    experts.push({ index: plan.ffnSlotToken.subarray(begin, end), weightIndex: plan.ffnSlotWeightIndex.subarray(begin, end), p: params.experts[e] as FfnParams });
  });
  const copies = indicesOfKind(kinds, 'copy');
  const constants = indicesOfKind(kinds, 'constant');
  const B = experts.length;
  const C = constants.length;
  // Input order: x, routing weights, (W_gate, W_up, W_down) per FFN expert with rows, (W_c, v) per constant expert.
  const inputs: tf.Tensor[] = [
    x,
    routingWeights,
    ...experts.flatMap(({ p }) => [p.wGate, p.wUp, p.wDown]),
    ...constants.flatMap((e) => [(params.experts[e] as ConstantExpertParams).wC, (params.experts[e] as ConstantExpertParams).v]),
  ];
  const weightsOf = (ts: tf.Tensor[], b: number): FfnParams => ({ wGate: ts[2 + 3 * b], wUp: ts[3 + 3 * b], wDown: ts[4 + 3 * b] }) as unknown as FfnParams;
  const constantOf = (ts: tf.Tensor[], c: number) => ({ wC: ts[2 + 3 * B + 2 * c], v: ts[3 + 3 * B + 2 * c] });
  /** (C·D) W_c[:,0] − W_c[:,1] of each constant expert, from host views. */
  const logitGaps = (ts: tf.Tensor[]): Float32Array => {
    const gaps = new Float32Array(C * d);
    for (let c = 0; c < C; c++) {
      const wc = readRows(constantOf(ts, c).wC);
      for (let j = 0; j < d; j++) gaps[c * d + j] = wc[2 * j] - wc[2 * j + 1];
    }
    return gaps;
  };
  const recording = isRecordingGradients();

  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const ins = args.slice(0, inputs.length) as tf.Tensor[];
    const save = args[inputs.length] as tf.GradSaveFunc;
    const [out] = writeRows([[tokens, d]], () => undefined); // (N, D) zeros
    const kept: tf.Tensor[] = []; // per FFN expert: rows, gate, up, y
    experts.forEach(({ index, weightIndex }, b) => {
      const rows = takeRows(ins[0] as tf.Tensor2D, index); // (count, D)
      const { gate, up, y } = ffnForwardParts(rows, weightsOf(ins, b));
      // Views after the allocations above (wasm memory may have grown).
      const o = readRows(out);
      const w = readRows(ins[1]);
      const yv = readRows(y);
      for (let i = 0; i < index.length; i++) {
        const wi = w[weightIndex[i]];
        if (wi === 0) continue;
        const t = index[i] * d;
        const r = i * d;
        for (let j = 0; j < d; j++) o[t + j] += wi * yv[r + j];
      }
      if (recording) kept.push(rows, gate, up, y);
      else tf.dispose([rows, gate, up, y]);
    });
    if (copies.length + C > 0) {
      const gaps = logitGaps(ins);
      const o = readRows(out);
      const hx = readRows(ins[0]);
      const w = readRows(ins[1]);
      const vs = Array.from({ length: C }, (_, c) => readRows(constantOf(ins, c).v));
      for (let n = 0; n < tokens; n++) {
        const t = n * d;
        let keep = 0;
        for (const e of copies) keep += w[n * E + e];
        for (let c = 0; c < C; c++) {
          const wc = w[n * E + constants[c]];
          if (wc === 0) continue;
          let l = 0;
          for (let j = 0; j < d; j++) l += hx[t + j] * gaps[c * d + j];
          keep += wc / (1 + Math.exp(-l));
          const a = wc / (1 + Math.exp(l));
          const v = vs[c];
          for (let j = 0; j < d; j++) o[t + j] += a * v[j];
        }
        if (keep !== 0) for (let j = 0; j < d; j++) o[t + j] += keep * hx[t + j];
      }
    }
    save([...ins, ...kept]);
    return {
      value: out as tf.Tensor2D, // (N, D)
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const sIns = saved.slice(0, inputs.length);
        const sKept = saved.slice(inputs.length);
        const expertGrads = experts.map(({ index, weightIndex }, b) => {
          const [dyRows] = writeRows([[index.length, d]], ([dst]) => {
            const g = readRows(dy); // sync read: dispatch
            const w = readRows(sIns[1]);
            for (let i = 0; i < index.length; i++) {
              const wi = w[weightIndex[i]];
              const t = index[i] * d;
              const r = i * d;
              for (let j = 0; j < d; j++) dst[r + j] = wi * g[t + j];
            }
          });
          const [rows, gate, up] = sKept.slice(4 * b, 4 * b + 3) as tf.Tensor2D[];
          const grads = tf.tidy(() => ({ ...ffnBackward(rows, gate, up, dyRows as tf.Tensor2D, weightsOf(sIns, b)) })) as unknown as FfnGradients;
          dyRows.dispose();
          return grads;
        });
        const gaps = logitGaps(sIns);
        const shapes = [[tokens, d], [tokens, E], ...constants.flatMap(() => [[d, 2], [d]])];
        const hostGrads = writeRows(shapes, (gs) => {
          const [dx, dW] = gs;
          const g = readRows(dy); // sync read: dispatch
          const hx = readRows(sIns[0]);
          const w = readRows(sIns[1]);
          experts.forEach(({ index, weightIndex }, b) => {
            const y = readRows(sKept[4 * b + 3]);
            const dxe = readRows(expertGrads[b].dx);
            for (let i = 0; i < index.length; i++) {
              const t = index[i] * d;
              const r = i * d;
              let dot = 0;
              for (let j = 0; j < d; j++) {
                dx[t + j] += dxe[r + j];
                dot += y[r + j] * g[t + j];
              }
              dW[weightIndex[i]] += dot;
            }
          });
          if (copies.length + C === 0) return;
          const vs = Array.from({ length: C }, (_, c) => readRows(constantOf(sIns, c).v));
          for (let n = 0; n < tokens; n++) {
            const t = n * d;
            let xg = 0; // ⟨x, dout⟩
            for (let j = 0; j < d; j++) xg += hx[t + j] * g[t + j];
            let keep = 0;
            for (const e of copies) {
              keep += w[n * E + e];
              dW[n * E + e] += xg;
            }
            for (let c = 0; c < C; c++) {
              const e = constants[c];
              const wc = w[n * E + e];
              let l = 0;
              for (let j = 0; j < d; j++) l += hx[t + j] * gaps[c * d + j];
              const a1 = 1 / (1 + Math.exp(-l));
              const a2 = 1 / (1 + Math.exp(l));
              const v = vs[c];
              let vg = 0; // ⟨v, dout⟩
              for (let j = 0; j < d; j++) vg += v[j] * g[t + j];
              dW[n * E + e] += a1 * xg + a2 * vg;
              if (wc === 0) continue;
              keep += wc * a1;
              const dl = wc * a1 * a2 * (xg - vg);
              const dWc = gs[2 + 2 * c];
              const dv = gs[3 + 2 * c];
              const gap = c * d;
              for (let j = 0; j < d; j++) {
                dWc[2 * j] += dl * hx[t + j];
                dx[t + j] += dl * gaps[gap + j];
                dv[j] += wc * a2 * g[t + j];
              }
            }
            if (keep !== 0) for (let j = 0; j < d; j++) dx[t + j] += keep * g[t + j];
          }
          for (let c = 0; c < C; c++) {
            const dWc = gs[2 + 2 * c];
            for (let j = 0; j < d; j++) dWc[2 * j + 1] = -dWc[2 * j];
          }
        });
        tf.dispose(expertGrads.map((gr) => gr.dx));
        return [hostGrads[0], hostGrads[1], ...expertGrads.flatMap((gr) => [gr.dWGate, gr.dWUp, gr.dWDown]), ...hostGrads.slice(2)];
      },
    };
  });
  return tf.tidy('experts', () => op(...inputs)) as tf.Tensor2D;
}

/**
 * Whether the engine is recording a gradient tape (inside `tf.grad` / `variableGrads` …). tfjs
 * has no public flag; when its internal state is not where expected, assume it is recording
 * (activations are then kept: correct, only more memory).
 */
function isRecordingGradients(): boolean {
  const depth = (tf.engine() as unknown as { state?: { gradientDepth?: number } }).state?.gradientDepth;
  return typeof depth !== 'number' || depth > 0;
}

/** FFN experts on native TensorFlow, whose gather / slice / segment-sum kernels are fast. */
function ffnExpertsNative(
  x: tf.Tensor2D,
  { plan, routingWeights }: Pick<RouterOutput, 'plan' | 'routingWeights'>,
  params: MoeLayerParams,
  kinds: readonly ExpertKind[],
): tf.Tensor2D {
  const [tokens, d] = x.shape;
  const slotInputs = gatherRows(x, plan.ffnSlotToken); // (S, D), grouped by expert
  const slotWeights = gatherRows(tf.reshape(routingWeights, [tokens * plan.experts, 1]), plan.ffnSlotWeightIndex); // (S, 1)
  const slotOutputs: tf.Tensor2D[] = [];
  kinds.forEach((kind, e) => {
    const begin = plan.expertSlotOffsets[e];
    const count = plan.expertSlotOffsets[e + 1] - begin;
    if (kind !== 'ffn' || count === 0) return;
    const rows = tf.slice(slotInputs, [begin, 0], [count, d]); // (count, D)
    slotOutputs.push(ffnForward(rows, params.experts[e] as FfnParams));
  });
  const weighted = tf.mul(slotOutputs.length === 1 ? slotOutputs[0] : tf.concat(slotOutputs, 0), slotWeights); // (S, D)
  return scatterAddRows(weighted as tf.Tensor2D, plan.ffnSlotToken, tokens); // (N, D)
}
