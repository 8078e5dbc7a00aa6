/**
 * The run-folder format (docs/run-folder.md, format version 1) as TypeScript types, with
 * validators that turn untrusted JSON into those types or throw a `RunFormatError` whose
 * message is the reason a report prints when it skips the run.
 *
 * Validation is hand-written on purpose: the reasons must read like a sentence a researcher
 * understands ("summary.json: val.accuracy is not a number"), and reports must not depend on
 * the experiments package (which writes these files with its own schema library).
 */

/** The only format version this reader understands. */
export const FORMAT_VERSION = 1;

/** The expert kinds of docs/run-folder.md (same spelling as `@moepp/core`). */
export type ExpertKind = 'ffn' | 'zero' | 'copy' | 'constant';
export const EXPERT_KINDS: readonly ExpertKind[] = ['ffn', 'zero', 'copy', 'constant'];
export const ZC_KINDS: readonly ExpertKind[] = ['zero', 'copy', 'constant'];

/** POS classes written to `routing.json#byPos`, in the order the contract lists them. */
export const POS_CLASSES = [
  'noun', 'verb', 'adjective', 'adverb', 'pronoun', 'determiner', 'preposition',
  'conjunction', 'number', 'punctuation', 'other',
] as const;

/** Why a run (or a file of it) cannot be used; the message is shown to the reader as is. */
export class RunFormatError extends Error {
  override name = 'RunFormatError';
}

/** `results/<study>/study.json`: the expanded grid of a study. */
export interface StudyFile {
  formatVersion: number;
  study: string;
  description: string;
  /** Config name every other config is compared against (paired deltas). */
  baseline: string | null;
  /** The exact commands that produced the runs, quoted verbatim in report.md. */
  commands: string[];
  runs: { runId: string; config: string; seed: number; index: number }[];
}

/** Loss / perplexity / accuracy of one split. */
export interface SplitMetrics {
  loss: number;
  perplexity: number;
  accuracy: number;
}

/** `summary.json`, written last: its presence means the run is complete. */
export interface RunSummary {
  formatVersion: number;
  study: string;
  runId: string;
  configName: string;
  seed: number;
  status: string;
  params: { total: number; activePerToken: number; ffnExpertsPerToken: number };
  flopsPerToken: number | null;
  steps: number;
  tokens: number;
  wallSeconds: number;
  train: { tokensPerSecond: number; finalLoss: number };
  val: SplitMetrics;
  /** null when the run was evaluated on no test split. */
  test: SplitMetrics | null;
  eval: { tokensPerSecond: number | null };
  backend: string;
  threads: number | null;
}

