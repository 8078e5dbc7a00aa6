/**
 * Studies: YAML files under `experiments/` naming a base preset (`experiments/presets/<name>.yaml`),
 * seeds, a baseline, named configurations (dotted-path overrides of the preset) and an optional
 * grid that expands a configuration over values. Expansion is deterministic: runs are ordered by
 * configuration (file order, grid values in order) then seed, and that order defines `--index`.
 *
 * Every error names the file and the key, and says how to fix it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError, resolveModelConfig, type ModelConfigInput } from '@moepp/core';
import { dataConfigSchema, FORMAT_VERSION, initConfigSchema, trainingConfigSchema } from '@moepp/run-format';
import { partialRunSchema, type RunConfig } from './run-config.ts';

export class StudyConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StudyConfigError';
  }
}

const studySchema = z.strictObject({
  description: z.string().default(''),
  /** Preset file stem under experiments/presets/. */
  base: z.string().min(1),
  seeds: z.array(z.number().int().nonnegative()).min(1),
  /** Configuration the paired deltas in reports are taken against. */
  baseline: z.string().min(1),
  /** name -> { 'dotted.path': value } overrides of the preset. */
  configs: z.record(z.string().regex(/^[a-z0-9][a-z0-9._-]*$/i, 'use letters, digits, ".", "_" or "-"'), z.record(z.string(), z.unknown())),
  /** name -> { 'dotted.path': [values] }: replaces that configuration by one per combination. */
  grid: z.record(z.string(), z.record(z.string(), z.array(z.unknown()).min(1))).default({}),
});
export type Study = z.infer<typeof studySchema> & { name: string; file: string };

export interface PlannedRun {
  index: number;
  runId: string;
  configName: string;
  seed: number;
  config: RunConfig;
}

/** Reads and validates a study file. */
export function loadStudy(file: string): Study {
  const raw = readYamlFile(file);
  const parsed = studySchema.safeParse(raw);
  if (!parsed.success) throw new StudyConfigError(formatZodError(file, parsed.error));
  const name = basename(file).replace(/\.ya?ml$/, '');
  const study = { ...parsed.data, name, file };
  for (const configName of Object.keys(study.grid)) {
    if (!(configName in study.configs)) throw new StudyConfigError(`${file}: grid.${configName}: no configuration named '${configName}' under configs (have: ${Object.keys(study.configs).join(', ')})`);
  }
  return study;
}

/** Expands a study into its runs, each with a fully resolved, validated config. */
export function planStudy(study: Study, overrides: string[] = []): PlannedRun[] {
  const presetFile = join(dirname(study.file), 'presets', `${study.base}.yaml`);
  if (!existsSync(presetFile)) throw new StudyConfigError(`${study.file}: base: no preset '${study.base}' (expected ${presetFile})`);
  const preset = readPreset(presetFile);
  const names = expandConfigNames(study);
  const known = names.map((n) => n.name);
  if (!known.some((n) => n === study.baseline || n.startsWith(`${study.baseline}-`))) {
    throw new StudyConfigError(`${study.file}: baseline: '${study.baseline}' is not one of the configurations (${known.join(', ')})`);
  }
  const runs: PlannedRun[] = [];
  for (const { name, overrides: configOverrides } of names) {
    for (const seed of study.seeds) {
      const runId = `${name}--seed${seed}`;
      let merged = structuredClone(preset);
      for (const [path, value] of Object.entries(configOverrides)) merged = setPath(merged, path, value, `${study.file}: configs.${name}`);
      for (const o of overrides) {
        const { path, value } = parseOverride(o);
        merged = setPath(merged, path, value, `--set ${o}`);
      }
      runs.push({ index: runs.length, runId, configName: name, seed, config: resolveRunConfig(merged, { study: study.name, runId, configName: name, seed }, `${study.file} (configuration '${name}')`) });
    }
  }
  return runs;
}

/** `key=value` with the value parsed as YAML, so `--set training.steps=50` sets a number. */
export function parseOverride(text: string): { path: string; value: unknown } {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new StudyConfigError(`--set ${text}: expected key=value, e.g. --set training.steps=50`);
  const path = text.slice(0, eq).trim();
  const valueText = text.slice(eq + 1);
  let value: unknown;
  try {
    value = parseYaml(valueText);
  } catch (e) {
    throw new StudyConfigError(`--set ${text}: the value is not valid YAML (${(e as Error).message})`);
  }
  return { path, value };
}

type Tree = Record<string, unknown>;

