/**
 * The decoder LM: token embeddings, pre-norm blocks (RMSNorm → causal attention with RoPE;
 * RMSNorm → MoE++ layer or dense SwiGLU FFN), final RMSNorm, LM head tied or untied. Readable top
 * to bottom: `build` creates the named parameters, `forward` runs them.
 *
 * Vanilla MoE and dense models are configurations (config.ts), not other classes.
 */
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core alone registers no gradients; training needs them all.
import './tfjs-gradients.ts';
import { isMoeBlock, moeLayerSpec, validateModelConfig, type ModelConfig } from './config.ts';
import { ffnExpert, ffnForward, type FfnParams } from './experts/index.ts';
import type { ForwardContext } from './gating/index.ts';
import { ParameterStore } from './parameters.ts';
import { rmsNorm } from './rms-norm.ts';
import { attentionForward, causalMask, type AttentionParams } from './attention.ts';
import { ropeTables, type RopeTables } from './rope.ts';
import { createMoeLayer, type MoeLayer } from './moe-layer.ts';
import { gatherRows } from './dispatch.ts';
import { expertExecutor, type ExecutorName, type ExpertExecutor } from './executors/index.ts';
import { heterogeneousBalanceLoss, routerZLoss } from './losses.ts';
import { sequenceBalanceLoss } from './sequence-balance-loss.ts';
import { crossEntropy } from './cross-entropy.ts';
import { computeRoutingStats, type LayerRoutingStats } from './routing-stats.ts';

interface Block {
  attnNorm: tf.Variable;
  attention: AttentionParams;
  ffnNorm: tf.Variable;
  /** Exactly one of `moe` / `ffn` is set. */
  moe: { moeIndex: number; layer: MoeLayer } | null;
  ffn: FfnParams | null;
}

export interface ModelOptions {
  /**
   * How MoE++ experts execute (executors/): `host` (fast on wasm / cpu, the default) or `tf-ops`
   * (plain tf ops, fast on native TensorFlow). The caller that picks the backend picks this too,
   * and records it in the run.
   */
  executor?: ExecutorName;
}

export interface ForwardOptions {
  /** Whether this pass trains, and its seeded random source (gating modes may use both). */
  context: ForwardContext;
  /** (B, T) next-token targets; with them the output has the losses. */
  targets?: tf.Tensor2D;
  /** Compute per-layer routing statistics (default true). */
  routingStats?: boolean;
}

export interface LMOutput {
  /** (N, V) next-token logits, N = B·T in row-major (batch, position) order. */
  logits: tf.Tensor2D;
  /** Mean next-token cross-entropy; present when targets were given. */
  ce: tf.Scalar | null;
  /** Mean over MoE++ layers of the heterogeneous balance loss (0 for a dense model). */
  auxLoss: tf.Scalar;
  /** Mean over MoE++ layers of the router z-loss. */
  zLoss: tf.Scalar;
  /** ce + β·auxLoss + zCoef·zLoss (+ α · the sequence-wise balance loss when set); present when targets were given. */
  loss: tf.Scalar | null;
  /** One entry per MoE++ layer. */
  routing: LayerRoutingStats[];
  /** (E) per MoE++ layer: selected slots per expert, before capacity (what balancing biases follow). */
  expertLoad: Float64Array[];
}

export interface LossAndGradients {
  loss: number;
  ce: number;
  auxLoss: number;
  zLoss: number;
  /** Gradients of every parameter by name (zeros off the batch's path); the caller disposes them. */
  grads: Map<string, tf.Tensor>;
  routing: LayerRoutingStats[];
  /** (E) per MoE++ layer: selected slots per expert; sum them over micro-batches for `updateRoutingState`. */
  expertLoad: Float64Array[];
}

export class MoeppLM {
  readonly parameters: ParameterStore;
  private readonly embedding: tf.Variable;
  private readonly blocks: Block[] = [];
  private readonly executor: ExpertExecutor;
  private readonly finalNorm: tf.Variable;
  private readonly lmHead: tf.Variable | null;
  private readonly tables = new Map<number, RopeTables & { mask: tf.Tensor2D }>();

