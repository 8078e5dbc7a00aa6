/**
 * Co-activation of experts across adjacent MoE layers: for each expert i of layer l, the share
 * of the tokens that chose it which chose expert j in layer l+1 — P(j at l+1 | i at l), summed
 * over the seeds' counts — one heatmap per config and pair of layers. A diagonal-free, even
 * picture means the layers specialise independently; bright cells are expert "paths".
 */
import type { TopLevelSpec } from 'vega-lite';
import { runsOf } from '../load-runs.ts';
import { round, VL_SCHEMA, type FigureContext } from './common.ts';
import type { Figure, SkippedFigure } from './render.ts';

/** Builds the co-activation heatmaps. */
export function coActivationFigure(ctx: FigureContext): Figure | SkippedFigure {
  const name = 'co-activation';
  const title = 'Expert co-activation across adjacent layers';
  const { study } = ctx;
  const cells: Record<string, unknown>[] = [];
  for (const config of study.configs) {
    const runs = runsOf(study, config).filter((r) => r.routing.coActivation.length > 0);
    if (runs.length === 0) continue;
    for (const pair of runs[0].routing.coActivation) {
      const from = pair.fromLayer;
      // Seeds are summed as counts (same tokens per seed), then each row is normalised.
      const summed = pair.counts.map((row, i) => row.map((_, j) => runs.reduce((s, r) => s + (r.routing.coActivation.find((c) => c.fromLayer === from)?.counts[i]?.[j] ?? 0), 0)));
      const kindsFrom = runs[0].routing.layers.find((l) => l.layer === from)?.expertKinds ?? [];
      const kindsTo = runs[0].routing.layers.find((l) => l.layer === from + 1)?.expertKinds ?? [];
      summed.forEach((row, i) => {
        const total = row.reduce((a, b) => a + b, 0);
        row.forEach((count, j) =>
          cells.push({ config, pair: `layer ${from} → ${from + 1}`, from: i, to: j, fromLabel: label(i, kindsFrom[i]), toLabel: label(j, kindsTo[j]), share: total > 0 ? round((100 * count) / total) : 0 }),
        );
      });
    }
  }
  if (cells.length === 0) return { name, title, reason: 'no co-activation counts in routing.json (one MoE layer, or run folders written before they were recorded)' };
  const configs = study.configs.filter((c) => cells.some((x) => x.config === c));
  const panel = (config: string, i: number) => ({
    title: { text: config, fontSize: 12, anchor: 'start' },
    transform: [{ filter: { field: 'config', equal: config } }],
    facet: { column: { field: 'pair', type: 'nominal', title: null } },
    spec: {
      width: { step: 12 },
      height: { step: 12 },
      layer: [
        {
          name: `coact_cell_${i}`,
          mark: { type: 'rect' },
          encoding: {
            x: { field: 'toLabel', type: 'ordinal', title: 'expert in the next layer', sort: { field: 'to', op: 'min' }, axis: { labelAngle: -60, labelFontSize: 8 } },
            y: { field: 'fromLabel', type: 'ordinal', title: 'expert', sort: { field: 'from', op: 'min' }, axis: { labelFontSize: 8 } },
            color: { field: 'share', type: 'quantitative', title: 'next-layer share (%)', scale: { scheme: 'viridis', zero: true } },
            tooltip: [{ field: 'config' }, { field: 'pair' }, { field: 'fromLabel', title: 'expert' }, { field: 'toLabel', title: 'next' }, { field: 'share', title: '%' }],
          },
        },
      ],
    },
  });
  const spec = {
    $schema: VL_SCHEMA,
    description: `Expert co-activation across adjacent layers, study ${study.name}`,
    title: { text: 'Expert co-activation across adjacent MoE layers', subtitle: 'P(expert j in layer l+1 | expert i in layer l), top-K choices on held-out data, seeds pooled' },
    data: { values: cells },
    vconcat: configs.map(panel),
    spacing: 16,
    resolve: { scale: { color: 'shared' } },
    config: { axis: { grid: false } },
  } as unknown as TopLevelSpec;
  return {
    name,
    title,
    spec,
    caption:
      'For each pair of adjacent MoE layers, the share of the tokens routed to expert i (rows) that choose expert j (columns) in the next layer, from the top-K choices on held-out data with the seeds\' counts pooled; ' +
      'uniform rows mean the next layer\'s choice does not depend on this one.',
  };
}

/** `e3`, or `e9 copy` for a kind other than FFN. */
function label(e: number, kind: string | undefined): string {
  return kind && kind !== 'ffn' ? `e${e} ${kind}` : `e${e}`;
}
