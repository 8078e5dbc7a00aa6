/**
 * The benchmark issues' targets, judged from one run's rows — so the verdicts in
 * BENCHMARKS.md come from the same command as the tables beside them. No test asserts timings;
 * these are reported, met or not, with the figure that decides them.
 */
import type { LayerCsvRow } from '@moepp/run-format';
import { cellNumber, sameGroup } from './layer-rows.ts';
import { paperIncrease } from './paper-table3.ts';

export interface TargetVerdict {
  target: string;
  /** null: the run has no rows that decide it (e.g. no paper width, no peer). */
  met: boolean | null;
  /** The deciding figures, in words. */
  figure: string;
}

const num = cellNumber;
const pct = (v: number, digits = 0) => `${(v * 100).toFixed(digits)} %`;
const label = (r: LayerCsvRow) => `${r.ffn_experts}E τ ${r.tau}`;

/** Smallest and largest of `value` over rows, with the rows they come from. */
function range(rows: LayerCsvRow[], value: (r: LayerCsvRow) => number): { min: number; max: number; argmin: LayerCsvRow } {
  let argmin = rows[0];
  let min = Infinity;
  let max = -Infinity;
  for (const r of rows) {
    const v = value(r);
    if (v < min) [min, argmin] = [v, r];
    if (v > max) max = v;
  }
  return { min, max, argmin };
}

/**
 * @example
 * targetVerdicts(rows).map((v) => `${v.target}: ${v.met}`);
 */
