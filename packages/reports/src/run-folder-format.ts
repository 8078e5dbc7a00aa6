/**
 * The run-folder files as reports use them: parsed and validated with @moepp/run-format's
 * schemas (the source of truth, docs/run-folder.md), then shaped for the tables and figures —
 * every expert kind the run knew present in counts and shares (0 when absent), each routing
 * layer with its own list of kinds. Reports know no kind by name: which kinds exist and which are
 * FFN-like come from the run's `summary.json#expertCostClasses` (core's registry when it
 * trained). A file that does not fit throws a `RunFormatError` whose message is the reason a
 * report prints when it skips the run.
 */
import {
  expertKindsPerLayer, parseRunFile, routingFileSchema, runConfigSchema, runSummarySchema, RunFormatError, studyFileSchema,
  type CoActivation, type CostClass, type GroupRouting, type RouterSaturation, type RunSummary, type StudyFile as StudyFileJson,
  evaluationFileSchema, type EvaluationFile, type LoadOverTraining,
} from '@moepp/run-format';

export { FORMAT_VERSION, RunFormatError, checkFormatVersion, type EvaluationFile, type GroupRouting, type LoadOverTraining, type RunSummary, type SplitMetrics } from '@moepp/run-format';

/** Cost class of each expert kind the run knew, in core's registration order (`summary.json#expertCostClasses`). */
export type ExpertCostClasses = Record<string, CostClass>;

/** POS classes written to `routing.json#byPos`, in the order the contract lists them. */
export const POS_CLASSES = [
  'noun', 'verb', 'adjective', 'adverb', 'pronoun', 'determiner', 'preposition',
  'conjunction', 'number', 'punctuation', 'other',
] as const;

/** Counts or shares by kind: every kind of the run's cost classes (0 when absent), plus any other in the file. */
export type KindRecord = Record<string, number>;

function withKnownKinds(record: Record<string, number>, classes: ExpertCostClasses): KindRecord {
  return { ...Object.fromEntries(Object.keys(classes).map((k) => [k, 0])), ...record };
}

/** The zero-computation kinds among `classes`, in registration order. */
export function zeroComputationKinds(classes: ExpertCostClasses): string[] {
  return Object.keys(classes).filter((k) => classes[k] === 'zero-computation');
}

/** The cost classes a summary records; an MoE run whose summary predates them cannot be reported. */
export function costClassesOf(summary: RunSummary, isMoe: boolean): ExpertCostClasses {
  if (summary.expertCostClasses) return summary.expertCostClasses;
  if (!isMoe) return {};
  throw new RunFormatError('older format: summary.json has no expertCostClasses (written before moepp recorded them); rerun it with --force to report it');
}

/** The part of `config.json#model` (core's ModelConfig) that reports need. */
export interface ModelShape {
  dModel: number;
  nLayers: number;
  /** null for a dense model (`model.moe === null`). */
  moe: {
    experts: KindRecord;
    /** Experts of FFN-like kinds, and of zero-computation kinds (from the run's cost classes). */
    ffnExperts: number;
    zcExperts: number;
    topK: number;
    ffnHidden: number;
    tau: number;
    gatingResidual: boolean;
    gating: string;
    capacityFactor: number | null;
  } | null;
}

/** One routing layer of `routing.json`. */
export interface RoutingLayer {
  layer: number;
  block: number;
  /** Kinds of this layer's experts (length E), in expert order. */
  expertKinds: string[];
  /** Routing slots per expert after capacity (length E). */
  tokensPerExpert: number[];
  ffnExpertsPerToken: number;
  /** Shares of all N·K slots per expert kind. */
  slotShare: KindRecord;
  droppedSlots: number;
  routerLogitMean: number;
  routerLogitStd: number;
  routingScoreVariance: number;
  /** The routing measures (core's routing-measures.ts); null in run folders written before them. */
  measures: RoutingMeasures | null;
}

/** Per-layer measures of routing.json (docs/run-folder.md). */
export interface RoutingMeasures {
  maxVio: number;
  loadEntropy: number;
  routingEntropy: number;
  deadExperts: number;
  deadExpertThreshold: number;
  dropRate: number;
}

/** `routing.json`: held-out routing statistics of the final model. */
export interface RoutingStats {
  formatVersion: number;
  /** Kinds of the first MoE layer's experts; `layers[i].expertKinds` where they vary by depth. */
  expertKinds: string[];
  layers: RoutingLayer[];
  byPos: Record<string, GroupRouting>;
  byPiece: Record<string, GroupRouting>;
  /** Adjacent-layer co-activation counts; empty in older run folders. */
  coActivation: CoActivation[];
  /** Top-1 agreement with the final model over training; null in older run folders. */
  routerSaturation: RouterSaturation | null;
  /** Slots per expert at each periodic evaluation; null in older run folders. */
  loadOverTraining: LoadOverTraining | null;
}

/** One row of `metrics.csv` (per optimizer step). */
export interface MetricsRow {
  step: number;
  tokens: number;
  loss: number;
  ce: number;
  tokensPerS: number;
}

/** One row of `eval.csv`. */
export interface EvalRow {
  step: number;
  split: string;
  loss: number;
  perplexity: number;
  accuracy: number;
}

