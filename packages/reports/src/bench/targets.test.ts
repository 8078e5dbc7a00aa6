import { describe, expect, it } from 'vitest';
import type { LayerCsvRow } from '@moepp/run-format';
import { targetVerdicts } from './targets.ts';

/** A layer.csv row with only what the targets read; the rest empty. */
function row(fields: Partial<LayerCsvRow>): LayerCsvRow {
  return { measure: 'expert_forward', routing: 'balanced', width: 'paper', ffn_experts: 16, tokens: 2048, tau: null, ...fields } as LayerCsvRow;
}

const moe = row({ impl: 'moe', tokens_per_s: 1000, ffn_gflops: 28, matmul_gflops: 30, peak_bytes: 100 });
const tau01 = row({ impl: 'moepp', tau: 0.1, increase: 2.0, delivered: 0.95, tokens_per_s: 3000, ffn_gflops: 25, matmul_gflops: 30, peak_bytes: 90 });
const tau075 = row({ impl: 'moepp', tau: 0.75, increase: 0.3, delivered: 0.92, tokens_per_s: 1300, ffn_gflops: 27, matmul_gflops: 30, peak_bytes: 95 });

const peerVerdict = (rows: LayerCsvRow[]) => targetVerdicts(rows).find((v) => v.target.startsWith('ours/PyTorch'))!;

describe('benchmark targets', () => {
  it('all met: delivered ≥ 90 %, at or above Table 3, FFN rate ≥ 70 %, memory MoE++ ≤ MoE', () => {
    const v = targetVerdicts([moe, tau01, tau075]);
    expect(v.map((x) => x.met)).toEqual([true, true, true, null, null, true]);
    expect(v[0].figure).toContain('delivered 92 %–95 %');
    // 200 % vs 111.2 % and 30 % vs 22.1 %: margins 88.8 and 7.9 points.
    expect(v[1].figure).toContain('2 of 2 cases at or above Table 3; measured minus paper 7.9 to 88.8 points');
    expect(v[3].figure).toContain('--peer torch');
  });

  it('names the cases that miss each target', () => {
    const slow = { ...tau075, delivered: 0.7, increase: 0.2, ffn_gflops: 15, peak_bytes: 101 };
    const v = targetVerdicts([moe, tau01, slow]);
    expect(v[0].met).toBe(false);
    expect(v[0].figure).toContain('below 90 %: 16E τ 0.75 70 %');
    expect(v[1].met).toBe(false);
    expect(v[1].figure).toContain('16E τ 0.75 20.0 % < 22.1 %');
    expect(v[2].met).toBe(false);
    expect(v[2].figure).toContain('1 of 3 below 70 %');
    expect(v[5].met).toBe(false);
    expect(v[5].figure).toContain('+1.0 %');
  });

  it('ours/PyTorch from the peer rows of the paper-width forward+backward, matched by τ', () => {
    const fb = (f: Partial<LayerCsvRow>) => row({ measure: 'layer_forward_backward', ...f });
    const rows = [
      fb({ impl: 'moe', tokens_per_s: 400 }), fb({ impl: 'moepp', tau: 0.1, tokens_per_s: 1200 }),
      fb({ impl: 'torch-moe', tokens_per_s: 1600 }), fb({ impl: 'torch-moepp', tau: 0.1, tokens_per_s: 4000 }),
    ];
    const v = peerVerdict(rows);
    expect(v.met).toBe(false);
    expect(v.figure).toBe('2 cases: 0.25–0.30');
    const fast = peerVerdict(rows.map((r) => (r.impl === 'moe' ? { ...r, tokens_per_s: 1700 } : r.impl === 'moepp' ? { ...r, tokens_per_s: 4100 } : r)));
    expect(fast.met).toBe(true);
  });

  it('ours/PyTorch on the training step from its peer rows, per model', () => {
    const step = (f: Partial<LayerCsvRow>) => row({ measure: 'train_step', routing: 'init', width: 'small', ffn_experts: 8, ...f });
    const rows = [
      step({ impl: 'moe', tokens_per_s: 1500 }), step({ impl: 'moepp', tau: 0.75, tokens_per_s: 1800 }),
      step({ impl: 'torch-moe', tokens_per_s: 2000 }), step({ impl: 'torch-moepp', tau: 0.75, tokens_per_s: 3000 }),
    ];
    const v = targetVerdicts(rows).find((x) => x.target.includes('training step'))!;
    expect(v.met).toBe(false);
    expect(v.figure).toBe('MoE 2048 tok 0.75, MoE++ τ 0.75 2048 tok 0.60');
    expect(targetVerdicts([moe]).find((x) => x.target.includes('training step'))!.met).toBeNull();
  });

  it('says when a run cannot decide a target', () => {
    const small = [moe, tau01].map((r) => ({ ...r, width: 'small' }));
    const v = targetVerdicts(small);
    expect(v[0].met).toBeNull();
    expect(v[0].figure).toBe('no paper-width expert forward in this run');
    expect(v[2].met).toBe(true); // FFN rate is judged at any width
  });
});
