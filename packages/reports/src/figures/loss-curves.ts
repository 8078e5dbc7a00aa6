/**
 * Loss curves per configuration: training cross-entropy against step (mean line, ±1 std band
 * over seeds) beside the validation loss at each evaluation.
 *
 * Cross-entropy, not the total loss: the total includes β·L_b, whose scale depends on τ and the
 * expert mix, so it would not compare configs on language modelling alone.
 */
import type { TopLevelSpec } from 'vega-lite';
import { runsOf } from '../load-runs.ts';
import { band, configColor, groupBy, VL_SCHEMA, type FigureContext } from './common.ts';
import type { Figure, SkippedFigure } from './render.ts';

/** Most points per config drawn for the training curve (keeps SVGs small on long runs). */
export const MAX_POINTS_PER_CURVE = 300;

/** Every k-th step so that at most `max` remain, always keeping the last. */
export function thinSteps(steps: number[], max: number): number[] {
  if (steps.length <= max) return steps;
  const k = Math.ceil(steps.length / max);
  const kept = steps.filter((_, i) => i % k === 0);
  if (kept[kept.length - 1] !== steps[steps.length - 1]) kept.push(steps[steps.length - 1]);
  return kept;
}

/** Builds the loss-curve figure. */
export function lossCurvesFigure(ctx: FigureContext): Figure | SkippedFigure {
  const name = 'loss-curves';
  const title = 'Loss curves';
  const { study } = ctx;
  const train: Record<string, unknown>[] = [];
  const val: Record<string, unknown>[] = [];
  for (const config of study.configs) {
    const runs = runsOf(study, config);
    const bySteps = groupBy(runs.flatMap((r) => r.metrics), (m) => m.step);
    const steps = thinSteps([...bySteps.keys()].sort((a, b) => a - b), MAX_POINTS_PER_CURVE);
    for (const step of steps) train.push({ config, step, ...band(bySteps.get(step)!.map((m) => m.ce)) });
    const evals = groupBy(runs.flatMap((r) => r.evals.filter((e) => e.split === 'val')), (e) => e.step);
    for (const step of [...evals.keys()].sort((a, b) => a - b)) val.push({ config, step, ...band(evals.get(step)!.map((e) => e.loss)) });
  }
  if (train.length === 0) return { name, title, reason: 'no run has rows in metrics.csv' };
  const color = configColor(study.configs);
  const x = { field: 'step', type: 'quantitative', title: 'optimizer step' };
  const trainPanel = {
    title: { text: 'Training cross-entropy', subtitle: 'mean over seeds, band ±1 std' },
    width: 340,
    height: 240,
    data: { values: train },
    layer: [
      // The band is faint through `fillOpacity`, not `opacity`: vega-lite copies a layer's
      // `opacity` into the merged legend, which would then show faint swatches.
      { name: 'train_mean', mark: { type: 'line', strokeWidth: 1.5 }, encoding: { x, y: { field: 'mean', type: 'quantitative', title: 'cross-entropy (nats)', scale: { zero: false } }, color: { ...color, legend: { symbolType: 'stroke', symbolStrokeWidth: 3 } } } },
      { name: 'train_band', mark: { type: 'area', fillOpacity: 0.2 }, encoding: { x, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' }, color } },
    ],
  };
  const valPanel = {
    title: { text: 'Validation loss', subtitle: 'at each evaluation; bars ±1 std over seeds' },
    width: 340,
    height: 240,
    data: { values: val },
    layer: [
      { name: 'val_err', mark: { type: 'rule' }, encoding: { x, y: { field: 'lo', type: 'quantitative', title: 'loss (nats)', scale: { zero: false } }, y2: { field: 'hi' }, color } },
      { name: 'val_mean', mark: { type: 'line', point: true }, encoding: { x, y: { field: 'mean', type: 'quantitative' }, color } },
    ],
  };
  const spec = {
    $schema: VL_SCHEMA,
    description: `Loss curves of study ${study.name}`,
    hconcat: val.length > 0 ? [trainPanel, valPanel] : [trainPanel],
    resolve: { scale: { color: 'shared' } },
  } as unknown as TopLevelSpec;
  return {
    name,
    title,
    spec,
    caption:
      'Training cross-entropy against optimizer step for each configuration (line: mean over seeds, band: ±1 std), ' +
      'and validation loss at each evaluation; curves that separate by more than their bands are real differences.',
  };
}
