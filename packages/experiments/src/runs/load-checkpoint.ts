/** A trained model back from a run folder's checkpoint (for notebooks, benchmarks, analysis). */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModelWeights, MoeppLM, readWeightsConfig, resolveModelConfig, type ExecutorName, type ModelConfigInput } from '@moepp/core';
import { BpeTokenizer } from '../data/index.ts';
import { CHECKPOINT_DIR, CheckpointStore } from './checkpoint-store.ts';

/**
 * Rebuilds the model saved in `<runDir>/checkpoint/model.safetensors` (config from the file's
 * metadata) and loads its weights; `executor` as the backend in use wants it (select-executor.ts).
 *
 * @example
 * const model = loadCheckpointModel('results/default/moepp-tau0.75--seed1');
 */
export function loadCheckpointModel(runDir: string, executor: ExecutorName = 'host'): MoeppLM {
  // The newest checkpoint that passes its checksums; else a bare checkpoint/model.safetensors (a
  // folder made by hand, or from before checkpoints had manifests).
  const bare = join(runDir, CHECKPOINT_DIR, 'model.safetensors');
  const bytes = new CheckpointStore(runDir).newest()?.files['model.safetensors'] ?? (existsSync(bare) ? readFileSync(bare) : null);
  if (!bytes) throw new Error(`${runDir} has no intact checkpoint/model.safetensors; train the run first (pnpm ablate) or give another run folder`);
  const config = resolveModelConfig(readWeightsConfig(bytes) as ModelConfigInput);
  const model = new MoeppLM(config, 0, { executor });
  loadModelWeights(model, bytes);
  return model;
}

/** The tokenizer a run was trained with (`<runDir>/tokenizer.json`). */
export function loadRunTokenizer(runDir: string): BpeTokenizer {
  return BpeTokenizer.fromFile(join(runDir, 'tokenizer.json'));
}
