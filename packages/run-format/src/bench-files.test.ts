import { describe, expect, it } from 'vitest';
import { LAYER_CSV_COLUMNS, layerCsv, recordsCsv, type LayerCsvRow } from './bench-files.ts';
import { parseCsv } from './csv.ts';

const row = (impl: string, tau: number | null, medianMs: number): LayerCsvRow => ({
  measure: 'expert_forward', routing: 'balanced', width: 'small', d_model: 256, d_ffn: 512, experts: impl === 'moe' ? 16 : 20,
  ffn_experts: 16, zc_experts: impl === 'moe' ? 0 : 4, tau, tokens: 2048, impl, median_ms: medianMs, p20_ms: medianMs - 1,
  p80_ms: medianMs + 1, reps: 20, tokens_per_s: 2048 / (medianMs / 1000), ffn_slots: impl === 'moe' ? 4096 : 3072,
  increase: impl === 'moe' ? null : 0.3, theoretical_increase: impl === 'moe' ? null : 1 / 3, delivered: impl === 'moe' ? null : 0.9,
  ffn_gflops: 21.5, matmul_gflops: 28, peak_bytes: 123456,
});

describe('layer.csv', () => {
  it('has the columns of docs/run-folder.md in order, empty cells for what does not apply', () => {
    const text = layerCsv([row('moe', null, 130), row('moepp', 0.75, 100)]);
    const table = parseCsv(text, 'layer.csv');
    expect(table.header.join(',')).toBe(
      'measure,routing,width,d_model,d_ffn,experts,ffn_experts,zc_experts,tau,tokens,impl,median_ms,p20_ms,p80_ms,reps,tokens_per_s,ffn_slots,increase,theoretical_increase,delivered,ffn_gflops,matmul_gflops,peak_bytes',
    );
    expect(table.header).toEqual([...LAYER_CSV_COLUMNS]);
    expect(table.rows[0].tau).toBe('');
    expect(table.rows[0].increase).toBe('');
    expect(table.rows[1].theoretical_increase).toBe('0.333333');
    // A cell that holds a comma is quoted; a number that is not finite is an empty cell.
    const odd = layerCsv([{ ...row('moe', null, 130), routing: 'a,b', median_ms: NaN }]).split('\n')[1];
    expect(odd.startsWith('expert_forward,"a,b",small,')).toBe(true);
    expect(odd).toContain(',moe,,129,131,');
  });

  it('is byte for byte what the bench wrote before @moepp/run-format existed', () => {
    // Two rows of a layer.csv written by the bench's own CSV code (six significant digits).
    const before = [
      'expert_forward,balanced,small,256,512,16,16,0,,2048,moe,130,129,131,20,15753.8,4096,,,,21.5,28,123456',
      'expert_forward,balanced,small,256,512,20,16,4,0.75,2048,moepp,100,99,101,20,20480,3072,0.3,0.333333,0.9,21.5,28,123456',
    ];
    expect(layerCsv([row('moe', null, 130), row('moepp', 0.75, 100)]).split('\n').slice(1, 3)).toEqual(before);
  });

  it('other bench CSVs take their header from the first record', () => {
    expect(recordsCsv([{ scope: 's', op: 'MatMul', ms: 1 / 7 }, { scope: 's', op: 'Add', ms: 2 }])).toBe('scope,op,ms\ns,MatMul,0.142857\ns,Add,2\n');
  });
});
