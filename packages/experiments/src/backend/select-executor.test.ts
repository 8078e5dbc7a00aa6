import { describe, expect, it } from 'vitest';
import { selectExecutor } from './select-executor.ts';
import { BackendError } from './select-backend.ts';

describe('expert executor selection', () => {
  it('auto: tf-ops on native TensorFlow and webgpu, host on wasm and cpu', () => {
    expect(selectExecutor('tensorflow', undefined, {})).toBe('tf-ops');
    expect(selectExecutor('webgpu', undefined, {})).toBe('tf-ops');
    expect(selectExecutor('tensorflow-gpu', undefined, {})).toBe('tf-ops');
    expect(selectExecutor('wasm', undefined, {})).toBe('host');
    expect(selectExecutor('cpu', 'auto', {})).toBe('host');
  });

  it('an explicit choice wins, the flag over the environment', () => {
    expect(selectExecutor('wasm', 'tf-ops', { MOEPP_EXECUTOR: 'host' })).toBe('tf-ops');
    expect(selectExecutor('tensorflow', undefined, { MOEPP_EXECUTOR: 'host' })).toBe('host');
  });

  it('a bad value is one line naming its source and the valid values', () => {
    expect(() => selectExecutor('wasm', 'fast', {})).toThrow(BackendError);
    expect(() => selectExecutor('wasm', 'fast', {})).toThrow(/unknown executor "fast" \(from --executor\); valid values: auto, host, tf-ops/);
    expect(() => selectExecutor('wasm', undefined, { MOEPP_EXECUTOR: 'gpu' })).toThrow(/from MOEPP_EXECUTOR/);
  });
});
