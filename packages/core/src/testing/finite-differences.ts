/**
 * Test support: gradients against central finite differences. float32 limits the agreement to
 * about 1e-3 relative, so the tolerance is 3e-4 + 5e-3·|numeric|: a wrong gradient (typically off
 * by a factor or a sign) stands out clearly. A perturbation that changes a routing decision
 * crosses a discontinuity, so the caller's `loss` records one routing signature per forward in
 * `plans`, and an entry whose perturbed forwards route differently from `basePlan` is skipped.
 */
import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';

const EPS = 5e-3;

/** (loss(v + ε·e_i) − loss(v − ε·e_i)) / 2ε; `v` holds `values` again afterwards. */
function centralDifference(v: tf.Variable, values: Float32Array, i: number, loss: () => tf.Scalar): number {
  const at = (delta: number) => {
    const shifted = values.slice();
    shifted[i] += delta;
    const t = tf.tensor(shifted, v.shape);
    v.assign(t);
    t.dispose();
    return loss().dataSync()[0];
  };
  const numeric = (at(EPS) - at(-EPS)) / (2 * EPS);
  const original = tf.tensor(values, v.shape);
  v.assign(original);
  original.dispose();
  return numeric;
}

function expectClose(numeric: number, analytic: number, label: string): void {
  expect(Math.abs(numeric - analytic), label).toBeLessThan(3e-4 + 5e-3 * Math.abs(numeric));
}

/**
 * Checks `perVariable` random entries of each variable's gradient (up to 20 tries each, skipping
 * entries that cross a routing decision); returns how many entries were checked.
 */
export function checkParameterGradients(
  variables: tf.Variable[],
  grads: tf.NamedTensorMap,
  loss: () => tf.Scalar,
  plans: string[],
  basePlan: string,
  perVariable: number,
  rng: () => number,
): number {
  let checked = 0;
  for (const v of variables) {
    const g = grads[v.name].dataSync();
    const values = v.dataSync().slice() as Float32Array;
    for (let attempt = 0, found = 0; attempt < 20 && found < perVariable; attempt++) {
      const i = Math.floor(rng() * values.length);
      plans.length = 0;
      const numeric = centralDifference(v, values, i, loss);
      if (plans.some((p) => p !== basePlan)) continue;
      expectClose(numeric, g[i], `${v.name}[${i}]`);
      found++;
      checked++;
    }
  }
  return checked;
}

/**
 * dx at every entry of x whose perturbation keeps the routing: each token's paths (FFN rows, copy,
 * constant, router) must all reach the input the layer below sees.
 */
export function checkInputGradient(x: tf.Variable, dx: tf.Tensor, loss: () => tf.Scalar, plans: string[], basePlan: string): void {
  const g = dx.dataSync();
  const values = x.dataSync().slice() as Float32Array;
  let checked = 0;
  for (let i = 0; i < values.length; i++) {
    plans.length = 0;
    const numeric = centralDifference(x, values, i, loss);
    if (plans.some((p) => p !== basePlan)) continue;
    expectClose(numeric, g[i], `dx[${i}]`);
    checked++;
  }
  expect(checked).toBeGreaterThan(values.length / 2);
}