export function targetVerdicts(rows: readonly LayerCsvRow[]): TargetVerdict[] {
  const own = rows.filter((r) => r.impl === 'moe' || r.impl === 'moepp');
  const paperTable3 = own.filter((r) => r.measure === 'expert_forward' && r.width === 'paper' && r.routing === 'balanced' && r.impl === 'moepp' && Number.isFinite(num(r.delivered)));
  const verdicts: TargetVerdict[] = [];

  if (paperTable3.length === 0) {
    verdicts.push({ target: '≥ 90 % of the theoretical increase at every τ (paper width)', met: null, figure: 'no paper-width expert forward in this run' });
    verdicts.push({ target: 'measured increase ≥ the paper\'s (paper width)', met: null, figure: 'no paper-width expert forward in this run' });
  } else {
    const delivered = range(paperTable3, (r) => num(r.delivered));
    const below = paperTable3.filter((r) => num(r.delivered) < 0.9);
    verdicts.push({
      target: '≥ 90 % of the theoretical increase at every τ (paper width)',
      met: below.length === 0,
      figure: `expert forward, balanced routing, ${paperTable3.length} MoE++ cases: delivered ${pct(delivered.min)}–${pct(delivered.max)}` +
        (below.length ? `; below 90 %: ${below.map((r) => `${label(r)} ${pct(num(r.delivered))}`).join(', ')}` : ''),
    });
    const withPaper = paperTable3.filter((r) => paperIncrease(num(r.ffn_experts), num(r.tau)) !== null);
    const short = withPaper.filter((r) => num(r.increase) * 100 < paperIncrease(num(r.ffn_experts), num(r.tau))!);
    const margin = range(withPaper, (r) => num(r.increase) * 100 - paperIncrease(num(r.ffn_experts), num(r.tau))!);
    verdicts.push({
      target: 'measured increase ≥ the paper\'s (paper width)',
      met: short.length === 0,
      figure: `${withPaper.length - short.length} of ${withPaper.length} cases at or above Table 3; measured minus paper ${margin.min.toFixed(1)} to ${margin.max.toFixed(1)} points` +
        (short.length ? `; below: ${short.map((r) => `${label(r)} ${(num(r.increase) * 100).toFixed(1)} % < ${paperIncrease(num(r.ffn_experts), num(r.tau))} %`).join(', ')}` : ''),
    });
  }

  const rated = own.filter((r) => r.measure === 'expert_forward' && Number.isFinite(num(r.ffn_gflops) / num(r.matmul_gflops)));
  if (rated.length === 0) {
    verdicts.push({ target: 'FFN experts at ≥ 70 % of plain matmul', met: null, figure: 'no expert forward in this run' });
  } else {
    const ratio = (r: LayerCsvRow) => num(r.ffn_gflops) / num(r.matmul_gflops);
    const parts: string[] = [];
    let met = true;
    for (const width of ['paper', 'small']) {
      const these = rated.filter((r) => r.width === width);
      if (these.length === 0) continue;
      const { min, max, argmin } = range(these, ratio);
      const under = these.filter((r) => ratio(r) < 0.7).length;
      met &&= under === 0;
      parts.push(`${width} width ${pct(min)}–${pct(max)} (${under} of ${these.length} below 70 %; lowest ${argmin.ffn_experts}E ${argmin.tokens} tok ${argmin.impl === 'moe' ? 'MoE' : `τ ${argmin.tau}`})`);
    }
    verdicts.push({ target: 'FFN experts at ≥ 70 % of plain matmul', met, figure: `expert forward (a lower bound: dispatch and combine included): ${parts.join('; ')}` });
  }

  const torch = rows.filter((r) => r.measure === 'layer_forward_backward' && r.width === 'paper' && String(r.impl).startsWith('torch-'));
  const ratios = torch.flatMap((t) => {
    const mine = own.find((r) => sameGroup(r, t) && `torch-${r.impl}` === t.impl && r.tau === t.tau);
    return mine ? [{ row: mine, ratio: num(mine.tokens_per_s) / num(t.tokens_per_s) }] : [];
  });
  if (ratios.length === 0) {
    verdicts.push({ target: 'ours/PyTorch ≥ 1.0 on forward+backward (paper width)', met: null, figure: 'no PyTorch peer at paper width in this run (`--peer torch`)' });
  } else {
    const lo = Math.min(...ratios.map((x) => x.ratio));
    const hi = Math.max(...ratios.map((x) => x.ratio));
    verdicts.push({ target: 'ours/PyTorch ≥ 1.0 on forward+backward (paper width)', met: lo >= 1, figure: `${ratios.length} cases: ${lo.toFixed(2)}–${hi.toFixed(2)}` });
  }

  const stepPeers = rows.filter((r) => r.measure === 'train_step' && String(r.impl).startsWith('torch-'));
  const stepRatios = stepPeers.flatMap((t) => {
    const mine = own.find((r) => sameGroup(r, t) && `torch-${r.impl}` === t.impl && r.tau === t.tau);
    return mine ? [{ row: mine, ratio: num(mine.tokens_per_s) / num(t.tokens_per_s) }] : [];
  });
  if (stepRatios.length === 0) {
    verdicts.push({ target: 'ours/PyTorch ≥ 0.7 on the training step', met: null, figure: 'no PyTorch peer of the training step in this run (`--measures train_step --peer torch`)' });
  } else {
    const lo = Math.min(...stepRatios.map((x) => x.ratio));
    verdicts.push({
      target: 'ours/PyTorch ≥ 0.7 on the training step',
      met: lo >= 0.7,
      figure: stepRatios.map((x) => `${x.row.impl === 'moe' ? 'MoE' : `MoE++ τ ${x.row.tau}`} ${x.row.tokens} tok ${x.ratio.toFixed(2)}`).join(', '),
    });
  }

  const pairs = own.filter((r) => r.impl === 'moepp' && Number.isFinite(num(r.peak_bytes))).flatMap((r) => {
    const moe = own.find((m) => m.impl === 'moe' && sameGroup(m, r));
    return moe && Number.isFinite(num(moe.peak_bytes)) ? [{ r, excess: num(r.peak_bytes) / num(moe.peak_bytes) - 1 }] : [];
  });
  if (pairs.length === 0) {
    verdicts.push({ target: 'MoE++ never uses more memory than MoE', met: null, figure: 'no peak memory in this run' });
  } else {
    const parts: string[] = [];
    for (const routing of ['balanced', 'checkpoint']) {
      const these = pairs.filter((p) => p.r.routing === routing);
      if (these.length === 0) continue;
      const over = these.filter((p) => p.excess > 0);
      parts.push(`${routing} routing: ${these.length - over.length} of ${these.length} cases MoE++ ≤ MoE` +
        (over.length ? ` (above: ${over.map((p) => `${p.r.measure} ${p.r.width} ${p.r.ffn_experts}E ${p.r.tokens} tok +${pct(p.excess, 1)}`).join(', ')})` : ''));
    }
    verdicts.push({ target: 'MoE++ never uses more memory than MoE', met: pairs.every((p) => p.excess <= 0), figure: parts.join('; ') });
  }
  return verdicts;
}
