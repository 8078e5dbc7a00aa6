import { describe, expect, it } from 'vitest';
import { ConfigError, resolveModelConfig, type ModelConfigInput } from './config.ts';

function errorOf(input: ModelConfigInput): ConfigError {
  try {
    resolveModelConfig(input);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('model config validation', () => {
  it('accepts the defaults, a vanilla MoE and a dense model', () => {
    expect(resolveModelConfig().moe?.experts).toEqual({ ffn: 8, zero: 1, copy: 1, constant: 2 });
    expect(resolveModelConfig({ moe: { experts: { ffn: 8 }, gatingResidual: false } }).moe?.topK).toBe(2);
    expect(resolveModelConfig({ moe: null }).moe).toBeNull();
  });

  it.each([
    ['K > E', { moe: { experts: { ffn: 2, zero: 1 }, topK: 4 } }, 'moe.topK', /top-K is 4 but the layer has only 3 experts/],
    ['empty expert set', { moe: { experts: { ffn: 0 } } }, 'moe.experts', /expert set is empty/],
    ['no FFN expert', { moe: { experts: { ffn: 0, zero: 2 }, topK: 1 } }, 'moe.experts.ffn', /at least one FFN expert/],
    ['τ = 0', { moe: { tau: 0 } }, 'moe.tau', /τ must be a finite number > 0/],
    ['τ < 0', { moe: { tau: -0.5 } }, 'moe.tau', /τ must be/],
    ['unknown gating', { moe: { gating: 'softmax' as never } }, 'moe.gating', /use one of reference, paper, mixtral/],
    ['negative expert count', { moe: { experts: { ffn: 4, copy: -1 } } }, 'moe.experts.copy', /whole number ≥ 0/],
    ['capacity ≤ 0', { moe: { capacityFactor: 0 } }, 'moe.capacityFactor', /γ must be > 0/],
    ['heads not dividing width', { dModel: 30, nHeads: 4 }, 'nHeads', /not divisible/],
    ['odd head size', { dModel: 12, nHeads: 4 }, 'nHeads', /RoPE/],
    ['fractional layer count', { nLayers: 2.5 }, 'nLayers', /whole number > 0/],
    ['interval beyond depth', { nLayers: 2, moeInterval: 3 }, 'moeInterval', /exceeds nLayers/],
  ] as [string, ModelConfigInput, string, RegExp][])('%s', (_, input, path, message) => {
    const e = errorOf(input);
    expect(e.path).toBe(path);
    expect(e.message).toMatch(message);
  });

  it('unknown keys are rejected with a suggestion', () => {
    const top = errorOf({ nLayer: 2 } as ModelConfigInput);
    expect(top.path).toBe('nLayer');
    expect(top.message).toMatch(/did you mean 'nLayers'/);
    const nested = errorOf({ moe: { topk: 2 } } as unknown as ModelConfigInput);
    expect(nested.message).toMatch(/did you mean 'moe.topK'/);
    const counts = errorOf({ moe: { experts: { ffn: 2, constants: 1 } } } as unknown as ModelConfigInput);
    expect(counts.path).toBe('moe.experts.constants');
  });

  it('a gating residual between layers of different E is an error; without the residual it is fine', () => {
    const expertsPerLayer: Record<string, number>[] = [{ ffn: 4, zero: 1 }, { ffn: 4 }];
    const e = errorOf({ nLayers: 2, moe: { expertsPerLayer, gatingResidual: true } });
    expect(e.path).toBe('moe.expertsPerLayer[1]');
    expect(e.message).toMatch(/5 router logits into layer 1, which has 4 experts/);
    expect(resolveModelConfig({ nLayers: 2, moe: { expertsPerLayer, gatingResidual: false } }).moe?.expertsPerLayer).toHaveLength(2);
    expect(errorOf({ nLayers: 3, moe: { expertsPerLayer } }).message).toMatch(/list of 3 expert-count objects/);
  });
});
