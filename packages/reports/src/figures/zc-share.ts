/**
 * Share of routing slots taken by each kind of zero-computation expert, per MoE layer and
 * config: where in depth tokens are discarded (zero), skip the layer (copy) or are replaced by
 * a learned constant.
 */
import type { TopLevelSpec } from 'vega-lite';
import { runsOf } from '../load-runs.ts';
import { zeroComputationKinds } from '../run-folder-format.ts';
import { summarize } from '../statistics.ts';
import { round, VL_SCHEMA, type FigureContext } from './common.ts';
import type { Figure, SkippedFigure } from './render.ts';

/**
 * Colours of the zero-computation kinds, by their position among the ZC kinds of core's registry:
 * a kind reads the same in every study trained with the same registry.
 */
const ZC_PALETTE = ['#4c78a8', '#f58518', '#54a24b', '#e45756', '#72b7b2', '#eeca3b', '#b279a2', '#ff9da6'];

/** Builds the ZC-share figure. */
export function zcShareFigure(ctx: FigureContext): Figure | SkippedFigure {
  const name = 'zc-share';
  const title = 'ZC share per kind per layer';
  const { study, rows } = ctx;
  const configs = rows.filter((r) => r.tau !== null).map((r) => r.config);
  if (configs.length === 0) return { name, title, reason: 'no configuration has zero-computation experts' };
  // The ZC kinds of the study's registries, in registration order (the same list for every run of
  // one code version).
  const registered = [...new Set(study.runs.flatMap((r) => zeroComputationKinds(r.expertCostClasses)))];
  const bars: Record<string, unknown>[] = [];
  for (const config of configs) {
    const runs = runsOf(study, config);
    const layers = [...new Set(runs.flatMap((r) => r.routing.layers.map((l) => l.layer)))].sort((a, b) => a - b);
    for (const layer of layers) {
      for (const kind of registered) {
        const s = summarize(runs.map((r) => r.routing.layers.find((l) => l.layer === layer)?.slotShare[kind] ?? NaN));
        if (s.n > 0 && runs.some((r) => r.routing.layers.some((l) => l.expertKinds.includes(kind)))) bars.push({ config, layer, kind, share: round(s.mean * 100), n: s.n });
      }
    }
  }
  const kinds = registered.filter((k) => bars.some((b) => b.kind === k));
  const colour = (k: string) => ZC_PALETTE[registered.indexOf(k) % ZC_PALETTE.length];
  const spec = {
    $schema: VL_SCHEMA,
    description: `ZC expert share per kind and layer, study ${study.name}`,
    title: { text: 'Zero-computation share per kind and layer', subtitle: 'share of all N·K routing slots, mean over seeds; the rest go to FFN experts' },
    data: { values: bars },
    facet: { column: { field: 'config', type: 'nominal', title: null, sort: configs } },
    spec: {
      width: { step: 28 },
      height: 220,
      layer: [
        {
          name: 'zc_bar',
          mark: { type: 'bar' },
          encoding: {
            x: { field: 'layer', type: 'ordinal', title: 'MoE layer', axis: { labelAngle: 0 } },
            y: { field: 'share', type: 'quantitative', stack: 'zero', title: 'share of all routing slots (%)' },
            color: { field: 'kind', type: 'nominal', title: 'ZC kind', scale: { domain: kinds, range: kinds.map(colour) }, sort: kinds },
            order: { field: 'kind', sort: 'ascending' },
            tooltip: [{ field: 'config' }, { field: 'layer' }, { field: 'kind' }, { field: 'share', title: 'share (%)' }],
          },
        },
      ],
    },
  } as unknown as TopLevelSpec;
  return {
    name,
    title,
    spec,
    caption:
      'Share of all N·K routing slots that go to each kind of zero-computation expert in each MoE layer (mean over seeds; the rest go to FFN experts): ' +
      'a taller bar is a layer where more tokens are discarded, skipped or replaced by a constant.',
  };
}
