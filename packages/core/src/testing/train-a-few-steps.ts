/**
 * Trains a model a few Adam steps on one fixed batch, as the tests of a new expert kind, gating
 * mode or expert design do to show it learns end to end and leaks no tensors.
 */
import * as tf from '@tensorflow/tfjs-core';
import { trainingContext } from '../forward-context.ts';
import type { MoeppLM } from '../model.ts';

export interface FewStepsResult {
  /** The loss of each step, before its update. */
  losses: number[];
  /** Live tensors after the last step less those after the first (Adam's slots exist by then): 0 unless a step leaks. */
  leakedTensors: number;
}

export function trainAFewSteps(model: MoeppLM, inputs: tf.Tensor2D, targets: tf.Tensor2D, seed: string, steps = 8, lr = 0.03): FewStepsResult {
  const optimizer: tf.Optimizer = tf.train.adam(lr);
  const losses: number[] = [];
  let afterFirstStep = 0;
  for (let step = 0; step < steps; step++) {
    const r = model.lossAndGradients(inputs, targets, trainingContext(seed, step));
    losses.push(r.loss);
    const byVariable: tf.NamedTensorMap = {};
    for (const [name, g] of r.grads) byVariable[model.parameters.get(name).name] = g;
    optimizer.applyGradients(byVariable);
    // Selection state (balancing biases) moves after each step, as the trainer does it.
    model.updateRoutingState(r.expertLoad);
    tf.dispose([...r.grads.values()]);
    if (step === 0) afterFirstStep = tf.memory().numTensors;
  }
  const leakedTensors = tf.memory().numTensors - afterFirstStep;
  optimizer.dispose();
  return { losses, leakedTensors };
}
