/**
 * Benchmark folders `results/bench/<YYYYMMDD-HHMMSS>/layer.csv` (docs/run-folder.md), and the
 * lookup of the expert-forward measurement that matches a trained config (paper Table 3).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { csvNumber, parseCsv } from '@moepp/run-format';
import type { ModelShape } from './run-folder-format.ts';
import type { SkippedRun } from './load-runs.ts';

/** One row of layer.csv; numbers are NaN where the cell is empty (e.g. `tau` of a MoE row). */
export interface BenchRow {
  measure: string;
  routing: string;
  width: string;
  dModel: number;
  dFfn: number;
  experts: number;
  ffnExperts: number;
  zcExperts: number;
  tau: number;
  tokens: number;
  impl: string;
  medianMs: number;
  p20Ms: number;
  p80Ms: number;
  reps: number;
  tokensPerS: number;
  /** t_MoE / t_MoE++ − 1 as a fraction (0.25 = 25 %); NaN on MoE rows. */
  increase: number;
  theoreticalIncrease: number;
  delivered: number;
}

/** One benchmark folder. */
export interface BenchFolder {
  /** Folder name, `YYYYMMDD-HHMMSS` UTC; sorts chronologically as a string. */
  timestamp: string;
  dir: string;
  rows: BenchRow[];
}

/** All readable benchmark folders, newest first, and the unreadable ones with a reason. */
export interface LoadedBench {
  folders: BenchFolder[];
  skipped: SkippedRun[];
}

const TIMESTAMP = /^\d{8}-\d{6}$/;

function parseRow(r: Record<string, string>): BenchRow {
  const f = 'layer.csv';
  const n = (c: string): number => (c in r ? csvNumber(r, c, f) : NaN);
  return {
    measure: r.measure ?? '',
    routing: r.routing ?? '',
    width: r.width ?? '',
    dModel: n('d_model'),
    dFfn: n('d_ffn'),
    experts: n('experts'),
    ffnExperts: n('ffn_experts'),
    zcExperts: n('zc_experts'),
    tau: n('tau'),
    tokens: n('tokens'),
    impl: r.impl ?? '',
    medianMs: n('median_ms'),
    p20Ms: n('p20_ms'),
    p80Ms: n('p80_ms'),
    reps: n('reps'),
    tokensPerS: n('tokens_per_s'),
    increase: n('increase'),
    theoreticalIncrease: n('theoretical_increase'),
    delivered: n('delivered'),
  };
}

/**
 * Reads every `results/bench/<timestamp>/layer.csv`. A missing bench folder is an empty result,
 * not an error: studies can be reported before anything was benchmarked.
 */
export function loadBenchmarks(resultsDir: string): LoadedBench {
  const benchDir = join(resultsDir, 'bench');
  const folders: BenchFolder[] = [];
  const skipped: SkippedRun[] = [];
  if (!existsSync(benchDir)) return { folders, skipped };
  const names = readdirSync(benchDir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && !d.name.startsWith('.'))
    .map((d) => d.name)
    .sort()
    .reverse();
  for (const name of names) {
    const dir = join(benchDir, name);
    if (!TIMESTAMP.test(name)) {
      skipped.push({ runId: `bench/${name}`, reason: 'folder name is not a YYYYMMDD-HHMMSS timestamp' });
      continue;
    }
    const csv = join(dir, 'layer.csv');
    if (!existsSync(csv)) {
      skipped.push({ runId: `bench/${name}`, reason: 'unfinished: no layer.csv' });
      continue;
    }
    try {
      folders.push({ timestamp: name, dir, rows: parseCsv(readFileSync(csv, 'utf8'), 'layer.csv').rows.map(parseRow) });
    } catch (e) {
      skipped.push({ runId: `bench/${name}`, reason: `corrupt: ${(e as Error).message}` });
    }
  }
  return { folders, skipped };
}

/** A benchmark measurement matched to a config. */
export interface BenchMatch {
  timestamp: string;
  row: BenchRow;
}

const OWN_IMPLS = new Set(['moe', 'moepp']);

function zcCount(shape: ModelShape): number {
  return shape.moe?.zcExperts ?? 0;
}

/** Whether a layer.csv row measures the layer shape of `shape`, ignoring τ. */
function sameLayerShape(row: BenchRow, shape: ModelShape): boolean {
  const moe = shape.moe;
  return (
    moe !== null &&
    row.measure === 'expert_forward' &&
    OWN_IMPLS.has(row.impl) &&
    row.dModel === shape.dModel &&
    row.dFfn === moe.ffnHidden &&
    row.ffnExperts === moe.ffnExperts &&
    row.zcExperts === zcCount(shape)
  );
}

/**
 * Picks one row among equivalent measurements: the most tokens (closest to real batch sizes),
 * then a `balanced` routing if present, then the first — so the choice is deterministic.
 */
function preferred(rows: BenchRow[]): BenchRow | undefined {
  return [...rows].sort(
    (a, b) => b.tokens - a.tokens || Number(b.routing === 'balanced') - Number(a.routing === 'balanced') || a.routing.localeCompare(b.routing),
  )[0];
}

/**
 * The expert-forward measurement of the newest benchmark that matches `shape`: same width,
 * FFN hidden width, FFN and ZC expert counts, and (for MoE++) the same τ. Torch peer rows are
 * ignored: the table reports this implementation.
 */
export function findExpertForward(bench: LoadedBench, shape: ModelShape): BenchMatch | null {
  if (shape.moe === null) return null;
  const zc = zcCount(shape);
  for (const folder of bench.folders) {
    const rows = folder.rows.filter(
      (r) => sameLayerShape(r, shape) && r.impl === (zc > 0 ? 'moepp' : 'moe') && (zc === 0 || Math.abs(r.tau - shape.moe!.tau) < 1e-9),
    );
    const row = preferred(rows);
    if (row) return { timestamp: folder.timestamp, row };
  }
  return null;
}

/**
 * Throughput increase against τ for a layer shape: every MoE++ τ measured in the newest
 * benchmark that has this shape, at one token count (the largest measured).
 */
export function tauCurve(bench: LoadedBench, shape: ModelShape): { timestamp: string; rows: BenchRow[] } | null {
  if (shape.moe === null || zcCount(shape) === 0) return null;
  for (const folder of bench.folders) {
    const rows = folder.rows.filter((r) => sameLayerShape(r, shape) && r.impl === 'moepp' && Number.isFinite(r.tau));
    if (rows.length === 0) continue;
    const best = preferred(rows)!;
    const curve = rows.filter((r) => r.tokens === best.tokens && r.routing === best.routing).sort((a, b) => a.tau - b.tau);
    return { timestamp: folder.timestamp, rows: curve };
  }
  return null;
}