function readYamlFile(file: string): unknown {
  if (!existsSync(file)) throw new StudyConfigError(`${file}: file not found; studies live in experiments/ (e.g. experiments/default.yaml)`);
  try {
    return parseYaml(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new StudyConfigError(`${file}: not valid YAML: ${(e as Error).message}`);
  }
}

function readPreset(file: string): Tree {
  const raw = readYamlFile(file);
  const parsed = partialRunSchema.safeParse(raw);
  if (!parsed.success) throw new StudyConfigError(formatZodError(file, parsed.error));
  return parsed.data as Tree;
}

function expandConfigNames(study: Study): { name: string; overrides: Record<string, unknown> }[] {
  const out: { name: string; overrides: Record<string, unknown> }[] = [];
  for (const [name, overrides] of Object.entries(study.configs)) {
    const grid = study.grid[name];
    if (!grid) {
      out.push({ name, overrides });
      continue;
    }
    let combos: { suffix: string; values: Record<string, unknown> }[] = [{ suffix: '', values: {} }];
    for (const [path, values] of Object.entries(grid)) {
      const short = path.split('.').at(-1) as string;
      combos = combos.flatMap((c) => values.map((v) => ({ suffix: `${c.suffix}-${short}${formatValue(v)}`, values: { ...c.values, [path]: v } })));
    }
    for (const c of combos) out.push({ name: `${name}${c.suffix}`, overrides: { ...overrides, ...c.values } });
  }
  return out;
}

function formatValue(v: unknown): string {
  return typeof v === 'object' ? JSON.stringify(v).replace(/[^a-z0-9.]+/gi, '') : String(v);
}

/** Sets a dotted path inside a plain tree, creating objects on the way; `where` names the source for errors. */
function setPath(tree: Tree, path: string, value: unknown, where: string): Tree {
  const keys = path.split('.');
  if (!['model', 'data', 'training', 'init'].includes(keys[0]) || keys.length < 2) {
    throw new StudyConfigError(`${where}: '${path}' must start with model., data., training. or init. (e.g. training.steps)`);
  }
  const out = structuredClone(tree);
  let node = out;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (next === null || next === undefined) node[key] = {};
    else if (typeof next !== 'object' || Array.isArray(next)) throw new StudyConfigError(`${where}: '${path}' goes through '${key}', which is not an object`);
    node = node[key] as Tree;
  }
  node[keys.at(-1) as string] = value;
  return out;
}

/** Validates a merged tree into a full run config. */
export function resolveRunConfig(tree: Tree, identity: { study: string; runId: string; configName: string; seed: number }, where: string): RunConfig {
  const data = dataConfigSchema.safeParse(tree.data ?? {});
  if (!data.success) throw new StudyConfigError(formatZodError(where, data.error, 'data'));
  const training = trainingConfigSchema.safeParse(tree.training ?? {});
  if (!training.success) throw new StudyConfigError(formatZodError(where, training.error, 'training'));
  const modelInput = { ...(tree.model as Tree | undefined) } as ModelConfigInput;
  if (modelInput.vocabSize !== undefined && modelInput.vocabSize !== data.data.vocabSize) {
    throw new StudyConfigError(`${where}: model.vocabSize ${modelInput.vocabSize} differs from data.vocabSize ${data.data.vocabSize}; set only data.vocabSize (the model takes it from the tokenizer)`);
  }
  let model: ReturnType<typeof resolveModelConfig>;
  try {
    model = resolveModelConfig({ ...modelInput, vocabSize: data.data.vocabSize, maxSeqLen: Math.max(modelInput.maxSeqLen ?? 0, training.data.seqLen) });
  } catch (e) {
    if (e instanceof ConfigError) throw new StudyConfigError(`${where}: model.${e.path}: ${e.message.replace(/^invalid config at '[^']*': /, '')}`);
    throw e;
  }
  let init: RunConfig['init'];
  if (tree.init !== undefined) {
    const parsed = initConfigSchema.safeParse(tree.init);
    if (!parsed.success) throw new StudyConfigError(formatZodError(where, parsed.error, 'init'));
    if (model.moe === null) throw new StudyConfigError(`${where}: init.from upcycles a dense run into an MoE model, but this config is dense (model.moe: null); drop init.from or give the model experts`);
    init = parsed.data;
  }
  // `init` only when set, so the config.json of every other run is what it was before the key.
  return { formatVersion: FORMAT_VERSION, ...identity, model, data: data.data, training: training.data, ...(init ? { init } : {}) };
}

function formatZodError(file: string, error: z.ZodError, prefix?: string): string {
  return error.issues
    .map((issue) => {
      const path = [prefix, ...issue.path.map(String)].filter(Boolean).join('.');
      const unknownKeys = issue.code === 'unrecognized_keys' ? ` ${issue.keys.map((k) => `'${[path, k].filter(Boolean).join('.')}'`).join(', ')}` : '';
      return `${file}: ${path || '(top level)'}: ${issue.message}${unknownKeys}`;
    })
    .join('\n');
}
