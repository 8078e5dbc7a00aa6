/**
 * @moepp/experiments — data, tokenizer, training, studies and benchmarks for MoE++.
 * The CLIs live in src/cli/ (`pnpm ablate`, `pnpm bench`); this is the programmatic API.
 */
export * from './data/index.ts';
export { loadStudy, planStudy, parseOverride, resolveRunConfig, StudyConfigError, type Study, type PlannedRun } from './studies/study-config.ts';
export type { RunConfig, TrainingConfig, DataConfig } from './studies/run-config.ts';
export { runStudy, runStatus, summaryTable } from './studies/run-study.ts';
export { trainRun, NonFiniteLossError, UnhealthyCheckpointError, RunStopped } from './training/trainer.ts';
export { acquireRunLock, releaseRunLock, readRunLock, isLockStale, describeHolder, RUN_LOCK_FILE, type RunLock } from './runs/run-lock.ts';
export { fingerprintRun, fingerprintDifferences, readRunFingerprint, RunIdentityError, type RunFingerprint } from './runs/run-fingerprint.ts';
export { CheckpointStore, CheckpointCorruptError, type VerifiedCheckpoint } from './runs/checkpoint-store.ts';
export type { RunSummary } from '@moepp/run-format';
export { evaluate, type EvalResult, type HeldOutRouting } from './training/evaluate.ts';
export { AdamW, DEFAULT_ADAMW } from './training/adamw.ts';
export { learningRate } from './training/lr-schedule.ts';
export { RunFolder } from './runs/run-folder.ts';
export { prepareRunData } from './runs/prepare-run-data.ts';
export { loadCheckpointModel, loadRunTokenizer } from './runs/load-checkpoint.ts';
export { routeText, type TokenRouting } from './runs/route-text.ts';
