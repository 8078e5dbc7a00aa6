/** What the gradient tape is doing, for host ops that keep activations only when they must. */
import * as tf from '@tensorflow/tfjs-core';

/**
 * Whether the engine is recording a gradient tape (inside `tf.grad` / `variableGrads` …). tfjs
 * has no public flag; when its internal state is not where expected, assume it is recording
 * (activations are then kept: correct, only more memory).
 */
export function isRecordingGradients(): boolean {
  const depth = (tf.engine() as unknown as { state?: { gradientDepth?: number } }).state?.gradientDepth;
  return typeof depth !== 'number' || depth > 0;
}
