/**
 * The MoE++ layer: the router decides, the experts compute, the layer dispatches and combines.
 * Vanilla MoE is this layer with only FFN experts and no gating residual.
 *
 * Dispatch is dropless and sparse: each FFN expert runs on exactly the rows of the tokens routed
 * to it, and the weighted results are scatter-added back to their tokens — so a token routed to a
 * zero-computation expert never enters an FFN matmul, and the FFN cost scales with the slots
 * actually sent to FFN experts. ZC experts run densely over all tokens at O(D) each, as one
 * expression; their zero weights off the top-K make that exact.
 */
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core alone registers no gradients; the layer must be trainable wherever it is used.
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { indicesOfKind, type ExpertKind } from './experts/expert-kinds.js';
import { ffnForward, type FfnParams } from './experts/ffn-expert.js';
import type { ConstantExpertParams } from './experts/constant-expert.js';
import { copyExpertForward } from './experts/zero-computation-experts.js';
import { route, type RouterParams, type RouterSettings, type RouterOutput } from './router.js';
import { gatherRows, readRows, scatterAddRows, usesNativeKernels, writeRows } from './row-permutation.js';

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
  const zc = zeroComputationTerms(x, routing.routingWeights, params, kinds);
  if (!usesNativeKernels()) return combineOnHost(x, routing, params, kinds, zc);
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
 * Dispatch and combine on wasm / cpu. Each FFN expert's rows are gathered on the host straight
 * from x (the wasm `Slice` kernel copies its whole input, so slicing expert blocks out of one
 * gathered tensor would cost E·S·D) and each expert runs in its own `tidy`, so its intermediates
 * go as soon as its output exists (the tape keeps what the backward needs). Then one op sums
 * everything into (N, D): every expert row scaled by its routing weight into its token's row,
 * plus the ZC terms c ⊙ x + A · V — one (N, D) tensor instead of one per term. Its gradient is
 * written out: dy rows w·dout, d w = ⟨y, dout⟩, dc = ⟨x, dout⟩, dA = dout · Vᵀ, dV = Aᵀ · dout,
 * dx = c ⊙ dout.
 */
function combineOnHost(
  x: tf.Tensor2D,
  { plan, routingWeights }: Pick<RouterOutput, 'plan' | 'routingWeights'>,
  params: MoeLayerParams,
  kinds: readonly ExpertKind[],
  zc: ZeroComputationTerms,
): tf.Tensor2D {
  const [tokens, d] = x.shape;
  const outputs: tf.Tensor2D[] = [];
  const slots: { index: Int32Array; weightIndex: Int32Array }[] = [];
  kinds.forEach((kind, e) => {
    const begin = plan.expertSlotOffsets[e];
    const end = plan.expertSlotOffsets[e + 1];
    if (kind !== 'ffn' || end === begin) return;
    const index = plan.ffnSlotToken.subarray(begin, end);
    outputs.push(tf.tidy(() => ffnForward(tf.tidy('dispatch', () => gatherRows(x, index)), params.experts[e] as FfnParams))); // (count, D)
    slots.push({ index, weightIndex: plan.ffnSlotWeightIndex.subarray(begin, end) });
  });

  const B = outputs.length;
  const C = zc.mix ? zc.mix.shape[1] : 0;
  const inputs: tf.Tensor[] = [...outputs, routingWeights, x, ...[zc.keepInput, zc.mix, zc.vectors].filter((t): t is tf.Tensor2D => t !== null)];
  /** Host views of the op's inputs, in `inputs` order (valid until the next allocation). */
  const views = (ts: tf.Tensor[]) => {
    const v = ts.map(readRows); // sync read: dispatch
    return { y: v.slice(0, B), w: v[B], x: v[B + 1], keep: zc.keepInput ? v[B + 2] : null, mix: C ? v[v.length - 2] : null, vectors: C ? v[v.length - 1] : null };
  };
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const ins = args.slice(0, inputs.length) as tf.Tensor[];
    (args[inputs.length] as tf.GradSaveFunc)(ins);
    const [value] = writeRows([[tokens, d]], ([out]) => {
      const h = views(ins);
      const weights = h.w;
      slots.forEach(({ index, weightIndex }, b) => {
        const y = h.y[b];
        for (let i = 0; i < index.length; i++) {
          const w = weights[weightIndex[i]];
          if (w === 0) continue;
          const o = index[i] * d;
          const s = i * d;
          for (let j = 0; j < d; j++) out[o + j] += w * y[s + j];
        }
      });
      const { x: hx, keep, mix, vectors } = h;
      for (let n = 0; n < tokens; n++) {
        const o = n * d;
        const k = keep ? keep[n] : 0;
        if (k !== 0) for (let j = 0; j < d; j++) out[o + j] += k * hx[o + j];
        for (let c = 0; c < C; c++) {
          const a = mix![n * C + c];
          if (a === 0) continue;
          const v = c * d;
          for (let j = 0; j < d; j++) out[o + j] += a * vectors![v + j];
        }
      }
    });
    return {
      value: value as tf.Tensor2D, // (N, D)
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const shapes = [...slots.map((s) => [s.index.length, d]), routingWeights.shape, [tokens, d], ...(zc.keepInput ? [[tokens, 1]] : []), ...(C ? [[tokens, C], [C, d]] : [])];
        return writeRows(shapes, (grads) => {
          const h = views(saved);
          const g = readRows(dy); // sync read: dispatch
          const dW = grads[B];
          slots.forEach(({ index, weightIndex }, b) => {
            const y = h.y[b];
            const dyb = grads[b];
            for (let i = 0; i < index.length; i++) {
              const w = h.w[weightIndex[i]];
              const o = index[i] * d;
              const s = i * d;
              let dot = 0;
              for (let j = 0; j < d; j++) {
                dyb[s + j] = w * g[o + j];
                dot += y[s + j] * g[o + j];
              }
              dW[weightIndex[i]] += dot;
            }
          });
          const dx = grads[B + 1];
          const dKeep = h.keep ? grads[B + 2] : null;
          const dMix = C ? grads[grads.length - 2] : null;
          const dVectors = C ? grads[grads.length - 1] : null;
          const { x: hx, keep, mix, vectors } = h;
          for (let n = 0; n < tokens; n++) {
            const o = n * d;
            if (keep) {
              const k = keep[n];
              let dot = 0;
              for (let j = 0; j < d; j++) {
                dx[o + j] = k * g[o + j];
                dot += hx[o + j] * g[o + j];
              }
              dKeep![n] = dot;
            }
            for (let c = 0; c < C; c++) {
              const a = mix![n * C + c];
              const v = c * d;
              let dot = 0;
              if (a === 0) {
                for (let j = 0; j < d; j++) dot += vectors![v + j] * g[o + j];
              } else {
                for (let j = 0; j < d; j++) {
                  dot += vectors![v + j] * g[o + j];
                  dVectors![v + j] += a * g[o + j];
                }
              }
              dMix![n * C + c] = dot;
            }
          }
        });
      },
    };
  });
  return tf.tidy('combine', () => op(...inputs)) as tf.Tensor2D;
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
