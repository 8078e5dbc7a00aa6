import { describe, expect, it } from 'vitest';
import { routerSaturation } from './router-saturation.ts';

describe('router saturation', () => {
  it('compares each record with the final top-1 choices on the tokens both cover, per layer', () => {
    const records = [
      { step: 3, top1: [[0, 1, 2, 3], [1, 1, 1, 1]] },
      { step: 6, top1: [[0, 1, 2, 0], [1, 0, 1, 0]] },
    ];
    // The final evaluation saw more tokens; only the first four are the slice.
    const final = [Int32Array.from([0, 1, 2, 0, 9, 9]), Int32Array.from([1, 0, 0, 0, 9, 9])];
    expect(routerSaturation(records, final)).toEqual({ tokens: 4, steps: [3, 6], top1AgreementWithFinal: [[0.75, 0.25], [1, 0.75]] });
    expect(routerSaturation([], final)).toBeNull();
  });
});
