/**
 * @moepp/experiments — data, tokenizer, training, studies and benchmarks for MoE++.
 * The CLIs live in src/cli/ (`pnpm ablate`, `pnpm bench`); this is the programmatic API.
 */
export * from './data/index.js';
export { loadStudy, planStudy, parseOverride, resolveRunConfig, StudyConfigError, type Study, type PlannedRun } from './studies/study-config.js';
export type { RunConfig, TrainingConfig, DataConfig } from './studies/run-config.js';
export { runStudy, runStatus, summaryTable } from './studies/run-study.js';
export { trainRun, NonFiniteLossError } from './training/trainer.js';
export type { RunSummary } from '@moepp/run-format';
export { evaluate, type EvalResult, type HeldOutRouting } from './training/evaluate.js';
export { AdamW, DEFAULT_ADAMW } from './training/adamw.js';
export { learningRate } from './training/lr-schedule.js';
export { RunFolder } from './runs/run-folder.js';
export { prepareRunData } from './runs/prepare-run-data.js';
export { loadCheckpointModel, loadRunTokenizer } from './runs/load-checkpoint.js';
export { routeText, type TokenRouting } from './runs/route-text.js';
