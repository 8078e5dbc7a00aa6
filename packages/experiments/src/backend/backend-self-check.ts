/**
 * A numeric self-check of a tfjs backend against the `cpu` backend (plain JS, the reference):
 * the products training runs most (a matMul plain and with both transpose flags, as the
 * backward pass uses them), a synchronous host read of a computed tensor (`dataSync`, which the
 * router's dispatch and the training loop's metrics use: tfjs-backend-webgpu implements it with
 * `OffscreenCanvas`, which Node does not have) and one small MoE++ layer forward through @moepp/core, routing,
 * dispatch, FFN and zero-computation experts and combine included. A backend that initialises
 * but computes wrong numbers — Dawn's null backend returned matMul errors of 1e25 — fails here
 * instead of training silently on garbage.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { createMoeLayer, evaluationContext, expertKindsFromCounts } from '@moepp/core';
import seedrandom from 'seedrandom';

/**
 * Largest error accepted, relative to the reference's largest magnitude. float32 products of
 * these sizes (K ≤ 96) differ between summation orders by ~1e-6 of that; 1e-4 leaves room for
 * fused multiply-adds and reordered reductions, and nothing wrong gets under it.
 */
export const SELF_CHECK_TOLERANCE = 1e-4;

export interface SelfCheckCase {
  name: string;
  /** max |got − ref| / max |ref|; Infinity when the backend gave NaN or ±Infinity, or threw. */
  relativeError: number;
  /** What the backend threw on this case (core refuses NaN router logits, for one). */
  error?: string;
}

export interface SelfCheckResult {
  ok: boolean;
  tolerance: number;
  cases: SelfCheckCase[];
  /** The case with the largest error. */
  worst: SelfCheckCase;
}

function uniform(size: number, rng: () => number): Float32Array {
  return Float32Array.from({ length: size }, () => 2 * rng() - 1);
}

async function activate(backend: string): Promise<void> {
  if (!(await tf.setBackend(backend))) throw new Error(`backend "${backend}" could not be activated for the self-check`);
}

/** max |got − ref| over max |ref|; infinite where got is not finite or the lengths differ. */
export function relativeError(got: Float32Array, ref: Float32Array): number {
  if (got.length !== ref.length) return Number.POSITIVE_INFINITY;
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = Math.abs(got[i] - ref[i]);
    if (!Number.isFinite(got[i]) || Number.isNaN(d)) return Number.POSITIVE_INFINITY;
    maxDiff = Math.max(maxDiff, d);
    maxRef = Math.max(maxRef, Math.abs(ref[i]));
  }
  return maxDiff / Math.max(maxRef, 1e-30);
}

/** Runs `compute` on `backend` and reads its result to the host. */
async function runOn(backend: string, compute: () => tf.Tensor): Promise<Float32Array> {
  await activate(backend);
  const out = compute();
  const data = (await out.data()) as Float32Array;
  out.dispose();
  return data;
}

/** Variable names must be unique in the tfjs engine; each self-check makes its own. */
let variableCount = 0;

/** The cases: each computes one tensor from inputs made here on the host (identical on both backends). */
function selfCheckCases(): { name: string; compute: () => tf.Tensor; dispose?: () => void }[] {
  const rng = seedrandom.alea('moepp-backend-self-check');
  const a = uniform(64 * 96, rng);
  const b = uniform(96 * 80, rng);
  const matMul = (transposeA: boolean, transposeB: boolean) => () =>
    tf.tidy(() => {
      const x = tf.tensor2d(a, transposeA ? [96, 64] : [64, 96]);
      const y = tf.tensor2d(b, transposeB ? [80, 96] : [96, 80]);
      return tf.matMul(x, y, transposeA, transposeB); // (64, 80)
    });

  // The product read back synchronously, then uploaded again as the case's result.
  const hostRead = () => {
    const y = matMul(false, false)();
    const values = y.dataSync();
    y.dispose();
    return tf.tensor2d(values, [64, 80]);
  };

  // A small MoE++ layer: 4 FFN experts + zero, copy, constant, top-2, with the gating residual.
  const D = 32;
  const tokens = 24;
  const kinds = expertKindsFromCounts({ ffn: 4, zero: 1, copy: 1, constant: 1 });
  const variables: tf.Variable[] = [];
  const layer = createMoeLayer(
    { dModel: D, kinds, topK: 2, ffnHidden: 48, gating: 'reference', tau: 0.75, capacityFactor: null, gatingResidual: true, gatingResidualInitStd: 0.1, initStd: 0.2 },
    (name, shape) => {
      const size = shape.reduce((p, q) => p * q, 1);
      const initial = tf.tensor(uniform(size, rng), shape, 'float32');
      const v = tf.variable(initial, false, `self-check.${name}#${variableCount++}`);
      initial.dispose(); // the variable holds its own reference to the data
      variables.push(v);
      return v;
    },
    // Plain tf ops: the one executor every backend runs (the host executor needs wasm's heap).
    'tf-ops',
  );
  const x = uniform(tokens * D, rng);
  const previousLogits = uniform(tokens * kinds.length, rng);
  const moeForward = () =>
    tf.tidy(() => {
      const out = layer.forward(tf.tensor2d(x, [tokens, D]), tf.tensor2d(previousLogits, [tokens, kinds.length]), evaluationContext());
      return tf.concat([out.output, out.routingWeights], 1); // (N, D + E)
    });

  return [
    { name: 'matMul 64×96·96×80', compute: matMul(false, false) },
    { name: 'matMul with transposeA', compute: matMul(true, false) },
    { name: 'matMul with transposeB', compute: matMul(false, true) },
    { name: 'host read (dataSync) of a computed matMul', compute: hostRead },
    { name: 'MoE++ layer forward (4 FFN + zero, copy, constant experts, top-2)', compute: moeForward, dispose: () => variables.forEach((v) => v.dispose()) },
  ];
}

/**
 * Compares `backend` with `cpu` on the cases above; the active backend is restored afterwards.
 * Throws only when `backend` cannot be activated at all; a case it fails or throws on is a
 * failed result.
 *
 * @example
 * const check = await selfCheckBackend('webgpu');
 * if (!check.ok) throw new Error(`${check.worst.name}: max relative error ${check.worst.relativeError}`);
 */
export async function selfCheckBackend(backend: string, tolerance = SELF_CHECK_TOLERANCE): Promise<SelfCheckResult> {
  const previous = tf.getBackend();
  await activate(backend);
  // The layer's variables are made on cpu: moving them to `backend` needs only cpu's reads.
  await activate('cpu');
  const cases: SelfCheckCase[] = [];
  const planned = selfCheckCases();
  try {
    for (const c of planned) {
      const ref = await runOn('cpu', c.compute);
      try {
        cases.push({ name: c.name, relativeError: relativeError(await runOn(backend, c.compute), ref) });
      } catch (e) {
        cases.push({ name: c.name, relativeError: Number.POSITIVE_INFINITY, error: String((e as Error)?.message ?? e).split('\n')[0] });
      }
    }
  } finally {
    for (const c of planned) c.dispose?.();
    if (previous) await tf.setBackend(previous);
  }
  const worst = cases.reduce((w, c) => (c.relativeError > w.relativeError || Number.isNaN(c.relativeError) ? c : w));
  return { ok: cases.every((c) => c.relativeError <= tolerance), tolerance, cases, worst };
}