  /**
   * @example
   * const model = new MoeppLM(resolveModelConfig({ vocabSize: 256 }), 42);
   */
  constructor(
    readonly config: ModelConfig,
    readonly seed = 0,
    options: ModelOptions = {},
  ) {
    validateModelConfig(config);
    const c = config;
    this.parameters = new ParameterStore(seed);
    const p = this.parameters;
    const executor = options.executor ?? 'host';
    this.executor = expertExecutor(executor);
    const normal = { kind: 'normal', std: c.initStd } as const;
    const ones = { kind: 'ones' } as const;
    const D = c.dModel;
    const denseFfn = (prefix: string): FfnParams => {
      const params = Object.fromEntries(
        ffnExpert.parameters({ dModel: D, ffnHidden: c.denseFfnHidden }).map((s) => [s.key, p.create(`${prefix}.${s.name}`, s.shape, normal)]),
      );
      return params as unknown as FfnParams;
    };

    this.embedding = p.create('embed_tokens', [c.vocabSize, D], normal);
    let moeIndex = 0;
    for (let i = 0; i < c.nLayers; i++) {
      const prefix = `layers.${i}`;
      const block: Block = {
        attnNorm: p.create(`${prefix}.attn_norm`, [D], ones),
        attention: {
          wQ: p.create(`${prefix}.attn.w_q`, [D, D], normal),
          wK: p.create(`${prefix}.attn.w_k`, [D, D], normal),
          wV: p.create(`${prefix}.attn.w_v`, [D, D], normal),
          wO: p.create(`${prefix}.attn.w_o`, [D, D], normal),
        },
        ffnNorm: p.create(`${prefix}.ffn_norm`, [D], ones),
        moe: null,
        ffn: null,
      };
      if (isMoeBlock(c, i)) {
        const layer = createMoeLayer(moeLayerSpec(c, moeIndex), (name, shape, init) => p.create(`${prefix}.moe.${name}`, shape, init), executor);
        block.moe = { moeIndex, layer };
        moeIndex++;
      } else {
        block.ffn = denseFfn(`${prefix}.ffn`);
      }
      this.blocks.push(block);
    }
    this.finalNorm = p.create('norm', [D], ones);
    this.lmHead = c.tieEmbeddings ? null : p.create('lm_head', [D, c.vocabSize], normal);
  }

  /** Expert kinds of each MoE++ layer, in order. */
  moeLayerKinds(): string[][] {
    return this.blocks.flatMap((b) => (b.moe ? [[...b.moe.layer.kinds]] : []));
  }

  /** The MoE++ layers, in order. */
  moeLayers(): MoeLayer[] {
    return this.blocks.flatMap((b) => (b.moe ? [b.moe.layer] : []));
  }

  /** The expert executor this model runs with. */
  get executorName(): ExecutorName {
    return this.executor.name;
  }

