import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadBenchmarks } from '../load-bench.ts';
import { loadStudy } from '../load-runs.ts';
import { summarize } from '../statistics.ts';
import { buildConfigRows } from '../tables.ts';
import { FIXTURE_RESULTS, FIXTURE_STUDY } from '../testing/fixtures.ts';
import { darkFraction, decodePng } from '../testing/png-decode.ts';
import { ariaData, findAll, markItems, parseXml, type XmlElement } from '../testing/svg-tree.ts';
import { buildFigures } from './index.ts';
import { fontSetup, isFigure, normalizeSvgIds, renderFigure, renderSvg, svgToPng, type Figure, type SkippedFigure } from './render.ts';

const study = loadStudy(FIXTURE_RESULTS, FIXTURE_STUDY);
const bench = loadBenchmarks(FIXTURE_RESULTS);
const rows = buildConfigRows(study, bench);
const routing = (runId: string) => JSON.parse(readFileSync(join(FIXTURE_RESULTS, FIXTURE_STUDY, runId, 'routing.json'), 'utf8'));

let built: (Figure | SkippedFigure)[];
const svgs = new Map<string, XmlElement>();
const pngs = new Map<string, Buffer>();

beforeAll(async () => {
  built = buildFigures({ study, rows, bench });
  for (const f of built.filter(isFigure)) {
    const r = await renderFigure(f);
    svgs.set(f.name, parseXml(r.svg));
    pngs.set(f.name, r.png);
  }
});

const items = (fig: string, mark: string | RegExp) => markItems(svgs.get(fig)!, mark);
const num = (s: string | undefined) => Number(s);