/** The part of `config.json#model` (core's ModelConfig) that reports need. */
export interface ModelShape {
  dModel: number;
  nLayers: number;
  /** null for a dense model (`model.moe === null`). */
  moe: {
    experts: Record<ExpertKind, number>;
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
  expertKinds: ExpertKind[];
  /** Routing slots per expert after capacity (length E). */
  tokensPerExpert: number[];
  ffnExpertsPerToken: number;
  /** Shares of all N·K slots per expert kind. */
  slotShare: Record<ExpertKind, number>;
  droppedSlots: number;
  routerLogitMean: number;
  routerLogitStd: number;
  routingScoreVariance: number;
}

/** Per-group FFN experts per token (a POS class or a BPE piece position). */
export interface GroupRouting {
  tokens: number;
  ffnExpertsPerToken: number;
}

/** `routing.json`: held-out routing statistics of the final model. */
export interface RoutingStats {
  formatVersion: number;
  /** Kinds of the first MoE layer's experts; `layers[i].expertKinds` where they vary by depth. */
  expertKinds: ExpertKind[];
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

// ---------------------------------------------------------------------------------------------
// Validators. Each takes parsed JSON and the file name (for the message) and returns the type.

type Json = unknown;

function isObject(v: Json): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function field(obj: Record<string, Json>, path: string, file: string): Json {
  let cur: Json = obj;
  for (const key of path.split('.')) {
    if (!isObject(cur) || !(key in cur)) throw new RunFormatError(`${file}: missing field ${path}`);
    cur = cur[key];
  }
  return cur;
}

function num(obj: Record<string, Json>, path: string, file: string): number {
  const v = field(obj, path, file);
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new RunFormatError(`${file}: ${path} is not a finite number (${JSON.stringify(v)})`);
  }
  return v;
}

function numOrNull(obj: Record<string, Json>, path: string, file: string): number | null {
  try {
    const v = field(obj, path, file);
    return typeof v === 'number' && Number.isFinite(v) ? v : null;
  } catch {
    return null;
  }
}

function str(obj: Record<string, Json>, path: string, file: string): string {
  const v = field(obj, path, file);
  if (typeof v !== 'string') throw new RunFormatError(`${file}: ${path} is not a string`);
  return v;
}

/** Throws unless `formatVersion` is exactly the version this reader understands. */
export function checkFormatVersion(json: Json, file: string): void {
  if (!isObject(json)) throw new RunFormatError(`${file}: not a JSON object`);
  const v = json.formatVersion;
  if (v === undefined) {
    throw new RunFormatError(`older format: ${file} has no formatVersion (this report reads ${FORMAT_VERSION})`);
  }
  if (v !== FORMAT_VERSION) {
    const age = typeof v === 'number' && v > FORMAT_VERSION ? 'newer' : 'older';
    throw new RunFormatError(`${age} format: ${file} has formatVersion ${JSON.stringify(v)} (this report reads ${FORMAT_VERSION})`);
  }
}

/** Parses `study.json`. */
export function parseStudyFile(json: Json): StudyFile {
  const file = 'study.json';
  checkFormatVersion(json, file);
  const o = json as Record<string, Json>;
  const runsJson = field(o, 'runs', file);
  if (!Array.isArray(runsJson)) throw new RunFormatError(`${file}: runs is not an array`);
  const runs = runsJson.map((r, i) => {
    if (!isObject(r)) throw new RunFormatError(`${file}: runs[${i}] is not an object`);
    return {
      runId: str(r, 'runId', file),
      config: str(r, 'config', file),
      seed: num(r, 'seed', file),
      index: numOrNull(r, 'index', file) ?? i,
    };
  });
  const commands = Array.isArray(o.commands) ? o.commands.filter((c): c is string => typeof c === 'string') : [];
  return {
    formatVersion: FORMAT_VERSION,
    study: str(o, 'study', file),
    description: typeof o.description === 'string' ? o.description : '',
    baseline: typeof o.baseline === 'string' ? o.baseline : null,
    commands,
    runs,
  };
}

function splitMetrics(o: Record<string, Json>, split: string, file: string): SplitMetrics {
  return {
    loss: num(o, `${split}.loss`, file),
    perplexity: num(o, `${split}.perplexity`, file),
    accuracy: num(o, `${split}.accuracy`, file),
  };
}

/** Parses `summary.json`; a run whose status is not `complete` is rejected as unfinished. */
export function parseSummary(json: Json): RunSummary {
  const file = 'summary.json';
  checkFormatVersion(json, file);
  const o = json as Record<string, Json>;
  const status = str(o, 'status', file);
  if (status !== 'complete') throw new RunFormatError(`unfinished: summary.json status is '${status}'`);
  return {
    formatVersion: FORMAT_VERSION,
    study: str(o, 'study', file),
    runId: str(o, 'runId', file),
    configName: str(o, 'configName', file),
    seed: num(o, 'seed', file),
    status,
    params: {
      total: num(o, 'params.total', file),
      activePerToken: num(o, 'params.activePerToken', file),
      ffnExpertsPerToken: num(o, 'params.ffnExpertsPerToken', file),
    },
    flopsPerToken: numOrNull(o, 'flopsPerToken', file),
    steps: num(o, 'steps', file),
    tokens: num(o, 'tokens', file),
    wallSeconds: num(o, 'wallSeconds', file),
    train: { tokensPerSecond: num(o, 'train.tokensPerSecond', file), finalLoss: num(o, 'train.finalLoss', file) },
    val: splitMetrics(o, 'val', file),
    test: isObject(o.test) ? splitMetrics(o, 'test', file) : null,
    eval: { tokensPerSecond: numOrNull(o, 'eval.tokensPerSecond', file) },
    backend: typeof o.backend === 'string' ? o.backend : 'unknown',
    threads: numOrNull(o, 'threads', file),
  };
}

/** Reads the model shape out of `config.json` (core's ModelConfig under `model`). */
export function parseRunConfig(json: Json): { configName: string; seed: number; shape: ModelShape } {
  const file = 'config.json';
  checkFormatVersion(json, file);
  const o = json as Record<string, Json>;
  const model = field(o, 'model', file);
  if (!isObject(model)) throw new RunFormatError(`${file}: model is not an object`);
  let moe: ModelShape['moe'] = null;
  if (model.moe !== null && model.moe !== undefined) {
    const m = model.moe;
    if (!isObject(m)) throw new RunFormatError(`${file}: model.moe is not an object`);
    const e = field(m, 'experts', file);
    if (!isObject(e)) throw new RunFormatError(`${file}: model.moe.experts is not an object`);
    const count = (k: ExpertKind): number => (typeof e[k] === 'number' ? (e[k] as number) : 0);
    moe = {
      experts: { ffn: count('ffn'), zero: count('zero'), copy: count('copy'), constant: count('constant') },
      topK: num(m, 'topK', file),
      ffnHidden: num(m, 'ffnHidden', file),
      tau: num(m, 'tau', file),
      gatingResidual: field(m, 'gatingResidual', file) === true,
      gating: typeof m.gating === 'string' ? m.gating : 'reference',
      capacityFactor: numOrNull(m, 'capacityFactor', file),
    };
  }
  return {
    configName: str(o, 'configName', file),
    seed: num(o, 'seed', file),
    shape: { dModel: num(model, 'dModel', file), nLayers: num(model, 'nLayers', file), moe },
  };
}

function kindRecord(o: Json, path: string, file: string): Record<ExpertKind, number> {
  if (!isObject(o)) throw new RunFormatError(`${file}: ${path} is not an object`);
  const out = { ffn: 0, zero: 0, copy: 0, constant: 0 };
  for (const k of EXPERT_KINDS) {
    const v = o[k];
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v))) {
      throw new RunFormatError(`${file}: ${path}.${k} is not a finite number`);
    }
    out[k] = (v as number | undefined) ?? 0;
  }
  return out;
}

