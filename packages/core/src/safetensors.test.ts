import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { decodeSafetensors, encodeSafetensors, SafetensorsError } from './safetensors.ts';
import { loadModelWeights, readWeightsConfig, saveModelWeights } from './model-weights.ts';
import { MoeppLM } from './model.ts';
import { resolveModelConfig } from './config.ts';
import { useBackend } from './testing/backends.ts';
import { evaluationContext } from './forward-context.ts';

const CONFIG = resolveModelConfig({ vocabSize: 32, dModel: 8, nLayers: 2, nHeads: 2, maxSeqLen: 8, denseFfnHidden: 8, moe: { experts: { ffn: 2, zero: 1, copy: 1, constant: 1 }, ffnHidden: 8 } });

describe('safetensors', () => {
  beforeAll(() => useBackend('cpu'));

  it('writes the documented layout: u64 LE header length, JSON header, aligned F32 data', () => {
    const bytes = encodeSafetensors(new Map([['a', { shape: [2, 2], data: Float32Array.of(1, 2, 3, 4) }], ['b', { shape: [1], data: Float32Array.of(-1.5) }]]), { k: 'v' });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + n) % 8).toBe(0);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    expect(header.a).toEqual({ dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] });
    expect(header.b).toEqual({ dtype: 'F32', shape: [1], data_offsets: [16, 20] });
    expect(header.__metadata__).toEqual({ k: 'v' });
    expect(new DataView(bytes.buffer).getFloat32(8 + n + 16, true)).toBe(-1.5);
  });

  it('reads F16 and BF16 tensors as float32', () => {
    // 1.0 is 0x3c00 in F16 and 0x3f80 in BF16; -2.0 is 0xc000 and 0xc000.
    const header = JSON.stringify({ h: { dtype: 'F16', shape: [2], data_offsets: [0, 4] }, b: { dtype: 'BF16', shape: [2], data_offsets: [4, 8] } });
    const bytes = new Uint8Array(8 + header.length + 8);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(header.length), true);
    bytes.set(new TextEncoder().encode(header), 8);
    const data = new DataView(bytes.buffer, 8 + header.length);
    [0x3c00, 0xc000, 0x3f80, 0xc000].forEach((v, i) => data.setUint16(i * 2, v, true));
    const { tensors } = decodeSafetensors(bytes);
    expect(Array.from(tensors.get('h')!.data)).toEqual([1, -2]);
    expect(Array.from(tensors.get('b')!.data)).toEqual([1, -2]);
  });

  it('rejects truncated, corrupt and unsupported files with a clear error', () => {
    const good = encodeSafetensors(new Map([['a', { shape: [4], data: Float32Array.of(1, 2, 3, 4) }]]));
    expect(() => decodeSafetensors(good.subarray(0, 4))).toThrow(/8-byte header length/);
    expect(() => decodeSafetensors(good.subarray(0, good.length - 4))).toThrow(/truncated/);
    const corrupt = good.slice();
    corrupt[9] = 0x7b; // '{' inside the JSON
    expect(() => decodeSafetensors(corrupt)).toThrow(SafetensorsError);
    const i64 = new TextEncoder().encode(new TextDecoder().decode(good).replace('F32', 'I64'));
    expect(() => decodeSafetensors(i64)).toThrow(/dtype I64; only F32, F16 and BF16/);
  });

  it('model weights round-trip: a model with another seed reproduces the forward pass after loading', () => {
    const source = new MoeppLM(CONFIG, 1);
    const bytes = saveModelWeights(source);
    const config = readWeightsConfig(bytes);
    expect(config).toEqual(JSON.parse(JSON.stringify(CONFIG)));
    const target = new MoeppLM(resolveModelConfig(config as never), 99);
    loadModelWeights(target, bytes);
    const ids = tf.tensor2d([[1, 5, 7, 30]], [1, 4], 'int32');
    const logits = (m: MoeppLM) => tf.tidy(() => Array.from(m.forward(ids, { context: evaluationContext() }).logits.dataSync()));
    expect(logits(target)).toEqual(logits(source));
    const names = [...decodeSafetensors(bytes).tensors.keys()];
    expect(names).toContain('layers.1.moe.experts.0.w_gate');
    expect(names).toContain('layers.1.moe.router.w_g');
    expect(names).toContain('layers.0.moe.experts.2.v');
    ids.dispose();
    source.dispose();
    target.dispose();
  });

  it('refuses weights that do not fit the model, assigning nothing', () => {
    const source = new MoeppLM(CONFIG, 1);
    const bytes = saveModelWeights(source);
    const other = new MoeppLM(resolveModelConfig({ ...CONFIG, dModel: 12, nHeads: 2 }), 1);
    const before = Array.from(other.parameters.get('embed_tokens').dataSync());
    expect(() => loadModelWeights(other, bytes)).toThrow(/'embed_tokens' has shape \[32,8\], the model expects \[32,12\]/);
    expect(Array.from(other.parameters.get('embed_tokens').dataSync())).toEqual(before);
    const vanilla = new MoeppLM(resolveModelConfig({ ...CONFIG, moe: { ...CONFIG.moe, experts: { ffn: 2 } } }), 1);
    expect(() => loadModelWeights(vanilla, bytes)).toThrow(/unexpected tensor 'layers.0.moe.experts.2.w_c'/);
    [source, other, vanilla].forEach((m) => m.dispose());
  });
});