describe('figures of the fixture study', () => {
  it('every figure is drawn, as well-formed SVG with an <svg> root', () => {
    expect(built.map((f) => f.name)).toEqual([
      'loss-curves', 'tau-tradeoff', 'expert-load', 'expert-load-per-seed', 'ffn-experts-by-pos', 'routing-variance', 'zc-share',
      'routing-measures', 'router-saturation', 'co-activation', 'collapse-over-training', 'paper-claims', 'difficulty-by-genre', 'accuracy-by-pos',
    ]);
    expect(built.every(isFigure)).toBe(true);
    for (const svg of svgs.values()) {
      expect(svg.name).toBe('svg');
      expect(svg.attributes.xmlns).toBe('http://www.w3.org/2000/svg');
    }
  });

  it('PNGs are valid, twice the SVG size, and not blank', () => {
    for (const [name, png] of pngs) {
      const img = decodePng(png);
      const svg = svgs.get(name)!;
      expect(img.width, name).toBe(2 * num(svg.attributes.width));
      expect(img.height, name).toBe(2 * num(svg.attributes.height));
      expect(darkFraction(img, undefined, 200), name).toBeGreaterThan(0.01);
    }
  });

  it('loss curves: one mean line and one band per config, one error bar per config and evaluation', () => {
    expect(items('loss-curves', 'train_mean')).toHaveLength(3);
    expect(items('loss-curves', 'train_band')).toHaveLength(3);
    const errs = items('loss-curves', 'val_err').map(ariaData);
    expect(errs).toHaveLength(3 * 4);
    // moe, final evaluation: val losses 4.10, 4.12, 4.08 -> mean ± std = [4.08, 4.12].
    const last = errs.find((e) => e.config === 'moe' && e['optimizer step'] === '200')!;
    expect(num(last['loss (nats)'])).toBeCloseTo(4.08, 10);
    expect(num(last.hi)).toBeCloseTo(4.12, 10);
  });

  it('τ trade-off: measured, ideal and paper curves; one accuracy point per MoE++ config', () => {
    const series = new Set(items('tau-tradeoff', 'speed_line').map((p) => ariaData(p).series));
    expect(series).toEqual(new Set(['measured (bench 20250102-090000)', 'ideal (FFN-slot count)', 'paper 0.6B (8+4)E']));
    const acc = items('tau-tradeoff', 'acc_point').map(ariaData);
    expect(acc.map((a) => [a.config, num(a['τ (η of ZC experts)']), num(a.mean)])).toEqual([
      ['moepp-tau0.75', 0.75, 22.35],
      ['moepp-tau0.25', 0.25, 21.75],
    ]);
  });

  it('expert load: one cell per config × layer × expert, ZC cells outlined, shares from routing.json', () => {
    expect(items('expert-load', /^load_cell_\d+$/)).toHaveLength(4 * 8 + 4 * 12 + 4 * 12);
    const outlined = items('expert-load', /^zc_outline_\d+$/).map(ariaData);
    expect(outlined).toHaveLength(2 * 4 * 4);
    expect(outlined.every((o) => /^e(8|9|10|11) (constant|copy|zero)$/.test(o['expert (ZC experts outlined)']))).toBe(true);
    // Independent computation: share of slots of expert 0 in layer 0 of moe, mean over seeds.
    const share = summarize([1, 2, 3].map((s) => {
      const l = routing(`moe--seed${s}`).layers[0];
      return (100 * l.tokensPerExpert[0]) / l.tokensPerExpert.reduce((a: number, b: number) => a + b, 0);
    })).mean;
    const cell = items('expert-load', /^load_cell_\d+$/).map(ariaData).find((c) => c.config === 'moe' && c.layer === '0' && c.expert === 'e0')!;
    expect(num(cell['share (%)'])).toBeCloseTo(share, 3);
  });

  it('FFN experts by POS: one point per MoE++ config and class with tokens, sorted high to low', () => {
    const pts = items('ffn-experts-by-pos', 'pos_point').map(ariaData);
    // 10 POS classes with tokens ('other' has none) + 2 piece groups, for 2 MoE++ configs.
    expect(pts).toHaveLength(2 * 12);
    expect(pts.some((p) => p.class === 'other')).toBe(false);
    const verb = summarize([1, 2, 3].map((s) => routing(`moepp-tau0.75--seed${s}`).byPos.verb.ffnExpertsPerToken)).mean;
    expect(num(pts.find((p) => p.config === 'moepp-tau0.75' && p.class === 'verb')!.mean)).toBeCloseTo(verb, 4);
    // Verbs rank first (fixture follows the paper's finding); fragments get fewer than initial pieces.
    const frag = pts.find((p) => p.config === 'moepp-tau0.25' && p.class === 'word fragment')!;
    const init = pts.find((p) => p.config === 'moepp-tau0.25' && p.class === 'word-initial piece')!;
    expect(num(frag.mean)).toBeLessThan(num(init.mean));
    const labels = findAll(svgs.get('ffn-experts-by-pos')!, (e) => e.name === 'g' && (e.attributes.class ?? '').includes('role-axis-label'))
      .flatMap((g) => g.children.map((t) => t.text))
      .filter((t) => Number.isNaN(Number(t))); // drop the y-axis numbers
    expect(labels.slice(0, 2)).toEqual(['verb', 'noun']);
    expect(labels).toContain('word fragment');
  });

  it('routing variance: a point per config and layer, dashed where the residual is off', () => {
    const pts = items('routing-variance', 'var_point').map(ariaData);
    expect(pts).toHaveLength(3 * 4);
    const lines = items('routing-variance', 'var_line');
    expect(lines).toHaveLength(3);
    const dashed = lines.filter((l) => (l.attributes['stroke-dasharray'] ?? '1,0') !== '1,0');
    expect(dashed).toHaveLength(1); // moe: the only config without gating residual
    const v = summarize([1, 2, 3].map((s) => routing(`moe--seed${s}`).layers[2].routingScoreVariance)).mean;
    expect(num(pts.find((p) => p.config === 'moe' && p['MoE layer'] === '2')!.mean)).toBeCloseTo(v, 8);
  });

  it('ZC share: a bar per config × layer × ZC kind; a stack sums to the ZC share of slots', () => {
    const bars = items('zc-share', 'zc_bar').map(ariaData);
    expect(bars).toHaveLength(2 * 4 * 3);
    const stack = bars.filter((b) => b.config === 'moepp-tau0.25' && b.layer === '0').reduce((s, b) => s + num(b['share (%)']), 0);
    const ffn = summarize([1, 2].map((s) => routing(`moepp-tau0.25--seed${s}`).layers[0].slotShare.ffn)).mean;
    expect(stack).toBeCloseTo(100 * (1 - ffn), 2);
  });

  it('expert load per seed: one cell per run × layer × expert, none averaged', () => {
    const cells = items('expert-load-per-seed', /^seed_load_cell_\d+$/).map(ariaData);
    // Complete runs: moe seeds 1–3 (8 experts), moepp-τ0.75 seeds 1–3 and τ0.25 seeds 1–2 (12), 4 layers each.
    expect(cells).toHaveLength(4 * (3 * 8 + 5 * 12));
    const l = routing('moe--seed2').layers[1];
    const share = (100 * l.tokensPerExpert[5]) / l.tokensPerExpert.reduce((a: number, b: number) => a + b, 0);
    const cell = cells.find((c) => c.config === 'moe' && c['layer, seed'] === 'L1 s2' && c.expert === 'e5')!;
    expect(num(cell['share (%)'])).toBeCloseTo(share, 3);
  });

  it('routing measures: a point per config × measure × layer, mean over seeds from routing.json', () => {
    const points = items('routing-measures', /^measure_point_\d+$/).map(ariaData);
    expect(points).toHaveLength(5 * 3 * 4);
    const maxVio = summarize([1, 2].map((s) => routing(`moepp-tau0.25--seed${s}`).layers[3].maxVio)).mean;
    expect(num(items('routing-measures', 'measure_point_0').map(ariaData).find((p) => p.config === 'moepp-tau0.25' && p['MoE layer'] === '3')!.mean)).toBeCloseTo(maxVio, 4);
    // moe seed 2 has one dead expert in layer 3: the mean over its 3 seeds is 1/3.
    expect(num(items('routing-measures', 'measure_point_3').map(ariaData).find((p) => p.config === 'moe' && p['MoE layer'] === '3')!.mean)).toBeCloseTo(1 / 3, 4);
  });

  it('router saturation: a point per config and periodic evaluation, mean over layers and seeds', () => {
    const lines = items('router-saturation', 'saturation_err').map(ariaData);
    expect(lines).toHaveLength(3 * 3);
    const expected = summarize([1, 2, 3].map((s) => {
      const row = routing(`moe--seed${s}`).routerSaturation.top1AgreementWithFinal[1];
      return (100 * row.reduce((a: number, b: number) => a + b, 0)) / row.length;
    })).mean;
    expect(items('router-saturation', 'saturation_point')).toHaveLength(3 * 3);
    const point = items('router-saturation', 'saturation_point').map(ariaData).find((p) => p.config === 'moe' && p['training step'] === '100');
    expect(num(point!.mean)).toBeCloseTo(expected, 3);
  });

  it('co-activation: one cell per config × adjacent pair × expert pair; rows are shares of the pooled counts', () => {
    const cells = items('co-activation', /^coact_cell_\d+$/).map(ariaData);
    expect(cells).toHaveLength(3 * (8 * 8) + 3 * (12 * 12) * 2);
    const pooled = [1, 2].map((s) => routing(`moepp-tau0.25--seed${s}`).coActivation[2].counts[4]);
    const row = pooled[0].map((n: number, j: number) => n + pooled[1][j]);
    const expected = (100 * row[4]) / row.reduce((a: number, b: number) => a + b, 0);
    const cell = cells.find((c) => c.config === 'moepp-tau0.25' && c.pair === 'layer 2 → 3' && c.expert === 'e4' && c.next === 'e4');
    expect(num(cell!['%'])).toBeCloseTo(expected, 3);
  });

  it('rendering is a pure function of the spec (vega def ids renumbered)', async () => {
    const heatmap = built.find((f) => f.name === 'expert-load') as Figure;
    expect(await renderSvg(heatmap.spec)).toBe(await renderSvg(heatmap.spec));
    expect(normalizeSvgIds('<linearGradient id="gradient_7"/><g clip-path="url(#clip12)"><path fill="url(#gradient_7)"/></g><clipPath id="clip12"/>'))
      .toBe('<linearGradient id="gradient_0"/><g clip-path="url(#clip1)"><path fill="url(#gradient_0)"/></g><clipPath id="clip1"/>');
  });

  it('without a benchmark the τ figure keeps the published curve and says why', async () => {
    const noBench = { folders: [], skipped: [] };
    const tau = buildFigures({ study, rows: buildConfigRows(study, noBench), bench: noBench }).find((f) => f.name === 'tau-tradeoff') as Figure;
    expect(tau.caption).toMatch(/no benchmark matches these layer shapes/);
    const svg = parseXml(await renderSvg(tau.spec));
    expect(new Set(markItems(svg, 'speed_line').map((p) => ariaData(p).series))).toEqual(new Set(['paper 0.6B (8+4)E']));
    expect(markItems(svg, 'acc_point')).toHaveLength(2);
  });

  it('collapse over training: the periodic slices, then the final evaluation, per config × layer, FFN experts only', () => {
    const spec = built.find((f) => f.name === 'collapse-over-training') as Figure;
    const points = (spec.spec as unknown as { data: { values: { config: string; step: number; layer: string; measure: string; mean: number; n: number }[] } }).data.values;
    expect([...new Set(points.map((p) => p.step))]).toEqual([50, 100, 150, 200]);
    // By hand from routing.json: FFN experts are the 'ffn' kinds; MaxVio = max / mean − 1, dead < 10 % of the mean.
    const collapse = (loads: number[], kinds: string[]) => {
      const ffn = loads.filter((_, e) => kinds[e] === 'ffn');
      const m = ffn.reduce((a, b) => a + b, 0) / ffn.length;
      return { maxVio: Math.max(...ffn) / m - 1, dead: ffn.filter((v) => v < 0.1 * m).length };
    };
    for (const [step, s] of [[50, 0], [200, -1]] as const) {
      const expected = [1, 2, 3].map((seed) => {
        const r = routing(`moepp-tau0.75--seed${seed}`);
        const loads = s === -1 ? r.layers[2].tokensPerExpert : r.loadOverTraining.tokensPerExpert[s][2];
        return collapse(loads, r.expertKinds[2]).maxVio;
      });
      const point = points.find((p) => p.config === 'moepp-tau0.75' && p.step === step && p.layer === 'MoE layer 2' && p.measure === 'FFN MaxVio')!;
      expect(point.n).toBe(3);
      expect(point.mean).toBeCloseTo(expected.reduce((a, b) => a + b, 0) / 3, 4);
    }
    // The fixture's early skew leaves FFN MaxVio higher at step 50 than at the end.
    const at = (step: number) => points.find((p) => p.config === 'moe' && p.step === step && p.layer === 'MoE layer 0' && p.measure === 'FFN MaxVio')!.mean;
    expect(at(50)).toBeGreaterThan(at(200));
  });

  it('a study without ZC experts explains the figures it cannot draw', () => {
    const onlyMoe = { ...study, configs: ['moe'], runs: study.runs.filter((r) => r.configName === 'moe') };
    const figs = buildFigures({ study: onlyMoe, rows: rows.filter((r) => r.config === 'moe'), bench });
    const skipped = figs.filter((f): f is SkippedFigure => !isFigure(f));
    expect(skipped.map((s) => s.name)).toEqual(['tau-tradeoff', 'ffn-experts-by-pos', 'zc-share', 'difficulty-by-genre']);
    // Run folders written before the routing measures: those figures say why they are missing.
    const older = {
      ...study,
      runs: study.runs.map((r) => ({ ...r, evaluation: null, routing: { ...r.routing, layers: r.routing.layers.map((l) => ({ ...l, measures: null })), coActivation: [], routerSaturation: null, loadOverTraining: null } })),
    };
    const olderSkipped = buildFigures({ study: older, rows, bench }).filter((f): f is SkippedFigure => !isFigure(f));
    expect(olderSkipped.map((s) => s.name)).toEqual(['routing-measures', 'router-saturation', 'co-activation', 'collapse-over-training', 'difficulty-by-genre', 'accuracy-by-pos']);
    expect(olderSkipped[0].reason).toMatch(/written before/);
    expect(skipped[0].reason).toMatch(/no configuration has zero-computation experts/);
  });
});

describe('PNG text rendering', () => {
  const fonts = fontSetup();
  it.skipIf(fonts.family === null)(`draws text with the font found (${fonts.family ?? 'none: apt-get install -y fonts-dejavu-core'})`, () => {
    const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="40"><text x="10" y="28" font-family="sans-serif" font-size="24">Ag τ 0.75</text></svg>';
    const img = decodePng(svgToPng(svg, 1));
    expect(darkFraction(img)).toBeGreaterThan(0.03);
  });
  if (fonts.family === null) console.warn('No sans-serif font found: PNG text would be blank. Install one: apt-get install -y fonts-dejavu-core');
});
