/**
 * `checkpoint` routing: the routing of a trained model (a run folder's
 * `checkpoint/model.safetensors`) on its validation split — the experts its routers actually
 * pick, token by token, pooled over its MoE++ layers. The layer benchmark then dispatches with
 * exactly those choices (at any width; the expert set must match the checkpoint's).
 */
import * as tf from '@tensorflow/tfjs-core';
import { evaluationContext, isFfnLike, MoeppLM, resolveModelConfig, saveModelWeights, type LayerRoutingStats } from '@moepp/core';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { BenchArgumentError, EXPERT_SETS, type BenchOptions } from './bench-options.ts';
import { join } from 'node:path';
import { sequentialBatches } from '../data/index.ts';
import { loadCheckpointModel } from '../runs/load-checkpoint.ts';
import { prepareRunData } from '../runs/prepare-run-data.ts';
import type { DataConfig } from '../studies/run-config.ts';
import { repoRoot } from '@moepp/run-format';

export interface CheckpointRouting {
  /** Where it came from (run folder). */
  source: string;
  kinds: string[];
  topK: number;
  tau: number;
  /** (tokens·K) expert choices, best first: layer 0's tokens, then layer 1's, … */
  topKIndex: Int32Array;
  tokens: number;
  /** Share of routing slots that went to FFN experts. */
  ffnShare: number;
}

/**
 * Runs the checkpoint on validation windows until `tokens` routed tokens are collected (pooled
 * over layers: ⌈tokens / L⌉ per layer), and returns their top-K choices.
 *
 * @example
 * const r = await checkpointRouting('results/default/moepp-tau0.75--seed1', 2048);
 */
export async function checkpointRouting(runDir: string, tokens: number): Promise<CheckpointRouting> {
  const configFile = join(runDir, 'config.json');
  if (!existsSync(configFile)) throw new Error(`${runDir} has no config.json; --checkpoint needs a run folder (results/<study>/<run-id>)`);
  const config = JSON.parse(readFileSync(configFile, 'utf8')) as { data: DataConfig; training: { seqLen: number; batchSize: number } };
  const model = loadCheckpointModel(runDir);
  try {
    const moe = model.config.moe;
    if (!moe) throw new Error(`${runDir} holds a dense model; checkpoint routing needs an MoE model`);
    const layerKinds = model.moeLayerKinds();
    const kinds = layerKinds[0];
    if (layerKinds.some((k) => k.join() !== kinds.join())) throw new Error(`${runDir}: MoE layers have different expert sets; pooled routing needs one set`);
    const perLayer = Math.ceil(tokens / layerKinds.length);
    const data = await prepareRunData(config.data, repoRoot());
    const K = moe.topK;
    const collected: Int32Array[][] = layerKinds.map(() => []);
    let have = 0;
    for (const batch of sequentialBatches(data.validation, { batchSize: config.training.batchSize, seqLen: config.training.seqLen })) {
      let stats: LayerRoutingStats[] = [];
      tf.tidy(() => {
        const ids = tf.tensor2d(batch.inputs, [batch.batchSize, batch.seqLen], 'int32');
        stats = model.forward(ids, { context: evaluationContext() }).routing;
      });
      stats.forEach((s, l) => collected[l].push(Int32Array.from(s.topKIndex)));
      have += batch.batchSize * batch.seqLen;
      if (have >= perLayer) break;
    }
    if (have < perLayer) throw new Error(`${runDir}: the validation split has only ${have} tokens, ${perLayer} needed per layer`);
    const out = new Int32Array(tokens * K);
    let cursor = 0;
    for (const chunks of collected) {
      let taken = 0;
      for (const c of chunks) {
        const n = Math.min(c.length, (perLayer - taken) * K, out.length - cursor);
        out.set(c.subarray(0, n), cursor);
        cursor += n;
        taken += n / K;
        if (taken >= perLayer || cursor >= out.length) break;
      }
    }
    let ffn = 0;
    for (const e of out) if (isFfnLike(kinds[e])) ffn++;
    return { source: runDir, kinds: [...kinds], topK: K, tau: moe.tau, topKIndex: out, tokens, ffnShare: ffn / out.length };
  } finally {
    model.dispose();
  }
}

/** The trained routings of the checkpoint cases: MoE++ (`--checkpoint`) and, optionally, its vanilla MoE side (`--checkpoint-moe`). */
export interface Checkpoints {
  moepp: CheckpointRouting | null;
  moe: CheckpointRouting | null;
}

/**
 * Loads the routings the options ask for; a folder that is not a usable run, or a MoE run that
 * does not match the MoE++ one, is a `BenchArgumentError` naming the flag and the fix.
 *
 * @example
 * const { moepp, moe } = await loadCheckpoints(options, 8192);
 */
export async function loadCheckpoints(options: BenchOptions, tokens: number): Promise<Checkpoints> {
  if (!options.routings.includes('checkpoint') || !options.checkpoint) return { moepp: null, moe: null };
  const load = async (runDir: string, flag: string) => {
    try {
      return await checkpointRouting(runDir, tokens);
    } catch (e) {
      throw new BenchArgumentError(`${flag}: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  const moepp = await load(options.checkpoint, '--checkpoint');
  if (!options.checkpointMoe) return { moepp, moe: null };
  const moe = await load(options.checkpointMoe, '--checkpoint-moe');
  const ffn = moepp.kinds.filter(isFfnLike).length;
  if (!moe.kinds.every(isFfnLike) || moe.kinds.length !== ffn || moe.topK !== moepp.topK) {
    throw new BenchArgumentError(
      `--checkpoint-moe: ${moe.source} has experts [${moe.kinds.join(',')}] with top-${moe.topK}; the MoE side of ${moepp.source} ` +
        `must be a vanilla MoE with its ${ffn} FFN experts and top-${moepp.topK} (e.g. the default study's moe--seed1 for its moepp-tau0.75 runs)`,
    );
  }
  return { moepp, moe };
}

/**
 * A run folder holding an *untrained* (8+4)E model's checkpoint (or, with `vanilla`, an 8E MoE's), on a tenth of Brown with a
 * 512-token vocabulary — for tests and for trying `--checkpoint` before any model is trained.
 *
 * @example
 * writeUntrainedCheckpoint('/tmp/untrained'); // then: pnpm bench --checkpoint /tmp/untrained --experts 8
 */
export function writeUntrainedCheckpoint(dir: string, moe: { ffnHidden?: number; tau?: number; vanilla?: boolean } = {}): void {
  const experts = moe.vanilla ? EXPERT_SETS[8].moe : EXPERT_SETS[8].moepp;
  const config = resolveModelConfig({ vocabSize: 512, dModel: 32, nLayers: 2, nHeads: 2, maxSeqLen: 32, moe: { experts, ffnHidden: moe.ffnHidden ?? 32, tau: moe.tau ?? 0.75, gatingResidual: !moe.vanilla } });
  const model = new MoeppLM(config, 5);
  try {
    mkdirSync(join(dir, 'checkpoint'), { recursive: true });
    writeFileSync(join(dir, 'checkpoint', 'model.safetensors'), saveModelWeights(model));
    writeFileSync(join(dir, 'config.json'), `${JSON.stringify({ note: 'untrained model (bench test fixture)', data: { corpus: 'brown', brownEvery: 10, vocabSize: 512 }, training: { batchSize: 4, seqLen: 32 } }, null, 2)}\n`);
  } finally {
    model.dispose();
  }
}