/** `study.json` as reports use it: every run with its position in the grid. */
export type StudyFile = Omit<StudyFileJson, 'runs'> & { runs: (StudyFileJson['runs'][number] & { index: number })[] };

/** Parses `study.json`. */
export function parseStudyFile(json: unknown): StudyFile {
  const study = parseRunFile(studyFileSchema, json, 'study.json');
  return { ...study, runs: study.runs.map((r, i) => ({ ...r, index: r.index ?? i })) };
}

/** Parses `summary.json`; a run whose status is not `complete` is rejected as unfinished. */
export function parseSummary(json: unknown): RunSummary {
  const status = (json as { status?: unknown } | null)?.status;
  // Said before any missing field: a run still going has not written the rest yet.
  if (typeof status === 'string' && status !== 'complete' && (json as { formatVersion?: unknown }).formatVersion === 1) {
    throw new RunFormatError(`unfinished: summary.json status is '${status}'`);
  }
  return parseRunFile(runSummarySchema, json, 'summary.json');
}

// Reports read only these fields of config.json, so a run whose training or data block predates
// a field added since stays readable.
const configFields = runConfigSchema.pick({ formatVersion: true, configName: true, seed: true, model: true });

/**
 * Reads the model shape out of `config.json` (core's ModelConfig under `model`); `classes` are the
 * run's expert cost classes (`costClassesOf`).
 */
export function parseRunConfig(json: unknown, classes: ExpertCostClasses): { configName: string; seed: number; shape: ModelShape } {
  const { configName, seed, model } = parseRunFile(configFields, json, 'config.json');
  const m = model.moe;
  const count = (cls: CostClass) => (m ? Object.entries(m.experts).reduce((s, [k, n]) => s + (classOf(classes, k) === cls ? n : 0), 0) : 0);
  const moe: ModelShape['moe'] = m && {
    experts: withKnownKinds(m.experts, classes),
    ffnExperts: count('ffn'),
    zcExperts: count('zero-computation'),
    topK: m.topK,
    ffnHidden: m.ffnHidden,
    tau: m.tau,
    gatingResidual: m.gatingResidual,
    gating: m.gating,
    capacityFactor: m.capacityFactor,
  };
  return { configName, seed, shape: { dModel: model.dModel, nLayers: model.nLayers, moe } };
}

/**
 * Parses `routing.json`. `expertKinds` is either one list for every layer (docs/run-folder.md)
 * or one list per MoE layer (what the trainer writes, since experts may vary with depth).
 */
export function parseRouting(json: unknown, classes: ExpertCostClasses): RoutingStats {
  const file = parseRunFile(routingFileSchema, json, 'routing.json');
  const perLayer = expertKindsPerLayer(file);
  return {
    formatVersion: file.formatVersion,
    expertKinds: file.expertKinds.every((k) => typeof k === 'string') ? (file.expertKinds as string[]) : (perLayer[0] ?? []),
    layers: file.layers.map((l, i) => ({
      layer: l.layer,
      block: l.block ?? l.layer,
      expertKinds: perLayer[i],
      tokensPerExpert: l.tokensPerExpert,
      ffnExpertsPerToken: l.ffnExpertsPerToken,
      slotShare: withKnownKinds(l.slotShare, classes),
      droppedSlots: l.droppedSlots,
      routerLogitMean: l.routerLogitMean,
      routerLogitStd: l.routerLogitStd,
      routingScoreVariance: l.routingScoreVariance,
      measures:
        l.maxVio !== undefined && l.loadEntropy !== undefined && l.routingEntropy !== undefined && l.deadExperts !== undefined && l.dropRate !== undefined
          ? { maxVio: l.maxVio, loadEntropy: l.loadEntropy, routingEntropy: l.routingEntropy, deadExperts: l.deadExperts, deadExpertThreshold: l.deadExpertThreshold ?? NaN, dropRate: l.dropRate }
          : null,
    })),
    byPos: file.byPos,
    byPiece: file.byPiece,
    coActivation: file.coActivation ?? [],
    routerSaturation: file.routerSaturation ?? null,
    loadOverTraining: file.loadOverTraining ?? null,
  };
}

/** Parses `evaluation.json` (the held-out breakdown and the cloze probe). */
export function parseEvaluation(json: unknown): EvaluationFile {
  return parseRunFile(evaluationFileSchema, json, 'evaluation.json');
}

/**
 * config.json's model, data and training settings as dotted keys (`model.moe.tau`): what tells
 * two configs apart, for pairing configs that differ in one setting only.
 */
export function runSettings(json: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const walk = (value: unknown, prefix: string) => {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) for (const [k, v] of Object.entries(value)) walk(v, `${prefix}.${k}`);
    else out[prefix.slice(1)] = value;
  };
  const config = json as { model?: unknown; data?: unknown; training?: unknown };
  walk({ model: config.model, data: config.data, training: config.training }, '');
  return out;
}

function classOf(classes: ExpertCostClasses, kind: string): CostClass {
  const cls = classes[kind];
  if (!cls) throw new RunFormatError(`config.json: expert kind '${kind}' has no cost class in summary.json#expertCostClasses`);
  return cls;
}
