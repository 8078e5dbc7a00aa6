/**
 * Paper Table 3 as a figure: expert-forward throughput increase of MoE++ over vanilla MoE
 * against τ (from the newest matching benchmark, with the paper's published numbers for the
 * same expert layout when there is one), beside validation accuracy against τ.
 */
import type { TopLevelSpec } from 'vega-lite';
import { PAPER_TABLE3 } from '../bench/paper-table3.ts';
import { tauCurve } from '../load-bench.ts';
import { runsOf } from '../load-runs.ts';
import { expertsLabel, zcExperts } from '../tables.ts';
import { band, configColor, round, VL_SCHEMA, type FigureContext } from './common.ts';
import type { Figure, SkippedFigure } from './render.ts';

/** Line dash per curve kind: measured solid, ideal dotted, published dashed. */
const DASH: Record<string, number[]> = { measured: [1, 0], ideal: [2, 2], paper: [6, 3] };
/** Neutral inks, so throughput curves are not mistaken for the configs' colours on the right. */
const INK: Record<string, string> = { measured: '#222222', ideal: '#8c8c8c', paper: '#b279a2' };

/** Builds the τ trade-off figure. */
export function tauTradeoffFigure(ctx: FigureContext): Figure | SkippedFigure {
  const name = 'tau-tradeoff';
  const title = 'Throughput increase and accuracy against τ';
  const { study, rows, bench } = ctx;
  const moeppRows = rows.filter((r) => r.tau !== null);
  if (moeppRows.length === 0) return { name, title, reason: 'no configuration has zero-computation experts, so τ has no effect' };

  // Left panel: one measured curve per distinct layer shape among the study's MoE++ configs.
  const speed: Record<string, unknown>[] = [];
  const shapes = new Map(moeppRows.map((r) => [`${r.shape.dModel}/${r.shape.moe!.ffnHidden}/${expertsLabel(r.shape)}`, r.shape]));
  for (const shape of shapes.values()) {
    const curve = tauCurve(bench, shape);
    // Name the shape only when several are drawn; one curve needs no qualifier.
    const label = shapes.size > 1 ? ` D${shape.dModel} I${shape.moe!.ffnHidden} (${expertsLabel(shape)})E` : '';
    if (curve) {
      for (const r of curve.rows) {
        speed.push({ series: `measured${label} (bench ${curve.timestamp})`, kind: 'measured', tau: r.tau, increase: round(r.increase * 100) });
        if (Number.isFinite(r.theoreticalIncrease)) {
          speed.push({ series: `ideal${label} (FFN-slot count)`, kind: 'ideal', tau: r.tau, increase: round(r.theoreticalIncrease * 100) });
        }
      }
    }
    const paper = PAPER_TABLE3.find((p) => p.ffn === shape.moe!.ffnExperts && p.zc === zcExperts(shape));
    if (paper && !speed.some((s) => s.series === `paper ${paper.model}`)) {
      for (const [tau, inc] of Object.entries(paper.increase)) speed.push({ series: `paper ${paper.model}`, kind: 'paper', tau: Number(tau), increase: inc });
    }
  }

  // Right panel: accuracy of every MoE++ config at its τ; the vanilla baseline as a rule.
  const acc = moeppRows.map((r) => ({ config: r.config, tau: r.tau, ...band(runsOf(study, r.config).map((x) => x.summary.val.accuracy * 100)) }));
  const baseRow = rows.find((r) => r.isBaseline && r.tau === null);
  const baseAcc = baseRow ? [{ config: baseRow.config, ...band(runsOf(study, baseRow.config).map((x) => x.summary.val.accuracy * 100)) }] : [];

  const seriesNames = [...new Set(speed.map((p) => p.series as string))];
  const kindOf = new Map(speed.map((p) => [p.series as string, p.kind as string]));
  const tauAxis = { field: 'tau', type: 'quantitative', title: 'τ (η of ZC experts)', scale: { domain: [0, 1.05] } };
  const speedPanel = {
    title: { text: 'Expert forward throughput increase', subtitle: 't_MoE / t_MoE++ − 1, equal model size' },
    width: 320,
    height: 240,
    data: { values: speed },
    layer: [
      {
        name: 'speed_line',
        mark: { type: 'line', point: true },
        encoding: {
          x: tauAxis,
          y: { field: 'increase', type: 'quantitative', title: 'throughput increase (%)' },
          // Colour and dash on the same field merge into one legend whose symbols show the dash.
          color: { field: 'series', type: 'nominal', title: null, scale: { domain: seriesNames, range: seriesNames.map((n) => INK[kindOf.get(n)!]) }, legend: { orient: 'bottom', direction: 'vertical', labelLimit: 400, symbolType: 'stroke', symbolStrokeWidth: 2.5 } },
          strokeDash: { field: 'series', type: 'nominal', title: null, scale: { domain: seriesNames, range: seriesNames.map((n) => DASH[kindOf.get(n)!]) } },
        },
      },
    ],
  };
  const accPanel = {
    title: { text: 'Validation accuracy', subtitle: 'mean ±1 std over seeds; dashed line and band: vanilla-MoE baseline' },
    width: 320,
    height: 240,
    layer: [
      ...(baseAcc.length
        ? [
            { name: 'baseline_band', data: { values: baseAcc }, mark: { type: 'rect', opacity: 0.12, color: 'gray' }, encoding: { y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' } } },
            { name: 'baseline_rule', data: { values: baseAcc }, mark: { type: 'rule', strokeDash: [4, 3] }, encoding: { y: { field: 'mean', type: 'quantitative' }, color: configColor(study.configs) } },
          ]
        : []),
      { name: 'acc_err', data: { values: acc }, mark: { type: 'rule' }, encoding: { x: tauAxis, y: { field: 'lo', type: 'quantitative', title: 'next-token accuracy (%)', scale: { zero: false } }, y2: { field: 'hi' }, color: configColor(study.configs) } },
      { name: 'acc_point', data: { values: acc }, mark: { type: 'point', filled: true, size: 60 }, encoding: { x: tauAxis, y: { field: 'mean', type: 'quantitative' }, color: configColor(study.configs) } },
    ],
  };
  const spec = {
    $schema: VL_SCHEMA,
    description: `Throughput increase and accuracy against tau, study ${study.name}`,
    title: { text: 'Throughput increase and accuracy against τ', subtitle: 'paper Table 3 as a figure' },
    hconcat: speed.length > 0 ? [speedPanel, accPanel] : [accPanel],
    resolve: { scale: { color: 'independent', strokeDash: 'independent' } },
  } as unknown as TopLevelSpec;
  const measured = speed.some((s) => s.kind === 'measured');
  const left = measured
    ? 'Left: expert-forward throughput increase of MoE++ over vanilla MoE against τ, measured (solid), ideal from the FFN-slot count (dotted) and as published where the expert layout matches the paper (dashed); right'
    : speed.length > 0
      ? 'Left: no benchmark matches these layer shapes (run `pnpm bench`), so only the published increase is drawn; right'
      : 'No benchmark matches these layer shapes (run `pnpm bench`) and the expert layout is not one of the paper\'s, so only accuracy is drawn';
  return {
    name,
    title,
    spec,
    caption: `${left}: validation accuracy of each MoE++ config at its τ against the vanilla-MoE baseline — smaller τ is faster, and this shows what it costs.`,
  };
}
