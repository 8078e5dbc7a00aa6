/**
 * Expert load heatmap: for every MoE layer × expert, the share of all routing slots that the
 * expert received on held-out data (mean over seeds), one panel per config. ZC experts are
 * outlined and named by kind on the axis, so the eye can separate "cheap" from FFN load.
 */
import type { TopLevelSpec } from 'vega-lite';
import { runsOf } from '../load-runs.ts';
import { summarize } from '../statistics.ts';
import { round, VL_SCHEMA, type FigureContext } from './common.ts';
import type { Figure, SkippedFigure } from './render.ts';

/** Axis label of expert `e`: its index, plus its kind for ZC experts ('e9 copy'). */
export function expertLabel(e: number, kind: string, zeroComputation: boolean): string {
  return zeroComputation ? `e${e} ${kind}` : `e${e}`;
}

/** Builds the expert-load heatmap. */
export function expertLoadFigure(ctx: FigureContext): Figure | SkippedFigure {
  const name = 'expert-load';
  const title = 'Expert load per layer';
  const { study } = ctx;
  const cells: Record<string, unknown>[] = [];
  const layout = (r: (typeof study.runs)[number]): string => r.routing.layers.map((l) => l.expertKinds.join()).join('|');
  for (const config of study.configs) {
    const runs = runsOf(study, config);
    // Runs of one config share the layout; a run that disagrees would mix experts, so it is left out.
    const same = runs.filter((r) => layout(r) === layout(runs[0]));
    for (const first of runs[0].routing.layers) {
      const layer = first.layer;
      first.expertKinds.forEach((kind, e) => {
        const shares = same.map((r) => {
          const l = r.routing.layers.find((x) => x.layer === layer);
          if (!l) return NaN;
          const total = l.tokensPerExpert.reduce((a, b) => a + b, 0);
          return total > 0 ? l.tokensPerExpert[e] / total : NaN;
        });
        const s = summarize(shares);
        const zc = runs[0].expertCostClasses[kind] === 'zero-computation';
        cells.push({ config, layer, expert: e, label: expertLabel(e, kind, zc), kind, zc, share: round(s.mean * 100), n: s.n });
      });
    }
  }
  if (cells.length === 0) return { name, title, reason: 'no routing statistics in routing.json' };
  const x = { field: 'label', type: 'ordinal', title: 'expert (ZC experts outlined)', sort: { field: 'expert', op: 'min' }, axis: { labelAngle: -45 } };
  const y = { field: 'layer', type: 'ordinal', title: 'MoE layer' };
  const configs = study.configs.filter((c) => cells.some((x) => x.config === c));
  // One panel per config (vconcat, not facet): each keeps its own expert axis and height, so a
  // config with few experts leaves no gap. Marks are named `load_cell_<i>` / `zc_outline_<i>`.
  const panel = (config: string, i: number) => ({
    title: { text: config, fontSize: 12, anchor: 'start' },
    transform: [{ filter: { field: 'config', equal: config } }],
    width: { step: 26 },
    height: { step: 22 },
    layer: [
      {
        name: `load_cell_${i}`,
        mark: { type: 'rect' },
        encoding: {
          x,
          y,
          color: { field: 'share', type: 'quantitative', title: 'share of slots (%)', scale: { scheme: 'viridis', zero: true } },
          tooltip: [{ field: 'config' }, { field: 'layer' }, { field: 'label', title: 'expert' }, { field: 'share', title: 'share (%)' }],
        },
      },
      {
        name: `zc_outline_${i}`,
        transform: [{ filter: 'datum.zc' }],
        mark: { type: 'rect', fill: null, stroke: '#d62728', strokeWidth: 2 },
        encoding: { x, y },
      },
    ],
  });
  const spec = {
    $schema: VL_SCHEMA,
    description: `Expert load heatmap, study ${study.name}`,
    title: { text: 'Expert load per MoE layer', subtitle: 'share of routing slots on held-out data, mean over seeds; ZC experts outlined' },
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
    caption:
      'Share of all routing slots (top-K, held-out data) that each expert receives in each MoE layer, mean over seeds; ' +
      'zero-computation experts are outlined in red and named by kind — balanced FFN load shows as an even colour across FFN columns.',
  };
}
