/** Test support: the layer input's gradient against finite differences. */
import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';

/**
 * dx against central finite differences at every entry of x whose perturbation keeps the routing
 * (`plans` collects one routing signature per forward): each token's paths (FFN rows, copy,
 * constant, router) must all reach the input the layer below sees.
 */
export function checkInputGradient(x: tf.Variable, dx: tf.Tensor, loss: () => tf.Scalar, plans: string[]): void {
  const g = dx.dataSync();
  const values = x.dataSync().slice();
  const eps = 5e-3;
  let checked = 0;
  for (let i = 0; i < values.length; i++) {
    plans.length = 0;
    const at = (delta: number) => {
      const shifted = values.slice();
      shifted[i] += delta;
      x.assign(tf.tensor(shifted, x.shape));
      return loss().dataSync()[0];
    };
    const numeric = (at(eps) - at(-eps)) / (2 * eps);
    x.assign(tf.tensor(values, x.shape));
    if (new Set(plans).size > 1) continue; // crossed a routing decision
    expect(Math.abs(numeric - g[i]), `dx[${i}]`).toBeLessThan(3e-4 + 5e-3 * Math.abs(numeric));
    checked++;
  }
  expect(checked).toBeGreaterThan(values.length / 2);
}
