/**
 * @moepp/run-format: the run-folder contract (docs/run-folder.md) between @moepp/experiments,
 * which writes run and benchmark folders, and @moepp/reports, which reads them. The zod schemas
 * here are the source of truth for the JSON files, the column lists for the CSV files; the
 * helpers (atomic write, CSV in and out, repository root) exist once, here.
 *
 * Imports neither tfjs nor @moepp/core: reports depend on this package and must never load tfjs.
 *
 * @example
 * const summary = parseRunFile(runSummarySchema, JSON.parse(text), 'summary.json');
 */
export { FORMAT_VERSION, RunFormatError, checkFormatVersion, parseJsonFile, parseRunFile } from './run-file.ts';
export {
  runConfigSchema, initConfigSchema, modelConfigSchema, moeConfigSchema, expertCountsSchema, trainingConfigSchema, dataConfigSchema,
  type RunConfigFile, type ModelConfigFile, type InitConfig, type MoeConfigFile, type ExpertCounts, type TrainingConfig, type DataConfig,
} from './config-json.ts';
export { runSummarySchema, splitMetricsSchema, costClassSchema, type RunSummary, type SplitMetrics, type CostClass } from './summary-json.ts';
export {
  routingFileSchema, layerRoutingSchema, groupRoutingSchema, coActivationSchema, routerSaturationSchema, loadOverTrainingSchema, expertKindsPerLayer,
  type RoutingFile, type LayerRouting, type GroupRouting, type CoActivation, type RouterSaturation, type LoadOverTraining,
} from './routing-json.ts';
export {
  evaluationFileSchema, predictionGroupSchema, genreEvaluationSchema, clozeSchema,
  type EvaluationFile, type PredictionGroup, type GenreEvaluation, type Cloze,
} from './evaluation-json.ts';
export { runFingerprintSchema, type RunFingerprintFile } from './fingerprint-json.ts';
export { studyFileSchema, studyRunSchema, type StudyFile } from './study-json.ts';
export { runEnvironmentSchema, benchEnvironmentSchema, type RunEnvironment, type BenchEnvironment } from './environment-json.ts';
export { METRICS_CSV_COLUMNS, metricsCsvColumns, EVAL_CSV_COLUMNS, type MetricsCsvColumn, type MetricsCsvRow, type EvalCsvRow } from './run-csv.ts';
export { FAMILY_CSV_COLUMNS, familyCsv, type FamilyCsvRow, LAYER_CSV_COLUMNS, layerCsv, recordsCsv, type LayerCsvColumn, type LayerCsvRow, type PeerCheckRow } from './bench-files.ts';
export { formatCsv, parseCsv, csvNumber, plainNumber, sixDigitNumber, type CsvCell, type CsvNumberFormat, type CsvTable, type FormatCsvOptions } from './csv.ts';
export { writeFileAtomic } from './atomic-write.ts';
export { findRepoRoot, repoRoot, invocationDir, defaultResultsDir, BUNDLE_MANIFEST } from './repo-root.ts';