  /**
   * Runs the model on token ids (B, T). Call inside `tf.tidy` (or `lossAndGradients`).
   *
   * @example
   * const out = tf.tidy(() => model.forward(tf.tensor2d([[1, 2, 3]], [1, 3], 'int32'), { context: evaluationContext() }));
   */
  forward(inputIds: tf.Tensor2D, options: ForwardOptions): LMOutput {
    const c = this.config;
    const { context, targets } = options;
    const [batch, seqLen] = inputIds.shape;
    if (seqLen > c.maxSeqLen) throw new Error(`sequence length ${seqLen} exceeds maxSeqLen ${c.maxSeqLen}; raise maxSeqLen or shorten the input`);
    const ids = inputIds.dataSync() as Int32Array; // sync read: dispatch (embedding rows are gathered on the host)
    for (let i = 0; i < ids.length; i++) {
      if (ids[i] < 0 || ids[i] >= c.vocabSize || !Number.isInteger(ids[i])) throw new Error(`token id ${ids[i]} at position ${i} is outside the vocabulary [0, ${c.vocabSize})`);
    }
    const { mask, ...rope } = this.positionTables(seqLen);
    const attentionShape = { batch, seqLen, nHeads: c.nHeads, rope, causalMask: mask };

    let h = gatherRows(this.embedding as tf.Tensor2D, Int32Array.from(ids), this.executor.rowMoves); // (N, D)
    let previousLogits: tf.Tensor2D | null = null;
    const balanceLosses: tf.Scalar[] = [];
    const zLosses: tf.Scalar[] = [];
    const sequenceLosses: tf.Scalar[] = [];
    const sequenceCoef = c.sequenceBalanceLossCoef ?? 0;
    const routing: LayerRoutingStats[] = [];
    const expertLoad: Float64Array[] = [];
    const rowTokenIds = Int32Array.from(ids); // (N) row n's token id, for modes that route by it

    this.blocks.forEach((block, i) => {
      h = tf.add(h, attentionForward(rmsNorm(h, block.attnNorm, c.normEps), block.attention, attentionShape));
      const x = rmsNorm(h, block.ffnNorm, c.normEps); // (N, D) the input every expert sees
      if (block.moe === null) {
        h = tf.add(h, ffnForward(x, block.ffn as FfnParams));
        return; // the routing residual passes over dense blocks unchanged
      }
      const { moeIndex, layer } = block.moe;
      const out = layer.forward(x, previousLogits, context, rowTokenIds);
      expertLoad.push(selectedSlotsPerExpert(out.plan.selectedMask, out.plan.experts));
      h = tf.add(h, out.output);
      previousLogits = out.routerLogits;
      balanceLosses.push(heterogeneousBalanceLoss(out.routerProbs, out.plan, layer.kinds, layer.spec.tau));
      zLosses.push(routerZLoss(out.routerLogits));
      if (sequenceCoef > 0) sequenceLosses.push(sequenceBalanceLoss(out.routerProbs, out.plan.selectedMask, batch, seqLen, layer.spec.topK));
      if (options.routingStats !== false) {
        routing.push(
          computeRoutingStats({
            layer: moeIndex, block: i, kinds: layer.kinds, plan: out.plan, tau: layer.spec.tau,
            hostLogits: out.hostLogits, hostProbs: out.routerProbs.dataSync() as Float32Array, // sync read: statistics
          }),
        );
      }
    });

    const final = rmsNorm(h, this.finalNorm, c.normEps); // (N, D)
    const head = this.lmHead ?? tf.transpose(this.embedding); // (D, V)
    const logits = tf.matMul(final, head) as tf.Tensor2D; // (N, V)
    const auxLoss = (balanceLosses.length ? tf.div(tf.addN(balanceLosses), balanceLosses.length) : tf.scalar(0)) as tf.Scalar;
    const zLoss = (zLosses.length ? tf.div(tf.addN(zLosses), zLosses.length) : tf.scalar(0)) as tf.Scalar;
    if (!targets) return { logits, ce: null, auxLoss, zLoss, loss: null, routing, expertLoad };

    const ce = crossEntropy(logits, targets);
    // A term whose coefficient is 0 stays out of the objective, so no backward is built for it
    // (its value is still reported).
    const terms = [ce];
    if (c.routerAuxLossCoef > 0) terms.push(tf.mul(auxLoss, c.routerAuxLossCoef));
    if (c.routerZLossCoef > 0) terms.push(tf.mul(zLoss, c.routerZLossCoef));
    if (sequenceLosses.length) terms.push(tf.mul(tf.div(tf.addN(sequenceLosses), sequenceLosses.length), sequenceCoef));
    const loss = tf.addN(terms) as tf.Scalar;
    return { logits, ce, auxLoss, zLoss, loss, routing, expertLoad };
  }

