/**
 * @moepp/reports: reads the run folders written by @moepp/experiments (docs/run-folder.md) and
 * produces tables, figures and a report per study. Never imports tfjs, never retrains.
 *
 * @example
 * import { loadStudy, loadBenchmarks, buildConfigRows, summaryMarkdown } from '@moepp/reports';
 * const study = loadStudy('results', 'zc-ablation');
 * console.log(summaryMarkdown(buildConfigRows(study, loadBenchmarks('results'))));
 */
export * from './run-folder-format.ts';
export { parseCsv, csvNumber, findRepoRoot, defaultResultsDir, type CsvTable } from '@moepp/run-format';
export {
  loadStudy, loadRun, listStudies, runsOf, UnknownStudyError, REPORT_MARKER_FILE,
  type LoadedRun, type LoadedStudy, type SkippedRun, type LoadStudyOptions,
} from './load-runs.ts';
export { loadBenchmarks, findExpertForward, tauCurve, type BenchRow, type BenchFolder, type LoadedBench, type BenchMatch } from './load-bench.ts';
export { benchSummaryMarkdown, type BenchSummaryInput, type BenchSummaryOptions, type OpProfile, type OpTime } from './bench/summary-markdown.ts';
export { paperIncrease } from './bench/paper-table3.ts';
export { summarize, pairedDeltas, bootstrapMeanCI, cellSeed, type Summary, type PairedDeltas, type BootstrapCI, type BootstrapOptions } from './statistics.ts';
export { mulberry32, fnv1a } from './random.ts';
export { formatMeanStd, formatCount, formatSigned, markdownTable, decimalsFor } from './format.ts';
export {
  buildConfigRows, summaryMarkdown, summaryCsv, buildDeltaRows, deltasMarkdown, deltasCsv, skippedMarkdown, skippedCsv,
  excludesZero, expertsLabel, tauOf, zcExperts, DELTA_METRICS, MEAN_STD_LEGEND,
  type ConfigRow, type DeltaRow, type DeltaMetric, type DeltaOptions,
} from './tables.ts';
export { buildFigures, FIGURE_BUILDERS, type FigureContext } from './figures/index.ts';
export {
  expertLoadFigure, ffnPerPosFigure, lossCurvesFigure, routingVarianceFigure, tauTradeoffFigure, zcShareFigure,
} from './figures/index.ts';
export { renderSvg, svgToPng, renderFigure, fontSetup, isFigure, BASE_CONFIG, type Figure, type SkippedFigure, type RenderedFigure } from './figures/render.ts';
export {
  buildStudyReport, writeStudyReport, writeReportFiles, reportMarkdown,
  type StudyReport, type ReportOptions, type WriteResult, type WriteStudyReportOptions,
} from './report.ts';
