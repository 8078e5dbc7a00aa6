/**
 * Gradients against central finite differences (testing/finite-differences.ts), for every expert
 * kind, the router (W_r, W_g), the balance loss and the layer input, on small shapes.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { heterogeneousBalanceLoss, routerZLoss } from './losses.ts';
import { evaluationContext } from './forward-context.ts';
import type { ExecutorName } from './executors/index.ts';
import { TEST_BACKENDS, useBackend } from './testing/backends.ts';
import { randomLayer, randomMatrix } from './testing/random-layer.ts';
import { checkInputGradient, checkParameterGradients } from './testing/finite-differences.ts';
import seedrandom from 'seedrandom';

const KINDS: string[] = ['ffn', 'ffn', 'constant', 'copy', 'zero'];

function checkGradients(gating: string, objective: 'output' | 'balance' | 'zloss', executor: ExecutorName = 'host'): void {
  const layer = randomLayer({ seed: `grad-${gating}-${objective}`, kinds: KINDS, tokens: 12, dModel: 4, hidden: 6, topK: 2, gating, residual: true, executor });
  const probe = tf.tensor2d(randomMatrix(seedrandom('probe'), 12, 4)); // fixed random cotangent
  const x = tf.variable(tf.tensor2d(layer.x)) as tf.Variable<tf.Rank.R2>;
  const prev = tf.tensor2d(layer.previousLogits!);
  const plans: string[] = [];
  const loss = (): tf.Scalar =>
    tf.tidy(() => {
      const out = layer.layer.forward(x, prev, evaluationContext());
      plans.push(Array.from(out.plan.topKIndex).join(','));
      if (objective === 'balance') return heterogeneousBalanceLoss(out.routerProbs, out.plan, layer.layer.kinds, 0.75);
      if (objective === 'zloss') return routerZLoss(out.routerLogits);
      return tf.sum(tf.mul(out.output, probe)) as tf.Scalar;
    });

  const { grads, value } = tf.variableGrads(loss, [...layer.variables, x]);
  value.dispose();
  const basePlan = plans[0];
  const rng = seedrandom('entries');
  const differentiable = layer.variables.filter((v) => grads[v.name] !== undefined);
  // The router must always receive gradient; for the router losses nothing else does.
  expect(differentiable).toContain(layer.layer.params.router.wR);
  expect(differentiable).toContain(layer.layer.params.router.wG);
  if (objective === 'output') expect(differentiable.length).toBe(layer.variables.length);
  const checked = checkParameterGradients(differentiable, grads, loss, plans, basePlan, 3, rng);
  expect(checked).toBe(differentiable.length * 3);
  checkInputGradient(x, grads[x.name], loss, plans, basePlan);
  tf.dispose([probe, x, prev, ...Object.values(grads)]);
  layer.dispose();
}

describe.each(TEST_BACKENDS)('gradients on %s', (backend) => {
  beforeAll(() => useBackend(backend));
  for (const gating of ['reference', 'paper', 'mixtral']) {
    it(`layer output, every parameter (FFN, constant, W_r, W_g), ${gating} gating`, () => checkGradients(gating, 'output'));
  }
  it('heterogeneous balance loss w.r.t. W_r and W_g', () => checkGradients('reference', 'balance'));
  it('router z-loss w.r.t. W_r and W_g', () => checkGradients('reference', 'zloss'));
});

// Native TensorFlow runs the layer through plain tf ops (gather, slice, segment-sum); this
// machine has no native TensorFlow, so that path is forced here on cpu.
describe('gradients on cpu through the tf-ops executor (native TensorFlow\'s)', () => {
  beforeAll(() => useBackend('cpu'));
  it('layer output, every parameter (FFN, constant, W_r, W_g), reference gating', () => checkGradients('reference', 'output', 'tf-ops'));
});
