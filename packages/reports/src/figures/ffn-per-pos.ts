/**
 * FFN experts per token by part of speech (Brown tags mapped to coarse classes) and by BPE
 * piece position (word-initial piece vs later fragment): the paper's finding is that verbs get
 * the most FFN experts, nouns next, and sub-word fragments the fewest.
 */
import type { TopLevelSpec } from 'vega-lite';
import { runsOf } from '../load-runs.ts';
import { POS_CLASSES } from '../run-folder-format.ts';
import { band, configColor, VL_SCHEMA, type FigureContext } from './common.ts';
import type { Figure, SkippedFigure } from './render.ts';

/** Display names of the BPE piece groups. */
const PIECE_LABEL: Record<string, string> = { initial: 'word-initial piece', fragment: 'word fragment' };

/** Builds the FFN-experts-per-POS figure. */
export function ffnPerPosFigure(ctx: FigureContext): Figure | SkippedFigure {
  const name = 'ffn-experts-by-pos';
  const title = 'FFN experts per token by part of speech';
  const { study, rows } = ctx;
  // Vanilla MoE always computes exactly K FFN experts: only configs with ZC experts vary.
  const configs = rows.filter((r) => r.tau !== null).map((r) => r.config);
  if (configs.length === 0) return { name, title, reason: 'no configuration has zero-computation experts (FFN experts per token is constant at K)' };
  const points: Record<string, unknown>[] = [];
  for (const config of configs) {
    const runs = runsOf(study, config);
    const add = (group: string, key: string, label: string, pick: (r: (typeof runs)[number]) => { tokens: number; ffnExpertsPerToken: number } | undefined): void => {
      const vals = runs.map(pick).filter((v): v is { tokens: number; ffnExpertsPerToken: number } => v !== undefined && v.tokens > 0);
      if (vals.length === 0) return;
      points.push({ config, group, key, label, tokens: vals.reduce((s, v) => s + v.tokens, 0), ...band(vals.map((v) => v.ffnExpertsPerToken)) });
    };
    const posKeys = [...POS_CLASSES, ...Object.keys(runs[0].routing.byPos).filter((k) => !(POS_CLASSES as readonly string[]).includes(k)).sort()];
    for (const pos of posKeys) add('part of speech (Brown tags)', pos, pos, (r) => r.routing.byPos[pos]);
    for (const piece of ['initial', 'fragment']) add('BPE piece', piece, PIECE_LABEL[piece], (r) => r.routing.byPiece[piece]);
  }
  if (points.length === 0) return { name, title, reason: 'routing.json has no byPos / byPiece statistics' };
  // POS classes sorted by their mean over configs (highest first), so the ranking reads left to right.
  const meanOf = (label: string): number => {
    const ps = points.filter((p) => p.label === label).map((p) => p.mean as number);
    return ps.reduce((a, b) => a + b, 0) / ps.length;
  };
  const posOrder = [...new Set(points.filter((p) => p.group !== 'BPE piece').map((p) => p.label as string))].sort((a, b) => meanOf(b) - meanOf(a) || a.localeCompare(b));
  const order = [...posOrder, PIECE_LABEL.initial, PIECE_LABEL.fragment];
  const x = { field: 'label', type: 'nominal', title: null, sort: order, axis: { labelAngle: -40 } };
  const color = { ...configColor(study.configs), legend: { values: configs } };
  const spec = {
    $schema: VL_SCHEMA,
    description: `FFN experts per token by POS class, study ${study.name}`,
    title: { text: 'FFN experts per token by part of speech', subtitle: 'held-out Brown text, mean over MoE layers; bars ±1 std over seeds' },
    data: { values: points },
    facet: { column: { field: 'group', type: 'nominal', title: null, sort: ['part of speech (Brown tags)', 'BPE piece'] } },
    spec: {
      width: { step: 20 },
      height: 240,
      layer: [
        { name: 'pos_err', mark: { type: 'rule' }, encoding: { x, xOffset: { field: 'config', sort: configs }, y: { field: 'lo', type: 'quantitative', title: 'FFN experts per token (mean over MoE layers)', scale: { zero: false } }, y2: { field: 'hi' }, color } },
        { name: 'pos_point', mark: { type: 'point', filled: true, size: 50 }, encoding: { x, xOffset: { field: 'config', sort: configs }, y: { field: 'mean', type: 'quantitative' }, color, tooltip: [{ field: 'config' }, { field: 'label', title: 'class' }, { field: 'mean', title: 'FFN experts / token' }, { field: 'tokens', title: 'tokens' }] } },
      ],
    },
    resolve: { scale: { x: 'independent' } },
  } as unknown as TopLevelSpec;
  return {
    name,
    title,
    spec,
    caption:
      'Mean number of FFN experts computed per token on held-out Brown text, by coarse part of speech (sorted high to low) and by BPE piece position, ' +
      'for each config with zero-computation experts (±1 std over seeds); the paper finds verbs highest, nouns next and word fragments lowest.',
  };
}