function groupRecord(o: Json, path: string, file: string): Record<string, GroupRouting> {
  if (o === undefined) return {};
  if (!isObject(o)) throw new RunFormatError(`${file}: ${path} is not an object`);
  const out: Record<string, GroupRouting> = {};
  for (const [k, v] of Object.entries(o)) {
    if (!isObject(v)) throw new RunFormatError(`${file}: ${path}.${k} is not an object`);
    out[k] = { tokens: num(v, 'tokens', file), ffnExpertsPerToken: num(v, 'ffnExpertsPerToken', file) };
  }
  return out;
}

const isKindList = (v: Json): v is ExpertKind[] =>
  Array.isArray(v) && v.every((k) => (EXPERT_KINDS as readonly unknown[]).includes(k));

/**
 * Parses `routing.json`. `expertKinds` is either one list for every layer (docs/run-folder.md)
 * or one list per MoE layer (what the trainer writes, since experts may vary with depth).
 */
export function parseRouting(json: Json): RoutingStats {
  const file = 'routing.json';
  checkFormatVersion(json, file);
  const o = json as Record<string, Json>;
  const kindsJson = field(o, 'expertKinds', file);
  const layersJson = field(o, 'layers', file);
  if (!Array.isArray(layersJson)) throw new RunFormatError(`${file}: layers is not an array`);
  let perLayer: ExpertKind[][];
  if (isKindList(kindsJson)) perLayer = layersJson.map(() => kindsJson);
  else if (Array.isArray(kindsJson) && kindsJson.every(isKindList) && kindsJson.length === layersJson.length) perLayer = kindsJson;
  else {
    throw new RunFormatError(
      `${file}: expertKinds is neither a list of ${EXPERT_KINDS.join('/')} nor one such list per layer (${layersJson.length} layers)`,
    );
  }
  const layers = layersJson.map((l, i): RoutingLayer => {
    if (!isObject(l)) throw new RunFormatError(`${file}: layers[${i}] is not an object`);
    const kinds = perLayer[i];
    const tpe = l.tokensPerExpert;
    if (!Array.isArray(tpe) || tpe.length !== kinds.length || !tpe.every((x) => typeof x === 'number')) {
      throw new RunFormatError(`${file}: layers[${i}].tokensPerExpert is not ${kinds.length} numbers`);
    }
    return {
      layer: num(l, 'layer', file),
      block: numOrNull(l, 'block', file) ?? num(l, 'layer', file),
      expertKinds: kinds,
      tokensPerExpert: tpe as number[],
      ffnExpertsPerToken: num(l, 'ffnExpertsPerToken', file),
      slotShare: kindRecord(l.slotShare, `layers[${i}].slotShare`, file),
      droppedSlots: numOrNull(l, 'droppedSlots', file) ?? 0,
      routerLogitMean: num(l, 'routerLogitMean', file),
      routerLogitStd: num(l, 'routerLogitStd', file),
      routingScoreVariance: num(l, 'routingScoreVariance', file),
    };
  });
  return {
    formatVersion: FORMAT_VERSION,
    expertKinds: isKindList(kindsJson) ? kindsJson : (perLayer[0] ?? []),
    layers,
    byPos: groupRecord(o.byPos, 'byPos', file),
    byPiece: groupRecord(o.byPiece, 'byPiece', file),
  };
}
