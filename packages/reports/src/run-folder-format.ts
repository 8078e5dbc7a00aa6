/**
 * The run-folder files as reports use them: parsed and validated with @moepp/run-format's
 * schemas (the source of truth, docs/run-folder.md), then shaped for the tables and figures —
 * every expert kind reports knows present in counts and shares (0 when absent), each routing
 * layer with its own list of kinds. A file that does not fit throws a `RunFormatError` whose
 * message is the reason a report prints when it skips the run.
 */
import {
  expertKindsPerLayer, parseRunFile, routingFileSchema, runConfigSchema, runSummarySchema, RunFormatError, studyFileSchema,
  type GroupRouting, type RunSummary, type StudyFile as StudyFileJson,
} from '@moepp/run-format';

export { FORMAT_VERSION, RunFormatError, checkFormatVersion, type GroupRouting, type RunSummary, type SplitMetrics } from '@moepp/run-format';

/**
 * The expert kinds the figures name and colour (same spelling as `@moepp/core`'s registry). A
 * kind not listed here is still read and kept; it is simply not drawn on its own.
 */
export type ExpertKind = 'ffn' | 'zero' | 'copy' | 'constant';
export const EXPERT_KINDS: readonly ExpertKind[] = ['ffn', 'zero', 'copy', 'constant'];
export const ZC_KINDS: readonly ExpertKind[] = ['zero', 'copy', 'constant'];

/** POS classes written to `routing.json#byPos`, in the order the contract lists them. */
export const POS_CLASSES = [
  'noun', 'verb', 'adjective', 'adverb', 'pronoun', 'determiner', 'preposition',
  'conjunction', 'number', 'punctuation', 'other',
] as const;

/** Counts or shares by kind: every kind of `EXPERT_KINDS` (0 when absent), plus any other in the file. */
export type KindRecord = Record<ExpertKind, number> & Record<string, number>;

function withKnownKinds(record: Record<string, number>): KindRecord {
  return { ...Object.fromEntries(EXPERT_KINDS.map((k) => [k, 0])), ...record } as KindRecord;
}

/** The part of `config.json#model` (core's ModelConfig) that reports need. */
export interface ModelShape {
  dModel: number;
  nLayers: number;
  /** null for a dense model (`model.moe === null`). */
  moe: {
    experts: KindRecord;
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
}

/** `routing.json`: held-out routing statistics of the final model. */
export interface RoutingStats {
  formatVersion: number;
  /** Kinds of the first MoE layer's experts; `layers[i].expertKinds` where they vary by depth. */
  expertKinds: string[];
  layers: RoutingLayer[];
  byPos: Record<string, GroupRouting>;
  byPiece: Record<string, GroupRouting>;
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

/** Reads the model shape out of `config.json` (core's ModelConfig under `model`). */
export function parseRunConfig(json: unknown): { configName: string; seed: number; shape: ModelShape } {
  const { configName, seed, model } = parseRunFile(configFields, json, 'config.json');
  const m = model.moe;
  const moe: ModelShape['moe'] = m && {
    experts: withKnownKinds(m.experts),
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
export function parseRouting(json: unknown): RoutingStats {
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
      slotShare: withKnownKinds(l.slotShare),
      droppedSlots: l.droppedSlots,
      routerLogitMean: l.routerLogitMean,
      routerLogitStd: l.routerLogitStd,
      routingScoreVariance: l.routingScoreVariance,
    })),
    byPos: file.byPos,
    byPiece: file.byPiece,
  };
}
