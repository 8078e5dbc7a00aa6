/**
 * Expert load per seed: the heatmap of expert-load.ts without the mean over seeds, so that a
 * seed whose router collapsed onto a few experts is not averaged away. One panel per config,
 * one row per (layer, seed).
 */
import type { TopLevelSpec } from 'vega-lite';
import { runsOf } from '../load-runs.ts';
import { round, VL_SCHEMA, type FigureContext } from './common.ts';
import { expertLabel } from './expert-load.ts';
import type { Figure, SkippedFigure } from './render.ts';

/** Builds the per-seed expert-load heatmap. */
export function expertLoadPerSeedFigure(ctx: FigureContext): Figure | SkippedFigure {
  const name = 'expert-load-per-seed';
  const title = 'Expert load per layer and seed';
  const { study } = ctx;
  const cells: Record<string, unknown>[] = [];
  for (const config of study.configs) {
    for (const run of runsOf(study, config)) {
      for (const l of run.routing.layers) {
        const total = l.tokensPerExpert.reduce((a, b) => a + b, 0);
        l.expertKinds.forEach((kind, e) => {
          const zc = run.expertCostClasses[kind] === 'zero-computation';
          cells.push({ config, row: `L${l.layer} s${run.seed}`, order: l.layer * 1000 + run.seed, expert: e, label: expertLabel(e, kind, zc), share: total > 0 ? round((100 * l.tokensPerExpert[e]) / total) : 0 });
        });
      }
    }
  }
  if (cells.length === 0) return { name, title, reason: 'no routing statistics in routing.json' };
  const configs = study.configs.filter((c) => cells.some((x) => x.config === c));
  const panel = (config: string, i: number) => ({
    title: { text: config, fontSize: 12, anchor: 'start' },
    transform: [{ filter: { field: 'config', equal: config } }],
    width: { step: 22 },
    height: { step: 12 },
    mark: { type: 'rect' },
    name: `seed_load_cell_${i}`,
    encoding: {
      x: { field: 'label', type: 'ordinal', title: 'expert', sort: { field: 'expert', op: 'min' }, axis: { labelAngle: -45 } },
      y: { field: 'row', type: 'ordinal', title: 'MoE layer, seed', sort: { field: 'order', op: 'min' }, axis: { labelFontSize: 8 } },
      color: { field: 'share', type: 'quantitative', title: 'share of slots (%)', scale: { scheme: 'viridis', zero: true } },
      tooltip: [{ field: 'config' }, { field: 'row', title: 'layer, seed' }, { field: 'label', title: 'expert' }, { field: 'share', title: 'share (%)' }],
    },
  });
  const spec = {
    $schema: VL_SCHEMA,
    description: `Expert load per layer and seed, study ${study.name}`,
    title: { text: 'Expert load per MoE layer and seed', subtitle: 'share of routing slots on held-out data, each seed on its own row' },
    data: { values: cells },
    vconcat: configs.map(panel),
    spacing: 18,
    resolve: { scale: { color: 'shared' } },
    config: { axis: { grid: false } },
  } as unknown as TopLevelSpec;
  return {
    name,
    title,
    spec,
    caption: 'The expert-load heatmap before averaging over seeds: each row is one MoE layer of one seed, so a seed whose routing collapsed stands out instead of being averaged away.',
  };
}
