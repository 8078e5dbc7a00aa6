/**
 * Model weights <-> `.safetensors` bytes. Tensor names are the parameter paths (documented in the
 * README: "Weights"); matrices are stored (in, out) as used in `x · W` — PyTorch's `nn.Linear`
 * keeps (out, in), so an importer transposes 2-D weights other than `embed_tokens`. The resolved
 * model config and the expert kinds of each MoE++ layer travel in the metadata.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { MoeppLM } from './model.ts';
import { decodeSafetensors, encodeSafetensors, SafetensorsError, type NamedArray } from './safetensors.ts';

export const WEIGHTS_FORMAT = 'moepp-v1';

/** Encodes every parameter of `model` (reads them to the host). */
export function saveModelWeights(model: MoeppLM): Uint8Array {
  const tensors = new Map<string, NamedArray>();
  for (const [name, v] of model.parameters.variables) {
    tensors.set(name, { shape: v.shape, data: v.dataSync() as Float32Array });
  }
  // Routing state (balancing biases) travels with the weights, as DeepSeek-V3's checkpoints keep
  // `e_score_correction_bias`; models without it write exactly what they always wrote.
  for (const [name, values] of model.buffers()) tensors.set(name, { shape: [values.length], data: values });
  return encodeSafetensors(tensors, {
    format: WEIGHTS_FORMAT,
    config: JSON.stringify(model.config),
    expert_kinds: JSON.stringify(model.moeLayerKinds()),
    seed: String(model.seed),
  });
}

/** The model config stored in a weights file, to rebuild the model before loading. */
export function readWeightsConfig(bytes: Uint8Array): unknown {
  const { metadata } = decodeSafetensors(bytes);
  if (metadata.format !== WEIGHTS_FORMAT || !metadata.config) {
    throw new SafetensorsError(`not a moepp weights file (metadata format is ${JSON.stringify(metadata.format)}, expected '${WEIGHTS_FORMAT}'); build the model from its config and use loadModelWeights`);
  }
  return JSON.parse(metadata.config);
}

/**
 * Assigns weights from `.safetensors` bytes to `model`. Every parameter must be present with its
 * exact shape and no extra tensor may be left over; otherwise nothing is assigned.
 */
export function loadModelWeights(model: MoeppLM, bytes: Uint8Array): void {
  const { tensors } = decodeSafetensors(bytes);
  const problems: string[] = [];
  const buffers = model.buffers();
  const expected = new Map<string, readonly number[]>([...model.parameters.variables].map(([name, v]) => [name, v.shape]));
  for (const [name, values] of buffers) expected.set(name, [values.length]);
  for (const [name, shape] of expected) {
    const t = tensors.get(name);
    if (!t) problems.push(`missing tensor '${name}'`);
    else if (t.shape.join(',') !== shape.join(',')) problems.push(`'${name}' has shape [${t.shape}], the model expects [${shape}]`);
  }
  for (const name of tensors.keys()) {
    if (!expected.has(name)) problems.push(`unexpected tensor '${name}'`);
  }
  if (problems.length) {
    throw new SafetensorsError(`weights do not match the model (${problems.length} problem(s)): ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? '; …' : ''}. Build the model from the config the weights were saved with (readWeightsConfig).`);
  }
  for (const [name, v] of model.parameters.variables) {
    const t = tensors.get(name) as NamedArray;
    tf.tidy(() => v.assign(tf.tensor(t.data, t.shape, 'float32')));
  }
  for (const [name, values] of buffers) values.set((tensors.get(name) as NamedArray).data);
}
