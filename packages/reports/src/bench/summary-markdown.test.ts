import { describe, expect, it } from 'vitest';
import type { BenchEnvironment, LayerCsvRow } from '@moepp/run-format';
import { benchSummaryMarkdown, type BenchSummaryInput } from './summary-markdown.ts';

/** A layer.csv row with only what the summary reads; the rest empty. */
function row(fields: Partial<LayerCsvRow>): LayerCsvRow {
  return { measure: 'expert_forward', routing: 'balanced', width: 'paper', ffn_experts: 16, tokens: 2048, tau: null, median_ms: 12.5, p20_ms: 12, p80_ms: 13, ...fields } as LayerCsvRow;
}

const environment: BenchEnvironment = {
  backend: 'wasm', threads: 2, node: 'v20.19.0', platform: 'linux 6.1', cpu: 'Test CPU', cores: 2,
  packages: { '@tensorflow/tfjs-core': '4.22.0', '@tensorflow/tfjs-backend-wasm': '4.22.0' }, gitCommit: 'abc123', seed: 1,
  startedAt: '2026-01-02T03:04:05.000Z', patches: ['BatchMatMul'], command: 'pnpm bench', loadAverage: [2, 1.5, 1], loadAverageAtEnd: [2.5, 2, 1],
};

const input = (): BenchSummaryInput => ({
  rows: [
    row({ impl: 'moe', tokens_per_s: 1000, ffn_slots: 4096, ffn_gflops: 28, matmul_gflops: 30, peak_bytes: 2 ** 21 }),
    row({ impl: 'moepp', tau: 0.1, increase: 2.0, theoretical_increase: 2.1, delivered: 0.95, tokens_per_s: 3000, ffn_slots: 1300, ffn_gflops: 25, matmul_gflops: 30, peak_bytes: 2 ** 20 }),
  ],
  checks: [{ key: 'paper/16E/2048/balanced/moe', measure: 'expert_forward', what: 'output', max_abs_diff: 1e-6, max_abs: 2 }],
  profiles: [{ scope: 'layer_forward_backward paper', profile: { wallMs: 20, kernelMs: 15, ops: [{ op: 'BatchMatMul', calls: 6, ms: 12, share: 0.6, example: '2048x768 · 768x2048', inclusive: false }], topOpByShape: [] } }],
  notes: ['a note'],
  environment,
  command: 'pnpm bench --widths paper',
  seconds: 90,
  options: { preset: 'default', reps: 20, minReps: 5, warmup: 2, maxGroupSeconds: 60 },
});

describe('benchmark summary.md', () => {
  it('opens with the run and its machine, then the targets', () => {
    const md = benchSummaryMarkdown(input());
    expect(md.startsWith('# MoE++ benchmark\n\n- command: `pnpm bench --widths paper` (preset default; 20 timed reps wanted, at least 5, 2 warm-up;')).toBe(true);
    expect(md).toContain('- machine: Test CPU, 2 cores, linux 6.1, Node v20.19.0; load average (1/5/15 min) at start 2.00 / 1.50 / 1.00, at end 2.50 / 2.00 / 1.00');
    expect(md).toContain('- backend: wasm, 2 thread(s), kernel patches: BatchMatMul; tfjs-core 4.22.0, tfjs-backend-wasm 4.22.0; git abc123');
    expect(md).toContain('- started 2026-01-02T03:04:05.000Z, took 1.5 min\n- a note\n');
    expect(md.indexOf('## Targets')).toBeLessThan(md.indexOf('## expert_forward'));
    expect(md).toContain('| ≥ 90 % of the theoretical increase at every τ (paper width) | yes |');
  });

  it('puts each MoE++ row under its MoE row with increase, delivered and the paper\'s Table 3 figure', () => {
    const md = benchSummaryMarkdown(input());
    expect(md).toContain('| paper 16E 2048 tok balanced | MoE | 12.5 [12.0–13.0] | 1000 | 4096 |  |  |  |  |');
    expect(md).toContain('|  | MoE++ τ 0.1 | 12.5 [12.0–13.0] | 3000 | 1300 | 200.0 % | 210.0 % | 95 % | 111.2 % |');
    expect(md).toContain('| expert_forward | paper 16E 2048 tok balanced | τ 0.1 | 2.0 | 1.0 | yes |'); // peak MiB, MoE++ ≤ MoE
    expect(md).toContain('## Equivalence with PyTorch');
    expect(md).toContain('| BatchMatMul | 6 | 12.0 | 60.0 % | 2048x768 · 768x2048 |');
  });
});