  /**
   * One backward pass: the loss and the gradient of every parameter.
   *
   * @example
   * const r = model.lossAndGradients(inputs, targets, trainingContext('run', step));
   * console.log(r.loss); r.grads.forEach((g) => g.dispose());
   */
  lossAndGradients(inputIds: tf.Tensor2D, targets: tf.Tensor2D, context: ForwardContext): LossAndGradients {
    let kept: { ce: tf.Scalar; auxLoss: tf.Scalar; zLoss: tf.Scalar } | null = null;
    let routing: LayerRoutingStats[] = [];
    let expertLoad: Float64Array[] = [];
    const variables = [...this.parameters.variables.values()];
    const { value, grads } = tf.variableGrads(() => {
      const out = this.forward(inputIds, { targets, context });
      kept = { ce: tf.keep(out.ce as tf.Scalar), auxLoss: tf.keep(out.auxLoss), zLoss: tf.keep(out.zLoss) };
      routing = out.routing;
      expertLoad = out.expertLoad;
      return out.loss as tf.Scalar;
    }, variables);
    const terms = kept as unknown as { ce: tf.Scalar; auxLoss: tf.Scalar; zLoss: tf.Scalar };
    // A parameter off this batch's path (an FFN expert no token chose) gets an explicit zero
    // gradient, so every step updates the same parameter list in the same order.
    const named = new Map<string, tf.Tensor>();
    for (const [name, v] of this.parameters.variables) named.set(name, grads[v.name] ?? tf.zerosLike(v));
    const result: LossAndGradients = {
      loss: value.dataSync()[0],
      ce: terms.ce.dataSync()[0],
      auxLoss: terms.auxLoss.dataSync()[0],
      zLoss: terms.zLoss.dataSync()[0],
      grads: named,
      routing,
      expertLoad,
    };
    tf.dispose([value, terms.ce, terms.auxLoss, terms.zLoss]);
    return result;
  }

  /**
   * The non-learned routing state of every MoE++ layer (DeepSeek-V3's balancing biases), by name
   * on disk (`layers.<i>.moe.router.<name>`); empty for modes without state. The arrays are live:
   * loading writes into them.
   */
  buffers(): Map<string, Float32Array> {
    const out = new Map<string, Float32Array>();
    this.blocks.forEach((block, i) => {
      if (!block.moe) return;
      const { layer } = block.moe;
      for (const [key, values] of Object.entries(layer.buffers)) out.set(`layers.${i}.moe.${layer.bufferNames[key]}`, values);
    });
    return out;
  }

  /**
   * After an optimizer step: lets each MoE++ layer's gating mode update its state from the step's
   * selected slots per expert (`expertLoad`, summed over the step's micro-batches).
   *
   * @example
   * optimizer.apply(...); model.updateRoutingState(r.expertLoad);
   */
  updateRoutingState(expertLoad: Float64Array[]): void {
    this.moeLayers().forEach((layer, l) => layer.updateBuffers(expertLoad[l]));
  }

  /** Frees every parameter and cached table. */
  dispose(): void {
    this.parameters.dispose();
    for (const t of this.tables.values()) tf.dispose([t.cos, t.sin, t.rotateHalf, t.mask]);
    this.tables.clear();
  }

  private positionTables(seqLen: number): RopeTables & { mask: tf.Tensor2D } {
    let t = this.tables.get(seqLen);
    if (!t) {
      t = tf.tidy(() => {
        const r = ropeTables(seqLen, this.config.dModel / this.config.nHeads, this.config.ropeTheta);
        return { cos: tf.keep(r.cos), sin: tf.keep(r.sin), rotateHalf: tf.keep(r.rotateHalf), mask: tf.keep(causalMask(seqLen)) };
      });
      this.tables.set(seqLen, t);
    }
    return t;
  }
}

/** (E) how many selected slots each expert got: column sums of the (N·E) selection mask. */
function selectedSlotsPerExpert(selectedMask: Float32Array, experts: number): Float64Array {
  const load = new Float64Array(experts);
  for (let i = 0; i < selectedMask.length; i++) load[i % experts] += selectedMask[i];
  return load;
}
